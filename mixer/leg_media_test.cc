#include "mixer/leg_media.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codecs/g711.h"
#include "codecs/l16.h"
#include "codecs/opus.h"
#include "tests/support/tone.h"

namespace earshot::mixer {
namespace {

using earshot::testing::ToneGenerator;
using earshot::testing::ToneLevelDbfs;

constexpr int64_t kTickNs = 20'000'000;
constexpr double kToneDbfs = -10.0;

struct CodecPair {
  std::unique_ptr<AudioEncoder> encoder;
  std::unique_ptr<AudioDecoder> decoder;
};

// codec_rate 0 is PCMU; anything else is Opus at that internal rate.
CodecPair MakeCodecs(int codec_rate, const OpusOptions& opus = OpusOptions{}) {
  if (codec_rate == 0) {
    return {std::make_unique<G711Encoder>(G711Law::kUlaw),
            std::make_unique<G711Decoder>(G711Law::kUlaw)};
  }
  OpusOptions options = opus;
  options.sample_rate_hz = codec_rate;
  return {std::make_unique<OpusAudioEncoder>(std::move(*OpusAudioEncoder::Create(options))),
          std::make_unique<OpusAudioDecoder>(std::move(*OpusAudioDecoder::Create(codec_rate)))};
}

JitterBufferOptions JitterFor(const AudioEncoder& encoder) {
  JitterBufferOptions jitter;
  jitter.clock_rate_hz = encoder.info().rtp_clock_rate_hz;
  jitter.frame_samples = jitter.clock_rate_hz / 50;
  jitter.max_payload_bytes = encoder.MaxEncodedBytes(static_cast<size_t>(encoder.info().sample_rate_hz / 50));
  // Hold one packet beyond the one being played, so that a lost packet's
  // successor is there when the loss is played (as on a real, jittery path).
  jitter.min_delay_ms = jitter.initial_delay_ms = 40;
  return jitter;
}

std::vector<int16_t> ToInt16(std::span<const float> in) {
  std::vector<int16_t> out(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    out[i] = static_cast<int16_t>(std::lround(std::clamp(in[i], -32768.0f, 32767.0f)));
  }
  return out;
}

// A far end sending a 20 ms packet per tick of a tone to a leg, and listening
// to what the leg encodes.
class FarEnd {
 public:
  FarEnd(int codec_rate, double frequency_hz, const OpusOptions& opus = OpusOptions{})
      : codecs_(MakeCodecs(codec_rate, opus)),
        rate_(codecs_.encoder->info().sample_rate_hz),
        tone_(frequency_hz, rate_, kToneDbfs),
        pcm_(static_cast<size_t>(rate_ / 50)),
        payload_(codecs_.encoder->MaxEncodedBytes(pcm_.size())),
        decoded_(static_cast<size_t>(rate_ / 50 * 6)) {}

  // The next packet; `send` false drops it on the way.
  void SendTo(LegMedia& leg, bool send = true) {
    tone_.Fill(pcm_);
    const size_t size = *codecs_.encoder->Encode(pcm_, payload_);
    const int clock = codecs_.encoder->info().rtp_clock_rate_hz;
    PacketIn packet{SequenceNumber(seq_), RtpTimestamp(static_cast<uint32_t>(seq_ * clock / 50)),
                    Ssrc(0x5eed), seq_ == 0, std::span<const uint8_t>(payload_.data(), size)};
    if (send) {
      EXPECT_EQ(leg.Receive(packet, seq_ * kTickNs), InsertResult::kInserted);
    }
    ++seq_;
  }

  // Decodes what the leg sent; returns the samples at the far end's rate.
  void Hear(std::span<const uint8_t> payload) {
    ASSERT_FALSE(payload.empty());
    auto samples = codecs_.decoder->Decode(payload, decoded_);
    ASSERT_TRUE(samples.has_value());
    heard_.insert(heard_.end(), decoded_.begin(), decoded_.begin() + static_cast<std::ptrdiff_t>(*samples));
  }

  int rate() const { return rate_; }
  const std::vector<int16_t>& heard() const { return heard_; }

 private:
  CodecPair codecs_;
  int rate_;
  ToneGenerator tone_;
  std::vector<int16_t> pcm_;
  std::vector<uint8_t> payload_;
  std::vector<int16_t> decoded_;
  std::vector<int16_t> heard_;
  uint32_t seq_ = 0;
};

struct RateCase {
  const char* name;
  int codec_rate;  // 0: PCMU
  int session_rate;
};

class LegMediaRateTest : public ::testing::TestWithParam<RateCase> {};

// A 1 kHz tone goes in both directions through a leg whose codec runs at
// another rate than its session: the far end's tone comes out of Playout at
// the session rate, and a session tone comes out of the far end's decoder, at
// its level, at 1 kHz, with no resampling images or aliases beside it.
TEST_P(LegMediaRateTest, CarriesAToneBothWays) {
  const RateCase c = GetParam();
  CodecPair codecs = MakeCodecs(c.codec_rate);
  const JitterBufferOptions jitter = JitterFor(*codecs.encoder);
  const int tick = c.session_rate / 50;
  auto leg = LegMedia::Create(std::move(codecs.encoder), std::move(codecs.decoder), jitter,
                              c.session_rate, tick);
  ASSERT_TRUE(leg.has_value()) << leg.error().message;
  FarEnd far_end(c.codec_rate, 1000.0);
  ToneGenerator session_tone(1000.0, c.session_rate, kToneDbfs);
  std::vector<float> played(static_cast<size_t>(tick));
  std::vector<int16_t> mixed(static_cast<size_t>(tick));
  std::vector<int16_t> heard_by_session;
  for (int i = 0; i < 100; ++i) {  // two seconds
    far_end.SendTo(**leg);
    (*leg)->Playout(played);
    const std::vector<int16_t> as_int = ToInt16(played);
    heard_by_session.insert(heard_by_session.end(), as_int.begin(), as_int.end());
    session_tone.Fill(mixed);
    far_end.Hear((*leg)->Encode(mixed));
  }
  const LegMediaCounters& counters = (*leg)->counters();
  EXPECT_EQ(counters.frames_concealed + counters.decode_errors + counters.encode_errors, 0u);
  EXPECT_EQ(counters.frames_encoded, 100u);

  // The last second, well after the codecs and resamplers have settled.
  const std::span<const int16_t> rx =
      std::span<const int16_t>(heard_by_session).last(static_cast<size_t>(c.session_rate));
  const std::span<const int16_t> tx =
      std::span<const int16_t>(far_end.heard()).last(static_cast<size_t>(far_end.rate()));
  const double rx_level = ToneLevelDbfs(rx, 1000.0, c.session_rate);
  const double tx_level = ToneLevelDbfs(tx, 1000.0, far_end.rate());
  // What a resampler would leave beside the tone: images of 1 kHz about the
  // lower rate (upsampling) and tones folded onto it (downsampling).
  // Images exist only on the side with the higher rate; elsewhere the level
  // reported is the tone's own (low_rate - 1 kHz folds onto 1 kHz there).
  const int low_rate = std::min(c.session_rate, far_end.rate());
  const double rx_image = ToneLevelDbfs(rx, low_rate - 1000.0, c.session_rate);
  const double tx_image = ToneLevelDbfs(tx, low_rate - 1000.0, far_end.rate());
  // Everything that is not the tone, relative to it: it is all at 1 kHz.
  const auto residual_db = [](std::span<const int16_t> x, double level_dbfs) {
    double total = 0.0;
    for (int16_t s : x) total += static_cast<double>(s) * s;
    const double peak = std::pow(10.0, level_dbfs / 20.0) * 32767.0;
    const double tone = peak * peak / 2.0 * static_cast<double>(x.size());
    return 10.0 * std::log10(std::max(total - tone, 1e-3) / tone);
  };
  const double rx_residual = residual_db(rx, rx_level);
  const double tx_residual = residual_db(tx, tx_level);
  std::printf("[ measured ] %s: 1 kHz at %.1f dBFS in the session (rest %.1f dB), %.1f dBFS at "
              "the far end (rest %.1f dB); image %.1f dBFS\n",
              c.name, rx_level, rx_residual, tx_level, tx_residual,
              c.session_rate > far_end.rate() ? rx_image : tx_image);
  EXPECT_LT(rx_residual, -15.0);
  EXPECT_LT(tx_residual, -15.0);
  EXPECT_NEAR(rx_level, kToneDbfs, 1.5);
  EXPECT_NEAR(tx_level, kToneDbfs, 1.5);
  if (c.session_rate > far_end.rate()) {
    EXPECT_LT(rx_image, kToneDbfs - 60.0);
  }
  if (far_end.rate() > c.session_rate) {
    EXPECT_LT(tx_image, kToneDbfs - 60.0);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rates, LegMediaRateTest,
    ::testing::Values(RateCase{"Opus48kIn8kSession", 48000, 8000},
                      RateCase{"PcmuIn48kSession", 0, 48000},
                      RateCase{"PcmuIn16kSession", 0, 16000},
                      RateCase{"Opus16kIn48kSession", 16000, 48000},
                      RateCase{"Opus8kIn16kSession", 8000, 16000},
                      RateCase{"Opus48kIn48kSession", 48000, 48000}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

// An Opus leg whose far end loses one packet in the middle of a tone.
LegMediaCounters PlayWithOneLostPacket(bool far_end_fec) {
  OpusOptions opus;
  opus.sample_rate_hz = 16000;
  opus.fec = far_end_fec;
  opus.expected_loss_percent = 15;
  CodecPair codecs = MakeCodecs(16000);
  const JitterBufferOptions jitter = JitterFor(*codecs.encoder);
  auto leg = LegMedia::Create(std::move(codecs.encoder), std::move(codecs.decoder), jitter, 8000,
                              160);
  EXPECT_TRUE(leg.has_value());
  FarEnd far_end(16000, 400.0, opus);
  std::vector<float> played(160);
  // Packet 20: SILK's voice activity detector takes a steady tone for
  // background noise after about 0.6 s, and codes no FEC for inactive frames.
  for (int i = 0; i < 60; ++i) {
    far_end.SendTo(**leg, /*send=*/i != 20);
    (*leg)->Playout(played);
  }
  return (*leg)->counters();
}

TEST(LegMediaTest, LostPacketIsRecoveredFromTheNextPacketsFec) {
  const LegMediaCounters with_fec = PlayWithOneLostPacket(true);
  EXPECT_EQ(with_fec.frames_fec_recovered, 1u);
  EXPECT_EQ(with_fec.frames_concealed, 0u);
  EXPECT_EQ(with_fec.decode_errors, 0u);
  // The same loss without FEC from the far end is concealed.
  const LegMediaCounters without = PlayWithOneLostPacket(false);
  EXPECT_EQ(without.frames_fec_recovered, 0u);
  EXPECT_EQ(without.frames_concealed, 1u);
  EXPECT_EQ(without.frames_decoded, with_fec.frames_decoded);
}

TEST(LegMediaTest, RefusesRatesThatDoNotConvertInWholeSamples) {
  JitterBufferOptions jitter;
  jitter.clock_rate_hz = 12000;
  auto odd = LegMedia::Create(std::make_unique<L16Encoder>(12000),
                              std::make_unique<L16Decoder>(12000), jitter, 16000, 320);
  ASSERT_FALSE(odd.has_value());
  EXPECT_EQ(odd.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(odd.error().message.find("12000 Hz"), std::string::npos) << odd.error().message;
  jitter.clock_rate_hz = 16000;
  EXPECT_TRUE(LegMedia::Create(std::make_unique<L16Encoder>(16000),
                               std::make_unique<L16Decoder>(16000), jitter, 48000, 960)
                  .has_value());
  jitter.clock_rate_hz = 8000;
  EXPECT_TRUE(LegMedia::Create(std::make_unique<G711Encoder>(G711Law::kUlaw),
                               std::make_unique<G711Decoder>(G711Law::kUlaw), jitter, 16000, 320)
                  .has_value());
}

}  // namespace
}  // namespace earshot::mixer

#include "codecs/opus.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codecs/g711.h"
#include "tests/support/aligned_snr.h"

namespace earshot {
namespace {

using Packet = std::vector<uint8_t>;

std::vector<int16_t> Tone(double frequency_hz, int rate_hz, size_t samples, double amplitude) {
  std::vector<int16_t> out(samples);
  for (size_t i = 0; i < samples; ++i) {
    out[i] = static_cast<int16_t>(std::lround(
        amplitude * std::sin(2 * std::numbers::pi * frequency_hz * static_cast<double>(i) / rate_hz)));
  }
  return out;
}

// Something closer to voiced speech than a tone, so that concealment has to
// guess: ten harmonics of a pitch gliding between 110 and 230 Hz, in syllables
// of 250 ms whose level rises and falls.
std::vector<int16_t> SpeechLike(int rate_hz, size_t samples) {
  std::vector<int16_t> out(samples);
  double phase = 0.0;
  for (size_t i = 0; i < samples; ++i) {
    const double t = static_cast<double>(i) / rate_hz;
    const double pitch = 170.0 + 60.0 * std::sin(2 * std::numbers::pi * 1.3 * t);
    phase += 2 * std::numbers::pi * pitch / rate_hz;
    double value = 0.0;
    for (int h = 1; h <= 10; ++h) {
      if (pitch * h >= rate_hz / 2.0) break;
      value += std::sin(h * phase) / h;
    }
    const double envelope = 0.3 + 0.7 * std::abs(std::sin(2 * std::numbers::pi * 2.0 * t));
    out[i] = static_cast<int16_t>(std::lround(6000.0 * envelope * value));
  }
  return out;
}

std::vector<Packet> EncodeAll(OpusAudioEncoder& encoder, const std::vector<int16_t>& pcm,
                              size_t frame) {
  std::vector<Packet> packets;
  Packet buffer(encoder.MaxEncodedBytes(frame));
  for (size_t at = 0; at + frame <= pcm.size(); at += frame) {
    auto written = encoder.Encode(std::span<const int16_t>(pcm).subspan(at, frame), buffer);
    EXPECT_TRUE(written.has_value());
    if (!written) break;
    packets.emplace_back(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*written));
  }
  return packets;
}

double Energy(std::span<const int16_t> samples) {
  double sum = 0.0;
  for (int16_t s : samples) sum += static_cast<double>(s) * s;
  return sum;
}

double Db(double ratio) { return 10.0 * std::log10(std::max(ratio, 1e-12)); }

using earshot::testing::AlignedSnr;
using earshot::testing::Alignment;

OpusAudioEncoder MakeEncoder(const OpusOptions& options) {
  auto encoder = OpusAudioEncoder::Create(options);
  EXPECT_TRUE(encoder.has_value()) << (encoder ? "" : encoder.error().message);
  return std::move(*encoder);
}

OpusAudioDecoder MakeDecoder(int rate_hz) {
  auto decoder = OpusAudioDecoder::Create(rate_hz);
  EXPECT_TRUE(decoder.has_value());
  return std::move(*decoder);
}

TEST(OpusOptionsTest, RefusesEveryFieldOutOfRangeByName) {
  struct Case {
    void (*change)(OpusOptions&);
    const char* field;
    const char* range;
  };
  const Case cases[] = {
      {[](OpusOptions& o) { o.sample_rate_hz = 44100; }, "sample_rate_hz 44100",
       "8000, 16000 or 48000"},
      {[](OpusOptions& o) { o.sample_rate_hz = 24000; }, "sample_rate_hz 24000",
       "8000, 16000 or 48000"},
      {[](OpusOptions& o) { o.bitrate_bps = 5999; }, "bitrate_bps 5999", "6000..510000"},
      {[](OpusOptions& o) { o.bitrate_bps = 510001; }, "bitrate_bps 510001", "6000..510000"},
      {[](OpusOptions& o) { o.complexity = -1; }, "complexity -1", "0..10"},
      {[](OpusOptions& o) { o.complexity = 11; }, "complexity 11", "0..10"},
      {[](OpusOptions& o) { o.expected_loss_percent = -1; }, "expected_loss_percent -1", "0..100"},
      {[](OpusOptions& o) { o.expected_loss_percent = 101; }, "expected_loss_percent 101",
       "0..100"},
  };
  for (const Case& c : cases) {
    OpusOptions options;
    c.change(options);
    Result<void> valid = ValidateOpusOptions(options);
    ASSERT_FALSE(valid.has_value()) << c.field;
    EXPECT_EQ(valid.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(valid.error().message.find(c.field), std::string::npos) << valid.error().message;
    EXPECT_NE(valid.error().message.find(c.range), std::string::npos) << valid.error().message;
    auto encoder = OpusAudioEncoder::Create(options);
    ASSERT_FALSE(encoder.has_value());
    EXPECT_EQ(encoder.error().message, valid.error().message);
  }
  EXPECT_TRUE(ValidateOpusOptions(OpusOptions{}).has_value());
  EXPECT_FALSE(OpusAudioDecoder::Create(44100).has_value());
  for (int rate : {8000, 16000, 48000}) {
    OpusOptions options;
    options.sample_rate_hz = rate;
    options.complexity = 0;
    options.bitrate_bps = 6000;
    options.expected_loss_percent = 100;
    options.dtx = true;
    EXPECT_TRUE(OpusAudioEncoder::Create(options).has_value()) << rate;
    EXPECT_TRUE(OpusAudioDecoder::Create(rate).has_value()) << rate;
  }
}

TEST(OpusTest, RtpClockIsAlways48kHz) {
  for (int rate : {8000, 16000, 48000}) {
    OpusOptions options;
    options.sample_rate_hz = rate;
    const CodecInfo info = MakeEncoder(options).info();
    EXPECT_EQ(info.name, "opus");
    EXPECT_EQ(info.sample_rate_hz, rate);
    EXPECT_EQ(info.rtp_clock_rate_hz, 48000);
    EXPECT_EQ(info.channels, 1);
    EXPECT_EQ(MakeDecoder(rate).info().rtp_clock_rate_hz, 48000);
  }
}

TEST(OpusTest, EncodeRefusesFrameSizesOpusCannotTake) {
  OpusOptions options;  // 48 kHz
  OpusAudioEncoder encoder = MakeEncoder(options);
  const std::vector<int16_t> pcm = Tone(440.0, 48000, 5760 + 10, 8000.0);
  Packet out(encoder.MaxEncodedBytes(pcm.size()));
  for (size_t bad : {size_t{0}, size_t{1}, size_t{100}, size_t{959}, size_t{961}, size_t{1440},
                     size_t{3840} + 120, size_t{5760} + 120}) {
    auto result = encoder.Encode(std::span<const int16_t>(pcm).first(bad), out);
    ASSERT_FALSE(result.has_value()) << bad;
    EXPECT_EQ(result.error(), CodecError::kBadFrameSize) << bad;
  }
  // 2.5, 5, 10, 20, 40, 60, 80, 100 and 120 ms.
  for (size_t good : {120, 240, 480, 960, 1920, 2880, 3840, 4800, 5760}) {
    auto result = encoder.Encode(std::span<const int16_t>(pcm).first(good), out);
    ASSERT_TRUE(result.has_value()) << good;
    EXPECT_GT(*result, 0u);
    EXPECT_LE(*result, encoder.MaxEncodedBytes(good));
  }
  OpusOptions narrow;
  narrow.sample_rate_hz = 8000;
  OpusAudioEncoder narrow_encoder = MakeEncoder(narrow);
  // At 8 kHz the same durations are a sixth of the samples.
  EXPECT_TRUE(narrow_encoder.Encode(std::span<const int16_t>(pcm).first(160), out).has_value());
  EXPECT_TRUE(narrow_encoder.Encode(std::span<const int16_t>(pcm).first(960), out).has_value());
  EXPECT_EQ(narrow_encoder.Encode(std::span<const int16_t>(pcm).first(161), out).error(),
            CodecError::kBadFrameSize);
}

class OpusToneTest : public ::testing::TestWithParam<int> {};

// A 1 kHz tone at -10 dBFS, 32 kbit/s, complexity 5, 20 ms frames, comes back
// with the SNR printed, once aligned for the encoder's lookahead.
TEST_P(OpusToneTest, RoundTripKeepsTheTone) {
  const int rate = GetParam();
  OpusOptions options;
  options.sample_rate_hz = rate;
  OpusAudioEncoder encoder = MakeEncoder(options);
  OpusAudioDecoder decoder = MakeDecoder(rate);
  const size_t frame = static_cast<size_t>(rate / 50);
  const std::vector<int16_t> input = Tone(1000.0, rate, frame * 100, 10362.0);  // -10 dBFS
  std::vector<int16_t> output;
  std::vector<int16_t> decoded(frame * 6);
  for (const Packet& packet : EncodeAll(encoder, input, frame)) {
    auto samples = decoder.Decode(packet, decoded);
    ASSERT_TRUE(samples.has_value());
    ASSERT_EQ(*samples, frame);
    output.insert(output.end(), decoded.begin(), decoded.begin() + static_cast<std::ptrdiff_t>(frame));
  }
  const int lookahead = encoder.LookaheadSamples();
  const int period = rate / 1000;
  const Alignment aligned = AlignedSnr(input, output, lookahead - period / 2 + 1,
                                       lookahead + period / 2,
                                       static_cast<size_t>(rate / 5));  // skip 200 ms
  std::printf("[ measured ] opus %d Hz, 32 kbit/s, complexity 5: 1 kHz tone SNR %.1f dB at lag %d "
              "(lookahead %d)\n",
              rate, aligned.snr_db, aligned.lag, lookahead);
  if (rate == 48000) {
    EXPECT_GE(aligned.snr_db, 20.0);
  } else {
    EXPECT_GE(aligned.snr_db, 10.0);  // reported; the floor only catches a broken path
  }
}

INSTANTIATE_TEST_SUITE_P(Rates, OpusToneTest, ::testing::Values(8000, 16000, 48000),
                         [](const auto& param_info) { return std::to_string(param_info.param) + "Hz"; });

// Concealment fills every sample it is asked for, continues the signal at
// first, fades to silence by kSilentAfterMs, and the frame that ends such a
// loss fades back in rather than clicking.
TEST(OpusTest, ConcealmentFillsTheFrameAndFades) {
  for (int rate : {8000, 16000, 48000}) {
    const size_t frame_samples = static_cast<size_t>(rate / 50);
    OpusOptions options;
    options.sample_rate_hz = rate;
    OpusAudioEncoder encoder = MakeEncoder(options);
    OpusAudioDecoder decoder = MakeDecoder(rate);
    const std::vector<Packet> packets =
        EncodeAll(encoder, SpeechLike(rate, frame_samples * 60), frame_samples);
    std::vector<int16_t> frame(frame_samples);
    for (size_t i = 0; i < 45; ++i) ASSERT_TRUE(decoder.Decode(packets[i], frame).has_value());
    const double last_good = Energy(frame);
    std::vector<double> concealed_db;
    for (int lost = 0; lost < 10; ++lost) {  // 200 ms
      std::fill(frame.begin(), frame.end(), int16_t{12345});
      ASSERT_EQ(decoder.Conceal(frame), frame_samples);
      EXPECT_LT(std::count(frame.begin(), frame.end(), int16_t{12345}), 3) << "frame " << lost;
      concealed_db.push_back(Db(Energy(frame) / last_good));
    }
    std::printf("[ measured ] opus %d Hz PLC level vs last good frame, per 20 ms:", rate);
    for (double db : concealed_db) std::printf(" %.1f", db);
    std::printf(" dB\n");
    EXPECT_GT(concealed_db.front(), -10.0) << rate;  // it continues the signal
    EXPECT_LT(concealed_db[4], concealed_db[2]) << rate;  // fading from 60 ms
    EXPECT_EQ(Energy(frame), 0.0) << rate;  // and silent from 120 ms
    ASSERT_TRUE(decoder.Decode(packets[55], frame).has_value());
    EXPECT_EQ(frame[0], 0) << rate;
    const size_t ramp = static_cast<size_t>(rate / 1000 * OpusAudioDecoder::kResumeRampMs);
    EXPECT_LT(std::abs(frame[1]), 1 + std::abs(frame[ramp]) / 4) << rate;
  }
}

// Concealment runs in whole PLC units, so the way a loss is cut into calls
// does not change the samples, even in pieces Opus could not conceal alone.
TEST(OpusTest, ConcealmentDoesNotDependOnHowTheLossIsSplit) {
  constexpr int kRate = 48000;
  OpusAudioEncoder encoder = MakeEncoder(OpusOptions{});
  OpusAudioDecoder whole = MakeDecoder(kRate);
  OpusAudioDecoder pieces = MakeDecoder(kRate);
  const std::vector<Packet> packets = EncodeAll(encoder, SpeechLike(kRate, 960 * 20), 960);
  std::vector<int16_t> a(960 * 3);
  std::vector<int16_t> b(960 * 3);
  for (size_t i = 0; i < 10; ++i) {
    ASSERT_TRUE(whole.Decode(packets[i], a).has_value());
    ASSERT_TRUE(pieces.Decode(packets[i], b).has_value());
  }
  (void)whole.Conceal(std::span<int16_t>(a));  // 60 ms at once
  size_t at = 0;
  for (size_t piece : {7, 500, 960, 13, 1300, 100}) {  // 2880 in odd pieces
    (void)pieces.Conceal(std::span<int16_t>(b).subspan(at, piece));
    at += piece;
  }
  ASSERT_EQ(at, a.size());
  EXPECT_EQ(a, b);
  // Both resume identically: the leftover unit is dropped by Decode.
  ASSERT_TRUE(whole.Decode(packets[13], a).has_value());
  ASSERT_TRUE(pieces.Decode(packets[13], b).has_value());
  EXPECT_EQ(a, b);
}

struct FecOutcome {
  double plc_snr_db;
  double fec_snr_db;
  int recovered;
};

// Drops every 7th packet and rebuilds the lost frame twice, by PLC and from the
// next packet's FEC, against what the decoder gave with no loss at all.
FecOutcome MeasureFec(int rate, bool fec) {
  OpusOptions options;
  options.sample_rate_hz = rate;
  options.fec = fec;
  options.expected_loss_percent = 15;
  const size_t frame = static_cast<size_t>(rate / 50);
  OpusAudioEncoder encoder = MakeEncoder(options);
  const std::vector<Packet> packets = EncodeAll(encoder, SpeechLike(rate, frame * 150), frame);
  OpusAudioDecoder clean = MakeDecoder(rate);
  OpusAudioDecoder plc = MakeDecoder(rate);
  OpusAudioDecoder recovered = MakeDecoder(rate);
  std::vector<int16_t> reference(frame);
  std::vector<int16_t> concealed(frame);
  std::vector<int16_t> from_fec(frame);
  double signal = 0.0;
  double plc_noise = 0.0;
  double fec_noise = 0.0;
  FecOutcome outcome{0.0, 0.0, 0};
  for (size_t i = 0; i + 1 < packets.size(); ++i) {
    EXPECT_TRUE(clean.Decode(packets[i], reference).has_value());
    if (i < 10 || i % 7 != 0) {
      EXPECT_TRUE(plc.Decode(packets[i], concealed).has_value());
      EXPECT_TRUE(recovered.Decode(packets[i], from_fec).has_value());
      continue;
    }
    (void)plc.Conceal(concealed);
    if (recovered.HasInbandFec(packets[i + 1])) {
      auto samples = recovered.DecodeFec(packets[i + 1], from_fec);
      EXPECT_TRUE(samples.has_value());
      EXPECT_EQ(samples.value_or(0), frame);
      ++outcome.recovered;
    } else {
      EXPECT_FALSE(recovered.DecodeFec(packets[i + 1], from_fec).has_value());
      (void)recovered.Conceal(from_fec);
    }
    for (size_t s = 0; s < frame; ++s) {
      const double ref = reference[s];
      signal += ref * ref;
      plc_noise += (concealed[s] - ref) * (concealed[s] - ref);
      fec_noise += (from_fec[s] - ref) * (from_fec[s] - ref);
    }
  }
  outcome.plc_snr_db = Db(signal / plc_noise);
  outcome.fec_snr_db = Db(signal / fec_noise);
  return outcome;
}

class OpusFecTest : public ::testing::TestWithParam<int> {};

TEST_P(OpusFecTest, FecRecoversLostFramesBetterThanConcealment) {
  const int rate = GetParam();
  const FecOutcome with_fec = MeasureFec(rate, true);
  std::printf("[ measured ] opus %d Hz, 32 kbit/s: lost frames vs loss-free decode: PLC %.1f dB, "
              "FEC %.1f dB SNR (%d of 20 recovered from FEC)\n",
              rate, with_fec.plc_snr_db, with_fec.fec_snr_db, with_fec.recovered);
  // Frames after a pause carry no FEC (SILK codes LBRR only for active frames).
  EXPECT_GE(with_fec.recovered, 10);
  EXPECT_GT(with_fec.fec_snr_db, with_fec.plc_snr_db + 3.0);
  // Without FEC no packet claims any.
  const FecOutcome without = MeasureFec(rate, false);
  EXPECT_EQ(without.recovered, 0);
}

INSTANTIATE_TEST_SUITE_P(Rates, OpusFecTest, ::testing::Values(8000, 16000, 48000),
                         [](const auto& param_info) { return std::to_string(param_info.param) + "Hz"; });

TEST(OpusTest, DecodeFecRefusesFramesItCannotFill) {
  OpusOptions options;
  options.expected_loss_percent = 15;  // at 48 kHz, 5% codes no FEC at all (MeasureFec)
  OpusAudioEncoder encoder = MakeEncoder(options);
  const std::vector<Packet> packets = EncodeAll(encoder, SpeechLike(48000, 960 * 10), 960);
  OpusAudioDecoder decoder = MakeDecoder(48000);
  std::vector<int16_t> out(960 * 6);
  for (size_t i = 0; i < 8; ++i) ASSERT_TRUE(decoder.Decode(packets[i], out).has_value());
  ASSERT_TRUE(decoder.HasInbandFec(packets[9]));
  EXPECT_EQ(decoder.DecodeFec(packets[9], std::span(out).first(0)).error(),
            CodecError::kBadFrameSize);
  EXPECT_EQ(decoder.DecodeFec(packets[9], std::span(out).first(961)).error(),
            CodecError::kBadFrameSize);
  EXPECT_EQ(decoder.DecodeFec(packets[9], std::span(out).first(480)).error(),
            CodecError::kBadPayload);  // a 20 ms packet's FEC does not fit 10 ms
  EXPECT_EQ(decoder.DecodeFec({}, std::span(out).first(960)).error(), CodecError::kBadPayload);
}

// Malformed packets are refused before the decoder sees them: decoding goes on
// exactly as if they had never come.
TEST(OpusTest, BadPayloadIsRefusedWithoutChangingState) {
  OpusAudioEncoder encoder = MakeEncoder(OpusOptions{});
  const std::vector<Packet> packets = EncodeAll(encoder, SpeechLike(48000, 960 * 20), 960);
  OpusAudioDecoder refused = MakeDecoder(48000);
  OpusAudioDecoder untouched = MakeDecoder(48000);
  std::vector<int16_t> a(960 * 6);
  std::vector<int16_t> b(960 * 6);
  for (size_t i = 0; i < 10; ++i) {
    ASSERT_TRUE(refused.Decode(packets[i], a).has_value());
    ASSERT_TRUE(untouched.Decode(packets[i], b).has_value());
  }
  const Packet bad[] = {
      {},                        // empty: would mean "conceal" to libopus
      {0x03},                    // code 3 without its frame count
      {0x03, 0x00},              // code 3 with zero frames
      {0x01, 0x10, 0x20, 0x30},  // code 1 (two equal frames) with an odd length
      {0x02, 0xFB, 0x01},        // code 2 whose first frame is longer than the packet
      {0x03, 0x31},              // code 3, 49 frames: more than 120 ms
  };
  for (const Packet& payload : bad) {
    auto result = refused.Decode(payload, a);
    ASSERT_FALSE(result.has_value()) << payload.size();
    EXPECT_EQ(result.error(), CodecError::kBadPayload);
  }
  EXPECT_EQ(refused.Decode(packets[10], std::span(a).first(959)).error(),
            CodecError::kOutputTooSmall);
  for (size_t i = 10; i < packets.size(); ++i) {
    auto x = refused.Decode(packets[i], a);
    auto y = untouched.Decode(packets[i], b);
    ASSERT_TRUE(x.has_value() && y.has_value());
    ASSERT_EQ(*x, *y);
    ASSERT_TRUE(std::equal(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(*x), b.begin()))
        << "packet " << i;
  }
}

TEST(OpusTest, ResetForgetsTheStream) {
  OpusAudioEncoder encoder = MakeEncoder(OpusOptions{});
  const std::vector<Packet> packets = EncodeAll(encoder, SpeechLike(48000, 960 * 10), 960);
  OpusAudioDecoder decoder = MakeDecoder(48000);
  std::vector<int16_t> first(960);
  std::vector<int16_t> again(960);
  ASSERT_TRUE(decoder.Decode(packets[0], first).has_value());
  for (size_t i = 1; i < packets.size(); ++i) ASSERT_TRUE(decoder.Decode(packets[i], again).has_value());
  decoder.Reset();
  ASSERT_TRUE(decoder.Decode(packets[0], again).has_value());
  EXPECT_EQ(first, again);
}

// The interface's defaults: a decoder without FEC says so and refuses.
TEST(AudioDecoderFecTest, DecodersWithoutFecKeepTheDefaults) {
  G711Decoder decoder(G711Law::kUlaw);
  const uint8_t payload[160] = {};
  int16_t out[160];
  EXPECT_FALSE(decoder.HasInbandFec(payload));
  EXPECT_EQ(decoder.DecodeFec(payload, out).error(), CodecError::kBadPayload);
}

}  // namespace
}  // namespace earshot

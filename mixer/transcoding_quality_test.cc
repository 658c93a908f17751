// Transcoding quality through a session: the customer talks on one codec, the
// agent listens on another, and what the agent hears is compared with the
// recording at the agent's rate, after alignment and the best gain. Every pair
// of PCMU, PCMA, Opus 8/16/48 kHz (32 kbit/s) in a 48 kHz session is measured on
// the shared speech and printed (a waveform SNR says little of a perceptual
// codec like Opus, so only G.711 pairs have a firm floor, 25 dB); a 1 kHz tone
// has firm floors: G.711 >= 35 dB, Opus 48 kHz >= 20 dB.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codecs/g711.h"
#include "codecs/opus.h"
#include "mixer/media_session.h"
#include "tests/support/media_files.h"
#include "tests/support/tone.h"

namespace earshot::mixer {
namespace {

constexpr int kSessionRate = 48000;

struct Codec {
  const char* name;
  int rate;  // the codec's sample rate
  int opus;  // 0: G.711 (law below), else Opus
  G711Law law;
};

constexpr Codec kCodecs[] = {{"PCMU", 8000, 0, G711Law::kUlaw},
                             {"PCMA", 8000, 0, G711Law::kAlaw},
                             {"opus8k", 8000, 1, G711Law::kUlaw},
                             {"opus16k", 16000, 1, G711Law::kUlaw},
                             {"opus48k", 48000, 1, G711Law::kUlaw}};

std::unique_ptr<AudioEncoder> Encoder(const Codec& codec) {
  if (!codec.opus) return std::make_unique<G711Encoder>(codec.law);
  OpusOptions options;
  options.sample_rate_hz = codec.rate;
  options.bitrate_bps = 32000;
  return std::make_unique<OpusAudioEncoder>(std::move(*OpusAudioEncoder::Create(options)));
}

std::unique_ptr<AudioDecoder> Decoder(const Codec& codec) {
  if (!codec.opus) return std::make_unique<G711Decoder>(codec.law);
  return std::make_unique<OpusAudioDecoder>(std::move(*OpusAudioDecoder::Create(codec.rate)));
}

int Clock(const Codec& codec) { return codec.opus ? 48000 : 8000; }

std::unique_ptr<LegMedia> Leg(const Codec& codec) {
  JitterBufferOptions jitter;
  jitter.clock_rate_hz = Clock(codec);
  jitter.frame_samples = Clock(codec) / 50;
  jitter.max_payload_bytes = 1400;
  return std::move(*LegMedia::Create(Encoder(codec), Decoder(codec), jitter, kSessionRate,
                                     kSessionRate / 50));
}

// `input` (at from.rate) spoken on `from`, heard on `to`: returns what the
// listener decoded, at to.rate.
std::vector<int16_t> Carry(const Codec& from, const Codec& to, const std::vector<int16_t>& input) {
  SessionOptions options;
  options.sample_rate_hz = kSessionRate;
  auto session = std::move(*MediaSession::Create(options));
  EXPECT_TRUE(session->AddLeg(0, Role::kCustomer, SupervisorMode::kListen, false, Leg(from)).has_value());
  EXPECT_TRUE(session->AddLeg(1, Role::kAgent, SupervisorMode::kListen, false, Leg(to)).has_value());
  std::vector<LegOutput> outputs(static_cast<size_t>(session->capacity()));
  auto talker = Encoder(from);
  auto listener = Decoder(to);
  const size_t frame = static_cast<size_t>(from.rate / 50);
  std::vector<uint8_t> payload(1400);
  std::vector<int16_t> decoded(static_cast<size_t>(to.rate / 50 * 6));
  std::vector<int16_t> heard;
  const size_t packets = input.size() / frame;
  for (size_t i = 0; i < packets + 10; ++i) {
    if (i < packets) {
      const size_t size = *talker->Encode(std::span(input.data() + i * frame, frame), payload);
      (void)session->Receive(0, PacketIn{SequenceNumber(static_cast<uint16_t>(i)),
                                         RtpTimestamp(static_cast<uint32_t>(i * Clock(from) / 50)),
                                         Ssrc(1), i == 0, std::span<const uint8_t>(payload.data(), size)},
                             static_cast<int64_t>(i) * 20'000'000);
    }
    session->Tick(outputs);
    auto samples = listener->Decode(outputs[1].payload, decoded);
    if (samples) heard.insert(heard.end(), decoded.begin(), decoded.begin() + static_cast<long>(*samples));
  }
  return heard;
}

// SNR of `heard` against `reference` over [from, from + length), at the delay
// (up to 150 ms) and gain that fit best: coarse steps of 8 samples, then exact.
double AlignedSnrDb(const std::vector<int16_t>& reference, const std::vector<int16_t>& heard,
                    int rate, size_t from, size_t length) {
  const size_t max_delay = static_cast<size_t>(rate * 150 / 1000);
  auto correlation = [&](size_t delay) {
    double dot = 0.0, energy = 0.0;
    for (size_t i = from; i < from + length; ++i) {
      dot += double(reference[i]) * heard[i + delay];
      energy += double(heard[i + delay]) * heard[i + delay];
    }
    return dot / std::sqrt(energy + 1.0);
  };
  size_t best = 0;
  for (size_t delay = 0; delay <= max_delay; delay += 8) {
    if (correlation(delay) > correlation(best)) best = delay;
  }
  const size_t coarse = best;
  for (size_t delay = coarse >= 8 ? coarse - 8 : 0; delay <= coarse + 8; ++delay) {
    if (correlation(delay) > correlation(best)) best = delay;
  }
  double dot = 0.0, energy_heard = 0.0, energy_reference = 0.0;
  for (size_t i = from; i < from + length; ++i) {
    dot += double(reference[i]) * heard[i + best];
    energy_heard += double(heard[i + best]) * heard[i + best];
    energy_reference += double(reference[i]) * reference[i];
  }
  const double gain = dot / (energy_heard + 1.0);
  double noise = 0.0;
  for (size_t i = from; i < from + length; ++i) {
    const double error = reference[i] - gain * heard[i + best];
    noise += error * error;
  }
  return 10.0 * std::log10(energy_reference / (noise + 1.0));
}

TEST(TranscodingQualityTest, EveryCodecPairOnSpeech) {
  std::optional<std::string> dir = earshot::testing::SharedMediaDir();
  if (!dir) GTEST_SKIP() << "needs ../shared/media";
  std::printf("[ measured ] speech SNR (dB) talker -> listener, 48 kHz session, 1 s aligned window:\n");
  for (const Codec& from : kCodecs) {
    auto input = earshot::testing::ReadWav(*dir + "/customer_" + std::to_string(from.rate / 1000) + "k.wav");
    ASSERT_TRUE(input.has_value());
    input->samples.resize(static_cast<size_t>(from.rate) * 4);  // 4 s
    std::string line = std::string("  ") + from.name + " ->";
    for (const Codec& to : kCodecs) {
      auto reference = earshot::testing::ReadWav(*dir + "/customer_" + std::to_string(to.rate / 1000) + "k.wav");
      ASSERT_TRUE(reference.has_value());
      const std::vector<int16_t> heard = Carry(from, to, input->samples);
      ASSERT_GE(heard.size(), static_cast<size_t>(to.rate) * 3);
      const double snr = AlignedSnrDb(reference->samples, heard, to.rate, static_cast<size_t>(to.rate),
                                      static_cast<size_t>(to.rate));
      line += " " + std::string(to.name) + " " + std::to_string(snr).substr(0, 5);
      RecordProperty(std::string(from.name) + "_to_" + to.name, std::to_string(snr));
      // G.711 both ways keeps its own quantisation noise twice at most.
      if (!from.opus && !to.opus) {
        EXPECT_GT(snr, 25.0) << from.name << " -> " << to.name;
      }
      // Every pair carries the same speech, not noise or silence: the aligned
      // signal explains more than it adds. (Opus at 8 kHz is SILK, which keeps
      // the sound and not the waveform: ~1 dB of waveform SNR is normal there.)
      EXPECT_GT(snr, 0.5) << from.name << " -> " << to.name;
    }
    std::printf("%s\n", line.c_str());
  }
}

TEST(TranscodingQualityTest, AToneKeepsItsFloorThroughG711AndOpus48k) {
  for (const Codec& codec : {kCodecs[0], kCodecs[4]}) {
    std::vector<int16_t> tone(static_cast<size_t>(codec.rate) * 2);
    earshot::testing::ToneGenerator(1000.0, codec.rate, -10.0).Fill(tone);
    const std::vector<int16_t> heard = Carry(codec, codec, tone);
    ASSERT_GE(heard.size(), tone.size());
    const double snr = AlignedSnrDb(tone, heard, codec.rate, static_cast<size_t>(codec.rate) / 2,
                                    static_cast<size_t>(codec.rate) / 2);
    std::printf("[ measured ] 1 kHz tone %s -> %s: %.1f dB\n", codec.name, codec.name, snr);
    EXPECT_GE(snr, codec.opus ? 20.0 : 35.0) << codec.name;
  }
}

}  // namespace
}  // namespace earshot::mixer

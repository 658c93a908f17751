// Opus in-band FEC on real speech through a leg: the customer's recording as
// Opus 16 kHz, with 5 % random loss and a 3-packet burst every 2 s. With FEC
// coded by the far end, fewer frames are concealed than without, because each
// lost frame whose successor arrived is decoded from that successor's FEC.

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "codecs/opus.h"
#include "mixer/leg_media.h"
#include "tests/support/media_files.h"

namespace earshot::mixer {
namespace {

constexpr int kRate = 16000;
constexpr int kFrame = kRate / 50;  // 20 ms

// Which of `packets` packets the path loses: 5 % at random plus packets
// 50k..50k+2 (a burst every 2 s), the same for both runs.
std::vector<bool> LossPattern(size_t packets) {
  std::mt19937 random(2026);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<bool> lost(packets, false);
  for (size_t i = 10; i < packets; ++i) lost[i] = uniform(random) < 0.05 || (i % 100 >= 50 && i % 100 < 53);
  return lost;
}

LegMediaCounters CarrySpeech(const std::vector<int16_t>& speech, bool fec) {
  OpusOptions options;
  options.sample_rate_hz = kRate;
  options.fec = fec;
  options.expected_loss_percent = 10;
  auto far_encoder = std::move(*OpusAudioEncoder::Create(options));
  JitterBufferOptions jitter;
  jitter.clock_rate_hz = 48000;
  jitter.frame_samples = 960;
  jitter.max_payload_bytes = 1400;
  jitter.min_delay_ms = jitter.initial_delay_ms = 40;  // the successor of a loss is there in time
  auto leg = std::move(*LegMedia::Create(
      std::make_unique<OpusAudioEncoder>(std::move(*OpusAudioEncoder::Create(options))),
      std::make_unique<OpusAudioDecoder>(std::move(*OpusAudioDecoder::Create(kRate))), jitter, kRate,
      kFrame));
  const size_t packets = speech.size() / kFrame;
  const std::vector<bool> lost = LossPattern(packets);
  std::vector<uint8_t> payload(1400);
  std::vector<float> played(kFrame);
  for (size_t i = 0; i < packets; ++i) {
    const size_t size = *far_encoder.Encode(std::span(speech.data() + i * kFrame, kFrame), payload);
    if (!lost[i]) {
      (void)leg->Receive(PacketIn{SequenceNumber(static_cast<uint16_t>(i)),
                                  RtpTimestamp(static_cast<uint32_t>(i * 960)), Ssrc(7), i == 0,
                                  std::span<const uint8_t>(payload.data(), size)},
                         static_cast<int64_t>(i) * 20'000'000);
    }
    leg->Playout(played);
  }
  return leg->counters();
}

TEST(OpusLossSpeechTest, FecConcealsFewerFramesUnderRandomAndBurstLoss) {
  std::optional<std::string> dir = earshot::testing::SharedMediaDir();
  if (!dir) GTEST_SKIP() << "needs ../shared/media";
  auto speech = earshot::testing::ReadWav(*dir + "/customer_16k.wav");
  ASSERT_TRUE(speech.has_value());
  ASSERT_EQ(speech->sample_rate_hz, kRate);
  const size_t packets = speech->samples.size() / kFrame;
  const std::vector<bool> pattern = LossPattern(packets);
  const size_t lost = static_cast<size_t>(std::count(pattern.begin(), pattern.end(), true));

  const LegMediaCounters with_fec = CarrySpeech(speech->samples, true);
  const LegMediaCounters without = CarrySpeech(speech->samples, false);
  std::printf("[ measured ] %zu of %zu packets lost: FEC on %llu recovered, %llu concealed; "
              "FEC off %llu concealed\n",
              lost, packets, static_cast<unsigned long long>(with_fec.frames_fec_recovered),
              static_cast<unsigned long long>(with_fec.frames_concealed),
              static_cast<unsigned long long>(without.frames_concealed));
  RecordProperty("fec_recovered", std::to_string(with_fec.frames_fec_recovered));
  RecordProperty("concealed_with_fec", std::to_string(with_fec.frames_concealed));
  RecordProperty("concealed_without_fec", std::to_string(without.frames_concealed));
  EXPECT_EQ(without.frames_fec_recovered, 0u);
  EXPECT_GE(without.frames_concealed, lost);  // every loss concealed
  EXPECT_GT(with_fec.frames_fec_recovered, lost / 3);
  EXPECT_LT(with_fec.frames_concealed, without.frames_concealed);
  EXPECT_EQ(with_fec.frames_concealed + with_fec.frames_fec_recovered, without.frames_concealed);
}

}  // namespace
}  // namespace earshot::mixer

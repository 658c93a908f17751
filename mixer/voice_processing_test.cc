// The voice processor's own contract: options are validated, noise
// suppression lowers steady noise, and the canceller runs (with silence as its
// reference) before anything was sent.

#include "mixer/voice_processing.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace earshot::mixer {
namespace {

constexpr int kTick = 160;

double LevelDb(const std::vector<int16_t>& samples) {
  double energy = 0.0;
  for (int16_t sample : samples) energy += double(sample) * sample;
  return 10.0 * std::log10(energy / double(samples.size()) / (32768.0 * 32768.0) + 1e-12);
}

TEST(VoiceProcessorTest, RefusesOptionsOutsideTheirRanges) {
  VoiceProcessingOptions options;
  options.echo_cancel = true;
  options.echo_tail_ms = 8;
  auto refused = VoiceProcessor::Create(options, 8000, kTick);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("echo tail"), std::string::npos);
  options.echo_tail_ms = 128;
  options.noise_suppress_db = -70;
  EXPECT_FALSE(VoiceProcessor::Create(options, 8000, kTick).has_value());
  options.noise_suppress_db = -15;
  EXPECT_TRUE(VoiceProcessor::Create(options, 8000, kTick).has_value());
}

TEST(VoiceProcessorTest, NoiseSuppressionLowersSteadyNoise) {
  VoiceProcessingOptions options;
  options.noise_suppress = true;
  VoiceProcessor processor = std::move(*VoiceProcessor::Create(options, 8000, kTick));
  std::mt19937 random(3);
  std::normal_distribution<double> noise(0.0, 300.0);  // about -40 dBFS
  std::vector<int16_t> before, after;
  for (int tick = 0; tick < 150; ++tick) {  // 3 s
    std::vector<int16_t> frame(kTick);
    for (int16_t& sample : frame) sample = static_cast<int16_t>(std::lround(noise(random)));
    if (tick >= 100) before.insert(before.end(), frame.begin(), frame.end());
    processor.Process(frame);
    if (tick >= 100) after.insert(after.end(), frame.begin(), frame.end());
  }
  EXPECT_LT(LevelDb(after), LevelDb(before) - 6.0);
  EXPECT_EQ(processor.counters().frames, 150u);
}

// The canceller switches SpeexDSP's gains on for its residual echo
// suppressor; with noise suppression off, noise must still pass as it was.
TEST(VoiceProcessorTest, CancellerWithoutNoiseSuppressionLeavesSteadyNoiseAlone) {
  VoiceProcessingOptions options;
  options.echo_cancel = true;
  VoiceProcessor processor = std::move(*VoiceProcessor::Create(options, 8000, kTick));
  std::mt19937 random(3);
  std::normal_distribution<double> noise(0.0, 300.0);
  const std::vector<int16_t> silence(kTick, 0);
  std::vector<int16_t> before, after;
  for (int tick = 0; tick < 150; ++tick) {
    std::vector<int16_t> frame(kTick);
    for (int16_t& sample : frame) sample = static_cast<int16_t>(std::lround(noise(random)));
    if (tick >= 100) before.insert(before.end(), frame.begin(), frame.end());
    processor.Process(frame);
    processor.NoteSent(silence);
    if (tick >= 100) after.insert(after.end(), frame.begin(), frame.end());
  }
  // The canceller's DC notch takes a little of the noise's lowest band.
  EXPECT_NEAR(LevelDb(after), LevelDb(before), 1.5);
}

TEST(VoiceProcessorTest, CancellerUsesSilenceUntilTheDelayLineHasFilled) {
  VoiceProcessingOptions options;
  options.echo_cancel = true;
  options.reference_delay_ms = 40;  // two ticks behind the latest one sent
  VoiceProcessor processor = std::move(*VoiceProcessor::Create(options, 8000, kTick));
  std::vector<int16_t> frame(kTick, 100);
  for (int tick = 0; tick < 5; ++tick) {
    processor.Process(frame);
    processor.NoteSent(frame);
  }
  // Ticks 0-2 had no reference yet (nothing, one, two ticks sent).
  EXPECT_EQ(processor.counters().reference_missing, 3u);
}

}  // namespace
}  // namespace earshot::mixer

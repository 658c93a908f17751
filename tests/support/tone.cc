#include "tests/support/tone.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numbers>

namespace earshot::testing {

ToneGenerator::ToneGenerator(double frequency_hz, int sample_rate_hz, double level_dbfs)
    : phase_step_(2.0 * std::numbers::pi * frequency_hz / sample_rate_hz),
      amplitude_(32767.0 * std::pow(10.0, level_dbfs / 20.0)) {}

void ToneGenerator::Fill(std::span<int16_t> out) {
  for (int16_t& sample : out) {
    sample = static_cast<int16_t>(std::lround(amplitude_ * std::sin(phase_)));
    phase_ = std::fmod(phase_ + phase_step_, 2.0 * std::numbers::pi);
  }
}

double ToneLevelDbfs(std::span<const int16_t> samples, double frequency_hz, int sample_rate_hz) {
  // Goertzel with a Hann window, so that neighbouring tones leak little.
  const double n = static_cast<double>(samples.size());
  const double omega = 2.0 * std::numbers::pi * frequency_hz / sample_rate_hz;
  const double coefficient = 2.0 * std::cos(omega);
  double s1 = 0.0;
  double s2 = 0.0;
  double window_sum = 0.0;
  for (size_t i = 0; i < samples.size(); ++i) {
    double window = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * static_cast<double>(i) / n);
    window_sum += window;
    double s0 = window * samples[i] + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  double power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
  if (power <= 0.0 || window_sum == 0.0) return -200.0;
  double amplitude = 2.0 * std::sqrt(power) / window_sum;
  return 20.0 * std::log10(std::max(amplitude, 1e-10) / 32767.0);
}

int MaxStep(std::span<const int16_t> samples) {
  int max_step = 0;
  for (size_t i = 1; i < samples.size(); ++i) {
    max_step = std::max(max_step, std::abs(samples[i] - samples[i - 1]));
  }
  return max_step;
}

}  // namespace earshot::testing

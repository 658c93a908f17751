#pragma once
// Tones and a Goertzel detector: the way routing tests tell who hears whom. Each
// party sends its own pure tone; a listener's output is checked for the level of
// every party's frequency.

#include <cstdint>
#include <span>

namespace earshot::testing {

// A continuous sine: consecutive Fill calls continue the phase.
class ToneGenerator {
 public:
  // `level_dbfs` is the sine's peak relative to full scale (0 dBFS = 32767).
  ToneGenerator(double frequency_hz, int sample_rate_hz, double level_dbfs);
  void Fill(std::span<int16_t> out);

 private:
  double phase_step_;
  double amplitude_;
  double phase_ = 0.0;
};

// The level of the `frequency_hz` component of `samples` in dBFS (peak of the
// sine relative to 32767); -200 for nothing at all. The window should hold a
// whole number of periods, or be long (>= 20 ms), for a sharp reading.
double ToneLevelDbfs(std::span<const int16_t> samples, double frequency_hz, int sample_rate_hz);

// The largest absolute difference between consecutive samples.
int MaxStep(std::span<const int16_t> samples);

}  // namespace earshot::testing

#pragma once
// Brings a mixed output (float, full scale +-32767) back into int16 without hard
// clipping and without wrap-around, so loud three-way mixes do not crackle.
//
// Model: a gain follows the signal's peak. The whole frame is known before it is
// scaled, so the gain can come down before the frame's peak arrives (a frame of
// look-ahead at no latency cost): within a frame it ramps from the previous
// frame's gain to the gain that puts the peak at the threshold, reaching it at the
// peak's sample. When the signal gets quieter the gain recovers slowly (release),
// which keeps the limiter from pumping. A soft knee above the threshold catches
// what the gain ramp did not, and only then is a sample rounded to int16.
//
// One limiter per distinct output; it keeps state from frame to frame.

#include <cstdint>
#include <span>

namespace earshot::mixer {

class SoftLimiter {
 public:
  // Above this level (about -1 dBFS) the limiter acts.
  static constexpr float kThreshold = 29205.0f;
  static constexpr float kFullScale = 32767.0f;

  // `release_samples`: how fast the gain recovers toward 1 (time constant).
  explicit SoftLimiter(int release_samples = 800);

  // Writes `mixed.size()` samples to `out` (which must be as long).
  void Process(std::span<const float> mixed, std::span<int16_t> out);

  float gain() const { return gain_; }
  void Reset() { gain_ = 1.0f; }

  // The soft knee alone: identity below kThreshold, then a smooth curve that
  // approaches but never reaches full scale.
  static float SoftKnee(float sample);

 private:
  float release_coefficient_;
  float gain_ = 1.0f;
};

}  // namespace earshot::mixer

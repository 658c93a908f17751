#include "mixer/soft_limiter.h"

#include <algorithm>
#include <cmath>

#include "codecs/check.h"

namespace earshot::mixer {
namespace {

// Round half away from zero with plain arithmetic: std::lrint is a library call
// unless math errno handling is off, and this runs once per output sample.
int16_t Round(float sample) {
  return static_cast<int16_t>(static_cast<int32_t>(sample + (sample >= 0.0f ? 0.5f : -0.5f)));
}

int16_t RoundToInt16(float sample) {
  // SoftKnee keeps |sample| below full scale; the clamp is only a guarantee.
  return Round(std::clamp(sample, -32768.0f, 32767.0f));
}

}  // namespace

SoftLimiter::SoftLimiter(int release_samples)
    : release_coefficient_(1.0f - std::exp(-1.0f / static_cast<float>(std::max(1, release_samples)))) {}

float SoftLimiter::SoftKnee(float sample) {
  float magnitude = std::fabs(sample);
  if (magnitude <= kThreshold) return sample;
  constexpr float kHeadroom = kFullScale - kThreshold;
  float knee = kThreshold + kHeadroom * std::tanh((magnitude - kThreshold) / kHeadroom);
  return std::copysign(knee, sample);
}

void SoftLimiter::Process(std::span<const float> mixed, std::span<int16_t> out) {
  EARSHOT_DCHECK(out.size() >= mixed.size());
  float peak = 0.0f;
  size_t peak_index = 0;
  for (size_t i = 0; i < mixed.size(); ++i) {
    float magnitude = std::fabs(mixed[i]);
    if (magnitude > peak) {
      peak = magnitude;
      peak_index = i;
    }
  }
  // Fast path, the common case: nothing near full scale and no gain to recover.
  if (gain_ == 1.0f && peak <= kThreshold) {
    for (size_t i = 0; i < mixed.size(); ++i) out[i] = Round(mixed[i]);
    return;
  }
  const float wanted = peak > kThreshold ? kThreshold / peak : 1.0f;
  if (wanted < gain_) {
    // Attack: reach `wanted` at the peak, hold it for the rest of the frame.
    const float start = gain_;
    const float step = (wanted - start) / static_cast<float>(peak_index + 1);
    for (size_t i = 0; i < mixed.size(); ++i) {
      float gain = i <= peak_index ? start + step * static_cast<float>(i + 1) : wanted;
      out[i] = RoundToInt16(SoftKnee(mixed[i] * gain));
    }
    gain_ = wanted;
    return;
  }
  // Release: recover toward `wanted` (<= 1) smoothly.
  for (size_t i = 0; i < mixed.size(); ++i) {
    gain_ += (wanted - gain_) * release_coefficient_;
    out[i] = RoundToInt16(SoftKnee(mixed[i] * gain_));
  }
  if (gain_ > 0.9999f && wanted == 1.0f) gain_ = 1.0f;
}

}  // namespace earshot::mixer

#include "mixer/soft_limiter.h"

#include <algorithm>
#include <bit>
#include <climits>
#include <cmath>
#include <cstring>

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

// The fast path in one pass: rounds every sample with Round() and says
// whether the frame was quiet (no |sample| above the threshold); if it was
// not, the caller overwrites `out`. 8 samples at a time with GCC/Clang vector
// extensions (SSE2 on x86-64, NEON on Arm, as in codecs/g711.cc), the tail
// with the scalar code. GCC 12 narrows int32 lanes to int16 with seven
// shuffles on SSE2; converting the even and the odd samples separately and
// merging them as the low and high halves of 32-bit lanes (little-endian)
// costs two shuffles and three logic operations instead. The lanes round
// exactly as Round() for |sample| < 2^15 (the sign of a zero aside, which
// truncates to 0 either way); soft_limiter_test.cc checks that they agree.
bool RoundIfQuiet(std::span<const float> mixed, std::span<int16_t> out) {
  size_t i = 0;
  int above = 0;
  if constexpr (std::endian::native == std::endian::little) {
    typedef float Float32x4 __attribute__((vector_size(16)));
    typedef int32_t Int32x4 __attribute__((vector_size(16)));
    constexpr size_t kLanes = 8;
    const auto round = [](Float32x4 x) {
      // copysign(0.5f, x): the x >= 0 ? 0.5f : -0.5f of Round().
      const Int32x4 half = (__builtin_bit_cast(Int32x4, x) & INT32_MIN) | std::bit_cast<int32_t>(0.5f);
      return __builtin_convertvector(x + __builtin_bit_cast(Float32x4, half), Int32x4);
    };
    const auto magnitude = [](Float32x4 x) {
      return __builtin_bit_cast(Float32x4, __builtin_bit_cast(Int32x4, x) & INT32_MAX);
    };
    Int32x4 loud = {0, 0, 0, 0};
    for (; i + kLanes <= mixed.size(); i += kLanes) {
      Float32x4 low;
      Float32x4 high;
      std::memcpy(&low, mixed.data() + i, sizeof(low));
      std::memcpy(&high, mixed.data() + i + 4, sizeof(high));
      loud |= (magnitude(low) > SoftLimiter::kThreshold) | (magnitude(high) > SoftLimiter::kThreshold);
      const Int32x4 even = round(__builtin_shufflevector(low, high, 0, 2, 4, 6));
      const Int32x4 odd = round(__builtin_shufflevector(low, high, 1, 3, 5, 7));
      const Int32x4 pairs = (even & 0xFFFF) | (odd << 16);
      std::memcpy(out.data() + i, &pairs, sizeof(pairs));
    }
    above = (loud[0] | loud[1] | loud[2] | loud[3]) != 0;
  }
  for (; i < mixed.size(); ++i) {
    above |= std::fabs(mixed[i]) > SoftLimiter::kThreshold ? 1 : 0;
    out[i] = Round(mixed[i]);
  }
  return above == 0;
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
  // Fast path, the common case: nothing near full scale and no gain to recover.
  // The same test as `peak <= kThreshold` below, without looking for the peak.
  if (gain_ == 1.0f && RoundIfQuiet(mixed, out)) return;
  float peak = 0.0f;
  size_t peak_index = 0;
  for (size_t i = 0; i < mixed.size(); ++i) {
    float magnitude = std::fabs(mixed[i]);
    if (magnitude > peak) {
      peak = magnitude;
      peak_index = i;
    }
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

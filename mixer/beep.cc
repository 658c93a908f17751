#include "mixer/beep.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace earshot::mixer {

BeepPlayer::BeepPlayer(const BeepOptions& options, int sample_rate_hz)
    : length_samples_(std::max(0, options.length_ms) * sample_rate_hz / 1000),
      fade_samples_(std::max(1, 5 * sample_rate_hz / 1000)),
      amplitude_(32767.0f * std::pow(10.0f, options.level_dbfs / 20.0f)) {
  const double omega = 2.0 * std::numbers::pi * options.frequency_hz / sample_rate_hz;
  coefficient_ = static_cast<float>(2.0 * std::cos(omega));
  sin_step_ = static_cast<float>(std::sin(omega));
}

void BeepPlayer::Start() {
  remaining_ = length_samples_;
  // y[n] = sin(n w): y[-1] = -sin(w), y[-2] = -sin(2w) = -2 sin(w) cos(w).
  s1_ = -sin_step_;
  s2_ = -sin_step_ * coefficient_;
}

void BeepPlayer::MixInto(std::span<float> acc) {
  for (float& sample : acc) {
    if (remaining_ <= 0) return;
    float value = coefficient_ * s1_ - s2_;
    s2_ = s1_;
    s1_ = value;
    int played = length_samples_ - remaining_;
    float envelope = std::min({1.0f, static_cast<float>(played + 1) / fade_samples_,
                               static_cast<float>(remaining_) / fade_samples_});
    sample += amplitude_ * envelope * value;
    --remaining_;
  }
}

}  // namespace earshot::mixer

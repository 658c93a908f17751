#include "mixer/ringback.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace earshot::mixer {

std::string_view RingbackPlanName(RingbackPlan plan) {
  switch (plan) {
    case RingbackPlan::kNone: return "none";
    case RingbackPlan::kNorthAmerican: return "us";
    case RingbackPlan::kEuropean: return "eu";
    case RingbackPlan::kEarlyMedia: return "early-media";
  }
  return "none";
}

std::optional<RingbackPlan> ParseRingbackPlan(std::string_view name) {
  for (RingbackPlan plan : {RingbackPlan::kNone, RingbackPlan::kNorthAmerican,
                            RingbackPlan::kEuropean, RingbackPlan::kEarlyMedia}) {
    if (RingbackPlanName(plan) == name) return plan;
  }
  return std::nullopt;
}

bool GeneratesTone(RingbackPlan plan) {
  return plan == RingbackPlan::kNorthAmerican || plan == RingbackPlan::kEuropean;
}

RingbackGenerator::RingbackGenerator(const RingbackOptions& options, int sample_rate_hz)
    : plan_(options.plan),
      sample_rate_hz_(sample_rate_hz),
      amplitude_(32767.0f * std::pow(10.0f, options.level_dbfs / 20.0f)),
      fade_samples_(std::max(1, sample_rate_hz / 200)) {  // 5 ms in and out: no click
  float frequencies[2] = {0.0f, 0.0f};
  int on_ms = 0;
  int off_ms = 0;
  if (plan_ == RingbackPlan::kNorthAmerican) {
    frequencies[0] = 440.0f;
    frequencies[1] = 480.0f;
    sines_ = 2;
    on_ms = 2000;
    off_ms = 4000;
  } else if (plan_ == RingbackPlan::kEuropean) {
    frequencies[0] = 425.0f;
    sines_ = 1;
    on_ms = 1000;
    off_ms = 4000;
  }
  on_samples_ = sample_rate_hz * on_ms / 1000;
  period_samples_ = std::max(1, sample_rate_hz * (on_ms + off_ms) / 1000);
  for (int i = 0; i < sines_; ++i) {
    const double w = 2.0 * std::numbers::pi * frequencies[i] / sample_rate_hz_;
    sine_[i].coefficient = static_cast<float>(2.0 * std::cos(w));
    sin_step_[i] = static_cast<float>(std::sin(w));
    // Phase 0 of sin(w n): s[-1] = sin(-w), s[-2] = sin(-2w), so the first output is sin(0).
    sine_[i].s1 = -sin_step_[i];
    s2_start_[i] = static_cast<float>(-std::sin(2.0 * w));
    sine_[i].s2 = s2_start_[i];
  }
}

void RingbackGenerator::Generate(std::span<float> out) {
  if (sines_ == 0) {
    std::fill(out.begin(), out.end(), 0.0f);
    return;
  }
  for (float& sample : out) {
    float value = 0.0f;
    for (int i = 0; i < sines_; ++i) {
      Sine& sine = sine_[i];
      const float next = sine.coefficient * sine.s1 - sine.s2;
      sine.s2 = sine.s1;
      sine.s1 = next;
      value += next;
    }
    float envelope = 0.0f;
    if (position_ < on_samples_) {
      envelope = 1.0f;
      if (position_ < fade_samples_) {
        envelope = static_cast<float>(position_) / static_cast<float>(fade_samples_);
      } else if (on_samples_ - position_ <= fade_samples_) {
        envelope = static_cast<float>(on_samples_ - position_) / static_cast<float>(fade_samples_);
      }
    }
    sample = amplitude_ * envelope * value;
    if (++position_ == period_samples_) {
      position_ = 0;
      // The recurrence drifts in amplitude over long runs; restart it at phase 0
      // where the tone is off (silent), so nobody hears the restart.
      for (int i = 0; i < sines_; ++i) {
        sine_[i].s1 = -sin_step_[i];
        sine_[i].s2 = s2_start_[i];
      }
    }
  }
}

}  // namespace earshot::mixer

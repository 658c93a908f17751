#pragma once
// Ringback: the tone a caller hears while the call rings (PRODUCT.md "Pickup").
// A session created ringing mixes it into the outputs of its call parties
// (every leg that is not a supervisor) until the answer stops it; the answer's
// command stops it before the next tick, so the tone ends within one tick.
//
// Tone plans are cadences of one or two summed sines:
//   kNorthAmerican  440 + 480 Hz, 2 s on, 4 s off (ANSI T1.401)
//   kEuropean       425 Hz, 1 s on, 4 s off (ETSI TR 101 041 / CEPT)
//   kNone           silence
// kEarlyMedia generates nothing: the far end's early media (a leg the SIP server
// adds for it) is mixed like any other leg's audio.
//
// Pure media: the generator is driven by calls, a tick at a time, and keeps its
// phase and cadence position across ticks so that the tone has no clicks.

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace earshot::mixer {

enum class RingbackPlan { kNone, kNorthAmerican, kEuropean, kEarlyMedia };

// "us", "eu", "none", "early-media".
std::string_view RingbackPlanName(RingbackPlan plan);
std::optional<RingbackPlan> ParseRingbackPlan(std::string_view name);

struct RingbackOptions {
  RingbackPlan plan = RingbackPlan::kNone;
  float level_dbfs = -16.0f;  // peak of each sine
  friend bool operator==(const RingbackOptions&, const RingbackOptions&) = default;
};

// Whether `plan` makes a tone at all (kNone and kEarlyMedia do not).
bool GeneratesTone(RingbackPlan plan);

class RingbackGenerator {
 public:
  RingbackGenerator(const RingbackOptions& options, int sample_rate_hz);

  // The next out.size() samples of the cadence (silence in the off part).
  void Generate(std::span<float> out);

 private:
  struct Sine {
    float coefficient = 0.0f;  // 2 cos(w)
    float s1 = 0.0f;
    float s2 = 0.0f;
  };
  RingbackPlan plan_;
  int sample_rate_hz_;
  float amplitude_;
  int on_samples_ = 0;
  int period_samples_ = 1;
  int fade_samples_;
  int position_ = 0;  // within the cadence period
  int sines_ = 0;
  Sine sine_[2];
  float sin_step_[2] = {0.0f, 0.0f};    // sin(w): s[-1] at phase 0 is -sin(w)
  float s2_start_[2] = {0.0f, 0.0f};    // s[-2] at phase 0: -sin(2w)
};

}  // namespace earshot::mixer

#pragma once
// The join beep: a short sine mixed into the outputs of the parties who will now
// hear a supervisor. One BeepPlayer per output slot; a beep fades in and out
// over a few milliseconds so that it does not click.

#include <span>

namespace earshot::mixer {

struct BeepOptions {
  // 1400 Hz is the common "call is monitored or recorded" warning tone.
  float frequency_hz = 1400.0f;
  int length_ms = 200;
  float level_dbfs = -18.0f;  // the sine's peak
};

class BeepPlayer {
 public:
  BeepPlayer(const BeepOptions& options, int sample_rate_hz);

  // Starts (or restarts) a beep at the next sample mixed.
  void Start();
  bool active() const { return remaining_ > 0; }

  // Adds the next acc.size() samples of the beep to `acc`, if one is playing.
  void MixInto(std::span<float> acc);

 private:
  int length_samples_;
  int fade_samples_;
  float amplitude_;
  float coefficient_;  // 2 cos(w): the oscillator's recurrence
  float sin_step_;     // sin(w): to restart the oscillator at phase 0
  int remaining_ = 0;
  float s1_ = 0.0f;
  float s2_ = 0.0f;
};

}  // namespace earshot::mixer

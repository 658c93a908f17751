#pragma once
// Per-leg voice processing with SpeexDSP: echo cancellation against what
// Earshot sent to the leg, residual echo suppression, noise suppression and
// automatic gain control, each opt-in from the API.
//
// Where the echo comes from. A customer on the PSTN sits behind a 2-to-4 wire
// hybrid that reflects part of what it is sent back into what it sends, 20-40 ms
// later and 6-12 dB down: without cancellation, the agent and a listening
// supervisor hear their own voices come back. The far-end reference is exactly
// what Earshot mixed for this leg (before encoding, at the session rate), fed
// in one tick at a time as it is sent; the near end is what the leg's jitter
// buffer plays out. The echo reaches the canceller one tick or more after its
// reference (a tick's mix is sent after that tick's playout), plus the network
// round trip, the jitter buffer's delay and the hybrid's own 20-40 ms: the
// adaptive filter's tail (echo_tail_ms) must cover all of it. When part of that
// delay is known for sure, `reference_delay_ms` delays the reference by it so
// that the tail covers the rest; too much delay makes the echo arrive before
// its reference, which no filter can cancel, so the default is none.
//
// What the adaptive filter leaves, SpeexDSP's preprocessor suppresses from its
// own estimate of the residual echo; that suppressor is always on with the
// canceller, noise suppression or not (voice_processing.cc says why it needs
// to be switched on explicitly). Its overlap-add delays what the leg's far end
// says by one tick (measured: 20 ms more from the customer's line to the
// agent's ear than without voice processing).
//
// Hot path: Process and NoteSent allocate nothing (SpeexDSP's states and the
// delay line are sized at Create) and run on the leg's core (STYLE.md §1, §3).

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "codecs/result.h"

struct SpeexEchoState_;
struct SpeexPreprocessState_;

namespace earshot::mixer {

struct VoiceProcessingOptions {
  bool echo_cancel = false;
  int echo_tail_ms = 128;          // the adaptive filter's length, 16..512
  bool noise_suppress = false;
  int noise_suppress_db = -15;     // attenuation of noise, -60..-1
  bool agc = false;                // automatic gain control toward a fixed level
  int reference_delay_ms = 0;      // see above; 0..500
  bool enabled() const { return echo_cancel || noise_suppress || agc; }
  friend bool operator==(const VoiceProcessingOptions&, const VoiceProcessingOptions&) = default;
};

struct VoiceProcessingCounters {
  uint64_t frames = 0;             // near-end ticks processed
  uint64_t reference_missing = 0;  // ticks with no reference yet (silence used)
};

class VoiceProcessor {
 public:
  // `tick_samples` at `sample_rate_hz` is the frame every call processes.
  [[nodiscard]] static Result<VoiceProcessor> Create(const VoiceProcessingOptions& options,
                                                     int sample_rate_hz, int tick_samples);

  VoiceProcessor(VoiceProcessor&&) noexcept = default;
  VoiceProcessor& operator=(VoiceProcessor&&) noexcept = default;
  ~VoiceProcessor() = default;

  // One tick of what Earshot sent to the leg (the echo canceller's reference).
  void NoteSent(std::span<const int16_t> sent);
  // One tick of what the leg's far end said, cleaned in place.
  void Process(std::span<int16_t> near);

  const VoiceProcessingOptions& options() const { return options_; }
  const VoiceProcessingCounters& counters() const { return counters_; }

 private:
  struct EchoDeleter {
    void operator()(SpeexEchoState_* state) const;
  };
  struct PreprocessDeleter {
    void operator()(SpeexPreprocessState_* state) const;
  };

  VoiceProcessor(const VoiceProcessingOptions& options, int tick_samples, size_t delay_ticks);
  void SetUpLowBandRestore(int sample_rate_hz);
  void RestoreLowBand(std::span<int16_t> samples);

  VoiceProcessingOptions options_;
  size_t tick_samples_;
  std::unique_ptr<SpeexEchoState_, EchoDeleter> echo_;
  std::unique_ptr<SpeexPreprocessState_, PreprocessDeleter> preprocess_;
  // The reference delay line: delay_ticks + 1 ticks of what was sent.
  std::vector<int16_t> sent_;
  size_t ticks_held_ = 0;
  size_t next_write_ = 0;
  std::vector<int16_t> cleaned_;
  std::vector<int16_t> silence_;  // the reference before anything was sent
  // Undoes most of SpeexDSP's DC notch (see RestoreLowBand): biquad
  // coefficients and state.
  double restore_b1_ = 0.0, restore_b2_ = 0.0, restore_a1_ = 0.0, restore_a2_ = 0.0,
         restore_gain_ = 1.0;
  double restore_x1_ = 0.0, restore_x2_ = 0.0, restore_y1_ = 0.0, restore_y2_ = 0.0;
  VoiceProcessingCounters counters_;
};

}  // namespace earshot::mixer

#pragma once
// A session's media: up to `max_legs` legs mixed through a gain matrix, one tick
// at a time. Pure media: no sockets, threads or clocks; the owning worker calls
// it, and only that worker (STYLE.md §1).
//
// Per tick (Tick):
//   1. every leg plays out one tick of what it received (decode or conceal);
//   2. every distinct output is mixed: out[dst] = sum of gain[dst][src] * in[src]
//      (float accumulation, nobody hears themselves), plus a join beep where one
//      is playing, then brought to int16 by a soft limiter;
//   3. each distinct output is encoded once; legs whose output is identical
//      (same gains from the same sources, same codec and rate, no beep of their
//      own) share the one payload, e.g. two supervisors in listen mode.
//
// Changes (legs, modes, a custom matrix) made between ticks take effect at the
// next tick. The gains move from the old matrix to the new one over a short
// linear ramp (ramp_ms) at the start of that tick, so that nothing clicks.
//
// The matrix is either derived from the legs' roles and supervisor modes
// (presets.h) or set directly (custom); SetMode returns to presets.
//
// Everything is allocated by Create; legs bring their own buffers (LegMedia is
// built on the control path). Nothing here allocates after that.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "codecs/result.h"
#include "mixer/beep.h"
#include "mixer/gain_matrix.h"
#include "mixer/leg_media.h"
#include "mixer/presets.h"
#include "mixer/ringback.h"
#include "mixer/soft_limiter.h"

namespace earshot::mixer {

struct SessionOptions {
  int sample_rate_hz = 8000;  // 8000, 16000 or 48000
  int tick_ms = 20;           // 10 or 20
  int max_legs = 16;          // 2..64
  int ramp_ms = 5;            // gain ramp on every matrix change
  BeepOptions beep;
  // A session created ringing plays this to its call parties (not supervisors)
  // until StopRingback (ringback.h).
  RingbackOptions ringback;
};

struct LegOutput {
  bool active = false;               // the slot holds a leg
  std::span<const uint8_t> payload;  // this tick's encoded frame; valid until the next Tick
  int shared_from = -1;              // the slot whose encoding this is (itself if encoded for it)
};

struct SessionCounters {
  uint64_t ticks = 0;
  uint64_t mixes = 0;            // distinct outputs mixed
  uint64_t encodes = 0;          // encoder calls
  uint64_t shared_outputs = 0;   // outputs that reused another leg's encoding
  uint64_t matrix_changes = 0;
};

class MediaSession {
 public:
  [[nodiscard]] static Result<std::unique_ptr<MediaSession>> Create(const SessionOptions& options);

  int capacity() const { return static_cast<int>(slots_.size()); }
  int tick_samples() const { return tick_samples_; }
  int sample_rate_hz() const { return options_.sample_rate_hz; }

  // Adds a leg in a free slot. With `beep`, the parties who will now hear this
  // leg (for a listening supervisor: the call's parties) get the join beep.
  [[nodiscard]] Result<void> AddLeg(int slot, Role role, SupervisorMode mode, bool beep,
                                    std::unique_ptr<LegMedia> media);
  // Removes a leg; its LegMedia is handed back so that it is freed where it was
  // made (on the control path).
  [[nodiscard]] Result<std::unique_ptr<LegMedia>> RemoveLeg(int slot);
  // Changes a supervisor's mode (and returns to preset matrices).
  [[nodiscard]] Result<void> SetMode(int slot, SupervisorMode mode, bool beep);
  // Sets the gains directly; legs added later are silent until the next matrix.
  [[nodiscard]] Result<void> SetMatrix(const GainMatrix& matrix);
  // The call was answered: the ringback ends before the next tick mixes.
  void StopRingback();
  bool ringing() const { return ringback_active_; }

  // What the jitter buffer made of the packet; nullopt if the slot has no leg.
  std::optional<InsertResult> Receive(int slot, const PacketIn& packet, int64_t arrival_ns);

  // Mixes one tick. `outputs` has capacity() entries.
  void Tick(std::span<LegOutput> outputs);
  // A hint, changes nothing: starts loading what the next Tick reads first
  // from each leg (its FIFO state, the jitter buffer's next slot and payload).
  // Tick issues it for its own legs; a caller ticking many sessions in a row
  // can issue it for the next session while this one mixes (l3fwd's
  // PREFETCH_OFFSET), so that the misses overlap with work.
  void PrefetchTick() const;

  // The matrix in force from the next tick on.
  const GainMatrix& matrix() const { return target_; }
  const LegMedia* leg(int slot) const;
  const SessionCounters& counters() const { return counters_; }

 private:
  explicit MediaSession(const SessionOptions& options);

  Result<void> CheckSlot(int slot, bool must_be_used) const;
  std::span<float> input(int slot);
  // Installs scratch_ as the target matrix; starts the join beep for the parties
  // who now hear `beep_for` (a slot), if set.
  void ChangeMatrix(std::optional<int> beep_for);
  void RebuildPresetMatrix(std::optional<int> beep_for);
  void ComputeSharing();
  // Lists, per output, the sources with a gain in the current or the target
  // matrix, so that a tick visits only those.
  void ComputeSources();
  std::span<const int> sources(int dst) const {
    return std::span<const int>(sources_).subspan(static_cast<size_t>(dst * capacity()),
                                                  static_cast<size_t>(source_counts_[static_cast<size_t>(dst)]));
  }
  void MixOutput(int dst);

  SessionOptions options_;
  int tick_samples_;
  int ramp_samples_;
  std::vector<std::unique_ptr<LegMedia>> slots_;
  bool custom_matrix_ = false;
  GainMatrix current_;  // in force during the last tick
  GainMatrix target_;   // in force from the next tick
  GainMatrix scratch_;  // the next matrix, while it is being built
  bool ramping_ = false;
  bool sharing_dirty_ = true;
  std::vector<int> leader_;              // per slot: the slot whose output it shares
  // Rebuilt with the sharing: every change of current_, target_ or ramping_
  // also makes the sharing dirty.
  std::vector<int> sources_;             // capacity x capacity: each output's sources first
  std::vector<int> source_counts_;       // per output slot
  std::vector<SlotRole> roles_;          // per slot
  std::vector<float> inputs_;            // capacity x tick_samples, what each leg said
  std::vector<float> mix_;               // tick_samples
  std::vector<int16_t> pcm_;             // tick_samples
  std::vector<BeepPlayer> beeps_;        // per output slot
  std::vector<SoftLimiter> limiters_;    // per output slot
  RingbackGenerator ringback_;
  bool ringback_active_;
  std::vector<float> ringback_tick_;     // tick_samples: this tick's ringback, shared by all parties
  SessionCounters counters_;
};

}  // namespace earshot::mixer

#pragma once
// Call churn (--churn-cps R --churn-hold S): while the N steady calls are up,
// extra calls are set up at R per second and each is deleted S seconds after
// it came up, so about R x S churn calls are up at any time.
//
// A churn call needs the phones' sockets like any call, and sockets are opened
// at start-up only, so churn calls run on a pool of pre-allocated slots
// (ChurnSlotCount) that the driver treats as calls N, N+1, ... A slot's life:
// free -> setting up (RPCs under way) -> up (held S s) -> tearing down (the
// driver stops it, then DeleteSession) -> free. Every set-up uses a fresh
// session id, so earshotd sees new legs (new SSRC and sequence) each time.
//
// ChurnSchedule is the pure part of that: when the next set-up and tear-down
// are due and which slot each takes, with the clock passed in. Free slots are
// reused first-in first-out, so a slot rests as long as possible between two
// calls (stray packets of the old legs are gone by the time it comes up again).
// Set-ups keep their rate-based times: a controller that fell behind catches
// up back to back; a set-up due while every slot is busy is counted as missed
// and skipped.

#include <cstdint>
#include <deque>
#include <limits>
#include <vector>

namespace earshot::load {

inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// The pool size for R calls/s held S s: ceil(R x S) calls up at once, plus room
// for the slots still setting up or tearing down (R x 0.5 s of RPC time) and 2.
int ChurnSlotCount(double cps, double hold_s);

class ChurnSchedule {
 public:
  // Set-ups at start + k / cps for k = 0, 1, ... while set-up time + hold is at
  // most `last_down_ns` (no churn call outlives the run).
  ChurnSchedule(double cps, double hold_s, int slots, int64_t start_ns, int64_t last_down_ns);

  // kNever when no set-up is left.
  int64_t next_setup_ns() const;
  // The earliest tear-down of a slot that is up; kNever when none is.
  int64_t next_teardown_ns() const;

  // The set-up due at `next_setup_ns()`: returns the slot it takes, or -1 when
  // every slot is busy (counted in missed()). Moves on to the next set-up.
  int BeginSetUp();
  // The set-up of `slot` finished at `now_ns`: up until now + hold, or, when it
  // failed, free again.
  void SetUpDone(int slot, int64_t now_ns, bool ok);
  // The slot whose tear-down is due at `now_ns` (earliest first), or -1.
  int BeginTearDown(int64_t now_ns);
  void TearDownDone(int slot);
  // Slots up or setting up: what is left to tear down when the run ends early.
  std::vector<int> Busy() const;

  int64_t missed() const { return missed_; }
  int slots() const { return static_cast<int>(state_.size()); }
  int up() const;

 private:
  enum class State { kFree, kSettingUp, kUp, kTearingDown };
  struct Slot {
    State state = State::kFree;
    int64_t down_at_ns = 0;
  };

  double interval_ns_;
  int64_t hold_ns_;
  int64_t start_ns_;
  int64_t last_down_ns_;
  int64_t next_ = 0;  // index of the next set-up
  int64_t missed_ = 0;
  std::vector<Slot> state_;
  std::deque<int> free_;  // FIFO: the longest-resting slot first
};

}  // namespace earshot::load

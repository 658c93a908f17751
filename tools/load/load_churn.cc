#include "tools/load/load_churn.h"

#include <algorithm>
#include <cmath>

namespace earshot::load {

int ChurnSlotCount(double cps, double hold_s) {
  if (cps <= 0.0) return 0;
  return static_cast<int>(std::ceil(cps * hold_s) + std::ceil(cps * 0.5)) + 2;
}

ChurnSchedule::ChurnSchedule(double cps, double hold_s, int slots, int64_t start_ns, int64_t last_down_ns)
    : interval_ns_(1e9 / cps),
      hold_ns_(static_cast<int64_t>(hold_s * 1e9)),
      start_ns_(start_ns),
      last_down_ns_(last_down_ns),
      state_(static_cast<size_t>(slots)) {
  for (int slot = 0; slot < slots; ++slot) free_.push_back(slot);
}

int64_t ChurnSchedule::next_setup_ns() const {
  const int64_t at = start_ns_ + static_cast<int64_t>(static_cast<double>(next_) * interval_ns_);
  return at + hold_ns_ <= last_down_ns_ ? at : kNever;
}

int64_t ChurnSchedule::next_teardown_ns() const {
  int64_t earliest = kNever;
  for (const Slot& slot : state_) {
    if (slot.state == State::kUp) earliest = std::min(earliest, slot.down_at_ns);
  }
  return earliest;
}

int ChurnSchedule::BeginSetUp() {
  ++next_;
  if (free_.empty()) {
    ++missed_;
    return -1;
  }
  const int slot = free_.front();
  free_.pop_front();
  state_[static_cast<size_t>(slot)].state = State::kSettingUp;
  return slot;
}

void ChurnSchedule::SetUpDone(int slot, int64_t now_ns, bool ok) {
  Slot& s = state_[static_cast<size_t>(slot)];
  if (!ok) {
    s.state = State::kFree;
    free_.push_back(slot);
    return;
  }
  s.state = State::kUp;
  // Never past the end of the run, even when the set-up itself was slow.
  s.down_at_ns = std::min(now_ns + hold_ns_, std::max(last_down_ns_, now_ns));
}

int ChurnSchedule::BeginTearDown(int64_t now_ns) {
  int chosen = -1;
  for (int slot = 0; slot < slots(); ++slot) {
    const Slot& s = state_[static_cast<size_t>(slot)];
    if (s.state != State::kUp || s.down_at_ns > now_ns) continue;
    if (chosen < 0 || s.down_at_ns < state_[static_cast<size_t>(chosen)].down_at_ns) chosen = slot;
  }
  if (chosen >= 0) state_[static_cast<size_t>(chosen)].state = State::kTearingDown;
  return chosen;
}

void ChurnSchedule::TearDownDone(int slot) {
  state_[static_cast<size_t>(slot)].state = State::kFree;
  free_.push_back(slot);
}

std::vector<int> ChurnSchedule::Busy() const {
  std::vector<int> busy;
  for (int slot = 0; slot < slots(); ++slot) {
    const State state = state_[static_cast<size_t>(slot)].state;
    if (state == State::kUp || state == State::kSettingUp) busy.push_back(slot);
  }
  return busy;
}

int ChurnSchedule::up() const {
  return static_cast<int>(
      std::count_if(state_.begin(), state_.end(), [](const Slot& s) { return s.state == State::kUp; }));
}

}  // namespace earshot::load

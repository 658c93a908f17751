#include "control/event_bus.h"

namespace earshot::control {

void EventBus::Publish(earshot::v1::Event event) {
  {
    std::lock_guard lock(mutex_);
    event.set_sequence(++last_sequence_);
    event.set_time_unix_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count());
    kept_.push_back(std::move(event));
    if (kept_.size() > kCapacity) kept_.pop_front();
  }
  published_.notify_all();
}

std::vector<earshot::v1::Event> EventBus::Wait(uint64_t after_sequence,
                                               std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  published_.wait_for(lock, timeout, [&] { return last_sequence_ > after_sequence; });
  std::vector<earshot::v1::Event> events;
  // Sequences are contiguous, so the first wanted event's place is arithmetic.
  const uint64_t first_kept = last_sequence_ - kept_.size() + 1;
  const uint64_t start = after_sequence < first_kept ? 0 : after_sequence - first_kept + 1;
  for (uint64_t i = start; i < kept_.size(); ++i) events.push_back(kept_[i]);
  return events;
}

uint64_t EventBus::last_sequence() {
  std::lock_guard lock(mutex_);
  return last_sequence_;
}

}  // namespace earshot::control

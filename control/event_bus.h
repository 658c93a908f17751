#pragma once
// The ordered feed behind earshot.v1.Events: every event gets the next
// sequence number; the most recent kCapacity events are kept for clients that
// reconnect and ask for what they missed. Publish never blocks on a slow
// subscriber: subscribers copy out what they have not seen.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "earshot/v1/events.pb.h"

namespace earshot::control {

class EventBus {
 public:
  static constexpr size_t kCapacity = 10000;

  // Stamps `event` with the next sequence and the time, and keeps it.
  void Publish(earshot::v1::Event event);

  // The kept events after `after_sequence`, waiting up to `timeout` for one to
  // arrive if there are none yet. An empty result means nothing new.
  std::vector<earshot::v1::Event> Wait(uint64_t after_sequence, std::chrono::milliseconds timeout);

  uint64_t last_sequence();

 private:
  std::mutex mutex_;
  std::condition_variable published_;
  std::deque<earshot::v1::Event> kept_;
  uint64_t last_sequence_ = 0;
};

}  // namespace earshot::control

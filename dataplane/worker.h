#pragma once
// A worker is one thread that owns a set of sessions completely (ARCHITECTURE.md
// "Cores own things"). For now it only keeps its tick schedule; sessions, sockets
// and command rings join it in later work.
//
// The schedule is absolute: tick k is due at start + k * tick, from
// CLOCK_MONOTONIC, so a late tick does not shift the ones after it. A tick that
// starts more than kOverrunSlack after it was due counts as an overrun; when the
// worker falls more than a whole tick behind it skips the missed ticks (counted)
// rather than running them back to back.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>

namespace earshot::dataplane {

struct WorkerOptions {
  int index = 0;
  std::chrono::milliseconds tick{20};
  std::optional<int> pin_to_cpu;  // pin the thread to this CPU when set
};

// Counters written by the worker thread only, read by others at any time.
struct WorkerCounters {
  std::atomic<uint64_t> ticks{0};
  std::atomic<uint64_t> overruns{0};
  std::atomic<uint64_t> skipped_ticks{0};
};

class Worker {
 public:
  static constexpr std::chrono::milliseconds kOverrunSlack{4};

  explicit Worker(WorkerOptions options);
  ~Worker();  // stops and joins
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread. Returns false if pinning was asked for and failed (the
  // thread then runs unpinned).
  bool Start();
  // Asks the thread to stop and joins it; returns within about one tick.
  void Stop();

  const WorkerCounters& counters() const { return counters_; }
  int index() const { return options_.index; }

 private:
  void Run();

  WorkerOptions options_;
  WorkerCounters counters_;
  // Written by Stop() (release), read by the worker each tick (acquire).
  std::atomic<bool> stop_requested_{false};
  std::thread thread_;
};

}  // namespace earshot::dataplane

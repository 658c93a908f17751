#include "dataplane/worker.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

namespace earshot::dataplane {
namespace {

using Nanoseconds = std::chrono::nanoseconds;

Nanoseconds MonotonicNow() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return std::chrono::seconds(now.tv_sec) + Nanoseconds(now.tv_nsec);
}

void SleepUntil(Nanoseconds deadline) {
  timespec when{};
  when.tv_sec = static_cast<time_t>(deadline.count() / 1'000'000'000);
  when.tv_nsec = static_cast<long>(deadline.count() % 1'000'000'000);
  // EINTR only shortens the sleep; the loop re-checks the clock.
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &when, nullptr);
}

}  // namespace

Worker::Worker(WorkerOptions options) : options_(options) {}

Worker::~Worker() { Stop(); }

bool Worker::Start() {
  thread_ = std::thread([this] { Run(); });
  if (!options_.pin_to_cpu) return true;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(*options_.pin_to_cpu, &cpus);
  return pthread_setaffinity_np(thread_.native_handle(), sizeof cpus, &cpus) == 0;
}

void Worker::Stop() {
  stop_requested_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

void Worker::Run() {
  const Nanoseconds tick = options_.tick;
  Nanoseconds due = MonotonicNow() + tick;
  while (!stop_requested_.load(std::memory_order_acquire)) {
    SleepUntil(due);
    Nanoseconds now = MonotonicNow();
    if (now < due) continue;  // woken early (signal): sleep again
    if (now - due > kOverrunSlack) {
      counters_.overruns.fetch_add(1, std::memory_order_relaxed);
    }
    // The tick's work goes here: drain commands, receive, mix, send.
    counters_.ticks.fetch_add(1, std::memory_order_relaxed);
    due += tick;
    if (now - due > tick) {
      auto behind = (now - due) / tick;
      counters_.skipped_ticks.fetch_add(static_cast<uint64_t>(behind), std::memory_order_relaxed);
      due += behind * tick;
    }
  }
}

}  // namespace earshot::dataplane

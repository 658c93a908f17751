// SpscQueue: every control-plane command to a worker and every reply crosses one.
//
// Budgets (one 2-core dev machine, RelWithDebInfo):
//   push + pop on one thread                 <= 10 ns per pair
//   push + pop on one thread, bursts of 16   <= 10 ns per pair
//   producer -> consumer thread, bursts of 16 >= 20 M messages/s
//   producer -> consumer thread, one by one   no budget: shown to justify bursts
// The cross-thread figures need two otherwise idle cores; on a shared machine
// they fall with whatever else runs, so read them as a lower bound.

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <thread>

#include <benchmark/benchmark.h>

#include "dataplane/spsc_queue.h"

namespace earshot::dataplane {
namespace {

// The size of a typical command (AttachLeg{CallId, PortId, LegMode}).
struct Command {
  uint64_t call = 0;
  uint32_t port = 0;
  uint32_t mode = 0;
};

constexpr size_t kCapacity = 1024;
constexpr size_t kBurst = 16;

// Polling loops on a shared 2-core machine: pause a little, then give the core
// away so the other side can run.
void Backoff(int& idle) {
  if (++idle < 64) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  } else {
    std::this_thread::yield();
  }
}

// Arg: messages already queued. With 0 each pop reads the slot just written;
// with 512 it reads one written long before, as a consumer on another core does.
void BM_SpscPushPopOneThread(benchmark::State& state) {
  SpscQueue<Command> queue(kCapacity);
  for (int64_t i = 0; i < state.range(0); ++i) {
    if (!queue.TryPush(Command{})) state.SkipWithError("prefill did not fit");
  }
  uint64_t call = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(queue.TryPush(Command{call++, 2, 3}));
    std::optional<Command> popped = queue.TryPop();
    benchmark::DoNotOptimize(popped);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SpscPushPopOneThread)->Arg(0)->Arg(kCapacity / 2);

// Per pair: one push and one pop of a burst of 16, divided by 16 via the rate.
void BM_SpscPushPopBurstOneThread(benchmark::State& state) {
  SpscQueue<Command> queue(kCapacity);
  std::array<Command, kBurst> in{};
  std::array<Command, kBurst> out{};
  for (auto _ : state) {
    benchmark::DoNotOptimize(queue.PushBurst(in));
    benchmark::DoNotOptimize(queue.PopBurst(out));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
}
BENCHMARK(BM_SpscPushPopBurstOneThread);

// The timed thread consumes `burst` messages per iteration; a producer thread
// started per run keeps the queue fed as fast as it can. Throughput is set by the
// slower side, so items_per_second is the cross-thread rate.
void CrossThread(benchmark::State& state, size_t burst) {
  SpscQueue<Command> queue(kCapacity);
  std::atomic<bool> stop{false};
  std::thread producer([&] {
    std::array<Command, kBurst> in{};
    uint64_t next = 0;
    int idle = 0;
    // relaxed: stop only ends the loop; no data is handed over with it.
    while (!stop.load(std::memory_order_relaxed)) {
      for (size_t i = 0; i < burst; ++i) in[i].call = next++;
      size_t sent = 0;
      while (sent < burst && !stop.load(std::memory_order_relaxed)) {
        const size_t n = queue.PushBurst(std::span(in).subspan(sent, burst - sent));
        sent += n;
        if (n == 0) {
          Backoff(idle);
        } else {
          idle = 0;
        }
      }
    }
  });

  std::array<Command, kBurst> out{};
  uint64_t received = 0;
  int idle = 0;
  for (auto _ : state) {
    size_t got = 0;
    while (got < burst) {
      const size_t n = queue.PopBurst(std::span(out).subspan(got, burst - got));
      got += n;
      if (n == 0) {
        Backoff(idle);
      } else {
        idle = 0;
      }
    }
    benchmark::DoNotOptimize(out);
    received += got;
  }
  // relaxed: see the producer's load; join() orders the rest.
  stop.store(true, std::memory_order_relaxed);
  producer.join();
  state.SetItemsProcessed(static_cast<int64_t>(received));
}

void BM_SpscCrossThreadBurst16(benchmark::State& state) { CrossThread(state, kBurst); }
BENCHMARK(BM_SpscCrossThreadBurst16)->UseRealTime();

void BM_SpscCrossThreadOneByOne(benchmark::State& state) { CrossThread(state, 1); }
BENCHMARK(BM_SpscCrossThreadOneByOne)->UseRealTime();

}  // namespace
}  // namespace earshot::dataplane

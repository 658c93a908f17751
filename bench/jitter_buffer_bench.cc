// Jitter buffer: the per-packet cost of every leg, paid once on receive
// (Insert) and once per playout tick (PopNext).
//
// Budget, on the project machine (2 cores, no -march flags): <= 100 ns per
// Insert + PopNext pair of one 160-byte (20 ms PCMU) frame in steady state.
// At that figure a core spends 0.0005% of each 20 ms tick per leg here, so the
// jitter buffer never decides how many legs a core can carry; most of the pair
// is the 160-byte copy in and the delay estimate (a few floating-point ops).
//
// Steady state: packets arrive every 20 ms without jitter, the buffer has
// pre-buffered and settled at its target, every pop plays a packet (the bench
// reports the kinds it saw, so a regression into concealment shows).

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>

#include "mixer/jitter_buffer.h"

namespace earshot::mixer {
namespace {

constexpr int kFrame = 160;
constexpr int64_t kFrameNs = 20'000'000;

void BM_InsertPop(benchmark::State& state) {
  JitterBuffer buffer(JitterBufferOptions{});
  std::array<uint8_t, kFrame> payload{};
  for (int i = 0; i < kFrame; ++i) payload[i] = static_cast<uint8_t>(i);
  uint16_t seq = 0;
  uint32_t timestamp = 0;
  int64_t now = 0;
  const auto insert = [&] {
    const InsertResult result = buffer.Insert(
        PacketIn{SequenceNumber(seq), RtpTimestamp(timestamp), Ssrc(1), seq == 0, payload}, now);
    ++seq;
    timestamp += kFrame;
    now += kFrameNs;
    return result;
  };
  // Pre-buffer, then run past the estimator's warm-up so the target has settled.
  insert();
  for (int i = 0; i < 200; ++i) {
    insert();
    buffer.PopNext();
  }
  const uint64_t played_before = buffer.counters().played;
  for (auto _ : state) {
    benchmark::DoNotOptimize(insert());
    const PlayoutFrame frame = buffer.PopNext();
    benchmark::DoNotOptimize(frame.payload.data());
  }
  const JitterBufferCounters& c = buffer.counters();
  state.counters["played_fraction"] =
      static_cast<double>(c.played - played_before) / static_cast<double>(state.iterations());
  state.counters["missing"] = static_cast<double>(c.missing);
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_InsertPop)->Name("InsertPop/160");

}  // namespace
}  // namespace earshot::mixer

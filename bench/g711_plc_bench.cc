// G711Plc, the concealment behind every G.711 leg (and any codec without its
// own): what a lost packet and a received one cost.
//
// Budget on the project machine (2 cores, no -march flags):
// - Conceal of one 20 ms frame at the start of a loss, pitch search included:
//   <= 5 µs. Losses are rare (a few per cent of packets on a bad path): at
//   5% loss and the whole budget, a leg spends 5% x 5 µs per 20 ms tick on
//   concealment, about 0.001% of a core.
// - AddGoodFrame of a 20 ms frame in steady state (no loss to merge):
//   <= 200 ns. It runs for every received packet, next to a decode budgeted at
//   150 ns (g711_bench.cc), so it must stay the same order as the decode.
//
// Measured when written (AMD EPYC, g++ 12 -O2, RelWithDebInfo; CPU time, as
// the shared machine's wall time wandered up to 2x): ConcealFirstLoss about
// 1.1 µs including a 22 ns copy (roughly 0.75 µs of it the pitch search, the
// rest 2-3 ns per synthesised sample); the same search in scalar int64 took
// 3.3 µs. AddGoodFrame 18 ns; the first frame after a loss, merge included,
// about 130 ns.
//
// Each iteration of the loss benchmarks starts from a copy of a primed
// G711Plc (about 1.6 KB), so that every Conceal is a first one;
// "G711Plc/CopyOnly" measures that copy so it can be subtracted.
//
// Input: four harmonics of 150 Hz (a 53.3-sample period that no integer lag
// matches, as in speech). The signal changes the cost only through the period
// found, which sets how many samples fall in an OLA.

#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

#include "codecs/g711_plc.h"

namespace earshot {
namespace {

constexpr size_t kFrame = 160;
using Frame = std::array<int16_t, kFrame>;

Frame Voiced(size_t start) {
  Frame frame{};
  for (size_t i = 0; i < kFrame; ++i) {
    const double t = static_cast<double>(start + i) / 8000.0;
    double value = 0;
    for (int h = 1; h <= 4; ++h) {
      value += 5000.0 / h * std::sin(2.0 * std::numbers::pi * 150.0 * h * t + 0.7 * h);
    }
    frame[i] = static_cast<int16_t>(std::lround(value));
  }
  return frame;
}

// Three good frames: more than the 48.75 ms of history.
G711Plc Primed() {
  G711Plc plc;
  for (size_t frame = 0; frame < 3; ++frame) {
    Frame pcm = Voiced(frame * kFrame);
    plc.AddGoodFrame(pcm);
  }
  return plc;
}

void BM_CopyOnly(benchmark::State& state) {
  const G711Plc primed = Primed();
  for (auto _ : state) {
    G711Plc plc = primed;
    benchmark::DoNotOptimize(&plc);
    benchmark::ClobberMemory();
  }
}

void BM_ConcealFirstLoss(benchmark::State& state) {
  const G711Plc primed = Primed();
  Frame out{};
  for (auto _ : state) {
    G711Plc plc = primed;
    benchmark::DoNotOptimize(&plc);
    plc.Conceal(out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kFrame));
}

void BM_AddGoodFrame(benchmark::State& state) {
  G711Plc plc = Primed();
  // Not concealing, so AddGoodFrame only reads the frame: reusing it is fair.
  Frame pcm = Voiced(3 * kFrame);
  for (auto _ : state) {
    benchmark::DoNotOptimize(pcm.data());
    plc.AddGoodFrame(pcm);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kFrame));
}

// The first good frame after a 20 ms loss: the merge (a quarter period plus
// 2 ms) on top of the steady-state cost.
void BM_AddGoodFrameAfterLoss(benchmark::State& state) {
  G711Plc concealing = Primed();
  Frame lost{};
  concealing.Conceal(lost);
  const Frame decoded = Voiced(4 * kFrame);
  for (auto _ : state) {
    G711Plc plc = concealing;
    Frame pcm = decoded;
    benchmark::DoNotOptimize(&plc);
    benchmark::DoNotOptimize(pcm.data());
    plc.AddGoodFrame(pcm);
    benchmark::DoNotOptimize(pcm.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kFrame));
}

BENCHMARK(BM_CopyOnly)->Name("G711Plc/CopyOnly");
BENCHMARK(BM_ConcealFirstLoss)->Name("G711Plc/ConcealFirstLoss/160");
BENCHMARK(BM_AddGoodFrame)->Name("G711Plc/AddGoodFrame/160");
BENCHMARK(BM_AddGoodFrameAfterLoss)->Name("G711Plc/AddGoodFrameAfterLoss/160");

}  // namespace
}  // namespace earshot

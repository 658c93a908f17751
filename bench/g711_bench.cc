// G.711 frame conversion, the per-packet cost of every PCMU/PCMA leg.
//
// Budget, per 160-sample (20 ms) frame on the project machine (2 cores, no
// -march flags): encode <= 300 ns, decode <= 150 ns, for either law. At those
// figures a core spends under 0.01% of each 20 ms tick per leg on G.711, so
// transcoding never decides how many legs a core can carry.
//
// Measured when written (AMD EPYC Zen 4, g++ 12 -O2, RelWithDebInfo): encode
// about 72 ns for either law (8 lanes at a time; the scalar loop took 250-300),
// decode 47 ns, or about 92 ns in builds where the 5-instruction decode loop
// straddles a 64-byte line (padding experiments reproduced both). Which law
// gets the slow placement changes from build to build.
//
// Input is a 1 kHz tone at 8 kHz (only five distinct levels, as the period is
// 8 samples). Encode is branchless and decode a table lookup, so the figures
// do not depend on the signal.

#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>

#include "codecs/g711.h"

namespace earshot {
namespace {

constexpr size_t kFrame = 160;

std::array<int16_t, kFrame> Tone() {
  std::array<int16_t, kFrame> frame{};
  for (size_t i = 0; i < kFrame; ++i) {
    const double t = static_cast<double>(i) / 8000.0;
    frame[i] = static_cast<int16_t>(
        std::lround(16000.0 * std::sin(2.0 * std::numbers::pi * 1000.0 * t)));
  }
  return frame;
}

template <void (*kEncode)(std::span<const int16_t>, std::span<uint8_t>)>
void BM_Encode(benchmark::State& state) {
  const std::array<int16_t, kFrame> pcm = Tone();
  std::array<uint8_t, kFrame> payload{};
  for (auto _ : state) {
    benchmark::DoNotOptimize(pcm.data());
    kEncode(pcm, payload);
    benchmark::DoNotOptimize(payload.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kFrame));
}

template <void (*kEncode)(std::span<const int16_t>, std::span<uint8_t>),
          void (*kDecode)(std::span<const uint8_t>, std::span<int16_t>)>
void BM_Decode(benchmark::State& state) {
  const std::array<int16_t, kFrame> pcm = Tone();
  std::array<uint8_t, kFrame> payload{};
  kEncode(pcm, payload);
  std::array<int16_t, kFrame> out{};
  for (auto _ : state) {
    benchmark::DoNotOptimize(payload.data());
    kDecode(payload, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kFrame));
}

BENCHMARK(BM_Encode<EncodeUlaw>)->Name("EncodeUlaw/160");
BENCHMARK(BM_Decode<EncodeUlaw, DecodeUlaw>)->Name("DecodeUlaw/160");
BENCHMARK(BM_Encode<EncodeAlaw>)->Name("EncodeAlaw/160");
BENCHMARK(BM_Decode<EncodeAlaw, DecodeAlaw>)->Name("DecodeAlaw/160");

}  // namespace
}  // namespace earshot

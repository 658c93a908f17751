// Opus encode and decode of one 20 ms frame, per internal rate and encoder
// complexity (32 kbit/s, VOIP, FEC on at 5% expected loss, as OpusOptions'
// defaults), and the Speex resampler per 20 ms tick: the per-leg costs of an
// Opus leg and of a leg whose codec rate differs from its session's.
//
// Budget on the project machine (2 cores, no -march flags), per 20 ms:
// - Opus encode at the default complexity 5: <= 160 µs at any rate. An Opus
//   leg encodes once per distinct output per tick, so a core (20,000 µs per
//   tick) encodes at most ~130 such outputs: Opus calls are sized in encodes,
//   not in mixing.
// - Opus decode: <= 30 µs at any rate (ENVIRONMENT.md measured 7-30).
// - Resampler at quality 4, any pair of 8/16/48 kHz: <= 15 µs per tick
//   (ENVIRONMENT.md: ~9 µs for 8 -> 48).
//
// Measured when written (2.6 GHz, g++ 12, RelWithDebInfo, CPU time, shared
// machine), µs per 20 ms frame:
//   encode  complexity   0    3    5    8   10
//           8 kHz       41   68   84  155  156
//           16 kHz      48  120  151  315  315
//           48 kHz      65  110  139  338  339
//   decode  8 kHz 5, 16 kHz 9-10, 48 kHz 22-29 (complexity is the encoder's)
//   resample per tick: 8->48 8.4, 48->8 11.4, 16->48 8.9, 48->16 10.0,
//   8->16 3.0, 16->8 3.4
// Complexity 8 and 10 cost the same here: the extra analysis of 9-10 is not
// used by the VOIP application at 32 kbit/s.

// Input: ten harmonics of a pitch gliding between 110 and 230 Hz under a
// syllable envelope (speech-like, so SILK's voice detector keeps coding FEC),
// 50 frames cycled.

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "codecs/opus.h"
#include "codecs/resampler.h"

namespace earshot {
namespace {

constexpr int kFrames = 50;

std::vector<int16_t> SpeechLike(int rate_hz, size_t samples) {
  std::vector<int16_t> out(samples);
  double phase = 0.0;
  for (size_t i = 0; i < samples; ++i) {
    const double t = static_cast<double>(i) / rate_hz;
    const double pitch = 170.0 + 60.0 * std::sin(2 * std::numbers::pi * 1.3 * t);
    phase += 2 * std::numbers::pi * pitch / rate_hz;
    double value = 0.0;
    for (int h = 1; h <= 10 && pitch * h < rate_hz / 2.0; ++h) value += std::sin(h * phase) / h;
    const double envelope = 0.3 + 0.7 * std::abs(std::sin(2 * std::numbers::pi * 2.0 * t));
    out[i] = static_cast<int16_t>(std::lround(6000.0 * envelope * value));
  }
  return out;
}

OpusOptions Options(const benchmark::State& state) {
  OpusOptions options;
  options.sample_rate_hz = static_cast<int>(state.range(0));
  options.complexity = static_cast<int>(state.range(1));
  return options;
}

void BM_OpusEncode(benchmark::State& state) {
  const OpusOptions options = Options(state);
  OpusAudioEncoder encoder = std::move(*OpusAudioEncoder::Create(options));
  const size_t frame = static_cast<size_t>(options.sample_rate_hz / 50);
  const std::vector<int16_t> pcm = SpeechLike(options.sample_rate_hz, frame * kFrames);
  std::vector<uint8_t> out(encoder.MaxEncodedBytes(frame));
  size_t index = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    auto written = encoder.Encode(std::span<const int16_t>(pcm).subspan(index * frame, frame), out);
    bytes += written.value_or(0);
    benchmark::DoNotOptimize(out.data());
    index = (index + 1) % kFrames;
  }
  state.counters["bytes_per_frame"] =
      static_cast<double>(bytes) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}

void BM_OpusDecode(benchmark::State& state) {
  const OpusOptions options = Options(state);
  OpusAudioEncoder encoder = std::move(*OpusAudioEncoder::Create(options));
  OpusAudioDecoder decoder = std::move(*OpusAudioDecoder::Create(options.sample_rate_hz));
  const size_t frame = static_cast<size_t>(options.sample_rate_hz / 50);
  const std::vector<int16_t> pcm = SpeechLike(options.sample_rate_hz, frame * kFrames);
  std::vector<std::vector<uint8_t>> packets;
  std::vector<uint8_t> buffer(encoder.MaxEncodedBytes(frame));
  for (int i = 0; i < kFrames; ++i) {
    const size_t written =
        *encoder.Encode(std::span<const int16_t>(pcm).subspan(static_cast<size_t>(i) * frame, frame),
                        buffer);
    packets.emplace_back(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(written));
  }
  std::vector<int16_t> out(frame);
  size_t index = 0;
  for (auto _ : state) {
    auto samples = decoder.Decode(packets[index], out);
    benchmark::DoNotOptimize(samples);
    benchmark::DoNotOptimize(out.data());
    index = (index + 1) % packets.size();
  }
  state.SetItemsProcessed(state.iterations());
}

void OpusArguments(benchmark::internal::Benchmark* bench) {
  bench->ArgNames({"rate", "complexity"});
  for (int rate : {8000, 16000, 48000}) {
    for (int complexity : {0, 3, 5, 8, 10}) bench->Args({rate, complexity});
  }
}

BENCHMARK(BM_OpusEncode)->Apply(OpusArguments);
BENCHMARK(BM_OpusDecode)->Apply(OpusArguments);

// One 20 ms tick through the resampler, as LegMedia does per direction.
void BM_Resample(benchmark::State& state) {
  const int in_rate = static_cast<int>(state.range(0));
  const int out_rate = static_cast<int>(state.range(1));
  Resampler resampler = std::move(*Resampler::Create(in_rate, out_rate));
  const size_t tick = static_cast<size_t>(in_rate / 50);
  const std::vector<int16_t> pcm = SpeechLike(in_rate, tick * kFrames);
  std::vector<int16_t> out(resampler.MaxOutputSamples(tick));
  size_t index = 0;
  for (auto _ : state) {
    const size_t written =
        resampler.Process(std::span<const int16_t>(pcm).subspan(index * tick, tick), out);
    benchmark::DoNotOptimize(written);
    benchmark::DoNotOptimize(out.data());
    index = (index + 1) % kFrames;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Resample)
    ->ArgNames({"in", "out"})
    ->Args({8000, 48000})
    ->Args({48000, 8000})
    ->Args({16000, 48000})
    ->Args({48000, 16000})
    ->Args({8000, 16000})
    ->Args({16000, 8000});

}  // namespace
}  // namespace earshot

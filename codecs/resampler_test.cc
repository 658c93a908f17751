#include "codecs/resampler.h"
#include "tests/support/aligned_snr.h"

#include <cmath>
#include <cstdio>
#include <numbers>
#include <vector>

#include <gtest/gtest.h>

namespace earshot {
namespace {

std::vector<int16_t> Tone(double frequency_hz, int rate_hz, size_t samples, double amplitude) {
  std::vector<int16_t> out(samples);
  for (size_t i = 0; i < samples; ++i) {
    out[i] = static_cast<int16_t>(std::lround(
        amplitude * std::sin(2 * std::numbers::pi * frequency_hz * static_cast<double>(i) / rate_hz)));
  }
  return out;
}

// Resamples `in` tick by tick, as a leg does.
std::vector<int16_t> ResampleInTicks(Resampler& resampler, const std::vector<int16_t>& in,
                                     size_t tick) {
  std::vector<int16_t> out;
  std::vector<int16_t> buffer(resampler.MaxOutputSamples(tick));
  for (size_t at = 0; at + tick <= in.size(); at += tick) {
    const size_t written =
        resampler.Process(std::span<const int16_t>(in).subspan(at, tick), buffer);
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(written));
  }
  return out;
}

using earshot::testing::AlignedSnr;
using earshot::testing::Alignment;

TEST(ResamplerTest, RefusesBadRatesAndQuality) {
  struct Case {
    int in, out, quality;
    const char* mentions;
  };
  const Case cases[] = {
      {4000, 8000, 4, "4000 Hz"},     {8000, 400000, 4, "400000 Hz"}, {0, 48000, 4, "0 Hz"},
      {16000, 16000, 4, "equal"},     {8000, 48000, -1, "quality -1"},
      {8000, 48000, 11, "quality 11"},
  };
  for (const Case& c : cases) {
    auto resampler = Resampler::Create(c.in, c.out, c.quality);
    ASSERT_FALSE(resampler.has_value()) << c.in << "->" << c.out << " q" << c.quality;
    EXPECT_EQ(resampler.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(resampler.error().message.find(c.mentions), std::string::npos)
        << resampler.error().message;
  }
  EXPECT_TRUE(Resampler::Create(8000, 48000, 0).has_value());
  EXPECT_TRUE(Resampler::Create(48000, 8000, 10).has_value());
  EXPECT_TRUE(Resampler::Create(44100, 48000).has_value());
}

struct RoundTrip {
  int outer_hz;
  int inner_hz;
};

class ResamplerRoundTripTest : public ::testing::TestWithParam<RoundTrip> {};

// A 1 kHz tone at -6 dBFS through outer -> inner -> outer, 20 ms ticks, comes
// back as itself, delayed by the two filters.
TEST_P(ResamplerRoundTripTest, KeepsToneAboveThirtyDbSnr) {
  const RoundTrip trip = GetParam();
  auto there = Resampler::Create(trip.outer_hz, trip.inner_hz);
  auto back = Resampler::Create(trip.inner_hz, trip.outer_hz);
  ASSERT_TRUE(there.has_value() && back.has_value());
  const size_t outer_tick = static_cast<size_t>(trip.outer_hz / 50);
  const size_t inner_tick = static_cast<size_t>(trip.inner_hz / 50);
  const std::vector<int16_t> input = Tone(1000.0, trip.outer_hz, outer_tick * 50, 16384.0);
  const std::vector<int16_t> inner = ResampleInTicks(*there, input, outer_tick);
  const std::vector<int16_t> output = ResampleInTicks(*back, inner, inner_tick);
  ASSERT_EQ(output.size(), input.size());

  // The delays the filters report, in outer-rate samples.
  const int expected_lag = there->DelayOutputSamples() * trip.outer_hz / trip.inner_hz +
                           back->DelayOutputSamples();
  const int period = trip.outer_hz / 1000;
  const Alignment aligned = AlignedSnr(input, output, expected_lag - period / 2 + 1,
                                       expected_lag + period / 2,
                                       static_cast<size_t>(trip.outer_hz / 10));
  std::printf("[ measured ] %d -> %d -> %d Hz, quality %d: SNR %.1f dB at lag %d (reported %d)\n",
              trip.outer_hz, trip.inner_hz, trip.outer_hz, there->quality(), aligned.snr_db,
              aligned.lag, expected_lag);
  EXPECT_GE(aligned.snr_db, 30.0);
}

INSTANTIATE_TEST_SUITE_P(Rates, ResamplerRoundTripTest,
                         ::testing::Values(RoundTrip{8000, 48000}, RoundTrip{16000, 48000},
                                           RoundTrip{48000, 16000}, RoundTrip{48000, 8000}),
                         [](const auto& param_info) {
                           return std::to_string(param_info.param.outer_hz) + "_via_" +
                                  std::to_string(param_info.param.inner_hz);
                         });

// Every 20 ms tick gives exactly one tick at the other rate, from the first
// call and over a long run (no drift), in both directions for every pair of
// session and codec rates.
TEST(ResamplerTest, OutputLengthIsExactEveryTick) {
  const int rates[] = {8000, 16000, 48000};
  for (int in_rate : rates) {
    for (int out_rate : rates) {
      if (in_rate == out_rate) continue;
      auto resampler = Resampler::Create(in_rate, out_rate);
      ASSERT_TRUE(resampler.has_value());
      const size_t in_tick = static_cast<size_t>(in_rate / 50);
      const size_t out_tick = static_cast<size_t>(out_rate / 50);
      const std::vector<int16_t> input = Tone(440.0, in_rate, in_tick, 8000.0);
      std::vector<int16_t> output(resampler->MaxOutputSamples(in_tick));
      size_t total = 0;
      for (int tick = 0; tick < 3000; ++tick) {  // one minute
        const size_t written = resampler->Process(input, output);
        ASSERT_EQ(written, out_tick) << in_rate << "->" << out_rate << " tick " << tick;
        total += written;
      }
      EXPECT_EQ(total, out_tick * 3000);
    }
  }
}

// A ratio that is not a whole number (44.1 kHz in calls of 1000 samples to
// 16 kHz: 362.8 per call) varies by one sample per call and is exact on
// average: 441 calls give exactly 160,000 samples.
TEST(ResamplerTest, FractionalRatioDoesNotDrift) {
  auto resampler = Resampler::Create(44100, 16000);
  ASSERT_TRUE(resampler.has_value());
  const std::vector<int16_t> input = Tone(440.0, 44100, 1000, 8000.0);
  std::vector<int16_t> output(resampler->MaxOutputSamples(input.size()));
  size_t total = 0;
  for (int call = 0; call < 441; ++call) {
    const size_t written = resampler->Process(input, output);
    ASSERT_GE(written, 362u);
    ASSERT_LE(written, 363u);
    total += written;
  }
  EXPECT_EQ(total, 160000u);
}

// Level of `frequency_hz` in x[from, from + n) in dBFS (peak re 32767), by Goertzel.
double LevelDbfs(const std::vector<int16_t>& x, size_t from, size_t n, double frequency_hz,
                 int rate_hz) {
  const double coefficient = 2.0 * std::cos(2.0 * std::numbers::pi * frequency_hz / rate_hz);
  double s1 = 0.0;
  double s2 = 0.0;
  for (size_t i = from; i < from + n; ++i) {
    const double s0 = x[i] + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double power = std::max(s1 * s1 + s2 * s2 - coefficient * s1 * s2, 1e-9);
  return 20.0 * std::log10(std::sqrt(power) * 2.0 / static_cast<double>(n) / 32767.0);
}

// What the default quality is for: the telephone band passes flat, and
// neither images (upsampling) nor aliases (downsampling) are heard.
TEST(ResamplerTest, DefaultQualityKeepsTheTelephoneBandClean) {
  auto up = Resampler::Create(8000, 48000);
  auto down = Resampler::Create(48000, 8000);
  auto down_again = Resampler::Create(48000, 8000);
  ASSERT_TRUE(up.has_value() && down.has_value() && down_again.has_value());
  // -6 dBFS tones; one second measured after 200 ms.
  const std::vector<int16_t> upsampled = ResampleInTicks(*up, Tone(1000.0, 8000, 9600, 16384.0), 160);
  EXPECT_NEAR(LevelDbfs(upsampled, 9600, 48000, 1000.0, 48000), -6.0, 0.1);
  EXPECT_LT(LevelDbfs(upsampled, 9600, 48000, 7000.0, 48000), -90.0);  // the image at 8k - 1k
  EXPECT_LT(LevelDbfs(upsampled, 9600, 48000, 9000.0, 48000), -90.0);  // and at 8k + 1k
  const std::vector<int16_t> band_edge =
      ResampleInTicks(*down, Tone(3400.0, 48000, 57600, 16384.0), 960);
  EXPECT_NEAR(LevelDbfs(band_edge, 1600, 8000, 3400.0, 8000), -6.0, 0.1);
  const std::vector<int16_t> aliased =
      ResampleInTicks(*down_again, Tone(7000.0, 48000, 57600, 16384.0), 960);
  EXPECT_LT(LevelDbfs(aliased, 1600, 8000, 1000.0, 8000), -90.0);  // 7 kHz folds to 1 kHz
}

TEST(ResamplerTest, ResetForgetsHistory) {
  auto resampler = Resampler::Create(8000, 48000);
  ASSERT_TRUE(resampler.has_value());
  const std::vector<int16_t> input = Tone(1000.0, 8000, 160, 16000.0);
  std::vector<int16_t> first(resampler->MaxOutputSamples(160));
  std::vector<int16_t> again(first.size());
  const size_t n = resampler->Process(input, first);
  (void)resampler->Process(input, again);
  resampler->Reset();
  ASSERT_EQ(resampler->Process(input, again), n);
  EXPECT_TRUE(std::equal(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(n),
                         again.begin()));
}

}  // namespace
}  // namespace earshot

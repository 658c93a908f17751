#include "mixer/soft_limiter.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace earshot::mixer {
namespace {

// The limiter's rounding written out one sample at a time: half away from
// zero, computed as x + 0.5 or x - 0.5 in float and then truncated.
int16_t ReferenceRound(float sample) {
  return static_cast<int16_t>(static_cast<int32_t>(sample + (sample >= 0.0f ? 0.5f : -0.5f)));
}

// A quiet frame (nothing above the threshold, gain at 1) takes the vector fast
// path; it must round every sample exactly as the scalar code does, for every
// frame length (vector blocks plus a scalar tail).
TEST(SoftLimiterTest, QuietFramesRoundLikeTheScalarCode) {
  std::vector<float> values;
  for (int i = -29205; i <= 29205; i += 7) {
    const auto base = static_cast<float>(i);
    for (float offset : {0.0f, 0.25f, 0.5f, -0.5f, 0.49999997f, -0.49999997f, 0.75f}) {
      const float value = base + offset;
      if (std::fabs(value) <= SoftLimiter::kThreshold) values.push_back(value);
    }
  }
  values.insert(values.end(), {0.0f, -0.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 29204.5f, -29204.5f,
                               SoftLimiter::kThreshold, -SoftLimiter::kThreshold});
  for (size_t length : {size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{160}, size_t{163}}) {
    for (size_t start = 0; start + length <= values.size(); start += length * 37 + 1) {
      SoftLimiter limiter;
      std::vector<float> frame(values.begin() + static_cast<std::ptrdiff_t>(start),
                               values.begin() + static_cast<std::ptrdiff_t>(start + length));
      std::vector<int16_t> out(length, 12345);
      limiter.Process(frame, out);
      ASSERT_EQ(limiter.gain(), 1.0f);
      for (size_t i = 0; i < length; ++i) {
        ASSERT_EQ(out[i], ReferenceRound(frame[i])) << "sample " << frame[i];
      }
    }
  }
}

TEST(SoftLimiterTest, LoudFrameStaysBelowFullScaleAndLowersTheGain) {
  SoftLimiter limiter;
  std::vector<float> frame(160);
  for (size_t i = 0; i < frame.size(); ++i) {
    frame[i] = 60000.0f * std::sin(2.0f * 3.14159265f * 400.0f * static_cast<float>(i) / 8000.0f);
  }
  std::vector<int16_t> out(frame.size());
  limiter.Process(frame, out);
  EXPECT_LT(limiter.gain(), 1.0f);
  for (size_t i = 0; i < frame.size(); ++i) {
    EXPECT_LE(std::abs(int{out[i]}), 32767);
    // The same sign as the input: no wrap-around.
    if (std::fabs(frame[i]) > 1.0f) {
      EXPECT_EQ(out[i] > 0, frame[i] > 0.0f);
    }
  }
}

TEST(SoftLimiterTest, GainRecoversTowardOneAfterALoudFrame) {
  SoftLimiter limiter(80);
  std::vector<float> loud(160, 40000.0f);
  std::vector<int16_t> out(160);
  limiter.Process(loud, out);
  const float limited = limiter.gain();
  EXPECT_LT(limited, 1.0f);
  std::vector<float> quiet(160, 1000.0f);
  for (int i = 0; i < 20; ++i) limiter.Process(quiet, out);
  EXPECT_GT(limiter.gain(), limited);
  EXPECT_EQ(limiter.gain(), 1.0f);
  // Back on the fast path: exact rounding again.
  EXPECT_EQ(out[0], 1000);
}

}  // namespace
}  // namespace earshot::mixer

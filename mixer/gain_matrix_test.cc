#include "mixer/gain_matrix.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace earshot::mixer {
namespace {

TEST(GainMatrixTest, StartsSilent) {
  GainMatrix matrix(3);
  for (int dst = 0; dst < 3; ++dst) {
    for (int src = 0; src < 3; ++src) EXPECT_FALSE(matrix.Hears(dst, src));
  }
  EXPECT_TRUE(ValidateMatrix(matrix, 3).has_value());
}

TEST(GainMatrixTest, RowIsWhatOneListenerHears) {
  GainMatrix matrix(3);
  matrix.set_gain(1, 0, 0.5f);
  matrix.set_gain(1, 2, 2.0f);
  std::span<const float> row = matrix.row(1);
  ASSERT_EQ(row.size(), 3u);
  EXPECT_EQ(row[0], 0.5f);
  EXPECT_EQ(row[1], 0.0f);
  EXPECT_EQ(row[2], 2.0f);
}

struct BadGain {
  int dst;
  int src;
  float gain;
  MatrixError::Kind kind;
};

class ValidateMatrixRejects : public ::testing::TestWithParam<BadGain> {};

TEST_P(ValidateMatrixRejects, WithTheOffendingCell) {
  const BadGain& bad = GetParam();
  GainMatrix matrix(4);
  matrix.set_gain(bad.dst, bad.src, bad.gain);
  auto valid = ValidateMatrix(matrix, 4);
  ASSERT_FALSE(valid.has_value());
  EXPECT_EQ(valid.error().kind, bad.kind);
  EXPECT_EQ(valid.error().dst, bad.dst);
  EXPECT_EQ(valid.error().src, bad.src);
  EXPECT_NE(valid.error().message.find("gain[" + std::to_string(bad.dst) + "][" +
                                       std::to_string(bad.src) + "]"),
            std::string::npos)
      << valid.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Cells, ValidateMatrixRejects,
    ::testing::Values(BadGain{2, 2, 1.0f, MatrixError::Kind::kSelfGain},
                      BadGain{0, 3, 4.01f, MatrixError::Kind::kOutOfRange},
                      BadGain{3, 0, -0.5f, MatrixError::Kind::kOutOfRange},
                      BadGain{1, 2, std::numeric_limits<float>::quiet_NaN(),
                              MatrixError::Kind::kNotFinite},
                      BadGain{1, 0, std::numeric_limits<float>::infinity(),
                              MatrixError::Kind::kNotFinite}));

TEST(GainMatrixTest, ValidateRejectsWrongSize) {
  auto valid = ValidateMatrix(GainMatrix(3), 4);
  ASSERT_FALSE(valid.has_value());
  EXPECT_EQ(valid.error().kind, MatrixError::Kind::kWrongSize);
}

TEST(GainMatrixTest, AcceptsTheWholeRange) {
  GainMatrix matrix(2);
  matrix.set_gain(0, 1, kMaxGain);
  matrix.set_gain(1, 0, 0.0f);
  EXPECT_TRUE(ValidateMatrix(matrix, 2).has_value());
}

TEST(GainMatrixTest, AssignCopiesEveryGain) {
  GainMatrix source(3);
  source.set_gain(0, 2, 0.25f);
  GainMatrix target(3);
  target.Assign(source);
  EXPECT_EQ(target, source);
}

}  // namespace
}  // namespace earshot::mixer

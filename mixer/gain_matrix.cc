#include "mixer/gain_matrix.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "codecs/check.h"

namespace earshot::mixer {

GainMatrix::GainMatrix(int size)
    : size_(size), gains_(static_cast<size_t>(size) * static_cast<size_t>(size), 0.0f) {
  EARSHOT_CHECK(size >= 0);
}

void GainMatrix::Assign(const GainMatrix& other) {
  EARSHOT_CHECK(other.size_ == size_);
  std::copy(other.gains_.begin(), other.gains_.end(), gains_.begin());
}

tl::expected<void, MatrixError> ValidateMatrix(const GainMatrix& matrix, int expected_size) {
  if (matrix.size() != expected_size) {
    return tl::unexpected(MatrixError{
        MatrixError::Kind::kWrongSize, -1, -1,
        fmt::format("matrix is {0}x{0}, the session has {1} leg slots", matrix.size(),
                    expected_size)});
  }
  for (int dst = 0; dst < matrix.size(); ++dst) {
    for (int src = 0; src < matrix.size(); ++src) {
      float gain = matrix.gain(dst, src);
      if (!std::isfinite(gain)) {
        return tl::unexpected(MatrixError{MatrixError::Kind::kNotFinite, dst, src,
                                          fmt::format("gain[{}][{}] is not finite", dst, src)});
      }
      if (gain < 0.0f || gain > kMaxGain) {
        return tl::unexpected(
            MatrixError{MatrixError::Kind::kOutOfRange, dst, src,
                        fmt::format("gain[{}][{}] = {} is outside 0..{}", dst, src, gain, kMaxGain)});
      }
      if (dst == src && gain != 0.0f) {
        return tl::unexpected(MatrixError{
            MatrixError::Kind::kSelfGain, dst, src,
            fmt::format("gain[{0}][{0}] = {1}: nobody may hear themselves", dst, gain)});
      }
    }
  }
  return {};
}

}  // namespace earshot::mixer

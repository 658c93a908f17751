#pragma once
// Who hears whom, at what gain: out[dst] = sum over src of gain[dst][src] * in[src].
//
// A GainMatrix is a square value type indexed by leg slot. The diagonal is
// always zero (nobody hears themselves); gains are finite and within
// [0, kMaxGain]. Matrices are built and validated on the control path; a session
// copies them into storage it allocated when it was created, so applying one
// allocates nothing.

#include <span>
#include <string>
#include <vector>

#include <tl/expected.hpp>

namespace earshot::mixer {

inline constexpr float kMaxGain = 4.0f;

class GainMatrix {
 public:
  // A size x size matrix of zeros: nobody hears anybody.
  explicit GainMatrix(int size);

  int size() const { return size_; }
  float gain(int dst, int src) const { return gains_[Index(dst, src)]; }
  void set_gain(int dst, int src, float gain) { gains_[Index(dst, src)] = gain; }
  // What `dst` hears from every source.
  std::span<const float> row(int dst) const {
    return std::span<const float>(gains_).subspan(Index(dst, 0), static_cast<size_t>(size_));
  }
  // Whether `dst` hears `src` at all.
  bool Hears(int dst, int src) const { return gain(dst, src) > 0.0f; }

  // Copies `other` into this matrix's storage without allocating; sizes must match.
  void Assign(const GainMatrix& other);

  friend bool operator==(const GainMatrix&, const GainMatrix&) = default;

 private:
  size_t Index(int dst, int src) const {
    return static_cast<size_t>(dst) * static_cast<size_t>(size_) + static_cast<size_t>(src);
  }

  int size_;
  std::vector<float> gains_;
};

struct MatrixError {
  enum class Kind { kWrongSize, kSelfGain, kNotFinite, kOutOfRange };
  Kind kind;
  int dst = -1;
  int src = -1;
  // "gain[2][0] = 5 is outside 0..4", for the API's error message.
  std::string message;
};

// Checks size, the zero diagonal, and that every gain is finite and in range.
[[nodiscard]] tl::expected<void, MatrixError> ValidateMatrix(const GainMatrix& matrix,
                                                             int expected_size);

}  // namespace earshot::mixer

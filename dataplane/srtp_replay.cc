#include "dataplane/srtp_replay.h"

#include <bit>
#include <cstring>

namespace earshot::dataplane {
namespace {

constexpr uint32_t kSeqMedian = 1u << 15;
constexpr uint64_t kIndexMask = (uint64_t{1} << 48) - 1;

}  // namespace

uint64_t EstimateSrtpIndex(uint64_t highest, uint16_t seq) {
  if (highest <= kSeqMedian) return seq;  // ROC 0, and never ROC -1
  const uint64_t roc = highest >> 16;
  const uint32_t local_seq = static_cast<uint16_t>(highest);
  uint64_t guess_roc = roc;
  if (local_seq < kSeqMedian) {
    if (seq > local_seq + kSeqMedian) guess_roc = roc - 1;  // roc >= 1 here
  } else if (seq < local_seq - kSeqMedian) {
    guess_roc = roc + 1;
  }
  return ((guess_roc << 16) | seq) & kIndexMask;
}

bool ReplayWindow::Init(int size) {
  if (size < 1 || size > kMaxSize) return false;
  const size_t capacity = std::bit_ceil(static_cast<size_t>(size) < 64 ? size_t{64}
                                                                       : static_cast<size_t>(size));
  words_ = capacity / 64;
  mask_ = capacity - 1;
  bits_ = std::make_unique<uint64_t[]>(words_);  // zeroed
  size_ = size;
  highest_ = 0;
  started_ = false;
  return true;
}

bool ReplayWindow::TestBit(uint64_t index) const {
  const uint64_t bit = index & mask_;
  return (bits_[bit >> 6] >> (bit & 63)) & 1u;
}

void ReplayWindow::SetBit(uint64_t index) {
  const uint64_t bit = index & mask_;
  bits_[bit >> 6] |= uint64_t{1} << (bit & 63);
}

void ReplayWindow::ClearRange(uint64_t first, uint64_t last) {
  uint64_t from = first & mask_;
  uint64_t count = last - first + 1;
  while (count > 0) {
    const uint64_t offset = from & 63;
    const uint64_t in_word = count < 64 - offset ? count : 64 - offset;
    const uint64_t ones = in_word == 64 ? ~uint64_t{0} : ((uint64_t{1} << in_word) - 1) << offset;
    bits_[from >> 6] &= ~ones;
    count -= in_word;
    from = (from + in_word) & mask_;
  }
}

ReplayVerdict ReplayWindow::Check(uint64_t index) const {
  if (!started_ || index > highest_) return ReplayVerdict::kFresh;
  if (highest_ - index >= static_cast<uint64_t>(size_)) return ReplayVerdict::kTooOld;
  return TestBit(index) ? ReplayVerdict::kReplayed : ReplayVerdict::kFresh;
}

void ReplayWindow::Accept(uint64_t index) {
  if (!started_) {
    std::memset(bits_.get(), 0, words_ * sizeof(uint64_t));
    started_ = true;
    highest_ = index;
  } else if (index > highest_) {
    const uint64_t capacity = mask_ + 1;
    if (index - highest_ >= capacity) {
      std::memset(bits_.get(), 0, words_ * sizeof(uint64_t));
    } else {
      ClearRange(highest_ + 1, index);
    }
    highest_ = index;
  }
  SetBit(index);
}

void ReplayWindow::ClearBits() {
  if (bits_ != nullptr) std::memset(bits_.get(), 0, words_ * sizeof(uint64_t));
}

}  // namespace earshot::dataplane

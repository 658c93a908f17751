#pragma once
// A fixed-bucket histogram of durations: 10 us buckets up to 2 s, the exact
// maximum kept beside them. Recording is an increment (the send path records
// every packet's lateness); percentiles walk the buckets.

#include <algorithm>
#include <cstdint>
#include <vector>

namespace earshot::load {

class DurationHistogram {
 public:
  static constexpr int64_t kBucketNs = 10'000;
  static constexpr size_t kBuckets = 200'000;  // 2 s

  DurationHistogram() : buckets_(kBuckets + 1, 0) {}

  void Record(int64_t ns) {
    if (ns < 0) ns = 0;
    const auto bucket = std::min(static_cast<size_t>(ns / kBucketNs), kBuckets);
    ++buckets_[bucket];
    ++count_;
    max_ns_ = std::max(max_ns_, ns);
  }
  void Merge(const DurationHistogram& other) {
    for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
    count_ += other.count_;
    max_ns_ = std::max(max_ns_, other.max_ns_);
  }
  void Clear() {
    std::fill(buckets_.begin(), buckets_.end(), 0);
    count_ = 0;
    max_ns_ = 0;
  }

  int64_t count() const { return count_; }
  int64_t max_ns() const { return max_ns_; }
  // The upper edge of the bucket holding quantile `q` (0..1), capped at the
  // maximum; 0 when empty.
  int64_t PercentileNs(double q) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<int64_t>(q * static_cast<double>(count_ - 1)) + 1;
    int64_t seen = 0;
    for (size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen >= rank) return std::min(static_cast<int64_t>(i + 1) * kBucketNs, max_ns_);
    }
    return max_ns_;
  }

 private:
  std::vector<int64_t> buckets_;
  int64_t count_ = 0;
  int64_t max_ns_ = 0;
};

}  // namespace earshot::load

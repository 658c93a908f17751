#include "codecs/g711_plc.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

namespace earshot {
namespace {

constexpr size_t kMinPitch = G711Plc::kMinPitchSamples;
constexpr size_t kMaxPitch = G711Plc::kMaxPitchSamples;
// The shortest stretch worth correlating: with less history than this plus one
// minimum period there is no search, only repetition.
constexpr size_t kMinCorrelationSamples = kMinPitch;
// Merge length grows by 1 ms per 10 ms of loss up to kMaxMergeSamples, so
// counting further than this changes nothing.
constexpr size_t kSynthesisedCap =
    G711Plc::kMaxMergeSamples / G711Plc::kSamplesPerMs * G711Plc::kStepSamples;

static_assert(G711Plc::kHistorySamples == 390);
static_assert(kMaxPitch + G711Plc::kCorrelationSamples <= G711Plc::kHistorySamples);
// The merge can always take the full quarter period.
static_assert(kMaxPitch / 4 <= G711Plc::kMaxMergeSamples);

// The search's dot products run on float lanes through GCC/Clang vector
// extensions, as g711.cc's encoder does: SSE2 on x86-64 and NEON on Arm with
// no -march flag. Exact sums of int16 products need int64 lanes, which
// neither has for multiply-accumulate; float rounds to 24 bits (a relative
// error near 1e-7 per step), far too little to move a peak that matters. The
// order of the additions is fixed, so the same history always gives the same
// period.
//
// Four lanes, the width SSE2 and NEON have: wider vectors would be split and
// spilled to the stack on every iteration. Two accumulators per sum keep two
// additions in flight.
constexpr size_t kLanes = 4;
typedef float Float32x4 __attribute__((vector_size(kLanes * sizeof(float))));

struct Products {
  float correlation;  // sum recent[i] * past[i]
  float energy;       // sum past[i]^2
};

inline Float32x4 Load(const float* p) {
  // memcpy, not a cast: the windows are not aligned for the vector type.
  Float32x4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline float Sum(Float32x4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }

Products CorrelationAndEnergy(const float* recent, const float* past, size_t count) {
  Float32x4 correlation0{};
  Float32x4 correlation1{};
  Float32x4 energy0{};
  Float32x4 energy1{};
  size_t i = 0;
  for (; i + 2 * kLanes <= count; i += 2 * kLanes) {
    const Float32x4 r0 = Load(recent + i);
    const Float32x4 r1 = Load(recent + i + kLanes);
    const Float32x4 p0 = Load(past + i);
    const Float32x4 p1 = Load(past + i + kLanes);
    correlation0 += r0 * p0;
    correlation1 += r1 * p1;
    energy0 += p0 * p0;
    energy1 += p1 * p1;
  }
  Products sums{Sum(correlation0 + correlation1), Sum(energy0 + energy1)};
  for (; i < count; ++i) {
    sums.correlation += recent[i] * past[i];
    sums.energy += past[i] * past[i];
  }
  return sums;
}

// Keeps the lag with the highest normalised cross-correlation, corr /
// sqrt(energy). It compares corr * |corr| / energy (the square, with corr's
// sign so that anti-correlated lags lose) cross-multiplied: no root and no
// division. A silent past window never wins; with no winner, the first lag.
class BestLag {
 public:
  explicit BestLag(size_t first) : lag_(first) {}

  void Offer(size_t lag, const Products& sums) {
    if (!(sums.energy > 0.0f)) return;
    const double signed_square = static_cast<double>(sums.correlation) * std::abs(sums.correlation);
    // Strictly greater: ties keep the shorter lag, offered first.
    if (energy_ == 0.0 || signed_square * energy_ > signed_square_ * sums.energy) {
      lag_ = lag;
      signed_square_ = signed_square;
      energy_ = sums.energy;
    }
  }

  size_t lag() const { return lag_; }

 private:
  size_t lag_;
  double signed_square_ = 0.0;
  double energy_ = 0.0;  // 0 until a lag is taken.
};

// The pitch period of `x` (oldest first), in samples: 0 only if `x` has under
// two samples. Compares the last `window` samples with those `lag` earlier.
// Ties keep the shorter lag, so a pure tone repeats its shortest whole number
// of cycles of at least 5 ms.
size_t EstimatePitch(std::span<const int16_t> x) {
  const size_t n = x.size();
  // Too short to search (only a short first packet): repeat most of what there
  // is, leaving a quarter period of older samples for the loop's OLA.
  if (n < kMinPitch + kMinCorrelationSamples) return n * 4 / 5;
  const size_t max_lag = std::min(kMaxPitch, n - kMinCorrelationSamples);
  const size_t window = std::min(G711Plc::kCorrelationSamples, n - max_lag);

  // What the search reads, as floats: the window and max_lag samples before
  // it, so the window starts at index max_lag.
  constexpr size_t kSearched = kMaxPitch + G711Plc::kCorrelationSamples;
  std::array<float, kSearched> samples;
  const size_t searched = max_lag + window;
  std::copy(x.end() - static_cast<std::ptrdiff_t>(searched), x.end(), samples.begin());

  // Coarse pass: even lags on every other sample, i.e. every lag on a copy
  // decimated by two. The window starts at an index of max_lag's parity and
  // even lags keep it, so that parity's samples are the only ones read.
  std::array<float, kSearched / 2 + 1> decimated;
  const size_t parity = max_lag % 2;
  const size_t decimated_size = (searched - parity + 1) / 2;
  for (size_t j = 0; j < decimated_size; ++j) decimated[j] = samples[parity + 2 * j];
  const float* coarse_recent = decimated.data() + (max_lag - parity) / 2;
  const size_t coarse_window = (window + 1) / 2;
  BestLag coarse(kMinPitch);
  for (size_t lag = kMinPitch; lag <= max_lag; lag += 2) {
    coarse.Offer(lag, CorrelationAndEnergy(coarse_recent, coarse_recent - lag / 2, coarse_window));
  }

  // Fine pass: the coarse winner and its odd neighbours, every sample.
  const float* recent = samples.data() + max_lag;
  BestLag fine(coarse.lag());
  for (size_t lag = std::max(kMinPitch, coarse.lag() - 1);
       lag <= std::min(max_lag, coarse.lag() + 1); ++lag) {
    fine.Offer(lag, CorrelationAndEnergy(recent, recent - lag, window));
  }
  return fine.lag();
}

int16_t Saturate(int value) {
  return static_cast<int16_t>(std::clamp<int>(value, std::numeric_limits<int16_t>::min(),
                                              std::numeric_limits<int16_t>::max()));
}

}  // namespace

void G711Plc::AddGoodFrame(std::span<int16_t> pcm) {
  if (pcm.empty()) return;
  if (mode_ == Mode::kConcealing) {
    merge_length_ =
        std::min(overlap_ + kSamplesPerMs * (synthesised_ / kStepSamples), kMaxMergeSamples);
    merged_ = 0;
    mode_ = merge_length_ > 0 ? Mode::kMerging : Mode::kNormal;
  }
  if (mode_ == Mode::kMerging) {
    const size_t count = std::min(pcm.size(), merge_length_ - merged_);
    const int m = static_cast<int>(merge_length_);
    for (size_t i = 0; i < count; ++i, ++merged_) {
      // Triangular weights that never reach 0 or 1, so neither end of the
      // merge repeats a sample of the signal it leaves.
      const int j = static_cast<int>(merged_);
      const int synthetic = NextSynthetic();
      pcm[i] = static_cast<int16_t>((synthetic * (m - j) + pcm[i] * (j + 1)) / (m + 1));
    }
    if (merged_ == merge_length_) mode_ = Mode::kNormal;
  }
  Remember(pcm);
}

void G711Plc::Conceal(std::span<int16_t> out) {
  // Nothing lost, nothing to start: otherwise the next good frame would be
  // merged with a concealment nobody heard.
  if (out.empty()) return;
  if (mode_ != Mode::kConcealing && !StartConcealment()) {
    std::fill(out.begin(), out.end(), int16_t{0});
    return;
  }
  for (int16_t& sample : out) sample = NextSynthetic();
  // The history is the output, so a loss that follows a short burst of good
  // frames extends a continuous signal, not one with a hole in it.
  Remember(out);
}

void G711Plc::Reset() { *this = G711Plc(); }

bool G711Plc::StartConcealment() {
  // Frozen because the history keeps moving while the loss is concealed.
  // Laid out before the pitch is known: EstimatePitch finds none only in a
  // history of under two samples, when no concealment or merge (the readers
  // of pitch_buffer_) can be under way.
  const auto start = history_.begin() + static_cast<std::ptrdiff_t>(history_start_);
  std::copy(start, history_.end(), pitch_buffer_.begin());
  std::copy(history_.begin(), start,
            pitch_buffer_.begin() + static_cast<std::ptrdiff_t>(kHistorySamples - history_start_));
  const size_t pitch = EstimatePitch(std::span(pitch_buffer_).last(history_size_));
  if (pitch == 0) return false;
  pitch_ = pitch;
  overlap_ = pitch / 4;
  // EstimatePitch leaves at least a quarter period before one period.
  max_loop_periods_ = std::min(kMaxLoopPeriods, (history_size_ - overlap_) / pitch);
  loop_periods_ = 1;
  // One period back is the sample that follows the last one in phase.
  read_ = kHistorySamples - pitch;
  synthesised_ = 0;
  junction_offset_ =
      int{pitch_buffer_[kHistorySamples - 1]} - pitch_buffer_[kHistorySamples - 1 - pitch];
  mode_ = Mode::kConcealing;
  return true;
}

int16_t G711Plc::NextSynthetic() {
  const size_t k = synthesised_;
  synthesised_ = std::min(k + 1, kSynthesisedCap);
  if (k >= kSilentAfterSamples) return 0;

  const size_t tail_start = kHistorySamples - overlap_;
  if (read_ == tail_start) {
    // The wrap that ends this OLA comes Q samples from now; the loop it starts
    // is as long as the schedule says for then: 1 period for the first 10 ms,
    // 2 for the next, then 3.
    const size_t wanted = 1 + (k + overlap_) / kStepSamples;
    loop_periods_ = std::min(max_loop_periods_, wanted);
  }
  const size_t loop = loop_periods_ * pitch_;
  if (read_ == kHistorySamples) read_ -= loop;
  int value = pitch_buffer_[read_];
  if (read_ >= tail_start) {
    // Fade into the samples one loop earlier: the wrap continues from them.
    const int q = static_cast<int>(overlap_);
    const int i = static_cast<int>(read_ - tail_start);
    value = (value * (q - i) + pitch_buffer_[read_ - loop] * (i + 1)) / (q + 1);
  }
  ++read_;

  if (k < overlap_) {
    // The junction with the real signal (see Departure in the header).
    const int q = static_cast<int>(overlap_);
    value += junction_offset_ * (q - static_cast<int>(k)) / (q + 1);
  }
  if (k >= kStepSamples) {
    // Linear from full level at 10 ms to zero at 60 ms.
    constexpr int kFadeSamples = static_cast<int>(kSilentAfterSamples - kStepSamples);
    value = value * static_cast<int>(kSilentAfterSamples - k) / kFadeSamples;
  }
  return Saturate(value);
}

void G711Plc::Remember(std::span<const int16_t> pcm) {
  // Only the newest kHistorySamples can stay; they overwrite the oldest, in
  // at most two runs: up to the end of the ring, then from its start.
  const std::span<const int16_t> kept = pcm.last(std::min(pcm.size(), kHistorySamples));
  const size_t first = std::min(kept.size(), kHistorySamples - history_start_);
  std::copy_n(kept.begin(), first, history_.begin() + static_cast<std::ptrdiff_t>(history_start_));
  std::copy(kept.begin() + static_cast<std::ptrdiff_t>(first), kept.end(), history_.begin());
  history_start_ = (history_start_ + kept.size()) % kHistorySamples;
  history_size_ = std::min(history_size_ + pcm.size(), kHistorySamples);
}

}  // namespace earshot

#pragma once
// SNR of a codec's or resampler's output against its input, at the delay that
// fits best: for tests that measure what a conversion keeps of a signal.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace earshot::testing {

struct Alignment {
  int lag = 0;
  double snr_db = -1000.0;
};

// SNR of `actual` against `reference` delayed by the lag (min_lag..max_lag)
// that fits best, over reference samples [skip, end - max_lag): a filter's
// start from silence is skipped. A tone repeats every period, so the window
// must be narrower than one period around the expected delay, or a lag a whole
// period off looks as good.
inline Alignment AlignedSnr(const std::vector<int16_t>& reference, const std::vector<int16_t>& actual,
                            int min_lag, int max_lag, size_t skip) {
  Alignment best;
  const size_t end = std::min(reference.size(), actual.size()) - static_cast<size_t>(max_lag);
  for (int lag = std::max(0, min_lag); lag <= max_lag; ++lag) {
    double signal = 0.0;
    double noise = 0.0;
    for (size_t i = skip; i < end; ++i) {
      const double ref = reference[i];
      const double err = actual[i + static_cast<size_t>(lag)] - ref;
      signal += ref * ref;
      noise += err * err;
    }
    const double snr = 10.0 * std::log10(signal / std::max(noise, 1e-9));
    if (snr > best.snr_db) best = Alignment{lag, snr};
  }
  return best;
}

}  // namespace earshot::testing

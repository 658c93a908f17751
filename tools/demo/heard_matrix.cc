#include "tools/demo/heard_matrix.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>
#include <vector>

namespace earshot::demo {
namespace {

constexpr double kSamplesPerMs = 8.0;  // 8 kHz
constexpr int kStepSamples = 80;       // a change of delay of 10 ms or more
constexpr int kLpcOrder = 12;

double ToDb(double power_ratio) { return power_ratio > 1e-20 ? 10.0 * std::log10(power_ratio) : -200.0; }

// track[begin, end) as doubles; samples outside the track, or where `keep`
// says no, are 0.
template <typename Keep>
std::vector<double> Samples(std::span<const int16_t> track, int64_t begin, int64_t end, Keep keep) {
  std::vector<double> out(static_cast<size_t>(end - begin), 0.0);
  for (int64_t i = std::max<int64_t>(begin, 0); i < end && i < static_cast<int64_t>(track.size()); ++i) {
    if (keep(i)) out[static_cast<size_t>(i - begin)] = track[static_cast<size_t>(i)];
  }
  return out;
}

// The prediction-error filter A(z) = 1 + a1 z^-1 + ... of order kLpcOrder for
// `signal` (autocorrelation method, Levinson-Durbin), or pre-emphasis when the
// signal is silent. Filtering a sum with A(z) filters each term alike, so a
// mix keeps its gains; what changes is that the signal A(z) was made for
// comes out nearly white.
std::array<double, kLpcOrder + 1> WhiteningFilter(std::span<const double> signal) {
  std::array<double, kLpcOrder + 1> r{};
  for (int lag = 0; lag <= kLpcOrder; ++lag) {
    for (size_t i = static_cast<size_t>(lag); i < signal.size(); ++i) r[lag] += signal[i] * signal[i - lag];
  }
  std::array<double, kLpcOrder + 1> a{};
  a[0] = 1;
  if (r[0] <= 0) {
    a[1] = -0.95;
    return a;
  }
  r[0] *= 1.0001;  // a -40 dB noise floor keeps the filter stable and tame
  double error = r[0];
  for (int i = 1; i <= kLpcOrder; ++i) {
    double k = -r[i];
    for (int j = 1; j < i; ++j) k -= a[j] * r[i - j];
    k /= error;
    std::array<double, kLpcOrder + 1> previous = a;
    for (int j = 1; j < i; ++j) a[j] = previous[j] + k * previous[i - j];
    a[i] = k;
    error *= 1 - k * k;
    if (error <= 0) break;
  }
  return a;
}

// filtered[j] = sum_k a[k] * signal[history + j - k] for j in [0, size - history).
std::vector<double> Filter(const std::array<double, kLpcOrder + 1>& a, std::span<const double> signal,
                           size_t history) {
  std::vector<double> filtered(signal.size() - history);
  for (size_t j = 0; j < filtered.size(); ++j) {
    double sum = 0;
    for (size_t k = 0; k <= kLpcOrder; ++k) sum += a[k] * signal[history + j - k];
    filtered[j] = sum;
  }
  return filtered;
}

// In-place iterative radix-2 FFT; a.size() is a power of two.
void Fft(std::vector<std::complex<double>>& a, bool inverse) {
  const size_t n = a.size();
  for (size_t i = 1, j = 0; i < n; ++i) {
    size_t bit = n >> 1;
    for (; (j & bit) != 0; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (size_t length = 2; length <= n; length <<= 1) {
    const double angle = 2 * std::numbers::pi / static_cast<double>(length) * (inverse ? 1 : -1);
    const std::complex<double> step(std::cos(angle), std::sin(angle));
    for (size_t start = 0; start < n; start += length) {
      std::complex<double> w(1);
      for (size_t k = 0; k < length / 2; ++k) {
        const std::complex<double> even = a[start + k];
        const std::complex<double> odd = a[start + k + length / 2] * w;
        a[start + k] = even + odd;
        a[start + k + length / 2] = even - odd;
        w *= step;
      }
    }
  }
  if (inverse) {
    for (std::complex<double>& value : a) value /= static_cast<double>(n);
  }
}

// The spectrum of `signal` zero-padded to `size` (a power of two).
std::vector<std::complex<double>> Spectrum(const std::vector<double>& signal, size_t size) {
  std::vector<std::complex<double>> spectrum(size);
  std::copy(signal.begin(), signal.end(), spectrum.begin());
  Fft(spectrum, false);
  return spectrum;
}

// correlation[k] = sum_i y[i] * x[i + k] for k = 0..max_lag, given the
// spectrum of y padded to a power of two of at least x.size() (no wrap-around).
std::vector<double> CrossCorrelate(const std::vector<std::complex<double>>& y_spectrum, const std::vector<double>& x,
                                   int max_lag) {
  std::vector<std::complex<double>> product = Spectrum(x, y_spectrum.size());
  for (size_t i = 0; i < product.size(); ++i) product[i] *= std::conj(y_spectrum[i]);
  Fft(product, true);
  std::vector<double> correlation(static_cast<size_t>(max_lag) + 1);
  for (size_t k = 0; k < correlation.size(); ++k) correlation[k] = product[k].real();
  return correlation;
}

double Dot(std::span<const double> a, std::span<const double> b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

// Solves the 3x3 system m * g = b by Gaussian elimination with partial
// pivoting; a column with no energy gets gain 0.
std::array<double, kParties> Solve(std::array<std::array<double, kParties>, kParties> m,
                                   std::array<double, kParties> b) {
  std::array<double, kParties> g{};
  std::array<bool, kParties> used{};
  double trace = 0;
  for (int i = 0; i < kParties; ++i) trace += m[i][i];
  if (trace <= 0) return g;
  for (int i = 0; i < kParties; ++i) {
    used[i] = m[i][i] > 1e-9 * trace;
    if (!used[i]) {
      for (int j = 0; j < kParties; ++j) m[i][j] = m[j][i] = 0;
      m[i][i] = 1;
      b[i] = 0;
    }
  }
  for (int column = 0; column < kParties; ++column) {
    int pivot = column;
    for (int row = column + 1; row < kParties; ++row) {
      if (std::abs(m[row][column]) > std::abs(m[pivot][column])) pivot = row;
    }
    std::swap(m[column], m[pivot]);
    std::swap(b[column], b[pivot]);
    for (int row = column + 1; row < kParties; ++row) {
      const double factor = m[row][column] / m[column][column];
      for (int k = column; k < kParties; ++k) m[row][k] -= factor * m[column][k];
      b[row] -= factor * b[column];
    }
  }
  for (int row = kParties - 1; row >= 0; --row) {
    double sum = b[row];
    for (int k = row + 1; k < kParties; ++k) sum -= m[row][k] * g[k];
    g[row] = sum / m[row][row];
  }
  return g;  // the unknowns are in column order, which row swaps do not change
}

// One block of a listener's window, between the two passes of FitListener.
struct Block {
  int64_t begin;  // index into the window
  int64_t size;
  std::vector<double> y;                             // whitened, masked
  std::array<std::vector<double>, kParties> x;       // whitened, size + max_lag long
  std::array<int, kParties> lags;                    // each speaker's best lag
  std::array<double, kParties> correlation;          // there
  std::array<std::vector<double>, kParties> scores;  // normalised correlation by lag
  int strongest = -1;  // the speaker that correlates best, if anyone clearly does
};

// Whitens the block [begin, begin + size) of y (and the matching stretch of
// each x, max_lag longer) with y's prediction-error filter, and finds each
// speaker's best lag. y and x carry kLpcOrder samples of history (FitListener).
Block AnalyseBlock(const std::vector<double>& y, const std::array<std::vector<double>, kParties>& x,
                   const std::vector<double>& mask, int64_t begin, int64_t size, int max_lag, double significant) {
  Block block{begin, size, {}, {}, {}, {}, {}, -1};
  const auto a = WhiteningFilter(std::span<const double>(y.data() + kLpcOrder + begin, static_cast<size_t>(size)));
  block.y = Filter(a, std::span<const double>(y.data() + begin, static_cast<size_t>(size + kLpcOrder)), kLpcOrder);
  for (int64_t i = 0; i < size; ++i) block.y[static_cast<size_t>(i)] *= mask[static_cast<size_t>(begin + i)];
  const double y_energy = Dot(block.y, block.y);
  size_t fft_size = 1;
  while (fft_size < static_cast<size_t>(size + max_lag)) fft_size <<= 1;
  const std::vector<std::complex<double>> y_spectrum = Spectrum(block.y, fft_size);
  for (size_t s = 0; s < kParties; ++s) {
    block.x[s] = Filter(
        a, std::span<const double>(x[s].data() + begin, static_cast<size_t>(size + max_lag + kLpcOrder)), kLpcOrder);
    std::vector<double> energy_before(block.x[s].size() + 1, 0.0);
    for (size_t j = 0; j < block.x[s].size(); ++j) {
      energy_before[j + 1] = energy_before[j] + block.x[s][j] * block.x[s][j];
    }
    const std::vector<double> correlation = CrossCorrelate(y_spectrum, block.x[s], max_lag);
    block.lags[s] = max_lag;
    block.correlation[s] = 0;
    // A stretch of x with little energy (the edge of a pause) correlates with
    // anything over its few loud samples: normalise by no less than a quarter
    // of x's mean energy over all the delays tried.
    const double floor =
        0.25 * energy_before.back() * static_cast<double>(size) / static_cast<double>(block.x[s].size());
    block.scores[s].assign(static_cast<size_t>(max_lag) + 1, 0.0);
    for (int k = 0; k <= max_lag; ++k) {
      const double energy =
          std::max(energy_before[static_cast<size_t>(k + size)] - energy_before[static_cast<size_t>(k)], floor);
      if (energy <= 0 || y_energy <= 0) continue;
      const double score = std::abs(correlation[static_cast<size_t>(k)]) / std::sqrt(energy * y_energy);
      block.scores[s][static_cast<size_t>(k)] = score;
      if (score > block.correlation[s]) {
        block.correlation[s] = score;
        block.lags[s] = k;
      }
    }
    if (block.correlation[s] >= significant &&
        (block.strongest < 0 || block.correlation[s] > block.correlation[static_cast<size_t>(block.strongest)])) {
      block.strongest = static_cast<int>(s);
    }
  }
  return block;
}

}  // namespace

std::string_view PartyName(Party party) {
  switch (party) {
    case Party::kCustomer: return "customer";
    case Party::kAgent: return "agent";
    case Party::kSupervisor: return "supervisor";
  }
  return "?";
}

std::string_view PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kListen: return "listen";
    case Phase::kWhisper: return "whisper";
    case Phase::kBarge: return "barge";
  }
  return "?";
}

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kHeard: return "heard";
    case Verdict::kSilent: return "silent";
    case Verdict::kUnclear: return "unclear";
  }
  return "?";
}

bool ExpectedHeard(Phase phase, Party listener, Party speaker) {
  if (listener == speaker) return false;
  // The customer and the agent always hear each other; the supervisor hears both.
  if (speaker != Party::kSupervisor) return true;
  switch (phase) {
    case Phase::kListen: return false;
    case Phase::kWhisper: return listener == Party::kAgent;
    case Phase::kBarge: return true;
  }
  return false;
}

ListenerFit FitListener(std::span<const int16_t> heard, std::span<const uint8_t> covered,
                        const std::array<std::span<const int16_t>, kParties>& sent, Window window,
                        const FitOptions& options) {
  ListenerFit fit;
  const int64_t length = window.end - window.begin;
  if (length <= 0) return fit;
  const int max_lag = options.max_delay_samples;
  auto is_covered = [&](int64_t timeline) {
    if (covered.empty()) return true;
    return timeline >= 0 && timeline < static_cast<int64_t>(covered.size()) &&
           covered[static_cast<size_t>(timeline)] != 0;
  };
  auto everything = [](int64_t) { return true; };

  // y[kLpcOrder + i] is the recording at window.begin + i; x[s][kLpcOrder + j]
  // is speaker s's sent signal at window.begin - max_lag + j, so for the block
  // starting at y index b, lag k lines x[s][b + k + i] up with y[b + i]: a
  // delay of max_lag - k samples. Both carry kLpcOrder samples of history for
  // the whitening filter.
  const std::vector<double> y = Samples(heard, window.begin - kLpcOrder, window.end, is_covered);
  std::array<std::vector<double>, kParties> x;
  for (size_t s = 0; s < kParties; ++s) {
    x[s] = Samples(sent[s], window.begin - max_lag - kLpcOrder, window.end, everything);
  }
  // A sample counts when it and the filter's history were all delivered.
  std::vector<double> mask(static_cast<size_t>(length), 1.0);
  int64_t since_hole = kLpcOrder + 1;
  for (int64_t i = -kLpcOrder; i < length; ++i) {
    since_hole = is_covered(window.begin + i) ? since_hole + 1 : 0;
    if (i >= 0 && since_hole <= kLpcOrder) mask[static_cast<size_t>(i)] = 0;
  }
  double raw_energy = 0;
  double kept = 0;
  for (int64_t i = 0; i < length; ++i) {
    if (!is_covered(window.begin + i)) continue;
    raw_energy += y[static_cast<size_t>(kLpcOrder + i)] * y[static_cast<size_t>(kLpcOrder + i)];
    kept += 1;
  }
  fit.covered = kept / static_cast<double>(length);
  if (kept > 0) fit.level_dbfs = ToDb(raw_energy / kept / (32768.0 * 32768.0));

  // Pass 1, block by block: whiten, find each speaker's best delay and how
  // clearly it stands out.
  std::vector<Block> blocks;
  const int64_t block_size = std::max<int64_t>(options.block_samples, kLpcOrder + 1);
  for (int64_t b = 0; b < length; b += block_size) {
    int64_t end = std::min(length, b + block_size);
    if (length - end < block_size / 2) end = length;  // a short remainder joins the last block
    blocks.push_back(AnalyseBlock(y, x, mask, b, end - b, max_lag, options.significant_correlation));
    if (end == length) break;
  }

  // Pass 2: the mixer's delay for each block is that of its strongest speaker,
  // or where none stands out (silence, noise) that of the block before (after,
  // at the start). Every speaker is taken at the mixer's delay unless its own
  // best delay correlates clearly (significant, and twice as well as at the
  // mixer's delay): sources usually share the mixer's delay, and a quiet
  // speaker's best delay is often chance, which would put its loud speech from
  // another moment into the fit.
  int mixer_lag = max_lag;
  for (const Block& block : blocks) {
    if (block.strongest >= 0) {
      mixer_lag = block.lags[static_cast<size_t>(block.strongest)];
      break;
    }
  }
  std::array<std::array<double, kParties>, kParties> gram{};
  std::array<double, kParties> projection{};
  std::array<std::vector<std::pair<double, double>>, kParties> delays;  // (delay ms, weight) per block
  std::array<int, kParties> last_own_lag = {-1, -1, -1};
  double y_energy = 0;
  for (Block& block : blocks) {
    if (block.strongest >= 0) mixer_lag = block.lags[static_cast<size_t>(block.strongest)];
    for (size_t s = 0; s < kParties; ++s) {
      const bool own = static_cast<int>(s) == block.strongest ||
                       (block.correlation[s] >= options.significant_correlation &&
                        block.correlation[s] >= 2 * block.scores[s][static_cast<size_t>(mixer_lag)]);
      if (own) {
        if (last_own_lag[s] >= 0 && std::abs(block.lags[s] - last_own_lag[s]) >= kStepSamples) {
          ++fit.from[s].delay_steps;
        }
        last_own_lag[s] = block.lags[s];
      } else {
        block.lags[s] = mixer_lag;
      }
      const double used = block.scores[s][static_cast<size_t>(block.lags[s])];
      if (used >= options.significant_correlation) {
        delays[s].emplace_back(static_cast<double>(max_lag - block.lags[s]) / kSamplesPerMs, used * used);
      }
      // Keep only the lined-up, masked part of x: the fit's column.
      std::vector<double> column(block.x[s].begin() + block.lags[s], block.x[s].begin() + block.lags[s] + block.size);
      for (int64_t i = 0; i < block.size; ++i) {
        column[static_cast<size_t>(i)] *= mask[static_cast<size_t>(block.begin + i)];
      }
      block.x[s] = std::move(column);
    }
    y_energy += Dot(block.y, block.y);
    for (size_t i = 0; i < kParties; ++i) {
      projection[i] += Dot(block.x[i], block.y);
      for (size_t j = 0; j <= i; ++j) {
        const double dot = Dot(block.x[i], block.x[j]);
        gram[i][j] += dot;
        if (j != i) gram[j][i] += dot;
      }
    }
  }
  const std::array<double, kParties> gains = Solve(gram, projection);

  // What the fit leaves unexplained, measured on the signals as heard (not
  // whitened), so that it reads like a signal-to-noise ratio: G.711's own
  // noise after a mix is about -33 dB.
  double residual_energy = 0;
  double heard_energy = 0;
  for (const Block& block : blocks) {
    for (int64_t i = 0; i < block.size; ++i) {
      if (mask[static_cast<size_t>(block.begin + i)] == 0) continue;
      const double heard_sample = y[static_cast<size_t>(kLpcOrder + block.begin + i)];
      double r = heard_sample;
      for (size_t s = 0; s < kParties; ++s) {
        r -= gains[s] * x[s][static_cast<size_t>(kLpcOrder + block.begin + block.lags[s] + i)];
      }
      residual_energy += r * r;
      heard_energy += heard_sample * heard_sample;
    }
  }
  fit.unexplained_db = heard_energy > 0 ? ToDb(residual_energy / heard_energy) : 0;

  for (size_t s = 0; s < kParties; ++s) {
    Contribution& contribution = fit.from[s];
    contribution.gain = gains[s];
    contribution.gain_db = ToDb(gains[s] * gains[s]);
    contribution.share = y_energy > 0 ? gains[s] * gains[s] * gram[s][s] / y_energy : 0;
    contribution.verdict = contribution.gain_db > options.heard_above_db     ? Verdict::kHeard
                           : contribution.gain_db < options.silent_below_db ? Verdict::kSilent
                                                                            : Verdict::kUnclear;
    // Percentiles of the delay over the blocks where this speaker stood out,
    // weighted by how clearly.
    std::vector<std::pair<double, double>>& per_block = delays[s];
    std::sort(per_block.begin(), per_block.end());
    double total = 0;
    for (const auto& [delay, weight] : per_block) total += weight;
    auto percentile = [&](double fraction) {
      double running = 0;
      for (const auto& [delay, weight] : per_block) {
        running += weight;
        if (running >= fraction * total) return delay;
      }
      return per_block.empty() ? 0.0 : per_block.back().first;
    };
    contribution.delay_ms = percentile(0.5);
    contribution.low_delay_ms = percentile(0.1);
    contribution.high_delay_ms = percentile(0.9);
  }
  return fit;
}

}  // namespace earshot::demo

#include "tools/load/load_checker.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "codecs/check.h"

namespace earshot::load {

ToneMeter::ToneMeter(int length, int sample_rate_hz)
    : sample_rate_hz_(sample_rate_hz), window_(static_cast<size_t>(length)), window_sum_(0.0) {
  const double n = static_cast<double>(length);
  for (int i = 0; i < length; ++i) {
    const double w = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * i / n);
    window_[static_cast<size_t>(i)] = static_cast<float>(w);
    window_sum_ += w;
  }
}

double ToneMeter::LevelDbfs(std::span<const int16_t> samples, int frequency_hz) const {
  EARSHOT_DCHECK(samples.size() == window_.size());
  // One cos per call, not per sample.
  const double coefficient = 2.0 * std::cos(2.0 * std::numbers::pi * frequency_hz / sample_rate_hz_);
  double s1 = 0.0;
  double s2 = 0.0;
  const size_t n = std::min(samples.size(), window_.size());
  for (size_t i = 0; i < n; ++i) {
    const double s0 = window_[i] * samples[i] + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
  if (power <= 0.0 || window_sum_ == 0.0) return -200.0;
  const double amplitude = 2.0 * std::sqrt(power) / window_sum_;
  return 20.0 * std::log10(std::max(amplitude, 1e-10) / 32767.0);
}

WindowVerdict JudgeWindow(const ToneMeter& meter, std::span<const int16_t> pcm, int call,
                          int listener, const Audibility& plan, uint32_t dont_care,
                          double heard_dbfs) {
  WindowVerdict verdict;
  for (int speaker = 0; speaker < plan.parties; ++speaker) {
    if (speaker == listener || (dont_care >> speaker) & 1u) continue;
    const bool heard = meter.LevelDbfs(pcm, ToneHz(call, speaker)) >= heard_dbfs;
    const bool must = plan.Hears(listener, speaker);
    ++verdict.judged;
    if (must && !heard) ++verdict.missing;
    if (!must && heard) ++verdict.unexpected;
  }
  // Its own tone: nobody hears themselves (an echo through the mixer).
  if (!((dont_care >> listener) & 1u)) {
    ++verdict.judged;
    if (meter.LevelDbfs(pcm, ToneHz(call, listener)) >= heard_dbfs) ++verdict.unexpected;
  }
  return verdict;
}

void OnsetDetector::Arm(int tone_hz, int64_t give_up_ns) {
  state_ = State::kWaitSilence;
  tone_hz_ = tone_hz;
  give_up_ns_ = give_up_ns;
}

OnsetDetector::Step OnsetDetector::Feed(double level_dbfs, int64_t now_ns) {
  if (state_ == State::kIdle) return Step::kIdle;
  if (now_ns > give_up_ns_) {
    state_ = State::kIdle;
    return Step::kTimedOut;
  }
  if (state_ == State::kWaitSilence) {
    if (level_dbfs < kAbsentDbfs) state_ = State::kWaitTone;
    return Step::kWaiting;
  }
  if (level_dbfs >= kHeardDbfs) {
    state_ = State::kIdle;
    return Step::kOnset;
  }
  return Step::kWaiting;
}

}  // namespace earshot::load

#pragma once
// Deciding what a listener heard, from the PCM it received.
//
// ToneMeter is a Goertzel filter over a Hann window of fixed length, with the
// window and the per-tone coefficients computed once: the receive path calls
// it for every analysis window of every stream, so it must not call cos().
// JudgeWindow compares the tones found in one window with the call's expected
// audibility; OnsetDetector times a tone coming back after a silence (the
// mouth-to-ear probe).

#include <cstdint>
#include <span>
#include <vector>

#include "tools/load/load_call_plan.h"

namespace earshot::load {

// Every party sends its tone at this peak level.
inline constexpr double kToneDbfs = -20.0;
// A tone at least this strong is heard; weaker is not heard. 16 dB under the
// sent level leaves room for G.711 and the mixer, and is far above the leakage
// of a neighbouring tone (300 Hz away) through the Hann window.
inline constexpr double kHeardDbfs = -36.0;
// The onset probe wants a clear silence before the tone returns.
inline constexpr double kAbsentDbfs = -46.0;
// The heard threshold of a listener on Opus (load_media_test.cc measures it).
// Opus's coding noise is far above G.711's where it matters: the tones sit on
// a 300 Hz grid, so intermodulation (2a - b) lands exactly on other parties'
// tones, and in a 7-tone mix a tone nobody sends reads up to -35.5 dBFS (48 kHz),
// above kHeardDbfs; heard tones read no lower than about -27 dBFS. -31 splits
// the two with about 4 dB either side.
inline constexpr double kOpusHeardDbfs = -31.0;

class ToneMeter {
 public:
  ToneMeter(int length, int sample_rate_hz);
  int length() const { return static_cast<int>(window_.size()); }
  // The peak level in dBFS of the `frequency_hz` component of `samples`
  // (exactly length() samples); -200 for nothing at all.
  double LevelDbfs(std::span<const int16_t> samples, int frequency_hz) const;

 private:
  int sample_rate_hz_;
  std::vector<float> window_;
  double window_sum_;
};

struct WindowVerdict {
  int judged = 0;      // speakers judged
  int missing = 0;     // must hear, did not
  int unexpected = 0;  // must not hear, did
};

// Judges the window of `listener` in call `call`: a speaker is heard at
// `heard_dbfs` or more. Speakers marked in `dont_care` (a bit per party) are not
// judged (mode change, probe silence).
WindowVerdict JudgeWindow(const ToneMeter& meter, std::span<const int16_t> pcm, int call,
                          int listener, const Audibility& plan, uint32_t dont_care,
                          double heard_dbfs = kHeardDbfs);

// A listener's side of one mouth-to-ear probe: armed when the speaker goes
// silent, it waits for a packet without the tone, then for the first packet
// with it again.
class OnsetDetector {
 public:
  enum class Step { kIdle, kWaiting, kOnset, kTimedOut };

  void Arm(int tone_hz, int64_t give_up_ns);
  void Disarm() { state_ = State::kIdle; }
  bool armed() const { return state_ != State::kIdle; }
  int tone_hz() const { return tone_hz_; }
  // One received packet's level of the tone; kOnset means this packet carries
  // the returning tone (the detector is then idle again).
  Step Feed(double level_dbfs, int64_t now_ns);

 private:
  enum class State { kIdle, kWaitSilence, kWaitTone };
  State state_ = State::kIdle;
  int tone_hz_ = 0;
  int64_t give_up_ns_ = 0;
};

}  // namespace earshot::load

#pragma once
// Packet-loss concealment for 8 kHz linear PCM, after ITU-T G.711 Appendix I.
//
// G711Plc works on decoded audio, so any narrowband decoder without its own
// concealment can use it: the decoder hands it every frame it decodes
// (AddGoodFrame) and asks it for a stand-in whenever a frame is missing
// (Conceal). It implements the concealment contract of audio_codec.h.
//
// Model
// - History. The last kHistorySamples (48.75 ms) of *output*, real or
//   concealed, oldest first. That is three of the longest pitch periods plus a
//   quarter of one: enough to repeat three periods with an overlap-add (OLA)
//   at their joins.
// - Pitch. On the first Conceal of a loss the history is frozen into a
//   pitch buffer and the period P (40..120 samples, 66..200 Hz) is the lag with
//   the highest normalised cross-correlation between the last 20 ms and the
//   20 ms `lag` earlier: even lags on every other sample first, then the best
//   one's neighbours at full resolution.
// - Extension. The lost audio repeats the end of the pitch buffer with period
//   P, looping over its last P samples for the first 10 ms of loss, 2P for the
//   next 10 ms and 3P after that: a single period repeated for long buzzes,
//   while older periods keep some of the speech's variation. Each loop wraps
//   with an OLA of Q = P/4 samples: the loop's last Q samples fade from the
//   buffer's own samples into those one loop earlier, which are the ones the
//   wrap continues from, so no period boundary steps. A new loop length takes
//   effect at the first wrap at or after its 10 ms mark, never mid-OLA.
// - Level. Full for the first 10 ms, then falling linearly by 20% of full
//   per 10 ms, so it reaches zero at 60 ms; after that Conceal writes silence
//   however long the loss lasts.
// - Resume. The first good frame after a loss is merged into the synthetic
//   signal's continuation: over M = Q + 1 ms per 10 ms of loss (at most 10 ms)
//   the synthetic fades out while the real audio fades in. After a loss of
//   60 ms or more that continuation is silence, so the merge is a fade-in.
//   AddGoodFrame does this in place; a frame shorter than M is merged whole
//   and the merge goes on into the next good frame.
//
// Departure from Appendix I: it delays its output by 3.75 ms so it can still
// rewrite the last quarter period before the loss into the OLA with the
// synthetic signal. Earshot's decoders return each frame as soon as it is
// decoded, so nothing already returned can change; instead the first Q
// concealed samples carry an offset that starts at the gap between the last
// real sample and the sample before the repeated period, and fades to zero.
// That is an OLA of two copies of the extension: one shifted to continue the
// real signal without a step, and the unshifted one.
//
// Invariants
// - Consecutive Conceal calls continue one concealment; how the loss is cut
//   into calls never changes the samples (all state is per sample).
// - Conceal with no history (before any good frame, or after Reset; or only
//   a single sample) writes silence and changes nothing.
// - Every buffer is a fixed-size member: nothing allocates, throws or locks
//   (STYLE.md §3). Not thread-safe; it belongs to the core that owns the call.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace earshot {

class G711Plc {
 public:
  static constexpr size_t kSamplesPerMs = 8;       // 8 kHz only.
  static constexpr size_t kMinPitchSamples = 40;   // 5 ms, 200 Hz.
  static constexpr size_t kMaxPitchSamples = 120;  // 15 ms, 66.7 Hz.
  static constexpr size_t kMaxLoopPeriods = 3;
  // 390 samples, 48.75 ms: the longest loop plus its OLA.
  static constexpr size_t kHistorySamples =
      kMaxLoopPeriods * kMaxPitchSamples + kMaxPitchSamples / 4;
  static constexpr size_t kCorrelationSamples = 160;               // 20 ms compared.
  static constexpr size_t kStepSamples = 10 * kSamplesPerMs;       // Schedule unit.
  static constexpr size_t kSilentAfterSamples = 6 * kStepSamples;  // 60 ms.
  static constexpr size_t kMaxMergeSamples = kStepSamples;         // 10 ms.

  // Takes one decoded frame, `pcm`, and adds it to the history. If it is the
  // first after a loss, its start is first merged with the concealment (see
  // Resume above), so the caller must output `pcm` as this leaves it. An empty
  // frame changes nothing.
  void AddGoodFrame(std::span<int16_t> pcm);

  // Fills all of `out` with the continuation of the current concealment,
  // starting one if the last call was AddGoodFrame. An empty `out` changes
  // nothing.
  void Conceal(std::span<int16_t> out);

  // Forgets everything, as at construction.
  void Reset();

 private:
  enum class Mode {
    kNormal,      // Last call was a good frame (or nothing yet).
    kConcealing,  // In a loss.
    kMerging,     // A loss ended; the merge has not finished.
  };

  // Freezes the history and chooses the period; false if there is nothing to
  // extend (no history), in which case the caller writes silence.
  bool StartConcealment();
  // The next sample of the synthetic signal, OLAs and level applied.
  int16_t NextSynthetic();
  // Appends `pcm` to the history, dropping the oldest samples.
  void Remember(std::span<const int16_t> pcm);

  // A ring: the oldest sample at history_start_, the newest just before it,
  // so that a good frame costs a copy of the frame and not a move of the
  // whole history. Laid out in order (oldest first, newest at
  // kHistorySamples - 1) it is the history; only its last history_size_
  // samples are real (all of them once 48.75 ms have been output); the rest
  // are zeros, so a read past them is silence, never out of bounds.
  // pitch_buffer_ is the history laid out in order as it was when the
  // current loss began.
  std::array<int16_t, kHistorySamples> history_{};
  size_t history_start_ = 0;
  size_t history_size_ = 0;
  std::array<int16_t, kHistorySamples> pitch_buffer_{};

  Mode mode_ = Mode::kNormal;
  // The rest is valid outside kNormal only.
  size_t pitch_ = 0;             // P.
  size_t overlap_ = 0;           // Q = P / 4.
  size_t max_loop_periods_ = 1;  // What the pitch buffer can hold, <= 3.
  size_t loop_periods_ = 1;      // Length of the current loop, in periods.
  // Next pitch-buffer index to read; runs up to kHistorySamples, where the
  // loop wraps back by loop_periods_ * P.
  size_t read_ = 0;
  // Samples synthesised since the loss began (including any merge), which
  // sets the level, the junction offset and the merge length. Saturates.
  size_t synthesised_ = 0;
  // Last real sample minus the sample before the repeated period (see
  // Departure above).
  int junction_offset_ = 0;
  size_t merge_length_ = 0;  // M.
  size_t merged_ = 0;        // Merged samples so far, < M while kMerging.
};

}  // namespace earshot

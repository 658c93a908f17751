#pragma once
// Sample-rate conversion of mono 16-bit PCM: a RAII owner of SpeexDSP's
// resampler (a windowed-sinc polyphase filter), for legs whose codec runs at
// another rate than their session mixes at.
//
// Model
// - Fixed rates and quality, chosen at creation (on the control path, where
//   speex allocates its filter table); Process then allocates nothing, throws
//   nothing and locks nothing (STYLE.md §3), whatever the input length.
// - Streaming: Process consumes all of its input every call and keeps the
//   filter's history, so consecutive calls resample one continuous signal.
//   The first call starts from silence, which shows as a delay of
//   DelayOutputSamples() (the filter's group delay); nothing is held back.
// - Exact lengths. The output of a call is the input times out/in, rounded
//   down or up, and never drifts: the fractional position carries over. When
//   one rate is a whole multiple of the other (every pair of Earshot's 8, 16
//   and 48 kHz), a call whose input is a multiple of the step (1 input sample
//   upsampling, in/out downsampling) returns exactly in * out / in samples,
//   from the first call on: 160 at 8 kHz always gives 960 at 48 kHz.
// - Int16, not float: both ends of a leg's conversion are int16 (decoders give
//   it and encoders take it, codecs/audio_codec.h), and SpeexDSP's float build
//   converts to float inside its int entry point on the stack, so an int16
//   interface costs nothing extra. Output is rounded and saturated to int16.
// - Equal rates are refused: a pass-through is the caller's business, because
//   the caller can skip a copy that a pass-through Process could not.
//
// Quality 0..10 is SpeexDSP's: the filter length (8 taps at 0 .. 256 at 10,
// scaled up by the ratio when downsampling), its passband and stopband. The
// default, 4 (SpeexDSP's own default), is the lowest that keeps the telephone
// band flat: 48 -> 8 kHz passes 3.4 kHz within 0.1 dB where 3 loses 1 dB and
// 2 loses 2.6 dB; images (8 -> 48 kHz) and aliases (48 -> 8 kHz) stay below
// -95 dBFS; a 1 kHz tone makes the 8 -> 48 -> 8 kHz round trip bit-exact.
// Higher qualities buy nothing audible here and cost CPU and delay: the
// filter's delay is half its length, 4 ms per conversion at quality 4 from or
// to 8 kHz (32 samples at 8 kHz), 5 ms at 5, 8 ms at 7 (codecs/resampler_test.cc).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>

#include "codecs/result.h"

// SpeexDSP's state type (speex_resampler.h typedefs SpeexResamplerState to it).
struct SpeexResamplerState_;

namespace earshot {

class Resampler {
 public:
  static constexpr int kDefaultQuality = 4;
  static constexpr int kMinRateHz = 8000;
  static constexpr int kMaxRateHz = 192000;

  // INVALID_ARGUMENT for a rate outside kMinRateHz..kMaxRateHz, equal rates,
  // or a quality outside 0..10.
  [[nodiscard]] static Result<Resampler> Create(int input_rate_hz, int output_rate_hz,
                                                int quality = kDefaultQuality);

  Resampler(Resampler&&) = default;
  Resampler& operator=(Resampler&&) = default;

  int input_rate_hz() const { return input_rate_hz_; }
  int output_rate_hz() const { return output_rate_hz_; }
  int quality() const { return quality_; }

  // The most samples one Process call can write for `input_samples`.
  size_t MaxOutputSamples(size_t input_samples) const;

  // Resamples all of `in` and returns how many samples it wrote to the front
  // of `out`. `out` must hold MaxOutputSamples(in.size()); a shorter one is a
  // bug in the caller and fails an EARSHOT_CHECK.
  size_t Process(std::span<const int16_t> in, std::span<int16_t> out);

  // The filter's delay in output samples: an impulse at input sample 0 peaks
  // at output sample DelayOutputSamples().
  int DelayOutputSamples() const;

  // Forgets the history (as at creation).
  void Reset();

 private:
  struct Destroy {
    void operator()(SpeexResamplerState_* state) const;
  };
  Resampler(std::unique_ptr<SpeexResamplerState_, Destroy> state, int input_rate_hz,
            int output_rate_hz, int quality)
      : state_(std::move(state)),
        input_rate_hz_(input_rate_hz),
        output_rate_hz_(output_rate_hz),
        quality_(quality) {}

  std::unique_ptr<SpeexResamplerState_, Destroy> state_;
  int input_rate_hz_;
  int output_rate_hz_;
  int quality_;
};

}  // namespace earshot

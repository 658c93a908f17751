#include "codecs/resampler.h"

#include <string>

#include <speex/speex_resampler.h>

#include "codecs/check.h"

namespace earshot {

void Resampler::Destroy::operator()(SpeexResamplerState_* state) const {
  speex_resampler_destroy(state);
}

Result<Resampler> Resampler::Create(int input_rate_hz, int output_rate_hz, int quality) {
  for (int rate : {input_rate_hz, output_rate_hz}) {
    if (rate < kMinRateHz || rate > kMaxRateHz) {
      return InvalidArgument("resampler rate " + std::to_string(rate) + " Hz: expected " +
                             std::to_string(kMinRateHz) + ".." + std::to_string(kMaxRateHz));
    }
  }
  if (input_rate_hz == output_rate_hz) {
    return InvalidArgument("resampler rates are both " + std::to_string(input_rate_hz) +
                           " Hz: equal rates need no resampler");
  }
  if (quality < SPEEX_RESAMPLER_QUALITY_MIN || quality > SPEEX_RESAMPLER_QUALITY_MAX) {
    return InvalidArgument("resampler quality " + std::to_string(quality) + ": expected 0..10");
  }
  int error = RESAMPLER_ERR_SUCCESS;
  std::unique_ptr<SpeexResamplerState_, Destroy> state(
      speex_resampler_init(1, static_cast<spx_uint32_t>(input_rate_hz),
                           static_cast<spx_uint32_t>(output_rate_hz), quality, &error));
  if (state == nullptr || error != RESAMPLER_ERR_SUCCESS) {
    return MakeError(ErrorCode::kInternal,
                     std::string("speex_resampler_init: ") + speex_resampler_strerror(error));
  }
  return Resampler(std::move(state), input_rate_hz, output_rate_hz, quality);
}

size_t Resampler::MaxOutputSamples(size_t input_samples) const {
  // Rounded up, plus one for the fractional position carried from the last call.
  const auto in = static_cast<uint64_t>(input_rate_hz_);
  const auto out = static_cast<uint64_t>(output_rate_hz_);
  return static_cast<size_t>((input_samples * out + in - 1) / in) + 1;
}

size_t Resampler::Process(std::span<const int16_t> in, std::span<int16_t> out) {
  EARSHOT_CHECK(out.size() >= MaxOutputSamples(in.size()));
  auto in_length = static_cast<spx_uint32_t>(in.size());
  auto out_length = static_cast<spx_uint32_t>(out.size());
  speex_resampler_process_int(state_.get(), 0, in.data(), &in_length, out.data(), &out_length);
  // With room for every output sample speex consumes all the input; were it
  // not to, the remainder would be lost and the stream would jump.
  EARSHOT_DCHECK(in_length == in.size());
  return out_length;
}

int Resampler::DelayOutputSamples() const {
  return speex_resampler_get_output_latency(state_.get());
}

void Resampler::Reset() { speex_resampler_reset_mem(state_.get()); }

}  // namespace earshot

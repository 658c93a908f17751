#include "codecs/l16.h"

namespace earshot {

tl::expected<size_t, CodecError> L16Encoder::Encode(std::span<const int16_t> pcm,
                                                    std::span<uint8_t> out) {
  if (pcm.empty()) return tl::unexpected(CodecError::kBadFrameSize);
  if (out.size() < 2 * pcm.size()) return tl::unexpected(CodecError::kOutputTooSmall);
  for (size_t i = 0; i < pcm.size(); ++i) {
    uint16_t sample = static_cast<uint16_t>(pcm[i]);
    out[2 * i] = static_cast<uint8_t>(sample >> 8);
    out[2 * i + 1] = static_cast<uint8_t>(sample & 0xFF);
  }
  return 2 * pcm.size();
}

tl::expected<size_t, CodecError> L16Decoder::Decode(std::span<const uint8_t> payload,
                                                    std::span<int16_t> out) {
  if (payload.empty() || payload.size() % 2 != 0) return tl::unexpected(CodecError::kBadPayload);
  const size_t samples = payload.size() / 2;
  if (out.size() < samples) return tl::unexpected(CodecError::kOutputTooSmall);
  for (size_t i = 0; i < samples; ++i) {
    out[i] = static_cast<int16_t>(static_cast<uint16_t>(payload[2 * i] << 8 | payload[2 * i + 1]));
  }
  last_sample_ = out[samples - 1];
  return samples;
}

size_t L16Decoder::Conceal(std::span<int16_t> out) {
  // A 2 ms exponential fade from the last value: no step, then silence.
  const float decay = 1.0f - 1.0f / (0.002f * static_cast<float>(sample_rate_hz_));
  for (int16_t& sample : out) {
    last_sample_ *= decay;
    sample = static_cast<int16_t>(last_sample_);
  }
  return out.size();
}

}  // namespace earshot

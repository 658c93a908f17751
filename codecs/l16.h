#pragma once
// L16: uncompressed 16-bit linear PCM in network byte order (RFC 3551 §4.5.11),
// at any rate. Wideband and fullband sessions use it where no compressed codec
// is needed (tests, benches, trunks between media servers).

#include "codecs/audio_codec.h"

namespace earshot {

class L16Encoder final : public AudioEncoder {
 public:
  explicit L16Encoder(int sample_rate_hz) : sample_rate_hz_(sample_rate_hz) {}
  CodecInfo info() const override { return {"L16", sample_rate_hz_, sample_rate_hz_, 1}; }
  size_t MaxEncodedBytes(size_t samples) const override { return 2 * samples; }
  [[nodiscard]] tl::expected<size_t, CodecError> Encode(std::span<const int16_t> pcm,
                                                        std::span<uint8_t> out) override;

 private:
  int sample_rate_hz_;
};

// Conceals by fading the last frame's final sample value out over a few ms:
// L16 has no concealment of its own, and it is used where loss is rare.
class L16Decoder final : public AudioDecoder {
 public:
  explicit L16Decoder(int sample_rate_hz) : sample_rate_hz_(sample_rate_hz) {}
  CodecInfo info() const override { return {"L16", sample_rate_hz_, sample_rate_hz_, 1}; }
  [[nodiscard]] tl::expected<size_t, CodecError> Decode(std::span<const uint8_t> payload,
                                                        std::span<int16_t> out) override;
  [[nodiscard]] size_t Conceal(std::span<int16_t> out) override;
  void Reset() override { last_sample_ = 0; }

 private:
  int sample_rate_hz_;
  float last_sample_ = 0.0f;
};

}  // namespace earshot

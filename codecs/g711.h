#pragma once
// G.711 µ-law (PCMU) and A-law (PCMA), bit-exact to ITU-T G.711.
//
// G.711 defines its laws on sign-magnitude input: a 14-bit scale for µ-law
// (magnitudes up to 8159) and a 13-bit scale for A-law (up to 4095). Earshot's
// PCM is 16-bit two's complement, so it is mapped the way the ITU-T's own
// reference code does it (G.191 Software Tools Library, g711.c, which WebRTC
// also matches): take the top 14 (µ-law) or 13 (A-law) bits, and for a negative
// sample take the ones' complement (~x, i.e. -x - 1) as its magnitude. That makes
// both laws symmetric about -0.5: Encode(~x) differs from Encode(x) only in the
// sign bit. Beware that one widespread copy of Sun's g711.c negates the shifted
// µ-law value instead (-(x >> 2)), which disagrees with the ITU-T code for many
// negative inputs (e.g. -1 becomes 0x7E instead of 0x7F); A-law agrees in both.
//
// Code words are as sent on the wire: µ-law with all bits inverted (so silence
// is 0xFF), A-law with the even bits inverted (silence is 0xD5 / 0x55).
//
// Decoding is a 256-entry table built at compile time from the segment
// formulas. Encoding needs a count-leading-zeros and a variable shift per
// sample; it gets both from an int-to-float conversion, which also works on
// vector lanes, so the frame functions encode 8 samples at a time (g711.cc).

#include <cstddef>
#include <cstdint>
#include <span>

#include "codecs/audio_codec.h"
#include "codecs/g711_plc.h"

namespace earshot {

uint8_t LinearToUlaw(int16_t sample);
int16_t UlawToLinear(uint8_t code);
uint8_t LinearToAlaw(int16_t sample);
int16_t AlawToLinear(uint8_t code);

// Frame versions of the above. `out` must be at least as long as the input;
// a shorter one is a bug in the caller and fails an EARSHOT_CHECK. Exactly
// input.size() elements are written.
void EncodeUlaw(std::span<const int16_t> pcm, std::span<uint8_t> out);
void DecodeUlaw(std::span<const uint8_t> codes, std::span<int16_t> out);
void EncodeAlaw(std::span<const int16_t> pcm, std::span<uint8_t> out);
void DecodeAlaw(std::span<const uint8_t> codes, std::span<int16_t> out);

enum class G711Law { kUlaw, kAlaw };

// "PCMU" or "PCMA", 8000 Hz, RTP clock 8000 Hz, mono (RFC 3551 §4.5.14).
CodecInfo G711CodecInfo(G711Law law);

// Stateless apart from its law; any frame length of at least one sample is
// accepted, and it encodes to exactly one byte per sample.
class G711Encoder final : public AudioEncoder {
 public:
  explicit G711Encoder(G711Law law) : law_(law) {}

  CodecInfo info() const override { return G711CodecInfo(law_); }
  size_t MaxEncodedBytes(size_t samples) const override { return samples; }
  [[nodiscard]] tl::expected<size_t, CodecError> Encode(std::span<const int16_t> pcm,
                                                        std::span<uint8_t> out) override;

 private:
  G711Law law_;
};

// Decodes one byte to one sample, and conceals lost frames with G711Plc
// (G.711 Appendix I style: pitch-period repetition with overlap-adds, full
// level for 10 ms, silent after 60 ms; see g711_plc.h).
//
// A good Decode after a loss is merged with the concealment's continuation,
// so the first few milliseconds it returns (a quarter pitch period plus 1 ms
// per 10 ms lost, at most 10 ms) are a crossfade, not the bare decoded
// samples; every other Decode is bit-exact G.711.
class G711Decoder final : public AudioDecoder {
 public:
  explicit G711Decoder(G711Law law) : law_(law) {}

  CodecInfo info() const override { return G711CodecInfo(law_); }
  [[nodiscard]] tl::expected<size_t, CodecError> Decode(std::span<const uint8_t> payload,
                                                        std::span<int16_t> out) override;
  [[nodiscard]] size_t Conceal(std::span<int16_t> out) override;
  void Reset() override { plc_.Reset(); }

 private:
  G711Law law_;
  G711Plc plc_;
};

}  // namespace earshot

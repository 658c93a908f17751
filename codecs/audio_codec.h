#pragma once
// The audio codec interface: what G.711, L16 and Opus implement.
//
// Model
// - A frame is one packet's worth of audio: a run of samples at the codec's own
//   sample_rate_hz (160 samples is 20 ms of G.711; 960 is 20 ms of Opus at 48 kHz),
//   interleaved if channels > 1. The RTP timestamp advances by rtp_clock_rate_hz,
//   which need not equal sample_rate_hz (G.722 famously says 8000 while sampling
//   at 16000).
// - Encode turns one frame into one payload; Decode turns one payload into one
//   frame. Neither splits nor joins frames: packetisation belongs to the caller.
// - The caller owns every buffer. A codec writes only into the span it is given
//   and never keeps a pointer into it. MaxEncodedBytes says how big `out` must be.
//
// Hot path (STYLE.md §3, §5): Encode, Decode, Conceal, DecodeFec and Reset run once per
// packet on the core that owns the call, so they never allocate, throw or lock.
// Anything a codec needs is sized at construction. Errors come back as a small
// CodecError value: the caller counts it and drops or conceals, it does not log.
//
// Concealment contract: when a packet is lost (or its payload is refused by
// Decode), the caller asks for Conceal instead of Decode, once per missing frame
// or in smaller pieces; the decoder extrapolates from what it decoded last and
// fades out. Consecutive calls continue one concealment, so two 10 ms calls give
// the same samples as one 20 ms call. The next successful Decode ends the
// concealment and resets the fade; a decoder may cross-fade the first few
// milliseconds of that frame with its concealment so that the join does not
// click (G.711 does), so Decode right after a loss need not be bit-exact. Conceal
// always fills all of `out`, with silence once the decoder has nothing credible
// left to say.
//
// In-band FEC (optional; Opus has it, G.711 and L16 do not): some codecs carry a
// coarse copy of the previous frame inside a packet (Opus's LBRR, RFC 6716
// §4.2.4). When frame N is lost but packet N+1 has already arrived, the caller
// may ask HasInbandFec(packet N+1) and, if it says yes, call DecodeFec(packet
// N+1, out) *instead of* Conceal for frame N; it then decodes packet N+1 as
// usual with Decode. DecodeFec counts as a successful Decode for the
// concealment contract: it ends a concealment. A decoder without FEC keeps the
// defaults below (HasInbandFec false, DecodeFec kBadPayload), so a caller that
// always checks HasInbandFec first falls back to Conceal unchanged.
//
// Objects are not thread-safe and need none: each belongs to one core (STYLE.md §1).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <tl/expected.hpp>

namespace earshot {

enum class CodecError {
  // `out` cannot hold the result; nothing was written that the caller may use.
  kOutputTooSmall,
  // The payload is empty or malformed for this codec; the caller should conceal.
  kBadPayload,
  // The input frame length is not one the codec can encode (e.g. empty, or not
  // one of Opus's 2.5/5/10/20/40/60/80/100/120 ms).
  kBadFrameSize,
};

constexpr std::string_view CodecErrorName(CodecError error) {
  switch (error) {
    case CodecError::kOutputTooSmall: return "OUTPUT_TOO_SMALL";
    case CodecError::kBadPayload: return "BAD_PAYLOAD";
    case CodecError::kBadFrameSize: return "BAD_FRAME_SIZE";
  }
  return "UNKNOWN";
}

struct CodecInfo {
  std::string_view name;  // The SDP encoding name, e.g. "PCMU" (RFC 3551).
  int sample_rate_hz;     // Rate of the PCM the codec takes and gives.
  int rtp_clock_rate_hz;  // Rate the RTP timestamp advances at.
  int channels;
};

class AudioEncoder {
 public:
  virtual ~AudioEncoder() = default;

  virtual CodecInfo info() const = 0;

  // The largest payload Encode can produce for a frame of `samples` samples.
  virtual size_t MaxEncodedBytes(size_t samples) const = 0;

  // Encodes one frame. Returns the payload bytes written to the front of `out`.
  [[nodiscard]] virtual tl::expected<size_t, CodecError> Encode(std::span<const int16_t> pcm,
                                                                std::span<uint8_t> out) = 0;

 protected:
  // Copy and move are protected so that code holding the base class cannot
  // slice a codec; a concrete codec decides for itself (and can then be made
  // by a factory returning Result<Codec> and moved to its core, STYLE.md §6).
  AudioEncoder() = default;
  AudioEncoder(const AudioEncoder&) = default;
  AudioEncoder(AudioEncoder&&) = default;
  AudioEncoder& operator=(const AudioEncoder&) = default;
  AudioEncoder& operator=(AudioEncoder&&) = default;
};

class AudioDecoder {
 public:
  virtual ~AudioDecoder() = default;

  virtual CodecInfo info() const = 0;

  // Decodes one payload. Returns the samples written to the front of `out`.
  // On error the decoder's state is unchanged, so the caller can conceal.
  [[nodiscard]] virtual tl::expected<size_t, CodecError> Decode(std::span<const uint8_t> payload,
                                                                std::span<int16_t> out) = 0;

  // Fills `out` (out.size() samples, i.e. the lost frame's length) with a
  // stand-in for lost audio, following the concealment contract above.
  // Returns the samples written.
  [[nodiscard]] virtual size_t Conceal(std::span<int16_t> out) = 0;

  // Whether `next_payload` (the packet after a lost frame) carries FEC that
  // DecodeFec can use for that lost frame. Cheap (looks at a few header bits)
  // and changes nothing.
  virtual bool HasInbandFec(std::span<const uint8_t> next_payload) const {
    (void)next_payload;
    return false;
  }

  // Recovers the lost frame before `next_payload` from the FEC it carries:
  // fills `out` (the lost frame's length, as for Conceal) and returns the
  // samples written. kBadPayload when the packet has no usable FEC (the
  // caller then conceals), kBadFrameSize when the codec cannot produce a frame
  // of out.size() samples; on error the decoder's state is unchanged. Does not
  // consume `next_payload`: the caller still Decodes it next.
  [[nodiscard]] virtual tl::expected<size_t, CodecError> DecodeFec(
      std::span<const uint8_t> next_payload, std::span<int16_t> out) {
    (void)next_payload;
    (void)out;
    return tl::make_unexpected(CodecError::kBadPayload);
  }

  // Forgets all history, as at construction: e.g. when the far end restarts
  // its stream (new SSRC).
  virtual void Reset() = 0;

 protected:
  // As for AudioEncoder.
  AudioDecoder() = default;
  AudioDecoder(const AudioDecoder&) = default;
  AudioDecoder(AudioDecoder&&) = default;
  AudioDecoder& operator=(const AudioDecoder&) = default;
  AudioDecoder& operator=(AudioDecoder&&) = default;
};

}  // namespace earshot

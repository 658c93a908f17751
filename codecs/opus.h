#pragma once
// Opus (RFC 6716) for telephony legs, as RTP payload per RFC 7587: mono, the
// RTP clock always 48 kHz whatever rate the codec runs at internally.
//
// Model
// - Internal rate. The encoder takes and the decoder gives PCM at
//   OpusOptions::sample_rate_hz (8000, 16000 or 48000), fixed at construction.
//   A 20 ms frame is 160, 320 or 960 samples; the RTP timestamp advances by 960
//   either way (CodecInfo::rtp_clock_rate_hz is 48000). The two ends need not
//   agree on the internal rate: every Opus packet decodes at every rate.
// - Frames. Encode takes exactly one frame of 2.5, 5, 10, 20, 40, 60, 80, 100
//   or 120 ms at the internal rate (anything else is kBadFrameSize); Decode
//   gives whatever duration the packet holds.
// - Application VOIP (speech-tuned, with the SILK layer that carries FEC).
//
// Concealment (audio_codec.h's contract) is libopus's own PLC (opus_decode
// with no data), with two additions:
// - libopus fades per concealed *frame*, so the size of each PLC call matters:
//   OpusAudioDecoder always conceals in units of the last decoded packet's
//   duration and keeps the unused tail of a unit for the next Conceal, so that
//   any split of a loss into Conceal calls yields the same samples.
// - libopus 1.3.1's SILK PLC barely fades a voiced signal (a 1.2 s loss of a
//   harmonic signal at 8 kHz is still within 8 dB of the last frame;
//   codecs/opus_test.cc), and the contract wants silence once nothing credible
//   is left. So its output is kept as is for the first kFadeStartMs of a loss,
//   then faded linearly to silence at kSilentAfterMs. The gain follows the
//   position in the loss, so the split still does not matter. The good frame
//   that ends such a faded loss (Decode or DecodeFec) is faded in from that
//   gain over kResumeRampMs, since libopus glues it to its own, unfaded PLC.
//
// FEC: with OpusOptions::fec and expected_loss_percent > 0 the encoder adds a
// low-bitrate copy of the previous frame (LBRR) to each packet when its
// bitrate allows; HasInbandFec reads the LBRR flag from the packet's first
// SILK header bits (RFC 6716 §4.2.3, §4.2.4) and DecodeFec decodes it.
//
// Handles: each class owns its libopus state through a unique_ptr with the
// library's destroy function (STYLE.md §6); they are created by factories
// returning Result on the control path and then moved to the owning core.
// Nothing after creation allocates, throws or locks.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "codecs/audio_codec.h"
#include "codecs/result.h"

// libopus's handle types (opus.h typedefs them to these structs); declared here
// so that users of this header do not see libopus.
struct OpusEncoder;
struct OpusDecoder;

namespace earshot {

struct OpusOptions {
  int sample_rate_hz = 48000;  // internal rate: 8000, 16000 or 48000
  int bitrate_bps = 32000;     // 6000..510000 (libopus's range)
  // 0..10: CPU against quality. 5 costs about 40% of 10 at 16 and 48 kHz
  // (bench/opus_bench.cc); the brief's default.
  int complexity = 5;
  bool fec = true;                // in-band FEC (LBRR)
  // 0..100; FEC is only coded when > 0, and libopus 1.3.1 weighs it against
  // the bitrate: at 48 kHz and 32 kbit/s, 5% codes no FEC at all while 15%
  // does; at 8 and 16 kHz 5% does (codecs/opus_test.cc).
  int expected_loss_percent = 5;
  bool dtx = false;               // discontinuous transmission in silence
};

// INVALID_ARGUMENT naming the first field out of range and its allowed range.
[[nodiscard]] Result<void> ValidateOpusOptions(const OpusOptions& options);

// "opus", `sample_rate_hz`, RTP clock 48000, mono.
CodecInfo OpusCodecInfo(int sample_rate_hz);

class OpusAudioEncoder final : public AudioEncoder {
 public:
  [[nodiscard]] static Result<OpusAudioEncoder> Create(const OpusOptions& options);

  OpusAudioEncoder(OpusAudioEncoder&&) = default;
  OpusAudioEncoder& operator=(OpusAudioEncoder&&) = default;

  CodecInfo info() const override { return OpusCodecInfo(options_.sample_rate_hz); }
  // RFC 6716's bound: 1275 bytes per 20 ms frame plus framing (TOC, frame
  // count and lengths), for at most 120 ms (a packet's longest); libopus never
  // writes more than it is given room for. Far above what 32 kbit/s needs
  // (~80 bytes per 20 ms), but a far end may send at any bitrate.
  size_t MaxEncodedBytes(size_t samples) const override;
  // `out` smaller than MaxEncodedBytes caps the packet (libopus codes that
  // frame at a lower rate); kOutputTooSmall only when even that fails. With
  // dtx, a payload of at most 2 bytes is silence that need not be sent
  // (RFC 7587 §3.3).
  [[nodiscard]] tl::expected<size_t, CodecError> Encode(std::span<const int16_t> pcm,
                                                        std::span<uint8_t> out) override;

  const OpusOptions& options() const { return options_; }
  // The encoder's algorithmic delay in samples at the internal rate.
  int LookaheadSamples() const;

 private:
  struct Destroy {
    void operator()(OpusEncoder* encoder) const;
  };
  OpusAudioEncoder(std::unique_ptr<OpusEncoder, Destroy> encoder, const OpusOptions& options)
      : encoder_(std::move(encoder)), options_(options) {}

  std::unique_ptr<OpusEncoder, Destroy> encoder_;
  OpusOptions options_;
};

class OpusAudioDecoder final : public AudioDecoder {
 public:
  static constexpr int kFadeStartMs = 60;
  static constexpr int kSilentAfterMs = 120;
  static constexpr int kResumeRampMs = 5;

  // `sample_rate_hz`: the internal rate, 8000, 16000 or 48000.
  [[nodiscard]] static Result<OpusAudioDecoder> Create(int sample_rate_hz);

  OpusAudioDecoder(OpusAudioDecoder&&) = default;
  OpusAudioDecoder& operator=(OpusAudioDecoder&&) = default;

  CodecInfo info() const override { return OpusCodecInfo(sample_rate_hz_); }
  // kBadPayload for an empty or malformed packet (checked with
  // opus_packet_parse before the decoder is touched, so its state is
  // unchanged); kOutputTooSmall when the packet holds more than out.size().
  [[nodiscard]] tl::expected<size_t, CodecError> Decode(std::span<const uint8_t> payload,
                                                        std::span<int16_t> out) override;
  // Fills all of `out` (any length) from libopus's PLC; see the header comment.
  [[nodiscard]] size_t Conceal(std::span<int16_t> out) override;
  bool HasInbandFec(std::span<const uint8_t> next_payload) const override;
  // out.size() must be a multiple of 2.5 ms, at most 120 ms (else
  // kBadFrameSize) and at least the next packet's frame duration (else
  // kBadPayload: its FEC would not fit the gap).
  [[nodiscard]] tl::expected<size_t, CodecError> DecodeFec(std::span<const uint8_t> next_payload,
                                                           std::span<int16_t> out) override;
  void Reset() override;

 private:
  struct Destroy {
    void operator()(OpusDecoder* decoder) const;
  };
  OpusAudioDecoder(std::unique_ptr<OpusDecoder, Destroy> decoder, int sample_rate_hz);

  // Runs one PLC unit into `out` (out.size() == plc_unit_).
  void ConcealUnit(std::span<int16_t> out);
  // The concealment gain at sample `position` of a loss (see the header comment).
  float FadeGain(size_t position) const;
  // Ends a concealment before a good frame `decoded`: fades it in if the loss
  // was faded, and forgets the loss.
  void EndConcealment(std::span<int16_t> decoded);

  std::unique_ptr<OpusDecoder, Destroy> decoder_;
  int sample_rate_hz_;
  // Samples per PLC call: the duration of the last decoded packet (20 ms until
  // one is decoded), at most 120 ms.
  size_t plc_unit_;
  // The last unit concealed; [leftover_begin_, plc_unit_) has not been handed
  // out yet. Cleared by Decode, DecodeFec and Reset.
  std::vector<int16_t> plc_scratch_;
  size_t leftover_begin_ = 0;
  size_t leftover_end_ = 0;
  // libopus ignores FEC (and conceals instead) after a CELT-only frame.
  bool last_was_celt_only_ = false;
  // Samples handed out by Conceal since the last good frame (saturates at
  // fade_end_), and the fade's bounds in samples.
  size_t concealed_ = 0;
  size_t fade_start_;
  size_t fade_end_;
  size_t resume_ramp_;
};

}  // namespace earshot

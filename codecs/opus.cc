#include "codecs/opus.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <opus/opus.h>

#include "codecs/check.h"

namespace earshot {
namespace {

constexpr int kRtpClockRateHz = 48000;  // RFC 7587 §4.1, whatever the internal rate
constexpr int kMinBitrateBps = 6000;
constexpr int kMaxBitrateBps = 510000;
// RFC 6716 §3.2.1: a frame is at most 1275 bytes; a packet carries at most
// 120 ms. Per 20 ms of audio: the frame, plus up to two bytes of frame length
// and one of TOC or frame count.
constexpr size_t kMaxFrameBytes = 1275;
constexpr size_t kFramingBytes = 2;
constexpr int kMaxPacketMs = 120;
// The largest number of frames opus_packet_parse can report (RFC 6716 §3.2.5).
constexpr int kMaxFramesPerPacket = 48;

// Opus's frame durations in units of 2.5 ms: 2.5, 5, 10, 20, 40, 60 ms, and the
// 80, 100 and 120 ms that libopus 1.3 encodes as several 20 ms frames.
constexpr int kFrameUnits[] = {1, 2, 4, 8, 16, 24, 32, 40, 48};

size_t TwoAndAHalfMs(int sample_rate_hz) { return static_cast<size_t>(sample_rate_hz / 400); }

bool IsEncodableFrame(size_t samples, int sample_rate_hz) {
  const size_t unit = TwoAndAHalfMs(sample_rate_hz);
  if (samples == 0 || samples % unit != 0) return false;
  const size_t units = samples / unit;
  return std::find(std::begin(kFrameUnits), std::end(kFrameUnits), static_cast<int>(units)) !=
         std::end(kFrameUnits);
}

std::string OpusErrorText(int error) { return opus_strerror(error); }

}  // namespace

void OpusAudioEncoder::Destroy::operator()(OpusEncoder* encoder) const {
  opus_encoder_destroy(encoder);
}

void OpusAudioDecoder::Destroy::operator()(OpusDecoder* decoder) const {
  opus_decoder_destroy(decoder);
}

Result<void> ValidateOpusOptions(const OpusOptions& options) {
  const int rate = options.sample_rate_hz;
  if (rate != 8000 && rate != 16000 && rate != 48000) {
    return InvalidArgument("opus sample_rate_hz " + std::to_string(rate) +
                           ": expected 8000, 16000 or 48000");
  }
  if (options.bitrate_bps < kMinBitrateBps || options.bitrate_bps > kMaxBitrateBps) {
    return InvalidArgument("opus bitrate_bps " + std::to_string(options.bitrate_bps) +
                           ": expected " + std::to_string(kMinBitrateBps) + ".." +
                           std::to_string(kMaxBitrateBps));
  }
  if (options.complexity < 0 || options.complexity > 10) {
    return InvalidArgument("opus complexity " + std::to_string(options.complexity) +
                           ": expected 0..10");
  }
  if (options.expected_loss_percent < 0 || options.expected_loss_percent > 100) {
    return InvalidArgument("opus expected_loss_percent " +
                           std::to_string(options.expected_loss_percent) + ": expected 0..100");
  }
  return {};
}

CodecInfo OpusCodecInfo(int sample_rate_hz) {
  // RFC 7587 §7: the SDP name is "opus", lower case.
  return CodecInfo{.name = "opus",
                   .sample_rate_hz = sample_rate_hz,
                   .rtp_clock_rate_hz = kRtpClockRateHz,
                   .channels = 1};
}

// ---------------------------------------------------------------------------
// Encoder

Result<OpusAudioEncoder> OpusAudioEncoder::Create(const OpusOptions& options) {
  if (Result<void> valid = ValidateOpusOptions(options); !valid) {
    return tl::unexpected(valid.error());
  }
  int error = OPUS_OK;
  std::unique_ptr<OpusEncoder, Destroy> encoder(
      opus_encoder_create(options.sample_rate_hz, 1, OPUS_APPLICATION_VOIP, &error));
  if (error != OPUS_OK || encoder == nullptr) {
    return MakeError(ErrorCode::kInternal, "opus_encoder_create: " + OpusErrorText(error));
  }
  OpusEncoder* raw = encoder.get();
  const int results[] = {
      opus_encoder_ctl(raw, OPUS_SET_BITRATE(options.bitrate_bps)),
      opus_encoder_ctl(raw, OPUS_SET_COMPLEXITY(options.complexity)),
      opus_encoder_ctl(raw, OPUS_SET_INBAND_FEC(options.fec ? 1 : 0)),
      opus_encoder_ctl(raw, OPUS_SET_PACKET_LOSS_PERC(options.expected_loss_percent)),
      opus_encoder_ctl(raw, OPUS_SET_DTX(options.dtx ? 1 : 0)),
  };
  for (int result : results) {
    // The options were validated, so a refusal here is libopus disagreeing
    // with our idea of its ranges.
    if (result != OPUS_OK) {
      return MakeError(ErrorCode::kInternal, "opus_encoder_ctl: " + OpusErrorText(result));
    }
  }
  return OpusAudioEncoder(std::move(encoder), options);
}

size_t OpusAudioEncoder::MaxEncodedBytes(size_t samples) const {
  const size_t per_20ms = static_cast<size_t>(options_.sample_rate_hz / 50);
  const size_t max_frames = static_cast<size_t>(kMaxPacketMs / 20);
  const size_t frames = std::clamp<size_t>((samples + per_20ms - 1) / per_20ms, 1, max_frames);
  return frames * (kMaxFrameBytes + kFramingBytes);
}

int OpusAudioEncoder::LookaheadSamples() const {
  opus_int32 lookahead = 0;
  opus_encoder_ctl(encoder_.get(), OPUS_GET_LOOKAHEAD(&lookahead));
  return lookahead;
}

tl::expected<size_t, CodecError> OpusAudioEncoder::Encode(std::span<const int16_t> pcm,
                                                          std::span<uint8_t> out) {
  if (!IsEncodableFrame(pcm.size(), options_.sample_rate_hz)) {
    return tl::make_unexpected(CodecError::kBadFrameSize);
  }
  const size_t room = std::min(out.size(), MaxEncodedBytes(pcm.size()));
  if (room == 0) return tl::make_unexpected(CodecError::kOutputTooSmall);
  const opus_int32 written =
      opus_encode(encoder_.get(), pcm.data(), static_cast<int>(pcm.size()), out.data(),
                  static_cast<opus_int32>(room));
  if (written == OPUS_BUFFER_TOO_SMALL) return tl::make_unexpected(CodecError::kOutputTooSmall);
  // The frame size was checked above; libopus's only other refusal is OPUS_BAD_ARG.
  if (written < 0) return tl::make_unexpected(CodecError::kBadFrameSize);
  return static_cast<size_t>(written);
}

// ---------------------------------------------------------------------------
// Decoder

Result<OpusAudioDecoder> OpusAudioDecoder::Create(int sample_rate_hz) {
  if (sample_rate_hz != 8000 && sample_rate_hz != 16000 && sample_rate_hz != 48000) {
    return InvalidArgument("opus sample_rate_hz " + std::to_string(sample_rate_hz) +
                           ": expected 8000, 16000 or 48000");
  }
  int error = OPUS_OK;
  std::unique_ptr<OpusDecoder, Destroy> decoder(opus_decoder_create(sample_rate_hz, 1, &error));
  if (error != OPUS_OK || decoder == nullptr) {
    return MakeError(ErrorCode::kInternal, "opus_decoder_create: " + OpusErrorText(error));
  }
  return OpusAudioDecoder(std::move(decoder), sample_rate_hz);
}

OpusAudioDecoder::OpusAudioDecoder(std::unique_ptr<OpusDecoder, Destroy> decoder,
                                   int sample_rate_hz)
    : decoder_(std::move(decoder)),
      sample_rate_hz_(sample_rate_hz),
      plc_unit_(static_cast<size_t>(sample_rate_hz / 50)),
      plc_scratch_(static_cast<size_t>(sample_rate_hz / 1000 * kMaxPacketMs), 0),
      fade_start_(static_cast<size_t>(sample_rate_hz / 1000 * kFadeStartMs)),
      fade_end_(static_cast<size_t>(sample_rate_hz / 1000 * kSilentAfterMs)),
      resume_ramp_(static_cast<size_t>(sample_rate_hz / 1000 * kResumeRampMs)) {}

float OpusAudioDecoder::FadeGain(size_t position) const {
  if (position <= fade_start_) return 1.0f;
  if (position >= fade_end_) return 0.0f;
  return static_cast<float>(fade_end_ - position) / static_cast<float>(fade_end_ - fade_start_);
}

void OpusAudioDecoder::EndConcealment(std::span<int16_t> decoded) {
  leftover_begin_ = leftover_end_ = 0;
  if (concealed_ > fade_start_) {
    const float from = FadeGain(concealed_);
    const size_t ramp = std::min(resume_ramp_, decoded.size());
    for (size_t i = 0; i < ramp; ++i) {
      const float gain = from + (1.0f - from) * static_cast<float>(i) / static_cast<float>(ramp);
      decoded[i] = static_cast<int16_t>(std::lround(gain * static_cast<float>(decoded[i])));
    }
  }
  concealed_ = 0;
}

tl::expected<size_t, CodecError> OpusAudioDecoder::Decode(std::span<const uint8_t> payload,
                                                          std::span<int16_t> out) {
  // An empty payload would ask libopus for concealment: refuse it instead, so
  // that the caller's counters see the bad packet.
  if (payload.empty()) return tl::make_unexpected(CodecError::kBadPayload);
  const auto length = static_cast<opus_int32>(payload.size());
  // Validate the whole packet structure before the decoder sees it: a packet
  // refused here leaves the decoder exactly as it was.
  unsigned char toc = 0;
  const unsigned char* frames[kMaxFramesPerPacket];
  opus_int16 sizes[kMaxFramesPerPacket];
  if (opus_packet_parse(payload.data(), length, &toc, frames, sizes, nullptr) < 0) {
    return tl::make_unexpected(CodecError::kBadPayload);
  }
  const int samples = opus_packet_get_nb_samples(payload.data(), length, sample_rate_hz_);
  if (samples <= 0) return tl::make_unexpected(CodecError::kBadPayload);
  if (static_cast<size_t>(samples) > out.size()) {
    return tl::make_unexpected(CodecError::kOutputTooSmall);
  }
  const int decoded = opus_decode(decoder_.get(), payload.data(), length, out.data(),
                                  static_cast<int>(out.size()), 0);
  // Past the checks above libopus fails only on internal errors.
  if (decoded < 0) return tl::make_unexpected(CodecError::kBadPayload);
  plc_unit_ = std::min(static_cast<size_t>(decoded), plc_scratch_.size());
  EndConcealment(out.first(static_cast<size_t>(decoded)));
  // TOC configurations 16..31 are CELT-only (RFC 6716 §3.1).
  last_was_celt_only_ = (toc & 0x80) != 0;
  return static_cast<size_t>(decoded);
}

void OpusAudioDecoder::ConcealUnit(std::span<int16_t> out) {
  EARSHOT_DCHECK(out.size() == plc_unit_);
  const int concealed = opus_decode(decoder_.get(), nullptr, 0, out.data(),
                                    static_cast<int>(out.size()), 0);
  // plc_unit_ is always a whole number of 2.5 ms, which is all libopus asks.
  EARSHOT_DCHECK(concealed == static_cast<int>(out.size()));
  if (concealed < 0) std::fill(out.begin(), out.end(), int16_t{0});
}

size_t OpusAudioDecoder::Conceal(std::span<int16_t> out) {
  size_t written = 0;
  // First what the last unit left over, so that the split does not matter.
  const size_t carried = std::min(out.size(), leftover_end_ - leftover_begin_);
  std::copy_n(plc_scratch_.begin() + static_cast<std::ptrdiff_t>(leftover_begin_), carried,
              out.begin());
  leftover_begin_ += carried;
  written += carried;
  while (out.size() - written >= plc_unit_) {
    ConcealUnit(out.subspan(written, plc_unit_));
    written += plc_unit_;
  }
  if (written < out.size()) {
    const std::span<int16_t> unit(plc_scratch_.data(), plc_unit_);
    ConcealUnit(unit);
    const size_t rest = out.size() - written;
    std::copy_n(unit.begin(), rest, out.begin() + static_cast<std::ptrdiff_t>(written));
    leftover_begin_ = rest;
    leftover_end_ = plc_unit_;
  }
  // The fade, by position in the loss so that the split does not matter.
  if (concealed_ + out.size() > fade_start_) {
    for (size_t i = 0; i < out.size(); ++i) {
      const float gain = FadeGain(concealed_ + i);
      out[i] = static_cast<int16_t>(std::lround(gain * static_cast<float>(out[i])));
    }
  }
  concealed_ = std::min(concealed_ + out.size(), fade_end_);
  return out.size();
}

bool OpusAudioDecoder::HasInbandFec(std::span<const uint8_t> next_payload) const {
  if (last_was_celt_only_ || next_payload.empty()) return false;
  const uint8_t toc = next_payload[0];
  // CELT-only packets have no SILK layer and so no LBRR.
  if ((toc & 0x80) != 0) return false;
  const auto length = static_cast<opus_int32>(next_payload.size());
  const unsigned char* frames[kMaxFramesPerPacket];
  opus_int16 sizes[kMaxFramesPerPacket];
  if (opus_packet_parse(next_payload.data(), length, nullptr, frames, sizes, nullptr) <= 0) {
    return false;
  }
  if (sizes[0] == 0) return false;  // DTX or an empty frame
  // RFC 6716 §4.2.3: the SILK layer of a frame opens with one VAD flag per SILK
  // frame (one for an Opus frame of 10 or 20 ms, two for 40, three for 60),
  // then the LBRR flag; a stereo stream repeats both for its side channel.
  // These bits are range coded with probability 1/2 each at the very start of
  // the range coder, which makes them the first byte's most significant bits.
  const int samples_per_frame = opus_packet_get_samples_per_frame(next_payload.data(), 48000);
  const int silk_frames = samples_per_frame > 960 ? samples_per_frame / 960 : 1;
  const uint8_t first = frames[0][0];
  bool lbrr = ((first >> (7 - silk_frames)) & 1) != 0;
  if (opus_packet_get_nb_channels(next_payload.data()) == 2) {
    lbrr = lbrr || ((first >> (6 - 2 * silk_frames)) & 1) != 0;
  }
  return lbrr;
}

tl::expected<size_t, CodecError> OpusAudioDecoder::DecodeFec(
    std::span<const uint8_t> next_payload, std::span<int16_t> out) {
  const size_t unit = TwoAndAHalfMs(sample_rate_hz_);
  if (out.empty() || out.size() % unit != 0 || out.size() > plc_scratch_.size()) {
    return tl::make_unexpected(CodecError::kBadFrameSize);
  }
  if (!HasInbandFec(next_payload)) return tl::make_unexpected(CodecError::kBadPayload);
  const int frame = opus_packet_get_samples_per_frame(next_payload.data(), sample_rate_hz_);
  // libopus would quietly conceal instead; say so, so the caller counts it.
  if (static_cast<size_t>(frame) > out.size()) {
    return tl::make_unexpected(CodecError::kBadPayload);
  }
  const int decoded =
      opus_decode(decoder_.get(), next_payload.data(), static_cast<opus_int32>(next_payload.size()),
                  out.data(), static_cast<int>(out.size()), 1);
  if (decoded < 0) return tl::make_unexpected(CodecError::kBadPayload);
  EndConcealment(out.first(static_cast<size_t>(decoded)));
  return static_cast<size_t>(decoded);
}

void OpusAudioDecoder::Reset() {
  opus_decoder_ctl(decoder_.get(), OPUS_RESET_STATE);
  plc_unit_ = static_cast<size_t>(sample_rate_hz_ / 50);
  leftover_begin_ = leftover_end_ = 0;
  last_was_celt_only_ = false;
  concealed_ = 0;
}

}  // namespace earshot

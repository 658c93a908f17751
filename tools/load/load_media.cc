#include "tools/load/load_media.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <numbers>

#include "codecs/g711.h"

namespace earshot::load {
namespace {

const std::array<int16_t, 256>& G711Table(bool ulaw) {
  static const auto kTables = [] {
    std::array<std::array<int16_t, 256>, 2> tables{};
    for (int code = 0; code < 256; ++code) {
      tables[0][static_cast<size_t>(code)] = UlawToLinear(static_cast<uint8_t>(code));
      tables[1][static_cast<size_t>(code)] = AlawToLinear(static_cast<uint8_t>(code));
    }
    return tables;
  }();
  return kTables[ulaw ? 0 : 1];
}

std::vector<uint8_t> EncodeG711(std::span<const int16_t> pcm, bool ulaw) {
  std::vector<uint8_t> payload(pcm.size());
  if (ulaw) {
    EncodeUlaw(pcm, payload);
  } else {
    EncodeAlaw(pcm, payload);
  }
  return payload;
}

}  // namespace

std::vector<int16_t> ToneFrame(int hz, int rate_hz, double dbfs) {
  const double amplitude = 32767.0 * std::pow(10.0, dbfs / 20.0);
  std::vector<int16_t> pcm(static_cast<size_t>(rate_hz / 50));
  for (size_t i = 0; i < pcm.size(); ++i) {
    pcm[i] = static_cast<int16_t>(
        std::lround(amplitude * std::sin(2.0 * std::numbers::pi * hz * static_cast<double>(i) / rate_hz)));
  }
  return pcm;
}

Result<ToneStream> EncodeToneStream(LoadCodec codec, int hz, int silence_frames) {
  const CodecInfo info = GetCodecInfo(codec);
  const std::vector<int16_t> tone = ToneFrame(hz, info.sample_rate_hz, kToneDbfs);
  const std::vector<int16_t> silence(tone.size(), 0);
  ToneStream stream;
  if (!info.opus) {
    const bool ulaw = codec == LoadCodec::kPcmu;
    stream.loop.push_back(EncodeG711(tone, ulaw));
    stream.silence.push_back(EncodeG711(silence, ulaw));
    return stream;
  }
  OpusOptions options;
  options.sample_rate_hz = info.sample_rate_hz;
  Result<OpusAudioEncoder> encoder = OpusAudioEncoder::Create(options);
  if (!encoder) return tl::unexpected(encoder.error());
  std::vector<uint8_t> scratch(kMaxPayloadBytes);
  auto encode = [&](std::span<const int16_t> pcm) -> Result<std::vector<uint8_t>> {
    tl::expected<size_t, CodecError> size = encoder->Encode(pcm, scratch);
    if (!size) {
      return MakeError(ErrorCode::kInternal,
                       fmt::format("opus encode of {} Hz: {}", hz, CodecErrorName(size.error())));
    }
    return std::vector<uint8_t>(scratch.begin(), scratch.begin() + static_cast<ptrdiff_t>(*size));
  };
  auto append = [&](std::vector<std::vector<uint8_t>>* to, std::span<const int16_t> pcm,
                    int frames) -> Result<void> {
    for (int i = 0; i < frames; ++i) {
      Result<std::vector<uint8_t>> payload = encode(pcm);
      if (!payload) return tl::unexpected(payload.error());
      if (to != nullptr) to->push_back(std::move(*payload));
    }
    return {};
  };
  Result<void> done = append(nullptr, tone, kOpusPreRollFrames);
  if (done) done = append(&stream.loop, tone, kOpusLoopFrames);
  if (done) done = append(&stream.silence, silence, silence_frames);
  if (done) done = append(&stream.resume, tone, 1 + kOpusResumeFrames);
  if (!done) return tl::unexpected(done.error());
  return stream;
}

Result<StreamDecoder> StreamDecoder::Create(LoadCodec codec) {
  if (!GetCodecInfo(codec).opus) return StreamDecoder(&G711Table(codec == LoadCodec::kPcmu));
  Result<OpusAudioDecoder> opus = OpusAudioDecoder::Create(kRxRateHz);
  if (!opus) return tl::unexpected(opus.error());
  return StreamDecoder(std::move(*opus));
}

bool StreamDecoder::Decode(std::span<const uint8_t> payload, std::span<int16_t, kRxSamples> out) {
  if (table_ != nullptr) {
    if (payload.size() != kRxSamples) return false;
    for (size_t i = 0; i < kRxSamples; ++i) out[i] = (*table_)[payload[i]];
    return true;
  }
  tl::expected<size_t, CodecError> decoded = opus_->Decode(payload, out);
  return decoded && *decoded == kRxSamples;
}

void StreamDecoder::Reset() {
  if (opus_) opus_->Reset();
}

}  // namespace earshot::load

#include "mixer/leg_media.h"

#include <algorithm>

#include <fmt/format.h>

namespace earshot::mixer {
namespace {

// The longest frame a leg may send: 120 ms is Opus's largest packet.
constexpr int kMaxFrameMs = 120;
// Frames pulled per tick at most: 2.5 ms frames in a 20 ms tick need 8; the cap
// keeps a codec that yields nothing from spinning the tick.
constexpr int kMaxPullsPerTick = 16;

}  // namespace

Result<std::unique_ptr<LegMedia>> LegMedia::Create(std::unique_ptr<AudioEncoder> encoder,
                                                  std::unique_ptr<AudioDecoder> decoder,
                                                  const JitterBufferOptions& jitter,
                                                  int sample_rate_hz, int tick_samples) {
  if (encoder == nullptr || decoder == nullptr) {
    return InvalidArgument("a leg needs an encoder and a decoder");
  }
  for (const CodecInfo& info : {encoder->info(), decoder->info()}) {
    if (info.sample_rate_hz != sample_rate_hz || info.channels != 1) {
      return InvalidArgument(fmt::format(
          "codec {} runs at {} Hz with {} channel(s); this session mixes mono at {} Hz and "
          "resampling is not available yet",
          info.name, info.sample_rate_hz, info.channels, sample_rate_hz));
    }
  }
  if (jitter.clock_rate_hz != decoder->info().rtp_clock_rate_hz) {
    return InvalidArgument(fmt::format("jitter buffer clock {} Hz differs from the codec's {} Hz",
                                       jitter.clock_rate_hz, decoder->info().rtp_clock_rate_hz));
  }
  return std::unique_ptr<LegMedia>(
      new LegMedia(std::move(encoder), std::move(decoder), jitter, tick_samples));
}

LegMedia::LegMedia(std::unique_ptr<AudioEncoder> encoder, std::unique_ptr<AudioDecoder> decoder,
                   const JitterBufferOptions& jitter, int tick_samples)
    : encoder_(std::move(encoder)),
      decoder_(std::move(decoder)),
      jitter_buffer_(jitter),
      clock_rate_hz_(decoder_->info().rtp_clock_rate_hz),
      sample_rate_hz_(decoder_->info().sample_rate_hz) {
  const size_t max_frame = static_cast<size_t>(sample_rate_hz_ * kMaxFrameMs / 1000);
  fifo_.resize(max_frame + static_cast<size_t>(tick_samples));
  decoded_.resize(max_frame);
  encoded_.resize(encoder_->MaxEncodedBytes(static_cast<size_t>(tick_samples)));
}

void LegMedia::PushToFifo(std::span<const int16_t> samples) {
  // At most two contiguous runs: up to the end of the ring, then from its start.
  size_t tail = (fifo_head_ + fifo_size_) % fifo_.size();
  size_t first = std::min(samples.size(), fifo_.size() - tail);
  std::copy_n(samples.begin(), first, fifo_.begin() + static_cast<std::ptrdiff_t>(tail));
  std::copy(samples.begin() + static_cast<std::ptrdiff_t>(first), samples.end(), fifo_.begin());
  fifo_size_ += samples.size();
}

bool LegMedia::PullFrame() {
  PlayoutFrame frame = jitter_buffer_.PopNext();
  if (frame.kind == PlayoutFrame::Kind::kEmpty) return false;
  // Frame durations are in RTP clock units; the FIFO holds samples.
  size_t samples = static_cast<size_t>(
      static_cast<int64_t>(frame.samples) * sample_rate_hz_ / clock_rate_hz_);
  samples = std::min(samples, decoded_.size());
  if (samples == 0) return false;
  std::span<int16_t> decoded(decoded_.data(), samples);
  if (frame.kind == PlayoutFrame::Kind::kPacket) {
    auto result = decoder_->Decode(frame.payload, std::span<int16_t>(decoded_));
    if (result) {
      ++counters_.frames_decoded;
      PushToFifo(std::span<const int16_t>(decoded_.data(), *result));
      return true;
    }
    ++counters_.decode_errors;
  }
  ++counters_.frames_concealed;
  PushToFifo(decoded.first(decoder_->Conceal(decoded)));
  return true;
}

void LegMedia::Playout(std::span<float> out) {
  // The FIFO always has room for one more frame while it holds less than a tick.
  for (int pulls = 0; pulls < kMaxPullsPerTick && fifo_size_ < out.size(); ++pulls) {
    if (!PullFrame()) break;
  }
  const size_t available = std::min(fifo_size_, out.size());
  const size_t first = std::min(available, fifo_.size() - fifo_head_);
  const int16_t* ring = fifo_.data();
  for (size_t i = 0; i < first; ++i) out[i] = static_cast<float>(ring[fifo_head_ + i]);
  for (size_t i = first; i < available; ++i) out[i] = static_cast<float>(ring[i - first]);
  fifo_head_ = (fifo_head_ + available) % fifo_.size();
  fifo_size_ -= available;
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(available), out.end(), 0.0f);
  if (available == 0) ++counters_.silent_ticks;
}

std::span<const uint8_t> LegMedia::Encode(std::span<const int16_t> pcm) {
  auto written = encoder_->Encode(pcm, std::span<uint8_t>(encoded_));
  if (!written) {
    ++counters_.encode_errors;
    return {};
  }
  ++counters_.frames_encoded;
  return std::span<const uint8_t>(encoded_.data(), *written);
}

}  // namespace earshot::mixer

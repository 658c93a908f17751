#include "mixer/leg_media.h"

#include <algorithm>

#include <fmt/format.h>

#include "codecs/check.h"

namespace earshot::mixer {
namespace {

// The longest frame a leg may send: 120 ms is Opus's largest packet.
constexpr int kMaxFrameMs = 120;
// Frames pulled per tick at most: 2.5 ms frames in a 20 ms tick need 8; the cap
// keeps a codec that yields nothing from spinning the tick.
constexpr int kMaxPullsPerTick = 16;

// One rate a whole multiple of the other: every tick and every codec frame
// then converts to a whole number of samples, exactly (codecs/resampler.h).
bool WholeRatio(int a, int b) { return a > 0 && b > 0 && (a % b == 0 || b % a == 0); }

}  // namespace

Result<std::unique_ptr<LegMedia>> LegMedia::Create(std::unique_ptr<AudioEncoder> encoder,
                                                  std::unique_ptr<AudioDecoder> decoder,
                                                  const JitterBufferOptions& jitter,
                                                  int sample_rate_hz, int tick_samples) {
  if (encoder == nullptr || decoder == nullptr) {
    return InvalidArgument("a leg needs an encoder and a decoder");
  }
  for (const CodecInfo& info : {encoder->info(), decoder->info()}) {
    if (info.channels != 1) {
      return InvalidArgument(fmt::format("codec {} has {} channels; a leg is mono", info.name,
                                         info.channels));
    }
    if (!WholeRatio(info.sample_rate_hz, sample_rate_hz)) {
      return InvalidArgument(fmt::format(
          "codec {} runs at {} Hz, which this session's {} Hz cannot be resampled to in whole "
          "samples (one rate must be a multiple of the other)",
          info.name, info.sample_rate_hz, sample_rate_hz));
    }
  }
  const int encoder_rate = encoder->info().sample_rate_hz;
  if (tick_samples <= 0 || int64_t{tick_samples} * encoder_rate % sample_rate_hz != 0) {
    return InvalidArgument(fmt::format("a tick of {} samples at {} Hz is not a whole frame at {} Hz",
                                       tick_samples, sample_rate_hz, encoder_rate));
  }
  if (jitter.clock_rate_hz != decoder->info().rtp_clock_rate_hz) {
    return InvalidArgument(fmt::format("jitter buffer clock {} Hz differs from the codec's {} Hz",
                                       jitter.clock_rate_hz, decoder->info().rtp_clock_rate_hz));
  }
  std::optional<Resampler> rx;
  if (const int rate = decoder->info().sample_rate_hz; rate != sample_rate_hz) {
    Result<Resampler> made = Resampler::Create(rate, sample_rate_hz);
    if (!made) return tl::unexpected(made.error());
    rx.emplace(std::move(*made));
  }
  std::optional<Resampler> tx;
  if (encoder_rate != sample_rate_hz) {
    Result<Resampler> made = Resampler::Create(sample_rate_hz, encoder_rate);
    if (!made) return tl::unexpected(made.error());
    tx.emplace(std::move(*made));
  }
  return std::unique_ptr<LegMedia>(new LegMedia(std::move(encoder), std::move(decoder), jitter,
                                                sample_rate_hz, tick_samples, std::move(rx),
                                                std::move(tx)));
}

LegMedia::LegMedia(std::unique_ptr<AudioEncoder> encoder, std::unique_ptr<AudioDecoder> decoder,
                   const JitterBufferOptions& jitter, int session_rate_hz, int tick_samples,
                   std::optional<Resampler> rx_resampler, std::optional<Resampler> tx_resampler)
    : encoder_(std::move(encoder)),
      decoder_(std::move(decoder)),
      jitter_buffer_(jitter),
      session_rate_hz_(session_rate_hz),
      tick_samples_(tick_samples),
      clock_rate_hz_(decoder_->info().rtp_clock_rate_hz),
      sample_rate_hz_(decoder_->info().sample_rate_hz),
      rx_resampler_(std::move(rx_resampler)),
      tx_resampler_(std::move(tx_resampler)) {
  const auto tick = static_cast<size_t>(tick_samples);
  const size_t max_frame = static_cast<size_t>(sample_rate_hz_ * kMaxFrameMs / 1000);
  decoded_.resize(max_frame);
  // The most one pulled frame can add to the FIFO, at the session rate.
  size_t max_pushed = max_frame;
  if (rx_resampler_) {
    resampled_.resize(rx_resampler_->MaxOutputSamples(max_frame));
    max_pushed = resampled_.size();
  }
  // The FIFO holds less than a tick before each pull.
  max_pushed_ = max_pushed;
  fifo_.resize(max_pushed + tick);
  size_t encoder_tick = tick;
  if (tx_resampler_) {
    tx_pcm_.resize(tx_resampler_->MaxOutputSamples(tick));
    encoder_tick = tick * static_cast<size_t>(encoder_->info().sample_rate_hz) /
                   static_cast<size_t>(session_rate_hz);
  }
  encoded_.resize(encoder_->MaxEncodedBytes(encoder_tick));
}

void LegMedia::MakeRoom() {
  if (fifo_size_ == 0) fifo_head_ = 0;
  if (fifo_head_ + fifo_size_ + max_pushed_ <= fifo_.size()) return;
  // Less than a tick is left (Playout pulls only then), and the FIFO has room
  // for a tick plus the largest frame.
  EARSHOT_DCHECK(fifo_size_ + max_pushed_ <= fifo_.size());
  std::copy_n(fifo_.begin() + static_cast<std::ptrdiff_t>(fifo_head_), fifo_size_, fifo_.begin());
  fifo_head_ = 0;
}

void LegMedia::PushToFifo(std::span<const int16_t> samples) {
  EARSHOT_DCHECK(fifo_head_ + fifo_size_ + samples.size() <= fifo_.size());
  std::copy(samples.begin(), samples.end(),
            fifo_.begin() + static_cast<std::ptrdiff_t>(fifo_head_ + fifo_size_));
  fifo_size_ += samples.size();
}

void LegMedia::PushDecoded(std::span<const int16_t> samples) {
  if (!rx_resampler_) {
    PushToFifo(samples);
    return;
  }
  const size_t written = rx_resampler_->Process(samples, resampled_);
  PushToFifo(std::span<const int16_t>(resampled_.data(), written));
}

size_t LegMedia::RecoverFromFec(const PlayoutFrame& lost, std::span<int16_t> out) {
  const PlayoutFrame next = jitter_buffer_.PeekNext();
  // Only the packet right after the lost frame carries its FEC; a frame added
  // to grow the buffer peeks at its own successor (seq, not seq + 1).
  if (next.kind != PlayoutFrame::Kind::kPacket || next.seq != lost.seq.Next()) return 0;
  if (!decoder_->HasInbandFec(next.payload)) return 0;
  auto recovered = decoder_->DecodeFec(next.payload, out);
  return recovered ? *recovered : 0;
}

bool LegMedia::PullFrame() {
  PlayoutFrame frame = jitter_buffer_.PopNext();
  if (frame.kind == PlayoutFrame::Kind::kEmpty) return false;
  MakeRoom();
  // Frame durations are in RTP clock units; the FIFO holds samples.
  size_t samples = static_cast<size_t>(
      static_cast<int64_t>(frame.samples) * sample_rate_hz_ / clock_rate_hz_);
  samples = std::min(samples, decoded_.size());
  if (samples == 0) return false;
  std::span<int16_t> decoded(decoded_.data(), samples);
  if (frame.kind == PlayoutFrame::Kind::kPacket) {
    if (!rx_resampler_) {
      // At the session rate: straight into the FIFO, through a span as long
      // as decoded_ (MakeRoom left that much), so the decoder sees the same.
      const std::span<int16_t> tail(fifo_.data() + fifo_head_ + fifo_size_, decoded_.size());
      auto result = decoder_->Decode(frame.payload, tail);
      if (result) {
        ++counters_.frames_decoded;
        fifo_size_ += *result;
        return true;
      }
    } else if (auto result = decoder_->Decode(frame.payload, std::span<int16_t>(decoded_))) {
      ++counters_.frames_decoded;
      PushDecoded(std::span<const int16_t>(decoded_.data(), *result));
      return true;
    }
    ++counters_.decode_errors;
  } else if (const size_t recovered = RecoverFromFec(frame, decoded); recovered > 0) {
    ++counters_.frames_fec_recovered;
    PushDecoded(std::span<const int16_t>(decoded_.data(), recovered));
    return true;
  }
  ++counters_.frames_concealed;
  PushDecoded(decoded.first(decoder_->Conceal(decoded)));
  return true;
}

Result<void> LegMedia::EnableVoiceProcessing(const VoiceProcessingOptions& options) {
  if (!options.enabled()) {
    voice_.reset();
    return {};
  }
  Result<VoiceProcessor> processor = VoiceProcessor::Create(options, session_rate_hz_, tick_samples_);
  if (!processor) return tl::unexpected(processor.error());
  voice_.emplace(std::move(*processor));
  near_.assign(static_cast<size_t>(tick_samples_), 0);
  return {};
}

void LegMedia::Playout(std::span<float> out) {
  // The FIFO always has room for one more frame while it holds less than a tick.
  for (int pulls = 0; pulls < kMaxPullsPerTick && fifo_size_ < out.size(); ++pulls) {
    if (!PullFrame()) break;
  }
  if (voice_ && out.size() == near_.size()) {
    PlayoutProcessed(out);
    return;
  }
  const size_t available = std::min(fifo_size_, out.size());
  const int16_t* __restrict played = fifo_.data() + fifo_head_;
  float* __restrict dst = out.data();
  for (size_t i = 0; i < available; ++i) dst[i] = static_cast<float>(played[i]);
  fifo_head_ += available;
  fifo_size_ -= available;
  std::fill(out.begin() + static_cast<std::ptrdiff_t>(available), out.end(), 0.0f);
  if (available == 0) ++counters_.silent_ticks;
}

void LegMedia::PlayoutProcessed(std::span<float> out) {
  const size_t available = std::min(fifo_size_, out.size());
  std::copy_n(fifo_.begin() + static_cast<std::ptrdiff_t>(fifo_head_), available, near_.begin());
  std::fill(near_.begin() + static_cast<std::ptrdiff_t>(available), near_.end(), int16_t{0});
  fifo_head_ += available;
  fifo_size_ -= available;
  if (available == 0) ++counters_.silent_ticks;
  // Every tick, silent or not: the adaptive filter follows time, not talk.
  voice_->Process(near_);
  std::copy(near_.begin(), near_.end(), out.begin());
}

std::span<const uint8_t> LegMedia::Encode(std::span<const int16_t> pcm) {
  if (voice_) voice_->NoteSent(pcm);
  std::span<const int16_t> frame = pcm;
  if (tx_resampler_) {
    // More than a tick would not fit the buffer sized for one.
    if (tx_resampler_->MaxOutputSamples(pcm.size()) > tx_pcm_.size()) {
      ++counters_.encode_errors;
      return {};
    }
    frame = std::span<const int16_t>(tx_pcm_.data(), tx_resampler_->Process(pcm, tx_pcm_));
  }
  auto written = encoder_->Encode(frame, std::span<uint8_t>(encoded_));
  if (!written) {
    ++counters_.encode_errors;
    return {};
  }
  ++counters_.frames_encoded;
  return std::span<const uint8_t>(encoded_.data(), *written);
}

}  // namespace earshot::mixer

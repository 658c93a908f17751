#pragma once
// One leg's media inside a session: what arrives (jitter buffer, decoder,
// concealment) and what leaves (encoder). The session mixes between them.
//
// A LegMedia is built on the control path, where allocating is fine, with every
// buffer it will need, and then handed to the session on the owning core; from
// then on Receive, Playout and Encode allocate nothing.
//
// Playout model: the session asks for exactly one tick of samples at the
// session rate. A FIFO of decoded samples decouples the leg's packet duration
// (ptime) from the tick: frames are pulled from the jitter buffer and decoded
// (or recovered from the next packet's FEC, or concealed) until the FIFO holds
// a tick. While the jitter buffer has not started (or has run dry) the leg
// contributes silence.
//
// Rates: the codec may run at another rate than the session (an Opus 48 kHz
// leg in an 8 kHz session, a PCMU leg in a 48 kHz one), as long as one rate is
// a whole multiple of the other, so that every tick and every Opus or G.711
// frame converts to a whole number of samples. Create then builds a
// Resampler per direction (none when the rates are equal):
// - rx: each decoded frame is resampled from the codec rate to the session
//   rate *before* the FIFO, so the FIFO, Playout and everything the session
//   sees are at the session rate, and a frame is resampled exactly once
//   whatever the tick;
// - tx: each tick of mixed audio is resampled from the session rate to the
//   codec rate before Encode (a 20 ms tick becomes one 20 ms frame).
// Each resampler adds its filter delay (4 ms when one side is 8 kHz at the
// default quality, codecs/resampler.h).
//
// FEC: when the jitter buffer reports a lost frame while the packet after it
// is already buffered, and the decoder finds in-band FEC in that packet
// (AudioDecoder::HasInbandFec), the lost frame is decoded from it
// (DecodeFec) instead of concealed, and counted in frames_fec_recovered.
//
// Voice processing (opt-in, mixer/voice_processing.h): what the leg plays out
// is cleaned of the echo of what Earshot sent it, and of noise, before anyone
// hears it; Encode feeds the canceller its reference.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "codecs/audio_codec.h"
#include "codecs/resampler.h"
#include "codecs/result.h"
#include "mixer/jitter_buffer.h"
#include "mixer/voice_processing.h"

namespace earshot::mixer {

struct LegMediaCounters {
  uint64_t frames_decoded = 0;
  uint64_t frames_concealed = 0;      // lost or undecodable frames concealed
  uint64_t frames_fec_recovered = 0;  // lost frames decoded from the next packet's FEC
  uint64_t decode_errors = 0;
  uint64_t silent_ticks = 0;  // ticks with no audio from the far end at all
  uint64_t frames_encoded = 0;
  uint64_t encode_errors = 0;
};

class LegMedia {
 public:
  // `sample_rate_hz` is the session's and `tick_samples` is at that rate. The
  // codecs must be mono, and their rates a whole multiple or divisor of the
  // session's (see Rates above); `jitter` runs at the decoder's RTP clock.
  [[nodiscard]] static Result<std::unique_ptr<LegMedia>> Create(
      std::unique_ptr<AudioEncoder> encoder, std::unique_ptr<AudioDecoder> decoder,
      const JitterBufferOptions& jitter, int sample_rate_hz, int tick_samples);

  InsertResult Receive(const PacketIn& packet, int64_t arrival_ns) {
    return jitter_buffer_.Insert(packet, arrival_ns);
  }

  // Fills `out` (one tick) with what the far end said, as floats at full scale
  // +-32767.
  void Playout(std::span<float> out);
  // A hint before Playout, changes nothing: starts loading what it will read
  // first, so that a session's legs wait for memory together, not in turn.
  void PrefetchPlayout() const {
    __builtin_prefetch(&fifo_size_);
    jitter_buffer_.PrefetchNext();
  }

  // Encodes one tick of mixed audio (at the session rate) into this leg's
  // payload buffer. Returns the payload (valid until the next Encode), empty on
  // an encoder error.
  std::span<const uint8_t> Encode(std::span<const int16_t> pcm);

  // On the control path, before the leg goes to its core.
  [[nodiscard]] Result<void> EnableVoiceProcessing(const VoiceProcessingOptions& options);
  // An echo canceller needs this leg's own mix as its reference, so the leg
  // cannot share another leg's encoding.
  bool needs_own_mix() const { return voice_ && voice_->options().echo_cancel; }
  const VoiceProcessor* voice_processor() const { return voice_ ? &*voice_ : nullptr; }

  const AudioEncoder& encoder() const { return *encoder_; }
  const JitterBuffer& jitter_buffer() const { return jitter_buffer_; }
  const LegMediaCounters& counters() const { return counters_; }

 private:
  LegMedia(std::unique_ptr<AudioEncoder> encoder, std::unique_ptr<AudioDecoder> decoder,
           const JitterBufferOptions& jitter, int session_rate_hz, int tick_samples,
           std::optional<Resampler> rx_resampler, std::optional<Resampler> tx_resampler);

  // Pulls one frame from the jitter buffer into the FIFO; false if it had none.
  bool PullFrame();
  // Decodes the frame lost before the packet PeekNext shows, from that
  // packet's FEC; 0 samples if there is none.
  size_t RecoverFromFec(const PlayoutFrame& lost, std::span<int16_t> out);
  // Resamples one decoded frame (codec rate) to the session rate if needed
  // and appends it to the FIFO.
  void PushDecoded(std::span<const int16_t> samples);
  void PushToFifo(std::span<const int16_t> samples);
  // Guarantees max_pushed_ free samples after the FIFO's contents.
  void MakeRoom();
  // Playout through the voice processor (int16 in, cleaned, then float out).
  void PlayoutProcessed(std::span<float> out);

  std::unique_ptr<AudioEncoder> encoder_;
  std::unique_ptr<AudioDecoder> decoder_;
  JitterBuffer jitter_buffer_;
  int session_rate_hz_;
  int tick_samples_;  // at the session rate
  std::optional<VoiceProcessor> voice_;
  std::vector<int16_t> near_;  // one tick for the voice processor
  int clock_rate_hz_;
  int sample_rate_hz_;  // the decoder's
  // Codec rate -> session rate (rx) and back (tx); empty when equal.
  std::optional<Resampler> rx_resampler_;
  std::optional<Resampler> tx_resampler_;
  // Decoded samples waiting to be played, at the session rate:
  // fifo_[fifo_head_, fifo_head_ + fifo_size_). Linear rather than a ring so
  // that a frame at the session rate is decoded straight into it (no copy
  // through decoded_) and played from one run. Before each pull, what is left
  // (less than a tick, usually nothing) moves to the front when the largest
  // frame would not fit after it (MakeRoom).
  std::vector<int16_t> fifo_;
  size_t fifo_head_ = 0;
  size_t fifo_size_ = 0;
  size_t max_pushed_ = 0;           // the most one pulled frame adds to the FIFO
  std::vector<int16_t> decoded_;    // one decoded frame, at the codec rate
  std::vector<int16_t> resampled_;  // the same at the session rate (rx resampling only)
  std::vector<int16_t> tx_pcm_;     // one tick at the encoder's rate (tx resampling only)
  std::vector<uint8_t> encoded_;    // one encoded tick
  LegMediaCounters counters_;
};

}  // namespace earshot::mixer

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
// (or concealed) until the FIFO holds a tick. While the jitter buffer has not
// started (or has run dry) the leg contributes silence.
// The codec's rate must equal the session rate for now (resampling comes with
// the transcoding work).

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "codecs/audio_codec.h"
#include "codecs/result.h"
#include "mixer/jitter_buffer.h"

namespace earshot::mixer {

struct LegMediaCounters {
  uint64_t frames_decoded = 0;
  uint64_t frames_concealed = 0;
  uint64_t decode_errors = 0;
  uint64_t silent_ticks = 0;  // ticks with no audio from the far end at all
  uint64_t frames_encoded = 0;
  uint64_t encode_errors = 0;
};

class LegMedia {
 public:
  // `tick_samples` at the session rate; the codecs' rate must be the session's.
  [[nodiscard]] static Result<std::unique_ptr<LegMedia>> Create(
      std::unique_ptr<AudioEncoder> encoder, std::unique_ptr<AudioDecoder> decoder,
      const JitterBufferOptions& jitter, int sample_rate_hz, int tick_samples);

  InsertResult Receive(const PacketIn& packet, int64_t arrival_ns) {
    return jitter_buffer_.Insert(packet, arrival_ns);
  }

  // Fills `out` (one tick) with what the far end said, as floats at full scale
  // +-32767.
  void Playout(std::span<float> out);

  // Encodes one tick of mixed audio into this leg's payload buffer. Returns the
  // payload (valid until the next Encode), empty on an encoder error.
  std::span<const uint8_t> Encode(std::span<const int16_t> pcm);

  const AudioEncoder& encoder() const { return *encoder_; }
  const JitterBuffer& jitter_buffer() const { return jitter_buffer_; }
  const LegMediaCounters& counters() const { return counters_; }

 private:
  LegMedia(std::unique_ptr<AudioEncoder> encoder, std::unique_ptr<AudioDecoder> decoder,
           const JitterBufferOptions& jitter, int tick_samples);

  // Pulls one frame from the jitter buffer into the FIFO; false if it had none.
  bool PullFrame();
  void PushToFifo(std::span<const int16_t> samples);

  std::unique_ptr<AudioEncoder> encoder_;
  std::unique_ptr<AudioDecoder> decoder_;
  JitterBuffer jitter_buffer_;
  int clock_rate_hz_;
  int sample_rate_hz_;
  // Decoded samples waiting to be played: a ring of fifo_.size() samples.
  std::vector<int16_t> fifo_;
  size_t fifo_head_ = 0;
  size_t fifo_size_ = 0;
  std::vector<int16_t> decoded_;   // one decoded frame
  std::vector<uint8_t> encoded_;   // one encoded tick
  LegMediaCounters counters_;
};

}  // namespace earshot::mixer

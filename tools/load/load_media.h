#pragma once
// What the simulated phones put on the wire and how they read what comes back,
// for every codec of load_options.h, cheaply enough for thousands of legs.
//
// Sending: pre-encoded, never encoded per packet. Every tone is a multiple of
// 50 Hz, so 20 ms of it is a whole number of periods at any rate. For G.711 a
// tone is one fixed payload. Opus keeps state across frames (SILK prediction,
// CELT energy), so a tone is encoded once per (codec, tone) at start-up as a
// stream: kOpusPreRollFrames thrown away until the encoder has settled, then
// kOpusLoopFrames replayed cyclically (the encoder's state after the loop is
// the state before it, so the loop point decodes like any other frame), the
// probe's silence (encoded right after the tone, as a phone would), and the
// resume run: the onset frame encoded after that silence plus frames until the
// encoder has settled again, after which the sender returns to the loop.
// About 140 us per frame at 48 kHz: ~20 ms per tone, once.
//
// Receiving: G.711 is a table, decoded only where measured. An Opus stream has
// its own decoder and every packet is decoded, at 8 kHz output whatever the
// stream (Opus decodes any stream at any rate; the tones stay below 2.8 kHz),
// so the Goertzel meters are those of G.711. That costs about 7, 14 and 21 us
// per packet for streams encoded at 8, 16 and 48 kHz, a fraction of what
// earshotd spends on the same stream (decode, encode at its rate). Decoding
// only each window's analysis span was measured and rejected
// (load_media_test.cc): SILK's long-term predictor rings on a pure tone for
// about a second, so after a Reset and two warm-up packets a tone reads up to
// 10 dB off (at 8 kHz, -41 dBFS for a -20 dBFS tone: a false "missing"), and
// skipping packets without a Reset is off by up to 12 dB.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "codecs/opus.h"
#include "codecs/result.h"
#include "tools/load/load_checker.h"
#include "tools/load/load_options.h"

namespace earshot::load {

inline constexpr int kRxRateHz = 8000;       // what every received stream is decoded to
inline constexpr int kRxSamples = 160;       // 20 ms at kRxRateHz
inline constexpr int kOpusPreRollFrames = 50;
inline constexpr int kOpusLoopFrames = 50;
inline constexpr int kOpusResumeFrames = 10;  // after the onset, before the loop again
// An Opus listener's windows are judged from this long after the call is up
// (or --warmup-ms if longer): a new encoder (earshotd's, for the leg) takes
// about a second to settle on a mix of tones; before, a heard tone can read
// as low as -35 dBFS and a tone nobody sends as high as -35 (16 kHz, 2 or more
// supervisors; load_media_test.cc).
inline constexpr int kOpusSettleMs = 1200;
// The largest payload the tool sends or decodes.
inline constexpr size_t kMaxPayloadBytes = 400;

// One 20 ms frame of `hz` at `rate_hz` with peak `dbfs`, starting at phase 0.
std::vector<int16_t> ToneFrame(int hz, int rate_hz, double dbfs);

// The sender's side of one tone in one codec.
struct ToneStream {
  std::vector<std::vector<uint8_t>> loop;     // replayed cyclically
  std::vector<std::vector<uint8_t>> silence;  // the probe's silence; the last one repeats
  std::vector<std::vector<uint8_t>> resume;   // from the onset on, then back to the loop
};

// `silence_frames`: how many silent packets a probe sends.
[[nodiscard]] Result<ToneStream> EncodeToneStream(LoadCodec codec, int hz, int silence_frames);

// The receiver's side of one stream: 20 ms payloads to kRxSamples of PCM.
class StreamDecoder {
 public:
  [[nodiscard]] static Result<StreamDecoder> Create(LoadCodec codec);

  // Whether every packet must be decoded (Opus), or only those measured (G.711).
  bool stateful() const { return opus_.has_value(); }
  // The level at which a listener on this codec hears a tone.
  double heard_dbfs() const { return opus_ ? kOpusHeardDbfs : kHeardDbfs; }
  // False when the payload is not one 20 ms frame of this codec.
  [[nodiscard]] bool Decode(std::span<const uint8_t> payload, std::span<int16_t, kRxSamples> out);
  void Reset();

 private:
  explicit StreamDecoder(const std::array<int16_t, 256>* table) : table_(table) {}
  explicit StreamDecoder(OpusAudioDecoder opus) : opus_(std::move(opus)) {}

  const std::array<int16_t, 256>* table_ = nullptr;  // G.711
  std::optional<OpusAudioDecoder> opus_;
};

}  // namespace earshot::load

// One mixer tick of a whole session: every leg receives its packet (jitter
// buffer insert), then Tick plays out (jitter buffer pop + decode), mixes every
// distinct output and encodes it.
//
// Budget (ISSUE 4): a 3-leg G.711 session at 8 kHz, 20 ms tick, supervisor in
// barge (three distinct outputs), no echo canceller: <= 1.5 us per session per
// tick, i.e. one core mixes about 13,000 such calls. Wideband, fullband and a
// 16-leg conference are measured beside it for sizing.
//
// For repeatable counts on a shared machine, run the case under callgrind
// (bench/README.md): issues #5/#9 took the 3-leg G.711 barge from about
// 19,400 instructions per tick (3 jitter buffer inserts included) to about
// 11,800, mostly in the soft limiter's quiet-frame path, G.711 encoding and
// the mix's walk over empty slots.
//
// Opus sessions are dominated by the codec, not the mixer: three Opus 48 kHz
// legs in barge cost three decodes and three encodes per tick (opus_bench.cc:
// roughly 3 x (decode + encode) at complexity 5), and mixed codecs add the
// resamplers (two per leg whose rate differs from the session's). They are
// measured for sizing, without a budget of their own. When written: 3 Opus
// 48 kHz legs in a 48 kHz session 480 µs per tick; PCMU + Opus 16k + Opus 48k
// in a 16 kHz session 290 µs (against 1.4 µs for 3 G.711 legs).
//
// The same G.711 barge with SpeexDSP's echo canceller (128 ms tail) on the
// customer's leg: 36 µs per tick when written, with or without noise
// suppression (the preprocessor runs in both: it is also the residual echo
// suppressor), so about 550 such calls per core against 13,000 without. perf:
// 89 % of it in libspeexdsp, the canceller about twice the preprocessor.

#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>
#include <numbers>
#include <vector>

#include "codecs/g711.h"
#include "codecs/l16.h"
#include "codecs/opus.h"
#include "mixer/media_session.h"

namespace earshot::mixer {
namespace {

struct Sender {
  std::vector<uint8_t> payload;
  uint16_t seq = 0;
  uint32_t timestamp = 0;
  uint32_t timestamp_step = 0;  // one tick at the codec's RTP clock
};

// kL16 runs at the session rate; the others at their own.
enum class LegCodec { kPcmu, kL16, kOpus8k, kOpus16k, kOpus48k };

void MakeCodec(LegCodec codec, int session_rate, std::unique_ptr<AudioEncoder>& encoder,
               std::unique_ptr<AudioDecoder>& decoder) {
  switch (codec) {
    case LegCodec::kPcmu:
      encoder = std::make_unique<G711Encoder>(G711Law::kUlaw);
      decoder = std::make_unique<G711Decoder>(G711Law::kUlaw);
      return;
    case LegCodec::kL16:
      encoder = std::make_unique<L16Encoder>(session_rate);
      decoder = std::make_unique<L16Decoder>(session_rate);
      return;
    case LegCodec::kOpus8k:
    case LegCodec::kOpus16k:
    case LegCodec::kOpus48k: {
      OpusOptions options;  // 32 kbit/s, complexity 5, FEC at 5%
      options.sample_rate_hz = codec == LegCodec::kOpus8k    ? 8000
                               : codec == LegCodec::kOpus16k ? 16000
                                                             : 48000;
      encoder = std::make_unique<OpusAudioEncoder>(std::move(*OpusAudioEncoder::Create(options)));
      decoder = std::make_unique<OpusAudioDecoder>(
          std::move(*OpusAudioDecoder::Create(options.sample_rate_hz)));
      return;
    }
  }
}

class SessionUnderLoad {
 public:
  SessionUnderLoad(int rate, int legs, bool g711, SupervisorMode mode)
      : SessionUnderLoad(rate,
                         std::vector<LegCodec>(static_cast<size_t>(legs),
                                               g711 ? LegCodec::kPcmu : LegCodec::kL16),
                         mode) {}

  // `customer_voice`: voice processing on slot 0, the customer's leg.
  SessionUnderLoad(int rate, const std::vector<LegCodec>& codecs, SupervisorMode mode,
                   const VoiceProcessingOptions& customer_voice = {}) {
    const int legs = static_cast<int>(codecs.size());
    SessionOptions options;
    options.sample_rate_hz = rate;
    options.max_legs = legs < 16 ? 16 : legs;
    session_ = std::move(*MediaSession::Create(options));
    const int tick = session_->tick_samples();
    outputs_.resize(static_cast<size_t>(session_->capacity()));
    for (int slot = 0; slot < legs; ++slot) {
      std::unique_ptr<AudioEncoder> encoder;
      std::unique_ptr<AudioDecoder> decoder;
      MakeCodec(codecs[static_cast<size_t>(slot)], rate, encoder, decoder);
      const CodecInfo info = encoder->info();
      const int codec_tick = info.sample_rate_hz / 50;
      JitterBufferOptions jitter;
      jitter.clock_rate_hz = info.rtp_clock_rate_hz;
      jitter.frame_samples = info.rtp_clock_rate_hz / 50;
      jitter.max_payload_bytes = encoder->MaxEncodedBytes(static_cast<size_t>(codec_tick));
      // A tone per leg, encoded once: the bench measures the mixer, not the sender.
      std::vector<int16_t> pcm(static_cast<size_t>(codec_tick));
      for (int i = 0; i < codec_tick; ++i) {
        pcm[static_cast<size_t>(i)] = static_cast<int16_t>(
            8000 * std::sin(2 * std::numbers::pi * (300 + 100 * slot) * i / info.sample_rate_hz));
      }
      Sender sender;
      sender.payload.resize(encoder->MaxEncodedBytes(pcm.size()));
      sender.payload.resize(*encoder->Encode(pcm, sender.payload));
      sender.timestamp_step = static_cast<uint32_t>(jitter.frame_samples);
      senders_.push_back(std::move(sender));
      Role role = slot == 0 ? Role::kCustomer : slot == 1 ? Role::kAgent : Role::kSupervisor;
      if (legs > 3) role = Role::kOther;  // a conference: everyone hears everyone
      auto media = LegMedia::Create(std::move(encoder), std::move(decoder), jitter, rate, tick);
      if (slot == 0 && customer_voice.enabled()) (void)(*media)->EnableVoiceProcessing(customer_voice);
      (void)session_->AddLeg(slot, role, mode, false, std::move(*media));
    }
    // Fill the jitter buffers to their target before measuring.
    for (int i = 0; i < 20; ++i) OneTick();
  }

  void OneTick() {
    for (size_t slot = 0; slot < senders_.size(); ++slot) {
      Sender& sender = senders_[slot];
      PacketIn packet{SequenceNumber(sender.seq++), RtpTimestamp(sender.timestamp),
                      Ssrc(static_cast<uint32_t>(slot + 1)), false, sender.payload};
      sender.timestamp += sender.timestamp_step;
      (void)session_->Receive(static_cast<int>(slot), packet, now_ns_);
    }
    now_ns_ += 20'000'000;
    session_->Tick(outputs_);
  }

  const MediaSession& session() const { return *session_; }

 private:
  std::unique_ptr<MediaSession> session_;
  std::vector<Sender> senders_;
  std::vector<LegOutput> outputs_;
  int64_t now_ns_ = 0;
};

void RunTicks(benchmark::State& state, SessionUnderLoad& load) {
  for (auto _ : state) load.OneTick();
  state.counters["encodes_per_tick"] =
      static_cast<double>(load.session().counters().encodes) /
      static_cast<double>(load.session().counters().ticks);
  state.SetItemsProcessed(state.iterations());
}

void BM_G711ThreeLegBarge8k(benchmark::State& state) {
  SessionUnderLoad load(8000, 3, true, SupervisorMode::kBarge);
  RunTicks(state, load);
}
BENCHMARK(BM_G711ThreeLegBarge8k);

void BM_G711ThreeLegListen8k(benchmark::State& state) {
  SessionUnderLoad load(8000, 3, true, SupervisorMode::kListen);
  RunTicks(state, load);
}
BENCHMARK(BM_G711ThreeLegListen8k);

void BM_L16ThreeLegBarge16k(benchmark::State& state) {
  SessionUnderLoad load(16000, 3, false, SupervisorMode::kBarge);
  RunTicks(state, load);
}
BENCHMARK(BM_L16ThreeLegBarge16k);

void BM_L16ThreeLegBarge48k(benchmark::State& state) {
  SessionUnderLoad load(48000, 3, false, SupervisorMode::kBarge);
  RunTicks(state, load);
}
BENCHMARK(BM_L16ThreeLegBarge48k);

void BM_G711SixteenLegConference8k(benchmark::State& state) {
  SessionUnderLoad load(8000, 16, true, SupervisorMode::kListen);
  RunTicks(state, load);
}
BENCHMARK(BM_G711SixteenLegConference8k);

void BM_Opus48kThreeLegBarge48k(benchmark::State& state) {
  SessionUnderLoad load(48000, {LegCodec::kOpus48k, LegCodec::kOpus48k, LegCodec::kOpus48k},
                        SupervisorMode::kBarge);
  RunTicks(state, load);
}
BENCHMARK(BM_Opus48kThreeLegBarge48k);

// The PSTN customer's leg with SpeexDSP's echo canceller (128 ms tail, with
// its residual echo suppressor) and, in the second case, noise suppression
// too: one canceller run and one preprocessor run per tick on top of the
// plain G.711 barge, and the customer's output can no longer be shared.
void BM_G711ThreeLegBargeEchoCancel8k(benchmark::State& state) {
  VoiceProcessingOptions voice;
  voice.echo_cancel = true;
  voice.noise_suppress = state.range(0) != 0;
  SessionUnderLoad load(8000, {LegCodec::kPcmu, LegCodec::kPcmu, LegCodec::kPcmu}, SupervisorMode::kBarge,
                        voice);
  RunTicks(state, load);
}
BENCHMARK(BM_G711ThreeLegBargeEchoCancel8k)->ArgName("noise_suppress")->Arg(0)->Arg(1);

// PCMU customer, Opus 16 kHz agent, Opus 48 kHz supervisor in a 16 kHz
// session: the customer and the supervisor each resample both ways.
void BM_MixedCodecsThreeLegBarge16k(benchmark::State& state) {
  SessionUnderLoad load(16000, {LegCodec::kPcmu, LegCodec::kOpus16k, LegCodec::kOpus48k},
                        SupervisorMode::kBarge);
  RunTicks(state, load);
}
BENCHMARK(BM_MixedCodecsThreeLegBarge16k);

}  // namespace
}  // namespace earshot::mixer

// One mixer tick of a whole session: every leg receives its packet (jitter
// buffer insert), then Tick plays out (jitter buffer pop + decode), mixes every
// distinct output and encodes it.
//
// Budget (ISSUE 4): a 3-leg G.711 session at 8 kHz, 20 ms tick, supervisor in
// barge (three distinct outputs), no echo canceller: <= 1.5 us per session per
// tick, i.e. one core mixes about 13,000 such calls. Wideband, fullband and a
// 16-leg conference are measured beside it for sizing.

#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>
#include <numbers>
#include <vector>

#include "codecs/g711.h"
#include "codecs/l16.h"
#include "mixer/media_session.h"

namespace earshot::mixer {
namespace {

struct Sender {
  std::vector<uint8_t> payload;
  uint16_t seq = 0;
  uint32_t timestamp = 0;
};

class SessionUnderLoad {
 public:
  SessionUnderLoad(int rate, int legs, bool g711, SupervisorMode mode) {
    SessionOptions options;
    options.sample_rate_hz = rate;
    options.max_legs = legs < 16 ? 16 : legs;
    session_ = std::move(*MediaSession::Create(options));
    const int tick = session_->tick_samples();
    outputs_.resize(static_cast<size_t>(session_->capacity()));
    for (int slot = 0; slot < legs; ++slot) {
      std::unique_ptr<AudioEncoder> encoder;
      std::unique_ptr<AudioDecoder> decoder;
      if (g711) {
        encoder = std::make_unique<G711Encoder>(G711Law::kUlaw);
        decoder = std::make_unique<G711Decoder>(G711Law::kUlaw);
      } else {
        encoder = std::make_unique<L16Encoder>(rate);
        decoder = std::make_unique<L16Decoder>(rate);
      }
      JitterBufferOptions jitter;
      jitter.clock_rate_hz = rate;
      jitter.frame_samples = tick;
      jitter.max_payload_bytes = static_cast<size_t>(encoder->MaxEncodedBytes(static_cast<size_t>(tick)));
      // A tone per leg, encoded once: the bench measures the mixer, not the sender.
      std::vector<int16_t> pcm(static_cast<size_t>(tick));
      for (int i = 0; i < tick; ++i) {
        pcm[static_cast<size_t>(i)] = static_cast<int16_t>(
            8000 * std::sin(2 * std::numbers::pi * (300 + 100 * slot) * i / rate));
      }
      Sender sender;
      sender.payload.resize(encoder->MaxEncodedBytes(pcm.size()));
      sender.payload.resize(*encoder->Encode(pcm, sender.payload));
      senders_.push_back(std::move(sender));
      Role role = slot == 0 ? Role::kCustomer : slot == 1 ? Role::kAgent : Role::kSupervisor;
      if (legs > 3) role = Role::kOther;  // a conference: everyone hears everyone
      auto media = LegMedia::Create(std::move(encoder), std::move(decoder), jitter, rate, tick);
      (void)session_->AddLeg(slot, role, mode, false, std::move(*media));
    }
    tick_samples_ = static_cast<uint32_t>(tick);
    // Fill the jitter buffers to their target before measuring.
    for (int i = 0; i < 20; ++i) OneTick();
  }

  void OneTick() {
    for (size_t slot = 0; slot < senders_.size(); ++slot) {
      Sender& sender = senders_[slot];
      PacketIn packet{SequenceNumber(sender.seq++), RtpTimestamp(sender.timestamp),
                      Ssrc(static_cast<uint32_t>(slot + 1)), false, sender.payload};
      sender.timestamp += tick_samples_;
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
  uint32_t tick_samples_ = 0;
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

}  // namespace
}  // namespace earshot::mixer

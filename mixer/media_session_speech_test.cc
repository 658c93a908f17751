// Real speech through a session: the customer's recording goes in as G.711 RTP
// with network jitter and loss, and what the agent hears is compared with what
// was sent.

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "codecs/g711.h"
#include "mixer/media_session.h"
#include "tests/support/media_files.h"

namespace earshot::mixer {
namespace {

constexpr int kTick = 160;

struct Channel {
  double loss = 0.0;        // probability a packet is lost
  int max_jitter_ms = 0;    // extra delay per packet, uniform 0..max
};

// Sends `speech` from slot 0 to slot 1 and returns what slot 1 heard.
std::vector<int16_t> CarryThroughSession(const std::vector<int16_t>& speech, const Channel& channel,
                                         std::vector<int16_t>& sent, JitterBufferCounters& jitter) {
  auto session = std::move(*MediaSession::Create(SessionOptions{}));
  for (int slot : {0, 1}) {
    auto media = LegMedia::Create(std::make_unique<G711Encoder>(G711Law::kUlaw),
                                  std::make_unique<G711Decoder>(G711Law::kUlaw),
                                  JitterBufferOptions{}, 8000, kTick);
    EXPECT_TRUE(session->AddLeg(slot, slot == 0 ? Role::kCustomer : Role::kAgent,
                                SupervisorMode::kListen, false, std::move(*media))
                    .has_value());
  }
  std::vector<LegOutput> outputs(static_cast<size_t>(session->capacity()));
  G711Encoder encoder(G711Law::kUlaw);
  G711Decoder reference(G711Law::kUlaw);
  G711Decoder agent_phone(G711Law::kUlaw);
  std::mt19937 random(7);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);

  struct InFlight {
    int64_t arrival_ns;
    uint16_t seq;
    uint32_t timestamp;
    std::vector<uint8_t> payload;
  };
  std::vector<InFlight> in_flight;
  std::vector<int16_t> heard;
  const size_t frames = speech.size() / kTick;
  const int64_t tick_ns = 20'000'000;
  for (size_t frame = 0; frame < frames + 20; ++frame) {
    const int64_t now = static_cast<int64_t>(frame) * tick_ns;
    if (frame < frames) {
      InFlight packet{now + static_cast<int64_t>(uniform(random) * channel.max_jitter_ms * 1e6),
                      static_cast<uint16_t>(65500 + frame), static_cast<uint32_t>(frame * kTick),
                      std::vector<uint8_t>(kTick)};
      std::span<const int16_t> pcm(speech.data() + frame * kTick, kTick);
      (void)encoder.Encode(pcm, packet.payload);
      int16_t decoded[kTick];
      (void)reference.Decode(packet.payload, decoded);
      sent.insert(sent.end(), decoded, decoded + kTick);
      if (uniform(random) >= channel.loss) in_flight.push_back(std::move(packet));
    }
    // Deliver what has arrived by now, in arrival order.
    std::stable_sort(in_flight.begin(), in_flight.end(),
                     [](const InFlight& a, const InFlight& b) { return a.arrival_ns < b.arrival_ns; });
    auto due = std::find_if(in_flight.begin(), in_flight.end(),
                            [&](const InFlight& p) { return p.arrival_ns > now; });
    for (auto it = in_flight.begin(); it != due; ++it) {
      (void)session->Receive(0, PacketIn{SequenceNumber(it->seq), RtpTimestamp(it->timestamp),
                                         Ssrc(42), false, it->payload},
                             it->arrival_ns);
    }
    in_flight.erase(in_flight.begin(), due);
    session->Tick(outputs);
    int16_t pcm[kTick] = {};
    (void)agent_phone.Decode(outputs[1].payload, pcm);
    heard.insert(heard.end(), pcm, pcm + kTick);
  }
  jitter = session->leg(0)->jitter_buffer().counters();
  return heard;
}

// The best normalised correlation of `heard` against `sent` over delays of
// whole ticks up to 300 ms; `delay_ticks` receives the delay found.
double BestCorrelation(const std::vector<int16_t>& sent, const std::vector<int16_t>& heard,
                       int& delay_ticks) {
  double best = -1.0;
  for (int delay = 0; delay <= 15; ++delay) {
    const size_t offset = static_cast<size_t>(delay * kTick);
    const size_t n = std::min(sent.size(), heard.size() - offset);
    double dot = 0.0, energy_sent = 0.0, energy_heard = 0.0;
    for (size_t i = 0; i < n; ++i) {
      double a = sent[i];
      double b = heard[i + offset];
      dot += a * b;
      energy_sent += a * a;
      energy_heard += b * b;
    }
    double correlation = dot / std::sqrt(energy_sent * energy_heard + 1e-9);
    if (correlation > best) {
      best = correlation;
      delay_ticks = delay;
    }
  }
  return best;
}

class SpeechThroughSession : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = earshot::testing::SharedMediaDir();
    if (!dir) GTEST_SKIP() << "no ../shared/media beside this checkout";
    auto recording = earshot::testing::ReadWav(*dir + "/customer_8k.wav");
    ASSERT_TRUE(recording.has_value());
    ASSERT_EQ(recording->sample_rate_hz, 8000);
    speech_ = std::move(recording->samples);
  }
  std::vector<int16_t> speech_;
};

TEST_F(SpeechThroughSession, ArrivesIntactThroughJitterWithoutLoss) {
  std::vector<int16_t> sent;
  JitterBufferCounters jitter;
  std::vector<int16_t> heard = CarryThroughSession(speech_, Channel{0.0, 30}, sent, jitter);
  int delay = 0;
  double correlation = BestCorrelation(sent, heard, delay);
  RecordProperty("correlation", std::to_string(correlation));
  RecordProperty("delay_ms", std::to_string(delay * 20));
  // Every packet is played, none late: G.711 in and out, the agent hears the
  // customer's very samples. The buffer may grow or shrink by a frame while it
  // learns the jitter, which shifts the rest by 20 ms and costs a little
  // correlation against one fixed delay.
  EXPECT_EQ(jitter.played + jitter.dropped_to_shrink, sent.size() / kTick);
  EXPECT_EQ(jitter.too_late, 0u);
  EXPECT_LE(jitter.added_to_grow + jitter.dropped_to_shrink, 4u);
  EXPECT_GT(correlation, 0.99) << "delay " << delay * 20 << " ms";
  EXPECT_LE(delay * 20, 100);
}

TEST_F(SpeechThroughSession, StaysIntelligibleWithFivePercentLoss) {
  std::vector<int16_t> sent;
  JitterBufferCounters jitter;
  std::vector<int16_t> heard = CarryThroughSession(speech_, Channel{0.05, 30}, sent, jitter);
  EXPECT_EQ(jitter.too_late, 0u);
  int delay = 0;
  double correlation = BestCorrelation(sent, heard, delay);
  RecordProperty("correlation", std::to_string(correlation));
  // Concealment cannot restore lost speech, but most of it is there, in time.
  EXPECT_GT(correlation, 0.85) << "delay " << delay * 20 << " ms";
}

}  // namespace
}  // namespace earshot::mixer

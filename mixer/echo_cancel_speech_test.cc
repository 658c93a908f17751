// Echo cancellation on a PSTN customer leg, with the shared speech recordings:
// what the session sends the customer comes back through a synthetic 2-to-4
// wire hybrid (30 ms late, about -9 dB, dispersed over a few milliseconds),
// mixed with the customer's own speech from 10 s to 16 s (double talk), and
// everything travels as G.711. What the agent hears is measured:
// - echo return loss enhancement (ERLE) on the far-end-only stretches, per
//   second (printed): the target is >= 20 dB after at most 2 s of
//   convergence with the default 128 ms tail, so every second from 2 s to
//   10 s, and every second from 1 s after the double talk on, must reach
//   20 dB (without the canceller: ~0 dB);
// - the customer's speech through double talk: correlation with the clean
//   recording >= 0.9.
// Both the customer's voice and the echo reach the leg through the PSTN's
// 300-3400 Hz channel (ITU-T G.712), modelled by a 300 Hz high-pass; "clean"
// is the band-limited voice. The agent hears the customer's line some ticks
// later (jitter buffer, mix, SpeexDSP's own frame delay): that delay is
// measured on the double talk and the ERLE compares the echo with what was
// heard that much later.

#include <algorithm>
#include <cmath>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "codecs/g711.h"
#include "mixer/media_session.h"
#include "tests/support/media_files.h"

namespace earshot::mixer {
namespace {

constexpr int kRate = 8000;
constexpr int kTick = 160;
constexpr size_t kSeconds = 20;
constexpr size_t kDoubleTalkFrom = 10 * kRate;
constexpr size_t kDoubleTalkTo = 16 * kRate;

// The hybrid: a 30 ms bulk delay and a short dispersive response whose
// strongest tap is -9 dB (sum of |taps| about -6 dB).
struct HybridTap {
  size_t delay;
  double gain;
};
constexpr HybridTap kHybrid[] = {{240, 0.35}, {243, -0.12}, {247, 0.06}, {252, -0.03}};

struct EchoRun {
  std::vector<int16_t> echo_in;      // the echo alone, as it entered the customer leg
  std::vector<int16_t> near_speech;  // the customer's clean speech, as it entered
  std::vector<int16_t> heard;        // what the agent heard
};

// The low edge of the telephone channel: a second-order Butterworth high-pass
// at 300 Hz (bilinear transform at 8 kHz).
class TelephoneChannel {
 public:
  TelephoneChannel() {
    const double k = std::tan(3.141592653589793 * 300.0 / kRate);
    const double norm = 1.0 / (1.0 + std::sqrt(2.0) * k + k * k);
    b0_ = norm;
    b1_ = -2.0 * norm;
    b2_ = norm;
    a1_ = 2.0 * (k * k - 1.0) * norm;
    a2_ = (1.0 - std::sqrt(2.0) * k + k * k) * norm;
  }
  double Step(double x) {
    const double y = b0_ * x + b1_ * x1_ + b2_ * x2_ - a1_ * y1_ - a2_ * y2_;
    x2_ = x1_;
    x1_ = x;
    y2_ = y1_;
    y1_ = y;
    return y;
  }

 private:
  double b0_, b1_, b2_, a1_, a2_;
  double x1_ = 0, x2_ = 0, y1_ = 0, y2_ = 0;
};

std::vector<int16_t> TelephoneBand(const std::vector<int16_t>& voice) {
  TelephoneChannel channel;
  std::vector<int16_t> out(voice.size());
  for (size_t i = 0; i < voice.size(); ++i) {
    out[i] = static_cast<int16_t>(std::clamp(std::lround(channel.Step(voice[i])), -32768L, 32767L));
  }
  return out;
}

EchoRun RunCall(const std::vector<int16_t>& agent_speech, const std::vector<int16_t>& customer_speech,
                bool cancel) {
  auto session = std::move(*MediaSession::Create(SessionOptions{}));
  for (int slot : {0, 1}) {
    auto media = std::move(*LegMedia::Create(std::make_unique<G711Encoder>(G711Law::kUlaw),
                                             std::make_unique<G711Decoder>(G711Law::kUlaw),
                                             JitterBufferOptions{}, kRate, kTick));
    if (slot == 0 && cancel) {
      VoiceProcessingOptions voice;
      voice.echo_cancel = true;
      EXPECT_TRUE(media->EnableVoiceProcessing(voice).has_value());
    }
    EXPECT_TRUE(session->AddLeg(slot, slot == 0 ? Role::kCustomer : Role::kAgent,
                                SupervisorMode::kListen, false, std::move(media))
                    .has_value());
  }
  std::vector<LegOutput> outputs(static_cast<size_t>(session->capacity()));
  G711Encoder agent_phone(G711Law::kUlaw);
  G711Encoder customer_phone(G711Law::kUlaw);
  G711Decoder customer_ear(G711Law::kUlaw);
  G711Decoder agent_ear(G711Law::kUlaw);
  std::vector<int16_t> to_customer;  // what the session sent the customer, decoded
  TelephoneChannel echo_channel;
  EchoRun run;
  const size_t frames = kSeconds * kRate / kTick;
  for (size_t frame = 0; frame < frames; ++frame) {
    const int64_t now = static_cast<int64_t>(frame) * 20'000'000;
    uint8_t payload[kTick];
    // The agent talks all the time.
    (void)agent_phone.Encode(std::span(agent_speech.data() + frame * kTick, kTick), payload);
    (void)session->Receive(1, PacketIn{SequenceNumber(static_cast<uint16_t>(frame)),
                                       RtpTimestamp(static_cast<uint32_t>(frame * kTick)), Ssrc(2),
                                       false, payload},
                           now);
    // The customer's line: the hybrid's echo of what it was sent, plus the
    // customer's own voice during the double talk.
    int16_t line[kTick];
    for (size_t i = 0; i < kTick; ++i) {
      const size_t t = frame * kTick + i;
      double echo = 0.0;
      for (const HybridTap& tap : kHybrid) {
        if (t >= tap.delay && t - tap.delay < to_customer.size()) echo += tap.gain * to_customer[t - tap.delay];
      }
      echo = echo_channel.Step(echo);
      const double near = t >= kDoubleTalkFrom && t < kDoubleTalkTo ? customer_speech[t] : 0.0;
      run.echo_in.push_back(static_cast<int16_t>(std::lround(echo)));
      run.near_speech.push_back(static_cast<int16_t>(near));
      line[i] = static_cast<int16_t>(std::clamp(std::lround(echo + near), -32768L, 32767L));
    }
    (void)customer_phone.Encode(line, payload);
    (void)session->Receive(0, PacketIn{SequenceNumber(static_cast<uint16_t>(frame)),
                                       RtpTimestamp(static_cast<uint32_t>(frame * kTick)), Ssrc(1),
                                       false, payload},
                           now);
    session->Tick(outputs);
    int16_t pcm[kTick] = {};
    (void)customer_ear.Decode(outputs[0].payload, pcm);
    to_customer.insert(to_customer.end(), pcm, pcm + kTick);
    (void)agent_ear.Decode(outputs[1].payload, pcm);
    run.heard.insert(run.heard.end(), pcm, pcm + kTick);
  }
  return run;
}

double Energy(const std::vector<int16_t>& signal, size_t from, size_t to) {
  double energy = 0.0;
  for (size_t i = from; i < std::min(to, signal.size()); ++i) energy += double(signal[i]) * signal[i];
  return energy;
}

struct Correlation {
  double value = 0.0;
  size_t lag = 0;  // samples from the customer's line to the agent's ear
};

// The best normalised correlation of the clean near speech in [from, to) with
// what was heard, over delays up to 200 ms.
Correlation DoubleTalkCorrelation(const EchoRun& run, size_t from, size_t to) {
  Correlation best;
  for (size_t delay = 0; delay <= 1600; delay += 8) {
    double dot = 0.0, a2 = 0.0, b2 = 0.0;
    for (size_t i = from; i < to && i + delay < run.heard.size(); ++i) {
      const double a = run.near_speech[i];
      const double b = run.heard[i + delay];
      dot += a * b;
      a2 += a * a;
      b2 += b * b;
    }
    const double value = dot / std::sqrt(a2 * b2 + 1e-9);
    if (value > best.value) best = Correlation{value, delay};
  }
  return best;
}

// Echo return loss enhancement over [from, to): the echo's energy at the
// leg's input against what the agent heard over the same stretch `lag`
// samples later.
double ErleDb(const EchoRun& run, size_t lag, size_t from, size_t to) {
  return 10.0 * std::log10(Energy(run.echo_in, from, to) / (Energy(run.heard, from + lag, to + lag) + 1.0));
}

TEST(EchoCancelSpeechTest, HybridEchoIsCancelledAndTheCustomerSurvivesDoubleTalk) {
  std::optional<std::string> dir = earshot::testing::SharedMediaDir();
  if (!dir) GTEST_SKIP() << "needs ../shared/media";
  auto agent = earshot::testing::ReadWav(*dir + "/agent_8k.wav");
  auto customer = earshot::testing::ReadWav(*dir + "/customer_8k.wav");
  ASSERT_TRUE(agent && customer);
  ASSERT_GE(agent->samples.size(), kSeconds * kRate);
  ASSERT_GE(customer->samples.size(), kDoubleTalkTo);

  const std::vector<int16_t> customer_line = TelephoneBand(customer->samples);
  EchoRun plain = RunCall(agent->samples, customer_line, false);
  EchoRun cancelled = RunCall(agent->samples, customer_line, true);

  const Correlation correlation_plain = DoubleTalkCorrelation(plain, kDoubleTalkFrom, kDoubleTalkTo);
  const Correlation correlation = DoubleTalkCorrelation(cancelled, kDoubleTalkFrom, kDoubleTalkTo);
  const double erle_plain = ErleDb(plain, correlation_plain.lag, 2 * kRate, kDoubleTalkFrom);
  std::printf("customer line to agent's ear: %zu samples (without canceller %zu)\n", correlation.lag,
              correlation_plain.lag);
  std::string per_second;
  double worst_converged = 1e9;
  for (size_t second = 0; second < kSeconds; ++second) {
    const size_t from = second * kRate;
    if (from + kRate > kDoubleTalkFrom && from < kDoubleTalkTo) continue;  // not far-end only
    const double erle = ErleDb(cancelled, correlation.lag, from, from + kRate);
    per_second += fmt::format(" {}s:{:.1f}", second, erle);
    std::printf("ERLE in second %zu (%zu-%zu s): %.1f dB\n", second, second, second + 1, erle);
    // Converged: 2 s after the start, 1 s after the double talk ended.
    const bool converged = second >= 2 && (from < kDoubleTalkFrom || from >= kDoubleTalkTo + kRate);
    if (converged) {
      worst_converged = std::min(worst_converged, erle);
      EXPECT_GE(erle, 20.0) << "ERLE in second " << second;
    }
  }
  RecordProperty("erle_db_per_second", per_second);
  RecordProperty("erle_db_worst_from_2_s", std::to_string(worst_converged));
  RecordProperty("erle_db_without_canceller", std::to_string(erle_plain));
  RecordProperty("double_talk_correlation", std::to_string(correlation.value));
  std::printf("ERLE worst second from 2 s: %.1f dB, without canceller %.1f dB; "
              "double-talk correlation %.3f (without canceller %.3f)\n",
              worst_converged, erle_plain, correlation.value, correlation_plain.value);
  EXPECT_LT(erle_plain, 3.0) << "the echo path must really echo";
  EXPECT_GE(correlation.value, 0.9);
}

}  // namespace
}  // namespace earshot::mixer

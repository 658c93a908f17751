// The session as the people on a call hear it: every party sends its own tone
// through G.711, and a Goertzel detector on every decoded output says which
// tones each party hears (PRODUCT.md "Mix semantics").

#include "mixer/media_session.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codecs/g711.h"
#include "tests/support/tone.h"

namespace earshot::mixer {
namespace {

using ::earshot::testing::MaxStep;
using ::earshot::testing::ToneGenerator;
using ::earshot::testing::ToneLevelDbfs;

constexpr int kRate = 8000;
constexpr int kTick = 160;
constexpr int64_t kTickNs = 20'000'000;
// Tones no two of which are harmonics of each other, and away from the 1400 Hz beep.
constexpr double kTones[] = {440.0, 770.0, 1170.0, 1830.0, 2310.0, 2870.0};
constexpr double kToneLevel = -12.0;  // dBFS
// "Heard" is a tone within 6 dB of what was sent; "not heard" at least 40 dB below.
constexpr double kHeardDbfs = kToneLevel - 6.0;
constexpr double kSilentDbfs = kToneLevel - 40.0;

std::unique_ptr<LegMedia> G711Leg() {
  JitterBufferOptions jitter;
  auto media = LegMedia::Create(std::make_unique<G711Encoder>(G711Law::kUlaw),
                                std::make_unique<G711Decoder>(G711Law::kUlaw), jitter, kRate, kTick);
  EXPECT_TRUE(media.has_value());
  return std::move(*media);
}

// One phone on the call: sends its tone every tick, keeps what it receives.
struct Phone {
  explicit Phone(double tone_hz) : tone(tone_hz, kRate, kToneLevel), frequency(tone_hz) {}
  ToneGenerator tone;
  double frequency;
  G711Encoder encoder{G711Law::kUlaw};
  G711Decoder decoder{G711Law::kUlaw};
  uint16_t seq = 1000;
  uint32_t timestamp = 50000;
  bool sending = true;
  std::vector<int16_t> heard;
};

class SessionHarness {
 public:
  explicit SessionHarness(SessionOptions options = {}) {
    auto session = MediaSession::Create(options);
    EXPECT_TRUE(session.has_value());
    session_ = std::move(*session);
    outputs_.resize(static_cast<size_t>(session_->capacity()));
  }

  int Add(Role role, SupervisorMode mode = SupervisorMode::kListen, bool beep = false,
          std::optional<double> tone_hz = std::nullopt) {
    int slot = static_cast<int>(phones_.size());
    phones_.emplace_back(tone_hz.value_or(kTones[slot]));
    EXPECT_TRUE(session_->AddLeg(slot, role, mode, beep, G711Leg()).has_value());
    return slot;
  }

  void Run(int ticks) {
    for (int t = 0; t < ticks; ++t) {
      for (size_t slot = 0; slot < phones_.size(); ++slot) {
        Phone& phone = phones_[slot];
        if (!phone.sending) continue;
        int16_t pcm[kTick];
        uint8_t payload[kTick];
        phone.tone.Fill(pcm);
        ASSERT_TRUE(phone.encoder.Encode(pcm, payload).has_value());
        PacketIn packet{SequenceNumber(phone.seq++), RtpTimestamp(phone.timestamp), Ssrc(0x1000 + slot),
                        false, payload};
        phone.timestamp += kTick;
        session_->Receive(static_cast<int>(slot), packet, now_ns_);
      }
      session_->Tick(outputs_);
      now_ns_ += kTickNs;
      for (size_t slot = 0; slot < phones_.size(); ++slot) {
        Phone& phone = phones_[slot];
        int16_t pcm[kTick] = {};
        if (outputs_[slot].active && !outputs_[slot].payload.empty()) {
          ASSERT_EQ(outputs_[slot].payload.size(), static_cast<size_t>(kTick));
          ASSERT_TRUE(phone.decoder.Decode(outputs_[slot].payload, pcm).has_value());
        }
        phone.heard.insert(phone.heard.end(), pcm, pcm + kTick);
      }
    }
  }

  // The last `ticks` of what `listener` heard.
  std::span<const int16_t> Recent(int listener, int ticks) const {
    const std::vector<int16_t>& heard = phones_[static_cast<size_t>(listener)].heard;
    size_t n = static_cast<size_t>(ticks * kTick);
    return std::span<const int16_t>(heard.data() + heard.size() - n, n);
  }

  // Level of `speaker`'s tone in the last 200 ms of what `listener` heard.
  double Level(int listener, int speaker) const {
    return ToneLevelDbfs(Recent(listener, 10), phones_[static_cast<size_t>(speaker)].frequency, kRate);
  }

  // Level of the join beep in the last 200 ms of what `listener` heard.
  double BeepLevel(int listener) const {
    return ToneLevelDbfs(Recent(listener, 10), BeepOptions{}.frequency_hz, kRate);
  }

  // "CA": the listener hears the parties in these slots and nobody else.
  void ExpectHears(int listener, const std::vector<int>& heard, const std::string& label) {
    for (int speaker = 0; speaker < static_cast<int>(phones_.size()); ++speaker) {
      bool expected = std::find(heard.begin(), heard.end(), speaker) != heard.end();
      double level = Level(listener, speaker);
      if (expected) {
        EXPECT_GT(level, kHeardDbfs) << label << ": slot " << listener << " should hear " << speaker;
      } else {
        EXPECT_LT(level, kSilentDbfs) << label << ": slot " << listener << " should not hear "
                                      << speaker;
      }
    }
  }

  MediaSession& session() { return *session_; }
  Phone& phone(int slot) { return phones_[static_cast<size_t>(slot)]; }
  const std::vector<LegOutput>& outputs() const { return outputs_; }

 private:
  std::unique_ptr<MediaSession> session_;
  std::vector<Phone> phones_;
  std::vector<LegOutput> outputs_;
  int64_t now_ns_ = 1'000'000'000;
};

constexpr int kC = 0;
constexpr int kA = 1;
constexpr int kS = 2;
constexpr int kS2 = 3;
constexpr int kS3 = 4;

struct ModeCase {
  SupervisorMode mode;
  std::vector<int> customer_hears;
  std::vector<int> agent_hears;
  std::vector<int> supervisor_hears;
};

class SessionRoutesEachMode : public ::testing::TestWithParam<ModeCase> {};

TEST_P(SessionRoutesEachMode, AsTheProductTableSays) {
  const ModeCase& mode = GetParam();
  SessionHarness call;
  call.Add(Role::kCustomer);
  call.Add(Role::kAgent);
  call.Add(Role::kSupervisor, mode.mode);
  call.Run(25);
  std::string label(SupervisorModeName(mode.mode));
  call.ExpectHears(kC, mode.customer_hears, label);
  call.ExpectHears(kA, mode.agent_hears, label);
  call.ExpectHears(kS, mode.supervisor_hears, label);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, SessionRoutesEachMode,
    ::testing::Values(ModeCase{SupervisorMode::kListen, {kA}, {kC}, {kC, kA}},
                      ModeCase{SupervisorMode::kWhisper, {kA}, {kC, kS}, {kC, kA}},
                      ModeCase{SupervisorMode::kWhisperCustomer, {kA, kS}, {kC}, {kC, kA}},
                      ModeCase{SupervisorMode::kBarge, {kA, kS}, {kC, kS}, {kC, kA}},
                      ModeCase{SupervisorMode::kTakeover, {kS}, {}, {kC}}));

TEST(SessionTest, ModeChangesMidCallTakeEffectAtTheNextTick) {
  SessionHarness call;
  call.Add(Role::kCustomer);
  call.Add(Role::kAgent);
  call.Add(Role::kSupervisor, SupervisorMode::kListen);
  call.Run(20);
  call.ExpectHears(kA, {kC}, "listen");
  const SupervisorMode sequence[] = {SupervisorMode::kWhisper, SupervisorMode::kBarge,
                                     SupervisorMode::kWhisperCustomer, SupervisorMode::kTakeover,
                                     SupervisorMode::kListen};
  for (SupervisorMode mode : sequence) {
    ASSERT_TRUE(call.session().SetMode(kS, mode, false).has_value());
    call.Run(11);  // 200 ms of the new mode, plus the tick that ramps
    std::string label(SupervisorModeName(mode));
    bool customer_hears_s = mode != SupervisorMode::kListen && mode != SupervisorMode::kWhisper;
    bool agent_hears_s = mode == SupervisorMode::kWhisper || mode == SupervisorMode::kBarge;
    std::vector<int> customer = mode == SupervisorMode::kTakeover ? std::vector<int>{kS}
                                : customer_hears_s ? std::vector<int>{kA, kS}
                                                   : std::vector<int>{kA};
    std::vector<int> agent = mode == SupervisorMode::kTakeover ? std::vector<int>{}
                             : agent_hears_s ? std::vector<int>{kC, kS}
                                             : std::vector<int>{kC};
    call.ExpectHears(kC, customer, label);
    call.ExpectHears(kA, agent, label);
  }
}

TEST(SessionTest, SupervisorsInDifferentModesEachGetTheirOwnRouting) {
  SessionHarness call;
  call.Add(Role::kCustomer);
  call.Add(Role::kAgent);
  call.Add(Role::kSupervisor, SupervisorMode::kWhisper);
  call.Add(Role::kSupervisor, SupervisorMode::kWhisperCustomer);
  call.Add(Role::kSupervisor, SupervisorMode::kListen);
  call.Run(25);
  call.ExpectHears(kC, {kA, kS2}, "customer");
  call.ExpectHears(kA, {kC, kS}, "agent");
  call.ExpectHears(kS, {kC, kA, kS2}, "whisperer");
  call.ExpectHears(kS2, {kC, kA, kS}, "customer whisperer");
  call.ExpectHears(kS3, {kC, kA, kS, kS2}, "listener");
}

TEST(SessionTest, CustomMatrixRoutesExactlyAsSet) {
  SessionHarness call;
  for (int i = 0; i < 4; ++i) call.Add(Role::kOther);
  GainMatrix matrix(call.session().capacity());
  matrix.set_gain(0, 1, 1.0f);  // 0 hears 1
  matrix.set_gain(1, 2, 1.0f);  // 1 hears 2
  matrix.set_gain(2, 3, 1.0f);  // 2 hears 3
  matrix.set_gain(3, 0, 1.0f);  // 3 hears 0 and 2
  matrix.set_gain(3, 2, 1.0f);
  ASSERT_TRUE(call.session().SetMatrix(matrix).has_value());
  call.Run(25);
  call.ExpectHears(0, {1}, "custom");
  call.ExpectHears(1, {2}, "custom");
  call.ExpectHears(2, {3}, "custom");
  call.ExpectHears(3, {0, 2}, "custom");
}

TEST(SessionTest, CustomGainScalesTheLevel) {
  SessionHarness call;
  call.Add(Role::kOther);
  call.Add(Role::kOther);
  GainMatrix matrix(call.session().capacity());
  matrix.set_gain(0, 1, 0.5f);  // -6 dB
  ASSERT_TRUE(call.session().SetMatrix(matrix).has_value());
  call.Run(25);
  EXPECT_NEAR(call.Level(0, 1), kToneLevel - 6.02, 0.5);
}

TEST(SessionTest, InvalidMatrixIsRejectedAndChangesNothing) {
  SessionHarness call;
  call.Add(Role::kCustomer);
  call.Add(Role::kAgent);
  GainMatrix before = call.session().matrix();
  GainMatrix bad(call.session().capacity());
  bad.set_gain(0, 1, 5.0f);
  Result<void> set = call.session().SetMatrix(bad);
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(set.error().message.find("gain[0][1]"), std::string::npos);
  EXPECT_EQ(call.session().matrix(), before);
  EXPECT_FALSE(call.session().SetMatrix(GainMatrix(3)).has_value());
}

TEST(SessionTest, SetModeOnANonSupervisorIsAFailedPrecondition) {
  SessionHarness call;
  call.Add(Role::kCustomer);
  Result<void> set = call.session().SetMode(kC, SupervisorMode::kBarge, false);
  ASSERT_FALSE(set.has_value());
  EXPECT_EQ(set.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(call.session().SetMode(7, SupervisorMode::kBarge, false).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(call.session().SetMode(99, SupervisorMode::kBarge, false).error().code,
            ErrorCode::kInvalidArgument);
}

// The largest sample-to-sample step that a listener hears across a mode change
// is no larger than in steady mixing of the same signals.
TEST(SessionTest, ModeChangeDoesNotClick) {
  SessionHarness call;
  // Low tones move little from one sample to the next, so a hard switch of the
  // supervisor into the agent's ear would be the largest step by far.
  call.Add(Role::kCustomer, SupervisorMode::kListen, false, 150.0);
  call.Add(Role::kAgent, SupervisorMode::kListen, false, 210.0);
  call.Add(Role::kSupervisor, SupervisorMode::kListen, false, 137.0);
  call.Run(20);
  size_t change_at = call.phone(kA).heard.size();
  ASSERT_TRUE(call.session().SetMode(kS, SupervisorMode::kBarge, false).has_value());
  call.Run(20);
  const std::vector<int16_t>& heard = call.phone(kA).heard;
  std::span<const int16_t> across(heard.data() + change_at - kTick, 2 * kTick);
  std::span<const int16_t> steady = call.Recent(kA, 10);
  EXPECT_LE(MaxStep(across), MaxStep(steady));
}

TEST(SessionTest, JoinBeepGoesOnlyToThePartiesWhoNowHearTheSupervisor) {
  SessionHarness call;
  call.Add(Role::kCustomer);
  call.Add(Role::kAgent);
  call.Run(10);
  call.Add(Role::kSupervisor, SupervisorMode::kWhisper, /*beep=*/true);
  call.Run(10);  // the beep lasts 200 ms
  EXPECT_GT(call.BeepLevel(kA), BeepOptions{}.level_dbfs - 8.0);
  EXPECT_LT(call.BeepLevel(kC), BeepOptions{}.level_dbfs - 40.0);
  EXPECT_LT(call.BeepLevel(kS), BeepOptions{}.level_dbfs - 40.0);
}

TEST(SessionTest, ListenBeepTellsTheCallsParties) {
  SessionHarness call;
  call.Add(Role::kCustomer);
  call.Add(Role::kAgent);
  call.Run(10);
  call.Add(Role::kSupervisor, SupervisorMode::kListen, /*beep=*/true);
  call.Run(10);
  EXPECT_GT(call.BeepLevel(kC), BeepOptions{}.level_dbfs - 8.0);
  EXPECT_GT(call.BeepLevel(kA), BeepOptions{}.level_dbfs - 8.0);
}

TEST(SessionTest, NoBeepUnlessAsked) {
  SessionHarness call;
  call.Add(Role::kCustomer);
  call.Add(Role::kAgent);
  call.Run(10);
  call.Add(Role::kSupervisor, SupervisorMode::kBarge, /*beep=*/false);
  call.Run(10);
  EXPECT_LT(call.BeepLevel(kC), BeepOptions{}.level_dbfs - 40.0);
}

TEST(SessionTest, IdenticalOutputsAreEncodedOnce) {
  SessionHarness call;
  call.Add(Role::kCustomer);
  call.Add(Role::kAgent);
  call.Add(Role::kSupervisor, SupervisorMode::kListen);
  call.Add(Role::kSupervisor, SupervisorMode::kListen);
  call.Add(Role::kSupervisor, SupervisorMode::kListen);
  call.Run(10);
  // C, A and one mix for the three listeners.
  EXPECT_EQ(call.session().counters().encodes, 3u * 10);
  EXPECT_EQ(call.session().counters().shared_outputs, 2u * 10);
  EXPECT_EQ(call.outputs()[kS2].shared_from, kS);
  EXPECT_EQ(call.outputs()[kS3].payload.data(), call.outputs()[kS].payload.data());
  call.ExpectHears(kS3, {kC, kA}, "shared listener");

  // Once one of them whispers, the other two still share; the whisperer does not.
  ASSERT_TRUE(call.session().SetMode(kS2, SupervisorMode::kWhisper, false).has_value());
  call.Run(10);
  EXPECT_EQ(call.outputs()[kS2].shared_from, kS2);
  EXPECT_EQ(call.outputs()[kS3].shared_from, kS);
  call.ExpectHears(kS3, {kC, kA, kS2}, "listener hears the whisperer");
  call.ExpectHears(kS, {kC, kA, kS2}, "listener hears the whisperer");
}

TEST(SessionTest, LoudThreeWayMixIsLimitedNotClippedOrWrapped) {
  SessionOptions options;
  SessionHarness call(options);
  call.Add(Role::kCustomer);
  call.Add(Role::kAgent);
  call.Add(Role::kSupervisor, SupervisorMode::kBarge);
  GainMatrix loud(call.session().capacity());
  for (int dst = 0; dst < 3; ++dst) {
    for (int src = 0; src < 3; ++src) {
      if (dst != src) loud.set_gain(dst, src, 4.0f);  // +12 dB on -12 dBFS tones
    }
  }
  ASSERT_TRUE(call.session().SetMatrix(loud).has_value());
  call.Run(30);
  std::span<const int16_t> window = call.Recent(kC, 10);
  // No wrap-around: a wrapped sum would jump by most of the range in one sample,
  // far more than two full-scale tones at these frequencies can move.
  EXPECT_LT(MaxStep(window), 30000);
  // No flat-topped clipping: runs of equal full-scale samples do not occur.
  int at_full_scale = static_cast<int>(std::count_if(
      window.begin(), window.end(), [](int16_t s) { return std::abs(s) >= 32000; }));
  EXPECT_EQ(at_full_scale, 0);
  // Both voices remain audible.
  EXPECT_GT(call.Level(kC, kA), -20.0);
  EXPECT_GT(call.Level(kC, kS), -20.0);
}

TEST(SessionTest, ALegThatSendsNothingContributesSilenceButStillGetsAudio) {
  SessionHarness call;
  call.Add(Role::kCustomer);
  call.Add(Role::kAgent);
  call.phone(kA).sending = false;
  call.Run(20);
  call.ExpectHears(kA, {kC}, "silent agent");
  call.ExpectHears(kC, {}, "customer of a silent agent");
  EXPECT_TRUE(call.outputs()[kA].active);
  EXPECT_GT(call.session().leg(kA)->counters().silent_ticks, 0u);
}

TEST(SessionTest, RemovedLegIsHeardByNobodyAndItsSlotCanBeReused) {
  SessionHarness call;
  call.Add(Role::kCustomer);
  call.Add(Role::kAgent);
  call.Add(Role::kSupervisor, SupervisorMode::kBarge);
  call.Run(10);
  auto removed = call.session().RemoveLeg(kS);
  ASSERT_TRUE(removed.has_value());
  EXPECT_NE(*removed, nullptr);
  call.phone(kS).sending = false;
  call.Run(11);
  call.ExpectHears(kC, {kA}, "after detach");
  call.ExpectHears(kA, {kC}, "after detach");
  EXPECT_FALSE(call.outputs()[kS].active);
  EXPECT_EQ(call.session().RemoveLeg(kS).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(call.session().AddLeg(kS, Role::kSupervisor, SupervisorMode::kListen, false, G711Leg())
                  .has_value());
  EXPECT_EQ(call.session()
                .AddLeg(kS, Role::kSupervisor, SupervisorMode::kListen, false, G711Leg())
                .error()
                .code,
            ErrorCode::kAlreadyExists);
}

TEST(SessionTest, CreateValidatesOptions) {
  auto with = [](auto change) {
    SessionOptions options;
    change(options);
    return MediaSession::Create(options).has_value();
  };
  EXPECT_FALSE(with([](SessionOptions& o) { o.sample_rate_hz = 44100; }));
  EXPECT_FALSE(with([](SessionOptions& o) { o.tick_ms = 30; }));
  EXPECT_FALSE(with([](SessionOptions& o) { o.max_legs = 1; }));
  EXPECT_FALSE(with([](SessionOptions& o) { o.ramp_ms = 25; }));
  EXPECT_TRUE(with([](SessionOptions& o) {
    o.sample_rate_hz = 48000;
    o.tick_ms = 10;
  }));
}

}  // namespace
}  // namespace earshot::mixer

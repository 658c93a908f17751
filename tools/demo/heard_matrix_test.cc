#include "tools/demo/heard_matrix.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace earshot::demo {
namespace {

constexpr int kSeconds = 4;
constexpr int kLength = kSeconds * 8000;

// Speech-like: noise through a resonance, switched on and off in 150-300 ms
// "syllables", peaking around -10 dBFS. Each seed is a different talker.
std::vector<int16_t> Talker(unsigned seed, double resonance_hz) {
  std::mt19937 random(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::uniform_int_distribution<int> syllable(1200, 2400);
  const double r = 0.97;
  const double a1 = 2 * r * std::cos(2 * 3.14159265358979 * resonance_hz / 8000);
  const double a2 = -r * r;
  std::vector<int16_t> out(kLength);
  double y1 = 0, y2 = 0;
  int left = syllable(random);
  bool voiced = true;
  for (int i = 0; i < kLength; ++i) {
    if (--left == 0) {
      voiced = !voiced;
      left = syllable(random);
    }
    const double y = (voiced ? 300.0 : 10.0) * noise(random) + a1 * y1 + a2 * y2;
    y2 = y1;
    y1 = y;
    out[static_cast<size_t>(i)] = static_cast<int16_t>(std::clamp(y, -32768.0, 32767.0));
  }
  return out;
}

// heard[n] = sum of gain * talker[n - delay].
std::vector<int16_t> Mix(const std::vector<std::tuple<const std::vector<int16_t>*, double, int>>& parts) {
  std::vector<int16_t> out(kLength);
  for (int n = 0; n < kLength; ++n) {
    double sum = 0;
    for (const auto& [talker, gain, delay] : parts) {
      if (n >= delay) sum += gain * (*talker)[static_cast<size_t>(n - delay)];
    }
    out[static_cast<size_t>(n)] = static_cast<int16_t>(std::clamp(std::round(sum), -32768.0, 32767.0));
  }
  return out;
}

class HeardMatrixTest : public ::testing::Test {
 protected:
  std::vector<int16_t> customer_ = Talker(1, 500);
  std::vector<int16_t> agent_ = Talker(2, 700);
  std::vector<int16_t> supervisor_ = Talker(3, 600);
  std::array<std::span<const int16_t>, kParties> sent_ = {customer_, agent_, supervisor_};
  Window window_{2400, kLength};
};

TEST_F(HeardMatrixTest, FindsEachSpeakersGainAndDelay) {
  const std::vector<int16_t> heard = Mix({{&customer_, 1.0, 400}, {&agent_, 0.5, 400}});
  const ListenerFit fit = FitListener(heard, {}, sent_, window_);
  const Contribution& customer = fit.from[static_cast<size_t>(Party::kCustomer)];
  const Contribution& agent = fit.from[static_cast<size_t>(Party::kAgent)];
  const Contribution& supervisor = fit.from[static_cast<size_t>(Party::kSupervisor)];
  EXPECT_NEAR(customer.gain_db, 0.0, 0.2);
  EXPECT_DOUBLE_EQ(customer.delay_ms, 50.0);
  EXPECT_EQ(customer.verdict, Verdict::kHeard);
  EXPECT_NEAR(agent.gain_db, -6.0, 0.2);
  EXPECT_DOUBLE_EQ(agent.delay_ms, 50.0);
  EXPECT_EQ(agent.verdict, Verdict::kHeard);
  EXPECT_LT(supervisor.gain_db, -30.0);
  EXPECT_EQ(supervisor.verdict, Verdict::kSilent);
  EXPECT_LT(fit.unexplained_db, -30.0);
}

TEST_F(HeardMatrixTest, SilenceHearsNobody) {
  const std::vector<int16_t> heard(kLength, 0);
  const ListenerFit fit = FitListener(heard, {}, sent_, window_);
  for (const Contribution& contribution : fit.from) EXPECT_EQ(contribution.verdict, Verdict::kSilent);
}

TEST_F(HeardMatrixTest, SilenceWhereAVoiceShouldBeCountsAgainstIt) {
  // The agent is heard for the first second only, then there is silence.
  std::vector<int16_t> heard = Mix({{&agent_, 1.0, 400}});
  heard.resize(8000);
  const ListenerFit fit = FitListener(heard, {}, sent_, window_);
  EXPECT_LT(fit.from[static_cast<size_t>(Party::kAgent)].gain_db, -3.0);
}

TEST_F(HeardMatrixTest, AnEchoOfTheListenersOwnVoiceShows) {
  const std::vector<int16_t> heard = Mix({{&agent_, 1.0, 400}, {&customer_, 0.3, 400}});
  const ListenerFit fit = FitListener(heard, {}, sent_, window_);
  EXPECT_NEAR(fit.from[static_cast<size_t>(Party::kCustomer)].gain_db, -10.5, 0.3);
}

TEST_F(HeardMatrixTest, ALeakAtTheMixersDelayIsMeasured) {
  // The supervisor leaks into the customer's mix at -25 dB: neither heard nor
  // silent, which the demo reports as a mismatch either way.
  const std::vector<int16_t> heard = Mix({{&agent_, 1.0, 400}, {&supervisor_, 0.056, 400}});
  const Contribution leak = FitListener(heard, {}, sent_, window_).from[static_cast<size_t>(Party::kSupervisor)];
  EXPECT_NEAR(leak.gain_db, -25.0, 1.0);
  EXPECT_EQ(leak.verdict, Verdict::kUnclear);
}

TEST_F(HeardMatrixTest, DelayStepsWithinAPhaseAreFollowed) {
  // The delay grows by 20 ms twice, as when Earshot's jitter buffer grows.
  std::vector<int16_t> heard = Mix({{&customer_, 1.0, 400}, {&agent_, 1.0, 400}});
  const std::vector<int16_t> later = Mix({{&customer_, 1.0, 560}, {&agent_, 1.0, 560}});
  const std::vector<int16_t> latest = Mix({{&customer_, 1.0, 720}, {&agent_, 1.0, 720}});
  std::copy(later.begin() + 12000, later.begin() + 20000, heard.begin() + 12000);
  std::copy(latest.begin() + 20000, latest.end(), heard.begin() + 20000);
  const ListenerFit fit = FitListener(heard, {}, sent_, window_);
  EXPECT_NEAR(fit.from[static_cast<size_t>(Party::kCustomer)].gain_db, 0.0, 0.5);
  EXPECT_NEAR(fit.from[static_cast<size_t>(Party::kAgent)].gain_db, 0.0, 0.5);
  EXPECT_LT(fit.from[static_cast<size_t>(Party::kSupervisor)].gain_db, -30.0);
  EXPECT_DOUBLE_EQ(fit.from[static_cast<size_t>(Party::kCustomer)].low_delay_ms, 50.0);
  EXPECT_DOUBLE_EQ(fit.from[static_cast<size_t>(Party::kCustomer)].high_delay_ms, 90.0);
  EXPECT_EQ(fit.from[static_cast<size_t>(Party::kCustomer)].delay_steps, 2);
}

TEST_F(HeardMatrixTest, HolesAreNotEvidenceOfSilence) {
  std::vector<int16_t> heard = Mix({{&agent_, 1.0, 400}});
  std::vector<uint8_t> covered(heard.size(), 1);
  for (size_t i = 10000; i < 18000; ++i) heard[i] = covered[i] = 0;  // a second of lost packets
  const ListenerFit fit = FitListener(heard, covered, sent_, window_);
  EXPECT_NEAR(fit.from[static_cast<size_t>(Party::kAgent)].gain_db, 0.0, 0.1);
  EXPECT_NEAR(fit.covered, 1.0 - 8000.0 / (kLength - 2400), 0.01);
  // Without the mask the lost second reads as the agent being quieter.
  EXPECT_LT(FitListener(heard, {}, sent_, window_).from[static_cast<size_t>(Party::kAgent)].gain_db, -0.5);
}

TEST(ExpectedHeardTest, FollowsProductMixSemantics) {
  using enum Party;
  // listen: C hears A, A hears C, S hears C + A.
  EXPECT_TRUE(ExpectedHeard(Phase::kListen, kCustomer, kAgent));
  EXPECT_FALSE(ExpectedHeard(Phase::kListen, kCustomer, kSupervisor));
  EXPECT_FALSE(ExpectedHeard(Phase::kListen, kAgent, kSupervisor));
  EXPECT_TRUE(ExpectedHeard(Phase::kListen, kSupervisor, kCustomer));
  EXPECT_TRUE(ExpectedHeard(Phase::kListen, kSupervisor, kAgent));
  // whisper: only the agent hears the supervisor.
  EXPECT_FALSE(ExpectedHeard(Phase::kWhisper, kCustomer, kSupervisor));
  EXPECT_TRUE(ExpectedHeard(Phase::kWhisper, kAgent, kSupervisor));
  // barge: everyone hears everyone else.
  EXPECT_TRUE(ExpectedHeard(Phase::kBarge, kCustomer, kSupervisor));
  EXPECT_TRUE(ExpectedHeard(Phase::kBarge, kAgent, kSupervisor));
  EXPECT_TRUE(ExpectedHeard(Phase::kBarge, kSupervisor, kAgent));
  for (Phase phase : kAllPhases) {
    for (Party party : kAllParties) EXPECT_FALSE(ExpectedHeard(phase, party, party));
  }
}

}  // namespace
}  // namespace earshot::demo

#include "tools/load/load_checker.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "codecs/g711.h"

namespace earshot::load {
namespace {

constexpr int kRate = 8000;

// `tones` summed at kToneDbfs each, through G.711 µ-law and back like the wire.
std::vector<int16_t> Signal(const std::vector<int>& tones, int length, double gain_db = 0.0) {
  const double amplitude = 32767.0 * std::pow(10.0, (kToneDbfs + gain_db) / 20.0);
  std::vector<int16_t> pcm(static_cast<size_t>(length));
  for (int i = 0; i < length; ++i) {
    double sum = 0.0;
    for (int hz : tones) sum += amplitude * std::sin(2.0 * std::numbers::pi * hz * i / kRate + hz);
    pcm[static_cast<size_t>(i)] = UlawToLinear(LinearToUlaw(static_cast<int16_t>(std::lround(sum))));
  }
  return pcm;
}

TEST(ToneMeter, ReadsTheLevelOfAPresentTone) {
  const ToneMeter meter(320, kRate);
  const std::vector<int16_t> pcm = Signal({ToneHz(0, 0)}, 320);
  EXPECT_NEAR(meter.LevelDbfs(pcm, ToneHz(0, 0)), kToneDbfs, 1.0);
}

TEST(ToneMeter, EveryPartyOfACallIsSeparableFromTheOthers) {
  const ToneMeter meter(320, kRate);
  for (int call = 0; call < 4; ++call) {
    for (int absent = 0; absent < kMaxParties; ++absent) {
      std::vector<int> present;
      for (int party = 0; party < kMaxParties; ++party) {
        if (party != absent) present.push_back(ToneHz(call, party));
      }
      const std::vector<int16_t> pcm = Signal(present, 320, -6.0);  // 7 tones, no clipping
      EXPECT_LT(meter.LevelDbfs(pcm, ToneHz(call, absent)), kAbsentDbfs)
          << "call " << call << " party " << absent;
      for (int hz : present) EXPECT_GT(meter.LevelDbfs(pcm, hz), kHeardDbfs);
    }
  }
}

TEST(JudgeWindow, CountsNothingWhenTheListenerHearsExactlyThePlan) {
  const ToneMeter meter(320, kRate);
  const std::vector<SupervisorMode> modes = {SupervisorMode::kWhisper};
  const Audibility plan = ExpectedAudibility(modes);
  // The agent hears customer + supervisor.
  const std::vector<int16_t> pcm = Signal({ToneHz(5, kCustomer), ToneHz(5, kFirstSupervisor)}, 320);
  const WindowVerdict verdict = JudgeWindow(meter, pcm, 5, kAgent, plan, 0);
  EXPECT_EQ(verdict.judged, 3);
  EXPECT_EQ(verdict.missing, 0);
  EXPECT_EQ(verdict.unexpected, 0);
}

TEST(JudgeWindow, ASupervisorLeakingIntoTheCustomerIsUnexpected) {
  const ToneMeter meter(320, kRate);
  const std::vector<SupervisorMode> modes = {SupervisorMode::kWhisper};
  const Audibility plan = ExpectedAudibility(modes);
  const std::vector<int16_t> pcm = Signal({ToneHz(1, kAgent), ToneHz(1, kFirstSupervisor)}, 320);
  const WindowVerdict verdict = JudgeWindow(meter, pcm, 1, kCustomer, plan, 0);
  EXPECT_EQ(verdict.unexpected, 1);
  EXPECT_EQ(verdict.missing, 0);
}

TEST(JudgeWindow, SilenceIsMissingEveryoneAndDontCareSkipsASpeaker) {
  const ToneMeter meter(320, kRate);
  const std::vector<SupervisorMode> modes = {SupervisorMode::kBarge};
  const Audibility plan = ExpectedAudibility(modes);
  const std::vector<int16_t> silence(320, 0);
  EXPECT_EQ(JudgeWindow(meter, silence, 0, kFirstSupervisor, plan, 0).missing, 2);
  EXPECT_EQ(JudgeWindow(meter, silence, 0, kFirstSupervisor, plan, 1u << kAgent).missing, 1);
}

TEST(JudgeWindow, HearingYourselfIsAnError) {
  const ToneMeter meter(320, kRate);
  const std::vector<SupervisorMode> modes = {SupervisorMode::kListen};
  const Audibility plan = ExpectedAudibility(modes);
  const std::vector<int16_t> pcm = Signal({ToneHz(2, kAgent), ToneHz(2, kCustomer)}, 320);
  EXPECT_EQ(JudgeWindow(meter, pcm, 2, kCustomer, plan, 0).unexpected, 1);
}

TEST(JudgeWindow, AQuietButPresentToneStillCounts) {
  const ToneMeter meter(320, kRate);
  const std::vector<SupervisorMode> modes = {SupervisorMode::kListen};
  const Audibility plan = ExpectedAudibility(modes);
  // 10 dB of attenuation through the mixer is still "heard".
  const std::vector<int16_t> pcm = Signal({ToneHz(3, kAgent)}, 320, -10.0);
  EXPECT_EQ(JudgeWindow(meter, pcm, 3, kCustomer, plan, 0).missing, 0);
}

TEST(OnsetDetector, WaitsForSilenceThenReportsTheReturningTone) {
  OnsetDetector detector;
  detector.Arm(750, 1000);
  EXPECT_EQ(detector.Feed(-20.0, 10), OnsetDetector::Step::kWaiting);  // still the old tone
  EXPECT_EQ(detector.Feed(-80.0, 20), OnsetDetector::Step::kWaiting);  // silence arrived
  EXPECT_EQ(detector.Feed(-60.0, 30), OnsetDetector::Step::kWaiting);
  EXPECT_EQ(detector.Feed(-22.0, 40), OnsetDetector::Step::kOnset);
  EXPECT_FALSE(detector.armed());
}

TEST(OnsetDetector, GivesUpAfterItsDeadline) {
  OnsetDetector detector;
  detector.Arm(750, 100);
  EXPECT_EQ(detector.Feed(-80.0, 50), OnsetDetector::Step::kWaiting);
  EXPECT_EQ(detector.Feed(-80.0, 101), OnsetDetector::Step::kTimedOut);
  EXPECT_EQ(detector.Feed(-20.0, 102), OnsetDetector::Step::kIdle);
}

}  // namespace
}  // namespace earshot::load

#include "tools/load/load_call_plan.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "tools/load/load_options.h"

namespace earshot::load {
namespace {

constexpr int C = kCustomer;
constexpr int A = kAgent;
constexpr int S = kFirstSupervisor;

struct Row {
  SupervisorMode mode;
  bool customer_hears_supervisor;
  bool agent_hears_supervisor;
};

// PRODUCT.md "Mix semantics", one row per mode.
TEST(ExpectedAudibility, OneSupervisorFollowsTheProductTable) {
  const Row rows[] = {
      {SupervisorMode::kListen, false, false},
      {SupervisorMode::kWhisper, false, true},
      {SupervisorMode::kWhisperCustomer, true, false},
      {SupervisorMode::kBarge, true, true},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string(ModeName(row.mode)));
    const std::vector<SupervisorMode> modes = {row.mode};
    const Audibility plan = ExpectedAudibility(modes);
    ASSERT_EQ(plan.parties, 3);
    EXPECT_TRUE(plan.Hears(C, A));
    EXPECT_TRUE(plan.Hears(A, C));
    EXPECT_TRUE(plan.Hears(S, C));
    EXPECT_TRUE(plan.Hears(S, A));
    EXPECT_EQ(plan.Hears(C, S), row.customer_hears_supervisor);
    EXPECT_EQ(plan.Hears(A, S), row.agent_hears_supervisor);
  }
}

TEST(ExpectedAudibility, NobodyHearsThemselves) {
  const std::vector<SupervisorMode> modes = {SupervisorMode::kBarge, SupervisorMode::kBarge,
                                             SupervisorMode::kWhisper};
  const Audibility plan = ExpectedAudibility(modes);
  for (int party = 0; party < plan.parties; ++party) EXPECT_FALSE(plan.Hears(party, party));
}

TEST(ExpectedAudibility, SupervisorsHearOnlyAudibleSupervisors) {
  // sup-1 listens (nobody hears it), sup-2 whispers (the agent hears it).
  const std::vector<SupervisorMode> modes = {SupervisorMode::kListen, SupervisorMode::kWhisper};
  const Audibility plan = ExpectedAudibility(modes);
  EXPECT_TRUE(plan.Hears(S, S + 1));   // sup-1 hears the whisperer
  EXPECT_FALSE(plan.Hears(S + 1, S));  // nobody hears a listener
  EXPECT_FALSE(plan.Hears(A, S));
  EXPECT_TRUE(plan.Hears(A, S + 1));
  EXPECT_FALSE(plan.Hears(C, S + 1));
}

TEST(ExpectedAudibility, ModeChangeMovesTheSupervisorsVoice) {
  std::vector<SupervisorMode> modes = {SupervisorMode::kListen};
  EXPECT_FALSE(ExpectedAudibility(modes).Hears(A, S));
  modes[0] = SupervisorMode::kWhisper;
  EXPECT_TRUE(ExpectedAudibility(modes).Hears(A, S));
  EXPECT_FALSE(ExpectedAudibility(modes).Hears(C, S));
  modes[0] = SupervisorMode::kBarge;
  EXPECT_TRUE(ExpectedAudibility(modes).Hears(C, S));
  modes[0] = SupervisorMode::kListen;
  EXPECT_FALSE(ExpectedAudibility(modes).Hears(C, S));
  EXPECT_FALSE(ExpectedAudibility(modes).Hears(A, S));
}

TEST(ToneHz, PartiesOfOneCallAreFarApartAndWholePeriodsPerPacket) {
  for (int call = 0; call < 8; ++call) {
    std::set<int> tones;
    for (int party = 0; party < kMaxParties; ++party) {
      const int hz = ToneHz(call, party);
      EXPECT_EQ(hz % 50, 0) << "20 ms must hold whole periods";
      EXPECT_GE(hz, 300);
      EXPECT_LE(hz, 3400) << "inside the telephone band";
      for (int other : tones) EXPECT_GE(std::abs(other - hz), 300);
      tones.insert(hz);
    }
  }
}

TEST(InitialMode, MixGoesRoundRobinOverListenWhisperBarge) {
  EXPECT_EQ(InitialMode(ModeChoice::kMix, 0, 0, 1), SupervisorMode::kListen);
  EXPECT_EQ(InitialMode(ModeChoice::kMix, 1, 0, 1), SupervisorMode::kWhisper);
  EXPECT_EQ(InitialMode(ModeChoice::kMix, 2, 0, 1), SupervisorMode::kBarge);
  EXPECT_EQ(InitialMode(ModeChoice::kMix, 3, 0, 1), SupervisorMode::kListen);
  EXPECT_EQ(InitialMode(ModeChoice::kMix, 0, 1, 2), SupervisorMode::kWhisper);
  EXPECT_EQ(InitialMode(ModeChoice::kBarge, 7, 0, 1), SupervisorMode::kBarge);
}

TEST(PartyLegId, NamesLegsLikeASipServerWould) {
  EXPECT_EQ(PartyLegId(C), "customer");
  EXPECT_EQ(PartyLegId(A), "agent");
  EXPECT_EQ(PartyLegId(S), "sup-1");
  EXPECT_EQ(PartyLegId(S + 2), "sup-3");
}

}  // namespace
}  // namespace earshot::load

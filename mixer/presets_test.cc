#include "mixer/presets.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace earshot::mixer {
namespace {

constexpr int kC = 0;
constexpr int kA = 1;
constexpr int kS = 2;
constexpr int kS2 = 3;

std::vector<SlotRole> Call(std::vector<SupervisorMode> supervisors) {
  std::vector<SlotRole> slots = {{true, Role::kCustomer, SupervisorMode::kListen},
                                 {true, Role::kAgent, SupervisorMode::kListen}};
  for (SupervisorMode mode : supervisors) slots.push_back({true, Role::kSupervisor, mode});
  return slots;
}

// "CA" means: hears the customer and the agent.
std::string Heard(const GainMatrix& matrix, int dst) {
  static constexpr char kNames[] = {'C', 'A', 'S', 'T'};
  std::string heard;
  for (int src = 0; src < matrix.size(); ++src) {
    if (matrix.Hears(dst, src)) heard += kNames[src];
  }
  return heard;
}

struct ModeRow {
  SupervisorMode mode;
  std::string customer_hears;
  std::string agent_hears;
  std::string supervisor_hears;
};

class PresetFollowsProductTable : public ::testing::TestWithParam<ModeRow> {};

TEST_P(PresetFollowsProductTable, ForOneSupervisor) {
  const ModeRow& row = GetParam();
  GainMatrix matrix = BuildPresetMatrix(Call({row.mode}));
  EXPECT_EQ(Heard(matrix, kC), row.customer_hears);
  EXPECT_EQ(Heard(matrix, kA), row.agent_hears);
  EXPECT_EQ(Heard(matrix, kS), row.supervisor_hears);
  EXPECT_TRUE(ValidateMatrix(matrix, 3).has_value());
}

// PRODUCT.md "Mix semantics", row by row.
INSTANTIATE_TEST_SUITE_P(
    Modes, PresetFollowsProductTable,
    ::testing::Values(ModeRow{SupervisorMode::kListen, "A", "C", "CA"},
                      ModeRow{SupervisorMode::kWhisper, "A", "CS", "CA"},
                      ModeRow{SupervisorMode::kWhisperCustomer, "AS", "C", "CA"},
                      ModeRow{SupervisorMode::kBarge, "AS", "CS", "CA"},
                      ModeRow{SupervisorMode::kTakeover, "S", "", "C"}),
    [](const auto& param_info) {
      std::string name(SupervisorModeName(param_info.param.mode));
      name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
      return name;
    });

TEST(PresetTest, ListeningSupervisorsDoNotHearEachOther) {
  GainMatrix matrix = BuildPresetMatrix(Call({SupervisorMode::kListen, SupervisorMode::kListen}));
  EXPECT_EQ(Heard(matrix, kS), "CA");
  EXPECT_EQ(Heard(matrix, kS2), "CA");
}

TEST(PresetTest, SupervisorsHearAnotherSupervisorWhoIsAudibleToSomeone) {
  GainMatrix matrix = BuildPresetMatrix(Call({SupervisorMode::kListen, SupervisorMode::kWhisper}));
  EXPECT_EQ(Heard(matrix, kC), "A");
  EXPECT_EQ(Heard(matrix, kA), "CT");
  EXPECT_EQ(Heard(matrix, kS), "CAT");  // the listener hears the coach too
  EXPECT_EQ(Heard(matrix, kS2), "CA");  // the coach does not hear the silent listener
}

TEST(PresetTest, TakeoverRemovesTheAgentForEveryone) {
  GainMatrix matrix = BuildPresetMatrix(Call({SupervisorMode::kTakeover, SupervisorMode::kListen}));
  EXPECT_EQ(Heard(matrix, kC), "S");
  EXPECT_EQ(Heard(matrix, kA), "");
  EXPECT_EQ(Heard(matrix, kS), "C");
  EXPECT_EQ(Heard(matrix, kS2), "CS");
}

TEST(PresetTest, ThreeSupervisorsInDifferentModes) {
  std::vector<SlotRole> slots = Call({SupervisorMode::kWhisper, SupervisorMode::kWhisperCustomer,
                                      SupervisorMode::kListen});
  GainMatrix matrix = BuildPresetMatrix(slots);
  // C=0 A=1 S(whisper)=2 T(whisper-customer)=3 U(listen)=4
  EXPECT_TRUE(matrix.Hears(kA, 2));
  EXPECT_FALSE(matrix.Hears(kC, 2));
  EXPECT_TRUE(matrix.Hears(kC, 3));
  EXPECT_FALSE(matrix.Hears(kA, 3));
  EXPECT_FALSE(matrix.Hears(kA, 4));
  EXPECT_FALSE(matrix.Hears(kC, 4));
  for (int supervisor : {2, 3, 4}) {
    EXPECT_TRUE(matrix.Hears(supervisor, kC));
    EXPECT_TRUE(matrix.Hears(supervisor, kA));
  }
  EXPECT_TRUE(matrix.Hears(4, 2));
  EXPECT_TRUE(matrix.Hears(4, 3));
  EXPECT_TRUE(matrix.Hears(2, 3));
  EXPECT_FALSE(matrix.Hears(2, 4));
}

TEST(PresetTest, UnusedSlotsHearNothingAndAreHeardByNobody) {
  std::vector<SlotRole> slots = Call({SupervisorMode::kBarge});
  slots.insert(slots.begin() + 1, SlotRole{});  // an empty slot between C and A
  GainMatrix matrix = BuildPresetMatrix(slots);
  for (int other = 0; other < matrix.size(); ++other) {
    EXPECT_FALSE(matrix.Hears(1, other));
    EXPECT_FALSE(matrix.Hears(other, 1));
  }
  EXPECT_TRUE(matrix.Hears(0, 2));  // customer still hears the agent
}

TEST(PresetTest, OtherPartiesFormAConference) {
  std::vector<SlotRole> slots(4, SlotRole{true, Role::kOther, SupervisorMode::kListen});
  GainMatrix matrix = BuildPresetMatrix(slots);
  for (int dst = 0; dst < 4; ++dst) {
    for (int src = 0; src < 4; ++src) EXPECT_EQ(matrix.Hears(dst, src), dst != src);
  }
}

TEST(PresetTest, ModeAndRoleNamesRoundTrip) {
  for (SupervisorMode mode : {SupervisorMode::kListen, SupervisorMode::kWhisper,
                              SupervisorMode::kWhisperCustomer, SupervisorMode::kBarge,
                              SupervisorMode::kTakeover}) {
    EXPECT_EQ(ParseSupervisorMode(SupervisorModeName(mode)), mode);
  }
  EXPECT_EQ(ParseSupervisorMode("eavesdrop"), std::nullopt);
  EXPECT_EQ(ParseRole("agent"), Role::kAgent);
  EXPECT_EQ(ParseRole("boss"), std::nullopt);
}

}  // namespace
}  // namespace earshot::mixer

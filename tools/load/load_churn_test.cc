#include "tools/load/load_churn.h"

#include <gtest/gtest.h>

namespace earshot::load {
namespace {

constexpr int64_t kS = 1'000'000'000;
constexpr int64_t kMs = 1'000'000;

TEST(ChurnSlotCount, HoldsRateTimesHoldPlusRoomForRpcs) {
  EXPECT_EQ(ChurnSlotCount(0.0, 2.0), 0);
  EXPECT_EQ(ChurnSlotCount(50.0, 2.0), 100 + 25 + 2);
  EXPECT_EQ(ChurnSlotCount(10.0, 1.0), 10 + 5 + 2);
  EXPECT_EQ(ChurnSlotCount(0.3, 1.0), 1 + 1 + 2) << "fractions round up";
}

TEST(ChurnSchedule, SetUpsFollowTheRateAndStopWhenTheHoldWouldOutliveTheRun) {
  // 10/s held 1 s, every call down by 3 s: set-ups at 0, 0.1, ..., 2.0 s.
  ChurnSchedule schedule(10.0, 1.0, 20, 0, 3 * kS);
  int setups = 0;
  while (schedule.next_setup_ns() != kNever) {
    EXPECT_EQ(schedule.next_setup_ns(), setups * 100 * kMs);
    const int slot = schedule.BeginSetUp();
    ASSERT_GE(slot, 0);
    schedule.SetUpDone(slot, schedule.next_setup_ns(), false);  // failed: free again at once
    ++setups;
  }
  EXPECT_EQ(setups, 21);
  EXPECT_EQ(schedule.missed(), 0);
}

TEST(ChurnSchedule, SlotIsHeldThenTornDownAndReusedLast) {
  ChurnSchedule schedule(10.0, 1.0, 3, 0, 10 * kS);
  const int a = schedule.BeginSetUp();
  schedule.SetUpDone(a, 5 * kMs, true);
  EXPECT_EQ(schedule.up(), 1);
  EXPECT_EQ(schedule.next_teardown_ns(), 1005 * kMs) << "held from when the set-up finished";
  EXPECT_EQ(schedule.BeginTearDown(1004 * kMs), -1) << "not due yet";
  EXPECT_EQ(schedule.BeginTearDown(1005 * kMs), a);
  EXPECT_EQ(schedule.next_teardown_ns(), kNever) << "tearing down is not up";
  schedule.TearDownDone(a);
  EXPECT_EQ(schedule.up(), 0);
  // FIFO: the two untouched slots come before the one just freed.
  const int b = schedule.BeginSetUp();
  const int c = schedule.BeginSetUp();
  const int d = schedule.BeginSetUp();
  EXPECT_NE(b, a);
  EXPECT_NE(c, a);
  EXPECT_EQ(d, a);
}

TEST(ChurnSchedule, SetUpWithEverySlotBusyIsMissedNotQueued) {
  ChurnSchedule schedule(10.0, 1.0, 2, 0, 10 * kS);
  schedule.SetUpDone(schedule.BeginSetUp(), 0, true);
  schedule.SetUpDone(schedule.BeginSetUp(), 0, true);
  EXPECT_EQ(schedule.BeginSetUp(), -1);
  EXPECT_EQ(schedule.missed(), 1);
  EXPECT_EQ(schedule.next_setup_ns(), 300 * kMs) << "the schedule moved on";
}

TEST(ChurnSchedule, TearDownsComeEarliestFirstAndNeverPastTheEnd) {
  ChurnSchedule schedule(10.0, 1.0, 4, 0, 2 * kS);
  const int late = schedule.BeginSetUp();
  const int early = schedule.BeginSetUp();
  const int slow = schedule.BeginSetUp();
  schedule.SetUpDone(late, 300 * kMs, true);
  schedule.SetUpDone(early, 100 * kMs, true);
  schedule.SetUpDone(slow, 1900 * kMs, true);  // a slow set-up: still down by the end
  EXPECT_EQ(schedule.BeginTearDown(5 * kS), early);
  EXPECT_EQ(schedule.BeginTearDown(5 * kS), late);
  EXPECT_EQ(schedule.next_teardown_ns(), 2 * kS);
  EXPECT_EQ(schedule.Busy(), std::vector<int>{slow});
}

}  // namespace
}  // namespace earshot::load

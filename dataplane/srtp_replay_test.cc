#include "dataplane/srtp_replay.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace earshot::dataplane {
namespace {

constexpr uint64_t Index(uint32_t roc, uint16_t seq) { return uint64_t{roc} << 16 | seq; }

// RFC 3711 Appendix A, across the wrap in both directions (NetEq style rows).
TEST(SrtpIndexTest, EstimatesTheRolloverCounterAcrossTheWrap) {
  struct Row {
    uint64_t highest;
    uint16_t seq;
    uint64_t expected;
  };
  const std::vector<Row> rows = {
      {Index(0, 100), 101, Index(0, 101)},
      {Index(0, 100), 50, Index(0, 50)},
      {Index(0, 100), 65000, Index(0, 65000)},  // ROC 0 has no predecessor
      {Index(0, 0xFFFD), 0x0006, Index(1, 0x0006)},
      {Index(0, 0xFFFD), 0xFFF0, Index(0, 0xFFF0)},
      {Index(1, 0x0006), 0xFFFD, Index(0, 0xFFFD)},  // late, from before the wrap
      {Index(1, 0x0006), 0x0007, Index(1, 0x0007)},
      {Index(5, 0x8000), 0x0001, Index(5, 0x0001)},
      {Index(5, 0x8001), 0x0000, Index(6, 0x0000)},
      {Index(5, 0x7FFF), 0xFFFF, Index(5, 0xFFFF)},
      {Index(5, 0x7FFF), 0x0000, Index(5, 0x0000)},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(EstimateSrtpIndex(row.highest, row.seq), row.expected)
        << "highest " << row.highest << " seq " << row.seq;
  }
}

TEST(SrtpReplayWindowTest, RefusesRepeatsAndTheTooOldAndAcceptsReordering) {
  ReplayWindow window;
  ASSERT_TRUE(window.Init(64));
  EXPECT_EQ(window.Check(1000), ReplayVerdict::kFresh);
  window.Accept(1000);
  EXPECT_EQ(window.Check(1000), ReplayVerdict::kReplayed);
  EXPECT_EQ(window.Check(999), ReplayVerdict::kFresh);
  EXPECT_EQ(window.Check(1000 - 63), ReplayVerdict::kFresh);
  EXPECT_EQ(window.Check(1000 - 64), ReplayVerdict::kTooOld);
  window.Accept(990);
  EXPECT_EQ(window.Check(990), ReplayVerdict::kReplayed);
  window.Accept(1010);
  EXPECT_EQ(window.highest(), 1010u);
  EXPECT_EQ(window.Check(990), ReplayVerdict::kReplayed);
  EXPECT_EQ(window.Check(1005), ReplayVerdict::kFresh);
  EXPECT_EQ(window.Check(1010 - 64), ReplayVerdict::kTooOld);
}

// The ring bitmap must not remember bits from a lap ago: after moving the top
// forward by less than, exactly and more than its capacity, only what was
// accepted since is marked.
TEST(SrtpReplayWindowTest, AdvancingClearsStaleBitsForEveryStepSize) {
  for (int size : {64, 100, 128, 1000}) {
    for (uint64_t step : {1u, 63u, 64u, 65u, 127u, 128u, 129u, 1000u, 1024u, 5000u}) {
      ReplayWindow window;
      ASSERT_TRUE(window.Init(size));
      const uint64_t base = 70000;
      for (uint64_t i = 0; i < static_cast<uint64_t>(size); ++i) window.Accept(base + i);
      const uint64_t top = base + static_cast<uint64_t>(size) - 1 + step;
      window.Accept(top);
      for (uint64_t back = 1; back < static_cast<uint64_t>(size); ++back) {
        const uint64_t index = top - back;
        const ReplayVerdict expected =
            index < base + static_cast<uint64_t>(size) ? ReplayVerdict::kReplayed
                                                       : ReplayVerdict::kFresh;
        ASSERT_EQ(window.Check(index), expected)
            << "size " << size << " step " << step << " back " << back;
      }
      ASSERT_EQ(window.Check(top - static_cast<uint64_t>(size)), ReplayVerdict::kTooOld);
    }
  }
}

TEST(SrtpReplayWindowTest, ClearBitsKeepsTheTop) {
  ReplayWindow window;
  ASSERT_TRUE(window.Init(128));
  window.Accept(500);
  window.ClearBits();
  EXPECT_EQ(window.highest(), 500u);
  EXPECT_EQ(window.Check(500), ReplayVerdict::kFresh);
  EXPECT_EQ(window.Check(300), ReplayVerdict::kTooOld);
}

TEST(SrtpReplayWindowTest, SizeIsValidated) {
  ReplayWindow window;
  EXPECT_FALSE(window.Init(0));
  EXPECT_FALSE(window.Init(ReplayWindow::kMaxSize + 1));
  EXPECT_TRUE(window.Init(ReplayWindow::kMaxSize));
}

}  // namespace
}  // namespace earshot::dataplane

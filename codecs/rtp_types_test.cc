#include "codecs/rtp_types.h"

#include <cstdint>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

namespace earshot {
namespace {

// Compile-time checks: the types stay constexpr-friendly and keep no default
// constructor (STYLE.md §4).
static_assert(!std::is_default_constructible_v<SequenceNumber>);
static_assert(!std::is_default_constructible_v<RtpTimestamp>);
static_assert(!std::is_convertible_v<uint16_t, SequenceNumber>);
static_assert(SequenceNumber(0xFFFF).Next() == SequenceNumber(0));
static_assert(RtpTimestamp(1).IsNewerThan(RtpTimestamp(0xFFFFFFFF)));

struct NewerRow {
  uint16_t a;
  uint16_t b;
  bool a_newer;
  bool b_newer;
};

TEST(SequenceNumberTest, IsNewerThanFollowsSerialArithmeticAcrossWrap) {
  const NewerRow rows[] = {
      {1, 0, true, false},
      {0, 0, false, false},
      {0x0006, 0xFFFD, true, false},  // NetEq's wrap row
      {0x0000, 0xFFFF, true, false},
      {0x7FFF, 0x0000, true, false},  // just under half way
      {0x8001, 0x0000, false, true},  // just over half way: 0 is newer
      {0x8000, 0x0000, true, false},  // exactly half way: larger value wins
      {0xFFFF, 0x7FFF, true, false},  // half way again, across the top
      {0x1234, 0x9234, false, true},  // half way, larger value is b
  };
  for (const NewerRow& row : rows) {
    SCOPED_TRACE(testing::Message() << std::hex << row.a << " vs " << row.b);
    EXPECT_EQ(SequenceNumber(row.a).IsNewerThan(SequenceNumber(row.b)), row.a_newer);
    EXPECT_EQ(SequenceNumber(row.b).IsNewerThan(SequenceNumber(row.a)), row.b_newer);
  }
}

TEST(SequenceNumberTest, ExactlyOneOfTwoDistinctValuesIsNewer) {
  for (uint32_t b = 0; b <= 0xFFFF; b += 0x111) {
    for (uint32_t d = 1; d <= 0xFFFF; d += 0x7F) {
      const SequenceNumber sb(static_cast<uint16_t>(b));
      const SequenceNumber sa = sb + static_cast<int>(d);
      EXPECT_NE(sa.IsNewerThan(sb), sb.IsNewerThan(sa)) << b << " " << d;
    }
  }
}

TEST(SequenceNumberTest, ArithmeticWrapsBothWays) {
  EXPECT_EQ(SequenceNumber(0xFFFD) + 9, SequenceNumber(0x0006));
  EXPECT_EQ(SequenceNumber(0x0006) + -9, SequenceNumber(0xFFFD));
  EXPECT_EQ(SequenceNumber(0xFFFF).Next(), SequenceNumber(0));
  EXPECT_EQ(SequenceNumber(7) + 0x10000, SequenceNumber(7));
}

TEST(RtpTimestampTest, IsNewerThanAndDiffFromAcrossWrap) {
  struct Row {
    uint32_t newer;
    uint32_t older;
    int32_t diff;
  };
  const Row rows[] = {
      {160, 0, 160},
      {0x0000009F, 0xFFFFFFFF, 160},  // one 20 ms PCMU frame across the wrap
      {0x7FFFFFFF, 0x00000000, 0x7FFFFFFF},
      {0x80000000, 0x00000000, INT32_MIN},  // half way: larger value is newer
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(testing::Message() << std::hex << row.newer << " vs " << row.older);
    const RtpTimestamp newer(row.newer);
    const RtpTimestamp older(row.older);
    EXPECT_TRUE(newer.IsNewerThan(older));
    EXPECT_FALSE(older.IsNewerThan(newer));
    EXPECT_EQ(newer.DiffFrom(older), row.diff);
  }
  EXPECT_EQ(RtpTimestamp(0).DiffFrom(RtpTimestamp(160)), -160);
  EXPECT_FALSE(RtpTimestamp(5).IsNewerThan(RtpTimestamp(5)));
}

TEST(RtpTimestampTest, AddingSamplesWraps) {
  EXPECT_EQ(RtpTimestamp(0xFFFFFF60) + 160, RtpTimestamp(0));
  EXPECT_EQ(RtpTimestamp(0xFFFFFFFF) + 161, RtpTimestamp(160));
}

struct UnwrapRow {
  uint16_t seq;
  int64_t expected;
};

void ExpectSequenceUnwraps(const std::vector<UnwrapRow>& rows) {
  SequenceUnwrapper unwrapper;
  for (size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(testing::Message() << "row " << i << " seq " << rows[i].seq);
    EXPECT_EQ(unwrapper.Unwrap(SequenceNumber(rows[i].seq)), rows[i].expected);
  }
}

TEST(SequenceUnwrapperTest, FirstValueMapsToItself) {
  ExpectSequenceUnwraps({{0xFFFD, 0xFFFD}});
  ExpectSequenceUnwraps({{0, 0}});
  ExpectSequenceUnwraps({{0x8000, 0x8000}});
}

TEST(SequenceUnwrapperTest, ForwardAcrossWrapKeepsCounting) {
  // NetEq's rows: 0xFFFD .. 0x0006 are ten consecutive packets.
  std::vector<UnwrapRow> rows;
  for (int64_t i = 0; i < 10; ++i) {
    rows.push_back({static_cast<uint16_t>(0xFFFD + i), 0xFFFD + i});
  }
  ExpectSequenceUnwraps(rows);
}

TEST(SequenceUnwrapperTest, ReorderedPacketBeforeWrapStaysInOldCycle) {
  ExpectSequenceUnwraps({
      {0xFFFE, 0xFFFE},
      {0x0001, 0x10001},  // jumped over the wrap
      {0xFFFF, 0xFFFF},   // late packet from the old cycle
      {0x0000, 0x10000},  // and back into the new one
      {0x0002, 0x10002},
  });
}

TEST(SequenceUnwrapperTest, ReorderedPacketAfterWrapStaysInNewCycle) {
  ExpectSequenceUnwraps({
      {0xFFFE, 0xFFFE},
      {0xFFFF, 0xFFFF},
      {0x0002, 0x10002},
      {0x0001, 0x10001},  // late, but already past the wrap
      {0x0000, 0x10000},
  });
}

TEST(SequenceUnwrapperTest, BackwardStepBeforeFirstValueGoesNegative) {
  // Closest extended value, as WebRTC's unwrapper; RFC 3550 form wraps cycles.
  SequenceUnwrapper unwrapper;
  EXPECT_EQ(unwrapper.Unwrap(SequenceNumber(0)), 0);
  const int64_t late = unwrapper.Unwrap(SequenceNumber(0xFFFF));
  EXPECT_EQ(late, -1);
  EXPECT_EQ(ExtendedRfc3550(late), 0xFFFFFFFFu);
  EXPECT_EQ(unwrapper.Unwrap(SequenceNumber(1)), 1);
}

TEST(SequenceUnwrapperTest, HalfWayJumpFollowsIsNewerTieBreak) {
  // 0 -> 0x8000: larger value is newer, so forward. 0x8000 -> 0: backward.
  ExpectSequenceUnwraps({{0, 0}, {0x8000, 0x8000}, {0, 0}});
  // From 0x8000 up to 0x0000 is forward only via the wrap; tie says 0 is older.
  ExpectSequenceUnwraps({{0x8000, 0x8000}, {0x0000, 0}});
  ExpectSequenceUnwraps({{0xC000, 0xC000}, {0x4000, 0x4000}});
}

TEST(SequenceUnwrapperTest, LongMonotoneRunOverManyWraps) {
  SequenceUnwrapper unwrapper;
  const int64_t start = 0xFF00;
  // Stride 1000 stays well below half way, so every step is forward.
  for (int64_t i = 0; i < 10 * 65536; i += 1000) {
    const int64_t expected = start + i;
    const SequenceNumber seq(static_cast<uint16_t>(expected));
    ASSERT_EQ(unwrapper.Unwrap(seq), expected) << i;
  }
}

TEST(SequenceUnwrapperTest, PeekDoesNotMoveTheReference) {
  SequenceUnwrapper unwrapper;
  EXPECT_EQ(unwrapper.PeekUnwrap(SequenceNumber(5)), 5);
  EXPECT_EQ(unwrapper.Unwrap(SequenceNumber(0xFFF0)), 0xFFF0);
  EXPECT_EQ(unwrapper.PeekUnwrap(SequenceNumber(3)), 0x10003);
  EXPECT_EQ(unwrapper.PeekUnwrap(SequenceNumber(0xFFE0)), 0xFFE0);
  EXPECT_EQ(unwrapper.Unwrap(SequenceNumber(0xFFF1)), 0xFFF1);
}

TEST(SequenceUnwrapperTest, Rfc3550FormCountsCyclesInHighBits) {
  EXPECT_EQ(ExtendedRfc3550(0x1FFFF), 0x0001FFFFu);
  EXPECT_EQ(ExtendedRfc3550(0x30005), 0x00030005u);
  // 2^32 unwrapped wraps the 16-bit cycle count back to zero.
  EXPECT_EQ(ExtendedRfc3550((int64_t{1} << 32) + 7), 7u);
}

TEST(TimestampUnwrapperTest, UnwrapsAcrossWrapAndReorder) {
  struct Row {
    uint32_t ts;
    int64_t expected;
  };
  const Row rows[] = {
      {0xFFFFFE00, 0xFFFFFE00},
      {0xFFFFFFA0, 0xFFFFFFA0},
      {0x00000040, 0x100000040},
      {0xFFFFFFF0, 0xFFFFFFF0},  // late packet from before the wrap
      {0x000000E0, 0x1000000E0},
      {0x80000000, 0x180000000},  // a forward jump still under half way
  };
  TimestampUnwrapper unwrapper;
  for (const Row& row : rows) {
    EXPECT_EQ(unwrapper.Unwrap(RtpTimestamp(row.ts)), row.expected) << std::hex << row.ts;
  }
}

TEST(TimestampUnwrapperTest, LongMonotoneRunOverManyWraps) {
  TimestampUnwrapper unwrapper;
  const int64_t stride = 0x30000000;  // ~3/16 of the circle per step
  for (int64_t expected = 0xF0000000; expected < (int64_t{12} << 32); expected += stride) {
    ASSERT_EQ(unwrapper.Unwrap(RtpTimestamp(static_cast<uint32_t>(expected))), expected);
  }
}

}  // namespace
}  // namespace earshot

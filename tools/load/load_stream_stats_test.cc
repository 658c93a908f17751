#include "tools/load/load_stream_stats.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace earshot::load {
namespace {

constexpr int64_t kMs = 1'000'000;

struct Case {
  const char* name;
  std::vector<uint16_t> sequence;
  int64_t lost;
  int64_t duplicates;
  int64_t reordered;
};

// Packets every 20 ms with timestamps +160; only the order of arrival varies.
TEST(RtpStreamStats, CountsLossDuplicatesAndReorderingAcrossWrapAround) {
  const Case cases[] = {
      {"in order", {10, 11, 12, 13}, 0, 0, 0},
      {"one gap", {10, 11, 13, 14}, 1, 0, 0},
      {"wrap without loss", {0xFFFD, 0xFFFE, 0xFFFF, 0x0000, 0x0001}, 0, 0, 0},
      {"loss across the wrap", {0xFFFD, 0xFFFE, 0x0001, 0x0002}, 2, 0, 0},
      {"duplicate", {5, 6, 6, 7}, 0, 1, 0},
      {"reordered fills its gap", {5, 7, 6, 8}, 0, 0, 1},
      {"reordered across the wrap", {0xFFFE, 0x0000, 0xFFFF, 0x0001}, 0, 0, 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    RtpStreamStats stats(8000);
    int64_t arrival = 0;
    for (uint16_t seq : c.sequence) {
      stats.OnPacket(seq, static_cast<uint32_t>(seq) * 160u, arrival);
      arrival += 20 * kMs;
    }
    EXPECT_EQ(stats.received(), static_cast<int64_t>(c.sequence.size()));
    EXPECT_EQ(stats.lost(), c.lost);
    EXPECT_EQ(stats.duplicates(), c.duplicates);
    EXPECT_EQ(stats.reordered(), c.reordered);
  }
}

TEST(RtpStreamStats, PerfectPacingHasNoJitter) {
  RtpStreamStats stats(8000);
  for (int i = 0; i < 100; ++i) stats.OnPacket(static_cast<uint16_t>(i), 4294967000u + 160u * i, i * 20 * kMs);
  EXPECT_NEAR(stats.jitter_ms(), 0.0, 1e-6) << "including the timestamp wrap";
}

TEST(RtpStreamStats, AlternatingArrivalConvergesToTheRfc3550Value) {
  // Arrivals alternately 5 ms early and late: |D| = 10 ms every packet, so J -> 10 ms.
  RtpStreamStats stats(8000);
  for (int i = 0; i < 500; ++i) {
    const int64_t arrival = i * 20 * kMs + (i % 2 == 0 ? -5 : 5) * kMs + 100 * kMs;
    stats.OnPacket(static_cast<uint16_t>(i), 160u * static_cast<uint32_t>(i), arrival);
  }
  EXPECT_NEAR(stats.jitter_ms(), 10.0, 0.01);
}

TEST(RtpStreamStats, EmptyStreamExpectsNothing) {
  RtpStreamStats stats(8000);
  EXPECT_EQ(stats.expected(), 0);
  EXPECT_EQ(stats.lost(), 0);
}

TEST(RtpStreamStats, SkippedTicksShowAsNotSentThoughSequencesAreContiguous) {
  // A mixer 3 ticks behind skips them: sequence 10 follows 9, but the
  // timestamp jumps 4 packets' worth, across the 32-bit wrap.
  RtpStreamStats stats(8000);
  uint32_t timestamp = 4294967296u - 5u * 160u;
  for (uint16_t seq = 0; seq < 20; ++seq) {
    if (seq == 10) timestamp += 3u * 160u;
    stats.OnPacket(seq, timestamp, seq * 20 * kMs);
    timestamp += 160u;
  }
  EXPECT_EQ(stats.lost(), 0) << "no sequence gap";
  EXPECT_EQ(stats.not_sent(), 3);
}

TEST(RtpStreamStats, LostPacketsAreNotAlsoCountedAsNotSent) {
  RtpStreamStats stats(48000);  // Opus: 960 per 20 ms
  for (uint16_t seq = 0; seq < 20; ++seq) {
    if (seq == 7 || seq == 8) continue;  // lost in the network: their slots are in the sequence span
    stats.OnPacket(seq, 960u * seq + 3u /* wobble */, seq * 20 * kMs);
  }
  EXPECT_EQ(stats.lost(), 2);
  EXPECT_EQ(stats.not_sent(), 0);
}

TEST(RtpStreamStats, TenMillisecondPacketsUseTheirOwnSlotSize) {
  RtpStreamStats stats(8000, 10);
  for (uint16_t seq = 0; seq < 10; ++seq) stats.OnPacket(seq, 80u * seq + (seq >= 5 ? 80u : 0u), seq * 10 * kMs);
  EXPECT_EQ(stats.not_sent(), 1);
}

}  // namespace
}  // namespace earshot::load

#include "dataplane/dpdk/neighbour_table.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace earshot::dataplane::dpdk {
namespace {

MacAddress Mac(uint8_t last) { return MacAddress{{0x02, 0, 0, 0, 0, last}}; }

TEST(NeighbourTableTest, LearntAddressesAreFoundAndUpdated) {
  NeighbourTable table(8);
  EXPECT_FALSE(table.Find(0x0A000001).has_value());
  EXPECT_TRUE(table.Learn(0x0A000001, Mac(1)));
  EXPECT_EQ(table.Find(0x0A000001), Mac(1));
  EXPECT_TRUE(table.Learn(0x0A000001, Mac(2)));  // the peer's NIC was swapped
  EXPECT_EQ(table.Find(0x0A000001), Mac(2));
  EXPECT_FALSE(table.Learn(0, Mac(3)));
  EXPECT_EQ(table.size(), 1u);
}

TEST(NeighbourTableTest, StaticEntriesWinAndAFullTableRefuses) {
  NeighbourTable table(2);
  ASSERT_TRUE(table.AddStatic(0x0A000001, Mac(1)));
  EXPECT_FALSE(table.Learn(0x0A000001, Mac(9))) << "ARP must not override configuration";
  EXPECT_EQ(table.Find(0x0A000001), Mac(1));
  EXPECT_TRUE(table.Learn(0x0A000002, Mac(2)));
  EXPECT_FALSE(table.Learn(0x0A000003, Mac(3)));
  EXPECT_FALSE(table.Find(0x0A000003).has_value());
}

TEST(NeighbourTableTest, WorkersLearnAndLookUpConcurrently) {
  NeighbourTable table(256);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&table, t] {
      for (int round = 0; round < 1000; ++round) {
        for (uint32_t i = 1; i <= 100; ++i) {
          table.Learn(0x0A000000 + i, Mac(static_cast<uint8_t>(i)));
          auto found = table.Find(0x0A000000 + ((i + static_cast<uint32_t>(t)) % 100) + 1);
          if (found) {
            EXPECT_EQ(found->bytes[0], 0x02);
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(table.size(), 100u);
  for (uint32_t i = 1; i <= 100; ++i) EXPECT_EQ(table.Find(0x0A000000 + i), Mac(static_cast<uint8_t>(i)));
}

TEST(NeighbourTableTest, LearntEntriesAskForARefreshThenExpireUnlessHeardAgain) {
  constexpr int64_t kSecond = 1'000'000'000;
  NeighbourTable table(8, std::chrono::seconds(60), std::chrono::seconds(300));
  const uint32_t ip = 0x0A000001;
  const int64_t t0 = 1000 * kSecond;
  ASSERT_TRUE(table.Learn(ip, Mac(1), t0));
  struct Row {
    int64_t at_s;  // seconds after t0
    bool known;
    bool refresh;
  };
  for (const Row& row : {Row{0, true, false}, Row{59, true, false}, Row{60, true, true},
                         Row{299, true, true}, Row{300, false, false}, Row{5000, false, false}}) {
    SCOPED_TRACE(row.at_s);
    const NeighbourTable::Neighbour found = table.Lookup(ip, t0 + row.at_s * kSecond);
    EXPECT_EQ(found.mac.has_value(), row.known);
    if (found.mac) {
      EXPECT_EQ(*found.mac, Mac(1));
    }
    EXPECT_EQ(found.refresh, row.refresh);
  }
  // An answer to the refresh starts the entry's life again.
  ASSERT_TRUE(table.Learn(ip, Mac(1), t0 + 100 * kSecond));
  EXPECT_FALSE(table.Lookup(ip, t0 + 150 * kSecond).refresh);
  EXPECT_TRUE(table.Lookup(ip, t0 + 160 * kSecond).refresh);
  EXPECT_TRUE(table.Lookup(ip, t0 + 399 * kSecond).mac.has_value());
  // Expired, then heard from again (with a new MAC): known at once.
  EXPECT_FALSE(table.Lookup(ip, t0 + 400 * kSecond).mac.has_value());
  ASSERT_TRUE(table.Learn(ip, Mac(2), t0 + 401 * kSecond));
  EXPECT_EQ(table.Lookup(ip, t0 + 401 * kSecond).mac, Mac(2));
  EXPECT_EQ(table.size(), 1u);
}

TEST(NeighbourTableTest, StaticEntriesNeverAge) {
  NeighbourTable table(8, std::chrono::seconds(1), std::chrono::seconds(2));
  ASSERT_TRUE(table.AddStatic(0x0A000001, Mac(1)));
  const NeighbourTable::Neighbour found = table.Lookup(0x0A000001, int64_t{1} << 62);
  EXPECT_EQ(found.mac, Mac(1));
  EXPECT_FALSE(found.refresh);
  EXPECT_FALSE(table.Lookup(0x0A000002, 0).mac.has_value());
}

}  // namespace
}  // namespace earshot::dataplane::dpdk

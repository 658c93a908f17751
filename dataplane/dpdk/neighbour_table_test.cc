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

}  // namespace
}  // namespace earshot::dataplane::dpdk

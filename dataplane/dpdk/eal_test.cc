// DPDK tests run in a binary of their own: the EAL initialises once per process.
#include "dataplane/dpdk/eal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace earshot::dataplane::dpdk {
namespace {

// No NIC, no hugepages, no privileges: a null vdev is enough to prove that the EAL
// comes up and finds the port its arguments name.
const std::vector<std::string> kVirtualArgs = {"-l", "0", "--no-huge", "--no-pci", "--no-shconf",
                                               "--no-telemetry", "-m", "256", "--vdev=net_null0",
                                               "--log-level=lib.eal:error"};

TEST(DpdkEalTest, InitialisesWithAVirtualDeviceAndOnlyOnce) {
  Result<Eal> eal = Eal::Init(kVirtualArgs);
  ASSERT_TRUE(eal.has_value()) << eal.error().message;
  EXPECT_EQ(eal->AvailablePorts(), 1);

  Result<Eal> again = Eal::Init(kVirtualArgs);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(again.error().message, ::testing::HasSubstr("already initialised"));
}

}  // namespace
}  // namespace earshot::dataplane::dpdk

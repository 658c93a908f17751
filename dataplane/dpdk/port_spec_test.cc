// How --dpdk-port becomes EAL arguments and an ethdev name (no EAL needed).
#include <gtest/gtest.h>

#include "dataplane/dpdk/dpdk_packet_io.h"

namespace earshot::dataplane::dpdk {
namespace {

using Args = std::vector<std::string>;

TEST(PortSpecTest, AVdevStringBecomesAVdevArgumentOnce) {
  PortSpec spec = PortNameFromSpec({"-l", "0"}, "net_af_packet0,iface=veth0,qpairs=2");
  EXPECT_EQ(spec.name, "net_af_packet0");
  EXPECT_EQ(spec.eal_args, (Args{"-l", "0", "--vdev=net_af_packet0,iface=veth0,qpairs=2"}));
  PortSpec given = PortNameFromSpec({"--vdev=net_tap0,iface=t0"}, "net_tap0");
  EXPECT_EQ(given.name, "net_tap0");
  EXPECT_EQ(given.eal_args, (Args{"--vdev=net_tap0,iface=t0"}));
}

TEST(PortSpecTest, APciAddressIsAllowedUnlessTheArgumentsFilterDevices) {
  PortSpec short_form = PortNameFromSpec({}, "01:00.0");
  EXPECT_EQ(short_form.name, "0000:01:00.0");
  EXPECT_EQ(short_form.eal_args, (Args{"-a", "0000:01:00.0"}));
  PortSpec filtered = PortNameFromSpec({"-a", "0000:02:00.1"}, "0000:02:00.1");
  EXPECT_EQ(filtered.eal_args, (Args{"-a", "0000:02:00.1"}));
}

}  // namespace
}  // namespace earshot::dataplane::dpdk

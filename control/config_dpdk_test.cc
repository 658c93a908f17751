// The DPDK keys of earshotd's configuration: parsed and checked as text here
// (no DPDK needed), turned into the port's options by earshotd.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/config.h"

namespace earshot::control {
namespace {

using ::testing::HasSubstr;

Result<void> Flag(Config& config, std::string_view key, std::string value, std::string flag) {
  return ApplyField(config, key, FieldSetting{std::move(value), std::move(flag)});
}

TEST(ConfigDpdkTest, DpdkNeedsAPortAndAnAddress) {
  Config config;
  ASSERT_TRUE(Flag(config, "dataplane", "dpdk", "--dataplane").has_value());
  Result<void> valid = ValidateConfig(config);
  ASSERT_FALSE(valid.has_value());
  EXPECT_THAT(valid.error().message, HasSubstr("--dpdk-port"));
  EXPECT_THAT(valid.error().message, HasSubstr("--dpdk-ip"));
  ASSERT_TRUE(Flag(config, "dpdk_port", "net_af_packet0,iface=veth0", "--dpdk-port").has_value());
  ASSERT_TRUE(Flag(config, "dpdk_ip", "10.0.0.2/24", "--dpdk-ip").has_value());
  EXPECT_TRUE(ValidateConfig(config).has_value());
  EXPECT_EQ(config.dpdk.ip, "10.0.0.2");
  EXPECT_EQ(config.dpdk.prefix_length, 24);
}

TEST(ConfigDpdkTest, BadValuesNameTheFieldAndWhatIsExpected) {
  const struct {
    std::string_view key;
    std::string value;
    std::string_view expected;
  } rows[] = {
      {"dpdk_ip", "10.0.0.300", "IPv4"},        {"dpdk_ip", "::1", "IPv4"},
      {"dpdk_ip", "10.0.0.2/33", "0..32"},      {"dpdk_ip", "0.0.0.0", "IPv4"},
      {"dpdk_mac", "02:00:00:00:00", "xx:xx"},  {"dpdk_gateway", "gw", "IPv4"},
      {"dpdk_neighbours", "10.0.0.1", "IP=MAC"}, {"dpdk_neighbours", "10.0.0.1=zz:00:00:00:00:01", "IP=MAC"},
      {"dpdk_vlan", "4095", "0..4094"},         {"dpdk_verify_udp_checksum", "maybe", "true or false"},
      {"dpdk_mbufs", "100", "1023..1048575"},   {"dpdk_idle_sleep_us", "-1", "0..10000"},
      {"dpdk_port", "", "PCI address"},
  };
  for (const auto& row : rows) {
    Config config;
    Result<void> applied = Flag(config, row.key, row.value, "--x");
    ASSERT_FALSE(applied.has_value()) << row.key << "=" << row.value;
    EXPECT_THAT(applied.error().message, HasSubstr(std::string(row.key)));
    EXPECT_THAT(applied.error().message, HasSubstr(std::string(row.expected)));
  }
}

TEST(ConfigDpdkTest, EffectiveConfigKeepsTheDpdkKeys) {
  Config config;
  ASSERT_TRUE(ApplyYamlText(config,
                            "dataplane: dpdk\n"
                            "dpdk_eal: \"-l 0 --no-huge --no-pci\"\n"
                            "dpdk_port: \"net_af_packet0,iface=veth0,qpairs=2\"\n"
                            "dpdk_ip: 10.0.0.2/24\n"
                            "dpdk_gateway: 10.0.0.1\n"
                            "dpdk_neighbours: \"10.0.0.1=02:00:00:00:00:01, 10.0.0.9=02:00:00:00:00:09\"\n"
                            "dpdk_vlan: 12\n"
                            "dpdk_verify_udp_checksum: false\n",
                            "a.yaml")
                  .has_value());
  Config again;
  ASSERT_TRUE(ApplyYamlText(again, config.ToYaml(), "effective").has_value());
  EXPECT_EQ(again.ToYaml(), config.ToYaml());
  EXPECT_EQ(again.dpdk.vlan, 12);
  EXPECT_FALSE(again.dpdk.verify_udp_checksum);
  EXPECT_EQ(SplitEalArgs(again.dpdk.eal), (std::vector<std::string>{"-l", "0", "--no-huge", "--no-pci"}));
  auto neighbours = SplitNeighbours(again.dpdk.neighbours);
  ASSERT_EQ(neighbours.size(), 2u);
  EXPECT_EQ(neighbours[1].first, "10.0.0.9");
  EXPECT_EQ(neighbours[1].second, "02:00:00:00:00:09");
}

TEST(ConfigDpdkTest, KernelConfigShowsNoDpdkKeys) {
  EXPECT_EQ(Config().ToYaml().find("dpdk_"), std::string::npos);
}

}  // namespace
}  // namespace earshot::control

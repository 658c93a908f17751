#include "control/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace earshot::control {
namespace {

using ::testing::HasSubstr;

Result<void> ApplyFlag(Config& config, std::string_view key, std::string value, std::string flag) {
  return ApplyField(config, key, FieldSetting{std::move(value), std::move(flag)});
}

TEST(ConfigTest, DefaultsAreUsableOnLoopback) {
  Config config;
  EXPECT_TRUE(ValidateConfig(config).has_value());
  EXPECT_EQ(config.grpc_listen.ToString(), "127.0.0.1:50051");
  EXPECT_EQ(config.rtp_ip, "127.0.0.1");
  EXPECT_EQ(config.tick_ms, 20);
  EXPECT_EQ(config.dataplane, DataplaneKind::kKernel);
}

struct BadValue {
  std::string_view key;
  std::string value;
  std::string_view expected_in_message;
};

// Shown in test names and failures instead of the struct's bytes.
void PrintTo(const BadValue& bad, std::ostream* out) { *out << bad.key << "=" << bad.value; }

class ConfigRejectsBadValue : public ::testing::TestWithParam<BadValue> {};

TEST_P(ConfigRejectsBadValue, WithOneLineErrorNamingFieldAndRange) {
  const BadValue& bad = GetParam();
  Config config;
  Result<void> applied = ApplyFlag(config, bad.key, bad.value, "--flag");
  ASSERT_FALSE(applied.has_value());
  EXPECT_EQ(applied.error().code, ErrorCode::kInvalidArgument);
  const std::string& message = applied.error().message;
  EXPECT_THAT(message, HasSubstr(std::string(bad.key)));
  EXPECT_THAT(message, HasSubstr(bad.value));
  EXPECT_THAT(message, HasSubstr(std::string(bad.expected_in_message)));
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Fields, ConfigRejectsBadValue,
    ::testing::Values(BadValue{"workers", "0", "1..256"}, BadValue{"workers", "257", "1..256"},
                      BadValue{"workers", "two", "1..256"}, BadValue{"tick_ms", "15", "10 or 20"},
                      BadValue{"tick_ms", "20ms", "10 or 20"},
                      BadValue{"rtp_ports", "40000-30000", "LOW < HIGH"},
                      BadValue{"rtp_ports", "80-1000", "1024 <= LOW"},
                      BadValue{"rtp_ports", "30000-70000", "HIGH <= 65535"},
                      BadValue{"rtp_ports", "30000", "LOW-HIGH"},
                      BadValue{"rtp_ip", "300.1.1.1", "IPv4 or IPv6"},
                      BadValue{"grpc_listen", "127.0.0.1", "HOST:PORT"},
                      BadValue{"grpc_listen", "127.0.0.1:-1", "0..65535"},
                      BadValue{"grpc_listen", "example.com:50051", "IP address"},
                      BadValue{"metrics_listen", "[::1]:99999", "0..65535"},
                      BadValue{"log_format", "xml", "text or json"},
                      BadValue{"log_level", "loud", "trace, debug, info, warn or error"},
                      BadValue{"pin_workers", "maybe", "true or false"},
                      BadValue{"dataplane", "xdp", "kernel or dpdk"},
                      BadValue{"kernel_io", "select", "epoll, io_uring or auto"},
                      BadValue{"rtcp_interval_ms", "499", "500..60000 or 0"},
                      BadValue{"rtcp_interval_ms", "60001", "500..60000 or 0"},
                      BadValue{"rtcp_interval_ms", "-1", "500..60000 or 0"},
                      BadValue{"rtcp_interval_ms", "5s", "500..60000 or 0"}));

TEST(ConfigTest, RtcpIntervalDefaultsToRfc3550sFiveSecondsAndTakesItsBounds) {
  Config config;
  EXPECT_EQ(config.rtcp_interval_ms, 5000);
  for (const auto& [text, value] : {std::pair{"500", 500}, std::pair{"60000", 60000}, std::pair{"0", 0}}) {
    ASSERT_TRUE(ApplyFlag(config, "rtcp_interval_ms", text, "--rtcp-interval-ms").has_value()) << text;
    EXPECT_EQ(config.rtcp_interval_ms, value);
  }
  Result<void> refused = ApplyYamlText(config, "rtcp_interval_ms: 100\n", "earshot.yaml");
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().message, HasSubstr("earshot.yaml:1"));
  EXPECT_THAT(refused.error().message, HasSubstr("--rtcp-interval-ms"));
}

TEST(ConfigTest, AcceptsValuesInRange) {
  Config config;
  EXPECT_TRUE(ApplyFlag(config, "workers", "4", "--workers").has_value());
  EXPECT_TRUE(ApplyFlag(config, "tick_ms", "10", "--tick-ms").has_value());
  EXPECT_TRUE(ApplyFlag(config, "rtp_ports", "20000-20999", "--rtp-ports").has_value());
  EXPECT_TRUE(ApplyFlag(config, "grpc_listen", "[::1]:7000", "--grpc-listen").has_value());
  EXPECT_TRUE(ApplyFlag(config, "log_format", "json", "--log-format").has_value());
  EXPECT_EQ(config.workers, 4);
  EXPECT_EQ(config.tick_ms, 10);
  EXPECT_EQ(config.rtp_port_low, 20000);
  EXPECT_EQ(config.rtp_port_high, 20999);
  EXPECT_EQ(config.grpc_listen.host, "::1");
  EXPECT_EQ(config.grpc_listen.ToString(), "[::1]:7000");
  EXPECT_EQ(config.log_format, LogFormat::kJson);
}

TEST(ConfigTest, WorkersAutoIsAtLeastOne) {
  Config config;
  ASSERT_TRUE(ApplyFlag(config, "workers", "auto", "--workers").has_value());
  EXPECT_GE(config.workers, 1);
}

TEST(ConfigTest, YamlFileErrorsNameTheFileAndLine) {
  Config config;
  Result<void> applied = ApplyYamlText(config, "workers: 2\ntick_ms: 30\n", "earshot.yaml");
  ASSERT_FALSE(applied.has_value());
  EXPECT_THAT(applied.error().message, HasSubstr("earshot.yaml:2"));
  EXPECT_THAT(applied.error().message, HasSubstr("tick_ms"));
  EXPECT_THAT(applied.error().message, HasSubstr("--tick-ms"));
}

TEST(ConfigTest, UnknownYamlKeyIsAnError) {
  Config config;
  Result<void> applied = ApplyYamlText(config, "rtp_portz: 1000-2000\n", "earshot.yaml");
  ASSERT_FALSE(applied.has_value());
  EXPECT_THAT(applied.error().message, HasSubstr("unknown configuration key 'rtp_portz'"));
}

TEST(ConfigTest, MalformedYamlIsAnErrorNotACrash) {
  Config config;
  for (std::string_view text : {"workers: [1, 2\n", "- just\n- a list\n", "workers:\n  nested: 1\n",
                                "\"unterminated\n", "workers: 2\n\t bad indent: 3\n"}) {
    Result<void> applied = ApplyYamlText(config, text, "bad.yaml");
    EXPECT_FALSE(applied.has_value()) << text;
  }
}

TEST(ConfigTest, EmptyYamlKeepsDefaults) {
  Config config;
  ASSERT_TRUE(ApplyYamlText(config, "", "empty.yaml").has_value());
  EXPECT_EQ(config.workers, 1);
}

TEST(ConfigTest, PortRangeMustHoldEveryWorker) {
  Config config;
  ASSERT_TRUE(ApplyFlag(config, "workers", "8", "--workers").has_value());
  ASSERT_TRUE(ApplyFlag(config, "rtp_ports", "30000-30010", "--rtp-ports").has_value());
  Result<void> valid = ValidateConfig(config);
  ASSERT_FALSE(valid.has_value());
  EXPECT_THAT(valid.error().message, HasSubstr("rtp_ports"));
  EXPECT_THAT(valid.error().message, HasSubstr("8 workers"));
}

TEST(ConfigTest, EffectiveConfigReadsBackToTheSameConfig) {
  Config config;
  ASSERT_TRUE(ApplyYamlText(config, "workers: 3\ntick_ms: 10\nlog_format: json\n"
                                    "grpc_listen: \"[::1]:6000\"\nrtp_ports: 20000-20100\n"
                                    "rtcp_interval_ms: 750\n",
                            "a.yaml")
                  .has_value());
  Config again;
  ASSERT_TRUE(ApplyYamlText(again, config.ToYaml(), "effective").has_value());
  EXPECT_EQ(again.ToYaml(), config.ToYaml());
  EXPECT_EQ(again.workers, 3);
  EXPECT_EQ(again.rtcp_interval_ms, 750);
  EXPECT_EQ(again.grpc_listen.ToString(), "[::1]:6000");
}

}  // namespace
}  // namespace earshot::control

#include "tools/load/load_options.h"

#include <gtest/gtest.h>

namespace earshot::load {
namespace {

TEST(ParseLoadOptions, DefaultsAreOneBargeSupervisorOnPcmu) {
  const ParsedOptions parsed = ParseLoadOptions({});
  ASSERT_TRUE(parsed.options.has_value()) << parsed.message;
  EXPECT_EQ(parsed.options->address, "127.0.0.1:50051");
  EXPECT_EQ(parsed.options->supervisors, 1);
  EXPECT_EQ(parsed.options->mode, ModeChoice::kBarge);
  EXPECT_EQ(parsed.options->codec, LoadCodec::kPcmu);
  EXPECT_EQ(parsed.options->ptime_ms, 20);
}

TEST(ParseLoadOptions, ReadsEveryFlag) {
  const ParsedOptions parsed = ParseLoadOptions(
      {"--addr", "127.0.0.1:6000", "--calls", "20", "--cps", "40", "--supervisors", "2", "--mode", "mix",
       "--codec", "pcma", "--duration", "3", "--mode-changes-per-s", "2", "--json", "--local-ports",
       "50000-50999", "--run-id", "t1"});
  ASSERT_TRUE(parsed.options.has_value()) << parsed.message;
  const LoadOptions& o = *parsed.options;
  EXPECT_EQ(o.address, "127.0.0.1:6000");
  EXPECT_EQ(o.calls, 20);
  EXPECT_DOUBLE_EQ(o.cps, 40.0);
  EXPECT_EQ(o.supervisors, 2);
  EXPECT_EQ(o.mode, ModeChoice::kMix);
  EXPECT_EQ(o.codec, LoadCodec::kPcma);
  EXPECT_DOUBLE_EQ(o.duration_s, 3.0);
  EXPECT_DOUBLE_EQ(o.mode_changes_per_s, 2.0);
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.local_port_low, 50000);
  EXPECT_EQ(o.local_port_high, 50999);
  EXPECT_EQ(o.run_id, "t1");
}

TEST(ParseLoadOptions, RefusesOpusWithAClearMessage) {
  const ParsedOptions parsed = ParseLoadOptions({"--codec", "opus"});
  EXPECT_FALSE(parsed.options.has_value());
  EXPECT_EQ(parsed.exit_code, kExitBadFlags);
  EXPECT_NE(parsed.message.find("not supported by earshot-load yet"), std::string::npos) << parsed.message;
}

TEST(ParseLoadOptions, BadFlagsExitWithTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {"--mode", "takeover"},   {"--calls", "0"},          {"--supervisors", "7"},
      {"--ptime", "30"},        {"--codec", "G722"},       {"--local-ports", "50000"},
      {"--local-ports", "9-8"}, {"--no-such-flag"},        {"--calls", "100", "--local-ports", "50000-50099"},
  };
  for (const auto& args : bad) {
    const ParsedOptions parsed = ParseLoadOptions(args);
    EXPECT_FALSE(parsed.options.has_value()) << args[0];
    EXPECT_EQ(parsed.exit_code, kExitBadFlags) << args[0];
    EXPECT_FALSE(parsed.message.empty());
  }
}

TEST(ParseLoadOptions, HelpExitsWithZeroAndNamesTheFlags) {
  const ParsedOptions parsed = ParseLoadOptions({"--help"});
  EXPECT_FALSE(parsed.options.has_value());
  EXPECT_EQ(parsed.exit_code, 0);
  EXPECT_NE(parsed.message.find("--mode-changes-per-s"), std::string::npos);
}

TEST(ParseLoadCodec, AcceptsG711InAnyCase) {
  EXPECT_EQ(ParseLoadCodec("PCMU").value(), LoadCodec::kPcmu);
  EXPECT_EQ(ParseLoadCodec("pcma").value(), LoadCodec::kPcma);
  EXPECT_EQ(GetCodecInfo(LoadCodec::kPcma).payload_type, 8u);
}

}  // namespace
}  // namespace earshot::load

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
  EXPECT_EQ(parsed.options->CodecOf(kCustomer), LoadCodec::kPcmu);
  EXPECT_EQ(parsed.options->CodecOf(kFirstSupervisor), LoadCodec::kPcmu);
  EXPECT_EQ(parsed.options->session_rate_hz, 8000);
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
  EXPECT_EQ(o.CodecOf(kCustomer), LoadCodec::kPcma);
  EXPECT_EQ(o.CodecOf(kAgent), LoadCodec::kPcma);
  EXPECT_EQ(o.CodecOf(kFirstSupervisor + 1), LoadCodec::kPcma);
  EXPECT_EQ(o.CodecLabel(), "PCMA");
  EXPECT_DOUBLE_EQ(o.duration_s, 3.0);
  EXPECT_DOUBLE_EQ(o.mode_changes_per_s, 2.0);
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.local_port_low, 50000);
  EXPECT_EQ(o.local_port_high, 50999);
  EXPECT_EQ(o.run_id, "t1");
}

TEST(ParseLoadOptions, ChurnIsOffByDefaultAndItsSlotsNeedPortsToo) {
  const ParsedOptions off = ParseLoadOptions({});
  ASSERT_TRUE(off.options.has_value()) << off.message;
  EXPECT_DOUBLE_EQ(off.options->churn_cps, 0.0);
  EXPECT_EQ(off.options->churn_slots(), 0);
  EXPECT_EQ(off.options->driver_calls(), off.options->calls);

  const ParsedOptions on = ParseLoadOptions({"--calls", "10", "--churn-cps", "10", "--churn-hold", "1"});
  ASSERT_TRUE(on.options.has_value()) << on.message;
  EXPECT_DOUBLE_EQ(on.options->churn_cps, 10.0);
  EXPECT_DOUBLE_EQ(on.options->churn_hold_s, 1.0);
  EXPECT_EQ(on.options->churn_slots(), 17);
  EXPECT_EQ(on.options->driver_calls(), 27);

  // 10 steady calls fit 30 ports, but not with 17 churn slots (27 x 3 legs).
  const ParsedOptions crowded = ParseLoadOptions(
      {"--calls", "10", "--churn-cps", "10", "--churn-hold", "1", "--local-ports", "50000-50029"});
  EXPECT_FALSE(crowded.options.has_value());
  EXPECT_EQ(crowded.exit_code, kExitBadFlags);
  EXPECT_NE(crowded.message.find("17 churn slots"), std::string::npos) << crowded.message;
}

TEST(ParseLoadOptions, RefusesAChurnHoldThatIsNeverJudgedOrOutlivesTheRun) {
  const ParsedOptions unjudged = ParseLoadOptions({"--churn-cps", "5", "--churn-hold", "0.3"});
  EXPECT_EQ(unjudged.exit_code, kExitBadFlags);
  EXPECT_NE(unjudged.message.find("--warmup-ms"), std::string::npos) << unjudged.message;
  const ParsedOptions too_long = ParseLoadOptions({"--churn-cps", "5", "--churn-hold", "3", "--duration", "3"});
  EXPECT_EQ(too_long.exit_code, kExitBadFlags);
  EXPECT_NE(too_long.message.find("--duration"), std::string::npos) << too_long.message;
  EXPECT_EQ(ParseLoadOptions({"--churn-cps", "-1"}).exit_code, kExitBadFlags);
  // Without churn the hold is not checked.
  EXPECT_TRUE(ParseLoadOptions({"--churn-hold", "3", "--duration", "3"}).options.has_value());
}

TEST(ParseLoadOptions, RefusesOpusWithoutItsRateWithAClearMessage) {
  const ParsedOptions parsed = ParseLoadOptions({"--codec", "opus"});
  EXPECT_FALSE(parsed.options.has_value());
  EXPECT_EQ(parsed.exit_code, kExitBadFlags);
  EXPECT_NE(parsed.message.find("opus/8000, opus/16000 or opus/48000"), std::string::npos) << parsed.message;
}

TEST(ParseLoadOptions, RoleCodecsOverrideCodecAndOpusMakesSessionsWideband) {
  const ParsedOptions parsed = ParseLoadOptions(
      {"--codec", "PCMA", "--agent-codec", "opus/16000", "--supervisor-codec", "OPUS/48000"});
  ASSERT_TRUE(parsed.options.has_value()) << parsed.message;
  const LoadOptions& o = *parsed.options;
  EXPECT_EQ(o.CodecOf(kCustomer), LoadCodec::kPcma);
  EXPECT_EQ(o.CodecOf(kAgent), LoadCodec::kOpus16);
  EXPECT_EQ(o.CodecOf(kFirstSupervisor), LoadCodec::kOpus48);
  EXPECT_EQ(o.CodecOf(kFirstSupervisor + 2), LoadCodec::kOpus48);
  EXPECT_EQ(o.session_rate_hz, 48000);
  EXPECT_EQ(o.CodecLabel(), "customer=PCMA,agent=opus/16000,supervisor=opus/48000");
}

TEST(ParseLoadOptions, SessionRateIsExplicitOrFollowsTheCodecs) {
  EXPECT_EQ(ParseLoadOptions({"--codec", "opus/8000"}).options->session_rate_hz, 48000);
  EXPECT_EQ(ParseLoadOptions({"--customer-codec", "pcma"}).options->session_rate_hz, 8000);
  EXPECT_EQ(ParseLoadOptions({"--codec", "opus/48000", "--session-rate", "16000"}).options->session_rate_hz,
            16000);
  EXPECT_EQ(ParseLoadOptions({"--session-rate", "48000"}).options->session_rate_hz, 48000);
}

TEST(ParseLoadOptions, BadCodecOrRateNamesTheFlag) {
  const ParsedOptions codec = ParseLoadOptions({"--supervisor-codec", "opus/24000"});
  EXPECT_EQ(codec.exit_code, kExitBadFlags);
  EXPECT_NE(codec.message.find("--supervisor-codec"), std::string::npos) << codec.message;
  const ParsedOptions rate = ParseLoadOptions({"--session-rate", "44100"});
  EXPECT_EQ(rate.exit_code, kExitBadFlags);
  EXPECT_NE(rate.message.find("--session-rate 44100"), std::string::npos) << rate.message;
}

TEST(ParseLoadOptions, BadFlagsExitWithTwo) {
  const std::vector<std::vector<std::string>> bad = {
      {"--mode", "takeover"},   {"--calls", "0"},          {"--supervisors", "7"},
      {"--ptime", "30"},        {"--codec", "G722"},       {"--local-ports", "50000"},
      {"--local-ports", "9-8"}, {"--no-such-flag"},        {"--calls", "100", "--local-ports", "50000-50099"},
      {"--customer-codec", "G729"}, {"--agent-codec", ""}, {"--session-rate", "0"}, {"--session-rate", "x"},
      {"--codec", "opus/48000/2"},
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
  EXPECT_NE(parsed.message.find("--supervisor-codec"), std::string::npos);
  EXPECT_NE(parsed.message.find("else 48000"), std::string::npos);
}

TEST(ParseLoadCodec, AcceptsG711InAnyCase) {
  EXPECT_EQ(ParseLoadCodec("PCMU").value(), LoadCodec::kPcmu);
  EXPECT_EQ(ParseLoadCodec("pcma").value(), LoadCodec::kPcma);
  EXPECT_EQ(GetCodecInfo(LoadCodec::kPcma).payload_type, 8u);
}

TEST(ParseLoadCodec, OpusIsNamedByItsInternalRateAndClocksAt48k) {
  EXPECT_EQ(ParseLoadCodec("opus/8000").value(), LoadCodec::kOpus8);
  EXPECT_EQ(ParseLoadCodec("Opus/16000").value(), LoadCodec::kOpus16);
  const CodecInfo info = GetCodecInfo(ParseLoadCodec("opus/48000").value());
  EXPECT_EQ(info.name, "opus/48000");
  EXPECT_EQ(info.rtp_clock_hz, 48000);
  EXPECT_EQ(info.payload_type, kOpusPayloadType);
  EXPECT_EQ(GetCodecInfo(LoadCodec::kOpus8).rtp_clock_hz, 48000);
  EXPECT_EQ(GetCodecInfo(LoadCodec::kPcmu).rtp_clock_hz, 8000);
}

}  // namespace
}  // namespace earshot::load

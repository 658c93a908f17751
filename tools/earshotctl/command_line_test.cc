#include "tools/earshotctl/command_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "tools/earshotctl/exit_codes.h"

namespace earshot::ctl {
namespace {

namespace v1 = earshot::v1;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class CommandLineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("EARSHOT_ADDR");
    unsetenv("EARSHOT_TOKEN");
  }
  void TearDown() override { SetUp(); }

  static Invocation Parse(const std::vector<std::string>& args) {
    std::variant<Invocation, ParseExit> parsed = ParseCommandLine(args);
    if (const ParseExit* exit = std::get_if<ParseExit>(&parsed)) {
      ADD_FAILURE() << "exit " << exit->code << ": " << exit->err;
      return Invocation{};
    }
    return std::get<Invocation>(parsed);
  }

  template <typename T>
  static T ParseRequest(const std::vector<std::string>& args) {
    Invocation invocation = Parse(args);
    const T* request = std::get_if<T>(&invocation.request);
    if (request == nullptr) {
      ADD_FAILURE() << "parsed into request alternative " << invocation.request.index();
      return T();
    }
    return *request;
  }

  static ParseExit Exit(const std::vector<std::string>& args) {
    std::variant<Invocation, ParseExit> parsed = ParseCommandLine(args);
    if (const ParseExit* exit = std::get_if<ParseExit>(&parsed)) return *exit;
    ADD_FAILURE() << "parsed without an error";
    return ParseExit{};
  }
};

TEST_F(CommandLineTest, GlobalOptionsHaveDefaults) {
  Invocation invocation = Parse({"health"});
  EXPECT_EQ(invocation.options.address, "127.0.0.1:50051");
  EXPECT_EQ(invocation.options.token, "");
  EXPECT_FALSE(invocation.options.json);
  EXPECT_EQ(invocation.options.timeout, std::chrono::milliseconds(5000));
  EXPECT_TRUE(std::holds_alternative<v1::GetStatusRequest>(invocation.request));
}

TEST_F(CommandLineTest, GlobalOptionsWorkBeforeAndAfterTheCommand) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--addr", "10.1.1.1:6000", "--token", "s3cret",
                                              "--json", "--timeout", "250", "session", "list"},
                                             {"session", "list", "--addr", "10.1.1.1:6000",
                                              "--token", "s3cret", "--json", "--timeout", "250"},
                                             {"session", "--json", "list", "--addr=10.1.1.1:6000",
                                              "--token=s3cret", "--timeout=250"}}) {
    Invocation invocation = Parse(args);
    EXPECT_EQ(invocation.options.address, "10.1.1.1:6000");
    EXPECT_EQ(invocation.options.token, "s3cret");
    EXPECT_TRUE(invocation.options.json);
    EXPECT_EQ(invocation.options.timeout, std::chrono::milliseconds(250));
    EXPECT_TRUE(std::holds_alternative<v1::ListSessionsRequest>(invocation.request));
  }
}

TEST_F(CommandLineTest, AddressAndTokenComeFromTheEnvironmentUnlessGiven) {
  setenv("EARSHOT_ADDR", "192.0.2.1:7000", 1);
  setenv("EARSHOT_TOKEN", "from-env", 1);
  EXPECT_EQ(Parse({"health"}).options.address, "192.0.2.1:7000");
  EXPECT_EQ(Parse({"health"}).options.token, "from-env");
  EXPECT_EQ(Parse({"--addr", "127.0.0.1:1", "health"}).options.address, "127.0.0.1:1");
}

TEST_F(CommandLineTest, SessionCreateCarriesRateTickAndLabels) {
  auto request = ParseRequest<v1::CreateSessionRequest>(
      {"session", "create", "call-1@pbx", "--rate", "16000", "--tick", "10", "--label",
       "team:billing", "--label", "site:ams"});
  EXPECT_EQ(request.id(), "call-1@pbx");
  EXPECT_EQ(request.rate(), 16000u);
  EXPECT_EQ(request.tick_ms(), 10u);
  ASSERT_EQ(request.labels_size(), 2);
  EXPECT_EQ(request.labels().at("team"), "billing");
  EXPECT_EQ(request.labels().at("site"), "ams");
}

TEST_F(CommandLineTest, SessionCreateLeavesDefaultsToTheServer) {
  auto request = ParseRequest<v1::CreateSessionRequest>({"session", "create", "abc"});
  EXPECT_EQ(request.rate(), 0u);
  EXPECT_EQ(request.tick_ms(), 0u);
  EXPECT_TRUE(request.labels().empty());
}

TEST_F(CommandLineTest, SessionGetListDeleteAndStatsNameTheSession) {
  EXPECT_EQ(ParseRequest<v1::GetSessionRequest>({"session", "get", "abc"}).id(), "abc");
  EXPECT_EQ(ParseRequest<v1::DeleteSessionRequest>({"session", "delete", "abc"}).id(), "abc");
  EXPECT_EQ(ParseRequest<v1::GetSessionStatsRequest>({"stats", "abc"}).session_id(), "abc");
  ParseRequest<v1::ListSessionsRequest>({"session", "list"});
}

TEST_F(CommandLineTest, LegAddBuildsTheWholeSpec) {
  auto request = ParseRequest<v1::AddLegRequest>(
      {"leg",     "add",       "abc", "agent",         "--role",        "agent",   "--codec",
       "pcma",    "--pt",      "8",   "--remote",      "10.0.0.5:4000", "--ptime", "20",
       "--latch", "--dtmf-pt", "101", "--no-rtcp-mux", "--direction",   "sendonly"});
  EXPECT_EQ(request.session_id(), "abc");
  EXPECT_EQ(request.leg_id(), "agent");
  const v1::LegSpec& spec = request.spec();
  EXPECT_EQ(spec.role(), v1::ROLE_AGENT);
  EXPECT_EQ(spec.codec(), "PCMA");
  EXPECT_EQ(spec.payload_type(), 8u);
  EXPECT_EQ(spec.remote(), "10.0.0.5:4000");
  EXPECT_EQ(spec.ptime_ms(), 20u);
  EXPECT_TRUE(spec.latch());
  EXPECT_EQ(spec.dtmf_payload_type(), 101u);
  EXPECT_TRUE(spec.no_rtcp_mux());
  EXPECT_EQ(spec.direction(), v1::DIRECTION_SENDONLY);
}

TEST_F(CommandLineTest, LegAddLeavesUnsetOptionsUnspecified) {
  auto request = ParseRequest<v1::AddLegRequest>(
      {"leg", "add", "abc", "customer", "--role", "customer", "--codec", "PCMU", "--pt", "0"});
  const v1::LegSpec& spec = request.spec();
  EXPECT_EQ(spec.payload_type(), 0u);
  EXPECT_EQ(spec.remote(), "");
  EXPECT_EQ(spec.ptime_ms(), 0u);
  EXPECT_FALSE(spec.latch());
  EXPECT_EQ(spec.dtmf_payload_type(), 0u);
  EXPECT_FALSE(spec.no_rtcp_mux());
  EXPECT_EQ(spec.direction(), v1::DIRECTION_UNSPECIFIED);
}

TEST_F(CommandLineTest, LegUpdateSetsOnlyWhatIsGiven) {
  auto remote_only = ParseRequest<v1::UpdateLegRequest>(
      {"leg", "update", "abc", "agent", "--remote", "10.0.0.6:4002"});
  EXPECT_EQ(remote_only.remote(), "10.0.0.6:4002");
  EXPECT_EQ(remote_only.direction(), v1::DIRECTION_UNSPECIFIED);
  EXPECT_FALSE(remote_only.has_latch());

  auto latch = ParseRequest<v1::UpdateLegRequest>({"leg", "update", "abc", "agent", "--latch"});
  ASSERT_TRUE(latch.has_latch());
  EXPECT_TRUE(latch.latch());
  auto no_latch = ParseRequest<v1::UpdateLegRequest>(
      {"leg", "update", "abc", "agent", "--no-latch", "--direction", "inactive"});
  ASSERT_TRUE(no_latch.has_latch());
  EXPECT_FALSE(no_latch.latch());
  EXPECT_EQ(no_latch.direction(), v1::DIRECTION_INACTIVE);
  EXPECT_EQ(no_latch.remote(), "");
}

TEST_F(CommandLineTest, LegRemoveAndDetachNameSessionAndLeg) {
  auto remove = ParseRequest<v1::RemoveLegRequest>({"leg", "remove", "abc", "agent"});
  EXPECT_EQ(remove.session_id(), "abc");
  EXPECT_EQ(remove.leg_id(), "agent");
  auto detach = ParseRequest<v1::DetachRequest>({"detach", "abc", "sup-1"});
  EXPECT_EQ(detach.session_id(), "abc");
  EXPECT_EQ(detach.leg_id(), "sup-1");
}

TEST_F(CommandLineTest, AttachIsASupervisorLegWithAMode) {
  auto request =
      ParseRequest<v1::AttachRequest>({"attach", "abc", "sup-1", "--mode", "whisper-customer",
                                       "--codec", "opus/16000", "--pt", "111", "--beep"});
  EXPECT_EQ(request.session_id(), "abc");
  EXPECT_EQ(request.leg_id(), "sup-1");
  EXPECT_EQ(request.mode(), v1::MODE_WHISPER_CUSTOMER);
  EXPECT_TRUE(request.beep());
  EXPECT_EQ(request.spec().role(), v1::ROLE_SUPERVISOR);
  EXPECT_EQ(request.spec().codec(), "opus/16000");
  EXPECT_EQ(request.spec().payload_type(), 111u);
}

TEST_F(CommandLineTest, AttachTakesKeypadModeSwitches) {
  auto request = ParseRequest<v1::AttachRequest>({"attach", "abc", "sup-1", "--mode", "listen", "--codec", "PCMU",
                                                  "--pt", "0", "--dtmf-pt", "101", "--dtmf-mode", "1=listen",
                                                  "--dtmf-mode", "3=barge", "--dtmf-mode", "#=whisper"});
  ASSERT_EQ(request.dtmf_mode_switch().size(), 3u);
  EXPECT_EQ(request.dtmf_mode_switch().at("1"), v1::MODE_LISTEN);
  EXPECT_EQ(request.dtmf_mode_switch().at("3"), v1::MODE_BARGE);
  EXPECT_EQ(request.dtmf_mode_switch().at("#"), v1::MODE_WHISPER);
}

TEST_F(CommandLineTest, ModeTakesTheModeAsAnArgument) {
  auto request = ParseRequest<v1::SetModeRequest>({"mode", "abc", "sup-1", "barge"});
  EXPECT_EQ(request.mode(), v1::MODE_BARGE);
  EXPECT_FALSE(request.beep());
  EXPECT_TRUE(
      ParseRequest<v1::SetModeRequest>({"mode", "abc", "sup-1", "listen", "--beep"}).beep());
}

TEST_F(CommandLineTest, MatrixTakesRepeatedOrListedGains) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"matrix", "abc", "--gain", "agent:customer=1", "--gain", "customer:agent=0.5"},
           {"matrix", "abc", "--gain", "agent:customer=1", "customer:agent=0.5"}}) {
    auto request = ParseRequest<v1::SetMatrixRequest>(args);
    EXPECT_EQ(request.session_id(), "abc");
    ASSERT_EQ(request.gains_size(), 2);
    EXPECT_EQ(request.gains(0).dst_leg_id(), "agent");
    EXPECT_EQ(request.gains(0).src_leg_id(), "customer");
    EXPECT_FLOAT_EQ(request.gains(0).gain(), 1.0f);
    EXPECT_EQ(request.gains(1).dst_leg_id(), "customer");
    EXPECT_FLOAT_EQ(request.gains(1).gain(), 0.5f);
  }
}

TEST_F(CommandLineTest, EventsFollowFromNowUnlessToldOtherwise) {
  auto follow = ParseRequest<FollowEvents>({"events"});
  EXPECT_FALSE(follow.request.has_after_sequence());
  EXPECT_EQ(follow.count, 0u);
  EXPECT_FALSE(follow.duration.has_value());
  follow = ParseRequest<FollowEvents>(
      {"events", "--after", "18446744073709551615", "--count", "3", "--for", "250"});
  EXPECT_EQ(follow.request.after_sequence(), UINT64_MAX);
  EXPECT_EQ(follow.count, 3u);
  EXPECT_EQ(follow.duration, std::chrono::milliseconds(250));
}

TEST_F(CommandLineTest, SrtpOptionsKeyALegAndReKeyIt) {
  auto add = ParseRequest<v1::AddLegRequest>(
      {"leg", "add", "abc", "customer", "--role", "customer", "--codec", "PCMU", "--pt", "0",
       "--latch", "--srtp", "aes_cm_128_hmac_sha1_80", "--srtp-remote-key", "inline:QUJD",
       "--srtp-replay-window", "1024"});
  EXPECT_EQ(add.spec().srtp().suite(), "AES_CM_128_HMAC_SHA1_80");
  EXPECT_EQ(add.spec().srtp().remote_key(), "inline:QUJD");
  EXPECT_TRUE(add.spec().srtp().local_key().empty());  // Earshot makes ours
  EXPECT_EQ(add.spec().srtp().replay_window(), 1024u);
  auto update = ParseRequest<v1::UpdateLegRequest>(
      {"leg", "update", "abc", "customer", "--srtp", "AEAD_AES_128_GCM", "--srtp-remote-key", "R",
       "--srtp-key", "L"});
  EXPECT_EQ(update.srtp().suite(), "AEAD_AES_128_GCM");
  EXPECT_EQ(update.srtp().remote_key(), "R");
  EXPECT_EQ(update.srtp().local_key(), "L");
  EXPECT_FALSE(update.has_latch());
}

TEST_F(CommandLineTest, VoiceProcessingOptionsGoIntoTheLegSpec) {
  auto add = ParseRequest<v1::AddLegRequest>({"leg", "add", "abc", "customer", "--role", "customer",
                                              "--codec", "PCMU", "--pt", "0", "--latch", "--aec",
                                              "--aec-tail", "256", "--ns"});
  EXPECT_TRUE(add.spec().voice().echo_cancel());
  EXPECT_EQ(add.spec().voice().echo_tail_ms(), 256u);
  EXPECT_TRUE(add.spec().voice().noise_suppress());
  EXPECT_FALSE(add.spec().voice().agc());
  auto plain = ParseRequest<v1::AddLegRequest>(
      {"leg", "add", "abc", "agent", "--role", "agent", "--codec", "PCMU", "--pt", "0", "--latch"});
  EXPECT_FALSE(plain.spec().has_voice());
}

TEST_F(CommandLineTest, EveryRequestFieldHasAnOption) {
  // A field added to one of these requests needs an option (and a line here).
  EXPECT_EQ(v1::CreateSessionRequest::descriptor()->field_count(), 4);  // ID --rate --tick --label
  EXPECT_EQ(v1::LegSpec::descriptor()->field_count(), 11);  // --role (or attach) and the leg options
  EXPECT_EQ(v1::VoiceProcessing::descriptor()->field_count(), 4);  // --aec --aec-tail --ns --agc
  EXPECT_EQ(v1::SrtpSpec::descriptor()->field_count(), 4);  // --srtp --srtp-remote-key --srtp-key
                                                            // --srtp-replay-window
  EXPECT_EQ(v1::AddLegRequest::descriptor()->field_count(), 3);
  EXPECT_EQ(v1::UpdateLegRequest::descriptor()->field_count(),
            6);  // --remote --direction --[no-]latch and the --srtp options
  EXPECT_EQ(v1::AttachRequest::descriptor()->field_count(),
            7);  // --mode --beep --dtmf-mode --supervisor and the leg options
  EXPECT_EQ(v1::SetModeRequest::descriptor()->field_count(), 4);    // MODE --beep
  EXPECT_EQ(v1::SetMatrixRequest::descriptor()->field_count(), 2);  // --gain
  EXPECT_EQ(v1::Gain::descriptor()->field_count(), 3);
  // Pickup (pickup.proto)
  EXPECT_EQ(v1::RingRequest::descriptor()->field_count(), 3);  // session create --ringing --ringback
  EXPECT_EQ(v1::SetExtensionRequest::descriptor()->field_count(), 2);    // EXT --group
  EXPECT_EQ(v1::AnswerRequest::descriptor()->field_count(), 3);          // SESSION LEG, leg options
  EXPECT_EQ(v1::PickupCallRequest::descriptor()->field_count(), 4);      // --by --extension LEG ...
  EXPECT_EQ(v1::GetPickupStatsRequest::descriptor()->field_count(), 1);  // extension stats --group
  EXPECT_EQ(v1::SubscribeRequest::descriptor()->field_count(), 1);  // --after
}

struct UsageCase {
  std::vector<std::string> args;
  std::string message;  // a part of the one error line
};

void PrintTo(const UsageCase& usage, std::ostream* out) {
  for (const std::string& arg : usage.args) *out << arg << " ";
}

class UsageErrorTest : public ::testing::TestWithParam<UsageCase> {
 protected:
  void SetUp() override { unsetenv("EARSHOT_ADDR"); }
};

TEST_P(UsageErrorTest, ExitsTwoWithOneLineNamingTheProblem) {
  std::variant<Invocation, ParseExit> parsed = ParseCommandLine(GetParam().args);
  ASSERT_TRUE(std::holds_alternative<ParseExit>(parsed)) << "was accepted";
  const ParseExit& exit = std::get<ParseExit>(parsed);
  EXPECT_EQ(exit.code, kExitUsage);
  EXPECT_EQ(exit.out, "");
  EXPECT_THAT(exit.err, StartsWith("earshotctl: "));
  EXPECT_EQ(std::count(exit.err.begin(), exit.err.end(), '\n'), 1) << exit.err;
  EXPECT_TRUE(exit.err.ends_with("\n"));
  EXPECT_THAT(exit.err, HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Usage, UsageErrorTest,
    ::testing::Values(
        UsageCase{{}, "a command is required (see earshotctl --help)"},
        UsageCase{{"session"}, "see earshotctl session --help"},
        UsageCase{{"frobnicate"}, "unknown command 'frobnicate' (see earshotctl --help)"},
        UsageCase{{"session", "lst"}, "unknown command 'lst' (see earshotctl session --help)"},
        UsageCase{{"session", "create"}, "ID is required"},
        UsageCase{{"session", "create", ""}, "ID must not be empty"},
        UsageCase{{"session", "get", ""}, "SESSION must not be empty"},
        UsageCase{{"session", "create", "abc", "--rate", "44100"},
                  "--rate: '44100' is not one of 8000|16000|48000"},
        UsageCase{{"session", "create", "abc", "--tick", "15"}, "--tick: '15' is not one of 10|20"},
        UsageCase{{"session", "create", "abc", "--label", "nocolon"},
                  "--label: 'nocolon' is not KEY:VALUE"},
        UsageCase{{"session", "create", "abc", "--label", "a:1", "--label", "a:2"},
                  "--label: key 'a' is given twice"},
        UsageCase{{"session", "create", "abc", "--rate", "8000", "--rate", "16000"}, "--rate"},
        UsageCase{{"session", "get", "abc", "extra"}, "extra"},
        UsageCase{{"leg", "add", "abc", "agent", "--codec", "PCMU", "--pt", "0"},
                  "--role is required"},
        UsageCase{{"leg", "add", "abc", "agent", "--role", "boss", "--codec", "PCMU", "--pt", "0"},
                  "--role: 'boss' is not a role; use customer|agent|supervisor|other"},
        UsageCase{
            {"leg", "add", "abc", "agent", "--role", "agent", "--codec", "G729", "--pt", "18"},
            "--codec: codec 'G729' is not supported"},
        UsageCase{{"leg", "add", "abc", "agent", "--role", "agent", "--codec", "PCMU"},
                  "--pt is required"},
        UsageCase{
            {"leg", "add", "abc", "agent", "--role", "agent", "--codec", "PCMU", "--pt", "128"},
            "--pt: '128' is out of range (0..127)"},
        UsageCase{{"leg", "add", "abc", "agent", "--role", "agent", "--codec", "PCMU", "--pt", "0",
                   "--remote", "pbx:5060"},
                  "--remote: 'pbx:5060'"},
        UsageCase{{"leg", "add", "abc", "agent", "--role", "agent", "--codec", "PCMU", "--pt", "0",
                   "--dtmf-pt", "0"},
                  "--dtmf-pt: '0' is out of range (1..127)"},
        UsageCase{{"leg", "add", "abc", "agent", "--role", "agent", "--codec", "PCMU", "--pt",
                   "101", "--dtmf-pt", "101"},
                  "--dtmf-pt: 101 is already the audio payload type"},
        UsageCase{{"leg", "add", "abc", "agent", "--role", "agent", "--codec", "PCMU", "--pt", "0",
                   "--direction", "both"},
                  "--direction: 'both' is not a direction"},
        UsageCase{{"leg", "add", "abc", "agent", "--role", "agent", "--codec", "PCMU", "--pt", "0",
                   "--ptime", "0"},
                  "--ptime"},
        UsageCase{{"leg", "add", "abc", "agent", "--role", "agent", "--codec", "PCMU", "--pt", "0",
                   "--srtp-remote-key", "QUJD"},
                  "--srtp: give the crypto suite with the SRTP keys"},
        UsageCase{{"leg", "add", "abc", "agent", "--role", "agent", "--codec", "PCMU", "--pt", "0",
                   "--srtp", "AEAD_AES_128_GCM", "--srtp-replay-window", "32768"},
                  "--srtp-replay-window: '32768' is out of range (64..32767)"},
        UsageCase{{"leg", "update", "abc", "agent"}, "nothing to change"},
        UsageCase{{"leg", "update", "abc", "agent", "--latch", "--no-latch"}, "--latch"},
        UsageCase{{"leg", "update", "abc", "agent", "--direction", "unspecified"}, "--direction"},
        UsageCase{{"attach", "abc", "sup", "--codec", "PCMU", "--pt", "0"}, "--mode is required"},
        UsageCase{{"attach", "abc", "sup", "--mode", "listen", "--codec", "PCMU", "--pt", "0", "--dtmf-pt",
                   "101", "--dtmf-mode", "x=barge"},
                  "--dtmf-mode: 'x=barge' is not DIGIT=MODE"},
        UsageCase{{"attach", "abc", "sup", "--mode", "listen", "--codec", "PCMU", "--pt", "0", "--dtmf-mode",
                   "3=barge"},
                  "--dtmf-mode: needs --dtmf-pt"},
        UsageCase{
            {"attach", "abc", "sup", "--mode", "spy", "--codec", "PCMU", "--pt", "0"},
            "--mode: 'spy' is not a mode; use listen|whisper|whisper-customer|barge|takeover"},
        UsageCase{{"attach", "abc", "sup", "--role", "agent", "--mode", "listen", "--codec", "PCMU",
                   "--pt", "0"},
                  "--role"},
        UsageCase{{"mode", "abc", "sup", "coach"}, "MODE: 'coach' is not a mode"},
        UsageCase{{"mode", "abc", "sup"}, "MODE is required"},
        UsageCase{{"matrix", "abc"}, "--gain is required"},
        UsageCase{{"matrix", "abc", "--gain", "a:b=9"},
                  "--gain: 'a:b=9': gain 9 is out of range (0..4)"},
        UsageCase{{"matrix", "abc", "--gain", "a:b=1", "--gain", "a:b=0"},
                  "--gain: 'a:b' is given twice"},
        UsageCase{{"--timeout", "0", "health"}, "--timeout: '0' is out of range (1..3600000)"},
        UsageCase{{"--timeout", "5s", "health"}, "--timeout: '5s' is not a whole number"},
        UsageCase{{"--addr", "", "health"}, "--addr: must not be empty"},
        UsageCase{{"--token", "two words", "health"},
                  "--token: may hold only visible ASCII characters"},
        UsageCase{{"events", "--count", "0"}, "--count: '0' is out of range"},
        UsageCase{{"events", "--after", "-1"}, "--after: '-1' is not a whole number"},
        UsageCase{{"events", "--for", "1s"}, "--for: '1s' is not a whole number"},
        UsageCase{{"events", "abc"}, "abc"}));

TEST_F(CommandLineTest, UsageErrorsPointToTheCommandsHelp) {
  EXPECT_THAT(Exit({"leg", "add", "abc", "agent"}).err,
              HasSubstr("(see earshotctl leg add --help)"));
  EXPECT_THAT(Exit({"frobnicate"}).err, HasSubstr("(see earshotctl --help)"));
}

TEST_F(CommandLineTest, HelpAndVersionExitZeroWithTextOnStdout) {
  ParseExit help = Exit({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_EQ(help.err, "");
  for (const char* command :
       {"session", "leg", "attach", "mode", "detach", "matrix", "stats", "health", "events",
        "EARSHOT_ADDR", "Exit status", "15 NOT_FOUND", "24 UNAVAILABLE"}) {
    EXPECT_THAT(help.out, HasSubstr(command));
  }
  ParseExit leg_add_help = Exit({"leg", "add", "--help"});
  EXPECT_EQ(leg_add_help.code, 0);
  for (const char* option :
       {"--role", "--codec", "--pt", "--remote", "--ptime", "--latch", "--dtmf-pt", "--no-rtcp-mux",
        "--direction", "customer|agent|supervisor|other"}) {
    EXPECT_THAT(leg_add_help.out, HasSubstr(option));
  }
  ParseExit all = Exit({"--help-all"});
  EXPECT_EQ(all.code, 0);
  EXPECT_THAT(all.out, HasSubstr("--dtmf-pt"));
  EXPECT_THAT(all.out, HasSubstr("DST:SRC=GAIN"));
  ParseExit version = Exit({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_THAT(version.out, ::testing::MatchesRegex("[0-9]+\\.[0-9]+\\.[0-9]+\n"));
}

TEST_F(CommandLineTest, PickupCommandsBuildTheirRequests) {
  auto ring = ParseRequest<v1::RingRequest>(
      {"session", "create", "c1", "--ringing", "201", "--ringback", "eu"});
  EXPECT_EQ(ring.session().id(), "c1");
  EXPECT_EQ(ring.extension(), "201");
  EXPECT_EQ(ring.ringback(), v1::RINGBACK_EU);
  EXPECT_EQ(Exit({"session", "create", "c1", "--ringback", "eu"}).code, kExitUsage);
  auto set = ParseRequest<v1::SetExtensionRequest>({"extension", "set", "201", "--group", "a", "--group", "b"});
  EXPECT_EQ(set.extension(), "201");
  EXPECT_EQ(set.groups_size(), 2);
  auto answer = ParseRequest<v1::AnswerRequest>(
      {"answer", "c1", "callee", "--codec", "PCMU", "--pt", "0", "--remote", "10.0.0.1:4000"});
  EXPECT_EQ(answer.session_id(), "c1");
  EXPECT_EQ(answer.spec().role(), v1::ROLE_AGENT);
  auto pickup = ParseRequest<v1::PickupCallRequest>(
      {"pickup", "p1", "--by", "202", "--codec", "PCMA", "--pt", "8", "--latch"});
  EXPECT_EQ(pickup.by_extension(), "202");
  EXPECT_EQ(pickup.extension(), "");  // group pickup
  EXPECT_EQ(pickup.leg_id(), "p1");
  auto directed = ParseRequest<v1::PickupCallRequest>(
      {"pickup", "p1", "--by", "202", "--extension", "201", "--codec", "PCMU", "--pt", "0", "--latch"});
  EXPECT_EQ(directed.extension(), "201");
  auto stats = ParseRequest<v1::GetPickupStatsRequest>({"extension", "stats", "--group", "sales"});
  EXPECT_EQ(stats.group(), "sales");
}

}  // namespace
}  // namespace earshot::ctl

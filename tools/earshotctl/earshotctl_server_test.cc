// earshotctl as an operator or a SIP-server script runs it, against a real
// earshotd on loopback.
//
// Written to pass both before and after earshotd serves Sessions, Supervision,
// Stats and Events: a call the server does not implement yet must fail the way every
// earshotctl error does (exit 22, one line "earshotctl: UNIMPLEMENTED: ..."),
// and the call flow skips from the first unimplemented call on.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/subprocess.h"

namespace earshot {
namespace {

using ::earshot::testing::RunResult;
using ::earshot::testing::RunToCompletion;
using ::earshot::testing::Subprocess;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;
using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr int kExitUnimplemented = 22;
constexpr int kExitNotFound = 15;
constexpr int kExitUnavailable = 24;

size_t CountLines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

Json ParseJson(const std::string& text) {
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

// A fresh earshotd with two workers for each test, so that event sequences
// start at 1 whichever tests run and in whatever order.
class EarshotctlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // ctest runs tests in parallel: each test gets RTP ports of its own, in a
    // block no other test of the project uses (36000-36999).
    static constexpr std::string_view kTests[] = {
        "HealthJsonHasVersionDataplaneTickAndEveryWorker",
        "HealthForPeopleIsShortLines",
        "SessionListAnswersOrSaysUnimplementedInOneLine",
        "NoServerIsUnavailableInOneLine",
        "BadUsageSendsNothingAndExitsTwo",
        "EventsReplayWhatHappenedAndStopAtCount",
        "SupervisedCallFromCreateToDelete",
    };
    std::string_view name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    auto index = static_cast<uint32_t>(std::find(std::begin(kTests), std::end(kTests), name) -
                                       std::begin(kTests));
    ASSERT_LT(index, std::size(kTests)) << "give " << name << " a block of RTP ports";
    port_low_ = 36000 + 100 * index;
    daemon_ = std::make_unique<Subprocess>(std::vector<std::string>{
        EARSHOTD_PATH, "--workers", "2", "--rtp-ports",
        std::to_string(port_low_) + "-" + std::to_string(port_low_ + 99), "--grpc-listen",
        "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"});
    ASSERT_TRUE(daemon_->WaitForStderr("ready", 5s)) << daemon_->stderr_text();
    std::smatch match;
    std::string log = daemon_->stderr_text();
    ASSERT_TRUE(
        std::regex_search(log, match, std::regex("listening grpc=(127\\.0\\.0\\.1:[0-9]+)")))
        << log;
    address_ = match[1].str();
  }

  void TearDown() override {
    if (daemon_ == nullptr) return;
    daemon_->Signal(SIGTERM);
    EXPECT_EQ(daemon_->Wait(5s), 0) << daemon_->stderr_text();
  }

  // earshotctl --addr ADDRESS ARGS...
  RunResult Ctl(std::vector<std::string> args) const {
    args.insert(args.begin(), {EARSHOTCTL_PATH, "--addr", address_});
    return RunToCompletion(std::move(args));
  }

  static bool Unimplemented(const RunResult& run) {
    return run.exit_code == kExitUnimplemented &&
           run.err.starts_with("earshotctl: UNIMPLEMENTED: ");
  }

  uint32_t port_low_ = 0;
  std::unique_ptr<Subprocess> daemon_;
  std::string address_;
};

TEST_F(EarshotctlServerTest, HealthJsonHasVersionDataplaneTickAndEveryWorker) {
  RunResult run = Ctl({"health", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  Json health = ParseJson(run.out);
  ASSERT_TRUE(health.is_object()) << run.out;
  EXPECT_THAT(health["version"].get<std::string>(), MatchesRegex("[0-9]+\\.[0-9]+\\.[0-9]+"));
  EXPECT_EQ(health["dataplane"], "kernel");
  EXPECT_EQ(health["tick_ms"], 20);
  ASSERT_EQ(health["workers"].size(), 2u) << run.out;
  for (size_t i = 0; i < 2; ++i) {
    const Json& worker = health["workers"][i];
    EXPECT_EQ(worker["index"], i);
    EXPECT_TRUE(worker["ticks"].is_number_unsigned()) << worker;
    EXPECT_TRUE(worker["tick_overruns"].is_number_unsigned()) << worker;
    EXPECT_TRUE(worker["skipped_ticks"].is_number_unsigned()) << worker;
  }
}

TEST_F(EarshotctlServerTest, HealthForPeopleIsShortLines) {
  RunResult run = Ctl({"--token", "not-checked-yet", "health"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, StartsWith("earshotd "));
  EXPECT_THAT(run.out, HasSubstr("dataplane kernel, tick 20 ms, 2 workers\n"));
  EXPECT_THAT(run.out, HasSubstr("  worker 1: "));
  EXPECT_EQ(CountLines(run.out), 3u) << run.out;
}

TEST_F(EarshotctlServerTest, SessionListAnswersOrSaysUnimplementedInOneLine) {
  RunResult run = Ctl({"session", "list"});
  if (run.exit_code == 0) {
    EXPECT_EQ(run.err, "");
    EXPECT_TRUE(run.out == "no sessions\n" || run.out.starts_with("SESSION ")) << run.out;
  } else {
    EXPECT_EQ(run.exit_code, kExitUnimplemented) << run.err;
    EXPECT_THAT(run.err, StartsWith("earshotctl: UNIMPLEMENTED: "));
    EXPECT_EQ(CountLines(run.err), 1u) << run.err;
    EXPECT_EQ(run.out, "");
  }
  RunResult json = Ctl({"--json", "session", "list"});
  if (json.exit_code == 0) {
    EXPECT_TRUE(ParseJson(json.out)["sessions"].is_array()) << json.out;
  } else {
    EXPECT_TRUE(Unimplemented(json)) << json.err;
  }
}

TEST_F(EarshotctlServerTest, NoServerIsUnavailableInOneLine) {
  // Nothing listens on port 1 of loopback: the connection is refused at once.
  RunResult run =
      RunToCompletion({EARSHOTCTL_PATH, "--addr", "127.0.0.1:1", "--timeout", "2000", "health"});
  EXPECT_EQ(run.exit_code, kExitUnavailable) << run.err;
  EXPECT_THAT(run.err, StartsWith("earshotctl: UNAVAILABLE: "));
  EXPECT_EQ(CountLines(run.err), 1u) << run.err;
  EXPECT_EQ(run.out, "");
}

TEST_F(EarshotctlServerTest, BadUsageSendsNothingAndExitsTwo) {
  RunResult run = Ctl({"attach", "call-1", "sup", "--mode", "spy", "--codec", "PCMU", "--pt", "0"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(
      run.err,
      "earshotctl: --mode: 'spy' is not a mode; use listen|whisper|whisper-customer|barge|takeover "
      "(see earshotctl attach --help)\n");
  RunResult events = Ctl({"events", "--count", "0"});
  EXPECT_EQ(events.exit_code, 2);
  EXPECT_THAT(events.err, HasSubstr("--count"));
}

TEST_F(EarshotctlServerTest, EventsReplayWhatHappenedAndStopAtCount) {
  const std::string session = "earshotctl-events";
  RunResult created = Ctl({"session", "create", session});
  if (Unimplemented(created)) GTEST_SKIP() << "Sessions not served yet: " << created.err;
  ASSERT_EQ(created.exit_code, 0) << created.err;
  RunResult added = Ctl({"leg", "add", session, "customer", "--role", "customer", "--codec", "PCMU",
                         "--pt", "0", "--latch"});
  ASSERT_EQ(added.exit_code, 0) << added.err;

  // This daemon's first event is the session's creation (sequence 1); after it
  // come the leg. --for keeps a missing event from hanging the test.
  RunResult events = Ctl({"--json", "events", "--after", "1", "--count", "1", "--for", "5000"});
  if (Unimplemented(events)) GTEST_SKIP() << "Events not served yet: " << events.err;
  ASSERT_EQ(events.exit_code, 0) << events.err;
  EXPECT_EQ(CountLines(events.out), 1u) << events.out;
  Json event = ParseJson(events.out);
  EXPECT_EQ(event["sequence"], 2) << events.out;
  EXPECT_EQ(event["type"], "leg-added") << events.out;
  EXPECT_EQ(event["session_id"], session) << events.out;
  EXPECT_EQ(event["leg_id"], "customer") << events.out;
  EXPECT_EQ(event["role"], "customer") << events.out;

  // Nothing new happens: --for ends the follow with success and no output.
  RunResult quiet = Ctl({"events", "--for", "300"});
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.out, "");

  EXPECT_EQ(Ctl({"session", "delete", session}).exit_code, 0);
}

// The calls a SIP server makes for one supervised call, in order. Skips from the
// first call earshotd does not serve yet.
TEST_F(EarshotctlServerTest, SupervisedCallFromCreateToDelete) {
  const std::string session = "earshotctl-test-call";
  auto step = [](const RunResult& run) {
    EXPECT_EQ(CountLines(run.err), run.exit_code == 0 ? 0u : 1u) << run.err;
    return !Unimplemented(run);
  };

  RunResult created = Ctl({"--json", "session", "create", session, "--label", "team:billing"});
  if (!step(created)) GTEST_SKIP() << "Sessions not served yet: " << created.err;
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(ParseJson(created.out)["id"], session) << created.out;
  EXPECT_EQ(ParseJson(created.out)["labels"]["team"], "billing") << created.out;

  for (const std::string role : {"customer", "agent"}) {
    RunResult added = Ctl({"--json", "leg", "add", session, role, "--role", role, "--codec", "PCMU",
                           "--pt", "0", "--latch"});
    if (!step(added)) GTEST_SKIP() << "AddLeg not served yet: " << added.err;
    ASSERT_EQ(added.exit_code, 0) << added.err;
    Json leg = ParseJson(added.out);
    EXPECT_EQ(leg["id"], role) << added.out;
    EXPECT_FALSE(leg["local_ip"].get<std::string>().empty()) << added.out;
    EXPECT_GE(leg["local_port"].get<uint32_t>(), port_low_) << added.out;
    EXPECT_LE(leg["local_port"].get<uint32_t>(), port_low_ + 99) << added.out;
  }

  RunResult got = Ctl({"--json", "session", "get", session});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(ParseJson(got.out)["legs"].size(), 2u) << got.out;
  RunResult listed = Ctl({"session", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr(session));

  RunResult attached = Ctl({"--json", "attach", session, "sup-1", "--mode", "listen", "--codec",
                            "PCMU", "--pt", "0", "--latch"});
  if (step(attached)) {
    ASSERT_EQ(attached.exit_code, 0) << attached.err;
    EXPECT_EQ(ParseJson(attached.out)["mode"], "listen") << attached.out;
    RunResult whisper = Ctl({"mode", session, "sup-1", "whisper"});
    ASSERT_EQ(whisper.exit_code, 0) << whisper.err;
    EXPECT_THAT(whisper.out, HasSubstr("whisper"));
    RunResult matrix = Ctl({"matrix", session, "--gain", "customer:agent=1", "agent:customer=1",
                            "sup-1:customer=1", "sup-1:agent=1"});
    EXPECT_EQ(matrix.exit_code, 0) << matrix.err;
    RunResult detached = Ctl({"detach", session, "sup-1"});
    EXPECT_EQ(detached.exit_code, 0) << detached.err;
  }

  RunResult stats = Ctl({"--json", "stats", session});
  if (step(stats)) {
    ASSERT_EQ(stats.exit_code, 0) << stats.err;
    EXPECT_EQ(ParseJson(stats.out)["session_id"], session) << stats.out;
  }

  RunResult updated = Ctl({"leg", "update", session, "agent", "--direction", "recvonly"});
  EXPECT_EQ(updated.exit_code, 0) << updated.err;
  EXPECT_THAT(updated.out, HasSubstr("recvonly"));
  RunResult removed = Ctl({"leg", "remove", session, "agent"});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  RunResult deleted = Ctl({"session", "delete", session});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;

  RunResult gone = Ctl({"session", "get", session});
  EXPECT_EQ(gone.exit_code, kExitNotFound) << gone.err;
  EXPECT_THAT(gone.err, StartsWith("earshotctl: NOT_FOUND: "));
  EXPECT_EQ(CountLines(gone.err), 1u) << gone.err;
}

}  // namespace
}  // namespace earshot

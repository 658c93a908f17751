// earshotd as a user runs it: flags, config files, exit codes, logs, signals.

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/subprocess.h"

namespace earshot {
namespace {

using ::earshot::testing::RunResult;
using ::earshot::testing::RunToCompletion;
using ::earshot::testing::Subprocess;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

const std::string kEarshotd = EARSHOTD_PATH;

size_t CountLines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

std::string WriteTempFile(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

struct BadFlag {
  std::vector<std::string> args;
  std::string named;
};

class EarshotdRejectsBadFlag : public ::testing::TestWithParam<BadFlag> {};

TEST_P(EarshotdRejectsBadFlag, WithExitCodeTwoAndOneLineNamingTheField) {
  std::vector<std::string> argv = {kEarshotd};
  argv.insert(argv.end(), GetParam().args.begin(), GetParam().args.end());
  RunResult run = RunToCompletion(argv);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(CountLines(run.err), 1u) << run.err;
  EXPECT_THAT(run.err, HasSubstr(GetParam().named));
  EXPECT_THAT(run.err, ::testing::StartsWith("earshotd: "));
}

INSTANTIATE_TEST_SUITE_P(
    Flags, EarshotdRejectsBadFlag,
    ::testing::Values(BadFlag{{"--workers", "0"}, "--workers"},
                      BadFlag{{"--tick-ms", "15"}, "--tick-ms"},
                      BadFlag{{"--rtp-ports", "40000-30000"}, "--rtp-ports"},
                      BadFlag{{"--rtp-ip", "not-an-ip"}, "--rtp-ip"},
                      BadFlag{{"--grpc-listen", "127.0.0.1:99999"}, "--grpc-listen"},
                      BadFlag{{"--metrics-listen", "nowhere"}, "--metrics-listen"},
                      BadFlag{{"--log-format", "xml"}, "--log-format"},
                      BadFlag{{"--no-such-flag"}, "--no-such-flag"},
                      BadFlag{{"--config", "/nonexistent/earshot.yaml"}, "/nonexistent/earshot.yaml"}));

TEST(EarshotdTest, BadValueInConfigFileNamesFileLineAndField) {
  std::string path = WriteTempFile("bad.yaml", "workers: 2\nrtp_ports: 30000-30001\n");
  RunResult run = RunToCompletion({kEarshotd, "--config", path});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(CountLines(run.err), 1u) << run.err;
  EXPECT_THAT(run.err, HasSubstr("rtp_ports"));
}

TEST(EarshotdTest, FlagsOverrideTheConfigFile) {
  std::string path = WriteTempFile("good.yaml", "workers: 2\ntick_ms: 10\n");
  RunResult run = RunToCompletion({kEarshotd, "--config", path, "--workers", "3", "--check-config"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("workers: 3\n"));
  EXPECT_THAT(run.out, HasSubstr("tick_ms: 10\n"));
}

TEST(EarshotdTest, HelpAndVersionExitZero) {
  RunResult help = RunToCompletion({kEarshotd, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("--rtp-ports"));
  RunResult version = RunToCompletion({kEarshotd, "--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.out, ::testing::MatchesRegex("[0-9]+\\.[0-9]+\\.[0-9]+\n"));
}

class EarshotdStopsOnSignal : public ::testing::TestWithParam<int> {};

TEST_P(EarshotdStopsOnSignal, WithinOneSecondAfterTicking) {
  Subprocess daemon({kEarshotd, "--workers", "2", "--log-format", "json", "--rtp-ports",
                     "31000-31999"});
  ASSERT_TRUE(daemon.WaitForStderr("\"event\":\"ready\"", 5s)) << daemon.stderr_text();
  std::this_thread::sleep_for(200ms);  // let the workers tick
  auto signalled = std::chrono::steady_clock::now();
  daemon.Signal(GetParam());
  std::optional<int> exit_code = daemon.Wait(5s);
  auto stop_time = std::chrono::steady_clock::now() - signalled;
  EXPECT_EQ(exit_code, 0) << daemon.stderr_text();
  EXPECT_LT(stop_time, 1s);

  // Every line is one JSON object, and the daemon said what it listens on and
  // how many ticks its workers ran.
  std::istringstream lines(daemon.stderr_text());
  std::string line;
  while (std::getline(lines, line)) {
    EXPECT_TRUE(line.starts_with("{\"ts\":\"") && line.ends_with("}")) << line;
  }
  EXPECT_THAT(daemon.stderr_text(), HasSubstr("\"grpc\":\"127.0.0.1:50051\""));
  EXPECT_THAT(daemon.stderr_text(), HasSubstr("\"rtp\":\"127.0.0.1 ports 31000-31999\""));
  EXPECT_THAT(daemon.stderr_text(), ::testing::ContainsRegex("\"event\":\"stopped\",\"ticks\":\"[1-9]"));
}

INSTANTIATE_TEST_SUITE_P(Signals, EarshotdStopsOnSignal, ::testing::Values(SIGINT, SIGTERM));

}  // namespace
}  // namespace earshot

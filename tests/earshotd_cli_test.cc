// earshotd as a user runs it: flags, config files, exit codes, logs, signals.

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>
#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <grpcpp/grpcpp.h>

#include "earshot/v1/system.grpc.pb.h"
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

void PrintTo(const BadFlag& bad, std::ostream* out) {
  for (const std::string& arg : bad.args) *out << arg << " ";
}

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
                     "31000-31999", "--grpc-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"});
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
  EXPECT_THAT(daemon.stderr_text(), ::testing::ContainsRegex("\"grpc\":\"127.0.0.1:[1-9][0-9]*\""));
  EXPECT_THAT(daemon.stderr_text(), HasSubstr("\"rtp\":\"127.0.0.1 ports 31000-31999\""));
  EXPECT_THAT(daemon.stderr_text(), ::testing::ContainsRegex("\"event\":\"stopped\",\"ticks\":\"[1-9]"));
}

TEST(EarshotdTest, ServesStatusOverGrpcWithEveryWorkerTicking) {
  Subprocess daemon({kEarshotd, "--workers", "2", "--tick-ms", "10", "--rtp-ports", "32000-32999",
                     "--grpc-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"});
  ASSERT_TRUE(daemon.WaitForStderr("ready", 5s)) << daemon.stderr_text();
  std::smatch match;
  std::string log = daemon.stderr_text();
  ASSERT_TRUE(std::regex_search(log, match, std::regex("grpc=(127\\.0\\.0\\.1:[0-9]+)"))) << log;

  auto stub = earshot::v1::System::NewStub(
      grpc::CreateChannel(match[1].str(), grpc::InsecureChannelCredentials()));
  earshot::v1::GetStatusResponse status;
  for (int attempt = 0; attempt < 100; ++attempt) {  // until both workers have ticked
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 2s);
    grpc::Status rpc = stub->GetStatus(&context, earshot::v1::GetStatusRequest(), &status);
    ASSERT_TRUE(rpc.ok()) << rpc.error_message();
    if (status.workers_size() == 2 && status.workers(0).ticks() > 0 && status.workers(1).ticks() > 0) {
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(status.tick_ms(), 10u);
  EXPECT_EQ(status.dataplane(), "kernel");
  ASSERT_EQ(status.workers_size(), 2);
  EXPECT_GT(status.workers(0).ticks(), 0u);
  EXPECT_GT(status.workers(1).ticks(), 0u);

  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(5s), 0);
}

TEST(EarshotdTest, ServesPrometheusMetricsAndHealthOverHttp) {
  Subprocess daemon({kEarshotd, "--workers", "2", "--rtp-ports", "35000-35999", "--grpc-listen",
                     "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"});
  ASSERT_TRUE(daemon.WaitForStderr("ready", 5s)) << daemon.stderr_text();
  std::smatch match;
  std::string log = daemon.stderr_text();
  ASSERT_TRUE(std::regex_search(log, match, std::regex("metrics=http://127\\.0\\.0\\.1:([0-9]+)/metrics")))
      << log;
  httplib::Client client("127.0.0.1", std::stoi(match[1].str()));
  client.set_read_timeout(2, 0);
  std::this_thread::sleep_for(100ms);  // a few ticks
  httplib::Result metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics) << httplib::to_string(metrics.error());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_THAT(metrics->get_header_value("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(metrics->body, HasSubstr("# TYPE earshot_worker_ticks_total counter"));
  EXPECT_THAT(metrics->body, ::testing::ContainsRegex("earshot_worker_ticks_total\\{worker=\"1\"\\} [1-9]"));
  EXPECT_THAT(metrics->body, HasSubstr("earshot_sessions 0"));
  httplib::Result health = client.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  httplib::Result other = client.Get("/secrets");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(5s), 0) << daemon.stderr_text();
}

TEST(EarshotdTest, GrpcAddressInUseIsAStartFailureNotACrash) {
  Subprocess first({kEarshotd, "--rtp-ports", "33000-33999", "--grpc-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"});
  ASSERT_TRUE(first.WaitForStderr("ready", 5s)) << first.stderr_text();
  std::smatch match;
  std::string log = first.stderr_text();
  ASSERT_TRUE(std::regex_search(log, match, std::regex("grpc=(127\\.0\\.0\\.1:[0-9]+)")));
  RunResult second = RunToCompletion({kEarshotd, "--rtp-ports", "34000-34999", "--metrics-listen", "127.0.0.1:0", "--grpc-listen",
                                      match[1].str()});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_THAT(second.err, HasSubstr("cannot listen for gRPC on " + match[1].str()));
  first.Signal(SIGTERM);
  EXPECT_EQ(first.Wait(5s), 0);
}

INSTANTIATE_TEST_SUITE_P(Signals, EarshotdStopsOnSignal, ::testing::Values(SIGINT, SIGTERM));

}  // namespace
}  // namespace earshot

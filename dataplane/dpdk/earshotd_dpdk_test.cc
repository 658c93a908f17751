// earshotd with --dataplane dpdk: start-up failures exit 2 with a message that
// says what to fix, and (as root) a call through its gRPC API with phones in a
// network namespace behind a veth pair whose other end earshotd drives with
// net_af_packet. earshotd runs as a child process, so the EAL is its own.

#include <signal.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "dataplane/dpdk/dpdk_backend.h"
#include "dataplane/dpdk/veth_wire_testing.h"
#include "earshot/v1/sessions.grpc.pb.h"
#include "earshot/v1/system.grpc.pb.h"
#include "tests/support/subprocess.h"

namespace earshot::dataplane::dpdk {
namespace {

using namespace std::chrono_literals;
using earshot::testing::RunToCompletion;
using earshot::testing::Subprocess;
using ::testing::HasSubstr;
using testing::NsPhone;
using testing::PingOnce;
using testing::VethWire;
namespace v1 = earshot::v1;

constexpr char kPeerIp[] = "10.214.0.1";
constexpr char kOurIp[] = "10.214.0.2";
constexpr char kEal[] = "-l 0 --no-huge --no-pci --no-shconf --no-telemetry -m 256 --log-level=lib.eal:error";
constexpr double kHeard = -20.0;

TEST(EarshotdDpdkTest, APortThatDoesNotExistStopsStartUpWithExitCode2) {
  auto run = RunToCompletion({EARSHOTD_PATH, "--dataplane", "dpdk", "--dpdk-eal", kEal, "--dpdk-port",
                              "0000:09:00.0", "--dpdk-ip", kOurIp, "--grpc-listen", "127.0.0.1:0",
                              "--metrics-listen", "127.0.0.1:0"});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_THAT(run.err, HasSubstr("DPDK port '0000:09:00.0' not found"));
}

TEST(EarshotdDpdkTest, WithoutHugepagesOrNoHugeItSaysWhatToDo) {
  if (HugepagesReserved() > 0) GTEST_SKIP() << "this machine has hugepages reserved";
  auto run = RunToCompletion({EARSHOTD_PATH, "--dataplane", "dpdk", "--dpdk-eal", "-l 0 --no-pci",
                              "--dpdk-port", "net_null0", "--dpdk-ip", kOurIp, "--grpc-listen",
                              "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_THAT(run.err, HasSubstr("no hugepages"));
  EXPECT_THAT(run.err, HasSubstr("--no-huge"));
}

TEST(EarshotdDpdkTest, ACallThroughTheDpdkPortAndPingOfItsAddress) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_NET_ADMIN and CAP_NET_RAW) for veth, netns and net_af_packet";
  VethWire wire(std::string(kPeerIp) + "/24");
  if (std::string why = wire.SetUp(); !why.empty()) GTEST_SKIP() << "veth/netns unavailable: " << why;

  Subprocess daemon({EARSHOTD_PATH, "--dataplane", "dpdk", "--dpdk-eal", kEal, "--dpdk-port",
                     "net_af_packet0,iface=" + wire.dpdk_if(), "--dpdk-ip", std::string(kOurIp) + "/24",
                     "--grpc-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--rtp-ports",
                     "44000-44099", "--workers", "1"});
  ASSERT_TRUE(daemon.WaitForStderr("ready", 20s)) << daemon.stderr_text();
  const std::string log = daemon.stderr_text();
  EXPECT_THAT(log, HasSubstr("dataplane=dpdk"));
  EXPECT_THAT(log, HasSubstr("net_af_packet0 (net_af_packet)"));
  std::smatch match;
  ASSERT_TRUE(std::regex_search(log, match, std::regex("grpc=(127\\.0\\.0\\.1:[0-9]+)"))) << log;
  auto channel = grpc::CreateChannel(match[1].str(), grpc::InsecureChannelCredentials());
  auto sessions = v1::Sessions::NewStub(channel);
  auto system = v1::System::NewStub(channel);
  auto context = [] {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + 5s);
    return c;
  };

  for (uint16_t sequence = 1; sequence <= 3; ++sequence) {
    EXPECT_TRUE(PingOnce(wire.ns_fd(), kOurIp, sequence)) << "echo " << sequence;
  }

  v1::CreateSessionRequest create;
  create.set_id("dpdk-call");
  create.set_rate(8000);
  v1::Session session;
  ASSERT_TRUE(sessions->CreateSession(context().get(), create, &session).ok());
  NsPhone customer(wire.ns_fd(), kPeerIp, 440.0);
  NsPhone agent(wire.ns_fd(), kPeerIp, 770.0);
  auto add = [&](const char* id, v1::Role role, NsPhone& phone) {
    v1::AddLegRequest request;
    request.set_session_id("dpdk-call");
    request.set_leg_id(id);
    request.mutable_spec()->set_role(role);
    request.mutable_spec()->set_codec("PCMU");
    request.mutable_spec()->set_payload_type(0);
    request.mutable_spec()->set_remote(std::string(kPeerIp) + ":" + std::to_string(phone.port()));
    v1::Leg leg;
    grpc::Status status = sessions->AddLeg(context().get(), request, &leg);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(leg.local_ip(), kOurIp);
    phone.SendTo(kOurIp, static_cast<uint16_t>(leg.local_port()));
  };
  add("customer", v1::ROLE_CUSTOMER, customer);
  add("agent", v1::ROLE_AGENT, agent);

  auto next = std::chrono::steady_clock::now();
  for (int tick = 0; tick < 50; ++tick) {
    customer.SendFrame();
    agent.SendFrame();
    next += 20ms;
    std::this_thread::sleep_until(next);
    customer.Drain();
    agent.Drain();
  }
  EXPECT_GT(customer.Level(770.0), kHeard);
  EXPECT_GT(agent.Level(440.0), kHeard);
  EXPECT_GT(customer.packets().size(), 35u);
  EXPECT_EQ(customer.wrong_source(), 0);

  v1::GetStatusResponse status;
  ASSERT_TRUE(system->GetStatus(context().get(), v1::GetStatusRequest(), &status).ok());
  EXPECT_EQ(status.dataplane(), "dpdk");
  ASSERT_EQ(status.workers_size(), 1);
  EXPECT_GT(status.workers(0).rx_packets(), 70u);

  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(10s), 0) << daemon.stderr_text();
  EXPECT_THAT(daemon.stderr_text(), HasSubstr("icmp_echo_answered=3"));
  EXPECT_THAT(daemon.stderr_text(), HasSubstr("arp_answered="));
}

}  // namespace
}  // namespace earshot::dataplane::dpdk

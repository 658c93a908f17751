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
#include <httplib.h>

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

  // The port's counters, in the status and in the metrics: the 3 pings, the
  // peer's ARP, ~100 datagrams each way, nothing dropped for lack of anything.
  ASSERT_EQ(status.dpdk_ports_size(), 1);
  const v1::DpdkPortStatus& port = status.dpdk_ports(0);
  EXPECT_EQ(port.name(), "net_af_packet0");
  EXPECT_EQ(port.driver(), "net_af_packet");
  EXPECT_EQ(port.ip(), kOurIp);
  EXPECT_GE(port.neighbours(), 1u);
  ASSERT_EQ(port.queues_size(), 1);
  const auto& counters = port.queues(0).counters();
  const auto count = [&counters](const std::string& name) {
    auto found = counters.find(name);
    EXPECT_NE(found, counters.end()) << name;
    return found == counters.end() ? uint64_t{0} : found->second;
  };
  EXPECT_EQ(count("icmp_echo_answered"), 3u);
  EXPECT_GE(count("arp_requests_answered"), 1u);
  EXPECT_GT(count("rx_delivered"), 70u);
  EXPECT_GE(count("rx_frames"), count("rx_delivered") + 3);
  EXPECT_GT(count("rx_bytes"), 70u * 172);
  EXPECT_GT(count("tx_frames"), 70u + 3);
  EXPECT_EQ(count("mbuf_exhausted"), 0u);
  EXPECT_EQ(count("ring_full"), 0u);
  EXPECT_EQ(count("tx_nic_full"), 0u);
  EXPECT_EQ(count("tx_no_neighbour"), 0u);
  EXPECT_EQ(port.queues(0).rx_dropped().count("ip_checksum"), 1u);  // every reason is listed

  std::smatch metrics_port;
  ASSERT_TRUE(std::regex_search(log, metrics_port, std::regex("metrics=http://127\\.0\\.0\\.1:([0-9]+)/metrics")))
      << log;
  httplib::Client client("127.0.0.1", std::stoi(metrics_port[1].str()));
  client.set_read_timeout(2, 0);
  httplib::Result metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics) << httplib::to_string(metrics.error());
  const std::string labels = "{port=\"net_af_packet0\",queue=\"0\"}";
  EXPECT_THAT(metrics->body, HasSubstr("earshot_dpdk_icmp_echo_answered_total" + labels + " 3\n"));
  EXPECT_THAT(metrics->body, ::testing::ContainsRegex("earshot_dpdk_rx_delivered_total\\{port=\"net_af_packet0\","
                                                      "queue=\"0\"\\} [1-9][0-9]+\n"));
  EXPECT_THAT(metrics->body, ::testing::ContainsRegex("earshot_dpdk_tx_frames_total\\{port=\"net_af_packet0\","
                                                      "queue=\"0\"\\} [1-9][0-9]+\n"));
  EXPECT_THAT(metrics->body, ::testing::ContainsRegex("earshot_dpdk_arp_requests_answered_total\\{port=\"net_af_packet0\","
                                                      "queue=\"0\"\\} [1-9]"));
  EXPECT_THAT(metrics->body, HasSubstr("earshot_dpdk_mbuf_exhausted_total" + labels + " 0\n"));
  EXPECT_THAT(metrics->body, HasSubstr("earshot_dpdk_rx_dropped_total{port=\"net_af_packet0\",queue=\"0\","
                                       "reason=\"ip_fragment\"} 0\n"));

  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(10s), 0) << daemon.stderr_text();
  EXPECT_THAT(daemon.stderr_text(), HasSubstr("icmp_echo_answered=3"));
  EXPECT_THAT(daemon.stderr_text(), HasSubstr("arp_requests_answered="));
}

}  // namespace
}  // namespace earshot::dataplane::dpdk

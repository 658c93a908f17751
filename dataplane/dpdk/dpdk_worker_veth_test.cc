// The supervision scenario of tests/worker_loopback_test.cc through workers on
// the DPDK back end: net_af_packet on one end of a veth pair, the phones behind
// the other end in a network namespace this test creates (and always removes).
// The EAL starts once per process, so this binary sets up the wire, the EAL and
// the port once for all its tests.
//
// Needs root (veth, netns, af_packet). Without it, or without veth/netns
// support in the kernel, every test is skipped with the reason.
//
// Two workers on a port with two queue pairs: the call lives on worker 1, and
// af_packet's fanout spreads frames over both RX queues, so datagrams that land
// on worker 0's queue reach worker 1 through the worker 0 -> 1 ring.

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/ip_icmp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "codecs/g711.h"
#include "dataplane/dpdk/dpdk_packet_io.h"
#include "dataplane/dpdk/eal.h"
#include "dataplane/rtp_packet.h"
#include "dataplane/worker.h"
#include "dataplane/dpdk/veth_wire_testing.h"
#include "tests/support/subprocess.h"
#include "tests/support/tone.h"

namespace earshot::dataplane::dpdk {
namespace {

using namespace std::chrono_literals;
using earshot::testing::RunToCompletion;
using testing::InNamespace;
using testing::NowNs;
using testing::NsPhone;
using testing::PingOnce;
using testing::Resolved;
using testing::VethWire;
using mixer::Role;
using mixer::SupervisorMode;

constexpr auto kCallTimeout = 2000ms;
constexpr double kHeard = -20.0;
constexpr double kSilent = -52.0;
constexpr char kPeerIp[] = "10.213.0.1";
constexpr char kOurIp[] = "10.213.0.2";
constexpr uint16_t kPortLow = 41000;
constexpr uint16_t kPortHigh = 41099;
constexpr int kWorkers = 2;

// Everything the tests share: the wire, the EAL, the port and two workers.
struct Fixture {
  std::string skip_reason;
  std::unique_ptr<VethWire> wire;
  std::optional<Eal> eal;
  std::unique_ptr<DpdkPort> port;
  std::vector<std::unique_ptr<Worker>> workers;
};
Fixture* g_fixture = nullptr;

class DpdkVethEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    g_fixture = new Fixture;
    Fixture& f = *g_fixture;
    if (geteuid() != 0) {
      f.skip_reason = "needs root (CAP_NET_ADMIN and CAP_NET_RAW) for veth, netns and net_af_packet";
      return;
    }
    f.wire = std::make_unique<VethWire>(std::string(kPeerIp) + "/24");
    if (std::string why = f.wire->SetUp(); !why.empty()) {
      f.skip_reason = "veth/netns unavailable: " + why;
      return;
    }
    const std::vector<std::string> args = {
        "-l", "0", "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry", "-m", "256",
        fmt::format("--vdev=net_af_packet0,iface={},qpairs={}", f.wire->dpdk_if(), kWorkers),
        "--log-level=lib.eal:error"};
    Result<Eal> eal = Eal::Init(args);
    ASSERT_TRUE(eal.has_value()) << eal.error().message;
    f.eal.emplace(std::move(*eal));
    DpdkPortOptions options;
    options.port_name = "net_af_packet0";
    options.ip = *ParseIpv4(kOurIp);
    options.prefix_length = 24;
    options.workers = kWorkers;
    options.mbufs_per_worker = 2047;
    options.packet_buffers = 1024;
    if (const char* sleep_us = std::getenv("EARSHOT_DPDK_IDLE_SLEEP_US")) {  // for measuring
      options.idle_sleep = std::chrono::microseconds(std::atoi(sleep_us));
    }
    auto port = DpdkPort::Create(options);
    ASSERT_TRUE(port.has_value()) << port.error().message;
    f.port = std::move(*port);
    std::printf("DPDK port: %s\n", f.port->Describe().c_str());
    const int share = (kPortHigh - kPortLow + 1) / kWorkers;
    for (int i = 0; i < kWorkers; ++i) {
      WorkerOptions worker;
      worker.index = i;
      worker.rtp_ip = kOurIp;
      worker.port_low = static_cast<uint16_t>(kPortLow + i * share);
      worker.port_high = static_cast<uint16_t>(kPortLow + (i + 1) * share - 1);
      worker.max_sessions = 16;
      auto io = f.port->MakePacketIo(i, worker.port_low, worker.port_high);
      ASSERT_TRUE(io.has_value()) << io.error().message;
      f.workers.push_back(std::make_unique<Worker>(worker, std::move(*io)));
    }
    for (auto& worker : f.workers) ASSERT_TRUE(worker->Start());
  }

  void TearDown() override {
    if (g_fixture == nullptr) return;
    for (auto& worker : g_fixture->workers) worker->Stop();
    g_fixture->workers.clear();  // the PacketIos go before the port
    g_fixture->port.reset();
    g_fixture->eal.reset();
    delete g_fixture;  // removes the namespace and the veth pair
    g_fixture = nullptr;
  }
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new DpdkVethEnvironment);

class DpdkWorkerVethTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(g_fixture, nullptr);
    if (!g_fixture->skip_reason.empty()) GTEST_SKIP() << g_fixture->skip_reason;
    ASSERT_NE(g_fixture->port, nullptr) << "the DPDK set-up failed (see above)";
  }
  Worker& worker(int i) { return *g_fixture->workers[static_cast<size_t>(i)]; }
  int ns_fd() { return g_fixture->wire->ns_fd(); }
};

void Talk(std::vector<NsPhone*> phones, int ticks) {
  auto next = std::chrono::steady_clock::now();
  for (int tick = 0; tick < ticks; ++tick) {
    for (NsPhone* phone : phones) phone->SendFrame();
    next += 20ms;
    std::this_thread::sleep_until(next);
    for (NsPhone* phone : phones) phone->Drain();
  }
}

// Talks for `ticks`, then on until every phone has received `packets` more
// packets (at most 10 s): on a loaded machine (2 cores shared with builds)
// ticks come late, but the audio must still be right, as in earshotd_api_test.
void TalkUntilHeard(std::vector<NsPhone*> phones, int ticks, size_t packets) {
  std::vector<size_t> before;
  for (NsPhone* phone : phones) before.push_back(phone->packets().size());
  Talk(phones, ticks);
  for (int round = 0; round < 500; ++round) {
    bool enough = true;
    for (size_t i = 0; i < phones.size(); ++i) enough &= phones[i]->packets().size() >= before[i] + packets;
    if (enough) return;
    Talk(phones, 1);
  }
}

void PrintCounters(const DpdkPort& port) {
  for (int i = 0; i < kWorkers; ++i) {
    const DpdkQueueCounters& c = port.queue_counters(i);
    auto read = [](const std::atomic<uint64_t>& v) { return v.load(std::memory_order_relaxed); };
    std::printf("queue %d: rx %lu delivered %lu forwarded %lu from_ring %lu tx %lu held %lu "
                "no_neighbour %lu arp_answered %lu arp_learnt %lu arp_sent %lu ring_full %lu "
                "pool_empty %lu nic_full %lu\n",
                i, read(c.rx_frames), read(c.rx_delivered), read(c.rx_forwarded), read(c.rx_from_ring),
                read(c.tx_frames), read(c.tx_held), read(c.tx_no_neighbour),
                read(c.arp_requests_answered), read(c.arp_replies_learnt), read(c.arp_requests_sent),
                read(c.ring_full), read(c.rx_pool_empty), read(c.tx_nic_full));
    for (size_t r = 0; r < kFrameDropCount; ++r) {
      if (read(c.dropped[r]) == 0) continue;
      std::printf("  dropped %s: %lu\n", std::string(FrameDropName(static_cast<FrameDrop>(r))).c_str(),
                  read(c.dropped[r]));
    }
  }
}

TEST_F(DpdkWorkerVethTest, PhonesHearWhatTheirModeSaysAndStreamsStayContinuous) {
  Worker& owner = worker(1);
  auto media = mixer::MediaSession::Create(mixer::SessionOptions{});
  ASSERT_TRUE(media.has_value());
  auto created = owner.Call(CreateSession{0, std::make_unique<WorkerSession>(std::move(*media))}, kCallTimeout);
  ASSERT_TRUE(created.has_value()) << created.error().message;

  NsPhone customer(ns_fd(), kPeerIp, 440.0);
  NsPhone agent(ns_fd(), kPeerIp, 770.0);
  NsPhone supervisor(ns_fd(), kPeerIp, 1170.0);
  auto attach = [&](int slot, Role role, NsPhone& phone) {
    auto leg_media = mixer::LegMedia::Create(std::make_unique<G711Encoder>(G711Law::kUlaw),
                                             std::make_unique<G711Decoder>(G711Law::kUlaw),
                                             mixer::JitterBufferOptions{}, 8000, 160);
    ASSERT_TRUE(leg_media.has_value());
    RtpLegConfig rtp;
    rtp.remote = *SocketAddress::Parse(kPeerIp, phone.port());
    rtp.latch = true;
    rtp.payload_type = PayloadType(0);
    rtp.tick_samples = 160;
    rtp.ssrc = Ssrc(0x7000 + static_cast<uint32_t>(slot));
    rtp.first_sequence = SequenceNumber(static_cast<uint16_t>(65500 + slot * 10));
    rtp.first_timestamp = RtpTimestamp(0xFFFF0000u);
    auto added = owner.Call(AddLeg{0, slot, role, SupervisorMode::kListen, false, std::move(*leg_media), rtp},
                            kCallTimeout);
    ASSERT_TRUE(added.has_value()) << added.error().message;
    EXPECT_EQ(added->local.ToString().substr(0, 11), "10.213.0.2:");
    EXPECT_GE(added->local.port(), 41050) << "worker 1's half of the range";
    phone.SendTo(kOurIp, added->local.port());
  };
  attach(0, Role::kCustomer, customer);
  attach(1, Role::kAgent, agent);
  attach(2, Role::kSupervisor, supervisor);
  std::vector<NsPhone*> phones = {&customer, &agent, &supervisor};

  TalkUntilHeard(phones, 40, 30);
  EXPECT_GT(customer.Level(770.0), kHeard);
  EXPECT_LT(customer.Level(1170.0), kSilent);
  EXPECT_GT(agent.Level(440.0), kHeard);
  EXPECT_LT(agent.Level(1170.0), kSilent);
  EXPECT_GT(supervisor.Level(440.0), kHeard);
  EXPECT_GT(supervisor.Level(770.0), kHeard);

  ASSERT_TRUE(owner.Call(SetMode{0, 2, SupervisorMode::kWhisper, false}, kCallTimeout).has_value());
  TalkUntilHeard(phones, 25, 20);
  EXPECT_GT(agent.Level(1170.0), kHeard) << "the agent hears the coach";
  EXPECT_LT(customer.Level(1170.0), kSilent) << "the customer does not";

  ASSERT_TRUE(owner.Call(SetMode{0, 2, SupervisorMode::kBarge, false}, kCallTimeout).has_value());
  TalkUntilHeard(phones, 25, 20);
  EXPECT_GT(customer.Level(1170.0), kHeard);
  EXPECT_GT(agent.Level(1170.0), kHeard);

  PrintCounters(*g_fixture->port);
  // A worker more than a tick behind skips ahead (worker.h): on a machine this
  // loaded, the stream then jumps in timestamp with the marker set, by design.
  // Only then is a jump allowed; the sequence must be continuous always.
  const uint64_t skipped = owner.counters().skipped_ticks.load();
  std::printf("worker 1: ticks %lu overruns %lu skipped %lu\n", owner.counters().ticks.load(),
              owner.counters().overruns.load(), skipped);
  for (NsPhone* phone : phones) {
    const auto& packets = phone->packets();
    EXPECT_EQ(phone->wrong_source(), 0);
    ASSERT_GT(packets.size(), 70u);
    EXPECT_TRUE(packets.front().marker) << "the first packet was not lost to ARP";
    for (size_t i = 1; i < packets.size(); ++i) {
      EXPECT_EQ(packets[i].ssrc, packets[0].ssrc);
      EXPECT_EQ(static_cast<uint16_t>(packets[i].sequence - packets[i - 1].sequence), 1) << i;
      const uint32_t step = packets[i].timestamp - packets[i - 1].timestamp;
      if (skipped > 0 && packets[i].marker && step % 160 == 0 && step > 160) continue;
      EXPECT_EQ(step, 160u) << i;
      EXPECT_FALSE(packets[i].marker) << i;
    }
  }

  uint64_t dropped = 0;
  for (int i = 0; i < kWorkers; ++i) {
    const DpdkQueueCounters& c = g_fixture->port->queue_counters(i);
    auto read = [](const std::atomic<uint64_t>& v) { return v.load(std::memory_order_relaxed); };
    dropped += read(c.dropped[static_cast<size_t>(FrameDrop::kUdpChecksum)]) +
               read(c.dropped[static_cast<size_t>(FrameDrop::kIpChecksum)]) + read(c.ring_full) +
               read(c.tx_no_neighbour) + read(c.tx_nic_full) + read(c.mbuf_exhausted);
  }
  EXPECT_EQ(dropped, 0u) << "no checksum, ring, neighbour or mbuf losses on a clean wire";
  // Worker 1 may not have taken the last forwarded datagrams from the ring yet.
  for (int i = 0; i < 100 && g_fixture->port->queue_counters(0).rx_forwarded.load() !=
                                 g_fixture->port->queue_counters(1).rx_from_ring.load();
       ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(g_fixture->port->queue_counters(0).rx_forwarded.load(),
            g_fixture->port->queue_counters(1).rx_from_ring.load())
      << "what worker 0 forwarded, worker 1 took";

  ASSERT_TRUE(owner.Call(DeleteSession{0}, kCallTimeout).has_value());
}

TEST_F(DpdkWorkerVethTest, PingOfTheMediaAddressIsAnswered) {
  for (uint16_t sequence = 1; sequence <= 3; ++sequence) {
    EXPECT_TRUE(PingOnce(ns_fd(), kOurIp, sequence)) << "echo " << sequence;
  }
  // With iputils installed, the operator's own tool too.
  if (earshot::testing::FindProgram("ping")) {
    auto result = RunToCompletion(Resolved({"ip", "netns", "exec", g_fixture->wire->ns(), "ping", "-c", "3", "-W",
                                   "1", kOurIp}));
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  }
  uint64_t answered = 0;
  for (int i = 0; i < kWorkers; ++i) answered += g_fixture->port->queue_counters(i).icmp_echo_answered.load();
  EXPECT_GE(answered, 3u);
}

TEST_F(DpdkWorkerVethTest, DatagramsToClosedOrForeignPortsAreCountedNotDelivered) {
  auto total = [](auto member) {
    uint64_t sum = 0;
    for (int i = 0; i < kWorkers; ++i) sum += (g_fixture->port->queue_counters(i).*member).load();
    return sum;
  };
  const uint64_t closed_before = total(&DpdkQueueCounters::rx_port_closed);
  const uint64_t unowned_before = total(&DpdkQueueCounters::rx_port_unowned);
  NsPhone stray(ns_fd(), kPeerIp, 300.0);
  stray.SendTo(kOurIp, 41077);  // worker 1's range, nothing open there
  for (int i = 0; i < 5; ++i) stray.SendFrame();
  stray.SendTo(kOurIp, 5060);   // nobody's range
  for (int i = 0; i < 5; ++i) stray.SendFrame();
  const int64_t deadline = NowNs() + 2'000'000'000;
  while ((total(&DpdkQueueCounters::rx_port_closed) - closed_before < 5 ||
          total(&DpdkQueueCounters::rx_port_unowned) - unowned_before < 5) &&
         NowNs() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(total(&DpdkQueueCounters::rx_port_closed) - closed_before, 5u);
  EXPECT_EQ(total(&DpdkQueueCounters::rx_port_unowned) - unowned_before, 5u);
}

}  // namespace
}  // namespace earshot::dataplane::dpdk

// A worker with real sockets on loopback, driven through its command queue as
// the control plane drives it: three phones (customer, agent, supervisor) send
// their tones, the supervisor changes mode mid-call, and every phone's stream is
// checked for who it hears and for RTP continuity.

#include <chrono>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "codecs/g711.h"
#include "dataplane/kernel/kernel_packet_io.h"
#include "dataplane/rtp_packet.h"
#include "dataplane/worker.h"
#include "tests/support/rtp_phone.h"

namespace earshot::dataplane {
namespace {

using namespace std::chrono_literals;
using earshot::testing::RtpPhone;
using mixer::Role;
using mixer::SupervisorMode;

constexpr auto kCallTimeout = 2000ms;
constexpr double kHeard = -20.0;   // a -12 dBFS tone through G.711 twice
constexpr double kSilent = -52.0;  // 40 dB below what was sent

class WorkerLoopbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WorkerOptions options;
    options.rtp_ip = "127.0.0.1";
    options.port_low = 41000;
    options.port_high = 41099;
    options.max_sessions = 16;
    KernelPacketIoOptions io_options;
    io_options.max_ports = 100;
    auto io = KernelPacketIo::Create(io_options);
    ASSERT_TRUE(io.has_value()) << io.error().message;
    worker_ = std::make_unique<Worker>(options, std::move(*io));
    ASSERT_TRUE(worker_->Start());

    auto media = mixer::MediaSession::Create(mixer::SessionOptions{});
    ASSERT_TRUE(media.has_value());
    auto created = worker_->Call(CreateSession{0, std::make_unique<WorkerSession>(std::move(*media))},
                                 kCallTimeout);
    ASSERT_TRUE(created.has_value()) << created.error().message;
  }

  // Adds a leg for `phone` and points the phone at the leg's local address.
  void AttachPhone(int slot, Role role, SupervisorMode mode, RtpPhone& phone) {
    auto media = mixer::LegMedia::Create(std::make_unique<G711Encoder>(G711Law::kUlaw),
                                         std::make_unique<G711Decoder>(G711Law::kUlaw),
                                         mixer::JitterBufferOptions{}, 8000, 160);
    ASSERT_TRUE(media.has_value());
    RtpLegConfig rtp;
    rtp.remote = *SocketAddress::Parse("127.0.0.1", phone.port());
    rtp.latch = true;
    rtp.payload_type = PayloadType(0);
    rtp.tick_samples = 160;
    rtp.ssrc = Ssrc(0x7000 + static_cast<uint32_t>(slot));
    rtp.first_sequence = SequenceNumber(static_cast<uint16_t>(65500 + slot * 10));
    rtp.first_timestamp = RtpTimestamp(0xFFFF0000u);
    auto added = worker_->Call(dataplane::AddLeg{0, slot, role, mode, false, std::move(*media), rtp}, kCallTimeout);
    ASSERT_TRUE(added.has_value()) << added.error().message;
    ASSERT_EQ(added->local.port() / 100, 410);
    local_ports_[slot] = added->local.port();
    phone.SendTo("127.0.0.1", added->local.port());
  }

  // Runs the phones in real time for `ticks` x 20 ms.
  void Talk(std::vector<RtpPhone*> phones, int ticks) {
    auto next = std::chrono::steady_clock::now();
    for (int tick = 0; tick < ticks; ++tick) {
      for (RtpPhone* phone : phones) phone->SendFrame();
      next += 20ms;
      std::this_thread::sleep_until(next);
      for (RtpPhone* phone : phones) phone->Drain();
    }
  }

  void TearDown() override {
    if (worker_) worker_->Stop();
  }

  std::unique_ptr<Worker> worker_;
  uint16_t local_ports_[16] = {};
};

TEST_F(WorkerLoopbackTest, PhonesHearWhatTheirModeSaysAndStreamsStayContinuous) {
  RtpPhone customer(440.0);
  RtpPhone agent(770.0);
  RtpPhone supervisor(1170.0);
  AttachPhone(0, Role::kCustomer, SupervisorMode::kListen, customer);
  AttachPhone(1, Role::kAgent, SupervisorMode::kListen, agent);
  AttachPhone(2, Role::kSupervisor, SupervisorMode::kListen, supervisor);
  std::vector<RtpPhone*> phones = {&customer, &agent, &supervisor};

  Talk(phones, 40);
  EXPECT_GT(customer.Level(770.0), kHeard);
  EXPECT_LT(customer.Level(1170.0), kSilent);
  EXPECT_GT(agent.Level(440.0), kHeard);
  EXPECT_LT(agent.Level(1170.0), kSilent);
  EXPECT_GT(supervisor.Level(440.0), kHeard);
  EXPECT_GT(supervisor.Level(770.0), kHeard);

  ASSERT_TRUE(worker_->Call(SetMode{0, 2, SupervisorMode::kWhisper, false}, kCallTimeout).has_value());
  Talk(phones, 25);
  EXPECT_GT(agent.Level(1170.0), kHeard) << "the agent hears the coach";
  EXPECT_LT(customer.Level(1170.0), kSilent) << "the customer does not";

  ASSERT_TRUE(worker_->Call(SetMode{0, 2, SupervisorMode::kBarge, false}, kCallTimeout).has_value());
  Talk(phones, 25);
  EXPECT_GT(customer.Level(1170.0), kHeard);
  EXPECT_GT(agent.Level(1170.0), kHeard);

  // Every stream: one SSRC, sequence +1 per packet, timestamp +160 per packet,
  // across all three modes; about one packet per tick.
  for (RtpPhone* phone : phones) {
    const auto& packets = phone->packets();
    ASSERT_GT(packets.size(), 80u);
    EXPECT_TRUE(packets.front().marker);
    for (size_t i = 1; i < packets.size(); ++i) {
      EXPECT_EQ(packets[i].ssrc, packets[0].ssrc);
      EXPECT_EQ(static_cast<uint16_t>(packets[i].sequence - packets[i - 1].sequence), 1) << i;
      EXPECT_EQ(packets[i].timestamp - packets[i - 1].timestamp, 160u) << i;
      EXPECT_FALSE(packets[i].marker) << i;
    }
  }
}

TEST_F(WorkerLoopbackTest, GarbageAndStrangersDoNotDisturbTheCall) {
  RtpPhone customer(440.0);
  RtpPhone agent(770.0);
  RtpPhone stranger(2310.0);
  AttachPhone(0, Role::kCustomer, SupervisorMode::kListen, customer);
  AttachPhone(1, Role::kAgent, SupervisorMode::kListen, agent);
  Talk({&customer, &agent}, 20);  // both legs latch to their phones
  stranger.SendTo("127.0.0.1", local_ports_[0]);

  // Each tick: valid RTP with another tone from a stranger (RTP Bleed), random
  // bytes, and from the customer's own address a truncated packet and one with
  // a payload type that was not negotiated.
  uint32_t seed = 12345;
  auto next_random = [&seed] {
    seed = seed * 1103515245u + 12345u;
    return static_cast<uint8_t>(seed >> 16);
  };
  const size_t agent_packets_before = agent.packets().size();
  auto next = std::chrono::steady_clock::now();
  const int kTicks = 40;
  for (int tick = 0; tick < kTicks; ++tick) {
    customer.SendFrame();
    agent.SendFrame();
    stranger.SendFrame();
    std::vector<uint8_t> garbage(1 + next_random() % 200);
    for (uint8_t& byte : garbage) byte = next_random();
    stranger.SendRaw(garbage);
    customer.SendRaw({0x90, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE});  // extension cut off
    std::vector<uint8_t> wrong_type(172, 0xFF);
    wrong_type[0] = 0x80;
    wrong_type[1] = 8;  // PCMA, not negotiated
    customer.SendRaw(wrong_type);
    next += 20ms;
    std::this_thread::sleep_until(next);
    customer.Drain();
    agent.Drain();
  }
  // The agent still hears the customer and never the stranger, with no gap.
  EXPECT_GT(agent.Level(440.0, 400), kHeard);
  EXPECT_LT(agent.Level(2310.0, 400), kSilent);
  const auto& packets = agent.packets();
  EXPECT_GE(packets.size() - agent_packets_before, static_cast<size_t>(kTicks - 3));
  for (size_t i = agent_packets_before + 1; i < packets.size(); ++i) {
    EXPECT_EQ(static_cast<uint16_t>(packets[i].sequence - packets[i - 1].sequence), 1);
  }

  auto stats = std::make_unique<SessionStats>();
  stats->legs.resize(16);
  auto reply = worker_->Call(GetStats{0, std::move(stats)}, kCallTimeout);
  ASSERT_TRUE(reply.has_value()) << reply.error().message;
  const LegStats& leg = reply->stats->legs[0];
  const auto dropped = [&](RxDrop reason) { return leg.rtp.dropped[static_cast<size_t>(reason)]; };
  EXPECT_TRUE(leg.latched);
  EXPECT_EQ(leg.remote.port(), customer.port());
  EXPECT_EQ(dropped(RxDrop::kWrongSource), 2u * kTicks);  // the stranger's RTP and garbage
  EXPECT_EQ(dropped(RxDrop::kMalformed), static_cast<uint64_t>(kTicks));
  EXPECT_EQ(dropped(RxDrop::kUnknownPayloadType), static_cast<uint64_t>(kTicks));
  EXPECT_EQ(leg.rtp.latches, 1u);
}

// Binds 127.0.0.1:port with a plain socket; true if the port was free.
bool PortIsFree(uint16_t port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool free = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return free;
}

TEST_F(WorkerLoopbackTest, WithoutRtcpMuxALegGetsAnEvenPortAndRtcpOnTheNextOne) {
  RtpPhone phone(440.0);
  auto media = mixer::LegMedia::Create(std::make_unique<G711Encoder>(G711Law::kUlaw),
                                       std::make_unique<G711Decoder>(G711Law::kUlaw),
                                       mixer::JitterBufferOptions{}, 8000, 160);
  RtpLegConfig rtp;
  rtp.remote = *SocketAddress::Parse("127.0.0.1", phone.port());
  AddLeg command{0, 3, Role::kOther, SupervisorMode::kListen, false, std::move(*media), rtp};
  command.rtcp_mux = false;
  auto added = worker_->Call(std::move(command), kCallTimeout);
  ASSERT_TRUE(added.has_value()) << added.error().message;
  const uint16_t port = added->local.port();
  EXPECT_EQ(port % 2, 0);
  EXPECT_FALSE(PortIsFree(static_cast<uint16_t>(port + 1)));

  // An RTCP receiver report and a stray datagram at the RTCP port.
  phone.SendTo("127.0.0.1", static_cast<uint16_t>(port + 1));
  phone.SendRaw({0x80, 201, 0x00, 0x01, 0, 0, 0x50, 0x00});
  phone.SendRaw({0x00, 0x01, 0x00, 0x00});
  std::this_thread::sleep_for(50ms);
  auto stats = std::make_unique<SessionStats>();
  stats->legs.resize(16);
  auto reply = worker_->Call(GetStats{0, std::move(stats)}, kCallTimeout);
  ASSERT_TRUE(reply.has_value());
  const LegStats& leg = reply->stats->legs[3];
  EXPECT_EQ(leg.rtp.rx_rtcp, 1u);
  EXPECT_EQ(leg.rtp.dropped[static_cast<size_t>(RxDrop::kNotRtp)], 1u);

  ASSERT_TRUE(worker_->Call(RemoveLeg{0, 3}, kCallTimeout).has_value());
  EXPECT_TRUE(PortIsFree(port));
  EXPECT_TRUE(PortIsFree(static_cast<uint16_t>(port + 1)));
}

}  // namespace
}  // namespace earshot::dataplane

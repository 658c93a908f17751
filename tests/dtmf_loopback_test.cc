// RFC 4733 DTMF through a worker with real loopback sockets: phones send digits
// as telephone-event packets between their audio, and each phone's received
// stream says exactly which digits reached it, with what durations, end-packet
// repetition, payload type, SSRC and sequence/timestamp continuity. A tshark
// capture of one forwarded stream checks that an outside decoder reads the
// digits too.

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "codecs/g711.h"
#include "dataplane/kernel/kernel_packet_io.h"
#include "dataplane/packet_demux.h"
#include "dataplane/rtp_packet.h"
#include "dataplane/telephone_event.h"
#include "dataplane/worker.h"
#include "tests/support/subprocess.h"

namespace earshot::dataplane {
namespace {

using namespace std::chrono_literals;
using mixer::Role;
using mixer::SupervisorMode;

constexpr auto kCallTimeout = 2000ms;

struct Received {
  uint16_t sequence;
  uint32_t timestamp;
  uint32_t ssrc;
  bool marker;
  uint8_t payload_type;
  std::vector<uint8_t> payload;
};

// A forwarded event as one phone saw it: its packets, in order of arrival.
struct SeenEvent {
  std::vector<size_t> packets;  // indexes into the phone's received packets
};

// A phone that sends PCMU silence every tick, or, while a digit is being
// pressed, RFC 4733 packets in its place (as desk phones do), and keeps every
// packet it receives.
class DtmfPhone {
 public:
  // Sends its digits with `event_pt`, the telephone-event type it negotiated.
  explicit DtmfPhone(uint32_t ssrc, uint8_t event_pt = 101) : ssrc_(ssrc), event_pt_(event_pt) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
    socklen_t length = sizeof local;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &length);
    port_ = ntohs(local.sin_port);
    fcntl(fd_, F_SETFL, O_NONBLOCK);
  }
  ~DtmfPhone() { close(fd_); }

  uint16_t port() const { return port_; }
  void SendTo(uint16_t port) {
    destination_.sin_family = AF_INET;
    destination_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    destination_.sin_port = htons(port);
  }

  // Presses `digit` for `ticks` ticks of 20 ms (100 ms: 5).
  void Press(char digit, int ticks) { queue_.push_back(KeyPress{*DtmfEvent(digit), ticks}); }
  bool pressing() const { return !queue_.empty() || event_tick_ >= 0; }

  // One tick: an audio packet, or the digit's next event packet.
  void Tick() {
    if (event_tick_ < 0 && !queue_.empty()) {
      event_tick_ = 0;
      event_timestamp_ = timestamp_;
    }
    if (event_tick_ >= 0) {
      const KeyPress& press = queue_.front();
      const int ticks = press.ticks;
      const bool end = event_tick_ >= ticks - 1;
      const uint16_t duration = static_cast<uint16_t>(160 * std::min(event_tick_ + 1, ticks));
      // The end packet goes out three times, in the same tick (as many phones do).
      for (int copy = 0; copy < (end ? 3 : 1); ++copy) {
        uint8_t payload[4];
        (void)WriteTelephoneEvent({press.event, end, 10, duration}, payload);
        Send(event_pt_, event_tick_ == 0 && copy == 0, event_timestamp_, payload);
      }
      ++event_tick_;
      if (end) {
        queue_.pop_front();
        event_tick_ = -1;
      }
    } else {
      std::vector<uint8_t> silence(160, 0xFF);
      Send(0, false, timestamp_, silence);
    }
    timestamp_ += 160;
  }

  void Drain() {
    uint8_t buffer[2048];
    for (;;) {
      const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n < 0) return;
      if (ClassifyMuxed(std::span<const uint8_t>(buffer, static_cast<size_t>(n))) != MuxKind::kRtp) continue;
      auto rtp = ParseRtp(std::span<const uint8_t>(buffer, static_cast<size_t>(n)));
      if (!rtp) continue;
      received_.push_back(Received{rtp->sequence_number().value(), rtp->timestamp().value(),
                                   rtp->ssrc().value(), rtp->marker(), rtp->payload_type().value(),
                                   std::vector<uint8_t>(rtp->payload().begin(), rtp->payload().end())});
    }
  }

  const std::vector<Received>& received() const { return received_; }

  // The events received with payload type `pt`, grouped by timestamp.
  std::vector<SeenEvent> Events(uint8_t pt) const {
    std::vector<SeenEvent> events;
    std::vector<uint32_t> timestamps;
    for (size_t i = 0; i < received_.size(); ++i) {
      if (received_[i].payload_type != pt) continue;
      if (timestamps.empty() || timestamps.back() != received_[i].timestamp) {
        timestamps.push_back(received_[i].timestamp);
        events.emplace_back();
      }
      events.back().packets.push_back(i);
    }
    return events;
  }

 private:
  struct KeyPress {
    uint8_t event;
    int ticks;
  };

  void Send(uint8_t pt, bool marker, uint32_t timestamp, std::span<const uint8_t> payload) {
    uint8_t packet[256];
    RtpHeaderFields fields{marker, PayloadType(pt), SequenceNumber(sequence_++), RtpTimestamp(timestamp),
                           Ssrc(ssrc_), {}};
    auto size = WriteRtp(fields, payload, packet);
    ASSERT_TRUE(size.has_value());
    sendto(fd_, packet, *size, 0, reinterpret_cast<const sockaddr*>(&destination_), sizeof destination_);
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  sockaddr_in destination_{};
  uint32_t ssrc_;
  uint8_t event_pt_;
  uint16_t sequence_ = 1000;
  uint32_t timestamp_ = 5000;
  std::deque<KeyPress> queue_;
  int event_tick_ = -1;
  uint32_t event_timestamp_ = 0;
  std::vector<Received> received_;
};

class DtmfLoopbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WorkerOptions options;
    options.port_low = 41200;
    options.port_high = 41299;
    options.max_sessions = 4;
    KernelPacketIoOptions io_options;
    io_options.max_ports = 100;
    auto io = KernelPacketIo::Create(io_options);
    ASSERT_TRUE(io.has_value()) << io.error().message;
    worker_ = std::make_unique<Worker>(options, std::move(*io));
    ASSERT_TRUE(worker_->Start());
    auto media = mixer::MediaSession::Create(mixer::SessionOptions{});
    ASSERT_TRUE(media.has_value());
    ASSERT_TRUE(worker_->Call(CreateSession{0, std::make_unique<WorkerSession>(std::move(*media))}, kCallTimeout)
                    .has_value());
  }
  void TearDown() override {
    if (worker_) worker_->Stop();
  }

  // `event_pt` 0: the leg negotiated no telephone-event.
  void Attach(int slot, Role role, SupervisorMode mode, DtmfPhone& phone, uint8_t event_pt,
              DtmfModeSwitch mode_switch = {}) {
    auto media = mixer::LegMedia::Create(std::make_unique<G711Encoder>(G711Law::kUlaw),
                                         std::make_unique<G711Decoder>(G711Law::kUlaw),
                                         mixer::JitterBufferOptions{}, 8000, 160);
    ASSERT_TRUE(media.has_value());
    RtpLegConfig rtp;
    rtp.remote = *SocketAddress::Parse("127.0.0.1", phone.port());
    rtp.payload_type = PayloadType(0);
    if (event_pt != 0) rtp.telephone_event_type = PayloadType(event_pt);
    rtp.ssrc = Ssrc(0x5000 + static_cast<uint32_t>(slot));
    rtp.first_sequence = SequenceNumber(static_cast<uint16_t>(65530 + slot));  // wraps during the test
    rtp.first_timestamp = RtpTimestamp(0xFFFFF000u);
    AddLeg command{0, slot, role, mode, false, std::move(*media), rtp};
    command.dtmf_mode_switch = mode_switch;
    auto added = worker_->Call(std::move(command), kCallTimeout);
    ASSERT_TRUE(added.has_value()) << added.error().message;
    phone.SendTo(added->local.port());
  }

  // Runs the phones in real time until none is pressing a key and `settle`
  // more ticks have passed (for the relayed end packets), at most `max_ticks`.
  void Run(const std::vector<DtmfPhone*>& phones, int settle = 8, int max_ticks = 400) {
    auto next = std::chrono::steady_clock::now();
    int quiet = 0;
    for (int tick = 0; tick < max_ticks && quiet < settle; ++tick) {
      bool pressing = false;
      for (DtmfPhone* phone : phones) {
        phone->Tick();
        pressing |= phone->pressing();
      }
      quiet = pressing ? 0 : quiet + 1;
      next += 20ms;
      std::this_thread::sleep_until(next);
      for (DtmfPhone* phone : phones) phone->Drain();
    }
  }

  // Every digit the worker reported since the last call: "slot:digit:ms".
  std::vector<std::string> Reported(std::vector<WorkerEvent>* modes = nullptr) {
    std::vector<std::string> digits;
    while (auto event = worker_->PollEvent()) {
      if (event->kind == WorkerEvent::Kind::kDtmf) {
        digits.push_back(fmt::format("{}:{}:{}", event->slot, event->digit, event->duration_ms));
      } else if (event->kind == WorkerEvent::Kind::kModeChanged && modes != nullptr) {
        modes->push_back(*event);
      }
    }
    return digits;
  }

  std::unique_ptr<Worker> worker_;
};

// The digits a phone received as telephone-events with `pt`, checking each
// event's form on the way (RFC 4733 §2.5): one timestamp that is the stream's
// time at the event's start, the marker on its first packet only, durations
// that only grow to `duration`, and exactly three end packets with the same
// duration.
std::string DigitsCheckingForm(const DtmfPhone& phone, uint8_t pt, uint16_t duration) {
  std::string digits;
  const auto& packets = phone.received();
  for (const SeenEvent& event : phone.Events(pt)) {
    const Received& first = packets[event.packets.front()];
    const TelephoneEvent start = *ParseTelephoneEvent(first.payload);
    digits += DtmfDigit(start.event);
    EXPECT_TRUE(first.marker);
    // The packet before the event is audio of the tick before.
    const size_t before = event.packets.front() - 1;
    EXPECT_EQ(packets[before].payload_type, 0);
    EXPECT_EQ(first.timestamp - packets[before].timestamp, 160u) << "event timestamp = the stream's time";
    uint16_t last = 0;
    int ends = 0;
    for (size_t i = 0; i < event.packets.size(); ++i) {
      const Received& packet = packets[event.packets[i]];
      const TelephoneEvent te = *ParseTelephoneEvent(packet.payload);
      EXPECT_EQ(te.event, start.event);
      EXPECT_EQ(packet.marker, i == 0);
      EXPECT_GE(te.duration, last);
      last = te.duration;
      if (te.end) {
        ++ends;
        EXPECT_EQ(te.duration, duration);
      } else {
        EXPECT_EQ(ends, 0) << "no update after an end packet";
      }
    }
    EXPECT_EQ(ends, 3) << "the end packet is sent three times";
    // After the event, audio goes on where the time went: one tick per event packet.
    const size_t after = event.packets.back() + 1;
    if (after < packets.size()) {
      EXPECT_EQ(packets[after].payload_type, 0);
      EXPECT_EQ(packets[after].timestamp - first.timestamp, 160u * event.packets.size());
    }
  }
  return digits;
}

// One SSRC and sequence +1 per packet, audio and events alike.
void ExpectContinuous(const DtmfPhone& phone, uint32_t ssrc) {
  const auto& packets = phone.received();
  ASSERT_GT(packets.size(), 20u);
  for (size_t i = 1; i < packets.size(); ++i) {
    EXPECT_EQ(packets[i].ssrc, ssrc);
    EXPECT_EQ(static_cast<uint16_t>(packets[i].sequence - packets[i - 1].sequence), 1) << i;
    if (packets[i].payload_type == 0 && packets[i - 1].payload_type == 0) {
      EXPECT_EQ(packets[i].timestamp - packets[i - 1].timestamp, 160u) << i;
      EXPECT_FALSE(packets[i].marker) << i;
    }
  }
}

TEST_F(DtmfLoopbackTest, DigitsReachExactlyTheLegsThatHearTheSender) {
  DtmfPhone customer(0xC0), agent(0xA0, 96), supervisor(0x50), bystander(0xB0);
  Attach(0, Role::kCustomer, SupervisorMode::kListen, customer, 101);
  Attach(1, Role::kAgent, SupervisorMode::kListen, agent, 96);  // another payload type
  Attach(2, Role::kSupervisor, SupervisorMode::kListen, supervisor, 101);
  Attach(3, Role::kOther, SupervisorMode::kListen, bystander, 0);  // hears all, no telephone-event
  std::vector<DtmfPhone*> phones = {&customer, &agent, &supervisor, &bystander};
  Run(phones, 10);  // latch, audio flowing
  (void)Reported();

  customer.Press('1', 5);
  Run(phones);
  agent.Press('2', 5);
  Run(phones);
  supervisor.Press('3', 5);  // listen: heard by nobody
  Run(phones);
  ASSERT_TRUE(worker_->Call(SetMode{0, 2, SupervisorMode::kWhisper, false}, kCallTimeout).has_value());
  supervisor.Press('4', 5);  // whisper: the agent only
  Run(phones);
  ASSERT_TRUE(worker_->Call(SetMode{0, 2, SupervisorMode::kWhisperCustomer, false}, kCallTimeout).has_value());
  supervisor.Press('5', 5);  // whisper-customer: the customer only
  Run(phones);
  ASSERT_TRUE(worker_->Call(SetMode{0, 2, SupervisorMode::kBarge, false}, kCallTimeout).has_value());
  supervisor.Press('#', 5);  // barge: both
  Run(phones);
  bystander.Press('9', 5);  // a leg without telephone-event sends none either
  Run(phones);

  EXPECT_EQ(DigitsCheckingForm(customer, 101, 800), "25#");
  EXPECT_EQ(DigitsCheckingForm(agent, 96, 800), "14#");
  EXPECT_EQ(DigitsCheckingForm(supervisor, 101, 800), "12");
  EXPECT_EQ(agent.Events(101).size(), 0u) << "the agent's own payload type only";
  for (const Received& packet : bystander.received()) EXPECT_EQ(packet.payload_type, 0);
  ExpectContinuous(customer, 0x5000);
  ExpectContinuous(agent, 0x5001);
  ExpectContinuous(supervisor, 0x5002);
  ExpectContinuous(bystander, 0x5003);

  // Every digit is reported once with its duration (800 at 8 kHz = 100 ms),
  // heard by someone or not.
  EXPECT_EQ(Reported(), (std::vector<std::string>{"0:1:100", "1:2:100", "2:3:100", "2:4:100", "2:5:100",
                                                   "2:#:100"}));
  auto stats = std::make_unique<SessionStats>();
  stats->legs.resize(16);
  auto reply = worker_->Call(GetStats{0, std::move(stats)}, kCallTimeout);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->stats->legs[3].rtp.rx_telephone_events, 0u) << "not negotiated: dropped";
  EXPECT_EQ(reply->stats->legs[0].rtp.rx_telephone_events, 5u + 2u) << "5 packets, 2 repeated ends";
  size_t agent_event_packets = 0;
  for (const SeenEvent& event : agent.Events(96)) agent_event_packets += event.packets.size();
  EXPECT_EQ(reply->stats->legs[1].rtp.tx_telephone_events, agent_event_packets);
}

TEST_F(DtmfLoopbackTest, ASupervisorsModeSwitchDigitsAreConsumedAndSwitchTheMode) {
  DtmfPhone customer(0xC0), agent(0xA0), supervisor(0x50);
  DtmfModeSwitch modes{};
  modes[*DtmfEvent('1')] = SupervisorMode::kListen;
  modes[*DtmfEvent('3')] = SupervisorMode::kBarge;
  Attach(0, Role::kCustomer, SupervisorMode::kListen, customer, 101);
  Attach(1, Role::kAgent, SupervisorMode::kListen, agent, 101);
  Attach(2, Role::kSupervisor, SupervisorMode::kListen, supervisor, 101, modes);
  std::vector<DtmfPhone*> phones = {&customer, &agent, &supervisor};
  Run(phones, 10);
  (void)Reported();

  supervisor.Press('3', 4);  // to barge: consumed, heard by nobody
  Run(phones);
  supervisor.Press('7', 4);  // an ordinary digit, now heard by both
  Run(phones);
  supervisor.Press('1', 4);  // back to listen
  Run(phones);
  supervisor.Press('8', 4);  // heard by nobody
  Run(phones);

  EXPECT_EQ(DigitsCheckingForm(customer, 101, 640), "7");
  EXPECT_EQ(DigitsCheckingForm(agent, 101, 640), "7");
  std::vector<WorkerEvent> changes;
  EXPECT_EQ(Reported(&changes), (std::vector<std::string>{"2:3:80", "2:7:80", "2:1:80", "2:8:80"}));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].mode, SupervisorMode::kBarge);
  EXPECT_EQ(changes[0].slot, 2);
  EXPECT_EQ(changes[1].mode, SupervisorMode::kListen);
}

TEST_F(DtmfLoopbackTest, TsharkDecodesTheForwardedDigits) {
  auto tshark = earshot::testing::FindProgram("tshark");
  if (!tshark) GTEST_SKIP() << "tshark is not installed";
  DtmfPhone customer(0xC0), agent(0xA0);
  Attach(0, Role::kCustomer, SupervisorMode::kListen, customer, 101);
  Attach(1, Role::kAgent, SupervisorMode::kListen, agent, 101);
  const std::string file = fmt::format("/tmp/earshot-dtmf-{}.pcapng", getpid());
  std::remove(file.c_str());
  earshot::testing::Subprocess capture({*tshark, "-i", "lo", "-f", fmt::format("udp and dst port {}", agent.port()),
                                        "-a", "duration:30", "-w", file});
  if (!capture.WaitForStderr("Capturing on", 10s)) GTEST_SKIP() << "tshark cannot capture: " << capture.stderr_text();
  std::vector<DtmfPhone*> phones = {&customer, &agent};
  Run(phones, 5);
  for (char digit : std::string("159*#")) customer.Press(digit, 4);
  Run(phones, 15);
  std::this_thread::sleep_for(500ms);  // for dumpcap to write the last packets out
  capture.Signal(SIGINT);
  ASSERT_EQ(capture.Wait(10s), 0) << capture.stderr_text();
  auto run = earshot::testing::RunToCompletion(
      {*tshark, "-r", file, "-d", fmt::format("udp.port=={},rtp", agent.port()), "-d", "rtp.pt==101,rtpevent",
       "-Y", "rtpevent", "-T", "fields", "-e", "rtp.seq", "-e", "rtpevent.event_id", "-e",
       "rtpevent.end_of_event", "-e", "rtpevent.duration"});
  std::remove(file.c_str());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // One line per event packet: keep the digits whose end was decoded, once each.
  std::istringstream lines(run.out);
  std::string line;
  std::string ended;
  int end_packets = 0;
  while (std::getline(lines, line)) {
    unsigned seq = 0, id = 0, duration = 0;
    char end[16] = {};
    if (std::sscanf(line.c_str(), "%u\t%u\t%15s\t%u", &seq, &id, end, &duration) != 4) continue;
    const bool is_end = std::string(end) == "1" || std::string(end) == "True";
    if (!is_end) continue;
    EXPECT_EQ(duration, 640u) << line;
    if (end_packets++ % 3 == 0) ended += DtmfDigit(static_cast<uint8_t>(id));
  }
  EXPECT_EQ(ended, "159*#") << run.out;
  EXPECT_EQ(end_packets, 15) << run.out;
}

}  // namespace
}  // namespace earshot::dataplane

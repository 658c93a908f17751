// RTCP interop with a real far end: GStreamer's rtpbin is the customer. It
// sends PCMU with its own SR (RTCP on the next port, no rtcp-mux), receives
// what earshotd sends the customer, and reports on it in its SR's report block
// (loss, jitter, LSR/DLSR from our SRs). earshotd runs with a 500 ms RTCP
// interval (rtcp_interval_ms), rtpbin with its regular interval lowered to
// 500 ms too, so that a few seconds hold several reports each way.
//
// GStreamer sends from other ports than it receives on, and earshotd's legs
// are symmetric (RTP only from the remote, RTCP only from its port + 1), so a
// small relay owned by the test stands between them, as a NAT would: one UDP
// port pair toward earshotd, the far end's port pair toward GStreamer. It also
// impairs what earshotd sends the far end, by amounts the far end's report
// must show: every 10th RTP packet dropped, RTP delayed alternately 20 and
// 30 ms (an interarrival jitter of about 10 ms), RTCP delayed 20 ms each way (a
// round trip of about 40 ms). The leg's stats through the gRPC API must show
// those from GStreamer's reports; without RTCP being read they stay 0.

#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "earshot/v1/sessions.grpc.pb.h"
#include "tests/support/loopback_udp.h"
#include "tests/support/rtp_phone.h"
#include "tests/support/subprocess.h"

namespace earshot {
namespace {

using namespace std::chrono_literals;
using earshot::testing::BindLoopbackUdp;
using earshot::testing::FindProgram;
using earshot::testing::LocalPortOf;
using earshot::testing::RtpPhone;
using earshot::testing::Subprocess;
using Clock = std::chrono::steady_clock;
namespace v1 = earshot::v1;

constexpr auto kRtcpDelay = 20ms;
constexpr auto kRtpDelayEven = 20ms;
constexpr auto kRtpDelayOdd = 30ms;
constexpr int kDropEvery = 10;

// Two bound sockets on ports P and P + 1 (an RTP/RTCP pair); false if none found.
bool BindPortPair(int& rtp_fd, int& rtcp_fd) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    rtp_fd = BindLoopbackUdp(0);
    if (rtp_fd < 0) return false;
    const uint16_t port = LocalPortOf(rtp_fd);
    if (port < 65535 && (rtcp_fd = BindLoopbackUdp(static_cast<uint16_t>(port + 1))) >= 0) return true;
    close(rtp_fd);
  }
  return false;
}

// A free RTP/RTCP port pair for GStreamer's receivers, released for it to bind.
uint16_t FreePortPair() {
  int rtp_fd = -1, rtcp_fd = -1;
  if (!BindPortPair(rtp_fd, rtcp_fd)) return 0;
  const uint16_t port = LocalPortOf(rtp_fd);
  close(rtp_fd);
  close(rtcp_fd);
  return port;
}

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  return address;
}

// The symmetric port pair earshotd's leg talks to, forwarding to and from
// GStreamer's ports, with the impairments described above. Its thread runs
// from Start to the destructor.
class ImpairingRelay {
 public:
  struct Counts {
    std::atomic<uint64_t> rtp_to_peer{0}, rtp_dropped{0}, rtp_from_peer{0};
    std::atomic<uint64_t> rtcp_to_peer{0}, rtcp_from_peer{0};
  };

  ImpairingRelay() { ok_ = BindPortPair(rtp_fd_, rtcp_fd_); }
  ~ImpairingRelay() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (rtp_fd_ >= 0) close(rtp_fd_);
    if (rtcp_fd_ >= 0) close(rtcp_fd_);
  }

  bool ok() const { return ok_; }
  uint16_t port() const { return LocalPortOf(rtp_fd_); }  // RTCP on port() + 1
  const Counts& counts() const { return counts_; }

  // `leg_port`: earshotd's RTP port for the leg; `peer_port`: GStreamer's.
  void Start(uint16_t leg_port, uint16_t peer_port) {
    leg_port_ = leg_port;
    peer_port_ = peer_port;
    thread_ = std::thread([this] { Run(); });
  }

 private:
  struct Pending {
    int fd;
    uint16_t to_port;
    std::vector<uint8_t> bytes;
  };

  void Run() {
    std::multimap<Clock::time_point, Pending> pending;
    uint64_t rtp_from_leg = 0;
    std::vector<uint8_t> buffer(2048);
    while (!stop_) {
      const Clock::time_point now = Clock::now();
      while (!pending.empty() && pending.begin()->first <= now) {
        const Pending& out = pending.begin()->second;
        const sockaddr_in to = Loopback(out.to_port);
        (void)sendto(out.fd, out.bytes.data(), out.bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                     sizeof to);
        pending.erase(pending.begin());
      }
      int timeout_ms = 5;
      if (!pending.empty()) {
        const auto wait = std::chrono::ceil<std::chrono::milliseconds>(pending.begin()->first - Clock::now());
        timeout_ms = static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 5));
      }
      pollfd fds[2] = {{rtp_fd_, POLLIN, 0}, {rtcp_fd_, POLLIN, 0}};
      if (poll(fds, 2, timeout_ms) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        const bool rtcp = i == 1;
        for (int burst = 0; burst < 64; ++burst) {
          sockaddr_in from{};
          socklen_t length = sizeof from;
          const ssize_t n = recvfrom(fds[i].fd, buffer.data(), buffer.size(), 0,
                                     reinterpret_cast<sockaddr*>(&from), &length);
          if (n <= 0) break;
          const uint16_t leg_port = static_cast<uint16_t>(leg_port_ + (rtcp ? 1 : 0));
          const uint16_t peer_port = static_cast<uint16_t>(peer_port_ + (rtcp ? 1 : 0));
          const bool from_leg = ntohs(from.sin_port) == leg_port;
          auto delay = std::chrono::duration_cast<Clock::duration>(kRtcpDelay);
          if (from_leg && !rtcp) {
            if (rtp_from_leg++ % kDropEvery == kDropEvery - 1) {
              ++counts_.rtp_dropped;
              continue;
            }
            delay = rtp_from_leg % 2 == 0 ? kRtpDelayEven : kRtpDelayOdd;
            ++counts_.rtp_to_peer;
          } else if (from_leg) {
            ++counts_.rtcp_to_peer;
          } else if (rtcp) {
            ++counts_.rtcp_from_peer;
          } else {
            ++counts_.rtp_from_peer;
            delay = Clock::duration::zero();
          }
          pending.emplace(Clock::now() + delay,
                          Pending{fds[i].fd, from_leg ? peer_port : leg_port,
                                  std::vector<uint8_t>(buffer.begin(), buffer.begin() + n)});
        }
      }
    }
  }

  bool ok_ = false;
  int rtp_fd_ = -1;
  int rtcp_fd_ = -1;
  uint16_t leg_port_ = 0;
  uint16_t peer_port_ = 0;
  std::atomic<bool> stop_{false};
  Counts counts_;
  std::thread thread_;
};

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + 5s);
  return context;
}

TEST(RtcpGstreamerPeerTest, FarEndReportsGiveRoundTripLossAndJitterInLegStats) {
  std::optional<std::string> gst = FindProgram("gst-launch-1.0");
  std::optional<std::string> inspect = FindProgram("gst-inspect-1.0");
  if (!gst || !inspect) GTEST_SKIP() << "needs gst-launch-1.0 and gst-inspect-1.0 (gstreamer1.0-tools)";
  if (earshot::testing::RunToCompletion({*inspect, "rtpbin"}).exit_code != 0) {
    GTEST_SKIP() << "needs GStreamer's rtpbin (gstreamer1.0-plugins-good)";
  }

  Subprocess daemon({EARSHOTD_PATH, "--grpc-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
                     "--rtp-ports", "37000-37099", "--rtcp-interval-ms", "500"});
  ASSERT_TRUE(daemon.WaitForStderr("ready", 10s)) << daemon.stderr_text();
  std::smatch match;
  const std::string log = daemon.stderr_text();
  ASSERT_TRUE(std::regex_search(log, match, std::regex("grpc=(127\\.0\\.0\\.1:[0-9]+)")));
  auto channel = grpc::CreateChannel(match[1].str(), grpc::InsecureChannelCredentials());
  auto sessions = v1::Sessions::NewStub(channel);
  auto stats_stub = v1::Stats::NewStub(channel);

  ImpairingRelay relay;
  ASSERT_TRUE(relay.ok());
  const uint16_t peer_port = FreePortPair();
  ASSERT_NE(peer_port, 0);

  v1::CreateSessionRequest create;
  create.set_id("rtcp-peer");
  create.set_rate(8000);
  v1::Session session;
  ASSERT_TRUE(sessions->CreateSession(Context().get(), create, &session).ok());
  v1::AddLegRequest add;
  add.set_session_id("rtcp-peer");
  add.set_leg_id("customer");
  add.mutable_spec()->set_role(v1::ROLE_CUSTOMER);
  add.mutable_spec()->set_codec("PCMU");
  add.mutable_spec()->set_payload_type(0);
  add.mutable_spec()->set_remote("127.0.0.1:" + std::to_string(relay.port()));
  add.mutable_spec()->set_no_rtcp_mux(true);
  v1::Leg customer_leg;
  ASSERT_TRUE(sessions->AddLeg(Context().get(), add, &customer_leg).ok());
  // The agent is a test phone whose tone Earshot mixes and sends the customer.
  RtpPhone agent(770.0);
  add.set_leg_id("agent");
  add.mutable_spec()->set_role(v1::ROLE_AGENT);
  add.mutable_spec()->set_remote("127.0.0.1:" + std::to_string(agent.port()));
  add.mutable_spec()->set_no_rtcp_mux(false);
  v1::Leg agent_leg;
  ASSERT_TRUE(sessions->AddLeg(Context().get(), add, &agent_leg).ok());
  agent.SendTo(agent_leg.local_ip(), static_cast<uint16_t>(agent_leg.local_port()));
  relay.Start(static_cast<uint16_t>(customer_leg.local_port()), peer_port);

  // One rtpbin session both ways. rtpsession0 is the only session of this
  // process's only rtpbin: its regular RTCP interval is lowered from 5 s.
  const std::string relay_rtp = std::to_string(relay.port());
  const std::string relay_rtcp = std::to_string(relay.port() + 1);
  Subprocess peer({*gst, "-q", "rtpbin", "name=rtp", "rtpsession0::rtcp-min-interval=500000000",
                   "audiotestsrc", "is-live=true", "freq=440", "volume=0.25", "samplesperbuffer=160", "!",
                   "audio/x-raw,rate=8000,channels=1", "!", "mulawenc", "!", "rtppcmupay", "pt=0",
                   "min-ptime=20000000", "max-ptime=20000000", "!", "rtp.send_rtp_sink_0",
                   "rtp.send_rtp_src_0", "!", "udpsink", "host=127.0.0.1", "port=" + relay_rtp,
                   "rtp.send_rtcp_src_0", "!", "udpsink", "host=127.0.0.1", "port=" + relay_rtcp, "sync=false",
                   "async=false",
                   "udpsrc", "port=" + std::to_string(peer_port),
                   "caps=application/x-rtp,media=(string)audio,clock-rate=(int)8000,"
                   "encoding-name=(string)PCMU,payload=(int)0",
                   "!", "rtp.recv_rtp_sink_0",
                   "udpsrc", "port=" + std::to_string(peer_port + 1), "!", "rtp.recv_rtcp_sink_0",
                   "rtp.", "!", "rtppcmudepay", "!", "fakesink", "sync=false"});

  // The agent talks in real time while the reports go both ways; the stats are
  // read every half second until the far end's view is in them (at most 15 s).
  const Clock::time_point start = Clock::now();
  v1::LegStats customer;
  auto next = Clock::now();
  auto next_read = start + 2s;
  bool seen = false;
  while (!seen && Clock::now() - start < 15s) {
    agent.SendFrame();
    next += 20ms;
    std::this_thread::sleep_until(next);
    agent.Drain();
    if (Clock::now() < next_read) continue;
    next_read += 500ms;
    v1::GetSessionStatsRequest request;
    request.set_session_id("rtcp-peer");
    v1::SessionStats stats;
    ASSERT_TRUE(stats_stub->GetSessionStats(Context().get(), request, &stats).ok());
    for (const v1::LegStats& leg : stats.legs()) {
      if (leg.leg_id() == "customer") customer = leg;
    }
    // Some reports with loss in them, about SRs of ours (an RTT).
    seen = customer.rx_rtcp_reports() >= 3 && customer.rtt_ms() > 0.0 && customer.remote_lost() >= 5 &&
           customer.remote_fraction_lost() > 0.0 && Clock::now() - start >= 4s;
  }
  const double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  const ImpairingRelay::Counts& relayed = relay.counts();
  std::printf(
      "after %.1f s: far end's reports %llu (rtt %.1f ms, fraction lost %.3f, lost %lld, jitter %.1f ms); "
      "our RTCP sent %llu; relayed RTP %llu to GStreamer (%llu dropped), %llu from it, RTCP %llu to it, "
      "%llu from it\n",
      elapsed_s, static_cast<unsigned long long>(customer.rx_rtcp_reports()), customer.rtt_ms(),
      customer.remote_fraction_lost(), static_cast<long long>(customer.remote_lost()), customer.remote_jitter_ms(),
      static_cast<unsigned long long>(customer.tx_rtcp()),
      static_cast<unsigned long long>(relayed.rtp_to_peer.load()),
      static_cast<unsigned long long>(relayed.rtp_dropped.load()),
      static_cast<unsigned long long>(relayed.rtp_from_peer.load()),
      static_cast<unsigned long long>(relayed.rtcp_to_peer.load()),
      static_cast<unsigned long long>(relayed.rtcp_from_peer.load()));

  EXPECT_GT(customer.rx_packets(), 100u) << "GStreamer's RTP must reach the leg";
  EXPECT_GE(customer.rx_rtcp_reports(), 3u) << "GStreamer's SRs must be read";
  // rtcp_interval_ms 500: a report every 250-750 ms (5 s would give at most two).
  EXPECT_GE(customer.tx_rtcp(), static_cast<uint64_t>(elapsed_s / 0.75) - 1);
  // 20 ms each way through the relay, plus scheduling (ASan, a loaded machine).
  EXPECT_GE(customer.rtt_ms(), 35.0);
  EXPECT_LE(customer.rtt_ms(), 200.0);
  // One packet in 10 dropped: about 26/256 per report interval; rtpbin's
  // shortest intervals (250 ms, some 12 packets) can hold 1 or 2 drops.
  EXPECT_GE(customer.remote_fraction_lost(), 0.04);
  EXPECT_LE(customer.remote_fraction_lost(), 0.2);
  EXPECT_GE(customer.remote_lost(), 5);
  EXPECT_LE(customer.remote_lost(), static_cast<int64_t>(relayed.rtp_dropped.load()));
  // 20/30 ms alternate delays: transit differences of 10 ms, so J near 10 ms.
  EXPECT_GE(customer.remote_jitter_ms(), 5.0);
  EXPECT_LE(customer.remote_jitter_ms(), 25.0);

  peer.Signal(SIGINT);
  (void)peer.Wait(5s);
  daemon.Signal(SIGTERM);
  EXPECT_EQ(daemon.Wait(5s), 0) << daemon.stderr_text();
}

}  // namespace
}  // namespace earshot

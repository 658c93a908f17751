// SRTP with a real peer: ffmpeg sends a 440 Hz tone as SRTP (AES_CM_128_HMAC_SHA1_80)
// into the customer leg of a worker's session, and a second ffmpeg receives what
// Earshot sends to a listening supervisor, keyed through an SDP a=crypto line.
// Both directions must decrypt: the agent (plain RTP) hears ffmpeg's tone, and
// the WAV ffmpeg writes holds both the customer's and the agent's tones.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "codecs/g711.h"
#include "dataplane/kernel/kernel_packet_io.h"
#include "dataplane/srtp_key.h"
#include "dataplane/worker.h"
#include "tests/support/media_files.h"
#include "tests/support/rtp_phone.h"
#include "tests/support/subprocess.h"
#include "tests/support/tone.h"

namespace earshot::dataplane {
namespace {

using namespace std::chrono_literals;
using earshot::testing::FindProgram;
using earshot::testing::RtpPhone;
using earshot::testing::Subprocess;

constexpr auto kCallTimeout = 2000ms;
constexpr double kCustomerHz = 440.0;  // ffmpeg's sine
constexpr double kAgentHz = 770.0;

std::unique_ptr<mixer::LegMedia> G711Leg() {
  return std::move(*mixer::LegMedia::Create(std::make_unique<G711Encoder>(G711Law::kUlaw),
                                            std::make_unique<G711Decoder>(G711Law::kUlaw),
                                            mixer::JitterBufferOptions{}, 8000, 160));
}

// A UDP port nobody holds right now, for ffmpeg's receiver.
uint16_t FreeUdpPort() {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

SrtpSession Inbound(const SrtpKey& key) { return std::move(*SrtpSession::Inbound(key, 128)); }
SrtpSession Outbound(const SrtpKey& key) { return std::move(*SrtpSession::Outbound(key)); }

TEST(SrtpPeerTest, FfmpegSendsAndReceivesSrtpThroughASupervisedCall) {
  std::optional<std::string> ffmpeg = FindProgram("ffmpeg");
  if (!ffmpeg) GTEST_SKIP() << "needs ffmpeg";
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("earshot-srtp-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);

  WorkerOptions options;
  options.port_low = 42100;
  options.port_high = 42199;
  options.max_sessions = 4;
  KernelPacketIoOptions io_options;
  io_options.max_ports = 100;
  Worker worker(options, std::move(*KernelPacketIo::Create(io_options)));
  ASSERT_TRUE(worker.Start());
  ASSERT_TRUE(worker
                  .Call(CreateSession{0, std::make_unique<WorkerSession>(std::move(
                                             *mixer::MediaSession::Create(mixer::SessionOptions{})))},
                        kCallTimeout)
                  .has_value());

  constexpr SrtpSuite kSuite = SrtpSuite::kAesCm128HmacSha1_80;
  SrtpKey ffmpeg_key = *GenerateSrtpKey(kSuite);      // what ffmpeg encrypts with
  SrtpKey customer_key = *GenerateSrtpKey(kSuite);    // ours toward the customer (unheard)
  SrtpKey supervisor_key = *GenerateSrtpKey(kSuite);  // ours toward ffmpeg's receiver

  // ffmpeg's receiver first: it decrypts with the key from the SDP's a=crypto.
  const uint16_t receiver_port = FreeUdpPort();
  const std::filesystem::path sdp = dir / "supervisor.sdp";
  const std::filesystem::path wav = dir / "supervisor.wav";
  std::ofstream(sdp) << "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=earshot\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                     << "m=audio " << receiver_port << " RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
                     << "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" << FormatSdesKey(supervisor_key)
                     << "\r\n";
  Subprocess receiver({*ffmpeg, "-hide_banner", "-loglevel", "error", "-protocol_whitelist",
                       "file,udp,rtp", "-i", sdp.string(), "-t", "3", "-ac", "1", "-ar", "8000", "-y",
                       wav.string()});

  RtpPhone agent(kAgentHz);
  RtpLegConfig customer_rtp;  // latches to ffmpeg's sender
  customer_rtp.ssrc = Ssrc(0xC0FFEE);
  customer_rtp.srtp = true;
  AddLeg customer{0, 0, mixer::Role::kCustomer, mixer::SupervisorMode::kListen, false, G711Leg(),
                  customer_rtp};
  customer.srtp_in = Inbound(ffmpeg_key);
  customer.srtp_out = Outbound(customer_key);
  RtpLegConfig agent_rtp;
  agent_rtp.remote = *SocketAddress::Parse("127.0.0.1", agent.port());
  agent_rtp.latch = false;
  agent_rtp.ssrc = Ssrc(0xA6E27);
  RtpLegConfig supervisor_rtp;
  supervisor_rtp.remote = *SocketAddress::Parse("127.0.0.1", receiver_port);
  supervisor_rtp.latch = false;
  supervisor_rtp.ssrc = Ssrc(0x50B);
  supervisor_rtp.srtp = true;
  AddLeg supervisor{0, 2, mixer::Role::kSupervisor, mixer::SupervisorMode::kListen, false, G711Leg(),
                    supervisor_rtp};
  supervisor.srtp_out = Outbound(supervisor_key);  // nothing arrives: no remote key
  auto customer_leg = worker.Call(std::move(customer), kCallTimeout);
  auto agent_leg = worker.Call(
      AddLeg{0, 1, mixer::Role::kAgent, mixer::SupervisorMode::kListen, false, G711Leg(), agent_rtp},
      kCallTimeout);
  auto supervisor_leg = worker.Call(std::move(supervisor), kCallTimeout);
  ASSERT_TRUE(customer_leg.has_value() && agent_leg.has_value() && supervisor_leg.has_value());
  agent.SendTo("127.0.0.1", agent_leg->local.port());

  Subprocess sender({*ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                     "sine=frequency=440:sample_rate=8000:duration=5", "-af",
                     "asetnsamples=n=160:p=0,arealtime", "-c:a", "pcm_mulaw", "-f", "rtp",
                     "-payload_type", "0", "-srtp_out_suite", "AES_CM_128_HMAC_SHA1_80",
                     "-srtp_out_params", FormatSdesKey(ffmpeg_key),
                     "srtp://127.0.0.1:" + std::to_string(customer_leg->local.port())});
  auto next = std::chrono::steady_clock::now();
  for (int tick = 0; tick < 300; ++tick) {
    agent.SendFrame();
    next += 20ms;
    std::this_thread::sleep_until(next);
    agent.Drain();
  }
  EXPECT_EQ(sender.Wait(10s), 0) << sender.stderr_text();
  ASSERT_EQ(receiver.Wait(10s), 0) << receiver.stderr_text();

  // Earshot decrypted ffmpeg: the agent hears the customer's tone (seconds 2
  // to 4, while ffmpeg was surely sending).
  ASSERT_GE(agent.heard().size(), 4u * 8000);
  std::span<const int16_t> agent_heard(agent.heard().data() + 2 * 8000, 2 * 8000);
  EXPECT_GT(earshot::testing::ToneLevelDbfs(agent_heard, kCustomerHz, 8000), -30.0);
  // ffmpeg decrypted Earshot: the supervisor's recording holds both parties.
  std::optional<earshot::testing::Recording> heard = earshot::testing::ReadWav(wav.string());
  ASSERT_TRUE(heard.has_value());
  ASSERT_GT(heard->samples.size(), 8000u);
  std::span<const int16_t> last_second(heard->samples.data() + heard->samples.size() - 8000, 8000);
  EXPECT_GT(earshot::testing::ToneLevelDbfs(last_second, kCustomerHz, 8000), -30.0);
  EXPECT_GT(earshot::testing::ToneLevelDbfs(last_second, kAgentHz, 8000), -30.0);

  auto stats = std::make_unique<SessionStats>();
  stats->legs.resize(16);
  auto reply = worker.Call(GetStats{0, std::move(stats)}, kCallTimeout);
  ASSERT_TRUE(reply.has_value());
  const RtpLegCounters& customer_counters = reply->stats->legs[0].rtp;
  EXPECT_GE(customer_counters.rx_packets, 200u);  // 5 s of 20 ms packets, less start-up
  EXPECT_EQ(customer_counters.dropped_total(), 0u);
  EXPECT_GT(reply->stats->legs[2].rtp.tx_packets, 150u);
  EXPECT_EQ(reply->stats->legs[2].rtp.tx_srtp_errors, 0u);
  worker.Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace earshot::dataplane

// SRTP with real peers: ffmpeg (AES_CM_128_HMAC_SHA1_80, keyed by SDES in an SDP)
// and GStreamer (AEAD_AES_128_GCM, keyed in srtpdec's caps) each send a 440 Hz
// tone as SRTP into the customer leg of a worker's session, and receive what
// Earshot sends to a listening supervisor. Both directions must decrypt: the
// agent (plain RTP) hears the peer's tone, and the WAV the peer writes holds
// both the customer's and the agent's tones.

#include <netinet/in.h>
#include <signal.h>
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

std::string Hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (uint8_t byte : bytes) {
    text += kDigits[byte >> 4];
    text += kDigits[byte & 0xF];
  }
  return text;
}

// One supervised call on a worker: the customer's far end is a real peer that
// sends SRTP under `peer_key`; the agent is a plain RTP phone; a listening
// supervisor's leg sends SRTP under `supervisor_key` to a real peer receiving
// on `receiver_port`.
class SrtpPeerTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kSupervisorSsrc = 0x50B;

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("earshot-srtp-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    WorkerOptions options;
    options.port_low = 42100;
    options.port_high = 42199;
    options.max_sessions = 4;
    KernelPacketIoOptions io_options;
    io_options.max_ports = 100;
    worker_ = std::make_unique<Worker>(options, std::move(*KernelPacketIo::Create(io_options)));
    ASSERT_TRUE(worker_->Start());
    ASSERT_TRUE(worker_
                    ->Call(CreateSession{0, std::make_unique<WorkerSession>(std::move(
                                                *mixer::MediaSession::Create(mixer::SessionOptions{})))},
                           kCallTimeout)
                    .has_value());
  }

  void TearDown() override {
    worker_->Stop();
    std::filesystem::remove_all(dir_);
  }

  // Adds the three legs; returns the customer leg's local port.
  uint16_t AddLegs(SrtpSuite suite, const SrtpKey& peer_key, const SrtpKey& supervisor_key,
                   uint16_t receiver_port) {
    RtpLegConfig customer_rtp;  // latches to the peer's sender
    customer_rtp.ssrc = Ssrc(0xC0FFEE);
    customer_rtp.srtp = true;
    AddLeg customer{0, 0, mixer::Role::kCustomer, mixer::SupervisorMode::kListen, false, G711Leg(),
                    customer_rtp};
    customer.srtp_in = Inbound(peer_key);
    customer.srtp_out = Outbound(*GenerateSrtpKey(suite));  // what the sender-only peer ignores
    RtpLegConfig agent_rtp;
    agent_rtp.remote = *SocketAddress::Parse("127.0.0.1", agent_.port());
    agent_rtp.latch = false;
    agent_rtp.ssrc = Ssrc(0xA6E27);
    RtpLegConfig supervisor_rtp;
    supervisor_rtp.remote = *SocketAddress::Parse("127.0.0.1", receiver_port);
    supervisor_rtp.latch = false;
    supervisor_rtp.ssrc = Ssrc(kSupervisorSsrc);
    supervisor_rtp.srtp = true;
    AddLeg supervisor{0, 2, mixer::Role::kSupervisor, mixer::SupervisorMode::kListen, false, G711Leg(),
                      supervisor_rtp};
    supervisor.srtp_out = Outbound(supervisor_key);  // nothing arrives: no remote key
    auto customer_leg = worker_->Call(std::move(customer), kCallTimeout);
    auto agent_leg = worker_->Call(
        AddLeg{0, 1, mixer::Role::kAgent, mixer::SupervisorMode::kListen, false, G711Leg(), agent_rtp},
        kCallTimeout);
    auto supervisor_leg = worker_->Call(std::move(supervisor), kCallTimeout);
    EXPECT_TRUE(customer_leg.has_value() && agent_leg.has_value() && supervisor_leg.has_value());
    if (!customer_leg || !agent_leg) return 0;
    agent_.SendTo("127.0.0.1", agent_leg->local.port());
    return customer_leg->local.port();
  }

  // The agent talks for `ticks` x 20 ms, keeping its socket drained.
  void AgentTalks(int ticks) {
    auto next = std::chrono::steady_clock::now();
    for (int tick = 0; tick < ticks; ++tick) {
      agent_.SendFrame();
      next += 20ms;
      std::this_thread::sleep_until(next);
      agent_.Drain();
    }
  }

  // Earshot decrypted the peer: the agent hears the customer's tone (seconds 2
  // to 4, while the peer was surely sending). The peer decrypted Earshot: the
  // supervisor's recording holds both parties. Nothing was dropped.
  void ExpectBothDirectionsDecrypted(const std::filesystem::path& wav) {
    ASSERT_GE(agent_.heard().size(), 4u * 8000);
    std::span<const int16_t> agent_heard(agent_.heard().data() + 2 * 8000, 2 * 8000);
    EXPECT_GT(earshot::testing::ToneLevelDbfs(agent_heard, kCustomerHz, 8000), -30.0);
    std::optional<earshot::testing::Recording> heard = earshot::testing::ReadWav(wav.string());
    ASSERT_TRUE(heard.has_value());
    ASSERT_GT(heard->samples.size(), 8000u);
    std::span<const int16_t> last_second(heard->samples.data() + heard->samples.size() - 8000, 8000);
    EXPECT_GT(earshot::testing::ToneLevelDbfs(last_second, kCustomerHz, 8000), -30.0);
    EXPECT_GT(earshot::testing::ToneLevelDbfs(last_second, kAgentHz, 8000), -30.0);

    auto stats = std::make_unique<SessionStats>();
    stats->legs.resize(16);
    auto reply = worker_->Call(GetStats{0, std::move(stats)}, kCallTimeout);
    ASSERT_TRUE(reply.has_value());
    const RtpLegCounters& customer_counters = reply->stats->legs[0].rtp;
    EXPECT_GE(customer_counters.rx_packets, 150u);  // 4-5 s of 20 ms packets, less start-up
    EXPECT_EQ(customer_counters.dropped_total(), 0u);
    EXPECT_GT(reply->stats->legs[2].rtp.tx_packets, 150u);
    EXPECT_EQ(reply->stats->legs[2].rtp.tx_srtp_errors, 0u);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Worker> worker_;
  RtpPhone agent_{kAgentHz};
};

TEST_F(SrtpPeerTest, FfmpegSendsAndReceivesAesCm80ThroughASupervisedCall) {
  std::optional<std::string> ffmpeg = FindProgram("ffmpeg");
  if (!ffmpeg) GTEST_SKIP() << "needs ffmpeg";
  constexpr SrtpSuite kSuite = SrtpSuite::kAesCm128HmacSha1_80;
  SrtpKey ffmpeg_key = *GenerateSrtpKey(kSuite);      // what ffmpeg encrypts with
  SrtpKey supervisor_key = *GenerateSrtpKey(kSuite);  // ours toward ffmpeg's receiver

  // ffmpeg's receiver first: it decrypts with the key from the SDP's a=crypto.
  const uint16_t receiver_port = FreeUdpPort();
  const std::filesystem::path sdp = dir_ / "supervisor.sdp";
  const std::filesystem::path wav = dir_ / "supervisor.wav";
  std::ofstream(sdp) << "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=earshot\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                     << "m=audio " << receiver_port << " RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
                     << "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" << FormatSdesKey(supervisor_key)
                     << "\r\n";
  Subprocess receiver({*ffmpeg, "-hide_banner", "-loglevel", "error", "-protocol_whitelist",
                       "file,udp,rtp", "-i", sdp.string(), "-t", "3", "-ac", "1", "-ar", "8000", "-y",
                       wav.string()});
  const uint16_t customer_port = AddLegs(kSuite, ffmpeg_key, supervisor_key, receiver_port);
  ASSERT_NE(customer_port, 0);
  Subprocess sender({*ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                     "sine=frequency=440:sample_rate=8000:duration=5", "-af",
                     "asetnsamples=n=160:p=0,arealtime", "-c:a", "pcm_mulaw", "-f", "rtp",
                     "-payload_type", "0", "-srtp_out_suite", "AES_CM_128_HMAC_SHA1_80",
                     "-srtp_out_params", FormatSdesKey(ffmpeg_key),
                     "srtp://127.0.0.1:" + std::to_string(customer_port)});
  AgentTalks(300);
  EXPECT_EQ(sender.Wait(10s), 0) << sender.stderr_text();
  ASSERT_EQ(receiver.Wait(10s), 0) << receiver.stderr_text();
  ExpectBothDirectionsDecrypted(wav);
}

TEST_F(SrtpPeerTest, GstreamerSendsAndReceivesAesGcmThroughASupervisedCall) {
  std::optional<std::string> gst = FindProgram("gst-launch-1.0");
  if (!gst) GTEST_SKIP() << "needs gst-launch-1.0 (gstreamer1.0-tools, -plugins-bad)";
  constexpr SrtpSuite kSuite = SrtpSuite::kAeadAes128Gcm;
  SrtpKey gst_key = *GenerateSrtpKey(kSuite);
  SrtpKey supervisor_key = *GenerateSrtpKey(kSuite);
  const std::string gcm = "aes-128-gcm";

  // srtpdec takes the key, suite and SSRC from its caps (no SDP in GStreamer).
  const uint16_t receiver_port = FreeUdpPort();
  const std::filesystem::path wav = dir_ / "supervisor.wav";
  const std::string caps =
      "application/x-srtp,media=(string)audio,clock-rate=(int)8000,encoding-name=(string)PCMU,"
      "payload=(int)0,ssrc=(uint)" + std::to_string(kSupervisorSsrc) +
      ",srtp-key=(buffer)" + Hex(supervisor_key.bytes()) + ",srtp-cipher=(string)" + gcm +
      ",srtp-auth=(string)null,srtcp-cipher=(string)" + gcm + ",srtcp-auth=(string)null";
  Subprocess receiver({*gst, "-q", "-e", "udpsrc", "port=" + std::to_string(receiver_port),
                       "caps=" + caps, "!", "srtpdec", "!", "rtppcmudepay", "!", "mulawdec", "!",
                       "wavenc", "!", "filesink", "location=" + wav.string()});
  const uint16_t customer_port = AddLegs(kSuite, gst_key, supervisor_key, receiver_port);
  ASSERT_NE(customer_port, 0);
  Subprocess sender({*gst, "-q", "audiotestsrc", "freq=440", "volume=0.25", "num-buffers=250",
                     "samplesperbuffer=160", "is-live=true", "!", "audio/x-raw,rate=8000,channels=1",
                     "!", "mulawenc", "!", "rtppcmupay", "min-ptime=20000000", "max-ptime=20000000",
                     "!", "srtpenc", "key=" + Hex(gst_key.bytes()), "rtp-cipher=" + gcm,
                     "rtp-auth=null", "rtcp-cipher=" + gcm, "rtcp-auth=null", "!", "udpsink",
                     "host=127.0.0.1", "port=" + std::to_string(customer_port)});
  AgentTalks(280);
  EXPECT_EQ(sender.Wait(10s), 0) << sender.stderr_text();
  receiver.Signal(SIGINT);  // -e: the WAV header is written on the way out
  ASSERT_EQ(receiver.Wait(10s), 0) << receiver.stderr_text();
  ExpectBothDirectionsDecrypted(wav);
}

}  // namespace
}  // namespace earshot::dataplane

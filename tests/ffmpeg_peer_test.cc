// Real peers: ffmpeg sends the customer's recorded speech as PCMU RTP into a
// leg of a worker's session; tshark captures what Earshot sends to the agent and
// its RTP analysis must show one clean stream: no loss, no sequence errors, one
// packet every 20 ms.

#include <signal.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "codecs/g711.h"
#include "dataplane/kernel/kernel_packet_io.h"
#include "dataplane/worker.h"
#include "tests/support/media_files.h"
#include "tests/support/rtp_phone.h"
#include "tests/support/subprocess.h"
#include "tests/support/tshark.h"

namespace earshot::dataplane {
namespace {

using namespace std::chrono_literals;
using earshot::testing::FindProgram;
using earshot::testing::RtpPhone;
using earshot::testing::RunToCompletion;
using earshot::testing::Subprocess;

constexpr auto kCallTimeout = 2000ms;

std::unique_ptr<mixer::LegMedia> G711Leg() {
  return std::move(*mixer::LegMedia::Create(std::make_unique<G711Encoder>(G711Law::kUlaw),
                                            std::make_unique<G711Decoder>(G711Law::kUlaw),
                                            mixer::JitterBufferOptions{}, 8000, 160));
}

TEST(FfmpegPeerTest, SpeechFromFfmpegReachesTheAgentAsOneCleanStream) {
  std::optional<std::string> ffmpeg = FindProgram("ffmpeg");
  std::optional<std::string> media_dir = earshot::testing::SharedMediaDir();
  if (!ffmpeg || !media_dir) GTEST_SKIP() << "needs ffmpeg and ../shared/media";

  WorkerOptions options;
  options.port_low = 42000;
  options.port_high = 42099;
  options.max_sessions = 4;
  KernelPacketIoOptions io_options;
  io_options.max_ports = 100;
  Worker worker(options, std::move(*KernelPacketIo::Create(io_options)));
  ASSERT_TRUE(worker.Start());
  auto created = worker.Call(CreateSession{0, std::make_unique<WorkerSession>(std::move(
                                                  *mixer::MediaSession::Create(mixer::SessionOptions{})))},
                             kCallTimeout);
  ASSERT_TRUE(created.has_value()) << created.error().message;

  RtpPhone agent(770.0);
  RtpLegConfig customer_rtp;  // no remote known: latch to whatever ffmpeg sends from
  customer_rtp.ssrc = Ssrc(0xC0FFEE);
  RtpLegConfig agent_rtp;
  agent_rtp.remote = *SocketAddress::Parse("127.0.0.1", agent.port());
  agent_rtp.ssrc = Ssrc(0xA6E27);
  agent_rtp.first_sequence = SequenceNumber(65000);  // wraps during the capture
  auto customer_leg = worker.Call(AddLeg{0, 0, mixer::Role::kCustomer, mixer::SupervisorMode::kListen,
                                         false, G711Leg(), customer_rtp},
                                  kCallTimeout);
  auto agent_leg = worker.Call(AddLeg{0, 1, mixer::Role::kAgent, mixer::SupervisorMode::kListen, false,
                                      G711Leg(), agent_rtp},
                               kCallTimeout);
  ASSERT_TRUE(customer_leg.has_value() && agent_leg.has_value());
  agent.SendTo("127.0.0.1", agent_leg->local.port());

  earshot::testing::RtpCapture capture(agent.port(), 6);
  if (!capture.started()) GTEST_SKIP() << capture.why_not();
  Subprocess sender({*ffmpeg, "-hide_banner", "-loglevel", "error", "-i",
                     *media_dir + "/customer_8k.wav", "-t", "4", "-af",
                     "asetnsamples=n=160:p=0,arealtime", "-c:a", "pcm_mulaw", "-f", "rtp",
                     "-payload_type", "0",
                     "rtp://127.0.0.1:" + std::to_string(customer_leg->local.port())});
  // The agent phone talks back and keeps its socket drained meanwhile.
  auto next = std::chrono::steady_clock::now();
  for (int tick = 0; tick < 280; ++tick) {
    agent.SendFrame();
    next += 20ms;
    std::this_thread::sleep_until(next);
    agent.Drain();
  }
  EXPECT_EQ(sender.Wait(10s), 0) << sender.stderr_text();

  // tshark's RTP stream analysis of what Earshot sent to the agent.
  std::optional<earshot::testing::RtpStreamReport> report = capture.Analyse(0xA6E27);
  ASSERT_TRUE(report.has_value());
  ASSERT_GT(report->packets, 0) << report->analysis;
  EXPECT_EQ(report->lost, 0) << report->analysis;
  EXPECT_FALSE(report->problem) << report->analysis;
  // One packet every 20 ms for the whole capture (the agent leg sends from the
  // moment it exists, whether or not anyone talks).
  EXPECT_GT(report->span_s, 4.0) << report->analysis;
  EXPECT_NEAR(report->packets, report->span_s / 0.020 + 1, 2.0) << report->analysis;
  EXPECT_NEAR(report->mean_delta_ms, 20.0, 0.1) << report->analysis;
  RecordProperty("packets", report->packets);
  RecordProperty("max_delta_ms", std::to_string(report->max_delta_ms));

  // The agent heard speech while ffmpeg was sending, and the customer leg latched to it.
  double energy = 0.0;
  for (int16_t sample : agent.heard()) energy += static_cast<double>(sample) * sample;
  const double rms_dbfs =
      10.0 * std::log10(energy / static_cast<double>(agent.heard().size() + 1) / (32767.0 * 32767.0) + 1e-20);
  EXPECT_GT(rms_dbfs, -40.0);
  auto stats = std::make_unique<SessionStats>();
  stats->legs.resize(16);
  auto reply = worker.Call(GetStats{0, std::move(stats)}, kCallTimeout);
  ASSERT_TRUE(reply.has_value());
  EXPECT_TRUE(reply->stats->legs[0].latched);
  EXPECT_GE(reply->stats->legs[0].rtp.rx_packets, 190u);  // 4 s of 20 ms packets
  EXPECT_EQ(reply->stats->legs[0].rtp.dropped_total(), 0u);
  worker.Stop();
}

}  // namespace
}  // namespace earshot::dataplane

#include "dataplane/rtcp_report.h"

#include <vector>

#include <gtest/gtest.h>

#include "dataplane/rtcp_packet.h"
#include "dataplane/rtcp_writer.h"
#include "dataplane/rtp_leg.h"
#include "dataplane/rtp_packet.h"

namespace earshot::dataplane {
namespace {

constexpr uint64_t kSecond = uint64_t{1} << 32;

TEST(NtpTest, ConvertsUnixTimeAndTakesTheMiddleBits) {
  EXPECT_EQ(NtpFromUnixNanoseconds(0), kNtpUnixOffsetSeconds << 32);
  EXPECT_EQ(NtpFromUnixNanoseconds(1'500'000'000) & 0xFFFFFFFFu, kSecond / 2);
  EXPECT_EQ(NtpMiddle32((uint64_t{0x12345678} << 32) | 0x9ABCDEF0u), 0x56789ABCu);
}

TEST(RoundTripTest, IsArrivalMinusLsrMinusDlsr) {
  // RFC 3550 §6.4.1's example: A = 0xB710:8000, LSR = 0xB705:2000, DLSR = 5.250 s.
  std::optional<double> rtt = RoundTripMs(0xB7108000u, 0xB7052000u, 0x00054000u);
  ASSERT_TRUE(rtt.has_value());
  EXPECT_NEAR(*rtt, 6125.0, 0.01);
  // Across the wrap of the 32-bit field.
  rtt = RoundTripMs(0x00000100u, 0xFFFFFF00u, 0x00000100u);
  ASSERT_TRUE(rtt.has_value());
  EXPECT_NEAR(*rtt, 0x100 * 1000.0 / 65536.0, 0.001);
  EXPECT_FALSE(RoundTripMs(0x10000, 0, 0).has_value()) << "no SR echoed yet";
  EXPECT_FALSE(RoundTripMs(0x10000, 0x20000, 0).has_value()) << "negative";
}

TEST(JitterEstimatorTest, ConvergesToTheMeanDeviationOfTransit) {
  JitterEstimator steady;
  for (uint32_t i = 0; i < 100; ++i) steady.Update(1000 + 160 * i, RtpTimestamp(0xFFFFFF00u + 160 * i));
  EXPECT_EQ(steady.jitter(), 0u);
  // Every other packet 40 units late: |D| = 40 each time, J -> 40.
  JitterEstimator jittery;
  for (uint32_t i = 0; i < 400; ++i) {
    jittery.Update(160 * i + (i % 2 == 1 ? 40 : 0), RtpTimestamp(160 * i));
  }
  EXPECT_NEAR(jittery.jitter(), 40.0, 1.0);
}

TEST(ReceptionReporterTest, ReportsIntervalFractionAndCumulativeLoss) {
  ReceptionReporter reporter;
  // 100 expected, 90 received: 10 lost in the first interval.
  RtcpReportBlock block = reporter.Report(Ssrc(7), ReceptionCounts{65500, 65599, 90}, 12, 0, 0, 0);
  EXPECT_EQ(block.ssrc, Ssrc(7));
  EXPECT_EQ(block.fraction_lost, (10 << 8) / 100);
  EXPECT_EQ(block.cumulative_lost, 10);
  EXPECT_EQ(block.extended_highest_sequence, 65599u);
  EXPECT_EQ(block.jitter, 12u);
  EXPECT_EQ(block.last_sr, 0u);
  EXPECT_EQ(block.delay_since_last_sr, 0u);
  // Next interval: 100 more expected (across the 16-bit wrap), all received.
  block = reporter.Report(Ssrc(7), ReceptionCounts{65500, 65699, 190}, 12, 0x12345678u,
                          100 * kSecond, 100 * kSecond + kSecond / 4);
  EXPECT_EQ(block.fraction_lost, 0);
  EXPECT_EQ(block.cumulative_lost, 10);
  EXPECT_EQ(block.extended_highest_sequence, 0x10000u + 65699u - 65536u);
  EXPECT_EQ(block.last_sr, 0x12345678u);
  EXPECT_EQ(block.delay_since_last_sr, 0x4000u) << "0.25 s in 1/65536 s";
  // Duplicates: more received than expected gives a fraction of 0, not negative.
  block = reporter.Report(Ssrc(7), ReceptionCounts{65500, 65709, 205}, 0, 0, 0, 0);
  EXPECT_EQ(block.fraction_lost, 0);
  EXPECT_EQ(block.cumulative_lost, 5);
}

std::vector<uint8_t> Rtp(uint16_t seq, uint32_t timestamp) {
  std::vector<uint8_t> payload(160, 0xFF);
  std::vector<uint8_t> packet(172);
  RtpHeaderFields fields{false, PayloadType(0), SequenceNumber(seq), RtpTimestamp(timestamp), Ssrc(0xFA0), {}};
  packet.resize(*WriteRtp(fields, payload, packet));
  return packet;
}

RtpLegConfig Config() {
  RtpLegConfig config;
  config.remote = *SocketAddress::Parse("127.0.0.1", 4000);
  config.latch = false;
  config.ssrc = Ssrc(0xEA51);
  return config;
}

TEST(RtpLegRtcpTest, SendsAnSrAfterSendingWithTheLossItSawAndAnRrOtherwise) {
  RtpLeg leg(Config());
  const SocketAddress far = *SocketAddress::Parse("127.0.0.1", 4000);
  mixer::PacketIn packet;
  // Sequence 10..29 with 15 and 16 missing.
  for (uint16_t seq = 10; seq < 30; ++seq) {
    if (seq == 15 || seq == 16) continue;
    std::vector<uint8_t> datagram = Rtp(seq, 160u * seq);
    ASSERT_FALSE(leg.Receive(datagram, far, packet, 1'000'000'000 + int64_t{seq} * 20'000'000, 0).drop);
  }
  std::vector<uint8_t> out(1500);
  size_t size = leg.WriteRtcp(50 * kSecond, "abc@earshot", false, out);
  ASSERT_GT(size, 0u);
  auto compound = RtcpCompoundView::Parse(std::span<const uint8_t>(out.data(), size));
  ASSERT_TRUE(compound.has_value());
  auto it = compound->begin();
  ASSERT_EQ((*it).packet_type(), RtcpPacketType::kRr) << "nothing sent yet";
  auto rr = ReceiverReportView::Parse(*it);
  ASSERT_TRUE(rr.has_value());
  ASSERT_EQ(rr->report_blocks().size(), 1u);
  EXPECT_EQ(rr->report_blocks()[0].ssrc(), Ssrc(0xFA0));
  EXPECT_EQ(rr->report_blocks()[0].cumulative_lost(), 2);
  EXPECT_EQ(rr->report_blocks()[0].fraction_lost(), (2 << 8) / 20);
  EXPECT_EQ(rr->report_blocks()[0].extended_highest_sequence(), 29u);
  ++it;
  auto sdes = SdesView::Parse(*it);
  ASSERT_TRUE(sdes.has_value());
  EXPECT_EQ(sdes->FindCname(Ssrc(0xEA51)), "abc@earshot");

  const uint8_t payload[160] = {};
  for (int i = 0; i < 3; ++i) ASSERT_GT(leg.WritePacket(payload, out), 0u);
  size = leg.WriteRtcp(55 * kSecond, "abc@earshot", true, out);
  compound = RtcpCompoundView::Parse(std::span<const uint8_t>(out.data(), size));
  ASSERT_TRUE(compound.has_value());
  ASSERT_EQ(compound->packet_count(), 3u);
  it = compound->begin();
  auto sr = SenderReportView::Parse(*it);
  ASSERT_TRUE(sr.has_value());
  EXPECT_EQ(sr->sender_ssrc(), Ssrc(0xEA51));
  EXPECT_EQ(sr->ntp_timestamp(), 55 * kSecond);
  EXPECT_EQ(sr->packet_count(), 3u);
  EXPECT_EQ(sr->octet_count(), 480u);
  EXPECT_EQ(sr->report_blocks()[0].fraction_lost(), 0) << "no loss in this interval";
  ++it;
  ++it;
  EXPECT_EQ((*it).packet_type(), RtcpPacketType::kBye);
  EXPECT_EQ(leg.counters().tx_rtcp, 2u);
}

TEST(RtpLegRtcpTest, TakesRttLossAndJitterFromTheFarEndsReportAboutUs) {
  RtpLeg leg(Config());
  const SocketAddress far = *SocketAddress::Parse("127.0.0.1", 4000);
  mixer::PacketIn packet;
  // The far end's SR (for our LSR later) and an RR block about our SSRC that
  // echoes an SR of ours sent at 100 s, held 0.5 s there, arriving at 100.56 s.
  std::vector<uint8_t> buffer(256);
  RtcpCompoundWriter writer(buffer);
  const RtcpReportBlock about_us{Ssrc(0xEA51), 64, 12, 1000, 80,
                                 NtpMiddle32(100 * kSecond), 0x8000};
  ASSERT_TRUE(writer.AppendSenderReport(Ssrc(0xFA0), RtcpSenderInfo{90 * kSecond, 1234, 10, 1600},
                                        std::span<const RtcpReportBlock>(&about_us, 1)));
  std::vector<uint8_t> datagram(writer.bytes().begin(), writer.bytes().end());
  const uint64_t arrival = 100 * kSecond + kSecond * 56 / 100;
  RtpLeg::RxResult result = leg.Receive(datagram, far, packet, 0, arrival);
  EXPECT_EQ(result.kind, RxKind::kRtcp);
  const RtcpRemoteView& remote = leg.remote_report();
  ASSERT_TRUE(remote.has_report);
  ASSERT_TRUE(remote.rtt_ms.has_value());
  EXPECT_NEAR(*remote.rtt_ms, 60.0, 0.1);
  EXPECT_DOUBLE_EQ(remote.fraction_lost, 0.25);
  EXPECT_EQ(remote.cumulative_lost, 12);
  EXPECT_DOUBLE_EQ(remote.jitter_ms, 10.0);  // 80 units at 8 kHz
  EXPECT_EQ(leg.counters().rx_rtcp_reports, 1u);

  // Our next report echoes their SR: LSR and the delay since it arrived.
  std::vector<uint8_t> datagram2 = Rtp(1, 160);
  ASSERT_FALSE(leg.Receive(datagram2, far, packet).drop);
  std::vector<uint8_t> out(1500);
  const size_t size = leg.WriteRtcp(arrival + kSecond / 2, "x", false, out);
  auto compound = RtcpCompoundView::Parse(std::span<const uint8_t>(out.data(), size));
  ASSERT_TRUE(compound.has_value());
  auto rr = ReceiverReportView::Parse(*compound->begin());
  ASSERT_TRUE(rr.has_value());
  EXPECT_EQ(rr->report_blocks()[0].last_sr(), NtpMiddle32(90 * kSecond));
  EXPECT_EQ(rr->report_blocks()[0].delay_since_last_sr(), 0x8000u);
}

}  // namespace
}  // namespace earshot::dataplane

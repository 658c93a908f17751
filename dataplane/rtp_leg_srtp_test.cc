// An SRTP leg under attack: what fails authentication or replays is dropped and
// counted before it can latch the leg, reach the jitter buffer or move the loss
// statistics, and the real sender loses nothing.

#include <gtest/gtest.h>

#include <vector>

#include "dataplane/rtp_leg.h"
#include "dataplane/rtp_packet.h"
#include "dataplane/srtp_key.h"
#include "dataplane/srtp_session.h"

namespace earshot::dataplane {
namespace {

constexpr SrtpSuite kSuite = SrtpSuite::kAesCm128HmacSha1_80;

SocketAddress Address(const char* ip, uint16_t port) { return *SocketAddress::Parse(ip, port); }

std::vector<uint8_t> PlainRtp(uint16_t seq, uint8_t fill = 0x55) {
  std::vector<uint8_t> payload(160, fill);
  std::vector<uint8_t> packet(12 + 160 + kSrtpMaxTrailer);
  RtpHeaderFields fields{false, PayloadType(0), SequenceNumber(seq), RtpTimestamp(seq * 160u),
                         Ssrc(0xFA2E2D), {}};
  packet.resize(*WriteRtp(fields, payload, packet));
  return packet;
}

// The far end: encrypts what it sends with its key, decrypts ours with ours.
struct FarEnd {
  FarEnd()
      : key(*GenerateSrtpKey(kSuite)),
        sender(std::move(*SrtpSession::Outbound(key))) {}
  std::vector<uint8_t> Srtp(uint16_t seq) {
    std::vector<uint8_t> packet = PlainRtp(seq);
    const size_t plain = packet.size();
    packet.resize(plain + kSrtpMaxTrailer);
    packet.resize(*sender.ProtectRtp(packet, plain));
    return packet;
  }
  SrtpKey key;
  SrtpSession sender;
};

class SrtpLegTest : public ::testing::Test {
 protected:
  SrtpLegTest() : our_key(*GenerateSrtpKey(kSuite)), leg(Config()) {
    leg.SetSrtp(*SrtpSession::Inbound(far.key), *SrtpSession::Outbound(our_key));
  }
  static RtpLegConfig Config() {
    RtpLegConfig config;
    config.latch = true;  // symmetric RTP: the first authentic packet says where the far end is
    config.payload_type = PayloadType(0);
    config.ssrc = Ssrc(0xEA25);
    config.first_sequence = SequenceNumber(65530);  // our stream wraps during the test
    config.srtp = true;
    return config;
  }
  RtpLeg::RxResult Feed(std::vector<uint8_t> datagram, const SocketAddress& from) {
    held_ = std::move(datagram);
    return leg.Receive(held_, from, packet);
  }
  uint64_t Dropped(RxDrop reason) const { return leg.counters().dropped[static_cast<size_t>(reason)]; }

  FarEnd far;
  SrtpKey our_key;
  RtpLeg leg;
  mixer::PacketIn packet;
  const SocketAddress phone = Address("198.51.100.7", 4000);
  const SocketAddress attacker = Address("203.0.113.66", 6666);

 private:
  std::vector<uint8_t> held_;
};

TEST_F(SrtpLegTest, AuthenticPacketsAreDecryptedBeforeTheMixerSeesThem) {
  ASSERT_FALSE(Feed(far.Srtp(1), phone).drop.has_value());
  EXPECT_EQ(packet.payload.size(), 160u);  // the tag is gone
  EXPECT_EQ(packet.payload[0], 0x55);      // and the payload is plain again
  EXPECT_TRUE(leg.latched());
  EXPECT_EQ(leg.counters().rx_packets, 1u);
}

TEST_F(SrtpLegTest, ForgedAndPlainPacketsNeitherLatchNorCount) {
  std::vector<uint8_t> forged = far.Srtp(1);
  forged.back() ^= 0x01;  // one bit of the tag
  EXPECT_EQ(Feed(forged, attacker).drop, RxDrop::kSrtpAuthentication);
  EXPECT_EQ(Feed(PlainRtp(2), attacker).drop, RxDrop::kSrtpAuthentication);  // no downgrade
  std::vector<uint8_t> tampered = far.Srtp(3);
  tampered[20] ^= 0x80;  // one bit of the encrypted payload
  EXPECT_EQ(Feed(tampered, attacker).drop, RxDrop::kSrtpAuthentication);
  EXPECT_FALSE(leg.latched());
  EXPECT_EQ(leg.counters().rx_packets, 0u);
  EXPECT_EQ(Dropped(RxDrop::kSrtpAuthentication), 3u);

  // The phone's own packets, sent after the forgeries, are all accepted.
  for (uint16_t seq = 4; seq <= 8; ++seq) ASSERT_FALSE(Feed(far.Srtp(seq), phone).drop.has_value());
  EXPECT_EQ(leg.destination(), phone);
  EXPECT_EQ(leg.counters().rx_packets, 5u);
  EXPECT_EQ(leg.counters().lost, 0);
}

TEST_F(SrtpLegTest, ReplaysAreDroppedAndReorderingInsideTheWindowIsNot) {
  std::vector<std::vector<uint8_t>> sent;
  for (uint16_t seq = 1; seq <= 300; ++seq) sent.push_back(far.Srtp(seq));
  for (uint16_t seq = 1; seq <= 200; ++seq) ASSERT_FALSE(Feed(sent[seq - 1], phone).drop.has_value());
  // A captured packet sent again, from the phone's address or anywhere else.
  EXPECT_EQ(Feed(sent[199], phone).drop, RxDrop::kSrtpReplay);
  EXPECT_EQ(Feed(sent[150], phone).drop, RxDrop::kSrtpReplay);
  // Older than the 128-packet window.
  EXPECT_EQ(Feed(sent[10], phone).drop, RxDrop::kSrtpReplay);
  // Late but inside the window: 202 before 201 is reordering, not an attack.
  EXPECT_FALSE(Feed(sent[201], phone).drop.has_value());
  EXPECT_FALSE(Feed(sent[200], phone).drop.has_value());
  EXPECT_EQ(Dropped(RxDrop::kSrtpReplay), 3u);
  EXPECT_EQ(leg.counters().rx_packets, 202u);
  EXPECT_EQ(leg.counters().lost, 0);
}

TEST_F(SrtpLegTest, WithoutTheFarEndsKeyEverythingIsDroppedUntilTheAnswerBringsIt) {
  RtpLeg offer(Config());
  offer.SetSrtp(std::nullopt, *SrtpSession::Outbound(our_key));
  std::vector<uint8_t> datagram = far.Srtp(1);
  EXPECT_EQ(offer.Receive(datagram, phone, packet).drop, RxDrop::kSrtpNoKey);
  ASSERT_TRUE(offer.RekeySrtp(&far.key, nullptr, 128).has_value());
  datagram = far.Srtp(2);
  EXPECT_FALSE(offer.Receive(datagram, phone, packet).drop.has_value());
}

TEST_F(SrtpLegTest, WhatWeSendDecryptsAtTheFarEndAcrossAWrapAndARekey) {
  SrtpSession far_receiver = std::move(*SrtpSession::Inbound(our_key));
  std::vector<uint8_t> payload(160, 0x11);
  std::vector<uint8_t> out(2048);
  uint16_t expected_sequence = 65530;
  auto send_and_check = [&](SrtpSession& receiver) {
    const size_t size = leg.WritePacket(payload, out);
    ASSERT_GT(size, 12u + 160u);  // header, payload and the tag
    std::vector<uint8_t> datagram(out.begin(), out.begin() + static_cast<long>(size));
    auto plain = receiver.UnprotectRtp(datagram);
    ASSERT_TRUE(plain.has_value()) << SrtpErrorName(plain.error());
    auto rtp = ParseRtp(std::span<const uint8_t>(datagram.data(), *plain));
    ASSERT_TRUE(rtp.has_value());
    EXPECT_EQ(rtp->sequence_number(), SequenceNumber(expected_sequence));
    EXPECT_EQ(rtp->payload()[0], 0x11);
    ++expected_sequence;
  };
  for (int i = 0; i < 10; ++i) send_and_check(far_receiver);  // 65530 .. 3: one wrap, ROC 1
  // A re-INVITE with a new key for what we send: the next packet uses it and
  // goes on with the same sequence (and rollover counter).
  SrtpKey next_key = *GenerateSrtpKey(kSuite);
  ASSERT_TRUE(leg.RekeySrtp(nullptr, &next_key, 128).has_value());
  ASSERT_TRUE(far_receiver.Rekey(next_key).has_value());
  for (int i = 0; i < 10; ++i) send_and_check(far_receiver);
  EXPECT_EQ(leg.counters().srtp_rekeys, 1u);
  EXPECT_EQ(leg.counters().tx_srtp_errors, 0u);
}

TEST_F(SrtpLegTest, AfterTheFarEndRekeysItsOldKeyNoLongerAuthenticates) {
  for (uint16_t seq = 1; seq <= 10; ++seq) ASSERT_FALSE(Feed(far.Srtp(seq), phone).drop.has_value());
  std::vector<uint8_t> in_flight = far.Srtp(11);  // sent under the old key
  SrtpKey new_key = *GenerateSrtpKey(kSuite);
  ASSERT_TRUE(far.sender.Rekey(new_key).has_value());
  ASSERT_TRUE(leg.RekeySrtp(&new_key, nullptr, 128).has_value());
  EXPECT_EQ(Feed(in_flight, phone).drop, RxDrop::kSrtpAuthentication);
  for (uint16_t seq = 12; seq <= 20; ++seq) ASSERT_FALSE(Feed(far.Srtp(seq), phone).drop.has_value());
  EXPECT_EQ(leg.counters().rx_packets, 19u);
}

}  // namespace
}  // namespace earshot::dataplane

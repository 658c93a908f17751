#include "dataplane/rtp_leg.h"

#include <vector>

#include <gtest/gtest.h>

#include "dataplane/rtp_packet.h"

namespace earshot::dataplane {
namespace {

SocketAddress Address(const char* ip, uint16_t port) { return *SocketAddress::Parse(ip, port); }

std::vector<uint8_t> Rtp(uint8_t payload_type, uint16_t seq, uint32_t timestamp = 0,
                         size_t payload_bytes = 160) {
  std::vector<uint8_t> payload(payload_bytes, 0xFF);
  std::vector<uint8_t> packet(12 + payload_bytes);
  RtpHeaderFields fields{false, PayloadType(payload_type), SequenceNumber(seq),
                         RtpTimestamp(timestamp), Ssrc(0xABCD), {}};
  packet.resize(*WriteRtp(fields, payload, packet));
  return packet;
}

// Hands the leg its own copy of a datagram, as a socket would (an SRTP leg
// decrypts in place). The copy lives until the next call, so what the leg
// points into stays valid for the assertions that follow.
RtpLeg::RxResult Receive(RtpLeg& leg, std::vector<uint8_t> datagram, const SocketAddress& source,
                         mixer::PacketIn& packet) {
  static std::vector<uint8_t> last;
  last = std::move(datagram);
  return leg.Receive(last, source, packet);
}

RtpLegConfig Config(bool latch, SocketAddress remote = {}) {
  RtpLegConfig config;
  config.remote = remote;
  config.latch = latch;
  config.payload_type = PayloadType(0);
  config.telephone_event_type = PayloadType(101);
  config.tick_samples = 160;
  config.ssrc = Ssrc(0x11223344);
  config.first_sequence = SequenceNumber(65534);
  config.first_timestamp = RtpTimestamp(0xFFFFFF00);
  return config;
}

TEST(RtpLegTest, LatchesToTheFirstValidSourceThenDropsOthers) {
  RtpLeg leg(Config(true, Address("192.0.2.1", 4000)));  // SDP says one thing, NAT another
  mixer::PacketIn packet;
  const SocketAddress nat = Address("198.51.100.7", 61000);
  const SocketAddress attacker = Address("203.0.113.9", 5000);

  // Garbage first does not latch.
  const std::vector<uint8_t> garbage = {0x80, 0x00, 0x01};
  EXPECT_EQ(Receive(leg, garbage, attacker, packet).drop, RxDrop::kMalformed);
  EXPECT_FALSE(leg.latched());

  EXPECT_FALSE(Receive(leg, Rtp(0, 1), nat, packet).drop.has_value());
  EXPECT_TRUE(leg.latched());
  EXPECT_EQ(leg.destination(), nat);
  EXPECT_EQ(packet.seq, SequenceNumber(1));
  EXPECT_EQ(packet.payload.size(), 160u);

  // RTP Bleed: valid RTP from anyone else is dropped and does not move the latch.
  EXPECT_EQ(Receive(leg, Rtp(0, 2), attacker, packet).drop, RxDrop::kWrongSource);
  EXPECT_EQ(leg.destination(), nat);
  EXPECT_EQ(leg.counters().dropped[static_cast<size_t>(RxDrop::kWrongSource)], 1u);
  EXPECT_EQ(leg.counters().latches, 1u);
  EXPECT_EQ(leg.counters().rx_packets, 1u);
}

TEST(RtpLegTest, WithoutLatchingOnlyTheConfiguredRemoteIsAccepted) {
  const SocketAddress remote = Address("192.0.2.1", 4000);
  RtpLeg leg(Config(false, remote));
  mixer::PacketIn packet;
  EXPECT_EQ(Receive(leg, Rtp(0, 1), Address("192.0.2.1", 4001), packet).drop, RxDrop::kWrongSource);
  EXPECT_FALSE(Receive(leg, Rtp(0, 1), remote, packet).drop.has_value());
  EXPECT_FALSE(leg.latched());
}

TEST(RtpLegTest, ControlUpdateRelatches) {
  RtpLeg leg(Config(true));
  mixer::PacketIn packet;
  const SocketAddress first = Address("192.0.2.1", 4000);
  const SocketAddress moved = Address("192.0.2.2", 4000);
  ASSERT_FALSE(Receive(leg, Rtp(0, 1), first, packet).drop.has_value());
  EXPECT_EQ(Receive(leg, Rtp(0, 2), moved, packet).drop, RxDrop::kWrongSource);
  leg.Update(SocketAddress(), true);
  EXPECT_FALSE(Receive(leg, Rtp(0, 3), moved, packet).drop.has_value());
  EXPECT_EQ(leg.destination(), moved);
}

TEST(RtpLegTest, DropsWhatIsNotMediaOfTheNegotiatedType) {
  RtpLeg leg(Config(true));
  mixer::PacketIn packet;
  const SocketAddress peer = Address("192.0.2.1", 4000);
  const std::vector<uint8_t> stun = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
  EXPECT_EQ(Receive(leg, stun, peer, packet).drop, RxDrop::kNotRtp);
  EXPECT_EQ(Receive(leg, Rtp(8, 1), peer, packet).drop, RxDrop::kUnknownPayloadType);
  EXPECT_FALSE(leg.latched());  // only valid media latches
  std::vector<uint8_t> truncated = Rtp(0, 1);
  truncated[0] |= 0x10;  // claims a header extension that is not there
  truncated.resize(14);
  EXPECT_EQ(Receive(leg, truncated, peer, packet).drop, RxDrop::kMalformed);
  auto event = Receive(leg, Rtp(101, 2, 0, 4), peer, packet);
  EXPECT_FALSE(event.drop.has_value());
  EXPECT_EQ(event.kind, RxKind::kTelephoneEvent);
  const std::vector<uint8_t> receiver_report = {0x80, 201, 0x00, 0x01, 0, 0, 0, 1};
  auto rtcp = Receive(leg, receiver_report, peer, packet);
  EXPECT_EQ(rtcp.kind, RxKind::kRtcp);
  EXPECT_EQ(leg.counters().dropped_total(), 3u);
  EXPECT_EQ(leg.counters().rx_packets, 0u);
}

TEST(RtpLegTest, CountsLossFromSequenceNumbersAcrossWrapAndSsrcChange) {
  RtpLeg leg(Config(true));
  mixer::PacketIn packet;
  const SocketAddress peer = Address("192.0.2.1", 4000);
  // 65533, 65534, [65535 lost], 0, [1, 2 lost], 3, and 0 again (a duplicate).
  for (uint16_t seq : {65533, 65534, 0, 3, 0}) {
    ASSERT_FALSE(Receive(leg, Rtp(0, seq), peer, packet).drop.has_value());
  }
  EXPECT_EQ(leg.counters().lost, 2);  // 7 expected, 5 received (one a duplicate)
  // A new SSRC starts a new count; the old stream's loss is kept.
  std::vector<uint8_t> restarted = Rtp(0, 100);
  restarted[11] ^= 0xFF;  // another SSRC
  ASSERT_FALSE(Receive(leg, restarted, peer, packet).drop.has_value());
  EXPECT_EQ(leg.counters().ssrc_changes, 1u);
  EXPECT_EQ(leg.counters().lost, 2);
  std::vector<uint8_t> after_gap = Rtp(0, 110);
  after_gap[11] ^= 0xFF;
  ASSERT_FALSE(Receive(leg, after_gap, peer, packet).drop.has_value());
  EXPECT_EQ(leg.counters().lost, 2 + 9);
}

TEST(RtpLegTest, OutgoingStreamIsContinuousAcrossWrapAndPauses) {
  RtpLeg leg(Config(true, Address("192.0.2.1", 4000)));
  std::vector<uint8_t> payload(160, 0xFF);
  uint8_t out[1500];
  std::vector<std::pair<uint16_t, uint32_t>> seen;
  std::vector<bool> markers;
  for (int tick = 0; tick < 6; ++tick) {
    if (tick == 3) {
      leg.SkipTick();  // a pause (e.g. hold): time passes, nothing is sent
      continue;
    }
    size_t size = leg.WritePacket(payload, out);
    ASSERT_EQ(size, 172u);
    auto view = ParseRtp(std::span<const uint8_t>(out, size));
    ASSERT_TRUE(view.has_value());
    EXPECT_EQ(view->ssrc(), Ssrc(0x11223344));
    EXPECT_EQ(view->payload_type(), PayloadType(0));
    seen.emplace_back(view->sequence_number().value(), view->timestamp().value());
    markers.push_back(view->marker());
  }
  // Sequence: 65534, 65535, 0, [pause], 1, 2. Timestamps step 160 per tick, pause included.
  const std::vector<std::pair<uint16_t, uint32_t>> expected = {
      {65534, 0xFFFFFF00}, {65535, 0xFFFFFFA0}, {0, 0x40}, {1, 0x180}, {2, 0x220}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(markers, (std::vector<bool>{true, false, false, true, false}));
  EXPECT_EQ(leg.counters().tx_packets, 5u);
}

TEST(RtpLegTest, WritePacketRefusesATooSmallBuffer) {
  RtpLeg leg(Config(true));
  std::vector<uint8_t> payload(160);
  uint8_t out[100];
  EXPECT_EQ(leg.WritePacket(payload, out), 0u);
  EXPECT_EQ(leg.next_sequence(), SequenceNumber(65534));  // nothing consumed
}

}  // namespace
}  // namespace earshot::dataplane

// Frames parsed and built as pure functions: no EAL, no device. Every rule in
// frame.h is a row here, and every frame lands in exactly one kind or reason.
#include "dataplane/dpdk/frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace earshot::dataplane::dpdk {
namespace {

const MacAddress kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
const MacAddress kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
const uint32_t kOurIp = *ParseIpv4("10.77.0.2");
const uint32_t kPeerIp = *ParseIpv4("10.77.0.1");

LocalIdentity Us(uint16_t vlan = 0) { return LocalIdentity{kOurMac, kOurIp, vlan}; }
LocalIdentity Peer(uint16_t vlan = 0) { return LocalIdentity{kPeerMac, kPeerIp, vlan}; }

uint16_t Get16(const std::vector<uint8_t>& f, size_t at) {
  return static_cast<uint16_t>(f[at] << 8 | f[at + 1]);
}
void Put16(std::vector<uint8_t>& f, size_t at, uint16_t v) {
  f[at] = static_cast<uint8_t>(v >> 8);
  f[at + 1] = static_cast<uint8_t>(v);
}

// A UDP datagram from the peer to us, checksums right, as a NIC hands it over.
std::vector<uint8_t> UdpFromPeer(size_t payload_size = 172, uint16_t vlan = 0, uint16_t dst_port = 30000) {
  const size_t headers = UdpHeadersSize(vlan);
  std::vector<uint8_t> frame(headers + payload_size);
  for (size_t i = 0; i < payload_size; ++i) frame[headers + i] = static_cast<uint8_t>(i * 7 + 1);
  UdpHeaderFields fields;
  fields.src_mac = kPeerMac;
  fields.dst_mac = kOurMac;
  fields.vlan = vlan;
  fields.src_ip = kPeerIp;
  fields.dst_ip = kOurIp;
  fields.src_port = 40000;
  fields.dst_port = dst_port;
  WriteUdpHeaders({frame.data(), headers}, fields, {frame.data() + headers, payload_size},
                  ChecksumMode::kSoftware);
  return frame;
}

void FixIpChecksum(std::vector<uint8_t>& frame, size_t l2 = kEthernetHeader) {
  const size_t ihl = static_cast<size_t>(frame[l2] & 0x0F) * 4;
  Put16(frame, l2 + 10, 0);
  Put16(frame, l2 + 10, ChecksumFinish(ChecksumAdd({frame.data() + l2, ihl})));
}

ParsedFrame Parse(const std::vector<uint8_t>& frame, RxChecks checks = {}, uint16_t vlan = 0) {
  return ParseFrame(frame, Us(vlan), checks);
}

FrameDrop DropOf(const ParsedFrame& parsed) {
  EXPECT_EQ(parsed.kind, FrameKind::kDrop);
  return parsed.drop;
}

TEST(FrameTest, ChecksumMatchesTheTextbookIpv4Header) {
  const std::vector<uint8_t> header = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                       0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(ChecksumFinish(ChecksumAdd(header)), 0xb861);
  EXPECT_EQ(ChecksumFinish(ChecksumAdd(std::vector<uint8_t>{0x01})), static_cast<uint16_t>(~0x0100));
}

TEST(FrameTest, BuiltUdpFrameParsesBackToTheSameDatagram) {
  const std::vector<uint8_t> frame = UdpFromPeer(160);
  const ParsedFrame parsed = Parse(frame);
  ASSERT_EQ(parsed.kind, FrameKind::kUdp) << FrameDropName(parsed.drop);
  EXPECT_EQ(parsed.src_ip, kPeerIp);
  EXPECT_EQ(parsed.dst_ip, kOurIp);
  EXPECT_EQ(parsed.src_port, 40000);
  EXPECT_EQ(parsed.dst_port, 30000);
  EXPECT_EQ(parsed.payload_offset, 42);
  EXPECT_EQ(parsed.payload_size, 160);
  EXPECT_EQ(parsed.src_mac, kPeerMac);
  EXPECT_EQ(frame[15], 0xB8) << "media is marked DSCP EF";
  EXPECT_EQ(Get16(frame, 20) & 0x4000, 0x4000) << "don't fragment";
}

TEST(FrameTest, OffloadModeLeavesThePseudoHeaderSumForTheNic) {
  std::vector<uint8_t> frame = UdpFromPeer(100);
  UdpHeaderFields fields;
  fields.src_mac = kPeerMac;
  fields.dst_mac = kOurMac;
  fields.src_ip = kPeerIp;
  fields.dst_ip = kOurIp;
  fields.src_port = 40000;
  fields.dst_port = 30000;
  WriteUdpHeaders({frame.data(), 42}, fields, {frame.data() + 42, 100}, ChecksumMode::kOffload);
  EXPECT_EQ(Get16(frame, 24), 0) << "IPv4 checksum left to the NIC";
  EXPECT_EQ(Get16(frame, 40), static_cast<uint16_t>(~ChecksumFinish(UdpPseudoHeaderSum(kPeerIp, kOurIp, 108))));
  // What the NIC does: checksum over the UDP datagram with the field as given.
  Put16(frame, 40, ChecksumFinish(ChecksumAdd({frame.data() + 34, 108})));
  FixIpChecksum(frame);
  EXPECT_EQ(Parse(frame).kind, FrameKind::kUdp);
}

TEST(FrameTest, VlanTagIsAcceptedOnlyWhenItIsOurs) {
  const std::vector<uint8_t> tagged = UdpFromPeer(160, 42);
  const ParsedFrame parsed = Parse(tagged, {}, 42);
  ASSERT_EQ(parsed.kind, FrameKind::kUdp) << FrameDropName(parsed.drop);
  EXPECT_EQ(parsed.payload_offset, 46);
  EXPECT_EQ(DropOf(Parse(tagged, {}, 0)), FrameDrop::kVlan);
  EXPECT_EQ(DropOf(Parse(tagged, {}, 43)), FrameDrop::kVlan);
  EXPECT_EQ(DropOf(Parse(UdpFromPeer(160), {}, 42)), FrameDrop::kVlan);
  std::vector<uint8_t> stacked = tagged;
  Put16(stacked, 16, kEtherTypeVlan);  // a second tag
  EXPECT_EQ(DropOf(Parse(stacked, {}, 42)), FrameDrop::kVlan);
}

struct BadFrameRow {
  const char* name;
  void (*mutate)(std::vector<uint8_t>&);
  FrameDrop expected;
};

// Each row breaks one thing in a good datagram (and fixes the IP checksum when
// the IP header was touched on purpose), and names the one counter it lands in.
const BadFrameRow kBadFrames[] = {
    {"runt", [](std::vector<uint8_t>& f) { f.resize(10); }, FrameDrop::kRunt},
    {"cut_in_ip_header", [](std::vector<uint8_t>& f) { f.resize(30); }, FrameDrop::kRunt},
    {"cut_in_payload", [](std::vector<uint8_t>& f) { f.resize(100); }, FrameDrop::kRunt},
    {"other_mac", [](std::vector<uint8_t>& f) { f[5] = 0x09; }, FrameDrop::kOtherMac},
    {"multicast_mac", [](std::vector<uint8_t>& f) { f[0] = 0x01; }, FrameDrop::kOtherMac},
    {"broadcast_ipv4", [](std::vector<uint8_t>& f) { std::memset(f.data(), 0xFF, 6); }, FrameDrop::kOtherMac},
    {"ipv6", [](std::vector<uint8_t>& f) { Put16(f, 12, 0x86DD); }, FrameDrop::kEtherType},
    {"ip_version_6", [](std::vector<uint8_t>& f) { f[14] = 0x65; FixIpChecksum(f); }, FrameDrop::kIpHeader},
    {"ip_total_below_ihl", [](std::vector<uint8_t>& f) { Put16(f, 16, 10); FixIpChecksum(f); }, FrameDrop::kIpHeader},
    {"ip_checksum", [](std::vector<uint8_t>& f) { f[24] ^= 0x01; }, FrameDrop::kIpChecksum},
    {"ip_options",
     [](std::vector<uint8_t>& f) {
       // A 4-byte NOP option: IHL 6, everything after moves by 4.
       f.insert(f.begin() + 34, {1, 1, 1, 0});
       f[14] = 0x46;
       Put16(f, 16, static_cast<uint16_t>(Get16(f, 16) + 4));
       FixIpChecksum(f);
     },
     FrameDrop::kIpOptions},
    {"more_fragments", [](std::vector<uint8_t>& f) { Put16(f, 20, 0x2000); FixIpChecksum(f); }, FrameDrop::kIpFragment},
    {"fragment_offset", [](std::vector<uint8_t>& f) { Put16(f, 20, 0x0010); FixIpChecksum(f); }, FrameDrop::kIpFragment},
    {"other_ip", [](std::vector<uint8_t>& f) { f[33] = 9; FixIpChecksum(f); }, FrameDrop::kIpNotForUs},
    {"tcp", [](std::vector<uint8_t>& f) { f[23] = 6; FixIpChecksum(f); }, FrameDrop::kIpProtocol},
    {"udp_length_past_ip", [](std::vector<uint8_t>& f) { Put16(f, 38, 400); }, FrameDrop::kUdpLength},
    {"udp_length_below_header", [](std::vector<uint8_t>& f) { Put16(f, 38, 7); }, FrameDrop::kUdpLength},
    {"udp_checksum", [](std::vector<uint8_t>& f) { f[60] ^= 0x40; }, FrameDrop::kUdpChecksum},
};

TEST(FrameTest, EveryBadFrameLandsInExactlyOneReason) {
  for (const BadFrameRow& row : kBadFrames) {
    std::vector<uint8_t> frame = UdpFromPeer(172);
    row.mutate(frame);
    const ParsedFrame parsed = Parse(frame);
    EXPECT_EQ(parsed.kind, FrameKind::kDrop) << row.name;
    EXPECT_EQ(parsed.drop, row.expected) << row.name << ": got " << FrameDropName(parsed.drop);
  }
}

TEST(FrameTest, UdpChecksumIsSkippedWhenAbsentTrustedOrSwitchedOff) {
  std::vector<uint8_t> no_checksum = UdpFromPeer();
  Put16(no_checksum, 40, 0);
  no_checksum[60] ^= 0x40;
  EXPECT_EQ(Parse(no_checksum).kind, FrameKind::kUdp) << "0 means the sender sent none";

  std::vector<uint8_t> partial = UdpFromPeer();
  Put16(partial, 40, 0x1234);  // what a veth with TX offload on hands over
  EXPECT_EQ(DropOf(Parse(partial)), FrameDrop::kUdpChecksum);
  EXPECT_EQ(Parse(partial, RxChecks{false, false, false}).kind, FrameKind::kUdp);
  EXPECT_EQ(Parse(partial, RxChecks{false, true, true}).kind, FrameKind::kUdp) << "the NIC said good";

  std::vector<uint8_t> bad_ip = UdpFromPeer();
  bad_ip[24] ^= 1;
  EXPECT_EQ(Parse(bad_ip, RxChecks{true, false, true}).kind, FrameKind::kUdp) << "the NIC said good";
}

TEST(FrameTest, OddAndLargePayloadsRoundTrip) {
  for (size_t size : {0u, 1u, 3u, 161u, 1472u}) {
    const ParsedFrame parsed = Parse(UdpFromPeer(size));
    ASSERT_EQ(parsed.kind, FrameKind::kUdp) << size << " " << FrameDropName(parsed.drop);
    EXPECT_EQ(parsed.payload_size, size);
  }
  // Ethernet padding after a short datagram is not payload.
  std::vector<uint8_t> padded = UdpFromPeer(4);
  padded.resize(kMinFrame, 0);
  EXPECT_EQ(Parse(padded).payload_size, 4);
}

TEST(FrameTest, ArpRequestForUsIsAnsweredInPlace) {
  std::vector<uint8_t> frame(kMinFrame);
  ASSERT_EQ(WriteArpRequest(frame, Peer(), kOurIp), kMinFrame);
  const ParsedFrame parsed = Parse(frame);
  ASSERT_EQ(parsed.kind, FrameKind::kArpRequest) << FrameDropName(parsed.drop);
  EXPECT_EQ(parsed.src_ip, kPeerIp);
  EXPECT_EQ(parsed.src_mac, kPeerMac);

  MakeArpReply(frame, parsed, Us());
  // The peer sees a reply to it, from us, saying our MAC.
  const ParsedFrame reply = ParseFrame(frame, Peer(), {});
  ASSERT_EQ(reply.kind, FrameKind::kArpReply) << FrameDropName(reply.drop);
  EXPECT_EQ(reply.src_ip, kOurIp);
  EXPECT_EQ(reply.src_mac, kOurMac);
  EXPECT_EQ(std::memcmp(frame.data(), kPeerMac.bytes.data(), 6), 0);
  EXPECT_EQ(std::memcmp(frame.data() + 6, kOurMac.bytes.data(), 6), 0);
}

TEST(FrameTest, ArpKeepsItsVlanTagAndIgnoresOtherAddresses) {
  std::vector<uint8_t> frame(kMinFrame);
  WriteArpRequest(frame, Peer(7), kOurIp);
  const ParsedFrame parsed = Parse(frame, {}, 7);
  ASSERT_EQ(parsed.kind, FrameKind::kArpRequest);
  EXPECT_EQ(parsed.l2_size, 18);
  MakeArpReply(frame, parsed, Us(7));
  EXPECT_EQ(ParseFrame(frame, Peer(7), {}).kind, FrameKind::kArpReply);

  std::vector<uint8_t> other(kMinFrame);
  WriteArpRequest(other, Peer(), *ParseIpv4("10.77.0.3"));
  EXPECT_EQ(DropOf(Parse(other)), FrameDrop::kArpNotForUs);
  std::vector<uint8_t> token_ring = other;
  WriteArpRequest(token_ring, Peer(), kOurIp);
  Put16(token_ring, 14, 6);
  EXPECT_EQ(DropOf(Parse(token_ring)), FrameDrop::kArpMalformed);
  std::vector<uint8_t> rarp = other;
  WriteArpRequest(rarp, Peer(), kOurIp);
  Put16(rarp, 20, 3);
  EXPECT_EQ(DropOf(Parse(rarp)), FrameDrop::kArpMalformed);
  std::vector<uint8_t> short_arp = other;
  short_arp.resize(30);
  EXPECT_EQ(DropOf(Parse(short_arp)), FrameDrop::kRunt);
}

// An ICMP echo request from the peer with `data` bytes of payload.
std::vector<uint8_t> EchoRequest(size_t data = 56) {
  std::vector<uint8_t> frame(kEthernetHeader + kIpv4Header + 8 + data);
  std::memcpy(frame.data(), kOurMac.bytes.data(), 6);
  std::memcpy(frame.data() + 6, kPeerMac.bytes.data(), 6);
  Put16(frame, 12, kEtherTypeIpv4);
  frame[14] = 0x45;
  Put16(frame, 16, static_cast<uint16_t>(kIpv4Header + 8 + data));
  frame[22] = 64;
  frame[23] = 1;
  for (int i = 0; i < 4; ++i) {
    frame[26 + i] = static_cast<uint8_t>(kPeerIp >> (24 - 8 * i));
    frame[30 + i] = static_cast<uint8_t>(kOurIp >> (24 - 8 * i));
  }
  FixIpChecksum(frame);
  frame[34] = 8;
  Put16(frame, 38, 0x1234);  // identifier
  Put16(frame, 40, 7);       // sequence
  for (size_t i = 0; i < data; ++i) frame[42 + i] = static_cast<uint8_t>(i);
  Put16(frame, 36, ChecksumFinish(ChecksumAdd({frame.data() + 34, 8 + data})));
  return frame;
}

TEST(FrameTest, EchoRequestIsTurnedIntoAValidReply) {
  std::vector<uint8_t> frame = EchoRequest(57);
  const ParsedFrame parsed = Parse(frame);
  ASSERT_EQ(parsed.kind, FrameKind::kIcmpEcho) << FrameDropName(parsed.drop);
  EXPECT_EQ(parsed.src_ip, kPeerIp);
  MakeEchoReply(frame, parsed, Us());
  EXPECT_EQ(std::memcmp(frame.data(), kPeerMac.bytes.data(), 6), 0);
  EXPECT_EQ(frame[34], 0) << "echo reply";
  EXPECT_EQ(Get16(frame, 38), 0x1234);
  EXPECT_EQ(Get16(frame, 40), 7);
  EXPECT_EQ(ChecksumFinish(ChecksumAdd({frame.data() + 14, kIpv4Header})), 0);
  EXPECT_EQ(ChecksumFinish(ChecksumAdd({frame.data() + 34, frame.size() - 34})), 0);
  EXPECT_EQ(frame[26], 10);
  EXPECT_EQ(frame[29], 2) << "from our address";
  EXPECT_EQ(frame[33], 1) << "to the peer";
}

TEST(FrameTest, OtherIcmpIsDropped) {
  std::vector<uint8_t> bad_sum = EchoRequest();
  bad_sum[50] ^= 1;
  EXPECT_EQ(DropOf(Parse(bad_sum)), FrameDrop::kIcmpChecksum);
  std::vector<uint8_t> timestamp = EchoRequest();
  timestamp[34] = 13;
  EXPECT_EQ(DropOf(Parse(timestamp)), FrameDrop::kIcmpNotEcho);
}

TEST(FrameTest, MacAndIpv4TextRoundTrip) {
  auto mac = MacAddress::Parse("02:0A:bc:00:00:ff");
  ASSERT_TRUE(mac.has_value());
  EXPECT_EQ(mac->ToString(), "02:0a:bc:00:00:ff");
  EXPECT_TRUE(MacAddress::Parse("02-0a-bc-00-00-ff").has_value());
  EXPECT_FALSE(MacAddress::Parse("02:0a:bc:00:00").has_value());
  EXPECT_FALSE(MacAddress::Parse("02:0a:bc:00:00:fg").has_value());
  EXPECT_EQ(Ipv4ToString(kOurIp), "10.77.0.2");
  EXPECT_FALSE(ParseIpv4("10.77.0").has_value());
}

}  // namespace
}  // namespace earshot::dataplane::dpdk

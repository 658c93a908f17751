#include "dataplane/dpdk/frame.h"

#include <arpa/inet.h>

#include <cstring>

#include <fmt/format.h>

namespace earshot::dataplane::dpdk {
namespace {

constexpr uint8_t kProtocolIcmp = 1;
constexpr uint8_t kProtocolUdp = 17;
constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint16_t kArpOpRequest = 1;
constexpr uint16_t kArpOpReply = 2;

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Get32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}
void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
MacAddress GetMac(const uint8_t* p) {
  MacAddress mac;
  std::memcpy(mac.bytes.data(), p, 6);
  return mac;
}
void PutMac(uint8_t* p, const MacAddress& mac) { std::memcpy(p, mac.bytes.data(), 6); }

ParsedFrame Drop(FrameDrop reason, uint16_t l2_size = 0) {
  ParsedFrame parsed;
  parsed.kind = FrameKind::kDrop;
  parsed.drop = reason;
  parsed.l2_size = l2_size;
  return parsed;
}

// Writes the Ethernet header (+ tag); returns its size.
size_t WriteEthernet(uint8_t* p, const MacAddress& dst, const MacAddress& src, uint16_t vlan,
                     uint16_t ether_type) {
  PutMac(p, dst);
  PutMac(p + 6, src);
  if (vlan == 0) {
    Put16(p + 12, ether_type);
    return kEthernetHeader;
  }
  Put16(p + 12, kEtherTypeVlan);
  Put16(p + 14, vlan & 0x0FFF);
  Put16(p + 16, ether_type);
  return kEthernetHeader + kVlanTag;
}

ParsedFrame ParseArp(std::span<const uint8_t> frame, size_t l2, const LocalIdentity& local) {
  if (frame.size() < l2 + kArpBody) return Drop(FrameDrop::kRunt, static_cast<uint16_t>(l2));
  const uint8_t* arp = frame.data() + l2;
  // Ethernet (1), IPv4 (0x0800), 6-byte and 4-byte addresses.
  if (Get16(arp) != 1 || Get16(arp + 2) != kEtherTypeIpv4 || arp[4] != 6 || arp[5] != 4) {
    return Drop(FrameDrop::kArpMalformed, static_cast<uint16_t>(l2));
  }
  const uint16_t op = Get16(arp + 6);
  if (op != kArpOpRequest && op != kArpOpReply) return Drop(FrameDrop::kArpMalformed, static_cast<uint16_t>(l2));
  const uint32_t target_ip = Get32(arp + 24);
  if (target_ip != local.ip) return Drop(FrameDrop::kArpNotForUs, static_cast<uint16_t>(l2));
  ParsedFrame parsed;
  parsed.kind = op == kArpOpRequest ? FrameKind::kArpRequest : FrameKind::kArpReply;
  parsed.l2_size = static_cast<uint16_t>(l2);
  parsed.src_mac = GetMac(arp + 8);
  parsed.src_ip = Get32(arp + 14);
  parsed.dst_ip = target_ip;
  // A sender claiming a multicast MAC or no address is not something to learn.
  if (parsed.src_mac.IsMulticast() || parsed.src_mac.IsZero() || parsed.src_ip == 0) {
    return Drop(FrameDrop::kArpMalformed, static_cast<uint16_t>(l2));
  }
  return parsed;
}

}  // namespace

Result<MacAddress> MacAddress::Parse(std::string_view text) {
  MacAddress mac;
  if (text.size() != 17) return InvalidArgument(fmt::format("'{}' is not a MAC address", text));
  for (size_t i = 0; i < 6; ++i) {
    unsigned value = 0;
    for (size_t j = 0; j < 2; ++j) {
      const char c = text[i * 3 + j];
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        return InvalidArgument(fmt::format("'{}' is not a MAC address", text));
      }
    }
    if (i < 5 && text[i * 3 + 2] != ':' && text[i * 3 + 2] != '-') {
      return InvalidArgument(fmt::format("'{}' is not a MAC address", text));
    }
    mac.bytes[i] = static_cast<uint8_t>(value);
  }
  return mac;
}

std::string MacAddress::ToString() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes[0], bytes[1], bytes[2],
                     bytes[3], bytes[4], bytes[5]);
}

std::optional<uint32_t> ParseIpv4(std::string_view text) {
  in_addr address{};
  if (inet_pton(AF_INET, std::string(text).c_str(), &address) != 1) return std::nullopt;
  return ntohl(address.s_addr);
}

std::string Ipv4ToString(uint32_t ip) {
  return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xFF, (ip >> 8) & 0xFF, ip & 0xFF);
}

std::string_view FrameDropName(FrameDrop drop) {
  switch (drop) {
    case FrameDrop::kRunt: return "runt";
    case FrameDrop::kOtherMac: return "other_mac";
    case FrameDrop::kVlan: return "vlan";
    case FrameDrop::kEtherType: return "ether_type";
    case FrameDrop::kArpMalformed: return "arp_malformed";
    case FrameDrop::kArpNotForUs: return "arp_not_for_us";
    case FrameDrop::kIpHeader: return "ip_header";
    case FrameDrop::kIpChecksum: return "ip_checksum";
    case FrameDrop::kIpOptions: return "ip_options";
    case FrameDrop::kIpFragment: return "ip_fragment";
    case FrameDrop::kIpNotForUs: return "ip_not_for_us";
    case FrameDrop::kIpProtocol: return "ip_protocol";
    case FrameDrop::kIcmpNotEcho: return "icmp_not_echo";
    case FrameDrop::kIcmpChecksum: return "icmp_checksum";
    case FrameDrop::kUdpLength: return "udp_length";
    case FrameDrop::kUdpChecksum: return "udp_checksum";
    case FrameDrop::kCount: break;
  }
  return "unknown";
}

uint32_t ChecksumAdd(std::span<const uint8_t> bytes, uint32_t sum) {
  // 64-bit accumulator: no carry handling inside the loop for any frame size.
  uint64_t total = sum;
  size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2) total += Get16(bytes.data() + i);
  if (i < bytes.size()) total += static_cast<uint32_t>(bytes[i]) << 8;
  while (total >> 32) total = (total & 0xFFFFFFFF) + (total >> 32);
  return static_cast<uint32_t>(total);
}

uint16_t ChecksumFinish(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint32_t UdpPseudoHeaderSum(uint32_t src_ip, uint32_t dst_ip, uint16_t udp_length) {
  return (src_ip >> 16) + (src_ip & 0xFFFF) + (dst_ip >> 16) + (dst_ip & 0xFFFF) + kProtocolUdp +
         udp_length;
}

ParsedFrame ParseFrame(std::span<const uint8_t> frame, const LocalIdentity& local,
                       const RxChecks& checks) {
  if (frame.size() < kEthernetHeader) return Drop(FrameDrop::kRunt);
  const uint8_t* p = frame.data();
  const MacAddress dst_mac = GetMac(p);
  const bool broadcast = dst_mac.IsBroadcast();
  if (!broadcast && dst_mac != local.mac) return Drop(FrameDrop::kOtherMac);
  uint16_t ether_type = Get16(p + 12);
  size_t l2 = kEthernetHeader;
  if (ether_type == kEtherTypeVlan || ether_type == kEtherTypeQinQ) {
    if (frame.size() < kEthernetHeader + kVlanTag) return Drop(FrameDrop::kRunt);
    const uint16_t vlan = Get16(p + 14) & 0x0FFF;
    ether_type = Get16(p + 16);
    l2 += kVlanTag;
    if (local.vlan == 0 || vlan != local.vlan || ether_type == kEtherTypeVlan ||
        ether_type == kEtherTypeQinQ) {
      return Drop(FrameDrop::kVlan, static_cast<uint16_t>(l2));
    }
  } else if (local.vlan != 0) {
    return Drop(FrameDrop::kVlan, static_cast<uint16_t>(l2));
  }
  const auto l2_size = static_cast<uint16_t>(l2);
  if (ether_type == kEtherTypeArp) return ParseArp(frame, l2, local);
  if (ether_type != kEtherTypeIpv4) return Drop(FrameDrop::kEtherType, l2_size);
  // Broadcast is for ARP only; IPv4 to us comes to our MAC.
  if (broadcast) return Drop(FrameDrop::kOtherMac, l2_size);

  if (frame.size() < l2 + kIpv4Header) return Drop(FrameDrop::kRunt, l2_size);
  const uint8_t* ip = p + l2;
  if ((ip[0] >> 4) != 4 || (ip[0] & 0x0F) < 5) return Drop(FrameDrop::kIpHeader, l2_size);
  const size_t ip_total = Get16(ip + 2);
  const size_t ihl = static_cast<size_t>(ip[0] & 0x0F) * 4;
  if (ip_total < ihl || l2 + ip_total > frame.size()) {
    return Drop(ip_total >= ihl && l2 + ihl <= frame.size() ? FrameDrop::kRunt : FrameDrop::kIpHeader,
                l2_size);
  }
  if (!checks.ip_checksum_good && ChecksumFinish(ChecksumAdd({ip, ihl})) != 0) {
    return Drop(FrameDrop::kIpChecksum, l2_size);
  }
  if (ihl != kIpv4Header) return Drop(FrameDrop::kIpOptions, l2_size);
  // More fragments, or a fragment offset: a piece of a datagram (the DF bit is fine).
  if ((Get16(ip + 6) & 0x3FFF) != 0) return Drop(FrameDrop::kIpFragment, l2_size);
  const uint32_t dst_ip = Get32(ip + 16);
  if (dst_ip != local.ip) return Drop(FrameDrop::kIpNotForUs, l2_size);
  const uint32_t src_ip = Get32(ip + 12);
  const uint8_t protocol = ip[9];
  const uint8_t* l4 = ip + kIpv4Header;
  const size_t l4_size = ip_total - kIpv4Header;

  if (protocol == kProtocolIcmp) {
    if (l4_size < 8) return Drop(FrameDrop::kRunt, l2_size);
    if (l4[0] != kIcmpEchoRequest || l4[1] != 0) return Drop(FrameDrop::kIcmpNotEcho, l2_size);
    if (ChecksumFinish(ChecksumAdd({l4, l4_size})) != 0) return Drop(FrameDrop::kIcmpChecksum, l2_size);
    ParsedFrame parsed;
    parsed.kind = FrameKind::kIcmpEcho;
    parsed.l2_size = l2_size;
    parsed.src_ip = src_ip;
    parsed.dst_ip = dst_ip;
    parsed.src_mac = GetMac(p + 6);
    return parsed;
  }
  if (protocol != kProtocolUdp) return Drop(FrameDrop::kIpProtocol, l2_size);
  if (l4_size < kUdpHeader) return Drop(FrameDrop::kRunt, l2_size);
  const size_t udp_length = Get16(l4 + 4);
  if (udp_length < kUdpHeader || udp_length > l4_size) return Drop(FrameDrop::kUdpLength, l2_size);
  const uint16_t udp_checksum = Get16(l4 + 6);
  if (checks.verify_udp_checksum && !checks.udp_checksum_good && udp_checksum != 0) {
    const uint32_t sum = ChecksumAdd({l4, udp_length},
                                     UdpPseudoHeaderSum(src_ip, dst_ip, static_cast<uint16_t>(udp_length)));
    if (ChecksumFinish(sum) != 0) return Drop(FrameDrop::kUdpChecksum, l2_size);
  }
  ParsedFrame parsed;
  parsed.kind = FrameKind::kUdp;
  parsed.l2_size = l2_size;
  parsed.src_ip = src_ip;
  parsed.dst_ip = dst_ip;
  parsed.src_port = Get16(l4);
  parsed.dst_port = Get16(l4 + 2);
  parsed.payload_offset = static_cast<uint16_t>(l2 + kIpv4Header + kUdpHeader);
  parsed.payload_size = static_cast<uint16_t>(udp_length - kUdpHeader);
  parsed.src_mac = GetMac(p + 6);
  return parsed;
}

void WriteUdpHeaders(std::span<uint8_t> headers, const UdpHeaderFields& fields,
                     std::span<const uint8_t> payload, ChecksumMode mode) {
  uint8_t* p = headers.data();
  const size_t l2 = WriteEthernet(p, fields.dst_mac, fields.src_mac, fields.vlan, kEtherTypeIpv4);
  uint8_t* ip = p + l2;
  const auto udp_length = static_cast<uint16_t>(kUdpHeader + payload.size());
  ip[0] = 0x45;
  ip[1] = fields.tos;
  Put16(ip + 2, static_cast<uint16_t>(kIpv4Header + udp_length));
  Put16(ip + 4, fields.ip_id);
  Put16(ip + 6, 0x4000);  // don't fragment
  ip[8] = fields.ttl;
  ip[9] = kProtocolUdp;
  Put16(ip + 10, 0);
  Put32(ip + 12, fields.src_ip);
  Put32(ip + 16, fields.dst_ip);
  uint8_t* udp = ip + kIpv4Header;
  Put16(udp, fields.src_port);
  Put16(udp + 2, fields.dst_port);
  Put16(udp + 4, udp_length);
  const uint32_t pseudo = UdpPseudoHeaderSum(fields.src_ip, fields.dst_ip, udp_length);
  if (mode == ChecksumMode::kOffload) {
    // The NIC completes both: it wants the folded, uncomplemented pseudo-header sum.
    Put16(udp + 6, static_cast<uint16_t>(~ChecksumFinish(pseudo)));
    return;
  }
  Put16(ip + 10, ChecksumFinish(ChecksumAdd({ip, kIpv4Header})));
  Put16(udp + 6, 0);
  uint16_t checksum = ChecksumFinish(ChecksumAdd(payload, ChecksumAdd({udp, kUdpHeader}, pseudo)));
  if (checksum == 0) checksum = 0xFFFF;  // 0 would mean "no checksum" (RFC 768)
  Put16(udp + 6, checksum);
}

size_t WriteArpRequest(std::span<uint8_t> out, const LocalIdentity& local, uint32_t target_ip) {
  uint8_t* p = out.data();
  std::memset(p, 0, kMinFrame);
  const size_t l2 = WriteEthernet(p, MacAddress::Broadcast(), local.mac, local.vlan, kEtherTypeArp);
  uint8_t* arp = p + l2;
  Put16(arp, 1);
  Put16(arp + 2, kEtherTypeIpv4);
  arp[4] = 6;
  arp[5] = 4;
  Put16(arp + 6, kArpOpRequest);
  PutMac(arp + 8, local.mac);
  Put32(arp + 14, local.ip);
  // Target hardware address: zero (it is what we ask for).
  Put32(arp + 24, target_ip);
  return std::max(kMinFrame, l2 + kArpBody);
}

void MakeArpReply(std::span<uint8_t> frame, const ParsedFrame& parsed, const LocalIdentity& local) {
  uint8_t* p = frame.data();
  PutMac(p, parsed.src_mac);
  PutMac(p + 6, local.mac);
  uint8_t* arp = p + parsed.l2_size;
  Put16(arp + 6, kArpOpReply);
  PutMac(arp + 18, parsed.src_mac);
  Put32(arp + 24, parsed.src_ip);
  PutMac(arp + 8, local.mac);
  Put32(arp + 14, local.ip);
}

void MakeEchoReply(std::span<uint8_t> frame, const ParsedFrame& parsed, const LocalIdentity& local) {
  uint8_t* p = frame.data();
  const MacAddress requester = GetMac(p + 6);
  PutMac(p, requester);
  PutMac(p + 6, local.mac);
  uint8_t* ip = p + parsed.l2_size;
  const size_t ip_total = Get16(ip + 2);
  Put32(ip + 12, local.ip);
  Put32(ip + 16, parsed.src_ip);
  ip[8] = 64;
  Put16(ip + 10, 0);
  Put16(ip + 10, ChecksumFinish(ChecksumAdd({ip, kIpv4Header})));
  uint8_t* icmp = ip + kIpv4Header;
  icmp[0] = kIcmpEchoReply;
  Put16(icmp + 2, 0);
  Put16(icmp + 2, ChecksumFinish(ChecksumAdd({icmp, ip_total - kIpv4Header})));
}

}  // namespace earshot::dataplane::dpdk

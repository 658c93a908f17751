#pragma once
// Ethernet / ARP / IPv4 / ICMP / UDP for the DPDK back end, as pure functions
// over byte spans: no EAL, no mbufs, so every rule is unit-tested on synthetic
// frames (frame_test.cc) and the DPDK code only moves bytes in and out.
//
// Model
// -----
// ParseFrame looks at one received frame and says what it is for us: UDP to our
// address (with where the payload is), an ARP request for our address, an ARP
// reply to us, an ICMP echo request to our address, or a drop with exactly one
// reason. The caller bumps one counter per frame, so every frame lands in
// exactly one counter (rx = sum of kinds and drop reasons).
//
// What we accept (everything else is a drop, see FrameDrop):
// * Ethernet II to our MAC, or broadcast for ARP; untagged when no VLAN is
//   configured, else exactly one 802.1Q tag with our VLAN id.
// * ARP: Ethernet/IPv4 request or reply whose target is our address.
// * IPv4: version 4, IHL 5 (options are dropped: media never carries them and
//   they would make every later offset variable), not a fragment, total length
//   within the frame, header checksum right (unless the NIC said it was good).
// * ICMP echo request with a correct checksum.
// * UDP with a sane length; checksum verified unless the NIC said it is good,
//   the sender sent none (0), or the caller turned verification off (virtual
//   devices that hand partial checksums, ENVIRONMENT.md "checksum trap").
//
// Builders write headers for what we send: UDP frames (headers into the space
// before the payload, i.e. an mbuf's headroom), ARP requests, and in-place
// turn-arounds of ARP requests and ICMP echo requests into replies.
//
// Byte order: IPv4 addresses and ports are host order in these structs; the
// frames are network order, handled in the accessors. Nothing here allocates,
// locks or throws.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "codecs/result.h"

namespace earshot::dataplane::dpdk {

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  // "02:00:00:00:00:01" (also with '-').
  [[nodiscard]] static Result<MacAddress> Parse(std::string_view text);
  static MacAddress Broadcast() { return MacAddress{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}}; }
  bool IsBroadcast() const { return *this == Broadcast(); }
  bool IsMulticast() const { return (bytes[0] & 1) != 0; }  // broadcast included
  bool IsZero() const { return *this == MacAddress{}; }
  std::string ToString() const;
  friend bool operator==(const MacAddress&, const MacAddress&) = default;
};

// "10.0.0.1" to host order; nullopt if it is not a dotted IPv4 address.
std::optional<uint32_t> ParseIpv4(std::string_view text);
std::string Ipv4ToString(uint32_t ip);

inline constexpr size_t kEthernetHeader = 14;
inline constexpr size_t kVlanTag = 4;
inline constexpr size_t kIpv4Header = 20;
inline constexpr size_t kUdpHeader = 8;
inline constexpr size_t kArpBody = 28;
inline constexpr size_t kMinFrame = 60;  // without the FCS; shorter frames are padded
inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeQinQ = 0x88A8;

// Why a received frame was not for us. Keep FrameDropName in step.
enum class FrameDrop : uint8_t {
  kRunt,            // shorter than its headers say
  kOtherMac,        // to another unicast MAC, or multicast
  kVlan,            // tagged when we are not, untagged when we are, other VLAN, or two tags
  kEtherType,       // not IPv4 or ARP (IPv6, LLDP, ...)
  kArpMalformed,    // not Ethernet/IPv4 ARP, or an unknown operation
  kArpNotForUs,     // ARP about someone else's address
  kIpHeader,        // not version 4, or lengths that do not fit
  kIpChecksum,
  kIpOptions,
  kIpFragment,
  kIpNotForUs,      // another destination address (or broadcast)
  kIpProtocol,      // not UDP or ICMP
  kIcmpNotEcho,     // ICMP other than an echo request
  kIcmpChecksum,
  kUdpLength,       // UDP length does not fit the IP packet
  kUdpChecksum,
  kCount,
};
inline constexpr size_t kFrameDropCount = static_cast<size_t>(FrameDrop::kCount);
std::string_view FrameDropName(FrameDrop drop);  // "ip_options"

enum class FrameKind : uint8_t { kUdp, kArpRequest, kArpReply, kIcmpEcho, kDrop };

struct ParsedFrame {
  FrameKind kind = FrameKind::kDrop;
  FrameDrop drop = FrameDrop::kRunt;  // meaningful when kind == kDrop
  uint16_t l2_size = 0;               // 14, or 18 with a VLAN tag
  // kUdp: the datagram. kArpRequest / kArpReply: sender_* are the sender.
  // kIcmpEcho: src_ip is who pings.
  uint32_t src_ip = 0;
  uint32_t dst_ip = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t payload_offset = 0;  // UDP payload, from the start of the frame
  uint16_t payload_size = 0;
  MacAddress src_mac;  // Ethernet source (kUdp) or ARP sender hardware address
};

struct LocalIdentity {
  MacAddress mac;
  uint32_t ip = 0;    // host order
  uint16_t vlan = 0;  // 0: untagged
};

struct RxChecks {
  bool ip_checksum_good = false;   // the NIC verified the IPv4 header checksum
  bool udp_checksum_good = false;  // the NIC verified the UDP checksum
  bool verify_udp_checksum = true; // false: trust whatever arrives (partial checksums)
};

ParsedFrame ParseFrame(std::span<const uint8_t> frame, const LocalIdentity& local,
                       const RxChecks& checks);

// The ones' complement sum of `bytes` (an odd tail is padded with a zero byte)
// added to `sum`, not folded.
uint32_t ChecksumAdd(std::span<const uint8_t> bytes, uint32_t sum = 0);
// Folds a ChecksumAdd result to 16 bits and complements it: the checksum field.
uint16_t ChecksumFinish(uint32_t sum);
// The IPv4 pseudo-header sum for UDP (addresses, protocol, UDP length), not folded.
uint32_t UdpPseudoHeaderSum(uint32_t src_ip, uint32_t dst_ip, uint16_t udp_length);

struct UdpHeaderFields {
  MacAddress src_mac;
  MacAddress dst_mac;
  uint16_t vlan = 0;
  uint32_t src_ip = 0;
  uint32_t dst_ip = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t ip_id = 0;
  uint8_t tos = 0xB8;  // DSCP EF, as the kernel back end marks media
  uint8_t ttl = 64;
};

// Bytes of Ethernet (+VLAN) + IPv4 + UDP headers.
constexpr size_t UdpHeadersSize(uint16_t vlan) {
  return kEthernetHeader + (vlan != 0 ? kVlanTag : 0) + kIpv4Header + kUdpHeader;
}

enum class ChecksumMode : uint8_t {
  kSoftware,  // both checksums computed here
  kOffload,   // IPv4 checksum 0 and UDP checksum the pseudo-header sum, as NICs
              // with RTE_ETH_TX_OFFLOAD_{IPV4,UDP}_CKSUM expect
};

// Writes the headers into `headers` (exactly UdpHeadersSize(fields.vlan) bytes,
// directly before `payload` in the same frame).
void WriteUdpHeaders(std::span<uint8_t> headers, const UdpHeaderFields& fields,
                     std::span<const uint8_t> payload, ChecksumMode mode);

// Writes a broadcast ARP request for `target_ip` into `out` (at least kMinFrame
// bytes); returns the frame size (padded to kMinFrame).
size_t WriteArpRequest(std::span<uint8_t> out, const LocalIdentity& local, uint32_t target_ip);

// Turns a frame ParseFrame called kArpRequest into our reply, in place (the
// VLAN tag, if any, stays).
void MakeArpReply(std::span<uint8_t> frame, const ParsedFrame& parsed, const LocalIdentity& local);

// Turns a frame ParseFrame called kIcmpEcho into the echo reply, in place.
void MakeEchoReply(std::span<uint8_t> frame, const ParsedFrame& parsed, const LocalIdentity& local);

}  // namespace earshot::dataplane::dpdk

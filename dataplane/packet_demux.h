#pragma once
// First-byte demultiplexing of one UDP port (STYLE.md §3: no allocation, no
// branches beyond a few compares).
//
// Model. With ICE, DTLS-SRTP and rtcp-mux, one 5-tuple carries STUN, DTLS,
// TURN channel data, RTP and RTCP. RFC 7983 §7 tells them apart by the first
// octet alone:
//
//   [0..3] STUN   [16..19] ZRTP   [20..63] DTLS   [64..79] TURN channel
//   [128..191] RTP or RTCP (these are exactly the octets with V = 2)
//
// everything else is unknown and dropped. RTP and RTCP are then split per RFC
// 5761 §4 by the second octet (M bit plus 7-bit PT in RTP, PT in RTCP): RTCP
// packet types 192-223 are reserved so that they never collide with an RTP
// payload type a peer may use together with the marker bit, so a second octet
// in 192..223 is RTCP (SR 200, RR 201, SDES 202, BYE 203, APP 204, RTPFB 205,
// PSFB 206, XR 207, and the rest of the range reserved for conflict
// avoidance) and anything else is RTP.
//
// These look only at one or two octets; the RTP/RTCP parsers do the full
// validity checks afterwards.

#include <cstdint>
#include <span>
#include <string_view>

namespace earshot::dataplane {

enum class PacketKind : uint8_t { kStun, kZrtp, kDtls, kTurnChannel, kRtpOrRtcp, kUnknown };
std::string_view PacketKindName(PacketKind kind);

// RFC 7983 §7 on the first octet; an empty datagram is kUnknown.
PacketKind ClassifyFirstByte(std::span<const uint8_t> datagram);

// RFC 5761 §4 on the second octet alone; false when there is none. Meaningful
// only for datagrams ClassifyFirstByte calls kRtpOrRtcp.
bool IsRtcp(std::span<const uint8_t> datagram);

enum class MuxKind : uint8_t { kRtp, kRtcp, kNotRtp };
std::string_view MuxKindName(MuxKind kind);

// Both steps: kNotRtp unless there are at least 2 octets and V = 2.
MuxKind ClassifyMuxed(std::span<const uint8_t> datagram);

}  // namespace earshot::dataplane

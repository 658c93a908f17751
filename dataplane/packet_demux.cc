#include "dataplane/packet_demux.h"

namespace earshot::dataplane {

std::string_view PacketKindName(PacketKind kind) {
  switch (kind) {
    case PacketKind::kStun: return "stun";
    case PacketKind::kZrtp: return "zrtp";
    case PacketKind::kDtls: return "dtls";
    case PacketKind::kTurnChannel: return "turn_channel";
    case PacketKind::kRtpOrRtcp: return "rtp_or_rtcp";
    case PacketKind::kUnknown: return "unknown";
  }
  return "unknown";
}

std::string_view MuxKindName(MuxKind kind) {
  switch (kind) {
    case MuxKind::kRtp: return "rtp";
    case MuxKind::kRtcp: return "rtcp";
    case MuxKind::kNotRtp: return "not_rtp";
  }
  return "unknown";
}

PacketKind ClassifyFirstByte(std::span<const uint8_t> datagram) {
  if (datagram.empty()) return PacketKind::kUnknown;
  const uint8_t first = datagram[0];
  if (first <= 3) return PacketKind::kStun;
  if (first >= 16 && first <= 19) return PacketKind::kZrtp;
  if (first >= 20 && first <= 63) return PacketKind::kDtls;
  if (first >= 64 && first <= 79) return PacketKind::kTurnChannel;
  if (first >= 128 && first <= 191) return PacketKind::kRtpOrRtcp;
  return PacketKind::kUnknown;
}

bool IsRtcp(std::span<const uint8_t> datagram) {
  if (datagram.size() < 2) return false;
  return datagram[1] >= 192 && datagram[1] <= 223;
}

MuxKind ClassifyMuxed(std::span<const uint8_t> datagram) {
  // V = 2 is the top two bits 10, i.e. the same 128..191 range as RFC 7983.
  if (datagram.size() < 2 || (datagram[0] >> 6) != 2) return MuxKind::kNotRtp;
  return IsRtcp(datagram) ? MuxKind::kRtcp : MuxKind::kRtp;
}

}  // namespace earshot::dataplane

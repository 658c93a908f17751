#pragma once
// Builds RTCP compound packets (RFC 3550 §6) into a caller's buffer, for the send
// path. The views that read them back are in rtcp_packet.h.
//
// Model. RtcpCompoundWriter appends one packet at a time to a span it does not
// own. Each Append computes the packet's whole size first and writes only if it
// fits, so a failed Append leaves size() and every byte of the buffer as they
// were; nothing is ever written past the span. No allocation, no exceptions.
//
// The writer fills in what the wire format derives: version 2, the count field,
// the length in words, SDES null terminators and chunk padding, BYE reason
// padding. It never sets the P bit. It does not enforce the order of packets, so
// the caller chooses between an RFC 3550 compound (SR or RR first, then SDES with
// a CNAME) and RFC 5506 reduced-size RTCP.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <tl/expected.hpp>

#include "codecs/rtp_types.h"
#include "dataplane/rtcp_packet.h"

namespace earshot::dataplane {

enum class RtcpWriteError : uint8_t {
  kOutputTooSmall,   // the packet does not fit in what is left of the buffer
  kCountTooLarge,    // more than 31 report blocks, chunks or sources, or subtype > 31
  kTextTooLong,      // an SDES item or BYE reason over 255 bytes
  kNotWordAligned,   // an extension, APP data or raw body not a multiple of 4 bytes
  kPacketTooLong,    // the packet would need a length field above 65535
  kInvalidArgument,  // an SDES item of type kEnd, or an APP name not 4 characters
};

std::string_view RtcpWriteErrorName(RtcpWriteError error);

using RtcpWriteResult = tl::expected<void, RtcpWriteError>;

// What the writer needs for one report block; ReportBlockView is its reading side.
struct RtcpReportBlock {
  Ssrc ssrc;
  uint8_t fraction_lost = 0;
  // Saturated to the signed 24-bit wire range [-2^23, 2^23 - 1] (RFC 3550 §6.4.1
  // leaves overflow open; clamping keeps the sign honest).
  int32_t cumulative_lost = 0;
  uint32_t extended_highest_sequence = 0;
  uint32_t jitter = 0;
  uint32_t last_sr = 0;
  uint32_t delay_since_last_sr = 0;
};

struct RtcpSenderInfo {
  uint64_t ntp_timestamp = 0;  // seconds since 1900 in the high word
  uint32_t rtp_timestamp = 0;
  uint32_t packet_count = 0;
  uint32_t octet_count = 0;
};

struct SdesItem {
  SdesItemType type;
  std::string_view text;  // at most 255 bytes
};

struct SdesChunk {
  Ssrc ssrc;
  std::span<const SdesItem> items;
};

class RtcpCompoundWriter {
 public:
  explicit RtcpCompoundWriter(std::span<uint8_t> buffer) : buffer_(buffer) {}

  // SR: up to 31 report blocks, then an optional profile-specific extension.
  [[nodiscard]] RtcpWriteResult AppendSenderReport(Ssrc sender_ssrc, const RtcpSenderInfo& info,
                                                   std::span<const RtcpReportBlock> blocks = {},
                                                   std::span<const uint8_t> extension = {});
  // RR: an empty one (no blocks) is what a silent receiver sends first.
  [[nodiscard]] RtcpWriteResult AppendReceiverReport(Ssrc sender_ssrc,
                                                     std::span<const RtcpReportBlock> blocks = {},
                                                     std::span<const uint8_t> extension = {});
  // SDES with up to 31 chunks; each chunk gets its null item and word padding.
  [[nodiscard]] RtcpWriteResult AppendSdes(std::span<const SdesChunk> chunks);
  // The common case: one chunk with only a CNAME.
  [[nodiscard]] RtcpWriteResult AppendSdesCname(Ssrc ssrc, std::string_view cname);
  // BYE for up to 31 sources; an empty reason writes no reason field.
  [[nodiscard]] RtcpWriteResult AppendBye(std::span<const Ssrc> ssrcs,
                                          std::string_view reason = {});
  [[nodiscard]] RtcpWriteResult AppendApp(uint8_t subtype, Ssrc ssrc, std::string_view name,
                                          std::span<const uint8_t> data = {});
  // Any packet type with a prepared body, e.g. RTPFB/PSFB feedback.
  [[nodiscard]] RtcpWriteResult AppendRaw(RtcpPacketType packet_type, uint8_t count,
                                          std::span<const uint8_t> body);
  // Forwards a parsed packet unchanged except that its padding is dropped, since
  // padding may only end a compound.
  [[nodiscard]] RtcpWriteResult AppendPacket(const RtcpPacketView& packet);

  size_t size() const { return size_; }
  size_t remaining() const { return buffer_.size() - size_; }
  std::span<const uint8_t> bytes() const { return buffer_.first(size_); }
  void Clear() { size_ = 0; }

 private:
  // Checks that a packet with a body of `body_size` bytes fits, writes its
  // header and advances size(). Returns where the body goes.
  tl::expected<uint8_t*, RtcpWriteError> BeginPacket(RtcpPacketType packet_type, uint8_t count,
                                                     size_t body_size);

  std::span<uint8_t> buffer_;
  size_t size_ = 0;
};

}  // namespace earshot::dataplane

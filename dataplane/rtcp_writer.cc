#include "dataplane/rtcp_writer.h"

#include <algorithm>
#include <cstring>

namespace earshot::dataplane {
namespace {

constexpr size_t kMaxTextSize = 255;
// The length field is 16 bits of words beyond the header word.
constexpr size_t kMaxBodySize = size_t{0xffff} * 4;

constexpr size_t RoundUpToWord(size_t size) { return (size + 3) & ~size_t{3}; }

tl::unexpected<RtcpWriteError> Fail(RtcpWriteError error) { return tl::make_unexpected(error); }

uint8_t* StoreBe16(uint8_t* p, uint16_t value) {
  p[0] = static_cast<uint8_t>(value >> 8);
  p[1] = static_cast<uint8_t>(value);
  return p + 2;
}

uint8_t* StoreBe32(uint8_t* p, uint32_t value) {
  p[0] = static_cast<uint8_t>(value >> 24);
  p[1] = static_cast<uint8_t>(value >> 16);
  p[2] = static_cast<uint8_t>(value >> 8);
  p[3] = static_cast<uint8_t>(value);
  return p + 4;
}

uint8_t* StoreBytes(uint8_t* p, std::span<const uint8_t> bytes) {
  // memcpy with a null source is undefined even for zero bytes.
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  return p + bytes.size();
}

uint8_t* StoreText(uint8_t* p, std::string_view text) {
  if (!text.empty()) std::memcpy(p, text.data(), text.size());
  return p + text.size();
}

uint8_t* StoreReportBlock(uint8_t* p, const RtcpReportBlock& block) {
  constexpr int32_t kMinLost = -0x800000;
  constexpr int32_t kMaxLost = 0x7fffff;
  const int32_t lost = std::clamp(block.cumulative_lost, kMinLost, kMaxLost);
  // Two's complement in 24 bits: the low three octets of the 32-bit pattern.
  const uint32_t lost_bits = static_cast<uint32_t>(lost) & 0xffffffu;
  p = StoreBe32(p, block.ssrc.value());
  p = StoreBe32(p, (uint32_t{block.fraction_lost} << 24) | lost_bits);
  p = StoreBe32(p, block.extended_highest_sequence);
  p = StoreBe32(p, block.jitter);
  p = StoreBe32(p, block.last_sr);
  return StoreBe32(p, block.delay_since_last_sr);
}

uint8_t* StoreReportBlocks(uint8_t* p, std::span<const RtcpReportBlock> blocks) {
  for (const RtcpReportBlock& block : blocks) p = StoreReportBlock(p, block);
  return p;
}

// Size of one SDES chunk on the wire, or an error for an item we cannot encode.
tl::expected<size_t, RtcpWriteError> SdesChunkSize(const SdesChunk& chunk) {
  size_t size = 4 + 1;  // SSRC and the null item
  for (const SdesItem& item : chunk.items) {
    if (item.type == SdesItemType::kEnd) return Fail(RtcpWriteError::kInvalidArgument);
    if (item.text.size() > kMaxTextSize) return Fail(RtcpWriteError::kTextTooLong);
    size += 2 + item.text.size();
  }
  return RoundUpToWord(size);
}

}  // namespace

std::string_view RtcpWriteErrorName(RtcpWriteError error) {
  switch (error) {
    case RtcpWriteError::kOutputTooSmall: return "OUTPUT_TOO_SMALL";
    case RtcpWriteError::kCountTooLarge: return "COUNT_TOO_LARGE";
    case RtcpWriteError::kTextTooLong: return "TEXT_TOO_LONG";
    case RtcpWriteError::kNotWordAligned: return "NOT_WORD_ALIGNED";
    case RtcpWriteError::kPacketTooLong: return "PACKET_TOO_LONG";
    case RtcpWriteError::kInvalidArgument: return "INVALID_ARGUMENT";
  }
  return "UNKNOWN";
}

tl::expected<uint8_t*, RtcpWriteError> RtcpCompoundWriter::BeginPacket(
    RtcpPacketType packet_type, uint8_t count, size_t body_size) {
  EARSHOT_DCHECK(count <= kRtcpMaxCount);
  EARSHOT_DCHECK(body_size % 4 == 0);
  if (body_size > kMaxBodySize) return Fail(RtcpWriteError::kPacketTooLong);
  // Compared against what is left so that the sum cannot wrap.
  if (kRtcpHeaderSize + body_size > remaining()) return Fail(RtcpWriteError::kOutputTooSmall);
  uint8_t* p = buffer_.data() + size_;
  p[0] = static_cast<uint8_t>((kRtcpVersion << 6) | count);
  p[1] = static_cast<uint8_t>(packet_type);
  StoreBe16(p + 2, static_cast<uint16_t>(body_size / 4));
  size_ += kRtcpHeaderSize + body_size;
  return p + kRtcpHeaderSize;
}

RtcpWriteResult RtcpCompoundWriter::AppendSenderReport(Ssrc sender_ssrc,
                                                       const RtcpSenderInfo& info,
                                                       std::span<const RtcpReportBlock> blocks,
                                                       std::span<const uint8_t> extension) {
  if (blocks.size() > kRtcpMaxCount) return Fail(RtcpWriteError::kCountTooLarge);
  if (extension.size() % 4 != 0) return Fail(RtcpWriteError::kNotWordAligned);
  const size_t body_size =
      4 + kRtcpSenderInfoSize + blocks.size() * kRtcpReportBlockSize + extension.size();
  auto body = BeginPacket(RtcpPacketType::kSr, static_cast<uint8_t>(blocks.size()), body_size);
  if (!body) return Fail(body.error());
  uint8_t* p = StoreBe32(*body, sender_ssrc.value());
  p = StoreBe32(p, static_cast<uint32_t>(info.ntp_timestamp >> 32));
  p = StoreBe32(p, static_cast<uint32_t>(info.ntp_timestamp));
  p = StoreBe32(p, info.rtp_timestamp);
  p = StoreBe32(p, info.packet_count);
  p = StoreBe32(p, info.octet_count);
  p = StoreReportBlocks(p, blocks);
  StoreBytes(p, extension);
  return {};
}

RtcpWriteResult RtcpCompoundWriter::AppendReceiverReport(Ssrc sender_ssrc,
                                                         std::span<const RtcpReportBlock> blocks,
                                                         std::span<const uint8_t> extension) {
  if (blocks.size() > kRtcpMaxCount) return Fail(RtcpWriteError::kCountTooLarge);
  if (extension.size() % 4 != 0) return Fail(RtcpWriteError::kNotWordAligned);
  const size_t body_size = 4 + blocks.size() * kRtcpReportBlockSize + extension.size();
  auto body = BeginPacket(RtcpPacketType::kRr, static_cast<uint8_t>(blocks.size()), body_size);
  if (!body) return Fail(body.error());
  uint8_t* p = StoreBe32(*body, sender_ssrc.value());
  p = StoreReportBlocks(p, blocks);
  StoreBytes(p, extension);
  return {};
}

RtcpWriteResult RtcpCompoundWriter::AppendSdes(std::span<const SdesChunk> chunks) {
  if (chunks.size() > kRtcpMaxCount) return Fail(RtcpWriteError::kCountTooLarge);
  // Size everything before writing anything, so a failure leaves no trace.
  size_t body_size = 0;
  for (const SdesChunk& chunk : chunks) {
    auto chunk_size = SdesChunkSize(chunk);
    if (!chunk_size) return Fail(chunk_size.error());
    body_size += *chunk_size;
  }
  auto body = BeginPacket(RtcpPacketType::kSdes, static_cast<uint8_t>(chunks.size()), body_size);
  if (!body) return Fail(body.error());
  uint8_t* p = *body;
  for (const SdesChunk& chunk : chunks) {
    uint8_t* const chunk_start = p;
    p = StoreBe32(p, chunk.ssrc.value());
    for (const SdesItem& item : chunk.items) {
      *p++ = static_cast<uint8_t>(item.type);
      *p++ = static_cast<uint8_t>(item.text.size());
      p = StoreText(p, item.text);
    }
    // The null item, then nulls up to the word boundary: 1 to 4 zero bytes.
    const size_t used = static_cast<size_t>(p - chunk_start);
    const size_t zeros = RoundUpToWord(used + 1) - used;
    std::memset(p, 0, zeros);
    p += zeros;
  }
  return {};
}

RtcpWriteResult RtcpCompoundWriter::AppendSdesCname(Ssrc ssrc, std::string_view cname) {
  const SdesItem item{SdesItemType::kCname, cname};
  const SdesChunk chunk{ssrc, std::span<const SdesItem>(&item, 1)};
  return AppendSdes(std::span<const SdesChunk>(&chunk, 1));
}

RtcpWriteResult RtcpCompoundWriter::AppendBye(std::span<const Ssrc> ssrcs,
                                              std::string_view reason) {
  if (ssrcs.size() > kRtcpMaxCount) return Fail(RtcpWriteError::kCountTooLarge);
  if (reason.size() > kMaxTextSize) return Fail(RtcpWriteError::kTextTooLong);
  const size_t reason_size = reason.empty() ? 0 : RoundUpToWord(1 + reason.size());
  const size_t body_size = ssrcs.size() * 4 + reason_size;
  auto body = BeginPacket(RtcpPacketType::kBye, static_cast<uint8_t>(ssrcs.size()), body_size);
  if (!body) return Fail(body.error());
  uint8_t* p = *body;
  for (const Ssrc ssrc : ssrcs) p = StoreBe32(p, ssrc.value());
  if (!reason.empty()) {
    *p++ = static_cast<uint8_t>(reason.size());
    p = StoreText(p, reason);
    std::memset(p, 0, reason_size - 1 - reason.size());
  }
  return {};
}

RtcpWriteResult RtcpCompoundWriter::AppendApp(uint8_t subtype, Ssrc ssrc, std::string_view name,
                                              std::span<const uint8_t> data) {
  if (subtype > kRtcpMaxCount) return Fail(RtcpWriteError::kCountTooLarge);
  if (name.size() != 4) return Fail(RtcpWriteError::kInvalidArgument);
  if (data.size() % 4 != 0) return Fail(RtcpWriteError::kNotWordAligned);
  auto body = BeginPacket(RtcpPacketType::kApp, subtype, 8 + data.size());
  if (!body) return Fail(body.error());
  uint8_t* p = StoreBe32(*body, ssrc.value());
  p = StoreText(p, name);
  StoreBytes(p, data);
  return {};
}

RtcpWriteResult RtcpCompoundWriter::AppendRaw(RtcpPacketType packet_type, uint8_t count,
                                              std::span<const uint8_t> body_bytes) {
  if (count > kRtcpMaxCount) return Fail(RtcpWriteError::kCountTooLarge);
  if (body_bytes.size() % 4 != 0) return Fail(RtcpWriteError::kNotWordAligned);
  auto body = BeginPacket(packet_type, count, body_bytes.size());
  if (!body) return Fail(body.error());
  StoreBytes(*body, body_bytes);
  return {};
}

RtcpWriteResult RtcpCompoundWriter::AppendPacket(const RtcpPacketView& packet) {
  return AppendRaw(packet.packet_type(), packet.count(), packet.payload());
}

}  // namespace earshot::dataplane

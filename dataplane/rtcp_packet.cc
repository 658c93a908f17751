#include "dataplane/rtcp_packet.h"

namespace earshot::dataplane {
namespace {

using rtcp_internal::LoadBe16;

constexpr size_t RoundUpToWord(size_t size) { return (size + 3) & ~size_t{3}; }

tl::unexpected<RtcpParseError> Fail(RtcpParseError error) { return tl::make_unexpected(error); }

// Size in bytes that a header's length field claims, header included.
size_t ClaimedSize(const uint8_t* header) { return (size_t{LoadBe16(header + 2)} + 1) * 4; }

// The checks every packet must pass wherever it sits: version, length inside
// `data`, well-formed padding. Returns the packet's size.
tl::expected<size_t, RtcpParseError> CheckPacketAt(std::span<const uint8_t> data) {
  if (data.size() < kRtcpHeaderSize) return Fail(RtcpParseError::kTooShort);
  if ((data[0] >> 6) != kRtcpVersion) return Fail(RtcpParseError::kBadVersion);
  const size_t size = ClaimedSize(data.data());
  if (size > data.size()) return Fail(RtcpParseError::kLengthMismatch);
  if ((data[0] & 0x20) != 0) {
    // The count covers itself, so zero is malformed; a multiple of four keeps the
    // payload word-aligned (RFC 3550 §6.4.1).
    const size_t padding = data[size - 1];
    if (padding == 0 || padding % 4 != 0 || padding > size - kRtcpHeaderSize) {
      return Fail(RtcpParseError::kBadPadding);
    }
  }
  return size;
}

bool IsReport(uint8_t packet_type) {
  return packet_type == static_cast<uint8_t>(RtcpPacketType::kSr) ||
         packet_type == static_cast<uint8_t>(RtcpPacketType::kRr);
}

// Finds the null item that ends the chunk at `chunk`, or nullptr if an item or
// the terminator would lie at or past `end`. Bounded by end - chunk.
const uint8_t* FindChunkTerminator(const uint8_t* chunk, const uint8_t* end) {
  const uint8_t* item = chunk + 4;
  while (item < end) {
    if (*item == static_cast<uint8_t>(SdesItemType::kEnd)) return item;
    if (end - item < 2) return nullptr;
    const size_t item_size = 2 + size_t{item[1]};
    if (static_cast<size_t>(end - item) < item_size) return nullptr;
    item += item_size;
  }
  return nullptr;
}

// Only for chunks that SdesView::Parse has validated.
const uint8_t* ValidatedItemsEnd(const uint8_t* chunk) {
  const uint8_t* item = chunk + 4;
  while (*item != static_cast<uint8_t>(SdesItemType::kEnd)) item += 2 + size_t{item[1]};
  return item;
}

}  // namespace

std::string_view RtcpParseErrorName(RtcpParseError error) {
  switch (error) {
    case RtcpParseError::kTooShort: return "TOO_SHORT";
    case RtcpParseError::kBadVersion: return "BAD_VERSION";
    case RtcpParseError::kLengthMismatch: return "LENGTH_MISMATCH";
    case RtcpParseError::kFirstNotSrOrRr: return "FIRST_NOT_SR_OR_RR";
    case RtcpParseError::kPaddingNotLast: return "PADDING_NOT_LAST";
    case RtcpParseError::kBadPadding: return "BAD_PADDING";
    case RtcpParseError::kWrongPacketType: return "WRONG_PACKET_TYPE";
    case RtcpParseError::kBadReportCount: return "BAD_REPORT_COUNT";
    case RtcpParseError::kBadSdes: return "BAD_SDES";
    case RtcpParseError::kBadBye: return "BAD_BYE";
    case RtcpParseError::kBadApp: return "BAD_APP";
  }
  return "UNKNOWN";
}

tl::expected<RtcpPacketView, RtcpParseError> RtcpPacketView::Parse(
    std::span<const uint8_t> data) {
  auto size = CheckPacketAt(data);
  if (!size) return Fail(size.error());
  return RtcpPacketView(data.first(*size));
}

tl::expected<RtcpCompoundView, RtcpParseError> RtcpCompoundView::Parse(
    std::span<const uint8_t> data, RtcpValidation validation) {
  if (data.size() < kRtcpHeaderSize) return Fail(RtcpParseError::kTooShort);
  // A.2 checks the first header word before any length, so a datagram that is
  // not RTCP at all reports as such rather than as a length problem.
  if ((data[0] >> 6) != kRtcpVersion) return Fail(RtcpParseError::kBadVersion);
  if (validation == RtcpValidation::kStrict && !IsReport(data[1])) {
    return Fail(RtcpParseError::kFirstNotSrOrRr);
  }
  size_t offset = 0;
  size_t packet_count = 0;
  // Each pass consumes at least one word, so this runs at most size / 4 times.
  while (offset < data.size()) {
    const std::span<const uint8_t> rest = data.subspan(offset);
    // 1-3 stray bytes cannot be a packet: the lengths do not add up.
    if (rest.size() < kRtcpHeaderSize) return Fail(RtcpParseError::kLengthMismatch);
    auto size = CheckPacketAt(rest);
    if (!size) return Fail(size.error());
    offset += *size;
    ++packet_count;
    // Padding is only for the last packet (A.2), where a cipher block may need it.
    if ((rest[0] & 0x20) != 0 && offset != data.size()) {
      return Fail(RtcpParseError::kPaddingNotLast);
    }
  }
  return RtcpCompoundView(data, packet_count);
}

tl::expected<SenderReportView, RtcpParseError> SenderReportView::Parse(
    const RtcpPacketView& packet) {
  if (packet.packet_type() != RtcpPacketType::kSr) return Fail(RtcpParseError::kWrongPacketType);
  const std::span<const uint8_t> payload = packet.payload();
  if (payload.size() < kFixedSize) return Fail(RtcpParseError::kTooShort);
  if (payload.size() - kFixedSize < packet.count() * kRtcpReportBlockSize) {
    return Fail(RtcpParseError::kBadReportCount);
  }
  return SenderReportView(payload, packet.count());
}

tl::expected<ReceiverReportView, RtcpParseError> ReceiverReportView::Parse(
    const RtcpPacketView& packet) {
  if (packet.packet_type() != RtcpPacketType::kRr) return Fail(RtcpParseError::kWrongPacketType);
  const std::span<const uint8_t> payload = packet.payload();
  if (payload.size() < 4) return Fail(RtcpParseError::kTooShort);
  if (payload.size() - 4 < packet.count() * kRtcpReportBlockSize) {
    return Fail(RtcpParseError::kBadReportCount);
  }
  return ReceiverReportView(payload, packet.count());
}

std::optional<std::string_view> SdesChunkView::cname() const {
  for (const SdesItemView item : items()) {
    if (item.type() == SdesItemType::kCname) return item.text();
  }
  return std::nullopt;
}

SdesChunkIterator::SdesChunkIterator(const uint8_t* pos, size_t remaining)
    : pos_(pos), remaining_(remaining) {
  if (remaining_ > 0) items_end_ = ValidatedItemsEnd(pos_);
}

SdesChunkIterator& SdesChunkIterator::operator++() {
  // The chunk ends after the null item, rounded up to a word from its start.
  pos_ += RoundUpToWord(static_cast<size_t>(items_end_ - pos_) + 1);
  --remaining_;
  items_end_ = remaining_ > 0 ? ValidatedItemsEnd(pos_) : nullptr;
  return *this;
}

tl::expected<SdesView, RtcpParseError> SdesView::Parse(const RtcpPacketView& packet) {
  if (packet.packet_type() != RtcpPacketType::kSdes) return Fail(RtcpParseError::kWrongPacketType);
  const std::span<const uint8_t> payload = packet.payload();
  const uint8_t* const end = payload.data() + payload.size();
  const uint8_t* chunk = payload.data();
  for (uint8_t i = 0; i < packet.count(); ++i) {
    // At least the SSRC and one word holding the null item.
    if (end - chunk < 8) return Fail(RtcpParseError::kBadSdes);
    const uint8_t* terminator = FindChunkTerminator(chunk, end);
    if (terminator == nullptr) return Fail(RtcpParseError::kBadSdes);
    // The terminator lies before `end` and `end` is word-aligned from the chunk,
    // so the rounded-up chunk still fits.
    chunk += RoundUpToWord(static_cast<size_t>(terminator - chunk) + 1);
  }
  // Bytes after the last chunk mean SC and the length disagree.
  if (chunk != end) return Fail(RtcpParseError::kBadSdes);
  return SdesView(payload, packet.count());
}

std::optional<std::string_view> SdesView::FindCname(Ssrc ssrc) const {
  for (const SdesChunkView chunk : chunks()) {
    if (chunk.ssrc() != ssrc) continue;
    if (auto cname = chunk.cname()) return cname;
  }
  return std::nullopt;
}

tl::expected<ByeView, RtcpParseError> ByeView::Parse(const RtcpPacketView& packet) {
  if (packet.packet_type() != RtcpPacketType::kBye) return Fail(RtcpParseError::kWrongPacketType);
  const std::span<const uint8_t> payload = packet.payload();
  const size_t sources_size = packet.count() * size_t{4};
  if (payload.size() < sources_size) return Fail(RtcpParseError::kBadBye);
  const size_t rest = payload.size() - sources_size;
  if (rest > 0) {
    // Length octet plus text must fit, and only the padding to the next word
    // may follow it.
    const size_t reason_size = 1 + size_t{payload[sources_size]};
    if (reason_size > rest || RoundUpToWord(reason_size) != RoundUpToWord(rest)) {
      return Fail(RtcpParseError::kBadBye);
    }
  }
  return ByeView(payload, packet.count());
}

tl::expected<AppView, RtcpParseError> AppView::Parse(const RtcpPacketView& packet) {
  if (packet.packet_type() != RtcpPacketType::kApp) return Fail(RtcpParseError::kWrongPacketType);
  const std::span<const uint8_t> payload = packet.payload();
  if (payload.size() < 8) return Fail(RtcpParseError::kBadApp);
  return AppView(payload, packet.count());
}

}  // namespace earshot::dataplane

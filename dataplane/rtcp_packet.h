#pragma once
// RTCP compound packets (RFC 3550 §6): zero-copy views for the receive path.
// The builder for the send path is in rtcp_writer.h.
//
// Model. An RTCP datagram is a compound of packets laid end to end, each starting
// with a 4-byte common header:
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |V=2|P|  count  |      PT       |   length (32-bit words - 1)   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Parsing has two layers, so that a packet type we do not understand never costs
// us the rest of the datagram:
//   1. RtcpCompoundView::Parse checks the framing of the whole datagram (RFC 3550
//      Appendix A.2) and then iterates RtcpPacketView values: header, body and
//      payload (body minus padding). It does not look inside bodies, so RTPFB,
//      PSFB, XR and types not yet assigned pass through with their raw body.
//   2. A typed view (SenderReportView, ReceiverReportView, SdesView, ByeView,
//      AppView) is made from one RtcpPacketView; its Parse validates the whole
//      body once, so its accessors and iterators cannot fail afterwards.
//
// Invariants.
//   - Nothing here allocates, throws or reads outside the span it was given. Bad
//     input is an RtcpParseError value for the caller to count (STYLE.md §5).
//   - Views own no bytes: the buffer must outlive every view and iterator taken
//     from it. Views are small values (a span and a count); copy them freely.
//   - Wire fields are big-endian and decoded in the accessors, so the buffer
//     needs no particular alignment.
//   - Every RtcpPacketView has version 2, a size that is a multiple of four, and,
//     if the P bit is set, a padding count that is a non-zero multiple of four
//     (RFC 3550 §6.4.1 says it "will be a multiple of four") no larger than the
//     body. Hence payload() is also a whole number of 32-bit words.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

#include <tl/expected.hpp>

#include "codecs/check.h"
#include "codecs/rtp_types.h"

namespace earshot::dataplane {

inline constexpr size_t kRtcpHeaderSize = 4;
inline constexpr size_t kRtcpSenderInfoSize = 20;   // NTP, RTP timestamp, counts
inline constexpr size_t kRtcpReportBlockSize = 24;
inline constexpr uint8_t kRtcpVersion = 2;
inline constexpr uint8_t kRtcpMaxCount = 31;         // the 5-bit count field

// Packet types (the PT octet). The enum is open: a packet of any other value
// still parses, and packet_type() returns that value cast to this type.
enum class RtcpPacketType : uint8_t {
  kSr = 200,
  kRr = 201,
  kSdes = 202,
  kBye = 203,
  kApp = 204,
  kRtpfb = 205,  // RFC 4585 transport-layer feedback
  kPsfb = 206,   // RFC 4585 payload-specific feedback
  kXr = 207,     // RFC 3611 extended reports
};

enum class RtcpValidation : uint8_t {
  // RFC 3550 A.2: the compound starts with SR or RR.
  kStrict,
  // RFC 5506 reduced-size RTCP: any packet type may come first. Every other
  // framing check still applies.
  kReducedSize,
};

enum class RtcpParseError : uint8_t {
  kTooShort,          // no room for a common header, or a body shorter than its fixed part
  kBadVersion,        // some packet's version is not 2
  kLengthMismatch,    // a length runs past the buffer, or the compound does not end exactly
  kFirstNotSrOrRr,    // strict validation: the compound must start with SR or RR
  kPaddingNotLast,    // the P bit is set on a packet other than the last
  kBadPadding,        // padding count zero, not a multiple of four, or larger than the body
  kWrongPacketType,   // a typed view was asked for a packet of another type
  kBadReportCount,    // RC report blocks do not fit in the packet
  kBadSdes,           // a chunk or item runs past the packet, or trailing bytes
  kBadBye,            // SC sources or the reason do not fit, or trailing bytes
  kBadApp,            // shorter than SSRC + name
};

std::string_view RtcpParseErrorName(RtcpParseError error);

namespace rtcp_internal {

inline uint16_t LoadBe16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t LoadBe24(const uint8_t* p) {
  return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | uint32_t{p[2]};
}
inline uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) |
         uint32_t{p[3]};
}
inline Ssrc LoadSsrc(const uint8_t* p) { return Ssrc(LoadBe32(p)); }

// Records of one fixed size laid end to end (report blocks, BYE's SSRC list),
// each decoded into a T on access. The owner has checked that `count` records
// fit, so neither indexing nor iteration checks again.
template <typename T, size_t kStride, T (*kDecode)(const uint8_t*)>
class FixedRecordRange {
 public:
  class Iterator {
   public:
    // A forward iterator whose reference is a value: it decodes on dereference.
    using iterator_concept = std::forward_iterator_tag;
    using iterator_category = std::input_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;

    Iterator() = default;
    T operator*() const { return kDecode(pos_); }
    Iterator& operator++() {
      pos_ += kStride;
      return *this;
    }
    Iterator operator++(int) {
      Iterator old = *this;
      ++*this;
      return old;
    }
    friend bool operator==(const Iterator&, const Iterator&) = default;

   private:
    friend class FixedRecordRange;
    explicit Iterator(const uint8_t* pos) : pos_(pos) {}
    const uint8_t* pos_ = nullptr;
  };

  FixedRecordRange() = default;
  FixedRecordRange(const uint8_t* data, size_t count) : data_(data), count_(count) {}

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  T operator[](size_t index) const {
    EARSHOT_DCHECK(index < count_);
    return kDecode(data_ + index * kStride);
  }
  Iterator begin() const { return Iterator(data_); }
  Iterator end() const { return Iterator(data_ + count_ * kStride); }

 private:
  const uint8_t* data_ = nullptr;
  size_t count_ = 0;
};

// A begin/end pair for range-for over iterators that need no bounds checks.
template <typename It>
class IteratorRange {
 public:
  IteratorRange(It first, It last) : begin_(first), end_(last) {}
  It begin() const { return begin_; }
  It end() const { return end_; }

 private:
  It begin_;
  It end_;
};

}  // namespace rtcp_internal

// One packet of a compound. Made only by Parse or by iterating a compound, so the
// invariants in the header comment hold.
class RtcpPacketView {
 public:
  // Parses the packet at the start of `data`; bytes after it are ignored.
  [[nodiscard]] static tl::expected<RtcpPacketView, RtcpParseError> Parse(
      std::span<const uint8_t> data);

  uint8_t version() const { return packet_[0] >> 6; }
  bool padding() const { return (packet_[0] & 0x20) != 0; }
  // RC for SR/RR, SC for SDES/BYE, subtype for APP, FMT for feedback.
  uint8_t count() const { return packet_[0] & 0x1f; }
  RtcpPacketType packet_type() const { return static_cast<RtcpPacketType>(packet_[1]); }
  // The raw length field: packet size in 32-bit words minus one.
  uint16_t length_words() const { return rtcp_internal::LoadBe16(packet_.data() + 2); }

  size_t size() const { return packet_.size(); }
  std::span<const uint8_t> packet() const { return packet_; }
  // Everything after the common header, padding included.
  std::span<const uint8_t> body() const { return packet_.subspan(kRtcpHeaderSize); }
  size_t padding_size() const { return padding() ? packet_.back() : 0; }
  // The body without its padding: what the typed views parse.
  std::span<const uint8_t> payload() const {
    return body().first(body().size() - padding_size());
  }

 private:
  friend class RtcpPacketIterator;
  explicit RtcpPacketView(std::span<const uint8_t> packet) : packet_(packet) {}

  std::span<const uint8_t> packet_;
};

// Walks a compound that RtcpCompoundView::Parse has validated.
class RtcpPacketIterator {
 public:
  using iterator_concept = std::forward_iterator_tag;
  using iterator_category = std::input_iterator_tag;
  using value_type = RtcpPacketView;
  using difference_type = std::ptrdiff_t;

  RtcpPacketIterator() = default;
  RtcpPacketView operator*() const { return RtcpPacketView({pos_, PacketSize(pos_)}); }
  RtcpPacketIterator& operator++() {
    pos_ += PacketSize(pos_);
    return *this;
  }
  RtcpPacketIterator operator++(int) {
    RtcpPacketIterator old = *this;
    ++*this;
    return old;
  }
  friend bool operator==(const RtcpPacketIterator&, const RtcpPacketIterator&) = default;

 private:
  friend class RtcpCompoundView;
  explicit RtcpPacketIterator(const uint8_t* pos) : pos_(pos) {}
  static size_t PacketSize(const uint8_t* header) {
    return (size_t{rtcp_internal::LoadBe16(header + 2)} + 1) * 4;
  }

  const uint8_t* pos_ = nullptr;
};

class RtcpCompoundView {
 public:
  // Checks the framing of every packet (see RtcpParseError) and nothing inside
  // bodies. O(packets), bounded by data.size() / 4.
  [[nodiscard]] static tl::expected<RtcpCompoundView, RtcpParseError> Parse(
      std::span<const uint8_t> data, RtcpValidation validation = RtcpValidation::kStrict);

  std::span<const uint8_t> bytes() const { return data_; }
  size_t packet_count() const { return packet_count_; }
  RtcpPacketIterator begin() const { return RtcpPacketIterator(data_.data()); }
  RtcpPacketIterator end() const { return RtcpPacketIterator(data_.data() + data_.size()); }

 private:
  RtcpCompoundView(std::span<const uint8_t> data, size_t packet_count)
      : data_(data), packet_count_(packet_count) {}

  std::span<const uint8_t> data_;
  size_t packet_count_;
};

// A reception report block (RFC 3550 §6.4.1), 24 bytes.
class ReportBlockView {
 public:
  explicit ReportBlockView(std::span<const uint8_t, kRtcpReportBlockSize> block)
      : block_(block.data()) {}

  Ssrc ssrc() const { return rtcp_internal::LoadSsrc(block_); }
  uint8_t fraction_lost() const { return block_[4]; }
  // A signed 24-bit field: it goes negative when duplicates outnumber losses.
  int32_t cumulative_lost() const {
    // Flipping the sign bit maps [-2^23, 2^23) onto [0, 2^24) in order; undo the
    // shift in int32, which needs no implementation-defined conversion.
    return static_cast<int32_t>(rtcp_internal::LoadBe24(block_ + 5) ^ 0x800000u) - 0x800000;
  }
  uint32_t extended_highest_sequence() const { return rtcp_internal::LoadBe32(block_ + 8); }
  uint32_t jitter() const { return rtcp_internal::LoadBe32(block_ + 12); }
  uint32_t last_sr() const { return rtcp_internal::LoadBe32(block_ + 16); }
  uint32_t delay_since_last_sr() const { return rtcp_internal::LoadBe32(block_ + 20); }

 private:
  const uint8_t* block_;
};

namespace rtcp_internal {
inline ReportBlockView LoadReportBlock(const uint8_t* p) {
  return ReportBlockView(std::span<const uint8_t, kRtcpReportBlockSize>(p, kRtcpReportBlockSize));
}
}  // namespace rtcp_internal

using ReportBlockRange =
    rtcp_internal::FixedRecordRange<ReportBlockView, kRtcpReportBlockSize,
                                    &rtcp_internal::LoadReportBlock>;
using SsrcRange = rtcp_internal::FixedRecordRange<Ssrc, 4, &rtcp_internal::LoadSsrc>;

// SR (PT 200): sender SSRC, sender info, RC report blocks, then any
// profile-specific extension up to the end of the payload.
class SenderReportView {
 public:
  [[nodiscard]] static tl::expected<SenderReportView, RtcpParseError> Parse(
      const RtcpPacketView& packet);

  Ssrc sender_ssrc() const { return rtcp_internal::LoadSsrc(payload_.data()); }
  // 64-bit NTP format: seconds since 1900 in the high word, fraction in the low.
  uint64_t ntp_timestamp() const {
    return (uint64_t{rtcp_internal::LoadBe32(payload_.data() + 4)} << 32) |
           rtcp_internal::LoadBe32(payload_.data() + 8);
  }
  uint32_t rtp_timestamp() const { return rtcp_internal::LoadBe32(payload_.data() + 12); }
  uint32_t packet_count() const { return rtcp_internal::LoadBe32(payload_.data() + 16); }
  uint32_t octet_count() const { return rtcp_internal::LoadBe32(payload_.data() + 20); }
  ReportBlockRange report_blocks() const {
    return ReportBlockRange(payload_.data() + kFixedSize, report_count_);
  }
  std::span<const uint8_t> extension() const {
    return payload_.subspan(kFixedSize + report_count_ * kRtcpReportBlockSize);
  }

 private:
  static constexpr size_t kFixedSize = 4 + kRtcpSenderInfoSize;
  SenderReportView(std::span<const uint8_t> payload, uint8_t report_count)
      : payload_(payload), report_count_(report_count) {}

  std::span<const uint8_t> payload_;
  uint8_t report_count_;
};

// RR (PT 201): sender SSRC, RC report blocks (RC may be 0), then any extension.
class ReceiverReportView {
 public:
  [[nodiscard]] static tl::expected<ReceiverReportView, RtcpParseError> Parse(
      const RtcpPacketView& packet);

  Ssrc sender_ssrc() const { return rtcp_internal::LoadSsrc(payload_.data()); }
  ReportBlockRange report_blocks() const {
    return ReportBlockRange(payload_.data() + 4, report_count_);
  }
  std::span<const uint8_t> extension() const {
    return payload_.subspan(4 + report_count_ * kRtcpReportBlockSize);
  }

 private:
  ReceiverReportView(std::span<const uint8_t> payload, uint8_t report_count)
      : payload_(payload), report_count_(report_count) {}

  std::span<const uint8_t> payload_;
  uint8_t report_count_;
};

// SDES item types (RFC 3550 §6.5). Open like RtcpPacketType.
enum class SdesItemType : uint8_t {
  kEnd = 0,  // the null item that ends a chunk; never yielded as an item
  kCname = 1,
  kName = 2,
  kEmail = 3,
  kPhone = 4,
  kLoc = 5,
  kTool = 6,
  kNote = 7,
  kPriv = 8,
};

class SdesItemView {
 public:
  SdesItemType type() const { return type_; }
  // Raw octets, UTF-8 by the RFC but unchecked; not NUL-terminated.
  std::string_view text() const { return text_; }

 private:
  friend class SdesItemIterator;
  SdesItemView(SdesItemType type, std::string_view text) : type_(type), text_(text) {}

  SdesItemType type_;
  std::string_view text_;
};

class SdesItemIterator {
 public:
  using iterator_concept = std::forward_iterator_tag;
  using iterator_category = std::input_iterator_tag;
  using value_type = SdesItemView;
  using difference_type = std::ptrdiff_t;

  SdesItemIterator() = default;
  SdesItemView operator*() const {
    return SdesItemView(static_cast<SdesItemType>(pos_[0]),
                        std::string_view(reinterpret_cast<const char*>(pos_ + 2), pos_[1]));
  }
  SdesItemIterator& operator++() {
    pos_ += 2 + size_t{pos_[1]};
    return *this;
  }
  SdesItemIterator operator++(int) {
    SdesItemIterator old = *this;
    ++*this;
    return old;
  }
  friend bool operator==(const SdesItemIterator&, const SdesItemIterator&) = default;

 private:
  friend class SdesChunkView;
  explicit SdesItemIterator(const uint8_t* pos) : pos_(pos) {}
  const uint8_t* pos_ = nullptr;
};

// One chunk: an SSRC/CSRC and its items (the null terminator and padding excluded).
class SdesChunkView {
 public:
  using ItemRange = rtcp_internal::IteratorRange<SdesItemIterator>;

  Ssrc ssrc() const { return rtcp_internal::LoadSsrc(chunk_); }
  ItemRange items() const {
    return ItemRange(SdesItemIterator(chunk_ + 4), SdesItemIterator(items_end_));
  }
  // The first CNAME item, if the chunk has one.
  std::optional<std::string_view> cname() const;

 private:
  friend class SdesChunkIterator;
  SdesChunkView(const uint8_t* chunk, const uint8_t* items_end)
      : chunk_(chunk), items_end_(items_end) {}

  const uint8_t* chunk_;
  const uint8_t* items_end_;  // the null item
};

class SdesChunkIterator {
 public:
  using iterator_concept = std::forward_iterator_tag;
  using iterator_category = std::input_iterator_tag;
  using value_type = SdesChunkView;
  using difference_type = std::ptrdiff_t;

  SdesChunkIterator() = default;
  SdesChunkView operator*() const { return SdesChunkView(pos_, items_end_); }
  SdesChunkIterator& operator++();
  SdesChunkIterator operator++(int) {
    SdesChunkIterator old = *this;
    ++*this;
    return old;
  }
  friend bool operator==(const SdesChunkIterator& a, const SdesChunkIterator& b) {
    return a.pos_ == b.pos_ && a.remaining_ == b.remaining_;
  }

 private:
  friend class SdesView;
  SdesChunkIterator(const uint8_t* pos, size_t remaining);

  const uint8_t* pos_ = nullptr;
  const uint8_t* items_end_ = nullptr;  // only meaningful while remaining_ > 0
  size_t remaining_ = 0;
};

// SDES (PT 202): SC chunks, each 32-bit aligned and ending in a null item.
class SdesView {
 public:
  using ChunkRange = rtcp_internal::IteratorRange<SdesChunkIterator>;

  [[nodiscard]] static tl::expected<SdesView, RtcpParseError> Parse(const RtcpPacketView& packet);

  size_t chunk_count() const { return chunk_count_; }
  ChunkRange chunks() const {
    return ChunkRange(SdesChunkIterator(payload_.data(), chunk_count_),
                      SdesChunkIterator(payload_.data() + payload_.size(), 0));
  }
  // The CNAME of the first chunk for `ssrc` that has one.
  std::optional<std::string_view> FindCname(Ssrc ssrc) const;

 private:
  SdesView(std::span<const uint8_t> payload, uint8_t chunk_count)
      : payload_(payload), chunk_count_(chunk_count) {}

  std::span<const uint8_t> payload_;
  uint8_t chunk_count_;
};

// BYE (PT 203): SC sources, then optionally a length-prefixed reason padded to a
// 32-bit boundary.
class ByeView {
 public:
  [[nodiscard]] static tl::expected<ByeView, RtcpParseError> Parse(const RtcpPacketView& packet);

  SsrcRange ssrcs() const { return SsrcRange(payload_.data(), source_count_); }
  bool has_reason() const { return payload_.size() > source_count_ * size_t{4}; }
  // Empty when there is no reason; has_reason() tells that from an empty one.
  std::string_view reason() const {
    if (!has_reason()) return {};
    const uint8_t* length = payload_.data() + source_count_ * size_t{4};
    return std::string_view(reinterpret_cast<const char*>(length + 1), *length);
  }

 private:
  ByeView(std::span<const uint8_t> payload, uint8_t source_count)
      : payload_(payload), source_count_(source_count) {}

  std::span<const uint8_t> payload_;
  uint8_t source_count_;
};

// APP (PT 204): subtype in the count field, SSRC, a 4-character name, and
// application data (a whole number of words, by the invariant on payload()).
class AppView {
 public:
  [[nodiscard]] static tl::expected<AppView, RtcpParseError> Parse(const RtcpPacketView& packet);

  uint8_t subtype() const { return subtype_; }
  Ssrc ssrc() const { return rtcp_internal::LoadSsrc(payload_.data()); }
  std::string_view name() const {
    return std::string_view(reinterpret_cast<const char*>(payload_.data() + 4), 4);
  }
  std::span<const uint8_t> data() const { return payload_.subspan(8); }

 private:
  AppView(std::span<const uint8_t> payload, uint8_t subtype)
      : payload_(payload), subtype_(subtype) {}

  std::span<const uint8_t> payload_;
  uint8_t subtype_;
};

}  // namespace earshot::dataplane

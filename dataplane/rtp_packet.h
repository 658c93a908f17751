#pragma once
// RTP packets on the wire: a parsed view, RFC 8285 header extensions, and a
// builder that writes into the caller's buffer (STYLE.md §3-5).
//
// Model. ParseRtp checks a datagram against RFC 3550 Appendix A.1 once and, if
// it is well formed, returns an RtpPacketView by value: a span over the
// caller's bytes plus the two lengths the checks computed (header size and
// padding size). Accessors decode network byte order on each call; nothing is
// copied and nothing is allocated. The view never owns the bytes, so it must
// not outlive the packet buffer it was parsed from.
//
// Invariants of a view (established by ParseRtp, relied on by the accessors):
//   12 <= header_size() <= packet().size()                (CSRCs and extension fit)
//   header_size() + padding_size() <= packet().size()     (padding fits)
//   version() == 2, and padding_size() >= 1 iff has_padding().
// So every accessor reads inside the buffer; csrc(i) checks i itself.
//
// Header extensions (RFC 8285) are not decoded by ParseRtp: a packet with a
// malformed extension block is still a valid RTP packet (A.1 only needs the
// block to fit). RtpExtensionReader walks the block on demand and stops at the
// first element that would run past the block, recording why. Elements seen
// before that point are still returned, as WebRTC's RtpPacket keeps them.
//
// Errors are small enums (STYLE.md §5, hot path): callers count them per core.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

#include "codecs/check.h"
#include "codecs/rtp_types.h"

namespace earshot::dataplane {

inline constexpr size_t kRtpFixedHeaderSize = 12;
inline constexpr size_t kRtpMaxCsrcs = 15;
// RFC 8285 §4.2 and §4.3. The two-byte form carries 4 "appbits" in the low
// nibble of its profile, so it is recognised by mask.
inline constexpr uint16_t kOneByteExtensionProfile = 0xBEDE;
inline constexpr uint16_t kTwoByteExtensionProfile = 0x1000;
inline constexpr uint16_t kTwoByteExtensionProfileMask = 0xFFF0;

constexpr bool IsOneByteExtensionProfile(uint16_t profile) {
  return profile == kOneByteExtensionProfile;
}
constexpr bool IsTwoByteExtensionProfile(uint16_t profile) {
  return (profile & kTwoByteExtensionProfileMask) == kTwoByteExtensionProfile;
}

// Why ParseRtp rejected a datagram; one value per RFC 3550 A.1 check.
enum class RtpParseError : uint8_t {
  kTooShort,                // fewer than 12 bytes
  kBadVersion,              // V != 2
  kCsrcPastEnd,             // CC * 4 bytes of CSRC do not fit
  kExtensionHeaderPastEnd,  // X set but the 4-byte extension header does not fit
  kExtensionPastEnd,        // extension length (in words) runs past the end
  kPaddingPastEnd,          // padding count exceeds the bytes after the header
  kZeroPadding,             // P set but the padding count octet is 0
};
std::string_view RtpParseErrorName(RtpParseError error);

// Why an extension walk stopped early.
enum class RtpExtensionError : uint8_t {
  kUnknownProfile,  // X set, but the profile is neither 0xBEDE nor 0x100X
  kElementPastEnd,  // an element's length runs past the extension block
  kBadPadding,      // one-byte form: ID 0 with a non-zero length nibble
};
std::string_view RtpExtensionErrorName(RtpExtensionError error);

// One RFC 8285 element. `data` points into the packet buffer.
struct RtpExtensionElement {
  uint8_t id;
  std::span<const uint8_t> data;
};

// Walks the elements of one extension block in order. One-byte form: ID 1-14,
// 1-16 data bytes; a 0x00 byte is padding; ID 15 ends the walk (RFC 8285
// §4.2, not an error). Two-byte form: ID 1-255, 0-255 data bytes; a 0x00 byte
// is padding. Each Next() call consumes at least one byte, so a walk is
// bounded by the block size.
class RtpExtensionReader {
 public:
  RtpExtensionReader(uint16_t profile, std::span<const uint8_t> block);
  // A reader with nothing to walk: the packet has no extension block.
  static RtpExtensionReader None() { return RtpExtensionReader(); }

  // The next element, or nullopt when the walk is over (see error()).
  std::optional<RtpExtensionElement> Next();
  // Set once the walk stopped on a malformed block; nullopt for a clean end.
  std::optional<RtpExtensionError> error() const { return error_; }

 private:
  enum class Form : uint8_t { kNone, kOneByte, kTwoByte };

  RtpExtensionReader() = default;
  std::optional<RtpExtensionElement> Fail(RtpExtensionError error);

  std::span<const uint8_t> block_;
  size_t pos_ = 0;
  Form form_ = Form::kNone;
  std::optional<RtpExtensionError> error_;
};

class RtpPacketView {
 public:
  uint8_t version() const { return data_[0] >> 6; }
  bool has_padding() const { return (data_[0] & 0x20) != 0; }
  bool has_extension() const { return (data_[0] & 0x10) != 0; }
  size_t csrc_count() const { return data_[0] & 0x0F; }
  bool marker() const { return (data_[1] & 0x80) != 0; }
  PayloadType payload_type() const { return PayloadType(data_[1] & 0x7F); }
  SequenceNumber sequence_number() const { return SequenceNumber(LoadBe16(2)); }
  RtpTimestamp timestamp() const { return RtpTimestamp(LoadBe32(4)); }
  Ssrc ssrc() const { return Ssrc(LoadBe32(8)); }
  // A check, not a DCHECK: an index past CC would read payload or past the end.
  Ssrc csrc(size_t i) const {
    EARSHOT_CHECK(i < csrc_count());
    return Ssrc(LoadBe32(kRtpFixedHeaderSize + 4 * i));
  }

  // The "defined by profile" field; 0 when there is no extension block.
  uint16_t extension_profile() const {
    return has_extension() ? LoadBe16(ExtensionHeaderOffset()) : 0;
  }
  // The extension block after its 4-byte header; empty when there is none.
  std::span<const uint8_t> extension_data() const {
    if (!has_extension()) return {};
    const size_t begin = ExtensionHeaderOffset() + 4;
    return data_.subspan(begin, header_size_ - begin);
  }

  size_t header_size() const { return header_size_; }
  size_t padding_size() const { return padding_size_; }
  std::span<const uint8_t> payload() const {
    return data_.subspan(header_size_, data_.size() - header_size_ - padding_size_);
  }
  // The whole datagram the view was parsed from.
  std::span<const uint8_t> packet() const { return data_; }

  RtpExtensionReader extensions() const {
    return has_extension() ? RtpExtensionReader(extension_profile(), extension_data())
                           : RtpExtensionReader::None();
  }
  // The first element with `id`, walking up to any malformed element.
  std::optional<std::span<const uint8_t>> FindExtension(uint8_t id) const;
  // Calls visit(const RtpExtensionElement&) for each element in order; returns
  // the error that stopped the walk early, if any.
  template <typename Visit>
  [[nodiscard]] tl::expected<void, RtpExtensionError> ForEachExtension(Visit&& visit) const {
    RtpExtensionReader reader = extensions();
    while (std::optional<RtpExtensionElement> element = reader.Next()) {
      visit(std::as_const(*element));
    }
    if (reader.error()) return tl::unexpected(*reader.error());
    return {};
  }

 private:
  friend tl::expected<RtpPacketView, RtpParseError> ParseRtp(std::span<const uint8_t> packet);

  RtpPacketView(std::span<const uint8_t> data, uint32_t header_size, uint8_t padding_size)
      : data_(data), header_size_(header_size), padding_size_(padding_size) {}

  size_t ExtensionHeaderOffset() const { return kRtpFixedHeaderSize + 4 * csrc_count(); }
  uint16_t LoadBe16(size_t at) const {
    return static_cast<uint16_t>((data_[at] << 8) | data_[at + 1]);
  }
  uint32_t LoadBe32(size_t at) const {
    return (uint32_t{data_[at]} << 24) | (uint32_t{data_[at + 1]} << 16) |
           (uint32_t{data_[at + 2]} << 8) | uint32_t{data_[at + 3]};
  }

  std::span<const uint8_t> data_;
  // Up to 12 + 60 + 4 + 4 * 65535 bytes, so wider than 16 bits.
  uint32_t header_size_;
  uint8_t padding_size_;
};

// Checks `packet` against RFC 3550 A.1 and returns a view over it. Never reads
// outside `packet`, never allocates.
[[nodiscard]] tl::expected<RtpPacketView, RtpParseError> ParseRtp(
    std::span<const uint8_t> packet);

// ---------------------------------------------------------------------------
// Building. Writers fill the caller's buffer and return how many bytes they
// wrote; on error `out` may be partly written and must be discarded.

enum class RtpBuildError : uint8_t {
  kOutputTooSmall,
  kTooManyCsrcs,         // more than 15
  kBadExtensionId,       // one-byte form allows 1-14
  kBadExtensionSize,     // 1-16 data bytes per element, 65535 words per block
};
std::string_view RtpBuildErrorName(RtpBuildError error);

// The fixed-header fields a sender chooses (V is always 2; P and X are set by
// whatever adds padding or extensions).
struct RtpHeaderFields {
  bool marker;
  PayloadType pt;
  SequenceNumber seq;
  RtpTimestamp ts;
  Ssrc ssrc;
  std::span<const Ssrc> csrcs;
};

// Writes the fixed header and CSRC list at the start of `out` and returns its
// length, so the caller can encode the payload in place right after it.
[[nodiscard]] tl::expected<size_t, RtpBuildError> WriteRtpHeader(const RtpHeaderFields& fields,
                                                                 std::span<uint8_t> out);

// Writes the header followed by `payload`; returns the packet length. `payload`
// may overlap `out` (it is moved, not copied).
[[nodiscard]] tl::expected<size_t, RtpBuildError> WriteRtp(const RtpHeaderFields& fields,
                                                           std::span<const uint8_t> payload,
                                                           std::span<uint8_t> out);

// Appends an RFC 8285 one-byte extension block to a header that WriteRtpHeader
// just wrote (X still clear). Use before writing the payload, which goes at the
// header size Finish returns:
//
//   size_t header = *WriteRtpHeader(fields, out);
//   RtpExtensionWriter ext(out, header);
//   if (!ext.Add(kAudioLevelId, level)) ...;
//   header = *ext.Finish();  // payload starts at out[header]
class RtpExtensionWriter {
 public:
  RtpExtensionWriter(std::span<uint8_t> packet, size_t header_size);

  [[nodiscard]] tl::expected<void, RtpBuildError> Add(uint8_t id, std::span<const uint8_t> data);
  // Zero-pads to a 32-bit boundary, writes the 0xBEDE block header and sets X.
  // With no elements added it writes nothing. Returns the new header size.
  // Call once, after the last Add.
  [[nodiscard]] tl::expected<size_t, RtpBuildError> Finish();

 private:
  std::span<uint8_t> packet_;
  size_t header_size_;
  size_t end_;  // one past the last element byte written
};

}  // namespace earshot::dataplane

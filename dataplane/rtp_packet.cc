#include "dataplane/rtp_packet.h"

#include <cstring>

namespace earshot::dataplane {
namespace {

constexpr uint8_t kRtpVersion = 2;
constexpr uint8_t kOneByteReservedId = 15;  // RFC 8285 §4.2: stop parsing here
constexpr uint8_t kOneByteMaxId = 14;
constexpr size_t kOneByteMaxDataSize = 16;
constexpr size_t kExtensionHeaderSize = 4;

uint16_t LoadBe16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

void StoreBe16(uint8_t* p, uint16_t value) {
  p[0] = static_cast<uint8_t>(value >> 8);
  p[1] = static_cast<uint8_t>(value);
}

void StoreBe32(uint8_t* p, uint32_t value) {
  p[0] = static_cast<uint8_t>(value >> 24);
  p[1] = static_cast<uint8_t>(value >> 16);
  p[2] = static_cast<uint8_t>(value >> 8);
  p[3] = static_cast<uint8_t>(value);
}

}  // namespace

std::string_view RtpParseErrorName(RtpParseError error) {
  switch (error) {
    case RtpParseError::kTooShort: return "too_short";
    case RtpParseError::kBadVersion: return "bad_version";
    case RtpParseError::kCsrcPastEnd: return "csrc_past_end";
    case RtpParseError::kExtensionHeaderPastEnd: return "extension_header_past_end";
    case RtpParseError::kExtensionPastEnd: return "extension_past_end";
    case RtpParseError::kPaddingPastEnd: return "padding_past_end";
    case RtpParseError::kZeroPadding: return "zero_padding";
  }
  return "unknown";
}

std::string_view RtpExtensionErrorName(RtpExtensionError error) {
  switch (error) {
    case RtpExtensionError::kUnknownProfile: return "unknown_profile";
    case RtpExtensionError::kElementPastEnd: return "element_past_end";
    case RtpExtensionError::kBadPadding: return "bad_padding";
  }
  return "unknown";
}

std::string_view RtpBuildErrorName(RtpBuildError error) {
  switch (error) {
    case RtpBuildError::kOutputTooSmall: return "output_too_small";
    case RtpBuildError::kTooManyCsrcs: return "too_many_csrcs";
    case RtpBuildError::kBadExtensionId: return "bad_extension_id";
    case RtpBuildError::kBadExtensionSize: return "bad_extension_size";
  }
  return "unknown";
}

tl::expected<RtpPacketView, RtpParseError> ParseRtp(std::span<const uint8_t> packet) {
  const size_t size = packet.size();
  if (size < kRtpFixedHeaderSize) return tl::unexpected(RtpParseError::kTooShort);
  const uint8_t first = packet[0];
  if ((first >> 6) != kRtpVersion) return tl::unexpected(RtpParseError::kBadVersion);

  size_t header_size = kRtpFixedHeaderSize + 4 * size_t{first & 0x0Fu};
  if (header_size > size) return tl::unexpected(RtpParseError::kCsrcPastEnd);

  if ((first & 0x10) != 0) {
    if (size - header_size < kExtensionHeaderSize) {
      return tl::unexpected(RtpParseError::kExtensionHeaderPastEnd);
    }
    const size_t words = LoadBe16(&packet[header_size + 2]);
    header_size += kExtensionHeaderSize + 4 * words;
    if (header_size > size) return tl::unexpected(RtpParseError::kExtensionPastEnd);
  }

  uint8_t padding_size = 0;
  if ((first & 0x20) != 0) {
    // The count is the packet's last octet; with nothing after the header that
    // octet belongs to the header, so the padding cannot be there.
    if (header_size == size) return tl::unexpected(RtpParseError::kPaddingPastEnd);
    padding_size = packet[size - 1];
    if (padding_size == 0) return tl::unexpected(RtpParseError::kZeroPadding);
    if (padding_size > size - header_size) return tl::unexpected(RtpParseError::kPaddingPastEnd);
  }
  return RtpPacketView(packet, static_cast<uint32_t>(header_size), padding_size);
}

std::optional<std::span<const uint8_t>> RtpPacketView::FindExtension(uint8_t id) const {
  RtpExtensionReader reader = extensions();
  while (std::optional<RtpExtensionElement> element = reader.Next()) {
    if (element->id == id) return element->data;
  }
  return std::nullopt;
}

RtpExtensionReader::RtpExtensionReader(uint16_t profile, std::span<const uint8_t> block)
    : block_(block) {
  if (IsOneByteExtensionProfile(profile)) {
    form_ = Form::kOneByte;
  } else if (IsTwoByteExtensionProfile(profile)) {
    form_ = Form::kTwoByte;
  } else {
    error_ = RtpExtensionError::kUnknownProfile;
  }
}

std::optional<RtpExtensionElement> RtpExtensionReader::Fail(RtpExtensionError error) {
  error_ = error;
  pos_ = block_.size();
  return std::nullopt;
}

std::optional<RtpExtensionElement> RtpExtensionReader::Next() {
  if (form_ == Form::kNone) return std::nullopt;
  while (pos_ < block_.size()) {
    const uint8_t first = block_[pos_];
    if (first == 0) {  // padding byte, in either form
      ++pos_;
      continue;
    }
    const size_t left = block_.size() - pos_;
    uint8_t id;
    size_t data_size;
    size_t element_header;
    if (form_ == Form::kOneByte) {
      id = first >> 4;
      if (id == kOneByteReservedId) {
        pos_ = block_.size();  // RFC 8285: ignore its length and everything after
        return std::nullopt;
      }
      if (id == 0) return Fail(RtpExtensionError::kBadPadding);
      data_size = size_t{first & 0x0Fu} + 1;
      element_header = 1;
    } else {
      if (left < 2) return Fail(RtpExtensionError::kElementPastEnd);
      id = first;
      data_size = block_[pos_ + 1];
      element_header = 2;
    }
    if (data_size > left - element_header) return Fail(RtpExtensionError::kElementPastEnd);
    const RtpExtensionElement element{id, block_.subspan(pos_ + element_header, data_size)};
    pos_ += element_header + data_size;
    return element;
  }
  return std::nullopt;
}

tl::expected<size_t, RtpBuildError> WriteRtpHeader(const RtpHeaderFields& fields,
                                                   std::span<uint8_t> out) {
  if (fields.csrcs.size() > kRtpMaxCsrcs) return tl::unexpected(RtpBuildError::kTooManyCsrcs);
  const size_t header_size = kRtpFixedHeaderSize + 4 * fields.csrcs.size();
  if (out.size() < header_size) return tl::unexpected(RtpBuildError::kOutputTooSmall);

  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>((kRtpVersion << 6) | fields.csrcs.size());
  p[1] = static_cast<uint8_t>((fields.marker ? 0x80 : 0x00) | fields.pt.value());
  StoreBe16(p + 2, fields.seq.value());
  StoreBe32(p + 4, fields.ts.value());
  StoreBe32(p + 8, fields.ssrc.value());
  p += kRtpFixedHeaderSize;
  for (const Ssrc csrc : fields.csrcs) {
    StoreBe32(p, csrc.value());
    p += 4;
  }
  return header_size;
}

tl::expected<size_t, RtpBuildError> WriteRtp(const RtpHeaderFields& fields,
                                             std::span<const uint8_t> payload,
                                             std::span<uint8_t> out) {
  if (fields.csrcs.size() > kRtpMaxCsrcs) return tl::unexpected(RtpBuildError::kTooManyCsrcs);
  const size_t header_size = kRtpFixedHeaderSize + 4 * fields.csrcs.size();
  // Check the whole size first so a too-small buffer is left untouched.
  if (out.size() < header_size || out.size() - header_size < payload.size()) {
    return tl::unexpected(RtpBuildError::kOutputTooSmall);
  }
  // Move the payload before writing the header: if the caller encoded it in
  // `out` already, the header could otherwise overwrite it.
  if (!payload.empty()) std::memmove(out.data() + header_size, payload.data(), payload.size());
  const tl::expected<size_t, RtpBuildError> written = WriteRtpHeader(fields, out);
  EARSHOT_DCHECK(written.has_value() && *written == header_size);
  return header_size + payload.size();
}

RtpExtensionWriter::RtpExtensionWriter(std::span<uint8_t> packet, size_t header_size)
    : packet_(packet), header_size_(header_size), end_(header_size + kExtensionHeaderSize) {
  // Misuse, not input: the header must be one WriteRtpHeader just wrote.
  EARSHOT_CHECK(header_size >= kRtpFixedHeaderSize && header_size <= packet.size());
  EARSHOT_CHECK((packet[0] & 0x10) == 0);
}

tl::expected<void, RtpBuildError> RtpExtensionWriter::Add(uint8_t id,
                                                          std::span<const uint8_t> data) {
  if (id == 0 || id > kOneByteMaxId) return tl::unexpected(RtpBuildError::kBadExtensionId);
  if (data.empty() || data.size() > kOneByteMaxDataSize) {
    return tl::unexpected(RtpBuildError::kBadExtensionSize);
  }
  if (end_ > packet_.size() || packet_.size() - end_ < 1 + data.size()) {
    return tl::unexpected(RtpBuildError::kOutputTooSmall);
  }
  packet_[end_] = static_cast<uint8_t>((id << 4) | (data.size() - 1));
  // At most 16 bytes: a plain loop beats a call into libc's memcpy here.
  for (size_t i = 0; i < data.size(); ++i) packet_[end_ + 1 + i] = data[i];
  end_ += 1 + data.size();
  return {};
}

tl::expected<size_t, RtpBuildError> RtpExtensionWriter::Finish() {
  const size_t block_begin = header_size_ + kExtensionHeaderSize;
  if (end_ == block_begin) return header_size_;
  const size_t padded = (end_ - block_begin + 3) / 4 * 4;
  if (packet_.size() - block_begin < padded) {
    return tl::unexpected(RtpBuildError::kOutputTooSmall);
  }
  const size_t words = padded / 4;
  if (words > 0xFFFF) return tl::unexpected(RtpBuildError::kBadExtensionSize);
  while (end_ < block_begin + padded) packet_[end_++] = 0;  // at most 3 bytes
  StoreBe16(packet_.data() + header_size_, kOneByteExtensionProfile);
  StoreBe16(packet_.data() + header_size_ + 2, static_cast<uint16_t>(words));
  packet_[0] |= 0x10;
  return end_;
}

}  // namespace earshot::dataplane

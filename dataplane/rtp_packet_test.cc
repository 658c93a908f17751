#include "dataplane/rtp_packet.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace earshot::dataplane {
namespace {

using Bytes = std::vector<uint8_t>;

// A PCMU packet from a capture (the one rlib's RTP tests use): marker set, PT 0,
// seq 37595, ts 160, SSRC 0x343da99b, 160 bytes of mu-law.
constexpr uint8_t kCapturedPcmu[] = {
    0x80, 0x80, 0x92, 0xdb, 0x00, 0x00, 0x00, 0xa0, 0x34, 0x3d, 0xa9, 0x9b, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0x7f,
    0xff, 0x7f, 0x7f, 0xff, 0xff, 0x7f, 0x7f, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xfe, 0x7e, 0xfd, 0x7d,
    0xfd, 0x7e, 0x75, 0xfc, 0x73, 0x75, 0xfe, 0x71, 0x7b, 0x7e, 0x7a, 0xfc, 0xfd, 0xf9, 0xfb, 0xfb,
    0xf6, 0xff, 0xf9, 0xf8, 0x7c, 0xfa, 0xfd, 0x7d, 0xfc, 0xff, 0x7e, 0xfe, 0xfe, 0xfe, 0x7e, 0xfd,
    0x7e, 0x7d, 0xfe, 0x7c, 0x7c, 0x7d, 0x7a, 0x7b, 0x7b, 0x7c, 0x7d, 0x7f, 0xfd, 0xfb, 0xf8, 0xf5,
    0xf4, 0xf1, 0xf0, 0xf1, 0xf0, 0xf2, 0xf5, 0xf7, 0xfb, 0xff, 0x7a, 0x76, 0x71, 0x6e, 0x6d, 0x6b,
    0x6b, 0x6b, 0x6b, 0x6c, 0x6e, 0x70, 0x75, 0x7c, 0xf9, 0xf2, 0xeb, 0xe8, 0xe3, 0xdf, 0xde, 0xdb,
    0xe3, 0xdf, 0xe4, 0x7e, 0xf4, 0x6f, 0x62, 0x66, 0x5e, 0x5e, 0x5f, 0x60,
};

// A fixed header with the given first two octets and recognisable other fields.
Bytes Header(uint8_t first, uint8_t second = 0x00) {
  return {first, second, 0x12, 0x34, 0x00, 0x00, 0x00, 0xa0, 0xca, 0xfe, 0xba, 0xbe};
}

Bytes Concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Bytes ToBytes(std::span<const uint8_t> span) { return Bytes(span.begin(), span.end()); }

std::vector<std::pair<uint8_t, Bytes>> AllExtensions(
    const RtpPacketView& view, tl::expected<void, RtpExtensionError>* status) {
  std::vector<std::pair<uint8_t, Bytes>> seen;
  *status = view.ForEachExtension([&](const RtpExtensionElement& element) {
    seen.emplace_back(element.id, ToBytes(element.data));
  });
  return seen;
}

// Fields for tests where their values do not matter.
RtpHeaderFields PlainFields(std::span<const Ssrc> csrcs = {}) {
  return RtpHeaderFields{false, PayloadType(0), SequenceNumber(7), RtpTimestamp(8), Ssrc(9), csrcs};
}

TEST(RtpPacketTest, ParsesCapturedPcmuPacketFieldByField) {
  const auto view = ParseRtp(kCapturedPcmu);
  ASSERT_TRUE(view.has_value()) << RtpParseErrorName(view.error());
  EXPECT_EQ(view->version(), 2);
  EXPECT_FALSE(view->has_padding());
  EXPECT_FALSE(view->has_extension());
  EXPECT_EQ(view->csrc_count(), 0u);
  EXPECT_TRUE(view->marker());
  EXPECT_EQ(view->payload_type(), PayloadType(0));
  EXPECT_EQ(view->sequence_number(), SequenceNumber(37595));
  EXPECT_EQ(view->timestamp(), RtpTimestamp(160));
  EXPECT_EQ(view->ssrc(), Ssrc(0x343da99b));
  EXPECT_EQ(view->header_size(), 12u);
  EXPECT_EQ(view->padding_size(), 0u);
  EXPECT_EQ(view->extension_profile(), 0);
  EXPECT_TRUE(view->extension_data().empty());
  ASSERT_EQ(view->payload().size(), 160u);
  EXPECT_EQ(view->payload().data(), kCapturedPcmu + 12);  // a view, not a copy
  EXPECT_EQ(view->payload().back(), 0x60);
  EXPECT_EQ(view->packet().size(), sizeof(kCapturedPcmu));
}

TEST(RtpPacketTest, CapturedPcmuRebuildsByteForByte) {
  const auto view = ParseRtp(kCapturedPcmu);
  ASSERT_TRUE(view.has_value());
  const RtpHeaderFields fields{view->marker(),    view->payload_type(), view->sequence_number(),
                               view->timestamp(), view->ssrc(),         {}};
  std::array<uint8_t, sizeof(kCapturedPcmu)> out{};
  const auto written = WriteRtp(fields, view->payload(), out);
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(*written, sizeof(kCapturedPcmu));
  EXPECT_EQ(ToBytes(out), ToBytes(kCapturedPcmu));
}

struct RoundTripRow {
  bool marker;
  uint8_t pt;
  uint16_t seq;
  uint32_t ts;
  uint32_t ssrc;
  size_t csrc_count;
  size_t payload_size;
};

TEST(RtpPacketTest, EveryBuiltFieldSurvivesTheParser) {
  const RoundTripRow rows[] = {
      {false, 0, 0, 0, 0, 0, 0},
      {true, 127, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 15, 1},
      {true, 8, 0x8000, 0x80000000, 0x12345678, 1, 160},
      {false, 96, 1, 160, 0xDEADBEEF, 2, 20},
  };
  for (const RoundTripRow& row : rows) {
    SCOPED_TRACE(testing::Message() << "pt " << int{row.pt} << " csrcs " << row.csrc_count);
    std::vector<Ssrc> csrcs;
    for (size_t i = 0; i < row.csrc_count; ++i) csrcs.emplace_back(0xC0000000u + i);
    Bytes payload(row.payload_size);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 7);
    const RtpHeaderFields fields{row.marker,           PayloadType(row.pt), SequenceNumber(row.seq),
                                 RtpTimestamp(row.ts), Ssrc(row.ssrc),      csrcs};
    Bytes out(12 + 4 * 15 + 200, 0xEE);
    const auto written = WriteRtp(fields, payload, out);
    ASSERT_TRUE(written.has_value());
    ASSERT_EQ(*written, 12 + 4 * row.csrc_count + row.payload_size);

    const auto view = ParseRtp(std::span(out).first(*written));
    ASSERT_TRUE(view.has_value()) << RtpParseErrorName(view.error());
    EXPECT_EQ(view->version(), 2);
    EXPECT_FALSE(view->has_padding());
    EXPECT_FALSE(view->has_extension());
    EXPECT_EQ(view->marker(), row.marker);
    EXPECT_EQ(view->payload_type(), PayloadType(row.pt));
    EXPECT_EQ(view->sequence_number(), SequenceNumber(row.seq));
    EXPECT_EQ(view->timestamp(), RtpTimestamp(row.ts));
    EXPECT_EQ(view->ssrc(), Ssrc(row.ssrc));
    ASSERT_EQ(view->csrc_count(), row.csrc_count);
    for (size_t i = 0; i < row.csrc_count; ++i) EXPECT_EQ(view->csrc(i), csrcs[i]);
    EXPECT_EQ(view->header_size(), 12 + 4 * row.csrc_count);
    EXPECT_EQ(ToBytes(view->payload()), payload);
  }
}

TEST(RtpPacketTest, WriteRtpHeaderLeavesThePayloadToTheCaller) {
  const RtpHeaderFields fields = PlainFields();
  Bytes out(12 + 4, 0xAA);
  const auto header = WriteRtpHeader(fields, out);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(*header, 12u);
  EXPECT_EQ(out[12], 0xAA);  // untouched: the encoder writes here in place
  const auto view = ParseRtp(out);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->payload().size(), 4u);
}

TEST(RtpPacketTest, WriteRtpMovesAPayloadAlreadyInTheOutputBuffer) {
  Bytes out(12 + 3, 0);
  out[0] = 1, out[1] = 2, out[2] = 3;  // the encoder left it at the start
  const RtpHeaderFields fields = PlainFields();
  const auto written = WriteRtp(fields, std::span(out).first(3), out);
  ASSERT_TRUE(written.has_value());
  const auto view = ParseRtp(out);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(ToBytes(view->payload()), (Bytes{1, 2, 3}));
}

TEST(RtpPacketTest, BuilderRejectsSixteenCsrcsAndSmallBuffers) {
  const std::vector<Ssrc> sixteen(16, Ssrc(1));
  const RtpHeaderFields too_many = PlainFields(sixteen);
  Bytes out(200, 0xEE);
  EXPECT_EQ(WriteRtp(too_many, {}, out).error(), RtpBuildError::kTooManyCsrcs);
  EXPECT_EQ(WriteRtpHeader(too_many, out).error(), RtpBuildError::kTooManyCsrcs);

  const RtpHeaderFields plain = PlainFields();
  Bytes small(11, 0xEE);
  EXPECT_EQ(WriteRtpHeader(plain, small).error(), RtpBuildError::kOutputTooSmall);
  const Bytes payload(5, 1);
  Bytes almost(16, 0xEE);
  EXPECT_EQ(WriteRtp(plain, payload, almost).error(), RtpBuildError::kOutputTooSmall);
  EXPECT_EQ(almost, Bytes(16, 0xEE));  // nothing written on failure
}

struct InvalidRow {
  const char* name;
  Bytes packet;
  RtpParseError error;
};

// RFC 3550 Appendix A.1, one row per check.
TEST(RtpPacketTest, RejectsEveryAppendixA1ValidityFailure) {
  const InvalidRow rows[] = {
      {"empty", {}, RtpParseError::kTooShort},
      {"eleven bytes", Bytes(kCapturedPcmu, kCapturedPcmu + 11), RtpParseError::kTooShort},
      {"version 0", Header(0x00), RtpParseError::kBadVersion},
      {"version 1", Header(0x40), RtpParseError::kBadVersion},
      {"version 3", Header(0xC0), RtpParseError::kBadVersion},
      {"padding count past end", Concat(Header(0xA0), {1, 2, 4}), RtpParseError::kPaddingPastEnd},
      {"padding with nothing after header", Header(0xA0), RtpParseError::kPaddingPastEnd},
      {"padding count zero", Concat(Header(0xA0), {1, 2, 0}), RtpParseError::kZeroPadding},
      {"csrc list past end", Concat(Header(0x82), {0, 0, 0, 1}), RtpParseError::kCsrcPastEnd},
      {"csrc count 15, none present", Header(0x8F), RtpParseError::kCsrcPastEnd},
      {"extension header past end", Concat(Header(0x90), {0xBE, 0xDE, 0x00}),
       RtpParseError::kExtensionHeaderPastEnd},
      {"extension header after csrcs past end", Concat(Header(0x91), {0, 0, 0, 1}),
       RtpParseError::kExtensionHeaderPastEnd},
      {"extension length past end",
       Concat(Header(0x90), {0xBE, 0xDE, 0x00, 0x02, 0x10, 0xAA, 0, 0}),
       RtpParseError::kExtensionPastEnd},
      {"extension length 0xFFFF", Concat(Header(0x90), {0xBE, 0xDE, 0xFF, 0xFF}),
       RtpParseError::kExtensionPastEnd},
  };
  for (const InvalidRow& row : rows) {
    SCOPED_TRACE(row.name);
    const auto view = ParseRtp(row.packet);
    ASSERT_FALSE(view.has_value());
    EXPECT_EQ(view.error(), row.error) << RtpParseErrorName(view.error());
  }
}

TEST(RtpPacketTest, PaddingIsExcludedFromThePayload) {
  const auto packet = Concat(Header(0xA0), {0x11, 0x22, 0x00, 0x00, 0x03});
  const auto view = ParseRtp(packet);
  ASSERT_TRUE(view.has_value());
  EXPECT_TRUE(view->has_padding());
  EXPECT_EQ(view->padding_size(), 3u);
  EXPECT_EQ(ToBytes(view->payload()), (Bytes{0x11, 0x22}));
}

TEST(RtpPacketTest, PaddingMayFillEverythingAfterTheHeader) {
  const auto packet = Concat(Header(0xA0), {0x00, 0x00, 0x00, 0x04});
  const auto view = ParseRtp(packet);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->padding_size(), 4u);
  EXPECT_TRUE(view->payload().empty());
}

TEST(RtpPacketTest, ExtensionBlockSitsAfterTheCsrcs) {
  const auto packet = Concat(Header(0x91), {0, 0, 0, 9, 0xAB, 0xCD, 0x00, 0x01, 1, 2, 3, 4, 0x77});
  const auto view = ParseRtp(packet);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->csrc(0), Ssrc(9));
  EXPECT_EQ(view->extension_profile(), 0xABCD);
  EXPECT_EQ(ToBytes(view->extension_data()), (Bytes{1, 2, 3, 4}));
  EXPECT_EQ(view->header_size(), 24u);
  EXPECT_EQ(ToBytes(view->payload()), (Bytes{0x77}));
}

TEST(RtpPacketTest, CsrcIndexPastCountIsACheckFailure) {
  const auto view = ParseRtp(kCapturedPcmu);
  ASSERT_TRUE(view.has_value());
  EXPECT_DEATH((void)view->csrc(0), "check failed");
}

TEST(RtpPacketTest, PacketWithoutExtensionHasNoElements) {
  const auto view = ParseRtp(kCapturedPcmu);
  ASSERT_TRUE(view.has_value());
  tl::expected<void, RtpExtensionError> status;
  EXPECT_TRUE(AllExtensions(*view, &status).empty());
  EXPECT_TRUE(status.has_value());
  EXPECT_FALSE(view->FindExtension(1).has_value());
}

struct ExtensionRow {
  const char* name;
  Bytes block;  // after the 4-byte extension header; length must be a multiple of 4
  uint16_t profile;
  std::vector<std::pair<uint8_t, Bytes>> elements;
  std::optional<RtpExtensionError> error;
};

Bytes WithExtension(uint16_t profile, const Bytes& block) {
  Bytes packet = Header(0x90);
  packet.push_back(static_cast<uint8_t>(profile >> 8));
  packet.push_back(static_cast<uint8_t>(profile));
  packet.push_back(static_cast<uint8_t>(block.size() / 4 >> 8));
  packet.push_back(static_cast<uint8_t>(block.size() / 4));
  packet.insert(packet.end(), block.begin(), block.end());
  packet.push_back(0x55);  // one payload byte, to show the walk stays inside the block
  return packet;
}

TEST(RtpPacketTest, WalksRfc8285ElementsInBothForms) {
  const ExtensionRow rows[] = {
      {"one-byte, two elements", {0x10, 0xAA, 0x21, 0xBB, 0xCC, 0, 0, 0}, 0xBEDE,
       {{1, {0xAA}}, {2, {0xBB, 0xCC}}}, std::nullopt},
      {"one-byte, padding between", {0x10, 0xAA, 0x00, 0x00, 0x30, 0xDD, 0, 0}, 0xBEDE,
       {{1, {0xAA}}, {3, {0xDD}}}, std::nullopt},
      {"one-byte, sixteen data bytes", Concat({0xEF}, Concat(Bytes(16, 0x5A), {0, 0, 0})), 0xBEDE,
       {{14, Bytes(16, 0x5A)}}, std::nullopt},
      {"one-byte, ID 15 stops the walk", {0x10, 0xAA, 0xF3, 0x20, 0xBB, 0, 0, 0}, 0xBEDE,
       {{1, {0xAA}}}, std::nullopt},
      {"one-byte, element past end", {0x10, 0xAA, 0x23, 0xBB}, 0xBEDE, {{1, {0xAA}}},
       RtpExtensionError::kElementPastEnd},
      {"one-byte, ID 0 with length", {0x10, 0xAA, 0x05, 0x00}, 0xBEDE, {{1, {0xAA}}},
       RtpExtensionError::kBadPadding},
      {"one-byte, empty block", {}, 0xBEDE, {}, std::nullopt},
      {"two-byte, zero length and padding", {0x01, 0x00, 0x00, 0xFF, 0x02, 0xAA, 0xBB, 0x00},
       0x1000, {{1, {}}, {255, {0xAA, 0xBB}}}, std::nullopt},
      {"two-byte with appbits", {0x07, 0x01, 0x42, 0x00}, 0x100F, {{7, {0x42}}}, std::nullopt},
      {"two-byte, length past end", {0x07, 0x01, 0x42, 0x09, 0x05, 0x00, 0x00, 0x00}, 0x1000,
       {{7, {0x42}}}, RtpExtensionError::kElementPastEnd},
      {"two-byte, lone ID at end", {0x00, 0x00, 0x00, 0x09}, 0x1000, {},
       RtpExtensionError::kElementPastEnd},
      {"unknown profile", {0x10, 0xAA, 0x00, 0x00}, 0xABCD, {}, RtpExtensionError::kUnknownProfile},
  };
  for (const ExtensionRow& row : rows) {
    SCOPED_TRACE(row.name);
    const Bytes packet = WithExtension(row.profile, row.block);
    const auto view = ParseRtp(packet);
    ASSERT_TRUE(view.has_value()) << RtpParseErrorName(view.error());
    EXPECT_EQ(view->payload().size(), 1u);
    tl::expected<void, RtpExtensionError> status;
    EXPECT_EQ(AllExtensions(*view, &status), row.elements);
    if (row.error) {
      ASSERT_FALSE(status.has_value());
      EXPECT_EQ(status.error(), *row.error) << RtpExtensionErrorName(status.error());
    } else {
      EXPECT_TRUE(status.has_value()) << RtpExtensionErrorName(status.error());
    }
  }
}

TEST(RtpPacketTest, FindExtensionReturnsTheFirstMatchBeforeAnyMalformation) {
  const Bytes packet = WithExtension(0xBEDE, {0x10, 0xAA, 0x21, 0xBB, 0xCC, 0x33, 0x01, 0x02});
  const auto view = ParseRtp(packet);
  ASSERT_TRUE(view.has_value());
  ASSERT_TRUE(view->FindExtension(2).has_value());
  EXPECT_EQ(ToBytes(*view->FindExtension(2)), (Bytes{0xBB, 0xCC}));
  EXPECT_EQ(ToBytes(*view->FindExtension(1)), (Bytes{0xAA}));
  // ID 3 claims 4 bytes but only 2 remain: never returned, never read past.
  EXPECT_FALSE(view->FindExtension(3).has_value());
  EXPECT_FALSE(view->FindExtension(0).has_value());  // padding is not an element
}

TEST(RtpPacketTest, ExtensionWriterOutputParsesBack) {
  const RtpHeaderFields fields = PlainFields();
  Bytes out(64, 0xEE);
  auto header = WriteRtpHeader(fields, out);
  ASSERT_TRUE(header.has_value());
  RtpExtensionWriter writer(out, *header);
  const uint8_t level[] = {0x80 | 42};
  const uint8_t sixteen[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  ASSERT_TRUE(writer.Add(1, level).has_value());
  ASSERT_TRUE(writer.Add(14, sixteen).has_value());
  header = writer.Finish();
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(*header, 12u + 4 + 20);  // 2 + 17 bytes of elements, padded to 20
  out[*header] = 0x99;               // payload goes right after
  const auto view = ParseRtp(std::span(out).first(*header + 1));
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->extension_profile(), kOneByteExtensionProfile);
  EXPECT_EQ(ToBytes(*view->FindExtension(1)), (Bytes{0x80 | 42}));
  EXPECT_EQ(ToBytes(*view->FindExtension(14)), ToBytes(sixteen));
  EXPECT_EQ(ToBytes(view->payload()), (Bytes{0x99}));
  tl::expected<void, RtpExtensionError> status;
  EXPECT_EQ(AllExtensions(*view, &status).size(), 2u);
  EXPECT_TRUE(status.has_value());
}

TEST(RtpPacketTest, ExtensionWriterWithNoElementsLeavesTheHeaderAlone) {
  const RtpHeaderFields fields = PlainFields();
  Bytes out(12, 0);
  ASSERT_TRUE(WriteRtpHeader(fields, out).has_value());
  RtpExtensionWriter writer(out, 12);
  EXPECT_EQ(writer.Finish().value(), 12u);
  EXPECT_EQ(out[0], 0x80);
}

TEST(RtpPacketTest, ExtensionWriterRejectsBadElementsAndFullBuffers) {
  const RtpHeaderFields fields = PlainFields();
  Bytes out(12 + 4 + 3, 0);
  ASSERT_TRUE(WriteRtpHeader(fields, out).has_value());
  RtpExtensionWriter writer(out, 12);
  const uint8_t one[1] = {1};
  const uint8_t seventeen[17] = {};
  EXPECT_EQ(writer.Add(0, one).error(), RtpBuildError::kBadExtensionId);
  EXPECT_EQ(writer.Add(15, one).error(), RtpBuildError::kBadExtensionId);
  EXPECT_EQ(writer.Add(1, {}).error(), RtpBuildError::kBadExtensionSize);
  EXPECT_EQ(writer.Add(1, seventeen).error(), RtpBuildError::kBadExtensionSize);
  const uint8_t three[3] = {1, 2, 3};
  EXPECT_EQ(writer.Add(1, three).error(), RtpBuildError::kOutputTooSmall);
  const uint8_t two[2] = {1, 2};
  ASSERT_TRUE(writer.Add(1, two).has_value());  // 3 bytes: fits, but padding to 4 does not
  EXPECT_EQ(writer.Finish().error(), RtpBuildError::kOutputTooSmall);
}

TEST(RtpPacketTest, EveryErrorHasADistinctName) {
  std::vector<std::string> names;
  for (int i = 0; i <= static_cast<int>(RtpParseError::kZeroPadding); ++i) {
    names.emplace_back(RtpParseErrorName(static_cast<RtpParseError>(i)));
  }
  for (int i = 0; i <= static_cast<int>(RtpExtensionError::kBadPadding); ++i) {
    names.emplace_back(RtpExtensionErrorName(static_cast<RtpExtensionError>(i)));
  }
  for (int i = 0; i <= static_cast<int>(RtpBuildError::kBadExtensionSize); ++i) {
    names.emplace_back(RtpBuildErrorName(static_cast<RtpBuildError>(i)));
  }
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_NE(names[i], "unknown");
    for (size_t j = i + 1; j < names.size(); ++j) EXPECT_NE(names[i], names[j]);
  }
}

}  // namespace
}  // namespace earshot::dataplane

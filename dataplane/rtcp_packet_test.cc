// Tests for the RTCP views: a hand-assembled compound checked field by field,
// every RFC 3550 A.2 framing failure, body validation of each typed view, and
// write-then-parse round trips through RtcpCompoundWriter.

#include "dataplane/rtcp_packet.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/rtcp_writer.h"

namespace earshot::dataplane {

void PrintTo(RtcpParseError error, std::ostream* os) { *os << RtcpParseErrorName(error); }

namespace {

static_assert(std::forward_iterator<RtcpPacketIterator>);
static_assert(std::forward_iterator<ReportBlockRange::Iterator>);
static_assert(std::forward_iterator<SsrcRange::Iterator>);
static_assert(std::forward_iterator<SdesChunkIterator>);
static_assert(std::forward_iterator<SdesItemIterator>);

using Bytes = std::vector<uint8_t>;

// SR with one report block, then SDES with one CNAME: the usual first compound.
constexpr uint8_t kSrSdes[] = {
    // SR: V=2 P=0 RC=1, PT=200, length 12 words.
    0x81, 0xc8, 0x00, 0x0c,
    0x12, 0x34, 0x56, 0x78,  // sender SSRC
    0xe1, 0xb2, 0xc3, 0xd4,  // NTP seconds
    0x11, 0x22, 0x33, 0x44,  // NTP fraction
    0xde, 0xad, 0xbe, 0xef,  // RTP timestamp
    0x00, 0x00, 0x01, 0x00,  // sender's packet count 256
    0x00, 0x00, 0xa0, 0x00,  // sender's octet count 40960
    // Report block.
    0x9a, 0xbc, 0xde, 0xf0,  // SSRC
    0x40, 0xff, 0xff, 0xfe,  // fraction lost 64/256, cumulative lost -2
    0x00, 0x01, 0xff, 0xf0,  // extended highest sequence 0x1fff0
    0x00, 0x00, 0x00, 0x20,  // jitter 32
    0xc3, 0xd4, 0x11, 0x22,  // LSR: the middle of the NTP timestamp
    0x00, 0x01, 0x80, 0x00,  // DLSR 1.5 s in 1/65536 s
    // SDES: V=2 P=0 SC=1, PT=202, length 4 words.
    0x81, 0xca, 0x00, 0x04,
    0x12, 0x34, 0x56, 0x78,  // chunk SSRC
    0x01, 0x07, 'h',  'o',   // CNAME, 7 bytes
    's',  't',  '@',  'e',
    'x',  0x00, 0x00, 0x00,  // null item, then padding to the word
};
constexpr size_t kSdesOffset = 52;

Bytes SrSdes() { return Bytes(std::begin(kSrSdes), std::end(kSrSdes)); }

template <typename T>
std::optional<RtcpParseError> ErrorOf(const tl::expected<T, RtcpParseError>& result) {
  if (result) return std::nullopt;
  return result.error();
}

std::vector<RtcpPacketView> Packets(const RtcpCompoundView& compound) {
  return std::vector<RtcpPacketView>(compound.begin(), compound.end());
}

RtcpPacketView OnlyPacket(std::span<const uint8_t> bytes) {
  auto packet = RtcpPacketView::Parse(bytes);
  EXPECT_TRUE(packet.has_value());
  EXPECT_EQ(packet->size(), bytes.size());
  return *packet;
}

TEST(RtcpCompoundTest, HandAssembledSrSdesExposesEveryField) {
  auto compound = RtcpCompoundView::Parse(kSrSdes);
  ASSERT_TRUE(compound.has_value()) << RtcpParseErrorName(compound.error());
  EXPECT_EQ(compound->packet_count(), 2u);
  EXPECT_EQ(compound->bytes().size(), sizeof(kSrSdes));
  const std::vector<RtcpPacketView> packets = Packets(*compound);
  ASSERT_EQ(packets.size(), 2u);

  const RtcpPacketView& sr_packet = packets[0];
  EXPECT_EQ(sr_packet.version(), 2);
  EXPECT_FALSE(sr_packet.padding());
  EXPECT_EQ(sr_packet.count(), 1);
  EXPECT_EQ(sr_packet.packet_type(), RtcpPacketType::kSr);
  EXPECT_EQ(sr_packet.length_words(), 12);
  EXPECT_EQ(sr_packet.size(), 52u);
  EXPECT_EQ(sr_packet.packet().data(), kSrSdes);
  EXPECT_EQ(sr_packet.body().data(), kSrSdes + 4);
  EXPECT_EQ(sr_packet.body().size(), 48u);
  EXPECT_EQ(sr_packet.padding_size(), 0u);
  EXPECT_EQ(sr_packet.payload().size(), 48u);

  auto sr = SenderReportView::Parse(sr_packet);
  ASSERT_TRUE(sr.has_value());
  EXPECT_EQ(sr->sender_ssrc(), Ssrc(0x12345678));
  EXPECT_EQ(sr->ntp_timestamp(), 0xe1b2c3d411223344u);
  EXPECT_EQ(sr->rtp_timestamp(), 0xdeadbeefu);
  EXPECT_EQ(sr->packet_count(), 256u);
  EXPECT_EQ(sr->octet_count(), 40960u);
  EXPECT_TRUE(sr->extension().empty());
  ASSERT_EQ(sr->report_blocks().size(), 1u);
  const ReportBlockView block = sr->report_blocks()[0];
  EXPECT_EQ(block.ssrc(), Ssrc(0x9abcdef0));
  EXPECT_EQ(block.fraction_lost(), 64);
  EXPECT_EQ(block.cumulative_lost(), -2);
  EXPECT_EQ(block.extended_highest_sequence(), 0x1fff0u);
  EXPECT_EQ(block.jitter(), 32u);
  EXPECT_EQ(block.last_sr(), 0xc3d41122u);
  EXPECT_EQ(block.delay_since_last_sr(), 0x18000u);

  const RtcpPacketView& sdes_packet = packets[1];
  EXPECT_EQ(sdes_packet.version(), 2);
  EXPECT_FALSE(sdes_packet.padding());
  EXPECT_EQ(sdes_packet.count(), 1);
  EXPECT_EQ(sdes_packet.packet_type(), RtcpPacketType::kSdes);
  EXPECT_EQ(sdes_packet.length_words(), 4);
  EXPECT_EQ(sdes_packet.packet().data(), kSrSdes + kSdesOffset);
  EXPECT_EQ(sdes_packet.size(), 20u);

  auto sdes = SdesView::Parse(sdes_packet);
  ASSERT_TRUE(sdes.has_value());
  EXPECT_EQ(sdes->chunk_count(), 1u);
  int chunks = 0;
  for (const SdesChunkView chunk : sdes->chunks()) {
    ++chunks;
    EXPECT_EQ(chunk.ssrc(), Ssrc(0x12345678));
    int items = 0;
    for (const SdesItemView item : chunk.items()) {
      ++items;
      EXPECT_EQ(item.type(), SdesItemType::kCname);
      EXPECT_EQ(item.text(), "host@ex");
    }
    EXPECT_EQ(items, 1);
    EXPECT_EQ(chunk.cname(), "host@ex");
  }
  EXPECT_EQ(chunks, 1);
  EXPECT_EQ(sdes->FindCname(Ssrc(0x12345678)), "host@ex");
  EXPECT_EQ(sdes->FindCname(Ssrc(0x9abcdef0)), std::nullopt);
}

TEST(RtcpCompoundTest, WriterReproducesTheHandAssembledBytesExactly) {
  std::array<uint8_t, 128> buffer{};
  RtcpCompoundWriter writer(buffer);
  const RtcpReportBlock block{.ssrc = Ssrc(0x9abcdef0),
                              .fraction_lost = 64,
                              .cumulative_lost = -2,
                              .extended_highest_sequence = 0x1fff0,
                              .jitter = 32,
                              .last_sr = 0xc3d41122,
                              .delay_since_last_sr = 0x18000};
  const RtcpSenderInfo info{.ntp_timestamp = 0xe1b2c3d411223344u,
                            .rtp_timestamp = 0xdeadbeef,
                            .packet_count = 256,
                            .octet_count = 40960};
  ASSERT_TRUE(writer.AppendSenderReport(Ssrc(0x12345678), info, {&block, 1}));
  ASSERT_TRUE(writer.AppendSdesCname(Ssrc(0x12345678), "host@ex"));
  EXPECT_EQ(Bytes(writer.bytes().begin(), writer.bytes().end()), SrSdes());
}

TEST(RtcpReportBlockTest, CumulativeLostIsSignExtendedFrom24Bits) {
  struct Row {
    uint8_t wire[3];
    int32_t expected;
  };
  const Row rows[] = {
      {{0x00, 0x00, 0x00}, 0},         {{0x00, 0x00, 0x01}, 1},
      {{0x7f, 0xff, 0xff}, 8388607},   {{0x80, 0x00, 0x00}, -8388608},
      {{0x80, 0x00, 0x01}, -8388607},  {{0xff, 0xff, 0xfe}, -2},
      {{0xff, 0xff, 0xff}, -1},        {{0x01, 0x00, 0x00}, 65536},
  };
  for (const Row& row : rows) {
    std::array<uint8_t, kRtcpReportBlockSize> block{};
    block[4] = 0xff;  // fraction lost must not leak into the count
    block[5] = row.wire[0];
    block[6] = row.wire[1];
    block[7] = row.wire[2];
    EXPECT_EQ(ReportBlockView(block).cumulative_lost(), row.expected)
        << int{row.wire[0]} << " " << int{row.wire[1]} << " " << int{row.wire[2]};
    EXPECT_EQ(ReportBlockView(block).fraction_lost(), 0xff);
  }
}

TEST(RtcpReportBlockTest, WriterSaturatesCumulativeLostToTheWireRange) {
  struct Row {
    int32_t written;
    int32_t read_back;
  };
  const Row rows[] = {
      {0, 0},           {-1, -1},          {8388607, 8388607},  {8388608, 8388607},
      {-8388608, -8388608}, {-8388609, -8388608}, {INT32_MAX, 8388607}, {INT32_MIN, -8388608},
  };
  for (const Row& row : rows) {
    std::array<uint8_t, 64> buffer{};
    RtcpCompoundWriter writer(buffer);
    const RtcpReportBlock block{.ssrc = Ssrc(1), .fraction_lost = 0xff,
                                .cumulative_lost = row.written};
    ASSERT_TRUE(writer.AppendReceiverReport(Ssrc(2), {&block, 1}));
    auto rr = ReceiverReportView::Parse(OnlyPacket(writer.bytes()));
    ASSERT_TRUE(rr.has_value());
    EXPECT_EQ(rr->report_blocks()[0].cumulative_lost(), row.read_back) << row.written;
    EXPECT_EQ(rr->report_blocks()[0].fraction_lost(), 0xff);
  }
}

// --- RFC 3550 A.2 framing failures -------------------------------------------

TEST(RtcpCompoundTest, EmptyOrSubHeaderBufferIsTooShort) {
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse({})), RtcpParseError::kTooShort);
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(std::span(kSrSdes, 3))), RtcpParseError::kTooShort);
  EXPECT_EQ(ErrorOf(RtcpPacketView::Parse(std::span(kSrSdes, 3))), RtcpParseError::kTooShort);
}

TEST(RtcpCompoundTest, WrongVersionInFirstPacketIsRejected) {
  for (const uint8_t version : {0, 1, 3}) {
    Bytes bytes = SrSdes();
    bytes[0] = static_cast<uint8_t>((bytes[0] & 0x3f) | (version << 6));
    EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(bytes)), RtcpParseError::kBadVersion);
    EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(bytes, RtcpValidation::kReducedSize)),
              RtcpParseError::kBadVersion);
  }
}

TEST(RtcpCompoundTest, WrongVersionInSecondPacketIsRejected) {
  Bytes bytes = SrSdes();
  bytes[kSdesOffset] = 0x41;  // V=1
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(bytes)), RtcpParseError::kBadVersion);
}

TEST(RtcpCompoundTest, LastLengthRunningPastTheBufferIsALengthMismatch) {
  Bytes bytes = SrSdes();
  bytes[kSdesOffset + 3] = 5;  // one word more than there is
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(bytes)), RtcpParseError::kLengthMismatch);
  bytes[kSdesOffset + 2] = 0xff;  // far more
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(bytes)), RtcpParseError::kLengthMismatch);
}

TEST(RtcpCompoundTest, FirstLengthRunningPastTheBufferIsALengthMismatch) {
  Bytes bytes = SrSdes();
  bytes[3] = 0x20;
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(bytes)), RtcpParseError::kLengthMismatch);
}

// Lengths count whole words, so a short length leaves a stray word that the walk
// then reads as a header. Here that word ('x', 0, 0, 0) fails the version check,
// as it does in A.2; the shortened SDES has lost its null item too.
TEST(RtcpCompoundTest, LastLengthTooShortLeavesAStrayWordThatIsRejected) {
  Bytes bytes = SrSdes();
  bytes[kSdesOffset + 3] = 3;
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(bytes)), RtcpParseError::kBadVersion);
  auto sdes_packet = RtcpPacketView::Parse(std::span(bytes).subspan(kSdesOffset));
  ASSERT_TRUE(sdes_packet.has_value());
  EXPECT_EQ(sdes_packet->size(), 16u);
  EXPECT_EQ(ErrorOf(SdesView::Parse(*sdes_packet)), RtcpParseError::kBadSdes);
}

TEST(RtcpCompoundTest, FirstLengthTooShortLeavesAStrayWordThatIsRejected) {
  Bytes bytes = SrSdes();
  bytes[3] = 11;  // the stray word is the DLSR 0x00018000: version 0
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(bytes)), RtcpParseError::kBadVersion);
}

TEST(RtcpCompoundTest, TrailingBytesAfterTheLastPacketAreALengthMismatch) {
  for (size_t extra = 1; extra <= 3; ++extra) {
    Bytes bytes = SrSdes();
    bytes.resize(bytes.size() + extra, 0x80);
    EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(bytes)), RtcpParseError::kLengthMismatch) << extra;
  }
  Bytes bytes = SrSdes();
  bytes.resize(bytes.size() + 4, 0x00);  // a whole word is read as a header
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(bytes)), RtcpParseError::kBadVersion);
}

TEST(RtcpCompoundTest, FirstPacketMustBeSrOrRrUnderStrictValidation) {
  const std::span<const uint8_t> sdes_only = std::span(kSrSdes).subspan(kSdesOffset);
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(sdes_only)), RtcpParseError::kFirstNotSrOrRr);

  std::array<uint8_t, 64> buffer{};
  RtcpCompoundWriter writer(buffer);
  const Ssrc ssrc(7);
  ASSERT_TRUE(writer.AppendBye({&ssrc, 1}, "gone"));
  ASSERT_TRUE(writer.AppendReceiverReport(Ssrc(7)));
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(writer.bytes())), RtcpParseError::kFirstNotSrOrRr);
}

TEST(RtcpCompoundTest, EmptyReceiverReportIsAValidFirstPacket) {
  std::array<uint8_t, 64> buffer{};
  RtcpCompoundWriter writer(buffer);
  ASSERT_TRUE(writer.AppendReceiverReport(Ssrc(7)));
  ASSERT_TRUE(writer.AppendSdesCname(Ssrc(7), "a"));
  auto compound = RtcpCompoundView::Parse(writer.bytes());
  ASSERT_TRUE(compound.has_value());
  const RtcpPacketView rr_packet = *compound->begin();
  EXPECT_EQ(rr_packet.size(), 8u);
  EXPECT_EQ(rr_packet.length_words(), 1);
  auto rr = ReceiverReportView::Parse(rr_packet);
  ASSERT_TRUE(rr.has_value());
  EXPECT_EQ(rr->sender_ssrc(), Ssrc(7));
  EXPECT_TRUE(rr->report_blocks().empty());
  EXPECT_TRUE(rr->extension().empty());
}

TEST(RtcpCompoundTest, PaddingBitOnANonLastPacketIsRejected) {
  Bytes bytes = SrSdes();
  bytes[0] |= 0x20;
  bytes[kSdesOffset - 1] = 4;  // a well-formed count, so only the position is wrong
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(bytes)), RtcpParseError::kPaddingNotLast);
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(bytes, RtcpValidation::kReducedSize)),
            RtcpParseError::kPaddingNotLast);
}

// SR+SDES with the SDES padded by one word: the P bit and the count at the end.
Bytes PaddedSrSdes(uint8_t padding_count) {
  Bytes bytes = SrSdes();
  bytes[kSdesOffset] |= 0x20;
  bytes[kSdesOffset + 3] += 1;
  bytes.insert(bytes.end(), {0, 0, 0, padding_count});
  return bytes;
}

TEST(RtcpCompoundTest, PaddingOnTheLastPacketIsExcludedFromThePayload) {
  const Bytes bytes = PaddedSrSdes(4);
  auto compound = RtcpCompoundView::Parse(bytes);
  ASSERT_TRUE(compound.has_value()) << RtcpParseErrorName(compound.error());
  const std::vector<RtcpPacketView> packets = Packets(*compound);
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_TRUE(packets[1].padding());
  EXPECT_EQ(packets[1].padding_size(), 4u);
  EXPECT_EQ(packets[1].body().size(), 20u);
  EXPECT_EQ(packets[1].payload().size(), 16u);
  auto sdes = SdesView::Parse(packets[1]);
  ASSERT_TRUE(sdes.has_value());
  EXPECT_EQ(sdes->FindCname(Ssrc(0x12345678)), "host@ex");
}

TEST(RtcpCompoundTest, PaddingOnTheOnlyPacketIsAllowed) {
  std::array<uint8_t, 64> buffer{};
  RtcpCompoundWriter writer(buffer);
  ASSERT_TRUE(writer.AppendReceiverReport(Ssrc(9)));
  Bytes bytes(writer.bytes().begin(), writer.bytes().end());
  bytes[0] |= 0x20;
  bytes[3] = 3;
  bytes.insert(bytes.end(), {0, 0, 0, 0, 0, 0, 0, 8});
  auto compound = RtcpCompoundView::Parse(bytes);
  ASSERT_TRUE(compound.has_value()) << RtcpParseErrorName(compound.error());
  auto rr = ReceiverReportView::Parse(*compound->begin());
  ASSERT_TRUE(rr.has_value());
  EXPECT_TRUE(rr->extension().empty());  // padding is not an extension
}

TEST(RtcpCompoundTest, MalformedPaddingCountIsRejected) {
  // Zero, not a multiple of four, and larger than the body (16 bytes + 4).
  for (const uint8_t count : {0, 1, 3, 6, 24, 255}) {
    EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(PaddedSrSdes(count))), RtcpParseError::kBadPadding)
        << int{count};
  }
  EXPECT_TRUE(RtcpCompoundView::Parse(PaddedSrSdes(20)).has_value());  // the whole body
}

TEST(RtcpCompoundTest, UnknownPacketTypesPassThroughMidCompound) {
  const uint8_t feedback_fci[] = {0, 0, 0, 1, 0, 0, 0, 2, 0x12, 0x34, 0x80, 0x01};
  const uint8_t unassigned_body[] = {0xaa, 0xbb, 0xcc, 0xdd};
  std::array<uint8_t, 160> buffer{};
  RtcpCompoundWriter writer(buffer);
  ASSERT_TRUE(writer.AppendReceiverReport(Ssrc(1)));
  ASSERT_TRUE(writer.AppendRaw(RtcpPacketType::kRtpfb, 1, feedback_fci));
  ASSERT_TRUE(writer.AppendRaw(static_cast<RtcpPacketType>(0x7f), 31, unassigned_body));
  ASSERT_TRUE(writer.AppendRaw(RtcpPacketType::kXr, 0, {}));
  ASSERT_TRUE(writer.AppendSdesCname(Ssrc(1), "cname"));
  auto compound = RtcpCompoundView::Parse(writer.bytes());
  ASSERT_TRUE(compound.has_value()) << RtcpParseErrorName(compound.error());
  const std::vector<RtcpPacketView> packets = Packets(*compound);
  ASSERT_EQ(packets.size(), 5u);

  EXPECT_EQ(packets[1].packet_type(), RtcpPacketType::kRtpfb);
  EXPECT_EQ(packets[1].count(), 1);
  EXPECT_EQ(Bytes(packets[1].body().begin(), packets[1].body().end()),
            Bytes(std::begin(feedback_fci), std::end(feedback_fci)));
  EXPECT_EQ(static_cast<uint8_t>(packets[2].packet_type()), 0x7f);
  EXPECT_EQ(packets[2].count(), 31);
  EXPECT_EQ(Bytes(packets[2].payload().begin(), packets[2].payload().end()),
            Bytes(std::begin(unassigned_body), std::end(unassigned_body)));
  EXPECT_EQ(packets[3].packet_type(), RtcpPacketType::kXr);
  EXPECT_TRUE(packets[3].body().empty());
  EXPECT_EQ(packets[4].packet_type(), RtcpPacketType::kSdes);

  EXPECT_EQ(ErrorOf(SenderReportView::Parse(packets[1])), RtcpParseError::kWrongPacketType);
  EXPECT_EQ(ErrorOf(ReceiverReportView::Parse(packets[1])), RtcpParseError::kWrongPacketType);
  EXPECT_EQ(ErrorOf(SdesView::Parse(packets[1])), RtcpParseError::kWrongPacketType);
  EXPECT_EQ(ErrorOf(ByeView::Parse(packets[1])), RtcpParseError::kWrongPacketType);
  EXPECT_EQ(ErrorOf(AppView::Parse(packets[1])), RtcpParseError::kWrongPacketType);
}

TEST(RtcpCompoundTest, ReducedSizeAcceptsAnyFirstPacketButKeepsFramingChecks) {
  std::array<uint8_t, 64> buffer{};
  RtcpCompoundWriter writer(buffer);
  const uint8_t fci[] = {0, 0, 0, 1, 0, 0, 0, 2};
  ASSERT_TRUE(writer.AppendRaw(RtcpPacketType::kPsfb, 1, fci));  // a lone PLI
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(writer.bytes())), RtcpParseError::kFirstNotSrOrRr);
  auto reduced = RtcpCompoundView::Parse(writer.bytes(), RtcpValidation::kReducedSize);
  ASSERT_TRUE(reduced.has_value());
  EXPECT_EQ(reduced->packet_count(), 1u);
  EXPECT_EQ((*reduced->begin()).packet_type(), RtcpPacketType::kPsfb);

  const Ssrc ssrc(5);
  ASSERT_TRUE(writer.AppendBye({&ssrc, 1}));
  EXPECT_TRUE(RtcpCompoundView::Parse(writer.bytes(), RtcpValidation::kReducedSize));

  Bytes bytes(writer.bytes().begin(), writer.bytes().end());
  bytes.push_back(0);
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(bytes, RtcpValidation::kReducedSize)),
            RtcpParseError::kLengthMismatch);
  bytes.pop_back();
  bytes[12] = 0xc1;  // BYE with V=3
  EXPECT_EQ(ErrorOf(RtcpCompoundView::Parse(bytes, RtcpValidation::kReducedSize)),
            RtcpParseError::kBadVersion);
  const std::span<const uint8_t> sdes_only = std::span(kSrSdes).subspan(kSdesOffset);
  EXPECT_TRUE(RtcpCompoundView::Parse(sdes_only, RtcpValidation::kReducedSize));
}

// --- Typed view body validation ---------------------------------------------

TEST(RtcpSenderReportTest, ReportCountBeyondThePacketIsRejected) {
  Bytes bytes(std::begin(kSrSdes), std::begin(kSrSdes) + kSdesOffset);
  bytes[0] = 0x82;  // RC=2, one block present
  ASSERT_TRUE(RtcpCompoundView::Parse(bytes));  // framing is fine
  EXPECT_EQ(ErrorOf(SenderReportView::Parse(OnlyPacket(bytes))), RtcpParseError::kBadReportCount);
  bytes[0] = 0x9f;  // RC=31
  EXPECT_EQ(ErrorOf(SenderReportView::Parse(OnlyPacket(bytes))), RtcpParseError::kBadReportCount);
}

TEST(RtcpSenderReportTest, BodyShorterThanSenderInfoIsTooShort) {
  const uint8_t bytes[] = {0x80, 0xc8, 0x00, 0x01, 0, 0, 0, 1};
  EXPECT_EQ(ErrorOf(SenderReportView::Parse(OnlyPacket(bytes))), RtcpParseError::kTooShort);
}

TEST(RtcpReceiverReportTest, ReportCountBeyondThePacketIsRejected) {
  const uint8_t bytes[] = {0x81, 0xc9, 0x00, 0x01, 0, 0, 0, 1};
  EXPECT_EQ(ErrorOf(ReceiverReportView::Parse(OnlyPacket(bytes))),
            RtcpParseError::kBadReportCount);
  const uint8_t no_ssrc[] = {0x80, 0xc9, 0x00, 0x00};
  EXPECT_EQ(ErrorOf(ReceiverReportView::Parse(OnlyPacket(no_ssrc))), RtcpParseError::kTooShort);
}

Bytes SdesPacket() { return Bytes(std::begin(kSrSdes) + kSdesOffset, std::end(kSrSdes)); }

TEST(RtcpSdesTest, ItemRunningPastTheChunkIsRejected) {
  Bytes bytes = SdesPacket();
  bytes[9] = 20;  // CNAME length beyond the packet
  EXPECT_EQ(ErrorOf(SdesView::Parse(OnlyPacket(bytes))), RtcpParseError::kBadSdes);
  bytes = SdesPacket();
  bytes[17] = 0x02;  // a NAME item where the null item was, 5 bytes long in 2
  bytes[18] = 0x05;
  EXPECT_EQ(ErrorOf(SdesView::Parse(OnlyPacket(bytes))), RtcpParseError::kBadSdes);
  bytes[18] = 0x00;  // the same item, empty: the null item follows and all is well
  EXPECT_TRUE(SdesView::Parse(OnlyPacket(bytes)));
}

TEST(RtcpSdesTest, ChunkWithoutNullItemIsRejected) {
  Bytes bytes = SdesPacket();
  bytes[17] = 0x02;  // NAME "a" ends exactly at the packet end
  bytes[18] = 0x01;
  bytes[19] = 'a';
  EXPECT_EQ(ErrorOf(SdesView::Parse(OnlyPacket(bytes))), RtcpParseError::kBadSdes);
}

TEST(RtcpSdesTest, SourceCountDisagreeingWithChunksIsRejected) {
  Bytes bytes = SdesPacket();
  bytes[0] = 0x82;  // SC=2, one chunk
  EXPECT_EQ(ErrorOf(SdesView::Parse(OnlyPacket(bytes))), RtcpParseError::kBadSdes);
  bytes[0] = 0x80;  // SC=0, one chunk's worth of trailing bytes
  EXPECT_EQ(ErrorOf(SdesView::Parse(OnlyPacket(bytes))), RtcpParseError::kBadSdes);
  const uint8_t empty[] = {0x80, 0xca, 0x00, 0x00};
  auto sdes = SdesView::Parse(OnlyPacket(empty));
  ASSERT_TRUE(sdes.has_value());
  EXPECT_EQ(sdes->chunks().begin(), sdes->chunks().end());
}

TEST(RtcpByeTest, ReasonRunningPastTheEndIsRejected) {
  const uint8_t bytes[] = {0x81, 0xcb, 0x00, 0x02, 0, 0, 0, 1, 10, 'a', 'b', 'c'};
  EXPECT_EQ(ErrorOf(ByeView::Parse(OnlyPacket(bytes))), RtcpParseError::kBadBye);
  const uint8_t exact[] = {0x81, 0xcb, 0x00, 0x02, 0, 0, 0, 1, 3, 'a', 'b', 'c'};
  auto bye = ByeView::Parse(OnlyPacket(exact));
  ASSERT_TRUE(bye.has_value());
  EXPECT_EQ(bye->reason(), "abc");
}

TEST(RtcpByeTest, SourceCountBeyondThePacketIsRejected) {
  const uint8_t bytes[] = {0x83, 0xcb, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
  EXPECT_EQ(ErrorOf(ByeView::Parse(OnlyPacket(bytes))), RtcpParseError::kBadBye);
}

TEST(RtcpByeTest, WordsAfterTheReasonAreRejected) {
  const uint8_t bytes[] = {0x80, 0xcb, 0x00, 0x02, 2, 'h', 'i', 0, 0, 0, 0, 0};
  EXPECT_EQ(ErrorOf(ByeView::Parse(OnlyPacket(bytes))), RtcpParseError::kBadBye);
}

TEST(RtcpAppTest, BodyWithoutSsrcAndNameIsRejected) {
  const uint8_t bytes[] = {0x80, 0xcc, 0x00, 0x01, 0, 0, 0, 1};
  EXPECT_EQ(ErrorOf(AppView::Parse(OnlyPacket(bytes))), RtcpParseError::kBadApp);
}

TEST(RtcpParseErrorTest, EveryErrorHasADistinctName) {
  std::vector<std::string_view> names;
  for (int e = 0; e <= static_cast<int>(RtcpParseError::kBadApp); ++e) {
    names.push_back(RtcpParseErrorName(static_cast<RtcpParseError>(e)));
    EXPECT_NE(names.back(), "UNKNOWN");
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

}  // namespace
}  // namespace earshot::dataplane

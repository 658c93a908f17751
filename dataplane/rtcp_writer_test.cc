// Tests for RtcpCompoundWriter: every field survives write-then-parse, padding
// and length fields come out right, and no Append writes past its buffer or
// leaves a trace when it fails.

#include "dataplane/rtcp_writer.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/rtcp_packet.h"

namespace earshot::dataplane {

void PrintTo(RtcpWriteError error, std::ostream* os) { *os << RtcpWriteErrorName(error); }

namespace {

using Bytes = std::vector<uint8_t>;

std::optional<RtcpWriteError> ErrorOf(const RtcpWriteResult& result) {
  if (result) return std::nullopt;
  return result.error();
}

// Parses what the writer produced (strict unless told) and returns its packets.
std::vector<RtcpPacketView> ParseAll(std::span<const uint8_t> bytes,
                                     RtcpValidation validation = RtcpValidation::kStrict) {
  auto compound = RtcpCompoundView::Parse(bytes, validation);
  EXPECT_TRUE(compound.has_value()) << RtcpParseErrorName(compound.error());
  if (!compound) return {};
  return std::vector<RtcpPacketView>(compound->begin(), compound->end());
}

RtcpReportBlock MakeBlock(uint32_t seed) {
  return RtcpReportBlock{.ssrc = Ssrc(0xa0000000 + seed),
                         .fraction_lost = static_cast<uint8_t>(seed * 7),
                         .cumulative_lost = -static_cast<int32_t>(seed) * 1000 + 3,
                         .extended_highest_sequence = 0x10000 * seed + 0xfffe,
                         .jitter = seed * 11,
                         .last_sr = 0x12345678 ^ seed,
                         .delay_since_last_sr = 0x10000 + seed};
}

void ExpectBlock(const ReportBlockView& view, const RtcpReportBlock& block) {
  EXPECT_EQ(view.ssrc(), block.ssrc);
  EXPECT_EQ(view.fraction_lost(), block.fraction_lost);
  EXPECT_EQ(view.cumulative_lost(), block.cumulative_lost);
  EXPECT_EQ(view.extended_highest_sequence(), block.extended_highest_sequence);
  EXPECT_EQ(view.jitter(), block.jitter);
  EXPECT_EQ(view.last_sr(), block.last_sr);
  EXPECT_EQ(view.delay_since_last_sr(), block.delay_since_last_sr);
}

TEST(RtcpWriterTest, SenderReportRoundTripsEveryField) {
  const std::array<RtcpReportBlock, 3> blocks = {MakeBlock(1), MakeBlock(2), MakeBlock(3)};
  const uint8_t extension[] = {1, 2, 3, 4, 5, 6, 7, 8};
  const RtcpSenderInfo info{.ntp_timestamp = 0x0123456789abcdefu,
                            .rtp_timestamp = 0xfedcba98,
                            .packet_count = 0xffffffff,
                            .octet_count = 0x80000001};
  std::array<uint8_t, 256> buffer{};
  RtcpCompoundWriter writer(buffer);
  ASSERT_TRUE(writer.AppendSenderReport(Ssrc(0xcafef00d), info, blocks, extension));
  EXPECT_EQ(writer.size(), 4u + 24 + 3 * 24 + 8);
  const std::vector<RtcpPacketView> packets = ParseAll(writer.bytes());
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].count(), 3);
  EXPECT_EQ(packets[0].length_words(), (writer.size() - 4) / 4);

  auto sr = SenderReportView::Parse(packets[0]);
  ASSERT_TRUE(sr.has_value());
  EXPECT_EQ(sr->sender_ssrc(), Ssrc(0xcafef00d));
  EXPECT_EQ(sr->ntp_timestamp(), info.ntp_timestamp);
  EXPECT_EQ(sr->rtp_timestamp(), info.rtp_timestamp);
  EXPECT_EQ(sr->packet_count(), info.packet_count);
  EXPECT_EQ(sr->octet_count(), info.octet_count);
  ASSERT_EQ(sr->report_blocks().size(), 3u);
  size_t index = 0;
  for (const ReportBlockView block : sr->report_blocks()) ExpectBlock(block, blocks[index++]);
  EXPECT_EQ(index, 3u);
  EXPECT_EQ(Bytes(sr->extension().begin(), sr->extension().end()),
            Bytes(std::begin(extension), std::end(extension)));
}

TEST(RtcpWriterTest, ReceiverReportRoundTripsBlocksAndExtension) {
  const std::array<RtcpReportBlock, 2> blocks = {MakeBlock(9), MakeBlock(10)};
  const uint8_t extension[] = {0xde, 0xad, 0xbe, 0xef};
  std::array<uint8_t, 128> buffer{};
  RtcpCompoundWriter writer(buffer);
  ASSERT_TRUE(writer.AppendReceiverReport(Ssrc(42), blocks, extension));
  const std::vector<RtcpPacketView> packets = ParseAll(writer.bytes());
  ASSERT_EQ(packets.size(), 1u);
  auto rr = ReceiverReportView::Parse(packets[0]);
  ASSERT_TRUE(rr.has_value());
  EXPECT_EQ(rr->sender_ssrc(), Ssrc(42));
  ASSERT_EQ(rr->report_blocks().size(), 2u);
  ExpectBlock(rr->report_blocks()[0], blocks[0]);
  ExpectBlock(rr->report_blocks()[1], blocks[1]);
  EXPECT_EQ(Bytes(rr->extension().begin(), rr->extension().end()),
            Bytes(std::begin(extension), std::end(extension)));
}

TEST(RtcpWriterTest, SdesChunksAndItemsRoundTripWithEveryPaddingLength) {
  // Item bytes per chunk 0..3 mod 4 exercise one to four null bytes.
  const SdesItem first[] = {{SdesItemType::kCname, "alice@10.0.0.1"},
                            {SdesItemType::kTool, "earshot"}};
  const SdesItem second[] = {{SdesItemType::kName, ""}, {SdesItemType::kCname, "b"}};
  const std::string longest_note(255, 'n');
  const SdesItem fourth[] = {{SdesItemType::kPriv, "\x03" "abcxyz"},
                             {SdesItemType::kNote, longest_note},
                             {static_cast<SdesItemType>(99), "x"}};
  const SdesChunk chunks[] = {{Ssrc(1), first}, {Ssrc(2), second}, {Ssrc(3), {}},
                              {Ssrc(4), fourth}};
  std::array<uint8_t, 512> buffer{};
  RtcpCompoundWriter writer(buffer);
  ASSERT_TRUE(writer.AppendReceiverReport(Ssrc(1)));
  ASSERT_TRUE(writer.AppendSdes(chunks));
  const std::vector<RtcpPacketView> packets = ParseAll(writer.bytes());
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_EQ(packets[1].count(), 4);
  auto sdes = SdesView::Parse(packets[1]);
  ASSERT_TRUE(sdes.has_value()) << RtcpParseErrorName(sdes.error());
  ASSERT_EQ(sdes->chunk_count(), 4u);

  size_t chunk_index = 0;
  for (const SdesChunkView chunk : sdes->chunks()) {
    ASSERT_LT(chunk_index, std::size(chunks));
    const SdesChunk& expected = chunks[chunk_index++];
    EXPECT_EQ(chunk.ssrc(), expected.ssrc);
    size_t item_index = 0;
    for (const SdesItemView item : chunk.items()) {
      ASSERT_LT(item_index, expected.items.size());
      EXPECT_EQ(item.type(), expected.items[item_index].type);
      EXPECT_EQ(item.text(), expected.items[item_index].text);
      ++item_index;
    }
    EXPECT_EQ(item_index, expected.items.size());
  }
  EXPECT_EQ(chunk_index, 4u);
  EXPECT_EQ(sdes->FindCname(Ssrc(1)), "alice@10.0.0.1");
  EXPECT_EQ(sdes->FindCname(Ssrc(2)), "b");
  EXPECT_EQ(sdes->FindCname(Ssrc(3)), std::nullopt);
  EXPECT_EQ(sdes->FindCname(Ssrc(4)), std::nullopt);
  EXPECT_EQ(sdes->FindCname(Ssrc(5)), std::nullopt);
}

TEST(RtcpWriterTest, SdesCnameChunkIsPaddedWithOneToFourNulls) {
  for (size_t length = 0; length <= 8; ++length) {
    const std::string cname(length, 'c');
    std::array<uint8_t, 64> buffer{};
    buffer.fill(0xee);
    RtcpCompoundWriter writer(buffer);
    ASSERT_TRUE(writer.AppendSdesCname(Ssrc(7), cname));
    // Header, SSRC, type and length, text, at least one null, word-aligned.
    const size_t expected = 8 + ((2 + length + 1 + 3) & ~size_t{3});
    ASSERT_EQ(writer.size(), expected) << length;
    for (size_t i = 8 + 2 + length; i < expected; ++i) EXPECT_EQ(buffer[i], 0) << length;
    EXPECT_EQ(buffer[expected], 0xee);
    auto sdes = SdesView::Parse(ParseAll(writer.bytes(), RtcpValidation::kReducedSize).at(0));
    ASSERT_TRUE(sdes.has_value());
    EXPECT_EQ(sdes->FindCname(Ssrc(7)), cname);
  }
}

TEST(RtcpWriterTest, ByeRoundTripsSourcesAndReasonOfEveryPaddingLength) {
  const Ssrc sources[] = {Ssrc(11), Ssrc(22)};
  for (size_t length = 0; length <= 9; ++length) {
    const std::string reason(length, 'r');
    std::array<uint8_t, 64> buffer{};
    buffer.fill(0xee);
    RtcpCompoundWriter writer(buffer);
    ASSERT_TRUE(writer.AppendBye(sources, reason));
    const size_t reason_size = length == 0 ? 0 : ((1 + length + 3) & ~size_t{3});
    ASSERT_EQ(writer.size(), 12 + reason_size);
    for (size_t i = 12 + 1 + length; i < writer.size(); ++i) EXPECT_EQ(buffer[i], 0);
    auto bye = ByeView::Parse(ParseAll(writer.bytes(), RtcpValidation::kReducedSize).at(0));
    ASSERT_TRUE(bye.has_value()) << RtcpParseErrorName(bye.error());
    ASSERT_EQ(bye->ssrcs().size(), 2u);
    EXPECT_EQ(bye->ssrcs()[0], Ssrc(11));
    EXPECT_EQ(bye->ssrcs()[1], Ssrc(22));
    EXPECT_EQ(std::vector<Ssrc>(bye->ssrcs().begin(), bye->ssrcs().end()),
              std::vector<Ssrc>(std::begin(sources), std::end(sources)));
    EXPECT_EQ(bye->has_reason(), length > 0);
    EXPECT_EQ(bye->reason(), reason);
  }
}

TEST(RtcpWriterTest, ByeWithoutSourcesOrReasonIsAnEmptyPacket) {
  std::array<uint8_t, 8> buffer{};
  RtcpCompoundWriter writer(buffer);
  ASSERT_TRUE(writer.AppendBye({}));
  EXPECT_EQ(writer.size(), 4u);
  auto bye = ByeView::Parse(ParseAll(writer.bytes(), RtcpValidation::kReducedSize).at(0));
  ASSERT_TRUE(bye.has_value());
  EXPECT_TRUE(bye->ssrcs().empty());
  EXPECT_FALSE(bye->has_reason());
  EXPECT_EQ(bye->reason(), "");
}

TEST(RtcpWriterTest, AppRoundTripsSubtypeNameAndData) {
  const uint8_t data[] = {9, 8, 7, 6, 5, 4, 3, 2};
  std::array<uint8_t, 64> buffer{};
  RtcpCompoundWriter writer(buffer);
  ASSERT_TRUE(writer.AppendReceiverReport(Ssrc(1)));
  ASSERT_TRUE(writer.AppendApp(31, Ssrc(0x01020304), "ERSH", data));
  ASSERT_TRUE(writer.AppendApp(0, Ssrc(5), "null"));
  const std::vector<RtcpPacketView> packets = ParseAll(writer.bytes());
  ASSERT_EQ(packets.size(), 3u);
  auto app = AppView::Parse(packets[1]);
  ASSERT_TRUE(app.has_value());
  EXPECT_EQ(app->subtype(), 31);
  EXPECT_EQ(app->ssrc(), Ssrc(0x01020304));
  EXPECT_EQ(app->name(), "ERSH");
  EXPECT_EQ(Bytes(app->data().begin(), app->data().end()), Bytes(std::begin(data), std::end(data)));
  auto empty = AppView::Parse(packets[2]);
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->subtype(), 0);
  EXPECT_EQ(empty->name(), "null");
  EXPECT_TRUE(empty->data().empty());
}

TEST(RtcpWriterTest, AppendPacketForwardsAParsedPacketWithoutItsPadding) {
  // An APP packet with 4 bytes of padding, as the last packet of its compound.
  const uint8_t padded_app[] = {0xa3, 0xcc, 0x00, 0x04, 0, 0, 0, 9, 'A', 'B', 'C', 'D',
                                1,    2,    3,    4,    0, 0, 0, 4};
  auto source = RtcpPacketView::Parse(padded_app);
  ASSERT_TRUE(source.has_value());
  std::array<uint8_t, 64> buffer{};
  RtcpCompoundWriter writer(buffer);
  ASSERT_TRUE(writer.AppendPacket(*source));
  ASSERT_TRUE(writer.AppendBye({}));  // fine after it, since the P bit is gone
  const std::vector<RtcpPacketView> packets =
      ParseAll(writer.bytes(), RtcpValidation::kReducedSize);
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_FALSE(packets[0].padding());
  EXPECT_EQ(packets[0].size(), 16u);
  EXPECT_EQ(Bytes(packets[0].packet().begin() + 1, packets[0].packet().end()),
            Bytes({0xcc, 0x00, 0x03, 0, 0, 0, 9, 'A', 'B', 'C', 'D', 1, 2, 3, 4}));
  auto app = AppView::Parse(packets[0]);
  ASSERT_TRUE(app.has_value());
  EXPECT_EQ(app->subtype(), 3);
  EXPECT_EQ(app->name(), "ABCD");
}

// Every Append, tried with each buffer size short of what it needs: it fails,
// leaves size() alone and writes nothing, not even inside the buffer.
TEST(RtcpWriterTest, EveryAppendFailsCleanlyWhenTheBufferIsOneByteShort) {
  const RtcpReportBlock block = MakeBlock(1);
  const uint8_t word[] = {1, 2, 3, 4};
  const Ssrc ssrc(3);
  const SdesItem items[] = {{SdesItemType::kCname, "abc"}, {SdesItemType::kTool, "t"}};
  const SdesChunk chunk{Ssrc(3), items};
  const std::vector<std::function<RtcpWriteResult(RtcpCompoundWriter&)>> appends = {
      [&](auto& w) { return w.AppendSenderReport(Ssrc(1), {}, {&block, 1}, word); },
      [&](auto& w) { return w.AppendReceiverReport(Ssrc(1), {&block, 1}, word); },
      [&](auto& w) { return w.AppendReceiverReport(Ssrc(1)); },
      [&](auto& w) { return w.AppendSdes({&chunk, 1}); },
      [&](auto& w) { return w.AppendSdesCname(Ssrc(1), "cname"); },
      [&](auto& w) { return w.AppendBye({&ssrc, 1}, "bye"); },
      [&](auto& w) { return w.AppendApp(1, Ssrc(1), "name", word); },
      [&](auto& w) { return w.AppendRaw(RtcpPacketType::kRtpfb, 1, word); },
  };
  for (size_t a = 0; a < appends.size(); ++a) {
    std::array<uint8_t, 128> measure{};
    RtcpCompoundWriter sizer(measure);
    ASSERT_TRUE(appends[a](sizer));
    const size_t needed = sizer.size();
    constexpr size_t kPrefix = 8;  // something already written, to keep
    for (size_t available = 0; available < needed; ++available) {
      std::array<uint8_t, 256> storage;
      storage.fill(0xee);
      RtcpCompoundWriter writer{std::span(storage).first(kPrefix + available)};
      ASSERT_TRUE(writer.AppendReceiverReport(Ssrc(9)));
      EXPECT_EQ(ErrorOf(appends[a](writer)), RtcpWriteError::kOutputTooSmall)
          << "append " << a << " with " << available << " bytes";
      EXPECT_EQ(writer.size(), kPrefix);
      EXPECT_EQ(writer.remaining(), available);
      EXPECT_TRUE(std::all_of(storage.begin() + kPrefix, storage.end(),
                              [](uint8_t b) { return b == 0xee; }))
          << "append " << a << " with " << available << " bytes";
    }
    std::array<uint8_t, 256> storage{};
    RtcpCompoundWriter writer{std::span(storage).first(needed)};
    EXPECT_TRUE(appends[a](writer)) << "append " << a;
    EXPECT_EQ(writer.remaining(), 0u);
  }
}

TEST(RtcpWriterTest, ArgumentsTheWireCannotCarryAreRejected) {
  std::array<uint8_t, 2048> buffer{};
  RtcpCompoundWriter writer(buffer);
  const std::vector<RtcpReportBlock> blocks(32, MakeBlock(1));
  const std::vector<Ssrc> sources(32, Ssrc(1));
  const uint8_t odd[] = {1, 2, 3};
  const std::string long_text(256, 'x');
  const SdesItem long_item[] = {{SdesItemType::kCname, long_text}};
  const SdesItem end_item[] = {{SdesItemType::kEnd, ""}};
  const SdesChunk long_chunk[] = {{Ssrc(1), long_item}};
  const SdesChunk end_chunk[] = {{Ssrc(1), end_item}};
  const std::vector<SdesChunk> many_chunks(32, SdesChunk{Ssrc(1), {}});

  EXPECT_EQ(ErrorOf(writer.AppendSenderReport(Ssrc(1), {}, blocks)),
            RtcpWriteError::kCountTooLarge);
  EXPECT_EQ(ErrorOf(writer.AppendReceiverReport(Ssrc(1), blocks)),
            RtcpWriteError::kCountTooLarge);
  EXPECT_EQ(ErrorOf(writer.AppendSenderReport(Ssrc(1), {}, {}, odd)),
            RtcpWriteError::kNotWordAligned);
  EXPECT_EQ(ErrorOf(writer.AppendReceiverReport(Ssrc(1), {}, odd)),
            RtcpWriteError::kNotWordAligned);
  EXPECT_EQ(ErrorOf(writer.AppendSdes(many_chunks)), RtcpWriteError::kCountTooLarge);
  EXPECT_EQ(ErrorOf(writer.AppendSdes(long_chunk)), RtcpWriteError::kTextTooLong);
  EXPECT_EQ(ErrorOf(writer.AppendSdesCname(Ssrc(1), long_text)), RtcpWriteError::kTextTooLong);
  EXPECT_EQ(ErrorOf(writer.AppendSdes(end_chunk)), RtcpWriteError::kInvalidArgument);
  EXPECT_EQ(ErrorOf(writer.AppendBye(sources)), RtcpWriteError::kCountTooLarge);
  EXPECT_EQ(ErrorOf(writer.AppendBye({}, long_text)), RtcpWriteError::kTextTooLong);
  EXPECT_EQ(ErrorOf(writer.AppendApp(32, Ssrc(1), "name")), RtcpWriteError::kCountTooLarge);
  EXPECT_EQ(ErrorOf(writer.AppendApp(0, Ssrc(1), "nam")), RtcpWriteError::kInvalidArgument);
  EXPECT_EQ(ErrorOf(writer.AppendApp(0, Ssrc(1), "names")), RtcpWriteError::kInvalidArgument);
  EXPECT_EQ(ErrorOf(writer.AppendApp(0, Ssrc(1), "name", odd)), RtcpWriteError::kNotWordAligned);
  EXPECT_EQ(ErrorOf(writer.AppendRaw(RtcpPacketType::kPsfb, 32, {})),
            RtcpWriteError::kCountTooLarge);
  EXPECT_EQ(ErrorOf(writer.AppendRaw(RtcpPacketType::kPsfb, 1, odd)),
            RtcpWriteError::kNotWordAligned);
  EXPECT_EQ(writer.size(), 0u);
}

TEST(RtcpWriterTest, BodyBeyondTheLengthFieldIsRejected) {
  std::vector<uint8_t> buffer(4 + 0x10000 * 4);
  const std::vector<uint8_t> body(0x10000 * 4);
  RtcpCompoundWriter writer(buffer);
  EXPECT_EQ(ErrorOf(writer.AppendRaw(RtcpPacketType::kXr, 0, body)),
            RtcpWriteError::kPacketTooLong);
  ASSERT_TRUE(writer.AppendRaw(RtcpPacketType::kXr, 0, std::span(body).first(0xffff * 4)));
  const std::vector<RtcpPacketView> packets =
      ParseAll(writer.bytes(), RtcpValidation::kReducedSize);
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].length_words(), 0xffff);
}

TEST(RtcpWriterTest, ClearStartsOverInTheSameBuffer) {
  std::array<uint8_t, 16> buffer{};
  RtcpCompoundWriter writer(buffer);
  ASSERT_TRUE(writer.AppendReceiverReport(Ssrc(1)));
  ASSERT_TRUE(writer.AppendReceiverReport(Ssrc(2)));
  EXPECT_EQ(ErrorOf(writer.AppendReceiverReport(Ssrc(3))), RtcpWriteError::kOutputTooSmall);
  writer.Clear();
  EXPECT_EQ(writer.size(), 0u);
  ASSERT_TRUE(writer.AppendReceiverReport(Ssrc(3)));
  auto rr = ReceiverReportView::Parse(ParseAll(writer.bytes()).at(0));
  ASSERT_TRUE(rr.has_value());
  EXPECT_EQ(rr->sender_ssrc(), Ssrc(3));
}

TEST(RtcpWriteErrorTest, EveryErrorHasADistinctName) {
  std::vector<std::string_view> names;
  for (int e = 0; e <= static_cast<int>(RtcpWriteError::kInvalidArgument); ++e) {
    names.push_back(RtcpWriteErrorName(static_cast<RtcpWriteError>(e)));
    EXPECT_NE(names.back(), "UNKNOWN");
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

}  // namespace
}  // namespace earshot::dataplane

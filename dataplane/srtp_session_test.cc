#include "dataplane/srtp_session.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/rtcp_writer.h"
#include "dataplane/rtp_packet.h"
#include "dataplane/srtp_stream.h"

namespace earshot::dataplane {
namespace {

constexpr uint32_t kSsrc = 0x343da99b;
constexpr size_t kPayloadBytes = 160;  // 20 ms of PCMU
constexpr size_t kPlainBytes = kRtpFixedHeaderSize + kPayloadBytes;

// One datagram with the tail room protect needs; libsrtp wants 32-bit alignment.
struct Packet {
  alignas(8) std::array<uint8_t, kPlainBytes + kSrtpMaxTrailer + 64> bytes{};
  size_t size = 0;

  std::span<uint8_t> buffer() { return bytes; }
  std::span<uint8_t> wire() { return {bytes.data(), size}; }
  std::vector<uint8_t> contents() const { return {bytes.begin(), bytes.begin() + size}; }
};

size_t TagBytes(SrtpSuite suite) {
  switch (suite) {
    case SrtpSuite::kAesCm128HmacSha1_32: return 4;
    case SrtpSuite::kAeadAes128Gcm:
    case SrtpSuite::kAeadAes256Gcm: return 16;
    default: return 10;
  }
}

// A PCMU packet whose payload depends on the sequence number, so a packet
// decrypted under the wrong index could not pass for the right one.
Packet MakeRtp(uint16_t seq, uint32_t ssrc = kSsrc) {
  std::array<uint8_t, kPayloadBytes> payload;
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(seq * 7 + i);
  const RtpHeaderFields fields{false, PayloadType(0), SequenceNumber(seq),
                               RtpTimestamp(uint32_t{seq} * 160u), Ssrc(ssrc), {}};
  Packet packet;
  const auto written = WriteRtp(fields, payload, packet.buffer());
  EXPECT_TRUE(written);
  packet.size = written.value_or(0);
  return packet;
}

SrtpKey Key(SrtpSuite suite) {
  Result<SrtpKey> key = GenerateSrtpKey(suite);
  EXPECT_TRUE(key);
  return std::move(*key);
}

SrtpSession Outbound(const SrtpKey& key) {
  Result<SrtpSession> session = SrtpSession::Outbound(key);
  EXPECT_TRUE(session) << session.error().message;
  return std::move(*session);
}

SrtpSession Inbound(const SrtpKey& key, int window = SrtpSession::kDefaultReplayWindow) {
  Result<SrtpSession> session = SrtpSession::Inbound(key, window);
  EXPECT_TRUE(session) << session.error().message;
  return std::move(*session);
}

// The SRTP form of MakeRtp(seq, ssrc).
Packet Protected(SrtpSession& tx, uint16_t seq, uint32_t ssrc = kSsrc) {
  Packet packet = MakeRtp(seq, ssrc);
  const tl::expected<size_t, SrtpError> size = tx.ProtectRtp(packet.buffer(), packet.size);
  EXPECT_TRUE(size) << "protect seq " << seq << ": " << SrtpErrorName(size.error());
  packet.size = size.value_or(0);
  return packet;
}

// Unprotects a copy, so the caller's packet can be delivered again.
tl::expected<size_t, SrtpError> Deliver(SrtpSession& rx, Packet packet) {
  return rx.UnprotectRtp(packet.wire());
}

// Delivers and checks that the plain packet is exactly what the sender built.
::testing::AssertionResult DeliversOriginal(SrtpSession& rx, Packet packet, uint16_t seq,
                                             uint32_t ssrc = kSsrc) {
  const tl::expected<size_t, SrtpError> size = rx.UnprotectRtp(packet.wire());
  if (!size) {
    return ::testing::AssertionFailure()
           << "seq " << seq << ": " << SrtpErrorName(size.error());
  }
  packet.size = *size;
  if (packet.contents() != MakeRtp(seq, ssrc).contents()) {
    return ::testing::AssertionFailure() << "seq " << seq << ": plain bytes differ";
  }
  return ::testing::AssertionSuccess();
}

class SrtpSuiteSessionTest : public ::testing::TestWithParam<SrtpSuite> {};

INSTANTIATE_TEST_SUITE_P(SrtpAllSuites, SrtpSuiteSessionTest, ::testing::ValuesIn(kAllSrtpSuites),
                         [](const ::testing::TestParamInfo<SrtpSuite>& suite_info) {
                           return std::string(SrtpSuiteName(suite_info.param));
                         });

TEST_P(SrtpSuiteSessionTest, ProtectThenUnprotectReturnsTheOriginalBytes) {
  const SrtpKey key = Key(GetParam());
  SrtpSession tx = Outbound(key);
  SrtpSession rx = Inbound(key);
  for (uint16_t seq = 1000; seq < 1010; ++seq) {
    const Packet plain = MakeRtp(seq);
    const Packet srtp = Protected(tx, seq);
    EXPECT_EQ(srtp.size, kPlainBytes + TagBytes(GetParam()));
    // Header in clear, payload encrypted.
    EXPECT_TRUE(std::equal(plain.bytes.begin(), plain.bytes.begin() + kRtpFixedHeaderSize,
                           srtp.bytes.begin()));
    EXPECT_FALSE(std::equal(plain.bytes.begin() + kRtpFixedHeaderSize,
                            plain.bytes.begin() + kPlainBytes,
                            srtp.bytes.begin() + kRtpFixedHeaderSize));
    EXPECT_TRUE(DeliversOriginal(rx, srtp, seq));
  }
}

TEST_P(SrtpSuiteSessionTest, SrtcpRoundTripsAndRefusesReplay) {
  const SrtpKey key = Key(GetParam());
  SrtpSession tx = Outbound(key);
  SrtpSession rx = Inbound(key);

  Packet packet;
  RtcpCompoundWriter writer(packet.buffer());
  ASSERT_TRUE(writer.AppendReceiverReport(Ssrc(kSsrc)));
  ASSERT_TRUE(writer.AppendSdesCname(Ssrc(kSsrc), "earshot@test"));
  packet.size = writer.size();
  const std::vector<uint8_t> plain = packet.contents();

  const tl::expected<size_t, SrtpError> size = tx.ProtectRtcp(packet.buffer(), packet.size);
  ASSERT_TRUE(size) << SrtpErrorName(size.error());
  // E flag and index, then the tag: 80 bits for the _32 suite too (RFC 4568 §6.2).
  const size_t rtcp_tag = GetParam() == SrtpSuite::kAesCm128HmacSha1_32 ? 10 : TagBytes(GetParam());
  EXPECT_EQ(*size, plain.size() + 4 + rtcp_tag);
  packet.size = *size;
  const Packet captured = packet;

  const tl::expected<size_t, SrtpError> plain_size = rx.UnprotectRtcp(packet.wire());
  ASSERT_TRUE(plain_size) << SrtpErrorName(plain_size.error());
  packet.size = *plain_size;
  EXPECT_EQ(packet.contents(), plain);

  Packet replay = captured;
  const tl::expected<size_t, SrtpError> again = rx.UnprotectRtcp(replay.wire());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), SrtpError::kReplayed);
}

// A failed unprotect must change nothing, so the caller can count and drop:
// the next real packet, and the real packet the forgery imitated, still pass.
TEST_P(SrtpSuiteSessionTest, ForgedPacketLeavesStateUnchanged) {
  const SrtpKey key = Key(GetParam());
  SrtpSession tx = Outbound(key);
  SrtpSession rx = Inbound(key);
  ASSERT_TRUE(DeliversOriginal(rx, Protected(tx, 10), 10));
  const Packet real_11 = Protected(tx, 11);
  const Packet real_12 = Protected(tx, 12);

  Packet bad_tag = real_11;
  bad_tag.bytes[bad_tag.size - 1] ^= 0x01;
  Packet bad_payload = real_11;
  bad_payload.bytes[kRtpFixedHeaderSize + 5] ^= 0x80;
  // The header is authenticated too: a forged sequence number far ahead must
  // not drag the replay window forward.
  Packet bad_seq = real_11;
  bad_seq.bytes[2] = 0x40;
  for (const Packet& forged : {bad_tag, bad_payload, bad_seq}) {
    const tl::expected<size_t, SrtpError> result = Deliver(rx, forged);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), SrtpError::kAuthenticationFailed);
  }
  EXPECT_TRUE(DeliversOriginal(rx, real_11, 11));
  EXPECT_TRUE(DeliversOriginal(rx, real_12, 12));
  EXPECT_EQ(rx.RolloverCounter(Ssrc(kSsrc)), 0u);
}

TEST_P(SrtpSuiteSessionTest, OutboundRekeyContinuesAcrossAWrap) {
  const SrtpKey old_key = Key(GetParam());
  const SrtpKey new_key = Key(GetParam());
  SrtpSession tx = Outbound(old_key);
  SrtpSession rx = Inbound(old_key);

  // Cross one wrap first, so that continuing means ROC 1 and then 2.
  uint16_t seq = 65500;
  for (int i = 0; i < 100; ++i, ++seq) ASSERT_TRUE(DeliversOriginal(rx, Protected(tx, seq), seq));
  ASSERT_EQ(tx.RolloverCounter(Ssrc(kSsrc)), 1u);
  // Then forward to just before the next wrap, in steps under half the
  // sequence space (a bigger jump would read as a step back, RFC 3711 §3.3.1).
  for (uint16_t next : {30000, 60000, 65530, 65531, 65532}) {
    seq = next;
    ASSERT_TRUE(DeliversOriginal(rx, Protected(tx, seq), seq));
  }
  seq = 65533;
  const Packet in_flight = Protected(tx, seq++);  // sent under the old key, arrives late

  ASSERT_TRUE(tx.Rekey(new_key));
  ASSERT_TRUE(rx.Rekey(new_key));

  const tl::expected<size_t, SrtpError> late = Deliver(rx, in_flight);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), SrtpError::kAuthenticationFailed);

  // 65534, 65535, then 0..20 with ROC 2, all under the new key.
  for (int i = 0; i < 23; ++i, ++seq) ASSERT_TRUE(DeliversOriginal(rx, Protected(tx, seq), seq));
  EXPECT_EQ(tx.RolloverCounter(Ssrc(kSsrc)), 2u);
  EXPECT_EQ(rx.RolloverCounter(Ssrc(kSsrc)), 2u);
}

TEST(SrtpSessionTest, RekeyMayChangeTheSuite) {
  const SrtpKey old_key = Key(SrtpSuite::kAesCm128HmacSha1_80);
  const SrtpKey new_key = Key(SrtpSuite::kAeadAes256Gcm);
  SrtpSession tx = Outbound(old_key);
  SrtpSession rx = Inbound(old_key);
  for (uint16_t seq = 100; seq < 110; ++seq) {
    ASSERT_TRUE(DeliversOriginal(rx, Protected(tx, seq), seq));
  }
  ASSERT_TRUE(tx.Rekey(new_key));
  ASSERT_TRUE(rx.Rekey(new_key));
  EXPECT_EQ(tx.suite(), SrtpSuite::kAeadAes256Gcm);
  for (uint16_t seq = 110; seq < 120; ++seq) {
    const Packet srtp = Protected(tx, seq);
    EXPECT_EQ(srtp.size, kPlainBytes + 16);
    ASSERT_TRUE(DeliversOriginal(rx, srtp, seq));
  }
}

// Why the inbound side re-keys in place: a new session guesses ROC 0.
TEST(SrtpSessionTest, FreshInboundSessionAssumesRocZero) {
  const SrtpKey old_key = Key(SrtpSuite::kAesCm128HmacSha1_80);
  const SrtpKey new_key = Key(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession tx = Outbound(old_key);
  for (uint16_t seq = 65534; seq != 2; ++seq) (void)Protected(tx, seq);  // wraps: ROC 1
  ASSERT_TRUE(tx.Rekey(new_key));
  SrtpSession fresh = Inbound(new_key);
  const tl::expected<size_t, SrtpError> result = Deliver(fresh, Protected(tx, 2));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), SrtpError::kAuthenticationFailed);
  EXPECT_EQ(fresh.RolloverCounter(Ssrc(kSsrc)), std::nullopt);
}

TEST(SrtpSessionTest, ReplayedPacketIsRefused) {
  const SrtpKey key = Key(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession tx = Outbound(key);
  SrtpSession rx = Inbound(key);
  const Packet captured = Protected(tx, 100);
  ASSERT_TRUE(DeliversOriginal(rx, captured, 100));
  const tl::expected<size_t, SrtpError> again = Deliver(rx, captured);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), SrtpError::kReplayed);
}

TEST(SrtpSessionTest, PacketOlderThanTheWindowIsTooOld) {
  const SrtpKey key = Key(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession tx = Outbound(key);
  SrtpSession rx = Inbound(key, 64);
  std::vector<Packet> sent;
  for (uint16_t seq = 1000; seq <= 1100; ++seq) sent.push_back(Protected(tx, seq));
  ASSERT_TRUE(DeliversOriginal(rx, sent.back(), 1100));
  const tl::expected<size_t, SrtpError> old = Deliver(rx, sent.front());  // 100 behind
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error(), SrtpError::kReplayTooOld);
  EXPECT_TRUE(DeliversOriginal(rx, sent[1050 - 1000], 1050));  // 50 behind: inside
}

TEST(SrtpSessionTest, ReorderingInsideTheWindowIsAccepted) {
  const SrtpKey key = Key(SrtpSuite::kAeadAes128Gcm);
  SrtpSession tx = Outbound(key);
  SrtpSession rx = Inbound(key);
  std::vector<Packet> sent;
  for (uint16_t seq = 500; seq < 508; ++seq) sent.push_back(Protected(tx, seq));
  for (int i : {0, 3, 1, 2, 7, 5, 6, 4}) {
    EXPECT_TRUE(DeliversOriginal(rx, sent[i], static_cast<uint16_t>(500 + i)));
  }
  for (const Packet& packet : sent) {
    const tl::expected<size_t, SrtpError> again = Deliver(rx, packet);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), SrtpError::kReplayed);
  }
}

TEST(SrtpSessionTest, PlainRtpIsRefused) {
  const SrtpKey key = Key(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession rx = Inbound(key);
  const tl::expected<size_t, SrtpError> plain = Deliver(rx, MakeRtp(7));
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error(), SrtpError::kAuthenticationFailed);

  Packet header_only = MakeRtp(8);
  header_only.size = kRtpFixedHeaderSize;
  EXPECT_FALSE(Deliver(rx, header_only));
  Packet tiny = MakeRtp(9);
  tiny.size = 5;
  const tl::expected<size_t, SrtpError> short_result = Deliver(rx, tiny);
  ASSERT_FALSE(short_result);
  EXPECT_EQ(short_result.error(), SrtpError::kMalformed);
  EXPECT_EQ(rx.RolloverCounter(Ssrc(kSsrc)), std::nullopt);
}

// The libsrtp property the header relies on: an unknown SSRC gets a stream
// (an allocation) only once one of its packets has authenticated.
TEST(SrtpSessionTest, ForgedPacketFromNewSsrcCreatesNoStream) {
  const SrtpKey key = Key(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession tx = Outbound(key);
  SrtpSession rx = Inbound(key);
  constexpr uint32_t kOther = 0x01020304;
  Packet real = Protected(tx, 40, kOther);
  Packet forged = real;
  forged.bytes[forged.size - 2] ^= 0x10;
  const tl::expected<size_t, SrtpError> result = Deliver(rx, forged);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), SrtpError::kAuthenticationFailed);
  EXPECT_EQ(rx.RolloverCounter(Ssrc(kOther)), std::nullopt);
  EXPECT_TRUE(DeliversOriginal(rx, real, 40, kOther));
  EXPECT_EQ(rx.RolloverCounter(Ssrc(kOther)), 0u);
}

// 70,000 packets at 50 pps is 23 minutes: the sequence wraps and both sides
// must agree on ROC 1 without being told.
TEST(SrtpSessionTest, SequenceWrapCarriesTheRolloverCounter) {
  const SrtpKey key = Key(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession tx = Outbound(key);
  SrtpSession rx = Inbound(key);
  uint16_t seq = 60000;
  int accepted = 0;
  for (int i = 0; i < 70000; ++i, ++seq) {
    if (DeliversOriginal(rx, Protected(tx, seq), seq)) ++accepted;
  }
  EXPECT_EQ(accepted, 70000);
  EXPECT_EQ(tx.RolloverCounter(Ssrc(kSsrc)), 1u);
  EXPECT_EQ(rx.RolloverCounter(Ssrc(kSsrc)), 1u);
}

TEST(SrtpSessionTest, ProtectingTheSameIndexTwiceIsRefused) {
  const SrtpKey key = Key(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession tx = Outbound(key);
  (void)Protected(tx, 5);
  Packet again = MakeRtp(5);
  const tl::expected<size_t, SrtpError> result = tx.ProtectRtp(again.buffer(), again.size);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), SrtpError::kReplayed);
}

TEST(SrtpSessionTest, ProtectNeedsTailRoom) {
  const SrtpKey key = Key(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession tx = Outbound(key);
  Packet packet = MakeRtp(1);
  const std::vector<uint8_t> plain = packet.contents();
  const tl::expected<size_t, SrtpError> result =
      tx.ProtectRtp(std::span(packet.bytes).first(packet.size + kSrtpMaxTrailer - 1), packet.size);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), SrtpError::kNoRoom);
  EXPECT_EQ(packet.contents(), plain);  // untouched
  EXPECT_TRUE(tx.ProtectRtp(std::span(packet.bytes).first(packet.size + kSrtpMaxTrailer),
                            packet.size));
}

TEST(SrtpSessionTest, ReplayWindowSizeIsValidated) {
  const SrtpKey key = Key(SrtpSuite::kAesCm128HmacSha1_80);
  for (int window : {-1, 0, 63, SrtpSession::kMaxReplayWindow + 1, 1 << 20}) {
    const Result<SrtpSession> session = SrtpSession::Inbound(key, window);
    ASSERT_FALSE(session) << window;
    EXPECT_EQ(session.error().code, ErrorCode::kInvalidArgument);
  }
  for (int window : {64, 128, 1000, SrtpSession::kMaxReplayWindow}) {
    const Result<SrtpSession> session = SrtpSession::Inbound(key, window);
    EXPECT_TRUE(session) << window << ": " << session.error().message;
  }
}

TEST(SrtpSessionTest, MovedFromKeyIsRefused) {
  SrtpKey key = Key(SrtpSuite::kAesCm128HmacSha1_80);
  const SrtpKey taken = std::move(key);
  // NOLINTNEXTLINE(bugprone-use-after-move): refusing a moved-from key is the point
  const Result<SrtpSession> session = SrtpSession::Outbound(key);
  ASSERT_FALSE(session);
  EXPECT_EQ(session.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(SrtpSession::Outbound(taken));
}

TEST(SrtpSessionTest, SessionsMoveWithTheirState) {
  const SrtpKey key = Key(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession tx = Outbound(key);
  SrtpSession rx = Inbound(key);
  const Packet first = Protected(tx, 1);
  ASSERT_TRUE(DeliversOriginal(rx, first, 1));
  SrtpSession moved_rx = std::move(rx);
  SrtpSession moved_tx = std::move(tx);
  const tl::expected<size_t, SrtpError> replay = Deliver(moved_rx, first);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error(), SrtpError::kReplayed);
  EXPECT_TRUE(DeliversOriginal(moved_rx, Protected(moved_tx, 2), 2));
}

// The stream table has kSrtpMaxStreams slots. Inbound, a new authentic SSRC
// takes the least recently used slot when all are full; the SSRCs still in
// use keep their state.
TEST(SrtpSessionTest, InboundReusesTheLeastRecentlyUsedStreamWhenFull) {
  const SrtpKey key = Key(SrtpSuite::kAeadAes128Gcm);
  SrtpSession tx = Outbound(key);
  SrtpSession rx = Inbound(key);
  SrtpSession tx_late = Outbound(key);  // tx's table is full of the first eight
  const uint32_t first = 0x1000;
  for (uint32_t i = 0; i < kSrtpMaxStreams; ++i) {
    ASSERT_TRUE(DeliversOriginal(rx, Protected(tx, 65535, first + i), 65535, first + i));
  }
  // Every stream but the first wraps (ROC 1), so the first is least recent.
  for (uint32_t i = 1; i < kSrtpMaxStreams; ++i) {
    ASSERT_TRUE(DeliversOriginal(rx, Protected(tx, 0, first + i), 0, first + i));
  }
  // A forgery from a ninth SSRC changes nothing.
  Packet forged = Protected(tx_late, 7, 0x9999);
  forged.bytes[forged.size - 1] ^= 1;
  EXPECT_FALSE(Deliver(rx, forged));
  EXPECT_EQ(rx.RolloverCounter(Ssrc(first)), 0u);
  // An authentic one takes the first SSRC's slot.
  ASSERT_TRUE(DeliversOriginal(rx, Protected(tx_late, 8, 0x9999), 8, 0x9999));
  EXPECT_EQ(rx.RolloverCounter(Ssrc(first)), std::nullopt);
  EXPECT_EQ(rx.RolloverCounter(Ssrc(0x9999)), 0u);
  for (uint32_t i = 1; i < kSrtpMaxStreams; ++i) {
    EXPECT_EQ(rx.RolloverCounter(Ssrc(first + i)), 1u);
    EXPECT_TRUE(DeliversOriginal(rx, Protected(tx, 1, first + i), 1, first + i));
  }
}

// Outbound never evicts: a re-created stream would restart at ROC 0 and
// reuse keystream, so an SSRC beyond the table is refused.
TEST(SrtpSessionTest, OutboundRefusesMoreSsrcsThanTheTableHolds) {
  const SrtpKey key = Key(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession tx = Outbound(key);
  for (uint32_t i = 0; i < kSrtpMaxStreams; ++i) (void)Protected(tx, 1, 0x2000 + i);
  Packet ninth = MakeRtp(1, 0x3000);
  const tl::expected<size_t, SrtpError> result = tx.ProtectRtp(ninth.buffer(), ninth.size);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), SrtpError::kOther);
  Packet known = MakeRtp(2, 0x2000);
  EXPECT_TRUE(tx.ProtectRtp(known.buffer(), known.size));
}

TEST(SrtpSessionTest, EachDirectionRefusesTheOthersOperation) {
  const SrtpKey key = Key(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession tx = Outbound(key);
  SrtpSession rx = Inbound(key);
  Packet packet = MakeRtp(3);
  const tl::expected<size_t, SrtpError> protect = rx.ProtectRtp(packet.buffer(), packet.size);
  ASSERT_FALSE(protect);
  EXPECT_EQ(protect.error(), SrtpError::kOther);
  const tl::expected<size_t, SrtpError> unprotect = tx.UnprotectRtp(packet.wire());
  ASSERT_FALSE(unprotect);
  EXPECT_EQ(unprotect.error(), SrtpError::kOther);
}

}  // namespace
}  // namespace earshot::dataplane

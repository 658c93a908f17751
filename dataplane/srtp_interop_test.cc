// Our SRTP (srtp_session.h) against libsrtp2 as the reference: with the same
// key both must write the same bytes, each must read what the other wrote,
// and both must refuse the same replays, stale packets and forgeries. Every
// suite, RTP and RTCP, random payload sizes, CSRCs and header extensions, and
// a sequence wrap (ROC 0 -> 1).

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/srtp_key.h"
#include "dataplane/srtp_session.h"
#include "tests/support/libsrtp_reference.h"

namespace earshot::dataplane {
namespace {

using testing::LibsrtpReference;

constexpr uint32_t kSsrc = 0x5EC0A11D;

struct Datagram {
  alignas(8) std::array<uint8_t, 1500 + kSrtpMaxTrailer> bytes{};
  size_t size = 0;

  std::span<uint8_t> buffer() { return bytes; }
  std::span<uint8_t> wire() { return {bytes.data(), size}; }
  std::vector<uint8_t> contents() const { return {bytes.begin(), bytes.begin() + size}; }
};

// A random RTP packet: 0..15 CSRCs, sometimes an RFC 8285 extension block of
// 0..4 words, 0..1000 bytes of payload.
Datagram RandomRtp(std::mt19937& random, uint16_t seq, uint32_t ssrc = kSsrc) {
  std::uniform_int_distribution<int> byte(0, 255);
  Datagram d;
  const int csrcs = std::uniform_int_distribution<int>(0, 15)(random);
  const bool extension = byte(random) < 96;
  d.bytes[0] = static_cast<uint8_t>(0x80 | (extension ? 0x10 : 0) | csrcs);
  d.bytes[1] = static_cast<uint8_t>(byte(random) & 0xFF);  // marker and payload type
  d.bytes[2] = static_cast<uint8_t>(seq >> 8);
  d.bytes[3] = static_cast<uint8_t>(seq);
  for (int i = 4; i < 8; ++i) d.bytes[i] = static_cast<uint8_t>(byte(random));
  for (int i = 0; i < 4; ++i) d.bytes[8 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  size_t at = 12;
  for (int i = 0; i < 4 * csrcs; ++i) d.bytes[at++] = static_cast<uint8_t>(byte(random));
  if (extension) {
    const int words = std::uniform_int_distribution<int>(0, 4)(random);
    d.bytes[at++] = 0xBE;
    d.bytes[at++] = 0xDE;
    d.bytes[at++] = 0;
    d.bytes[at++] = static_cast<uint8_t>(words);
    for (int i = 0; i < 4 * words; ++i) d.bytes[at++] = static_cast<uint8_t>(byte(random));
  }
  const int payload = std::uniform_int_distribution<int>(0, 1000)(random);
  for (int i = 0; i < payload; ++i) d.bytes[at++] = static_cast<uint8_t>(byte(random));
  d.size = at;
  return d;
}

// A random RTCP packet: an RR header for `ssrc` and 0..50 words after it.
Datagram RandomRtcp(std::mt19937& random, uint32_t ssrc = kSsrc) {
  std::uniform_int_distribution<int> byte(0, 255);
  const int words = std::uniform_int_distribution<int>(0, 50)(random);
  Datagram d;
  d.bytes[0] = 0x80;
  d.bytes[1] = 201;
  d.bytes[2] = static_cast<uint8_t>((words + 1) >> 8);
  d.bytes[3] = static_cast<uint8_t>(words + 1);
  for (int i = 0; i < 4; ++i) d.bytes[4 + i] = static_cast<uint8_t>(ssrc >> (24 - 8 * i));
  for (int i = 0; i < 4 * words; ++i) d.bytes[8 + i] = static_cast<uint8_t>(byte(random));
  d.size = 8 + 4 * static_cast<size_t>(words);
  return d;
}

// libsrtp's verdict in our vocabulary, so the two can be compared.
tl::expected<size_t, SrtpError> FromLibsrtp(int status, size_t size) {
  switch (status) {
    case srtp_err_status_ok: return size;
    case srtp_err_status_auth_fail: return tl::unexpected(SrtpError::kAuthenticationFailed);
    case srtp_err_status_replay_fail: return tl::unexpected(SrtpError::kReplayed);
    case srtp_err_status_replay_old: return tl::unexpected(SrtpError::kReplayTooOld);
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err: return tl::unexpected(SrtpError::kMalformed);
    default: return tl::unexpected(SrtpError::kOther);
  }
}

std::string Describe(const tl::expected<size_t, SrtpError>& result) {
  return result ? "ok " + std::to_string(*result) : std::string(SrtpErrorName(result.error()));
}

SrtpKey Key(SrtpSuite suite) {
  Result<SrtpKey> key = GenerateSrtpKey(suite);
  EXPECT_TRUE(key);
  return std::move(*key);
}

class SrtpInteropTest : public ::testing::TestWithParam<SrtpSuite> {
 protected:
  SrtpInteropTest() : key_(Key(GetParam())) {}

  SrtpSession Ours(bool inbound, int window = SrtpSession::kDefaultReplayWindow) {
    Result<SrtpSession> session =
        inbound ? SrtpSession::Inbound(key_, window) : SrtpSession::Outbound(key_);
    EXPECT_TRUE(session) << session.error().message;
    return std::move(*session);
  }
  std::unique_ptr<LibsrtpReference> Reference(bool inbound, int window = 128) {
    std::unique_ptr<LibsrtpReference> reference = LibsrtpReference::Make(key_, inbound, window);
    EXPECT_NE(reference, nullptr);
    return reference;
  }

  std::mt19937 random_{static_cast<uint32_t>(GetParam()) * 7919u + 1};
  SrtpKey key_;
};

INSTANTIATE_TEST_SUITE_P(SrtpAllSuites, SrtpInteropTest, ::testing::ValuesIn(kAllSrtpSuites),
                         [](const ::testing::TestParamInfo<SrtpSuite>& suite_info) {
                           return std::string(SrtpSuiteName(suite_info.param));
                         });

// Same key, same plain packets: identical SRTP, and each side decrypts the
// other's. 1,200 packets from sequence 65,000 cross a wrap, so the last ones
// are protected with ROC 1 on both sides.
TEST_P(SrtpInteropTest, RtpIsByteForByteLibsrtpsAndReadsBothWaysAcrossAWrap) {
  SrtpSession our_tx = Ours(false);
  SrtpSession our_rx = Ours(true);
  auto ref_tx = Reference(false);
  auto ref_rx = Reference(true);
  ASSERT_TRUE(ref_tx && ref_rx);
  uint16_t seq = 65000;
  for (int i = 0; i < 1200; ++i, ++seq) {
    const Datagram plain = RandomRtp(random_, seq);
    Datagram ours = plain;
    Datagram theirs = plain;
    const auto our_size = our_tx.ProtectRtp(ours.buffer(), ours.size);
    ASSERT_TRUE(our_size) << "seq " << seq << ": " << Describe(our_size);
    ours.size = *our_size;
    ASSERT_EQ(ref_tx->ProtectRtp(theirs.buffer(), theirs.size), 0) << "seq " << seq;
    ASSERT_EQ(ours.contents(), theirs.contents()) << "seq " << seq << ", " << plain.size
                                                  << " plain bytes";

    // Ours -> libsrtp, and libsrtp -> ours.
    size_t size = ours.size;
    ASSERT_EQ(ref_rx->UnprotectRtp(ours.buffer(), size), 0) << "seq " << seq;
    ours.size = size;
    EXPECT_EQ(ours.contents(), plain.contents());
    const auto plain_size = our_rx.UnprotectRtp(theirs.wire());
    ASSERT_TRUE(plain_size) << "seq " << seq << ": " << Describe(plain_size);
    theirs.size = *plain_size;
    EXPECT_EQ(theirs.contents(), plain.contents());
  }
  EXPECT_EQ(our_tx.RolloverCounter(Ssrc(kSsrc)), 1u);
  EXPECT_EQ(our_rx.RolloverCounter(Ssrc(kSsrc)), 1u);
}

TEST_P(SrtpInteropTest, RtcpIsByteForByteLibsrtpsAndReadsBothWays) {
  SrtpSession our_tx = Ours(false);
  SrtpSession our_rx = Ours(true);
  auto ref_tx = Reference(false);
  auto ref_rx = Reference(true);
  ASSERT_TRUE(ref_tx && ref_rx);
  for (int i = 0; i < 300; ++i) {
    const Datagram plain = RandomRtcp(random_);
    Datagram ours = plain;
    Datagram theirs = plain;
    const auto our_size = our_tx.ProtectRtcp(ours.buffer(), ours.size);
    ASSERT_TRUE(our_size) << "packet " << i << ": " << Describe(our_size);
    ours.size = *our_size;
    ASSERT_EQ(ref_tx->ProtectRtcp(theirs.buffer(), theirs.size), 0) << "packet " << i;
    ASSERT_EQ(ours.contents(), theirs.contents()) << "packet " << i;

    size_t size = ours.size;
    ASSERT_EQ(ref_rx->UnprotectRtcp(ours.buffer(), size), 0) << "packet " << i;
    ours.size = size;
    EXPECT_EQ(ours.contents(), plain.contents());
    const auto plain_size = our_rx.UnprotectRtcp(theirs.wire());
    ASSERT_TRUE(plain_size) << "packet " << i << ": " << Describe(plain_size);
    theirs.size = *plain_size;
    EXPECT_EQ(theirs.contents(), plain.contents());
  }
}

// One script of arrivals, played to our inbound session and to libsrtp's:
// both give the same verdict on every packet. In order, duplicates, reordering
// inside the 128-packet window, packets beyond it, forged tags and payloads,
// and a sequence wrap with late packets from before it.
TEST_P(SrtpInteropTest, InboundVerdictsMatchLibsrtpPacketForPacket) {
  auto ref_tx = Reference(false);
  ASSERT_TRUE(ref_tx);
  SrtpSession our_rx = Ours(true);
  auto ref_rx = Reference(true);
  ASSERT_TRUE(ref_rx);

  struct Sent {
    uint16_t seq;
    Datagram plain;
    Datagram srtp;
  };
  std::vector<Sent> sent;
  uint16_t seq = 65300;
  for (int i = 0; i < 600; ++i, ++seq) {
    Sent packet{seq, RandomRtp(random_, seq), {}};
    packet.srtp = packet.plain;
    ASSERT_EQ(ref_tx->ProtectRtp(packet.srtp.buffer(), packet.srtp.size), 0);
    sent.push_back(packet);
  }

  // Arrival order: indices into `sent`, negative for "forge this one".
  std::vector<int> order;
  for (int i = 0; i < 100; ++i) order.push_back(i);
  order.insert(order.end(), {99, 50, 0});              // replays inside the window
  for (int i = 110; i >= 100; --i) order.push_back(i);  // reordered
  order.insert(order.end(), {-111, -112, 111, 112, -113});
  for (int i = 113; i < 400; i += 3) order.push_back(i);  // across the wrap (i = 236)
  for (int i = 114; i < 400; i += 3) order.push_back(i);  // late; the early ones too old
  for (int i = 400; i < 600; ++i) order.push_back(i);
  order.insert(order.end(), {590, 450, 599});

  int accepted = 0;
  for (int entry : order) {
    const bool forge = entry < 0;
    const Sent& packet = sent[static_cast<size_t>(forge ? -entry : entry)];
    Datagram ours = packet.srtp;
    if (forge) {
      // Tag on odd sequence numbers, payload or last header byte on even ones.
      const size_t at = packet.seq % 2 ? ours.size - 1 : ours.size / 2;
      ours.bytes[at] ^= 0x04;
    }
    Datagram theirs = ours;
    const auto our_result = our_rx.UnprotectRtp(ours.wire());
    size_t size = theirs.size;
    const int ref_status = ref_rx->UnprotectRtp(theirs.buffer(), size);
    const auto ref_result = FromLibsrtp(ref_status, size);
    ASSERT_EQ(Describe(our_result), Describe(ref_result))
        << "seq " << packet.seq << (forge ? " (forged)" : "");
    if (forge) {
      EXPECT_EQ(our_result.error(), SrtpError::kAuthenticationFailed) << "seq " << packet.seq;
    }
    if (our_result) {
      ++accepted;
      ours.size = *our_result;
      EXPECT_EQ(ours.contents(), packet.plain.contents()) << "seq " << packet.seq;
    }
  }
  EXPECT_GT(accepted, 400);
  EXPECT_EQ(our_rx.RolloverCounter(Ssrc(kSsrc)), 1u);
}

TEST_P(SrtpInteropTest, SrtcpReplayAndForgeryVerdictsMatchLibsrtp) {
  SrtpSession our_tx = Ours(false);
  SrtpSession our_rx = Ours(true);
  auto ref_rx = Reference(true);
  ASSERT_TRUE(ref_rx);
  std::vector<Datagram> sent;
  for (int i = 0; i < 200; ++i) {
    Datagram packet = RandomRtcp(random_);
    const auto size = our_tx.ProtectRtcp(packet.buffer(), packet.size);
    ASSERT_TRUE(size);
    packet.size = *size;
    sent.push_back(packet);
  }
  std::vector<int> order;
  for (int i = 0; i < 20; ++i) order.push_back(i);
  order.insert(order.end(), {19, 5, -20, 25, 21, 22, 23, 24, 24});
  for (int i = 26; i < 200; ++i) order.push_back(i);
  order.insert(order.end(), {30, 150, 199});  // too old, replayed, replayed
  for (int entry : order) {
    Datagram ours = sent[static_cast<size_t>(entry < 0 ? -entry : entry)];
    if (entry < 0) ours.bytes[ours.size - 1] ^= 0x80;
    Datagram theirs = ours;
    const auto our_result = our_rx.UnprotectRtcp(ours.wire());
    size_t size = theirs.size;
    const int ref_status = ref_rx->UnprotectRtcp(theirs.buffer(), size);
    const auto ref_result = FromLibsrtp(ref_status, size);
    ASSERT_EQ(Describe(our_result), Describe(ref_result)) << "entry " << entry;
  }
}

// Two SSRCs interleaved through one session each way (a transfer, say).
TEST_P(SrtpInteropTest, SeveralSsrcsKeepTheirOwnIndices) {
  SrtpSession our_tx = Ours(false);
  auto ref_rx = Reference(true);
  ASSERT_TRUE(ref_rx);
  uint16_t seq_a = 65500;
  uint16_t seq_b = 10;
  for (int i = 0; i < 100; ++i, ++seq_a, ++seq_b) {
    for (auto [seq, ssrc] : {std::pair{seq_a, kSsrc}, std::pair{seq_b, 0x0B0B0B0Bu}}) {
      const Datagram plain = RandomRtp(random_, seq, ssrc);
      Datagram packet = plain;
      const auto size = our_tx.ProtectRtp(packet.buffer(), packet.size);
      ASSERT_TRUE(size);
      size_t wire = *size;
      ASSERT_EQ(ref_rx->UnprotectRtp(packet.buffer(), wire), 0) << "seq " << seq;
      packet.size = wire;
      EXPECT_EQ(packet.contents(), plain.contents());
    }
  }
  EXPECT_EQ(our_tx.RolloverCounter(Ssrc(kSsrc)), 1u);
  EXPECT_EQ(our_tx.RolloverCounter(Ssrc(0x0B0B0B0B)), 0u);
}

}  // namespace
}  // namespace earshot::dataplane

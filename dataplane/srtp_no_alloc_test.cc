// The SRTP hot path allocates nothing (issue #11): over 1,000 protect and
// unprotect pairs of RTP, plus SRTCP, replays and forgeries, per suite, no
// heap allocation happens inside OpenSSL or through operator new.
//
// How it counts. OpenSSL allocates only through CRYPTO_malloc/realloc, which
// CRYPTO_set_mem_functions can redirect, but only before OpenSSL's first
// allocation in the process. So the counting functions are installed by a
// static initialiser in this file, before main() and thus before any test
// runs (nothing else in this binary touches OpenSSL during static
// initialisation; the test checks that the installation took). Our own code
// could allocate only through operator new, which this file replaces with a
// counting one too, except under AddressSanitizer, which owns operator new.
// Counting is switched on per thread, around the measured loop only.

#include <atomic>
#include <iostream>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/crypto.h>

#include "dataplane/rtcp_writer.h"
#include "dataplane/rtp_packet.h"
#include "dataplane/srtp_key.h"
#include "dataplane/srtp_session.h"

#if defined(__SANITIZE_ADDRESS__)
#define EARSHOT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EARSHOT_ASAN 1
#endif
#endif

namespace {

thread_local bool counting = false;
std::atomic<long> openssl_allocations{0};
std::atomic<long> new_allocations{0};

void* CountingMalloc(size_t size, const char*, int) {
  if (counting) ++openssl_allocations;
  return std::malloc(size);
}
void* CountingRealloc(void* pointer, size_t size, const char*, int) {
  if (counting) ++openssl_allocations;
  return std::realloc(pointer, size);
}
void CountingFree(void* pointer, const char*, int) { std::free(pointer); }

const bool installed = CRYPTO_set_mem_functions(CountingMalloc, CountingRealloc, CountingFree) == 1;

}  // namespace

#ifndef EARSHOT_ASAN
// Replaceable global allocation functions ([new.delete]); the other forms
// (array, nothrow, sized delete) forward to these by default.
void* operator new(size_t size) {
  if (counting) ++new_allocations;
  if (void* pointer = std::malloc(size == 0 ? 1 : size)) return pointer;
  throw std::bad_alloc();
}
// GCC sees the replaced new's malloc meet free here and warns of a mismatch
// that a replacement pair is allowed to have.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* pointer) noexcept { std::free(pointer); }
void operator delete(void* pointer, size_t) noexcept { std::free(pointer); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

namespace earshot::dataplane {
namespace {

struct alignas(8) Buffer {
  std::array<uint8_t, 1500 + kSrtpMaxTrailer> bytes{};
  size_t size = 0;
};

Buffer Rtp(uint16_t seq) {
  std::array<uint8_t, 160> payload;
  payload.fill(static_cast<uint8_t>(seq));
  Buffer buffer;
  const RtpHeaderFields fields{false, PayloadType(0), SequenceNumber(seq),
                               RtpTimestamp(uint32_t{seq} * 160u), Ssrc(0x343da99b), {}};
  buffer.size = WriteRtp(fields, payload, buffer.bytes).value_or(0);
  return buffer;
}

class SrtpNoAllocationTest : public ::testing::TestWithParam<SrtpSuite> {};

INSTANTIATE_TEST_SUITE_P(SrtpAllSuites, SrtpNoAllocationTest, ::testing::ValuesIn(kAllSrtpSuites),
                         [](const ::testing::TestParamInfo<SrtpSuite>& suite_info) {
                           return std::string(SrtpSuiteName(suite_info.param));
                         });

TEST_P(SrtpNoAllocationTest, ThousandsOfPacketsAllocateNothing) {
  ASSERT_TRUE(installed) << "CRYPTO_set_mem_functions came after OpenSSL's first allocation";
  Result<SrtpKey> key = GenerateSrtpKey(GetParam());
  ASSERT_TRUE(key);
  Result<SrtpSession> tx = SrtpSession::Outbound(*key);
  Result<SrtpSession> rx = SrtpSession::Inbound(*key);
  ASSERT_TRUE(tx && rx);

  // Made before counting: the packets themselves are not the hot path's.
  constexpr int kPackets = 1000;
  std::vector<Buffer> rtp;
  for (int i = 0; i < kPackets; ++i) rtp.push_back(Rtp(static_cast<uint16_t>(65000 + i)));
  std::vector<Buffer> rtcp(20);
  for (Buffer& buffer : rtcp) {
    RtcpCompoundWriter writer(buffer.bytes);
    ASSERT_TRUE(writer.AppendReceiverReport(Ssrc(0x343da99b)));
    buffer.size = writer.size();
  }
  Buffer replay;
  Buffer forged;
  int failures = 0;
  int refusals = 0;

  openssl_allocations = 0;
  new_allocations = 0;
  counting = true;  // the first packet creates the stream: counted too
  for (int i = 0; i < kPackets; ++i) {
    Buffer& packet = rtp[static_cast<size_t>(i)];
    const auto size = tx->ProtectRtp(packet.bytes, packet.size);
    failures += size ? 0 : 1;
    packet.size = size.value_or(0);
    if (i == 10) replay = packet;
    if (i == 20) {
      forged = packet;
      forged.bytes[forged.size - 1] ^= 1;
      refusals += rx->UnprotectRtp(std::span(forged.bytes).first(forged.size)) ? 0 : 1;
    }
    failures += rx->UnprotectRtp(std::span(packet.bytes).first(packet.size)) ? 0 : 1;
    if (i == 30) refusals += rx->UnprotectRtp(std::span(replay.bytes).first(replay.size)) ? 0 : 1;
  }
  for (Buffer& packet : rtcp) {
    const auto size = tx->ProtectRtcp(packet.bytes, packet.size);
    failures += size ? 0 : 1;
    packet.size = size.value_or(0);
    failures += rx->UnprotectRtcp(std::span(packet.bytes).first(packet.size)) ? 0 : 1;
  }
  counting = false;

  EXPECT_EQ(failures, 0);
  EXPECT_EQ(refusals, 2);
  EXPECT_EQ(rx->RolloverCounter(Ssrc(0x343da99b)), 1u);  // wrapped at 65536
  EXPECT_EQ(openssl_allocations.load(), 0);
  EXPECT_EQ(new_allocations.load(), 0);
  std::cout << "[   NOTE   ] " << SrtpSuiteName(GetParam()) << ": " << openssl_allocations.load()
            << " OpenSSL and " << new_allocations.load() << " operator new allocations over "
            << 2 * kPackets + 2 * rtcp.size() + 2 << " SRTP/SRTCP operations\n";
#ifdef EARSHOT_ASAN
  std::cout << "[   NOTE   ] operator new not counted under AddressSanitizer\n";
#endif
}

// The counter does count: making a session allocates, in OpenSSL and in ours.
TEST(SrtpNoAllocationTest, CountersSeeSessionSetUp) {
  ASSERT_TRUE(installed);
  Result<SrtpKey> key = GenerateSrtpKey(SrtpSuite::kAesCm128HmacSha1_80);
  ASSERT_TRUE(key);
  openssl_allocations = 0;
  new_allocations = 0;
  counting = true;
  { Result<SrtpSession> session = SrtpSession::Outbound(*key); }
  counting = false;
  EXPECT_GT(openssl_allocations.load(), 0);
  std::cout << "[   NOTE   ] making one session: " << openssl_allocations.load()
            << " OpenSSL and " << new_allocations.load() << " operator new allocations\n";
#ifndef EARSHOT_ASAN
  EXPECT_GT(new_allocations.load(), 0);
#endif
}

}  // namespace
}  // namespace earshot::dataplane

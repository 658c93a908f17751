// SRTP hot paths: every packet of an SRTP leg goes through ProtectRtp on the
// way out and UnprotectRtp on the way in (dataplane/srtp_session.h).
//
// Budgets (one 2-core dev machine, RelWithDebInfo, Debian's libsrtp2 2.5 on
// NSS), per 172-byte PCMU packet (12 header + 160 payload):
//   ProtectRtp,   AES-CM suites   <= 2500 ns (includes the 172-byte copy of a fresh packet)
//   UnprotectRtp, AES-CM suites   <= 2500 ns
//   ProtectRtp,   AEAD GCM suites <= 1000 ns
//   UnprotectRtp, AEAD GCM suites <= 1000 ns
// Most of the AES-CM figure is NSS, not cryptography: libsrtp's NSS backend
// creates NSS PK11 contexts for every packet (14 mallocs a packet for AES-CM,
// 5 for GCM; see srtp_session.h). A worker core carrying 500 legs at
// 50 pps each way does 50,000 SRTP operations a second: 12% of the core at
// 2.5 us, 5% at 1 us. If AES-CM numbers matter, build libsrtp on OpenSSL.
//
// Each unprotected packet must be fresh (the replay window refuses a second
// delivery), so the unprotect bench protects a batch of consecutive sequence
// numbers with timing paused, then unprotects the batch in place.

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "dataplane/rtp_packet.h"
#include "dataplane/srtp_key.h"
#include "dataplane/srtp_session.h"

namespace earshot::dataplane {
namespace {

constexpr size_t kPayloadBytes = 160;
constexpr size_t kPlainBytes = kRtpFixedHeaderSize + kPayloadBytes;
constexpr size_t kBatch = 1024;

struct alignas(8) Buffer {
  std::array<uint8_t, kPlainBytes + kSrtpMaxTrailer> bytes{};
};

Buffer Template() {
  std::array<uint8_t, kPayloadBytes> payload;
  payload.fill(0xFF);  // mu-law silence
  Buffer buffer;
  const RtpHeaderFields fields{false, PayloadType(0), SequenceNumber(0), RtpTimestamp(0),
                               Ssrc(0x343da99b), {}};
  (void)WriteRtp(fields, payload, buffer.bytes);
  return buffer;
}

void SetSequence(Buffer& buffer, uint16_t seq) {
  buffer.bytes[2] = static_cast<uint8_t>(seq >> 8);
  buffer.bytes[3] = static_cast<uint8_t>(seq);
}

SrtpSuite SuiteArg(const benchmark::State& state) {
  return kAllSrtpSuites[static_cast<size_t>(state.range(0))];
}

void BM_ProtectRtp(benchmark::State& state) {
  const SrtpSuite suite = SuiteArg(state);
  state.SetLabel(std::string(SrtpSuiteName(suite)));
  const Result<SrtpKey> key = GenerateSrtpKey(suite);
  if (!key) {
    state.SkipWithError(key.error().message.c_str());
    return;
  }
  Result<SrtpSession> tx = SrtpSession::Outbound(*key);
  if (!tx) {
    state.SkipWithError(tx.error().message.c_str());
    return;
  }
  const Buffer plain = Template();
  Buffer buffer;
  uint16_t seq = 0;
  for (auto _ : state) {
    std::memcpy(buffer.bytes.data(), plain.bytes.data(), kPlainBytes);
    SetSequence(buffer, seq++);
    const tl::expected<size_t, SrtpError> size = tx->ProtectRtp(buffer.bytes, kPlainBytes);
    benchmark::DoNotOptimize(size);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_UnprotectRtp(benchmark::State& state) {
  const SrtpSuite suite = SuiteArg(state);
  state.SetLabel(std::string(SrtpSuiteName(suite)));
  const Result<SrtpKey> key = GenerateSrtpKey(suite);
  if (!key) {
    state.SkipWithError(key.error().message.c_str());
    return;
  }
  Result<SrtpSession> tx = SrtpSession::Outbound(*key);
  Result<SrtpSession> rx = SrtpSession::Inbound(*key);
  if (!tx || !rx) {
    state.SkipWithError("could not create SRTP sessions");
    return;
  }
  const Buffer plain = Template();
  std::vector<Buffer> batch(kBatch);
  std::vector<size_t> sizes(kBatch);
  uint16_t seq = 0;
  size_t next = kBatch;
  size_t failures = 0;
  for (auto _ : state) {
    if (next == kBatch) {
      state.PauseTiming();
      for (size_t i = 0; i < kBatch; ++i) {
        batch[i] = plain;
        SetSequence(batch[i], seq++);
        sizes[i] = tx->ProtectRtp(batch[i].bytes, kPlainBytes).value_or(0);
      }
      next = 0;
      state.ResumeTiming();
    }
    const tl::expected<size_t, SrtpError> size =
        rx->UnprotectRtp(std::span(batch[next].bytes).first(sizes[next]));
    failures += size ? 0 : 1;
    benchmark::DoNotOptimize(size);
    ++next;
  }
  if (failures != 0) state.SkipWithError("unprotect failed");
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_ProtectRtp)->DenseRange(0, kAllSrtpSuites.size() - 1);
BENCHMARK(BM_UnprotectRtp)->DenseRange(0, kAllSrtpSuites.size() - 1);

}  // namespace
}  // namespace earshot::dataplane

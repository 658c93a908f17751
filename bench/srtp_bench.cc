// SRTP hot paths: every packet of an SRTP leg goes through ProtectRtp on the
// way out and UnprotectRtp on the way in (dataplane/srtp_session.h). Each is
// measured for our OpenSSL-based SrtpSession and, for comparison, for
// libsrtp2 (Debian's 2.5, built on NSS), which SrtpSession wrapped before
// issue #11 and which the tests keep as the reference.
//
// Budgets (one 2-core dev machine, RelWithDebInfo), ours, per 172-byte PCMU
// packet (12 header + 160 payload):
//   ProtectRtp,   AES-CM suites   <= 600 ns (includes the 172-byte copy of a fresh packet)
//   UnprotectRtp, AES-CM suites   <= 600 ns
//   ProtectRtp,   AEAD GCM suites <= 400 ns
//   UnprotectRtp, AEAD GCM suites <= 400 ns
// libsrtp on NSS took about 2.2 us (AES-CM) and 0.7 us (GCM) here, most of it
// NSS creating PK11 contexts per packet (14 / 5 mallocs a packet). Ours
// allocates nothing (SrtpNoAllocationTest) and re-IVs contexts keyed once.
// A worker core carrying 500 legs at 50 pps each way does 50,000 SRTP
// operations a second: 3% of the core at 600 ns.
//
// Each unprotected packet must be fresh (the replay window refuses a second
// delivery), so the unprotect benches protect a batch of consecutive sequence
// numbers with timing paused, then unprotect the batch in place.

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "dataplane/rtp_packet.h"
#include "dataplane/srtp_key.h"
#include "dataplane/srtp_session.h"
#include "tests/support/libsrtp_reference.h"

namespace earshot::dataplane {
namespace {

using testing::LibsrtpReference;

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

// Our SrtpSession and libsrtp behind one face, so each bench is written once.
struct Ours {
  static constexpr const char* kName = "ours";
  explicit Ours(const SrtpKey& key) {
    Result<SrtpSession> made_tx = SrtpSession::Outbound(key);
    Result<SrtpSession> made_rx = SrtpSession::Inbound(key);
    if (made_tx && made_rx) {
      tx = std::make_unique<SrtpSession>(std::move(*made_tx));
      rx = std::make_unique<SrtpSession>(std::move(*made_rx));
    }
  }
  bool ok() const { return tx && rx; }
  size_t Protect(Buffer& buffer) { return tx->ProtectRtp(buffer.bytes, kPlainBytes).value_or(0); }
  bool Unprotect(Buffer& buffer, size_t size) {
    return rx->UnprotectRtp(std::span(buffer.bytes).first(size)).has_value();
  }
  std::unique_ptr<SrtpSession> tx;
  std::unique_ptr<SrtpSession> rx;
};

struct Libsrtp {
  static constexpr const char* kName = "libsrtp";
  explicit Libsrtp(const SrtpKey& key)
      : tx(LibsrtpReference::Make(key, false)), rx(LibsrtpReference::Make(key, true)) {}
  bool ok() const { return tx && rx; }
  size_t Protect(Buffer& buffer) {
    size_t size = kPlainBytes;
    return tx->ProtectRtp(buffer.bytes, size) == 0 ? size : 0;
  }
  bool Unprotect(Buffer& buffer, size_t size) { return rx->UnprotectRtp(buffer.bytes, size) == 0; }
  std::unique_ptr<LibsrtpReference> tx;
  std::unique_ptr<LibsrtpReference> rx;
};

template <typename Impl>
void BM_ProtectRtp(benchmark::State& state) {
  const SrtpSuite suite = SuiteArg(state);
  state.SetLabel(std::string(Impl::kName) + " " + std::string(SrtpSuiteName(suite)));
  const Result<SrtpKey> key = GenerateSrtpKey(suite);
  if (!key) {
    state.SkipWithError(key.error().message.c_str());
    return;
  }
  Impl impl(*key);
  if (!impl.ok()) {
    state.SkipWithError("could not create SRTP sessions");
    return;
  }
  const Buffer plain = Template();
  Buffer buffer;
  uint16_t seq = 0;
  size_t failures = 0;
  for (auto _ : state) {
    std::memcpy(buffer.bytes.data(), plain.bytes.data(), kPlainBytes);
    SetSequence(buffer, seq++);
    const size_t size = impl.Protect(buffer);
    failures += size == 0 ? 1 : 0;
    benchmark::DoNotOptimize(size);
    benchmark::ClobberMemory();
  }
  if (failures != 0) state.SkipWithError("protect failed");
  state.SetItemsProcessed(state.iterations());
}

template <typename Impl>
void BM_UnprotectRtp(benchmark::State& state) {
  const SrtpSuite suite = SuiteArg(state);
  state.SetLabel(std::string(Impl::kName) + " " + std::string(SrtpSuiteName(suite)));
  const Result<SrtpKey> key = GenerateSrtpKey(suite);
  if (!key) {
    state.SkipWithError(key.error().message.c_str());
    return;
  }
  Impl impl(*key);
  if (!impl.ok()) {
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
        sizes[i] = impl.Protect(batch[i]);
      }
      next = 0;
      state.ResumeTiming();
    }
    const bool ok = impl.Unprotect(batch[next], sizes[next]);
    failures += ok ? 0 : 1;
    benchmark::DoNotOptimize(ok);
    ++next;
  }
  if (failures != 0) state.SkipWithError("unprotect failed");
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_TEMPLATE(BM_ProtectRtp, Ours)->DenseRange(0, kAllSrtpSuites.size() - 1);
BENCHMARK_TEMPLATE(BM_UnprotectRtp, Ours)->DenseRange(0, kAllSrtpSuites.size() - 1);
BENCHMARK_TEMPLATE(BM_ProtectRtp, Libsrtp)->DenseRange(0, kAllSrtpSuites.size() - 1);
BENCHMARK_TEMPLATE(BM_UnprotectRtp, Libsrtp)->DenseRange(0, kAllSrtpSuites.size() - 1);

}  // namespace
}  // namespace earshot::dataplane

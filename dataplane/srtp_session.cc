#include "dataplane/srtp_session.h"

#include <climits>
#include <mutex>
#include <string>
#include <type_traits>

#include <srtp2/srtp.h>

#include "codecs/check.h"

namespace earshot::dataplane {
namespace {

static_assert(kSrtpMaxTrailer == SRTP_MAX_TRAILER_LEN + 4,
              "kSrtpMaxTrailer must match libsrtp's documented tail room");
static_assert(std::is_same_v<srtp_t, srtp_ctx_t_*>);

constexpr size_t kRtpHeaderBytes = 12;
constexpr size_t kRtcpHeaderBytes = 8;

std::string SrtpStatusText(srtp_err_status_t status) {
  return "libsrtp error " + std::to_string(static_cast<int>(status));
}

// RFC 4568 §6.2: AES_CM_128_HMAC_SHA1_32 shortens only the SRTP tag; SRTCP
// keeps the 80-bit tag. The other suites use the same transform for both.
void SetCryptoPolicies(SrtpSuite suite, srtp_policy_t& policy) {
  switch (suite) {
    case SrtpSuite::kAesCm128HmacSha1_80:
      srtp_crypto_policy_set_rtp_default(&policy.rtp);
      srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
      return;
    case SrtpSuite::kAesCm128HmacSha1_32:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
      srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
      return;
    case SrtpSuite::kAes256CmHmacSha1_80:
      srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&policy.rtcp);
      return;
    case SrtpSuite::kAeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      return;
    case SrtpSuite::kAeadAes256Gcm:
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
      return;
  }
}

// The policy for a wildcard-SSRC session. It points at `key`'s bytes, which
// libsrtp reads (never writes, despite the non-const pointer) only during
// srtp_create/srtp_update, deriving its own session keys from them.
srtp_policy_t MakePolicy(const SrtpKey& key, bool inbound, int replay_window) {
  srtp_policy_t policy{};
  SetCryptoPolicies(key.suite(), policy);
  policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
  policy.key = const_cast<unsigned char*>(key.bytes().data());
  policy.window_size = inbound ? static_cast<unsigned long>(replay_window) : 0;
  // A retransmission under the same index would reuse keystream (RFC 3711
  // §9.1), and we never retransmit, so protecting an index twice is refused.
  policy.allow_repeat_tx = 0;
  policy.next = nullptr;
  return policy;
}

SrtpError MapStatus(srtp_err_status_t status) {
  switch (status) {
    case srtp_err_status_auth_fail: return SrtpError::kAuthenticationFailed;
    case srtp_err_status_replay_fail: return SrtpError::kReplayed;
    case srtp_err_status_replay_old: return SrtpError::kReplayTooOld;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err: return SrtpError::kMalformed;
    default: return SrtpError::kOther;
  }
}

}  // namespace

Result<void> InitSrtpLibrary() {
  static std::once_flag once;
  static srtp_err_status_t status = srtp_err_status_ok;
  std::call_once(once, [] { status = srtp_init(); });
  if (status != srtp_err_status_ok) {
    return MakeError(ErrorCode::kInternal, "srtp_init failed: " + SrtpStatusText(status));
  }
  return {};
}

void SrtpSession::Deleter::operator()(srtp_ctx_t_* ctx) const {
  // srtp_dealloc only fails on a corrupt session; there is nothing to do
  // about that in a destructor, and the memory is gone either way.
  (void)srtp_dealloc(ctx);
}

Result<SrtpSession> SrtpSession::Inbound(const SrtpKey& key, int replay_window) {
  if (replay_window < kMinReplayWindow || replay_window > kMaxReplayWindow) {
    return InvalidArgument("SRTP replay window " + std::to_string(replay_window) +
                           " is outside " + std::to_string(kMinReplayWindow) + ".." +
                           std::to_string(kMaxReplayWindow) + " packets");
  }
  return Create(key, /*inbound=*/true, replay_window);
}

Result<SrtpSession> SrtpSession::Outbound(const SrtpKey& key) {
  return Create(key, /*inbound=*/false, 0);
}

Result<SrtpSession> SrtpSession::Create(const SrtpKey& key, bool inbound, int replay_window) {
  if (key.empty()) return InvalidArgument("SRTP key is empty (moved from)");
  if (Result<void> init = InitSrtpLibrary(); !init) return tl::unexpected(init.error());
  const srtp_policy_t policy = MakePolicy(key, inbound, replay_window);
  srtp_t ctx = nullptr;
  const srtp_err_status_t status = srtp_create(&ctx, &policy);
  if (status != srtp_err_status_ok) {
    // srtp_create frees what it allocated on failure.
    return MakeError(ErrorCode::kInternal, std::string("srtp_create for ") +
                                               std::string(SrtpSuiteName(key.suite())) +
                                               " failed: " + SrtpStatusText(status));
  }
  return SrtpSession(ctx, key.suite(), inbound, replay_window);
}

tl::expected<size_t, SrtpError> SrtpSession::ProtectRtp(std::span<uint8_t> buffer,
                                                        size_t length) {
  EARSHOT_DCHECK(ctx_ != nullptr);  // not moved from
  if (length < kRtpHeaderBytes || length > buffer.size()) {
    return tl::unexpected(SrtpError::kMalformed);
  }
  if (buffer.size() - length < kSrtpMaxTrailer) return tl::unexpected(SrtpError::kNoRoom);
  if (length > INT_MAX - kSrtpMaxTrailer) return tl::unexpected(SrtpError::kMalformed);
  int len = static_cast<int>(length);
  const srtp_err_status_t status = srtp_protect(ctx_.get(), buffer.data(), &len);
  if (status != srtp_err_status_ok) [[unlikely]] return tl::unexpected(MapStatus(status));
  return static_cast<size_t>(len);
}

tl::expected<size_t, SrtpError> SrtpSession::ProtectRtcp(std::span<uint8_t> buffer,
                                                         size_t length) {
  EARSHOT_DCHECK(ctx_ != nullptr);  // not moved from
  if (length < kRtcpHeaderBytes || length > buffer.size()) {
    return tl::unexpected(SrtpError::kMalformed);
  }
  if (buffer.size() - length < kSrtpMaxTrailer) return tl::unexpected(SrtpError::kNoRoom);
  if (length > INT_MAX - kSrtpMaxTrailer) return tl::unexpected(SrtpError::kMalformed);
  int len = static_cast<int>(length);
  const srtp_err_status_t status = srtp_protect_rtcp(ctx_.get(), buffer.data(), &len);
  if (status != srtp_err_status_ok) [[unlikely]] return tl::unexpected(MapStatus(status));
  return static_cast<size_t>(len);
}

tl::expected<size_t, SrtpError> SrtpSession::UnprotectRtp(std::span<uint8_t> packet) {
  EARSHOT_DCHECK(ctx_ != nullptr);  // not moved from
  // libsrtp checks lengths too; checking here keeps the int conversion safe
  // and spares it the obviously short.
  if (packet.size() < kRtpHeaderBytes || packet.size() > INT_MAX) {
    return tl::unexpected(SrtpError::kMalformed);
  }
  int len = static_cast<int>(packet.size());
  const srtp_err_status_t status = srtp_unprotect(ctx_.get(), packet.data(), &len);
  if (status != srtp_err_status_ok) [[unlikely]] return tl::unexpected(MapStatus(status));
  return static_cast<size_t>(len);
}

tl::expected<size_t, SrtpError> SrtpSession::UnprotectRtcp(std::span<uint8_t> packet) {
  EARSHOT_DCHECK(ctx_ != nullptr);  // not moved from
  if (packet.size() < kRtcpHeaderBytes || packet.size() > INT_MAX) {
    return tl::unexpected(SrtpError::kMalformed);
  }
  int len = static_cast<int>(packet.size());
  const srtp_err_status_t status = srtp_unprotect_rtcp(ctx_.get(), packet.data(), &len);
  if (status != srtp_err_status_ok) [[unlikely]] return tl::unexpected(MapStatus(status));
  return static_cast<size_t>(len);
}

Result<void> SrtpSession::Rekey(const SrtpKey& key) {
  if (key.empty()) return InvalidArgument("SRTP key is empty (moved from)");
  const srtp_policy_t policy = MakePolicy(key, inbound_, replay_window_);
  const srtp_err_status_t status = srtp_update(ctx_.get(), &policy);
  if (status != srtp_err_status_ok) {
    return MakeError(ErrorCode::kInternal, "srtp_update to " +
                                               std::string(SrtpSuiteName(key.suite())) +
                                               " failed: " + SrtpStatusText(status));
  }
  suite_ = key.suite();
  return {};
}

std::optional<uint32_t> SrtpSession::RolloverCounter(Ssrc ssrc) const {
  uint32_t roc = 0;
  // libsrtp looks the SSRC up in network order internally; the API takes it
  // in host order.
  if (srtp_get_stream_roc(ctx_.get(), ssrc.value(), &roc) != srtp_err_status_ok) {
    return std::nullopt;
  }
  return roc;
}

}  // namespace earshot::dataplane

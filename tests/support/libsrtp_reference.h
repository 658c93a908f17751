#pragma once
// libsrtp2 as a reference SRTP implementation for tests and benches only
// (Earshot's own SRTP is dataplane/srtp_session.h). One direction, wildcard
// SSRC, the same policies the pre-OpenSSL SrtpSession used, owned RAII-style
// (STYLE.md §6). Header-only so that a test binary links libsrtp2 only when it
// includes this (link PkgConfig::SRTP).
//
// Status codes are libsrtp's srtp_err_status_t as int (0 = ok), so a test can
// print them.

#include <climits>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>

#include <srtp2/srtp.h>

#include "dataplane/srtp_key.h"

namespace earshot::testing {

class LibsrtpReference {
 public:
  // Null if libsrtp refuses the key.
  static std::unique_ptr<LibsrtpReference> Make(const dataplane::SrtpKey& key, bool inbound,
                                                int replay_window = 128) {
    static std::once_flag once;
    static srtp_err_status_t init = srtp_err_status_ok;
    std::call_once(once, [] { init = srtp_init(); });
    if (init != srtp_err_status_ok) return nullptr;
    srtp_policy_t policy{};
    SetCryptoPolicies(key.suite(), policy);
    policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    policy.key = const_cast<unsigned char*>(key.bytes().data());
    policy.window_size = inbound ? static_cast<unsigned long>(replay_window) : 0;
    policy.allow_repeat_tx = 0;
    srtp_t session = nullptr;
    if (srtp_create(&session, &policy) != srtp_err_status_ok) return nullptr;
    return std::unique_ptr<LibsrtpReference>(new LibsrtpReference(session));
  }

  LibsrtpReference(const LibsrtpReference&) = delete;
  LibsrtpReference& operator=(const LibsrtpReference&) = delete;
  ~LibsrtpReference() { (void)srtp_dealloc(session_); }

  // In place; `length` is updated. `buffer` needs SRTP_MAX_TRAILER_LEN + 4
  // bytes of room past the packet for the protects.
  int ProtectRtp(std::span<uint8_t> buffer, size_t& length) {
    return Call(srtp_protect, buffer, length);
  }
  int ProtectRtcp(std::span<uint8_t> buffer, size_t& length) {
    return Call(srtp_protect_rtcp, buffer, length);
  }
  int UnprotectRtp(std::span<uint8_t> buffer, size_t& length) {
    return Call(srtp_unprotect, buffer, length);
  }
  int UnprotectRtcp(std::span<uint8_t> buffer, size_t& length) {
    return Call(srtp_unprotect_rtcp, buffer, length);
  }

 private:
  explicit LibsrtpReference(srtp_t session) : session_(session) {}

  static void SetCryptoPolicies(dataplane::SrtpSuite suite, srtp_policy_t& policy) {
    using dataplane::SrtpSuite;
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

  template <typename Fn>
  int Call(Fn fn, std::span<uint8_t> buffer, size_t& length) {
    if (length > buffer.size() || length > INT_MAX / 2) return srtp_err_status_bad_param;
    int len = static_cast<int>(length);
    const srtp_err_status_t status = fn(session_, buffer.data(), &len);
    if (status == srtp_err_status_ok) length = static_cast<size_t>(len);
    return static_cast<int>(status);
  }

  srtp_t session_;
};

}  // namespace earshot::testing

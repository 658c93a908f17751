#pragma once
// SRTP key derivation (RFC 3711 §4.3) and the per-suite sizes that drive it.
//
// From the master key and master salt of an a=crypto line, the AES-CM PRF
// (§4.3.3) derives six session values, one per label (§4.3.2): the SRTP
// cipher key, auth key and salt (labels 0, 1, 2) and the same for SRTCP
// (3, 4, 5). The key derivation rate is 0 (SDES never signals another), so
// each value is derived once per master key:
//   x   = (label << 48) XOR master_salt          (112 bits; label in byte 7)
//   out = AES-CM(master_key, IV = x * 2^16) keystream, first n bytes
// The PRF is AES-128 for the 128-bit suites and AES-256 for the 256-bit ones
// (RFC 6188 §6). The AEAD suites have a 96-bit master salt (RFC 7714 §12): it
// is zero-extended on the right to 112 bits for the PRF, and their session
// salts are 96 bits.
//
// Every buffer that holds key material is wiped on destruction.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/srtp_key.h"

namespace earshot::dataplane {

// What a suite needs from the KDF and puts on the wire.
struct SrtpSuiteParams {
  size_t cipher_key_bytes;  // AES key: 16 or 32
  size_t salt_bytes;        // session salt: 14 (AES-CM) or 12 (GCM)
  size_t auth_key_bytes;    // HMAC-SHA1 key: 20; 0 for the AEAD suites
  size_t rtp_tag_bytes;     // 10 or 4 (HMAC-SHA1 truncated), 16 (GCM)
  size_t rtcp_tag_bytes;    // 10 (80 bits even for _32, RFC 4568 §6.2), 16 (GCM)
  bool aead;                // GCM: encryption and tag in one (RFC 7714)
};

constexpr SrtpSuiteParams SrtpParamsOf(SrtpSuite suite) {
  switch (suite) {
    case SrtpSuite::kAesCm128HmacSha1_80: return {16, 14, 20, 10, 10, false};
    case SrtpSuite::kAesCm128HmacSha1_32: return {16, 14, 20, 4, 10, false};
    case SrtpSuite::kAes256CmHmacSha1_80: return {32, 14, 20, 10, 10, false};
    case SrtpSuite::kAeadAes128Gcm: return {16, 12, 0, 16, 16, true};
    case SrtpSuite::kAeadAes256Gcm: return {32, 12, 0, 16, 16, true};
  }
  return {16, 14, 20, 10, 10, false};
}

inline constexpr size_t kSrtpMaxCipherKeyBytes = 32;
inline constexpr size_t kSrtpMaxSaltBytes = 14;
inline constexpr size_t kSrtpAuthKeyBytes = 20;

// The session values of one of SRTP or SRTCP. Sizes are per SrtpParamsOf;
// bytes past them are zero.
struct SrtpSessionKeys {
  SrtpSessionKeys() = default;
  SrtpSessionKeys(const SrtpSessionKeys&) = delete;
  SrtpSessionKeys& operator=(const SrtpSessionKeys&) = delete;
  ~SrtpSessionKeys() { Wipe(); }
  void Wipe();

  std::array<uint8_t, kSrtpMaxCipherKeyBytes> cipher_key{};
  std::array<uint8_t, kSrtpAuthKeyBytes> auth_key{};
  std::array<uint8_t, kSrtpMaxSaltBytes> salt{};
};

struct SrtpDerivedKeys {
  SrtpSessionKeys rtp;
  SrtpSessionKeys rtcp;
};

// Derives both sets from `key` (a non-empty SrtpKey). False only if OpenSSL
// fails; then `out` is wiped.
[[nodiscard]] bool DeriveSrtpKeys(const SrtpKey& key, SrtpDerivedKeys& out);

}  // namespace earshot::dataplane

#pragma once
// SRTP master keys (RFC 3711 §8) as they arrive in SDP security descriptions
// (RFC 4568, "SDES"): the crypto-suite names we accept, the key||salt bytes,
// and the inline: key-params that carry them.
//
// Model. An SrtpKey is a suite plus its master key concatenated with its master
// salt, exactly SrtpKeySaltBytes(suite) bytes, held in a fixed array inside the
// object (no heap, so no copy of the key is left behind in freed memory). The
// bytes are wiped when the key is destroyed and when it is moved from; a
// moved-from key is empty (bytes() is empty) and the session factories refuse
// it. Keys are not copyable: a second copy must be asked for with Clone(), so
// every copy is visible in the code.
//
// Secrecy rules, which every function here keeps and callers must keep too:
// - No error message contains key text or any part of it; a length error
//   says only how many bytes the text decoded to.
// - There is no operator<< and no fmt formatter for SrtpKey. The only printer is
//   GoogleTest's PrintTo below, which prints the suite and "<redacted>", so a
//   failing test cannot dump the bytes either.
// - FormatSdesKey hands the key back as base64 for the SDP answer; that string
//   is as secret as the key and is the caller's to keep out of logs.
//
// Not supported, on purpose: MKI (RFC 3711 §3.1, RFC 4568 §6.1 "|1:4") and
// several key-params in one crypto attribute (which only make sense with MKI).
// Telephony peers offer one key without MKI; refusing the rest keeps the
// receive path to one key per session.

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

#include "codecs/result.h"

namespace earshot::dataplane {

// The crypto-suites of RFC 4568 §6.2 and RFC 6188 (AES-256 CM) and RFC 7714
// (AEAD AES-GCM, 16-byte tag) that Earshot negotiates.
enum class SrtpSuite : uint8_t {
  kAesCm128HmacSha1_80,
  kAesCm128HmacSha1_32,
  kAes256CmHmacSha1_80,
  kAeadAes128Gcm,
  kAeadAes256Gcm,
};
inline constexpr std::array<SrtpSuite, 5> kAllSrtpSuites = {
    SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAesCm128HmacSha1_32,
    SrtpSuite::kAes256CmHmacSha1_80, SrtpSuite::kAeadAes128Gcm, SrtpSuite::kAeadAes256Gcm};

// The SDP crypto-suite name, e.g. "AES_CM_128_HMAC_SHA1_80".
std::string_view SrtpSuiteName(SrtpSuite suite);

// Parses an SDP crypto-suite name, ignoring case. Unknown names are
// INVALID_ARGUMENT with a message that lists the accepted names.
[[nodiscard]] Result<SrtpSuite> ParseSrtpSuite(std::string_view name);

// Master key plus master salt length: 16+14, 16+14, 32+14, 16+12, 32+12.
constexpr size_t SrtpKeySaltBytes(SrtpSuite suite) {
  switch (suite) {
    case SrtpSuite::kAesCm128HmacSha1_80: return 30;
    case SrtpSuite::kAesCm128HmacSha1_32: return 30;
    case SrtpSuite::kAes256CmHmacSha1_80: return 46;
    case SrtpSuite::kAeadAes128Gcm: return 28;
    case SrtpSuite::kAeadAes256Gcm: return 44;
  }
  return 0;
}
inline constexpr size_t kSrtpMaxKeySaltBytes = 46;

class SrtpKey {
 public:
  // A key from raw key||salt bytes; INVALID_ARGUMENT unless exactly
  // SrtpKeySaltBytes(suite) long.
  [[nodiscard]] static Result<SrtpKey> FromBytes(SrtpSuite suite,
                                                 std::span<const uint8_t> key_salt);

  SrtpKey(const SrtpKey&) = delete;
  SrtpKey& operator=(const SrtpKey&) = delete;
  // Moving copies the bytes into the destination and wipes the source.
  SrtpKey(SrtpKey&& other) noexcept;
  SrtpKey& operator=(SrtpKey&& other) noexcept;
  ~SrtpKey();

  // An explicit second copy (one session per direction needs the same key).
  SrtpKey Clone() const;

  SrtpSuite suite() const { return suite_; }
  // key||salt; empty once moved from.
  std::span<const uint8_t> bytes() const { return {bytes_.data(), size_}; }
  bool empty() const { return size_ == 0; }

 private:
  explicit SrtpKey(SrtpSuite suite) : suite_(suite), size_(SrtpKeySaltBytes(suite)) {}
  std::span<uint8_t> mutable_bytes() { return {bytes_.data(), size_}; }
  void Wipe();

  friend Result<SrtpKey> ParseSdesKey(SrtpSuite suite, std::string_view key_params);
  friend Result<SrtpKey> GenerateSrtpKey(SrtpSuite suite);

  SrtpSuite suite_;
  size_t size_;
  std::array<uint8_t, kSrtpMaxKeySaltBytes> bytes_{};
};

// Parses the key-params of an a=crypto line (RFC 4568 §9.1):
//   ["inline:"] base64(key||salt) ["|" lifetime]
// where lifetime is decimal or "2^" decimal. The lifetime is checked for form
// and otherwise ignored: libsrtp enforces the RFC 3711 2^48 / 2^31 limits
// itself and telephony peers never offer less. Base64 padding may be omitted.
// Refused, each with INVALID_ARGUMENT and a message free of key text: an MKI
// ("|1:4"), several key-params (";"), bad base64, a lifetime that is not a
// number, and a decoded length other than SrtpKeySaltBytes(suite).
[[nodiscard]] Result<SrtpKey> ParseSdesKey(SrtpSuite suite, std::string_view key_params);

// A fresh random key for `suite` from getrandom(2). Fails (INTERNAL) only if the
// kernel's random source fails, which the caller must not paper over.
[[nodiscard]] Result<SrtpKey> GenerateSrtpKey(SrtpSuite suite);

// base64(key||salt) with padding, without the "inline:" prefix, for the
// a=crypto line of an SDP answer. The returned string is secret.
std::string FormatSdesKey(const SrtpKey& key);

// GoogleTest printer: suite name and "<redacted>", never the bytes.
void PrintTo(const SrtpKey& key, std::ostream* os);

}  // namespace earshot::dataplane

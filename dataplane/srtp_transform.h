#pragma once
// The per-packet cryptography of one SRTP suite under one master key: what
// RFC 3711 §3-4 and RFC 7714 §8-9 do to the bytes of a packet once its SSRC
// and index are known. Which index that is, replay and stream state are the
// session's business (srtp_session.cc, srtp_stream.h); this file only
// encrypts, decrypts and authenticates.
//
// Layouts (all in place; "tag" is the suite's rtp/rtcp tag):
//   SRTP,  AES-CM:  header | E(payload)                   | tag(HMAC-SHA1 over header|E(payload)|ROC)
//   SRTP,  GCM:     header | E(payload)                   | tag   (AAD = header)
//   SRTCP, AES-CM:  first 8 | E(rest) | E-bit|index(31)   | tag(HMAC-SHA1 over all before it)
//   SRTCP, GCM:     first 8 | E(rest) | tag | E-bit|index (AAD = first 8 | E-bit|index)
// IVs: AES-CM (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16) (§4.1.1);
// GCM salt XOR (0x0000 | SSRC | ROC | SEQ) for SRTP and
// salt XOR (0x0000 | SSRC | 0x0000 | index) for SRTCP (RFC 7714 §8.1, §9.1).
// An SRTCP packet with the E bit clear is authenticated only (for GCM the
// whole packet is then AAD); we always send E set.
//
// Made on the control path (Init allocates the OpenSSL contexts); every
// method after that allocates nothing. Key material is wiped by the members'
// destructors and by ~SrtpTransform for the salts.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/srtp_crypto.h"
#include "dataplane/srtp_kdf.h"
#include "dataplane/srtp_key.h"

namespace earshot::dataplane {

enum class TransformStatus : uint8_t {
  kOk,
  kAuthenticationFailed,  // unprotect: the tag does not verify
  kCryptoFailed,          // OpenSSL reported an error (not expected after Init)
};

// SRTCP's trailer word: E bit | 31-bit index.
inline constexpr uint32_t kSrtcpEncryptedBit = 0x80000000u;
inline constexpr uint32_t kSrtcpMaxIndex = 0x7FFFFFFFu;
inline constexpr size_t kSrtcpTrailerBytes = 4;
inline constexpr size_t kRtcpHeaderBytes = 8;

class SrtpTransform {
 public:
  SrtpTransform() = default;
  SrtpTransform(const SrtpTransform&) = delete;
  SrtpTransform& operator=(const SrtpTransform&) = delete;
  ~SrtpTransform();

  // Derives the session keys from `key` and makes the cipher contexts, for
  // protecting (`encrypt`) or unprotecting. False on an OpenSSL failure.
  [[nodiscard]] bool Init(const SrtpKey& key, bool encrypt);

  SrtpSuite suite() const { return suite_; }
  const SrtpSuiteParams& params() const { return params_; }

  // buffer[0, length) is a plain RTP packet whose header (CSRCs and extension
  // included) is header_bytes long; the tag goes at buffer[length, length +
  // rtp_tag_bytes), which the caller has checked fits.
  TransformStatus ProtectRtp(std::span<uint8_t> buffer, size_t length, size_t header_bytes,
                             uint32_t ssrc, uint64_t index);
  // `packet` is an SRTP packet including its tag. On kOk the plain packet is
  // packet[0, size - rtp_tag_bytes).
  TransformStatus UnprotectRtp(std::span<uint8_t> packet, size_t header_bytes, uint32_t ssrc,
                               uint64_t index);

  // Appends E|index and the tag after buffer[0, length); returns kOk and the
  // SRTCP packet is length + 4 + rtcp_tag_bytes long.
  TransformStatus ProtectRtcp(std::span<uint8_t> buffer, size_t length, uint32_t ssrc,
                              uint32_t index);
  // `packet` is a whole SRTCP packet, at least 8 + 4 + rtcp_tag_bytes long;
  // `e_index` is its trailer word. On kOk the plain packet is
  // packet[0, size - 4 - rtcp_tag_bytes).
  TransformStatus UnprotectRtcp(std::span<uint8_t> packet, uint32_t ssrc, uint32_t e_index);

 private:
  // The keyed state for one of SRTP and SRTCP.
  struct Keyed {
    AesCtr ctr;     // AES-CM suites
    HmacSha1 hmac;  // AES-CM suites
    AesGcm gcm;     // AEAD suites
    std::array<uint8_t, kSrtpMaxSaltBytes> salt{};
  };
  [[nodiscard]] bool InitKeyed(Keyed& keyed, const SrtpSessionKeys& keys, bool encrypt);

  std::array<uint8_t, AesCtr::kBlockBytes> CmIv(const Keyed& keyed, uint32_t ssrc,
                                                uint64_t index) const;
  // `index` fills the last 48 bits: ROC|SEQ for SRTP, 0x0000|index for SRTCP.
  std::array<uint8_t, AesGcm::kIvBytes> GcmIv(const Keyed& keyed, uint32_t ssrc,
                                              uint64_t index) const;

  SrtpSuite suite_ = SrtpSuite::kAesCm128HmacSha1_80;
  SrtpSuiteParams params_ = SrtpParamsOf(SrtpSuite::kAesCm128HmacSha1_80);
  bool encrypt_ = true;
  Keyed rtp_;
  Keyed rtcp_;
};

}  // namespace earshot::dataplane

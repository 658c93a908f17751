#include "dataplane/srtp_transform.h"

#include <cstring>

#include <openssl/crypto.h>

namespace earshot::dataplane {
namespace {

void PutBe32(uint8_t* out, uint32_t value) {
  out[0] = static_cast<uint8_t>(value >> 24);
  out[1] = static_cast<uint8_t>(value >> 16);
  out[2] = static_cast<uint8_t>(value >> 8);
  out[3] = static_cast<uint8_t>(value);
}

// Constant time, so a forger learns nothing from how long a refusal takes.
bool TagsEqual(const uint8_t* a, const uint8_t* b, size_t size) {
  return CRYPTO_memcmp(a, b, size) == 0;
}

}  // namespace

SrtpTransform::~SrtpTransform() {
  OPENSSL_cleanse(rtp_.salt.data(), rtp_.salt.size());
  OPENSSL_cleanse(rtcp_.salt.data(), rtcp_.salt.size());
}

bool SrtpTransform::InitKeyed(Keyed& keyed, const SrtpSessionKeys& keys, bool encrypt) {
  const std::span<const uint8_t> cipher_key =
      std::span(keys.cipher_key).first(params_.cipher_key_bytes);
  keyed.salt = keys.salt;
  if (params_.aead) return keyed.gcm.Init(cipher_key, encrypt);
  keyed.hmac.Init(std::span(keys.auth_key).first(params_.auth_key_bytes));
  return keyed.ctr.Init(cipher_key);
}

bool SrtpTransform::Init(const SrtpKey& key, bool encrypt) {
  suite_ = key.suite();
  params_ = SrtpParamsOf(suite_);
  encrypt_ = encrypt;
  SrtpDerivedKeys keys;
  if (!DeriveSrtpKeys(key, keys)) return false;
  return InitKeyed(rtp_, keys.rtp, encrypt) && InitKeyed(rtcp_, keys.rtcp, encrypt);
}

std::array<uint8_t, AesCtr::kBlockBytes> SrtpTransform::CmIv(const Keyed& keyed, uint32_t ssrc,
                                                             uint64_t index) const {
  std::array<uint8_t, AesCtr::kBlockBytes> iv{};
  std::memcpy(iv.data(), keyed.salt.data(), 14);
  iv[4] ^= static_cast<uint8_t>(ssrc >> 24);
  iv[5] ^= static_cast<uint8_t>(ssrc >> 16);
  iv[6] ^= static_cast<uint8_t>(ssrc >> 8);
  iv[7] ^= static_cast<uint8_t>(ssrc);
  for (int i = 0; i < 6; ++i) iv[8 + i] ^= static_cast<uint8_t>(index >> (40 - 8 * i));
  return iv;
}

std::array<uint8_t, AesGcm::kIvBytes> SrtpTransform::GcmIv(const Keyed& keyed, uint32_t ssrc,
                                                           uint64_t index) const {
  std::array<uint8_t, AesGcm::kIvBytes> iv{};
  PutBe32(&iv[2], ssrc);
  for (int i = 0; i < 6; ++i) iv[6 + i] = static_cast<uint8_t>(index >> (40 - 8 * i));
  for (size_t i = 0; i < iv.size(); ++i) iv[i] ^= keyed.salt[i];
  return iv;
}

TransformStatus SrtpTransform::ProtectRtp(std::span<uint8_t> buffer, size_t length,
                                          size_t header_bytes, uint32_t ssrc, uint64_t index) {
  const std::span<uint8_t> payload = buffer.subspan(header_bytes, length - header_bytes);
  uint8_t* tag = buffer.data() + length;
  if (params_.aead) {
    // RFC 7714 §8.1: ROC then SEQ, which is the 48-bit index.
    return rtp_.gcm.Seal(GcmIv(rtp_, ssrc, index), buffer.first(header_bytes), {}, payload,
                         std::span<uint8_t, AesGcm::kTagBytes>(tag, AesGcm::kTagBytes))
               ? TransformStatus::kOk
               : TransformStatus::kCryptoFailed;
  }
  if (!rtp_.ctr.Apply(CmIv(rtp_, ssrc, index), payload)) return TransformStatus::kCryptoFailed;
  uint8_t roc[4];
  PutBe32(roc, static_cast<uint32_t>(index >> 16));
  std::array<uint8_t, HmacSha1::kDigestBytes> digest;
  rtp_.hmac.Compute(buffer.first(length), roc, digest);
  std::memcpy(tag, digest.data(), params_.rtp_tag_bytes);
  return TransformStatus::kOk;
}

TransformStatus SrtpTransform::UnprotectRtp(std::span<uint8_t> packet, size_t header_bytes,
                                            uint32_t ssrc, uint64_t index) {
  const size_t tag_bytes = params_.rtp_tag_bytes;
  const size_t body = packet.size() - tag_bytes;
  const std::span<uint8_t> payload = packet.subspan(header_bytes, body - header_bytes);
  const uint8_t* tag = packet.data() + body;
  if (params_.aead) {
    return rtp_.gcm.Open(GcmIv(rtp_, ssrc, index), packet.first(header_bytes), {}, payload,
                         std::span<const uint8_t, AesGcm::kTagBytes>(tag, AesGcm::kTagBytes))
               ? TransformStatus::kOk
               : TransformStatus::kAuthenticationFailed;
  }
  uint8_t roc[4];
  PutBe32(roc, static_cast<uint32_t>(index >> 16));
  std::array<uint8_t, HmacSha1::kDigestBytes> digest;
  rtp_.hmac.Compute(packet.first(body), roc, digest);
  if (!TagsEqual(digest.data(), tag, tag_bytes)) return TransformStatus::kAuthenticationFailed;
  return rtp_.ctr.Apply(CmIv(rtp_, ssrc, index), payload) ? TransformStatus::kOk
                                                          : TransformStatus::kCryptoFailed;
}

TransformStatus SrtpTransform::ProtectRtcp(std::span<uint8_t> buffer, size_t length,
                                           uint32_t ssrc, uint32_t index) {
  const uint32_t e_index = kSrtcpEncryptedBit | index;
  const std::span<uint8_t> body = buffer.subspan(kRtcpHeaderBytes, length - kRtcpHeaderBytes);
  if (params_.aead) {
    uint8_t* tag = buffer.data() + length;
    uint8_t* trailer = tag + AesGcm::kTagBytes;
    PutBe32(trailer, e_index);
    // AAD is the first 8 bytes then E|index (RFC 7714 §9.2).
    return rtcp_.gcm.Seal(GcmIv(rtcp_, ssrc, index), buffer.first(kRtcpHeaderBytes),
                          std::span<const uint8_t>(trailer, kSrtcpTrailerBytes), body,
                          std::span<uint8_t, AesGcm::kTagBytes>(tag, AesGcm::kTagBytes))
               ? TransformStatus::kOk
               : TransformStatus::kCryptoFailed;
  }
  if (!rtcp_.ctr.Apply(CmIv(rtcp_, ssrc, index), body)) return TransformStatus::kCryptoFailed;
  PutBe32(buffer.data() + length, e_index);
  const size_t authenticated = length + kSrtcpTrailerBytes;
  std::array<uint8_t, HmacSha1::kDigestBytes> digest;
  rtcp_.hmac.Compute(buffer.first(authenticated), {}, digest);
  std::memcpy(buffer.data() + authenticated, digest.data(), params_.rtcp_tag_bytes);
  return TransformStatus::kOk;
}

TransformStatus SrtpTransform::UnprotectRtcp(std::span<uint8_t> packet, uint32_t ssrc,
                                             uint32_t e_index) {
  const size_t tag_bytes = params_.rtcp_tag_bytes;
  const bool encrypted = (e_index & kSrtcpEncryptedBit) != 0;
  const uint32_t index = e_index & kSrtcpMaxIndex;
  const size_t plain_size = packet.size() - kSrtcpTrailerBytes - tag_bytes;
  if (params_.aead) {
    const uint8_t* tag = packet.data() + plain_size;
    const std::span<const uint8_t> trailer(tag + AesGcm::kTagBytes, kSrtcpTrailerBytes);
    const std::span<const uint8_t, AesGcm::kTagBytes> tag_span(tag, AesGcm::kTagBytes);
    const auto iv = GcmIv(rtcp_, ssrc, index);
    // E clear: the whole packet and the trailer word are AAD and nothing is
    // encrypted (RFC 7714 §9.3).
    const bool ok =
        encrypted
            ? rtcp_.gcm.Open(iv, packet.first(kRtcpHeaderBytes), trailer,
                             packet.subspan(kRtcpHeaderBytes, plain_size - kRtcpHeaderBytes),
                             tag_span)
            : rtcp_.gcm.Open(iv, packet.first(plain_size), trailer, {}, tag_span);
    return ok ? TransformStatus::kOk : TransformStatus::kAuthenticationFailed;
  }
  const size_t authenticated = plain_size + kSrtcpTrailerBytes;
  std::array<uint8_t, HmacSha1::kDigestBytes> digest;
  rtcp_.hmac.Compute(packet.first(authenticated), {}, digest);
  if (!TagsEqual(digest.data(), packet.data() + authenticated, tag_bytes)) {
    return TransformStatus::kAuthenticationFailed;
  }
  if (!encrypted) return TransformStatus::kOk;
  return rtcp_.ctr.Apply(CmIv(rtcp_, ssrc, index),
                         packet.subspan(kRtcpHeaderBytes, plain_size - kRtcpHeaderBytes))
             ? TransformStatus::kOk
             : TransformStatus::kCryptoFailed;
}

}  // namespace earshot::dataplane

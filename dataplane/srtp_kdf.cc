#include "dataplane/srtp_kdf.h"

#include <openssl/crypto.h>

#include "dataplane/srtp_crypto.h"

namespace earshot::dataplane {
namespace {

// RFC 3711 §4.3.2 labels.
enum Label : uint8_t {
  kRtpEncryption = 0,
  kRtpAuthentication = 1,
  kRtpSalt = 2,
  kRtcpEncryption = 3,
  kRtcpAuthentication = 4,
  kRtcpSalt = 5,
};

// One PRF output: AES-CM keystream from IV = ((label << 48) XOR salt) * 2^16.
// With kdr 0, r = 0 and key_id is the label alone in the 7th byte from the
// end of the 14-byte x.
bool Derive(AesCtr& prf, std::span<const uint8_t> master_salt, Label label,
            std::span<uint8_t> out) {
  std::array<uint8_t, AesCtr::kBlockBytes> iv{};
  for (size_t i = 0; i < master_salt.size() && i < kSrtpMaxSaltBytes; ++i) iv[i] = master_salt[i];
  iv[7] ^= label;
  for (uint8_t& byte : out) byte = 0;  // keystream XOR 0 = keystream
  const bool ok = prf.Apply(iv, out);
  OPENSSL_cleanse(iv.data(), iv.size());
  return ok;
}

}  // namespace

void SrtpSessionKeys::Wipe() {
  OPENSSL_cleanse(cipher_key.data(), cipher_key.size());
  OPENSSL_cleanse(auth_key.data(), auth_key.size());
  OPENSSL_cleanse(salt.data(), salt.size());
}

bool DeriveSrtpKeys(const SrtpKey& key, SrtpDerivedKeys& out) {
  const SrtpSuiteParams params = SrtpParamsOf(key.suite());
  const std::span<const uint8_t> bytes = key.bytes();
  if (bytes.size() != SrtpKeySaltBytes(key.suite())) return false;
  const std::span<const uint8_t> master_key = bytes.first(params.cipher_key_bytes);
  const std::span<const uint8_t> master_salt = bytes.subspan(params.cipher_key_bytes);

  AesCtr prf;
  if (!prf.Init(master_key)) return false;
  const size_t k = params.cipher_key_bytes;
  const size_t s = params.salt_bytes;
  const size_t a = params.auth_key_bytes;
  bool ok = Derive(prf, master_salt, kRtpEncryption, std::span(out.rtp.cipher_key).first(k)) &&
            Derive(prf, master_salt, kRtpSalt, std::span(out.rtp.salt).first(s)) &&
            Derive(prf, master_salt, kRtcpEncryption, std::span(out.rtcp.cipher_key).first(k)) &&
            Derive(prf, master_salt, kRtcpSalt, std::span(out.rtcp.salt).first(s));
  if (ok && a != 0) {
    ok = Derive(prf, master_salt, kRtpAuthentication, std::span(out.rtp.auth_key).first(a)) &&
         Derive(prf, master_salt, kRtcpAuthentication, std::span(out.rtcp.auth_key).first(a));
  }
  if (!ok) {
    out.rtp.Wipe();
    out.rtcp.Wipe();
  }
  return ok;
}

}  // namespace earshot::dataplane

#pragma once
// The three cryptographic primitives SRTP needs (RFC 3711 §4, RFC 7714), as
// OpenSSL 3 objects made once when keys are set and reused for every packet
// without allocating, locking or fetching (STYLE.md §3).
//
// - AesCtr: AES-128/256 in counter mode (SRTP's AES-CM, and the KDF's PRF).
//   Holds one EVP_CIPHER_CTX keyed at Init; Apply() only re-sets the 16-byte
//   counter block (EVP_EncryptInit_ex with a null cipher and key, which in
//   OpenSSL 3 calls the provider's init with just the IV: no allocation) and
//   XORs the keystream over the data in place. OpenSSL increments the whole
//   128-bit block where RFC 3711 increments the low 16 bits; the two agree
//   because an SRTP packet is far shorter than 2^16 blocks.
// - AesGcm: AES-128/256-GCM with a 16-byte tag (RFC 7714). One context per
//   direction (a context is keyed for encryption or decryption); Seal/Open
//   re-set only the 12-byte IV.
// - HmacSha1: HMAC-SHA1 (RFC 2104) with the key's inner and outer SHA-1
//   states computed once at Init, then copied by value for every packet.
//   That is why this uses OpenSSL's low-level SHA1_* functions, deprecated in
//   3.0: the EVP routes (EVP_MAC, or EVP_MD_CTX_copy_ex of a keyed digest)
//   duplicate the provider's context on every copy, which is a heap
//   allocation per packet. See srtp_crypto.cc.
//
// Each object owns secret state and wipes it on destruction (OPENSSL_cleanse;
// EVP_CIPHER_CTX_free clears the provider's key schedule). None is copyable;
// all move. A default-constructed or moved-from object is unkeyed and must not
// be used (DCHECKed).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include <openssl/evp.h>

namespace earshot::dataplane {

// Fetches the AES ciphers once per process (EVP_CIPHER_fetch takes the
// provider store's lock, so it stays out of every per-key path). False if
// OpenSSL lacks them. Every Init below calls it.
bool LoadSrtpCiphers();

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

class AesCtr {
 public:
  static constexpr size_t kBlockBytes = 16;

  // `key` is 16 or 32 bytes (AES-128 or AES-256). False on any OpenSSL failure.
  [[nodiscard]] bool Init(std::span<const uint8_t> key);
  // XORs the keystream that starts at counter block `iv` over `data`.
  [[nodiscard]] bool Apply(const std::array<uint8_t, kBlockBytes>& iv, std::span<uint8_t> data);

 private:
  CipherCtxPtr ctx_;
};

class AesGcm {
 public:
  static constexpr size_t kIvBytes = 12;
  static constexpr size_t kTagBytes = 16;

  // `key` is 16 or 32 bytes; `encrypt` chooses Seal or Open for this object.
  [[nodiscard]] bool Init(std::span<const uint8_t> key, bool encrypt);
  // Encrypts `data` in place under the associated data aad || aad_tail (two
  // spans because SRTCP's AAD is not contiguous) and writes the tag.
  [[nodiscard]] bool Seal(const std::array<uint8_t, kIvBytes>& iv, std::span<const uint8_t> aad,
                          std::span<const uint8_t> aad_tail, std::span<uint8_t> data,
                          std::span<uint8_t, kTagBytes> tag);
  // Decrypts `data` in place and verifies `tag`; false if it does not verify
  // (then `data` is unspecified).
  [[nodiscard]] bool Open(const std::array<uint8_t, kIvBytes>& iv, std::span<const uint8_t> aad,
                          std::span<const uint8_t> aad_tail, std::span<uint8_t> data,
                          std::span<const uint8_t, kTagBytes> tag);

 private:
  [[nodiscard]] bool Start(const std::array<uint8_t, kIvBytes>& iv, std::span<const uint8_t> aad,
                           std::span<const uint8_t> aad_tail);
  [[nodiscard]] bool Crypt(std::span<uint8_t> data);

  CipherCtxPtr ctx_;
};

class HmacSha1 {
 public:
  static constexpr size_t kDigestBytes = 20;

  HmacSha1();
  HmacSha1(HmacSha1&& other) noexcept;
  HmacSha1& operator=(HmacSha1&& other) noexcept;
  HmacSha1(const HmacSha1&) = delete;
  HmacSha1& operator=(const HmacSha1&) = delete;
  ~HmacSha1();

  // Any key length (SRTP uses 20 bytes).
  void Init(std::span<const uint8_t> key);
  // HMAC-SHA1(key, first || second): SRTP authenticates the packet followed by
  // the ROC, which is not contiguous with it in the caller's buffer.
  void Compute(std::span<const uint8_t> first, std::span<const uint8_t> second,
               std::span<uint8_t, kDigestBytes> digest) const;

 private:
  // SHA_CTX from <openssl/sha.h>, held as opaque storage so this header does
  // not pull in the deprecated declarations. Checked in srtp_crypto.cc.
  static constexpr size_t kStateBytes = 96;
  struct alignas(8) State {
    std::array<uint8_t, kStateBytes> bytes;
  };
  void Wipe();

  State inner_;  // SHA-1 after absorbing key XOR ipad
  State outer_;  // SHA-1 after absorbing key XOR opad
  bool keyed_ = false;
};

}  // namespace earshot::dataplane

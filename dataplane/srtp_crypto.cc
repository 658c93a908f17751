// OpenSSL's low-level SHA1_Init/Update/Final are deprecated in 3.0 but are the
// only allocation-free way to resume a keyed HMAC state per packet: EVP_MAC
// re-init and EVP_MD_CTX_copy_ex both call the provider's dupctx, which
// mallocs (see srtp_crypto.h). SHA_CTX is a plain struct that copies by value.
// The suppression is confined to this file.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "dataplane/srtp_crypto.h"

#include <climits>
#include <cstring>
#include <mutex>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "codecs/check.h"

namespace earshot::dataplane {
namespace {

struct SrtpCiphers {
  EVP_CIPHER* ctr128 = nullptr;
  EVP_CIPHER* ctr256 = nullptr;
  EVP_CIPHER* gcm128 = nullptr;
  EVP_CIPHER* gcm256 = nullptr;
};

// Fetched once and kept for the life of the process (still reachable, so not
// a leak): every key's contexts point at these.
const SrtpCiphers* Ciphers() {
  static const SrtpCiphers* ciphers = [] {
    auto* fetched = new SrtpCiphers;
    fetched->ctr128 = EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr);
    fetched->ctr256 = EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr);
    fetched->gcm128 = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
    fetched->gcm256 = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    return fetched;
  }();
  return ciphers;
}

const EVP_CIPHER* CtrCipher(size_t key_bytes) {
  if (key_bytes == 16) return Ciphers()->ctr128;
  if (key_bytes == 32) return Ciphers()->ctr256;
  return nullptr;
}

const EVP_CIPHER* GcmCipher(size_t key_bytes) {
  if (key_bytes == 16) return Ciphers()->gcm128;
  if (key_bytes == 32) return Ciphers()->gcm256;
  return nullptr;
}

static_assert(sizeof(SHA_CTX) == 96, "HmacSha1::kStateBytes must hold a SHA_CTX");
static_assert(alignof(SHA_CTX) <= 8);

constexpr size_t kShaBlockBytes = SHA_CBLOCK;

}  // namespace

bool LoadSrtpCiphers() {
  const SrtpCiphers* c = Ciphers();
  return c->ctr128 != nullptr && c->ctr256 != nullptr && c->gcm128 != nullptr &&
         c->gcm256 != nullptr;
}

// AesCtr ---------------------------------------------------------------------

bool AesCtr::Init(std::span<const uint8_t> key) {
  if (!LoadSrtpCiphers()) return false;
  const EVP_CIPHER* cipher = CtrCipher(key.size());
  if (cipher == nullptr) return false;
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return false;
  const std::array<uint8_t, kBlockBytes> zero_iv{};
  if (EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.data(), zero_iv.data()) != 1) {
    return false;
  }
  ctx_ = std::move(ctx);
  return true;
}

bool AesCtr::Apply(const std::array<uint8_t, kBlockBytes>& iv, std::span<uint8_t> data) {
  EARSHOT_DCHECK(ctx_ != nullptr);
  if (data.size() > INT_MAX) return false;
  if (EVP_EncryptInit_ex(ctx_.get(), nullptr, nullptr, nullptr, iv.data()) != 1) return false;
  if (data.empty()) return true;
  int written = 0;
  if (EVP_EncryptUpdate(ctx_.get(), data.data(), &written, data.data(),
                        static_cast<int>(data.size())) != 1) {
    return false;
  }
  // CTR is a stream mode: Update emits every byte, Final nothing.
  return static_cast<size_t>(written) == data.size();
}

// AesGcm ---------------------------------------------------------------------

bool AesGcm::Init(std::span<const uint8_t> key, bool encrypt) {
  if (!LoadSrtpCiphers()) return false;
  const EVP_CIPHER* cipher = GcmCipher(key.size());
  if (cipher == nullptr) return false;
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return false;
  // The default GCM IV length is 12 bytes, which is RFC 7714's.
  if (EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key.data(), nullptr, encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_get_iv_length(ctx.get()) != static_cast<int>(kIvBytes)) {
    return false;
  }
  ctx_ = std::move(ctx);
  return true;
}

bool AesGcm::Start(const std::array<uint8_t, kIvBytes>& iv, std::span<const uint8_t> aad,
                   std::span<const uint8_t> aad_tail) {
  EARSHOT_DCHECK(ctx_ != nullptr);
  if (aad.size() > INT_MAX || aad_tail.size() > INT_MAX) return false;
  // enc -1 keeps the direction chosen at Init.
  if (EVP_CipherInit_ex(ctx_.get(), nullptr, nullptr, nullptr, iv.data(), -1) != 1) return false;
  int written = 0;
  for (std::span<const uint8_t> part : {aad, aad_tail}) {
    if (!part.empty() && EVP_CipherUpdate(ctx_.get(), nullptr, &written, part.data(),
                                          static_cast<int>(part.size())) != 1) {
      return false;
    }
  }
  return true;
}

bool AesGcm::Crypt(std::span<uint8_t> data) {
  if (data.empty()) return true;
  if (data.size() > INT_MAX) return false;
  int written = 0;
  return EVP_CipherUpdate(ctx_.get(), data.data(), &written, data.data(),
                          static_cast<int>(data.size())) == 1 &&
         static_cast<size_t>(written) == data.size();
}

bool AesGcm::Seal(const std::array<uint8_t, kIvBytes>& iv, std::span<const uint8_t> aad,
                  std::span<const uint8_t> aad_tail, std::span<uint8_t> data,
                  std::span<uint8_t, kTagBytes> tag) {
  if (!Start(iv, aad, aad_tail) || !Crypt(data)) return false;
  // GCM's Final writes no bytes; the pointer only has to be valid.
  int written = 0;
  if (EVP_CipherFinal_ex(ctx_.get(), tag.data(), &written) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagBytes),
                             tag.data()) == 1;
}

bool AesGcm::Open(const std::array<uint8_t, kIvBytes>& iv, std::span<const uint8_t> aad,
                  std::span<const uint8_t> aad_tail, std::span<uint8_t> data,
                  std::span<const uint8_t, kTagBytes> tag) {
  if (!Start(iv, aad, aad_tail) || !Crypt(data)) return false;
  // SET_TAG takes a non-const pointer but only reads the tag.
  if (EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagBytes),
                          const_cast<uint8_t*>(tag.data())) != 1) {
    return false;
  }
  uint8_t unused[kTagBytes];
  int written = 0;
  return EVP_CipherFinal_ex(ctx_.get(), unused, &written) == 1;
}

// HmacSha1 -------------------------------------------------------------------

HmacSha1::HmacSha1() { Wipe(); }

HmacSha1::HmacSha1(HmacSha1&& other) noexcept
    : inner_(other.inner_), outer_(other.outer_), keyed_(other.keyed_) {
  other.Wipe();
}

HmacSha1& HmacSha1::operator=(HmacSha1&& other) noexcept {
  if (this != &other) {
    inner_ = other.inner_;
    outer_ = other.outer_;
    keyed_ = other.keyed_;
    other.Wipe();
  }
  return *this;
}

HmacSha1::~HmacSha1() { Wipe(); }

void HmacSha1::Wipe() {
  OPENSSL_cleanse(inner_.bytes.data(), inner_.bytes.size());
  OPENSSL_cleanse(outer_.bytes.data(), outer_.bytes.size());
  keyed_ = false;
}

void HmacSha1::Init(std::span<const uint8_t> key) {
  // RFC 2104 §2: a key longer than the block is hashed first, a shorter one is
  // zero-padded to the block.
  std::array<uint8_t, kShaBlockBytes> block{};
  if (key.size() > block.size()) {
    SHA1(key.data(), key.size(), block.data());
  } else {
    std::memcpy(block.data(), key.data(), key.size());
  }
  std::array<uint8_t, kShaBlockBytes> pad;
  SHA_CTX ctx;

  for (size_t i = 0; i < pad.size(); ++i) pad[i] = block[i] ^ 0x36;
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, pad.data(), pad.size());
  std::memcpy(inner_.bytes.data(), &ctx, sizeof(ctx));

  for (size_t i = 0; i < pad.size(); ++i) pad[i] = block[i] ^ 0x5c;
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, pad.data(), pad.size());
  std::memcpy(outer_.bytes.data(), &ctx, sizeof(ctx));

  OPENSSL_cleanse(&ctx, sizeof(ctx));
  OPENSSL_cleanse(pad.data(), pad.size());
  OPENSSL_cleanse(block.data(), block.size());
  keyed_ = true;
}

void HmacSha1::Compute(std::span<const uint8_t> first, std::span<const uint8_t> second,
                       std::span<uint8_t, kDigestBytes> digest) const {
  EARSHOT_DCHECK(keyed_);
  SHA_CTX ctx;
  std::memcpy(&ctx, inner_.bytes.data(), sizeof(ctx));
  SHA1_Update(&ctx, first.data(), first.size());
  if (!second.empty()) SHA1_Update(&ctx, second.data(), second.size());
  std::array<uint8_t, kDigestBytes> inner_digest;
  SHA1_Final(inner_digest.data(), &ctx);

  std::memcpy(&ctx, outer_.bytes.data(), sizeof(ctx));
  SHA1_Update(&ctx, inner_digest.data(), inner_digest.size());
  SHA1_Final(digest.data(), &ctx);
  // The intermediate states are key-dependent; do not leave them on the stack.
  OPENSSL_cleanse(&ctx, sizeof(ctx));
  OPENSSL_cleanse(inner_digest.data(), inner_digest.size());
}

}  // namespace earshot::dataplane

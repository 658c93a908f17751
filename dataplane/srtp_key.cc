#include "dataplane/srtp_key.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <ostream>
#include <string.h>  // explicit_bzero

namespace earshot::dataplane {
namespace {

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// -1 for a byte outside the alphabet.
constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> table{};
  table.fill(-1);
  for (size_t i = 0; i < kBase64Alphabet.size(); ++i) {
    table[static_cast<uint8_t>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}
constexpr std::array<int8_t, 256> kDecodeTable = MakeDecodeTable();

constexpr char ToLowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLowerAscii(a[i]) != ToLowerAscii(b[i])) return false;
  }
  return true;
}

std::string_view TrimAscii(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

bool AllDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Decoded length of base64 text with its padding already removed, or -1 if no
// byte count encodes to that many characters (a lone trailing sextet).
int64_t Base64DecodedSize(size_t chars) {
  if (chars % 4 == 1) return -1;
  return static_cast<int64_t>(chars / 4 * 3 + (chars % 4 == 0 ? 0 : chars % 4 - 1));
}

// Decodes `text` (no padding, every character already known to be in the
// alphabet) into `out`, which is exactly Base64DecodedSize(text.size()) long.
void Base64Decode(std::string_view text, std::span<uint8_t> out) {
  uint32_t bits = 0;
  int pending = 0;
  size_t at = 0;
  for (char c : text) {
    bits = (bits << 6) | static_cast<uint32_t>(kDecodeTable[static_cast<uint8_t>(c)]);
    pending += 6;
    if (pending >= 8) {
      pending -= 8;
      out[at++] = static_cast<uint8_t>(bits >> pending);
    }
  }
}

std::string Prefix(SrtpSuite suite) {
  std::string message = "SDES key for ";
  message += SrtpSuiteName(suite);
  message += ": ";
  return message;
}

std::string LengthMessage(SrtpSuite suite, size_t got) {
  return "SDES key: expected " + std::to_string(SrtpKeySaltBytes(suite)) + " bytes for " +
         std::string(SrtpSuiteName(suite)) + ", got " + std::to_string(got);
}

}  // namespace

std::string_view SrtpSuiteName(SrtpSuite suite) {
  switch (suite) {
    case SrtpSuite::kAesCm128HmacSha1_80: return "AES_CM_128_HMAC_SHA1_80";
    case SrtpSuite::kAesCm128HmacSha1_32: return "AES_CM_128_HMAC_SHA1_32";
    case SrtpSuite::kAes256CmHmacSha1_80: return "AES_256_CM_HMAC_SHA1_80";
    case SrtpSuite::kAeadAes128Gcm: return "AEAD_AES_128_GCM";
    case SrtpSuite::kAeadAes256Gcm: return "AEAD_AES_256_GCM";
  }
  return "UNKNOWN";
}

Result<SrtpSuite> ParseSrtpSuite(std::string_view name) {
  for (SrtpSuite suite : kAllSrtpSuites) {
    if (EqualsIgnoreCase(name, SrtpSuiteName(suite))) return suite;
  }
  // The name is an SDP token, not a secret, but it is attacker-chosen: cap it.
  constexpr size_t kMaxEcho = 40;
  std::string message = "unknown SRTP crypto-suite \"";
  message += name.substr(0, kMaxEcho);
  if (name.size() > kMaxEcho) message += "...";
  message += "\"; accepted:";
  for (SrtpSuite suite : kAllSrtpSuites) {
    message += ' ';
    message += SrtpSuiteName(suite);
  }
  return InvalidArgument(std::move(message));
}

// ---------------------------------------------------------------------------
// SrtpKey

Result<SrtpKey> SrtpKey::FromBytes(SrtpSuite suite, std::span<const uint8_t> key_salt) {
  SrtpKey key(suite);
  if (key_salt.size() != key.size_) {
    return InvalidArgument(LengthMessage(suite, key_salt.size()));
  }
  std::memcpy(key.bytes_.data(), key_salt.data(), key_salt.size());
  return key;
}

SrtpKey::SrtpKey(SrtpKey&& other) noexcept : suite_(other.suite_), size_(other.size_) {
  std::memcpy(bytes_.data(), other.bytes_.data(), bytes_.size());
  other.Wipe();
}

SrtpKey& SrtpKey::operator=(SrtpKey&& other) noexcept {
  if (this != &other) {
    suite_ = other.suite_;
    size_ = other.size_;
    std::memcpy(bytes_.data(), other.bytes_.data(), bytes_.size());
    other.Wipe();
  }
  return *this;
}

SrtpKey::~SrtpKey() { Wipe(); }

SrtpKey SrtpKey::Clone() const {
  SrtpKey copy(suite_);
  copy.size_ = size_;
  std::memcpy(copy.bytes_.data(), bytes_.data(), bytes_.size());
  return copy;
}

void SrtpKey::Wipe() {
  // explicit_bzero, unlike memset, is not removed as a dead store when the
  // object dies right after.
  explicit_bzero(bytes_.data(), bytes_.size());
  size_ = 0;
}

// ---------------------------------------------------------------------------
// SDES

Result<SrtpKey> ParseSdesKey(SrtpSuite suite, std::string_view key_params) {
  std::string_view text = TrimAscii(key_params);
  if (text.find(';') != std::string_view::npos) {
    return InvalidArgument(Prefix(suite) +
                           "several key-params in one attribute are not supported "
                           "(they need MKI, which Earshot does not support)");
  }
  // RFC 4568 §9.1: key-method ":" key-info, and "inline" is the only method.
  // Base64 has no ':' so any ':' before the first '|' is a method separator.
  const size_t first_bar = text.find('|');
  const size_t colon = text.substr(0, first_bar).find(':');
  if (colon != std::string_view::npos) {
    if (!EqualsIgnoreCase(text.substr(0, colon), "inline")) {
      return InvalidArgument(Prefix(suite) + "unsupported key method (only inline: is defined)");
    }
    text.remove_prefix(colon + 1);
  }

  // key-salt ["|" lifetime] ["|" mki ":" mki-length]
  const size_t bar = text.find('|');
  std::string_view key_text = text.substr(0, bar);
  std::string_view rest = bar == std::string_view::npos ? std::string_view() : text.substr(bar + 1);
  bool seen_lifetime = false;
  while (bar != std::string_view::npos) {
    const size_t next = rest.find('|');
    const std::string_view field = rest.substr(0, next);
    if (field.find(':') != std::string_view::npos) {
      return InvalidArgument(Prefix(suite) +
                             "an MKI (\"|value:length\") is present; Earshot does not "
                             "support MKI, offer the key without one");
    }
    const std::string_view digits = field.starts_with("2^") ? field.substr(2) : field;
    if (seen_lifetime || !AllDigits(digits)) {
      return InvalidArgument(Prefix(suite) +
                             "key lifetime must be a decimal number or 2^N, and appear once");
    }
    seen_lifetime = true;
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
  }

  // Padding is optional on input: some endpoints strip it.
  size_t padding = 0;
  while (padding < 2 && !key_text.empty() && key_text.back() == '=') {
    key_text.remove_suffix(1);
    ++padding;
  }
  for (size_t i = 0; i < key_text.size(); ++i) {
    if (kDecodeTable[static_cast<uint8_t>(key_text[i])] < 0) {
      return InvalidArgument(Prefix(suite) + "key is not valid base64 (bad character at offset " +
                             std::to_string(i) + ")");
    }
  }
  const int64_t decoded = Base64DecodedSize(key_text.size());
  if (decoded < 0 || (padding > 0 && (key_text.size() + padding) % 4 != 0)) {
    return InvalidArgument(Prefix(suite) + "key is not valid base64 (bad length or padding)");
  }
  SrtpKey key(suite);
  if (static_cast<size_t>(decoded) != key.size_) {
    return InvalidArgument(LengthMessage(suite, static_cast<size_t>(decoded)));
  }
  Base64Decode(key_text, key.mutable_bytes());
  return key;
}

Result<SrtpKey> GenerateSrtpKey(SrtpSuite suite) {
  SrtpKey key(suite);
  std::span<uint8_t> out = key.mutable_bytes();
  size_t filled = 0;
  // getrandom never returns short for <= 256 bytes once the pool is
  // initialised, but EINTR before that is possible; loop either way.
  for (int attempts = 0; filled < out.size() && attempts < 16; ++attempts) {
    const ssize_t got = getrandom(out.data() + filled, out.size() - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return MakeError(ErrorCode::kInternal,
                       std::string("getrandom failed: ") + std::strerror(errno));
    }
    filled += static_cast<size_t>(got);
  }
  if (filled != out.size()) {
    return MakeError(ErrorCode::kInternal, "getrandom kept returning short reads");
  }
  return key;
}

std::string FormatSdesKey(const SrtpKey& key) {
  const std::span<const uint8_t> in = key.bytes();
  std::string out;
  // Reserved up front so the string never reallocates and leaves a partial
  // copy of the key behind in freed memory.
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t group = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    out += kBase64Alphabet[(group >> 18) & 63];
    out += kBase64Alphabet[(group >> 12) & 63];
    out += kBase64Alphabet[(group >> 6) & 63];
    out += kBase64Alphabet[group & 63];
  }
  const size_t left = in.size() - i;
  if (left > 0) {
    const uint32_t group = (uint32_t{in[i]} << 16) | (left == 2 ? uint32_t{in[i + 1]} << 8 : 0);
    out += kBase64Alphabet[(group >> 18) & 63];
    out += kBase64Alphabet[(group >> 12) & 63];
    out += left == 2 ? kBase64Alphabet[(group >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

void PrintTo(const SrtpKey& key, std::ostream* os) {
  *os << "SrtpKey{" << SrtpSuiteName(key.suite()) << ", <redacted>}";
}

}  // namespace earshot::dataplane

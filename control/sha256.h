#pragma once
// SHA-256 through OpenSSL's libcrypto, as lowercase hex. Used for the bearer
// token table (which stores hashes, never tokens) and the audit log's chain.
// Shared with earshotctl (`audit verify`), so it depends on nothing else here.

#include <string>
#include <string_view>

namespace earshot::control {

inline constexpr size_t kSha256HexSize = 64;

// The SHA-256 digest of `data` as 64 lowercase hex digits.
std::string Sha256Hex(std::string_view data);

// True when `text` is 64 lowercase hex digits.
bool IsSha256Hex(std::string_view text);

// Compares two strings in time that depends only on their lengths, so that a
// token's hash cannot be guessed byte by byte from the answer time.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace earshot::control

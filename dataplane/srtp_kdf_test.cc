#include "dataplane/srtp_kdf.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace earshot::dataplane {
namespace {

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

template <size_t N>
std::vector<uint8_t> First(const std::array<uint8_t, N>& bytes, size_t n) {
  return {bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)};
}

// RFC 3711 Appendix B.3: the SRTP session keys of one master key and salt.
TEST(SrtpKdfTest, DerivesTheRfc3711AppendixBKeys) {
  const Result<SrtpKey> key =
      SrtpKey::FromBytes(SrtpSuite::kAesCm128HmacSha1_80,
                         FromHex("E1F97A0D3E018BE0D64FA32C06DE4139" "0EC675AD498AFEEBB6960B3AABE6"));
  ASSERT_TRUE(key);
  SrtpDerivedKeys keys;
  ASSERT_TRUE(DeriveSrtpKeys(*key, keys));
  EXPECT_EQ(First(keys.rtp.cipher_key, 16), FromHex("C61E7A93744F39EE10734AFE3FF7A087"));
  EXPECT_EQ(First(keys.rtp.salt, 14), FromHex("30CBBC08863D8C85D49DB34A9AE1"));
  EXPECT_EQ(First(keys.rtp.auth_key, 20), FromHex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
  // SRTCP's labels give different keys from the same master.
  EXPECT_NE(First(keys.rtcp.cipher_key, 16), First(keys.rtp.cipher_key, 16));
}

TEST(SrtpKdfTest, SuiteSizesFollowTheRfcs) {
  for (SrtpSuite suite : kAllSrtpSuites) {
    const SrtpSuiteParams params = SrtpParamsOf(suite);
    EXPECT_EQ(params.cipher_key_bytes + (params.aead ? 12u : 14u), SrtpKeySaltBytes(suite))
        << SrtpSuiteName(suite);
    EXPECT_EQ(params.rtcp_tag_bytes, params.aead ? 16u : 10u) << SrtpSuiteName(suite);
  }
  EXPECT_EQ(SrtpParamsOf(SrtpSuite::kAesCm128HmacSha1_32).rtp_tag_bytes, 4u);
}

}  // namespace
}  // namespace earshot::dataplane

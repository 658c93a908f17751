#include "dataplane/srtp_key.h"

#include <cctype>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace earshot::dataplane {
namespace {

// RFC 4568 §9.1's example key-params (AES_CM_128_HMAC_SHA1_80, 30 bytes).
constexpr std::string_view kRfcKey = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

std::vector<uint8_t> Bytes(const SrtpKey& key) {
  return {key.bytes().begin(), key.bytes().end()};
}

// Every error message the key parser can produce for `text` must be free of
// the key material, whole or in part.
void ExpectNoKeyText(const std::string& message, std::string_view key_text) {
  EXPECT_EQ(message.find(key_text), std::string::npos) << message;
  // Any 8-character window of the key would be a leak too.
  for (size_t i = 0; i + 8 <= key_text.size(); ++i) {
    EXPECT_EQ(message.find(key_text.substr(i, 8)), std::string::npos) << message;
  }
}

TEST(SrtpSuiteTest, ParsesEverySdpNameIgnoringCase) {
  for (SrtpSuite suite : kAllSrtpSuites) {
    std::string name(SrtpSuiteName(suite));
    ASSERT_EQ(ParseSrtpSuite(name), suite) << name;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ASSERT_EQ(ParseSrtpSuite(name), suite) << name;
  }
}

TEST(SrtpSuiteTest, KeySaltLengthsFollowTheRfcs) {
  EXPECT_EQ(SrtpKeySaltBytes(SrtpSuite::kAesCm128HmacSha1_80), 30u);
  EXPECT_EQ(SrtpKeySaltBytes(SrtpSuite::kAesCm128HmacSha1_32), 30u);
  EXPECT_EQ(SrtpKeySaltBytes(SrtpSuite::kAes256CmHmacSha1_80), 46u);
  EXPECT_EQ(SrtpKeySaltBytes(SrtpSuite::kAeadAes128Gcm), 28u);
  EXPECT_EQ(SrtpKeySaltBytes(SrtpSuite::kAeadAes256Gcm), 44u);
}

TEST(SrtpSuiteTest, UnknownSuiteIsInvalidArgumentNamingTheAcceptedOnes) {
  for (std::string_view name :
       {"F8_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1", "", "AES_192_CM_HMAC_SHA1_80"}) {
    const Result<SrtpSuite> suite = ParseSrtpSuite(name);
    ASSERT_FALSE(suite) << name;
    EXPECT_EQ(suite.error().code, ErrorCode::kInvalidArgument);
    for (SrtpSuite accepted : kAllSrtpSuites) {
      EXPECT_NE(suite.error().message.find(SrtpSuiteName(accepted)), std::string::npos)
          << suite.error().message;
    }
  }
}

TEST(SrtpSdesKeyTest, ParsesTheRfcExampleWithPrefixAndLifetime) {
  const Result<SrtpKey> plain = ParseSdesKey(SrtpSuite::kAesCm128HmacSha1_80, kRfcKey);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->bytes().size(), 30u);
  // The RFC's key is ASCII text: "YS__semctl () {...".
  EXPECT_EQ(std::string(plain->bytes().begin(), plain->bytes().begin() + 4), "YS__");

  for (std::string text : {"inline:" + std::string(kRfcKey),
                           "INLINE:" + std::string(kRfcKey),
                           "inline:" + std::string(kRfcKey) + "|2^20",
                           "inline:" + std::string(kRfcKey) + "|2^31",
                           "inline:" + std::string(kRfcKey) + "|1048576",
                           " inline:" + std::string(kRfcKey) + "|2^31\r\n"}) {
    const Result<SrtpKey> key = ParseSdesKey(SrtpSuite::kAesCm128HmacSha1_80, text);
    ASSERT_TRUE(key) << text << ": " << key.error().message;
    EXPECT_EQ(Bytes(*key), Bytes(*plain)) << text;
  }
}

TEST(SrtpSdesKeyTest, FormatThenParseRoundTripsForEverySuite) {
  for (SrtpSuite suite : kAllSrtpSuites) {
    const Result<SrtpKey> key = GenerateSrtpKey(suite);
    ASSERT_TRUE(key) << key.error().message;
    const std::string text = FormatSdesKey(*key);
    EXPECT_EQ(text.size() % 4, 0u) << "padded base64";
    const Result<SrtpKey> parsed = ParseSdesKey(suite, "inline:" + text + "|2^31");
    ASSERT_TRUE(parsed) << SrtpSuiteName(suite) << ": " << parsed.error().message;
    EXPECT_EQ(parsed->suite(), suite);
    EXPECT_EQ(Bytes(*parsed), Bytes(*key));
    EXPECT_EQ(FormatSdesKey(*parsed), text);
  }
}

TEST(SrtpSdesKeyTest, AcceptsBase64WithoutPadding) {
  // 28 bytes encode to 38 characters plus "==".
  const Result<SrtpKey> key = GenerateSrtpKey(SrtpSuite::kAeadAes128Gcm);
  ASSERT_TRUE(key);
  std::string text = FormatSdesKey(*key);
  ASSERT_EQ(text.substr(text.size() - 2), "==");
  text.resize(text.size() - 2);
  const Result<SrtpKey> parsed = ParseSdesKey(SrtpSuite::kAeadAes128Gcm, text);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(Bytes(*parsed), Bytes(*key));
}

TEST(SrtpSdesKeyTest, FormatsKnownBytes) {
  std::vector<uint8_t> raw(30);
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(i);
  const Result<SrtpKey> key = SrtpKey::FromBytes(SrtpSuite::kAesCm128HmacSha1_80, raw);
  ASSERT_TRUE(key);
  EXPECT_EQ(FormatSdesKey(*key), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd");
}

TEST(SrtpSdesKeyTest, WrongLengthSaysExpectedAndGotButNotTheKey) {
  // The RFC's 30-byte key is too short for AES-256 and too long for GCM-128.
  const Result<SrtpKey> for_256 = ParseSdesKey(SrtpSuite::kAes256CmHmacSha1_80, kRfcKey);
  ASSERT_FALSE(for_256);
  EXPECT_EQ(for_256.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(for_256.error().message.find("expected 46 bytes for AES_256_CM_HMAC_SHA1_80"),
            std::string::npos)
      << for_256.error().message;
  EXPECT_NE(for_256.error().message.find("got 30"), std::string::npos) << for_256.error().message;
  ExpectNoKeyText(for_256.error().message, kRfcKey);

  const Result<SrtpKey> for_gcm = ParseSdesKey(SrtpSuite::kAeadAes128Gcm, kRfcKey);
  ASSERT_FALSE(for_gcm);
  EXPECT_NE(for_gcm.error().message.find("expected 28 bytes"), std::string::npos);
  ExpectNoKeyText(for_gcm.error().message, kRfcKey);

  EXPECT_FALSE(SrtpKey::FromBytes(SrtpSuite::kAesCm128HmacSha1_80, std::vector<uint8_t>(29)));
}

TEST(SrtpSdesKeyTest, RefusesMkiClearly) {
  for (std::string text : {"inline:" + std::string(kRfcKey) + "|2^20|1:4",
                           "inline:" + std::string(kRfcKey) + "|1:4"}) {
    const Result<SrtpKey> key = ParseSdesKey(SrtpSuite::kAesCm128HmacSha1_80, text);
    ASSERT_FALSE(key) << text;
    EXPECT_EQ(key.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(key.error().message.find("MKI"), std::string::npos) << key.error().message;
    ExpectNoKeyText(key.error().message, kRfcKey);
  }
  const Result<SrtpKey> two = ParseSdesKey(
      SrtpSuite::kAesCm128HmacSha1_80,
      "inline:" + std::string(kRfcKey) + "|2^20|1:4;inline:" + std::string(kRfcKey) + "|2^20|2:4");
  ASSERT_FALSE(two);
  ExpectNoKeyText(two.error().message, kRfcKey);
}

TEST(SrtpSdesKeyTest, RefusesBadBase64WithoutEchoingIt) {
  std::string bad(kRfcKey);
  bad[17] = '*';
  const std::vector<std::string> cases = {
      bad,                                           // character outside the alphabet
      std::string(kRfcKey) + "A",                    // 41 characters: a lone sextet
      std::string(kRfcKey.substr(0, 38)) + "=",      // padding that does not end a quantum
      "inline:" + std::string(kRfcKey.substr(0, 20)) + " " + std::string(kRfcKey.substr(20)),
      "",
  };
  for (const std::string& text : cases) {
    const Result<SrtpKey> key = ParseSdesKey(SrtpSuite::kAesCm128HmacSha1_80, text);
    ASSERT_FALSE(key) << text;
    EXPECT_EQ(key.error().code, ErrorCode::kInvalidArgument);
    ExpectNoKeyText(key.error().message, kRfcKey);
    ExpectNoKeyText(key.error().message, bad);
  }
}

TEST(SrtpSdesKeyTest, RefusesOtherKeyMethodsAndBadLifetimes) {
  for (std::string text : {"uri:" + std::string(kRfcKey),
                           "inline:" + std::string(kRfcKey) + "|forever",
                           "inline:" + std::string(kRfcKey) + "|2^",
                           "inline:" + std::string(kRfcKey) + "|2^20|2^20"}) {
    const Result<SrtpKey> key = ParseSdesKey(SrtpSuite::kAesCm128HmacSha1_80, text);
    ASSERT_FALSE(key) << text;
    ExpectNoKeyText(key.error().message, kRfcKey);
  }
}

TEST(SrtpKeyTest, GeneratedKeysDiffer) {
  const Result<SrtpKey> a = GenerateSrtpKey(SrtpSuite::kAes256CmHmacSha1_80);
  const Result<SrtpKey> b = GenerateSrtpKey(SrtpSuite::kAes256CmHmacSha1_80);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->bytes().size(), 46u);
  EXPECT_NE(Bytes(*a), Bytes(*b));
}

TEST(SrtpKeyTest, MovingWipesTheSourceAndCloneIsExplicit) {
  Result<SrtpKey> generated = GenerateSrtpKey(SrtpSuite::kAesCm128HmacSha1_80);
  ASSERT_TRUE(generated);
  SrtpKey original = std::move(*generated);
  const std::vector<uint8_t> bytes = Bytes(original);
  EXPECT_TRUE(generated->empty());

  const SrtpKey copy = original.Clone();
  EXPECT_EQ(Bytes(copy), bytes);

  SrtpKey moved = std::move(original);
  EXPECT_EQ(Bytes(moved), bytes);
  EXPECT_TRUE(original.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  EXPECT_TRUE(original.bytes().empty());
}

TEST(SrtpKeyTest, PrinterRedactsTheBytes) {
  const Result<SrtpKey> key = ParseSdesKey(SrtpSuite::kAesCm128HmacSha1_80, kRfcKey);
  ASSERT_TRUE(key);
  std::ostringstream out;
  PrintTo(*key, &out);
  EXPECT_EQ(out.str(), "SrtpKey{AES_CM_128_HMAC_SHA1_80, <redacted>}");
  EXPECT_EQ(::testing::PrintToString(*key), out.str());
}

}  // namespace
}  // namespace earshot::dataplane

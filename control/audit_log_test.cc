#include "control/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "control/auth.h"
#include "control/sha256.h"

namespace earshot::control {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  std::string path = ::testing::TempDir() + name;
  std::remove(path.c_str());
  return path;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

AuditRecord Record(int i) {
  return AuditRecord{"", "sip-a", "alice", "attach", "call-" + std::to_string(i), "sup", "", "listen", "ok",
                     "quote \" backslash \\ newline \n"};
}

TEST(Sha256Test, KnownDigest) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AuditLogTest, ChainsRecordsAcrossReopen) {
  const std::string path = TempPath("audit_chain.log");
  {
    auto log = AuditLog::Open(path);
    ASSERT_TRUE(log) << log.error().message;
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*log)->Append(Record(i)));
  }
  AuditLogOpened opened;
  auto log = AuditLog::Open(path, &opened);
  ASSERT_TRUE(log);
  EXPECT_EQ(opened.records, 3u);
  ASSERT_TRUE((*log)->Append(Record(3)));
  AuditVerifyReport report = VerifyAuditText(ReadAll(path));
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 4u);
  EXPECT_EQ(report.last_hash, (*log)->last_hash());
}

TEST(AuditLogTest, ConcurrentAppendsKeepOneChain) {
  const std::string path = TempPath("audit_threads.log");
  auto log = AuditLog::Open(path);
  ASSERT_TRUE(log);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) EXPECT_TRUE((*log)->Append(Record(t * 100 + i)));
    });
  }
  for (std::thread& thread : threads) thread.join();
  AuditVerifyReport report = VerifyAuditText(ReadAll(path));
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 200u);
}

TEST(AuditLogTest, EveryFlippedByteIsFoundAtItsRecord) {
  const std::string path = TempPath("audit_flip.log");
  {
    auto log = AuditLog::Open(path);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE((*log)->Append(Record(i)));
  }
  const std::string text = ReadAll(path);
  std::vector<size_t> line_of(text.size());
  size_t line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    line_of[i] = line;
    if (text[i] == '\n') ++line;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    std::string damaged = text;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x01);
    AuditVerifyReport report = VerifyAuditText(damaged);
    ASSERT_FALSE(report.ok) << "byte " << i;
    EXPECT_EQ(report.bad_record, line_of[i]) << "byte " << i << ": " << report.problem;
  }
}

TEST(AuditLogTest, RemovedRecordIsFound) {
  const std::string path = TempPath("audit_removed.log");
  {
    auto log = AuditLog::Open(path);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*log)->Append(Record(i)));
  }
  std::string text = ReadAll(path);
  size_t first = text.find('\n');
  size_t second = text.find('\n', first + 1);
  text.erase(first + 1, second - first);
  AuditVerifyReport report = VerifyAuditText(text);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.bad_record, 2u);
  EXPECT_THAT(report.problem, HasSubstr("seq"));
}

TEST(AuditLogTest, TornLastRecordIsCutOffOnOpen) {
  const std::string path = TempPath("audit_torn.log");
  {
    auto log = AuditLog::Open(path);
    for (int i = 0; i < 2; ++i) ASSERT_TRUE((*log)->Append(Record(i)));
  }
  {
    std::ofstream(path, std::ios::app) << "{\"seq\":3,\"time\":\"2025";
  }
  EXPECT_FALSE(VerifyAuditText(ReadAll(path)).ok);
  AuditLogOpened opened;
  auto log = AuditLog::Open(path, &opened);
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_EQ(opened.records, 2u);
  EXPECT_GT(opened.dropped_tail_bytes, 0u);
  ASSERT_TRUE((*log)->Append(Record(2)));
  AuditVerifyReport report = VerifyAuditText(ReadAll(path));
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 3u);
}

TEST(AuditLogTest, DamagedLastRecordRefusesToOpen) {
  const std::string path = TempPath("audit_damaged.log");
  {
    auto log = AuditLog::Open(path);
    ASSERT_TRUE((*log)->Append(Record(0)));
  }
  std::string text = ReadAll(path);
  text[10] = 'X';
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  auto log = AuditLog::Open(path);
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code, ErrorCode::kFailedPrecondition);
}

TEST(TokensTest, ParsesHashesAndNamesBadLines) {
  const std::string hash = Sha256Hex("secret");
  Result<std::vector<TokenEntry>> tokens = ParseTokens("# comment\n\n" + hash + "  sip-a\n", "t");
  ASSERT_TRUE(tokens) << tokens.error().message;
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ((*tokens)[0].principal, "sip-a");
  Result<std::vector<TokenEntry>> bad = ParseTokens(hash + " sip-a\nsecret sip-b\n", "tokens.txt");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("tokens.txt:2"));
}

}  // namespace
}  // namespace earshot::control

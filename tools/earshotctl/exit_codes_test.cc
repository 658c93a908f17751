#include "tools/earshotctl/exit_codes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace earshot::ctl {
namespace {

using ::testing::HasSubstr;

TEST(ExitCodesTest, EveryStatusHasItsOwnCodeAboveUsage) {
  std::set<int> seen;
  for (int number = 1; number <= 16; ++number) {
    int exit_code = ExitCodeForStatus(static_cast<grpc::StatusCode>(number));
    EXPECT_EQ(exit_code, 10 + number);
    EXPECT_TRUE(seen.insert(exit_code).second);
    EXPECT_GT(exit_code, kExitUsage);
    EXPECT_LT(exit_code, 126);  // 126 and up mean "not executable" or "killed" to a shell
  }
}

TEST(ExitCodesTest, TheCodesScriptsCareAboutAreStable) {
  EXPECT_EQ(ExitCodeForStatus(grpc::StatusCode::INVALID_ARGUMENT), 13);
  EXPECT_EQ(ExitCodeForStatus(grpc::StatusCode::DEADLINE_EXCEEDED), 14);
  EXPECT_EQ(ExitCodeForStatus(grpc::StatusCode::NOT_FOUND), 15);
  EXPECT_EQ(ExitCodeForStatus(grpc::StatusCode::ALREADY_EXISTS), 16);
  EXPECT_EQ(ExitCodeForStatus(grpc::StatusCode::RESOURCE_EXHAUSTED), 18);
  EXPECT_EQ(ExitCodeForStatus(grpc::StatusCode::FAILED_PRECONDITION), 19);
  EXPECT_EQ(ExitCodeForStatus(grpc::StatusCode::UNIMPLEMENTED), 22);
  EXPECT_EQ(ExitCodeForStatus(grpc::StatusCode::UNAVAILABLE), 24);
  EXPECT_EQ(ExitCodeForStatus(grpc::StatusCode::UNAUTHENTICATED), 26);
}

TEST(ExitCodesTest, OkAndUnknownCodesAreGenericFailures) {
  EXPECT_EQ(ExitCodeForStatus(grpc::StatusCode::OK), kExitFailure);
  EXPECT_EQ(ExitCodeForStatus(static_cast<grpc::StatusCode>(17)), kExitFailure);
  EXPECT_EQ(ExitCodeForStatus(static_cast<grpc::StatusCode>(-1)), kExitFailure);
}

TEST(ExitCodesTest, StatusNamesAreTheCanonicalOnes) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  // An unassigned code inside the enum's range (a value beyond it would be UB).
  EXPECT_EQ(StatusCodeName(static_cast<grpc::StatusCode>(20)), "CODE_20");
}

TEST(ErrorLineTest, IsOneLineWithCodeNameAndMessage) {
  EXPECT_EQ(StatusErrorLine(grpc::StatusCode::NOT_FOUND, "no session 'abc'"),
            "earshotctl: NOT_FOUND: no session 'abc'\n");
  EXPECT_EQ(StatusErrorLine(grpc::StatusCode::INTERNAL, "first\nsecond\r\n"),
            "earshotctl: INTERNAL: first second  \n");
  EXPECT_EQ(StatusErrorLine(grpc::StatusCode::CANCELLED, ""), "earshotctl: CANCELLED\n");
  EXPECT_EQ(ErrorLine("--pt: '300' is out\nof range"), "earshotctl: --pt: '300' is out of range\n");
}

TEST(ExitCodeHelpTest, ListsEveryCodeWithItsName) {
  std::string help = ExitCodeHelp();
  EXPECT_THAT(help, HasSubstr("  2     bad usage"));
  for (int number = 1; number <= 16; ++number) {
    auto code = static_cast<grpc::StatusCode>(number);
    EXPECT_THAT(help, HasSubstr(std::to_string(10 + number) + " " + StatusCodeName(code)));
  }
}

}  // namespace
}  // namespace earshot::ctl

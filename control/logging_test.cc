#include "control/logging.h"

#include <gtest/gtest.h>

namespace earshot::control {
namespace {

TEST(LoggingTest, TextBodyIsEventThenKeyValues) {
  EXPECT_EQ(FormatLogBody(LogFormat::kText, "listening", {{"grpc", "127.0.0.1:50051"}}),
            "listening grpc=127.0.0.1:50051");
}

TEST(LoggingTest, TextValuesWithSpacesAreQuoted) {
  EXPECT_EQ(FormatLogBody(LogFormat::kText, "e", {{"why", "two words"}, {"empty", ""}}),
            "e why=\"two words\" empty=\"\"");
}

TEST(LoggingTest, JsonBodyEscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(FormatLogBody(LogFormat::kJson, "e", {{"v", "a\"b\\c\nd\x01"}}),
            R"("event":"e","v":"a\"b\\c\nd\u0001")");
}

}  // namespace
}  // namespace earshot::control

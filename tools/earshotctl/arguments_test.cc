#include "tools/earshotctl/arguments.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace earshot::ctl {
namespace {

using ::testing::HasSubstr;

TEST(EnumNamesTest, EveryNameParsesToTheValueItIsPrintedFor) {
  for (int value = 1; value <= 4; ++value) {
    auto role = static_cast<earshot::v1::Role>(value);
    ASSERT_FALSE(RoleName(role).empty()) << value;
    EXPECT_EQ(ParseRole(RoleName(role)), role);
  }
  for (int value = 1; value <= 5; ++value) {
    auto mode = static_cast<earshot::v1::Mode>(value);
    ASSERT_FALSE(ModeName(mode).empty()) << value;
    EXPECT_EQ(ParseMode(ModeName(mode)), mode);
  }
  for (int value = 1; value <= 4; ++value) {
    auto direction = static_cast<earshot::v1::Direction>(value);
    ASSERT_FALSE(DirectionName(direction).empty()) << value;
    EXPECT_EQ(ParseDirection(DirectionName(direction)), direction);
  }
}

TEST(EnumNamesTest, CoverEveryValueOfTheProtoEnums) {
  // A value added to the proto needs a command-line name here too.
  EXPECT_EQ(earshot::v1::Role_MAX, 4);
  EXPECT_EQ(earshot::v1::Mode_MAX, 5);
  EXPECT_EQ(earshot::v1::Direction_MAX, 4);
}

TEST(EnumNamesTest, NamesMatchTheProductVocabulary) {
  EXPECT_EQ(ParseMode("whisper-customer"), earshot::v1::MODE_WHISPER_CUSTOMER);
  EXPECT_EQ(ParseRole("supervisor"), earshot::v1::ROLE_SUPERVISOR);
  EXPECT_EQ(ParseDirection("recvonly"), earshot::v1::DIRECTION_RECVONLY);
  EXPECT_EQ(RoleNames(), "customer|agent|supervisor|other");
  EXPECT_EQ(ModeNames(), "listen|whisper|whisper-customer|barge|takeover");
  EXPECT_EQ(DirectionNames(), "sendrecv|sendonly|recvonly|inactive");
}

TEST(EnumNamesTest, UnspecifiedAndUnknownValuesHaveNoName) {
  EXPECT_EQ(RoleName(earshot::v1::ROLE_UNSPECIFIED), "");
  EXPECT_EQ(ModeName(static_cast<earshot::v1::Mode>(42)), "");
}

TEST(EnumNamesTest, RejectedNamesAreQuotedWithTheChoices) {
  EXPECT_EQ(ParseRole("boss").error(), "'boss' is not a role; use customer|agent|supervisor|other");
  EXPECT_THAT(ParseMode("Listen").error(),
              HasSubstr("listen|whisper|whisper-customer|barge|takeover"));
  EXPECT_THAT(ParseMode("whisper_customer").error(), HasSubstr("'whisper_customer' is not a mode"));
  EXPECT_FALSE(ParseDirection("").has_value());
  EXPECT_FALSE(ParseRole("unspecified").has_value());
}

struct CodecCase {
  std::string text;
  std::string canonical;  // empty: rejected
};

void PrintTo(const CodecCase& codec, std::ostream* out) { *out << "'" << codec.text << "'"; }

class CodecTest : public ::testing::TestWithParam<CodecCase> {};

TEST_P(CodecTest, ParsesToTheCanonicalSpellingOrRejects) {
  Parsed<std::string> codec = ParseCodec(GetParam().text);
  if (GetParam().canonical.empty()) {
    ASSERT_FALSE(codec.has_value()) << *codec;
    EXPECT_THAT(codec.error(), HasSubstr("'" + GetParam().text + "'"));
  } else {
    ASSERT_TRUE(codec.has_value()) << codec.error();
    EXPECT_EQ(*codec, GetParam().canonical);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Codecs, CodecTest,
    ::testing::Values(CodecCase{"PCMU", "PCMU"}, CodecCase{"pcmu", "PCMU"},
                      CodecCase{"PCMA", "PCMA"}, CodecCase{"PCMU/8000", "PCMU"},
                      CodecCase{"PCMA/16000", ""}, CodecCase{"L16/16000", "L16/16000"},
                      CodecCase{"l16/8000", "L16/8000"}, CodecCase{"L16/48000", "L16/48000"},
                      CodecCase{"L16", ""}, CodecCase{"L16/44100", ""}, CodecCase{"opus", "opus"},
                      CodecCase{"OPUS/48000", "opus/48000"}, CodecCase{"opus/16000", "opus/16000"},
                      CodecCase{"opus/48000/2", ""}, CodecCase{"opus/", ""}, CodecCase{"G729", ""},
                      CodecCase{"", ""}, CodecCase{"PCMU/x", ""}));

TEST(CodecTest, RejectionSaysWhatIsSupported) {
  EXPECT_THAT(ParseCodec("G729").error(), HasSubstr("PCMU, PCMA, L16/RATE, opus or opus/RATE"));
  EXPECT_THAT(ParseCodec("L16/44100").error(), HasSubstr("8000|16000|48000"));
}

struct EndpointCase {
  std::string text;
  bool valid;
};

void PrintTo(const EndpointCase& endpoint, std::ostream* out) { *out << "'" << endpoint.text << "'"; }

class EndpointTest : public ::testing::TestWithParam<EndpointCase> {};

TEST_P(EndpointTest, AcceptsIpLiteralsWithAPort) {
  Parsed<std::string> endpoint = ParseEndpoint(GetParam().text);
  EXPECT_EQ(endpoint.has_value(), GetParam().valid) << (endpoint ? *endpoint : endpoint.error());
  if (endpoint) {
    EXPECT_EQ(*endpoint, GetParam().text);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Endpoints, EndpointTest,
    ::testing::Values(EndpointCase{"10.0.0.5:4000", true}, EndpointCase{"127.0.0.1:65535", true},
                      EndpointCase{"[::1]:5004", true}, EndpointCase{"[2001:db8::7]:1", true},
                      EndpointCase{"10.0.0.5", false}, EndpointCase{"10.0.0.5:0", false},
                      EndpointCase{"10.0.0.5:65536", false}, EndpointCase{"10.0.0.5:", false},
                      EndpointCase{"10.0.0:4000", false}, EndpointCase{"pbx.example:5060", false},
                      EndpointCase{"::1:5004", false}, EndpointCase{"[::1]5004", false},
                      EndpointCase{"[10.0.0.5]:4000", false}, EndpointCase{"10.0.0.5:+80", false},
                      EndpointCase{"", false}));

TEST(EndpointTest, SaysWhichPartIsWrong) {
  EXPECT_EQ(ParseEndpoint("pbx.example:5060").error(),
            "'pbx.example:5060': 'pbx.example' is not an IPv4 address");
  EXPECT_EQ(ParseEndpoint("10.0.0.5:70000").error(),
            "'10.0.0.5:70000': port '70000' is out of range (1..65535)");
  EXPECT_THAT(ParseEndpoint("::1:5004").error(), HasSubstr("[IP]:PORT"));
}

TEST(GainTest, ParsesDestinationSourceAndGain) {
  Parsed<earshot::v1::Gain> gain = ParseGain("agent:sup-1=0.5");
  ASSERT_TRUE(gain.has_value()) << gain.error();
  EXPECT_EQ(gain->dst_leg_id(), "agent");
  EXPECT_EQ(gain->src_leg_id(), "sup-1");
  EXPECT_FLOAT_EQ(gain->gain(), 0.5f);
  EXPECT_FLOAT_EQ(ParseGain("a:b=0")->gain(), 0.0f);
  EXPECT_FLOAT_EQ(ParseGain("a:b=4")->gain(), 4.0f);
  EXPECT_FLOAT_EQ(ParseGain("a:b=1.25")->gain(), 1.25f);
}

class BadGainTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BadGainTest, IsRejectedQuotingTheText) {
  Parsed<earshot::v1::Gain> gain = ParseGain(GetParam());
  ASSERT_FALSE(gain.has_value()) << GetParam();
  EXPECT_THAT(gain.error(), HasSubstr("'" + GetParam() + "'"));
}

INSTANTIATE_TEST_SUITE_P(Gains, BadGainTest,
                         ::testing::Values("a:b", "a=1", ":b=1", "a:=1", "a:b=", "a:b=x",
                                           "a:b=4.01", "a:b=-1", "a:b=-0", "a:b=nan", "a:b=inf",
                                           "a:b=1e0", "a:b:c=1", "a=b:c=1", "a:a=1", "a:b= 1",
                                           "a:b=1 ", ""));

TEST(GainTest, MessagesNameTheProblem) {
  EXPECT_EQ(ParseGain("a:b=5").error(), "'a:b=5': gain 5 is out of range (0..4)");
  EXPECT_EQ(ParseGain("a:a=1").error(), "'a:a=1': leg 'a' cannot hear itself");
  EXPECT_EQ(ParseGain("ab=1").error(), "'ab=1' is not DST:SRC=GAIN (e.g. agent:customer=1)");
}

TEST(LabelTest, SplitsAtTheFirstColon) {
  using Label = std::pair<std::string, std::string>;
  EXPECT_EQ(ParseLabel("team:billing"), Label("team", "billing"));
  EXPECT_EQ(ParseLabel("url:sip:x@y"), Label("url", "sip:x@y"));
  EXPECT_EQ(ParseLabel("empty:"), Label("empty", ""));
  EXPECT_FALSE(ParseLabel(":x").has_value());
  EXPECT_FALSE(ParseLabel("team").has_value());
}

TEST(NumberTest, AcceptsDigitsWithinRangeOnly) {
  EXPECT_EQ(ParseNumber("0", 0, 127), 0u);
  EXPECT_EQ(ParseNumber("127", 0, 127), 127u);
  EXPECT_EQ(ParseNumber("128", 0, 127).error(), "'128' is out of range (0..127)");
  EXPECT_EQ(ParseNumber("-1", 0, 127).error(), "'-1' is not a whole number");
  EXPECT_FALSE(ParseNumber("", 0, 127).has_value());
  EXPECT_FALSE(ParseNumber("1.5", 0, 127).has_value());
  EXPECT_FALSE(ParseNumber("99999999999", 0, UINT32_MAX).has_value());
  EXPECT_EQ(ParseNumber("4294967295", 0, UINT32_MAX), UINT32_MAX);
  EXPECT_FALSE(ParseNumber("4294967296", 0, UINT32_MAX).has_value());
}

TEST(NumberTest, ChoiceListsTheAllowedValues) {
  EXPECT_EQ(ParseChoice("16000", {8000, 16000, 48000}), 16000u);
  EXPECT_EQ(ParseChoice("44100", {8000, 16000, 48000}).error(),
            "'44100' is not one of 8000|16000|48000");
  EXPECT_EQ(ParseChoice("x", {10, 20}).error(), "'x' is not one of 10|20");
}

}  // namespace
}  // namespace earshot::ctl

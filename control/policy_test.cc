#include "control/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace earshot::control {
namespace {

using ::testing::HasSubstr;
using mixer::SupervisorMode;

constexpr std::string_view kPolicy = R"(
subjects:
  "O=Acme,CN=console-1": console
grants:
  - name: billing
    principals: [sip-a]
    supervisors: ["*"]
    modes: [listen, whisper]
    sessions: ["team:billing"]
  - principals: [lead]
    modes: ["*"]
    sessions: ["team:billing,site:paris", "vip:*"]
    pickup_groups: [sales]
)";

std::unique_ptr<Authorizer> Make(std::string_view text) {
  Result<Policy> policy = ParsePolicy(text, "policy.yaml");
  EXPECT_TRUE(policy) << policy.error().message;
  return Authorizer::FromPolicy(std::move(*policy));
}

TEST(PolicyTest, GrantsModesOverSessionsByLabel) {
  auto authorizer = Make(kPolicy);
  const std::map<std::string, std::string> billing = {{"team", "billing"}};
  const std::map<std::string, std::string> sales = {{"team", "sales"}};
  EXPECT_TRUE(authorizer->CheckMode("sip-a", "alice", SupervisorMode::kListen, "c", billing));
  EXPECT_TRUE(authorizer->CheckMode("sip-a", "bob", SupervisorMode::kWhisper, "c", billing));
  EXPECT_FALSE(authorizer->CheckMode("sip-a", "alice", SupervisorMode::kBarge, "c", billing));
  EXPECT_FALSE(authorizer->CheckMode("sip-a", "alice", SupervisorMode::kListen, "c", sales));
  EXPECT_FALSE(authorizer->CheckMode("sip-b", "sip-b", SupervisorMode::kListen, "c", billing));
}

TEST(PolicyTest, SupervisorsDefaultToThePrincipalItself) {
  auto authorizer = Make(kPolicy);
  const std::map<std::string, std::string> vip = {{"vip", "yes"}};
  EXPECT_TRUE(authorizer->CheckMode("lead", "lead", SupervisorMode::kTakeover, "c", vip));
  EXPECT_FALSE(authorizer->CheckMode("lead", "alice", SupervisorMode::kListen, "c", vip));
}

TEST(PolicyTest, SelectorNeedsEveryTerm) {
  auto authorizer = Make(kPolicy);
  EXPECT_FALSE(authorizer->CheckMode("lead", "lead", SupervisorMode::kBarge, "c", {{"team", "billing"}}));
  EXPECT_TRUE(authorizer->CheckMode("lead", "lead", SupervisorMode::kBarge, "c",
                                    {{"team", "billing"}, {"site", "paris"}}));
}

TEST(PolicyTest, DenialNamesTheMissingRule) {
  auto authorizer = Make(kPolicy);
  Result<void> denied =
      authorizer->CheckMode("sip-a", "alice", SupervisorMode::kBarge, "call-9", {{"team", "billing"}});
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(denied.error().message,
              HasSubstr("missing rule {principals: [sip-a], supervisors: [alice], modes: [barge], "
                        "sessions: [\"team:billing\"]}"));
  EXPECT_THAT(denied.error().message, HasSubstr("call-9"));
}

TEST(PolicyTest, PickupOverGroups) {
  auto authorizer = Make(kPolicy);
  EXPECT_TRUE(authorizer->CheckPickup("lead", "lead", "sales"));
  Result<void> denied = authorizer->CheckPickup("sip-a", "alice", "sales");
  ASSERT_FALSE(denied);
  EXPECT_THAT(denied.error().message, HasSubstr("pickup_groups: [sales]"));
}

TEST(PolicyTest, MapsCertificateSubjects) {
  auto authorizer = Make(kPolicy);
  EXPECT_EQ(authorizer->SubjectPrincipal("O=Acme,CN=console-1"), "console");
  EXPECT_EQ(authorizer->SubjectPrincipal("CN=other"), std::nullopt);
}

TEST(PolicyTest, OpenWithoutAFile) {
  Result<std::unique_ptr<Authorizer>> authorizer = Authorizer::Create("");
  ASSERT_TRUE(authorizer);
  EXPECT_TRUE((*authorizer)->open());
  EXPECT_TRUE((*authorizer)->CheckMode("x", "y", SupervisorMode::kTakeover, "c", {}));
}

TEST(PolicyTest, BadFilesSayWhereAndWhat) {
  struct Case {
    std::string_view text;
    std::string_view says;
  };
  const Case cases[] = {
      {"grants:\n  - principals: [a]\n    modes: [shout]\n    sessions: ['*']\n", "mode 'shout'"},
      {"grants:\n  - principals: [a]\n    modes: [listen]\n    sessions: ['team']\n", "KEY:VALUE"},
      {"grants:\n  - principals: [a]\n    modes: [listen]\n", "needs 'sessions'"},
      {"grants:\n  - modes: [listen]\n    sessions: ['*']\n", "needs 'principals'"},
      {"grants:\n  - principals: [a]\n    mode: [listen]\n", "unknown grant key 'mode'"},
      {"grant: []\n", "unknown policy key 'grant'"},
      {"grants: [\n", "not valid YAML"},
  };
  for (const Case& c : cases) {
    Result<Policy> policy = ParsePolicy(c.text, "p.yaml");
    ASSERT_FALSE(policy) << c.text;
    EXPECT_THAT(policy.error().message, HasSubstr(c.says)) << c.text;
    EXPECT_THAT(policy.error().message, HasSubstr("p.yaml:")) << c.text;
  }
}

}  // namespace
}  // namespace earshot::control

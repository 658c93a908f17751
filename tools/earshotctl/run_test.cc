#include "tools/earshotctl/run.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "tools/earshotctl/exit_codes.h"

namespace earshot::ctl {
namespace {

namespace v1 = earshot::v1;
using ::testing::_;
using ::testing::HasSubstr;
using ::testing::Return;
using ::testing::Truly;

class MockControlApi : public ControlApi {
 public:
  MOCK_METHOD(RpcResult<v1::Session>, CreateSession, (const v1::CreateSessionRequest&), (override));
  MOCK_METHOD(RpcResult<v1::Session>, GetSession, (const v1::GetSessionRequest&), (override));
  MOCK_METHOD(RpcResult<v1::ListSessionsResponse>, ListSessions, (const v1::ListSessionsRequest&),
              (override));
  MOCK_METHOD(RpcResult<v1::DeleteSessionResponse>, DeleteSession,
              (const v1::DeleteSessionRequest&), (override));
  MOCK_METHOD(RpcResult<v1::Leg>, AddLeg, (const v1::AddLegRequest&), (override));
  MOCK_METHOD(RpcResult<v1::Leg>, UpdateLeg, (const v1::UpdateLegRequest&), (override));
  MOCK_METHOD(RpcResult<v1::RemoveLegResponse>, RemoveLeg, (const v1::RemoveLegRequest&),
              (override));
  MOCK_METHOD(RpcResult<v1::Leg>, Attach, (const v1::AttachRequest&), (override));
  MOCK_METHOD(RpcResult<v1::Leg>, SetMode, (const v1::SetModeRequest&), (override));
  MOCK_METHOD(RpcResult<v1::DetachResponse>, Detach, (const v1::DetachRequest&), (override));
  MOCK_METHOD(RpcResult<v1::SetMatrixResponse>, SetMatrix, (const v1::SetMatrixRequest&),
              (override));
  MOCK_METHOD(RpcResult<v1::SessionStats>, GetSessionStats, (const v1::GetSessionStatsRequest&),
              (override));
  MOCK_METHOD(RpcResult<v1::GetStatusResponse>, GetStatus, (const v1::GetStatusRequest&),
              (override));
  MOCK_METHOD(RpcResult<void>, Subscribe,
              (const v1::SubscribeRequest&, std::optional<std::chrono::milliseconds>,
               const EventHandler&),
              (override));
};

struct Outcome {
  int exit_code;
  std::string out;
  std::string err;
};

v1::Event Event(uint64_t sequence, v1::EventType type) {
  v1::Event event;
  event.set_sequence(sequence);
  event.set_time_unix_ms(1'700'000'000'000 + static_cast<int64_t>(sequence));
  event.set_type(type);
  event.set_session_id("abc");
  return event;
}

// A stream that offers `events` one by one, as earshotd would, and ends.
auto Stream(std::vector<v1::Event> events) {
  return [events](const v1::SubscribeRequest&, std::optional<std::chrono::milliseconds>,
                  const EventHandler& on_event) -> RpcResult<void> {
    for (const v1::Event& event : events) {
      if (!on_event(event)) break;
    }
    return {};
  };
}

v1::Leg Leg(const std::string& id, uint32_t port) {
  v1::Leg leg;
  leg.set_id(id);
  leg.set_local_ip("127.0.0.1");
  leg.set_local_port(port);
  leg.mutable_spec()->set_role(v1::ROLE_AGENT);
  leg.mutable_spec()->set_codec("PCMU");
  return leg;
}

tl::unexpected<RpcError> Failed(grpc::StatusCode code, std::string message) {
  return tl::unexpected(RpcError{code, std::move(message)});
}

// Runs earshotctl's command line against `api`, remembering the options it was given.
class RunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("EARSHOT_ADDR");
    unsetenv("EARSHOT_TOKEN");
  }

  Outcome Run(const std::vector<std::string>& args) {
    Outcome outcome{};
    Console console{[&outcome](std::string_view text) { outcome.out += text; },
                    [&outcome](std::string_view text) { outcome.err += text; }};
    outcome.exit_code = RunCommandLine(
        args,
        [this](const ClientOptions& options) {
          ++connections_;
          options_ = options;
          return std::unique_ptr<ControlApi>(std::make_unique<Forwarder>(api_));
        },
        console);
    return outcome;
  }

  // Lets the test keep its mock while Run owns "the" API.
  class Forwarder final : public ControlApi {
   public:
    explicit Forwarder(ControlApi& api) : api_(api) {}
    RpcResult<v1::Session> CreateSession(const v1::CreateSessionRequest& r) override {
      return api_.CreateSession(r);
    }
    RpcResult<v1::Session> GetSession(const v1::GetSessionRequest& r) override {
      return api_.GetSession(r);
    }
    RpcResult<v1::ListSessionsResponse> ListSessions(const v1::ListSessionsRequest& r) override {
      return api_.ListSessions(r);
    }
    RpcResult<v1::DeleteSessionResponse> DeleteSession(const v1::DeleteSessionRequest& r) override {
      return api_.DeleteSession(r);
    }
    RpcResult<v1::Leg> AddLeg(const v1::AddLegRequest& r) override { return api_.AddLeg(r); }
    RpcResult<v1::Leg> UpdateLeg(const v1::UpdateLegRequest& r) override {
      return api_.UpdateLeg(r);
    }
    RpcResult<v1::RemoveLegResponse> RemoveLeg(const v1::RemoveLegRequest& r) override {
      return api_.RemoveLeg(r);
    }
    RpcResult<v1::Leg> Attach(const v1::AttachRequest& r) override { return api_.Attach(r); }
    RpcResult<v1::Leg> SetMode(const v1::SetModeRequest& r) override { return api_.SetMode(r); }
    RpcResult<v1::DetachResponse> Detach(const v1::DetachRequest& r) override {
      return api_.Detach(r);
    }
    RpcResult<v1::SetMatrixResponse> SetMatrix(const v1::SetMatrixRequest& r) override {
      return api_.SetMatrix(r);
    }
    RpcResult<v1::SessionStats> GetSessionStats(const v1::GetSessionStatsRequest& r) override {
      return api_.GetSessionStats(r);
    }
    RpcResult<v1::GetStatusResponse> GetStatus(const v1::GetStatusRequest& r) override {
      return api_.GetStatus(r);
    }
    RpcResult<void> Subscribe(const v1::SubscribeRequest& r,
                              std::optional<std::chrono::milliseconds> duration,
                              const EventHandler& on_event) override {
      return api_.Subscribe(r, duration, on_event);
    }

   private:
    ControlApi& api_;
  };

  ::testing::StrictMock<MockControlApi> api_;
  int connections_ = 0;
  ClientOptions options_;
};

TEST_F(RunTest, LegAddWithJsonPrintsTheLocalAddress) {
  EXPECT_CALL(api_, AddLeg(Truly([](const v1::AddLegRequest& r) {
                return r.session_id() == "abc" && r.leg_id() == "agent" &&
                       r.spec().role() == v1::ROLE_AGENT;
              })))
      .WillOnce(Return(Leg("agent", 30002)));
  Outcome outcome = Run(
      {"--json", "leg", "add", "abc", "agent", "--role", "agent", "--codec", "PCMU", "--pt", "0"});
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.err, "");
  nlohmann::json leg = nlohmann::json::parse(outcome.out);
  EXPECT_EQ(leg["local_ip"], "127.0.0.1");
  EXPECT_EQ(leg["local_port"], 30002);
}

TEST_F(RunTest, AttachPrintsTheSupervisorsLeg) {
  v1::Leg supervisor = Leg("sup-1", 30004);
  supervisor.mutable_spec()->set_role(v1::ROLE_SUPERVISOR);
  supervisor.set_mode(v1::MODE_LISTEN);
  EXPECT_CALL(api_, Attach(_)).WillOnce(Return(supervisor));
  Outcome outcome =
      Run({"attach", "abc", "sup-1", "--mode", "listen", "--codec", "PCMU", "--pt", "0"});
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.out, "leg sup-1: 127.0.0.1:30004 (PCMU/8000 pt 0, supervisor, listen)\n");
}

TEST_F(RunTest, CallsWithoutAnAnswerConfirmInOneLine) {
  EXPECT_CALL(api_, DeleteSession(_)).WillOnce(Return(v1::DeleteSessionResponse()));
  EXPECT_EQ(Run({"session", "delete", "abc"}).out, "session abc deleted\n");
  EXPECT_CALL(api_, RemoveLeg(_)).WillOnce(Return(v1::RemoveLegResponse()));
  EXPECT_EQ(Run({"leg", "remove", "abc", "agent"}).out, "leg agent removed from session abc\n");
  EXPECT_CALL(api_, Detach(_)).WillOnce(Return(v1::DetachResponse()));
  EXPECT_EQ(Run({"detach", "abc", "sup-1"}).out, "leg sup-1 detached from session abc\n");
  EXPECT_CALL(api_, SetMatrix(_)).WillOnce(Return(v1::SetMatrixResponse()));
  EXPECT_EQ(Run({"matrix", "abc", "--gain", "a:b=1"}).out, "matrix of session abc set: 1 gain\n");
  EXPECT_CALL(api_, SetMatrix(_)).WillOnce(Return(v1::SetMatrixResponse()));
  EXPECT_EQ(Run({"--json", "matrix", "abc", "--gain", "a:b=1", "b:a=1"}).out, "{}\n");
}

TEST_F(RunTest, EveryCommandMakesItsOwnCall) {
  EXPECT_CALL(api_, CreateSession(_)).WillOnce(Return(v1::Session()));
  EXPECT_CALL(api_, GetSession(_)).WillOnce(Return(v1::Session()));
  EXPECT_CALL(api_, ListSessions(_)).WillOnce(Return(v1::ListSessionsResponse()));
  EXPECT_CALL(api_, UpdateLeg(_)).WillOnce(Return(Leg("agent", 1)));
  EXPECT_CALL(api_, SetMode(_)).WillOnce(Return(Leg("sup", 2)));
  EXPECT_CALL(api_, GetSessionStats(_)).WillOnce(Return(v1::SessionStats()));
  EXPECT_CALL(api_, GetStatus(_)).WillOnce(Return(v1::GetStatusResponse()));
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"session", "create", "abc"},
                                             {"session", "get", "abc"},
                                             {"session", "list"},
                                             {"leg", "update", "abc", "agent", "--latch"},
                                             {"mode", "abc", "sup", "barge"},
                                             {"stats", "abc"},
                                             {"health"}}) {
    EXPECT_EQ(Run(args).exit_code, 0) << args.front();
  }
}

TEST_F(RunTest, ServerErrorsExitWithTheStatusCodeAndOneLine) {
  EXPECT_CALL(api_, GetSession(_))
      .WillOnce(Return(Failed(grpc::StatusCode::NOT_FOUND, "no session 'abc'")));
  Outcome outcome = Run({"session", "get", "abc"});
  EXPECT_EQ(outcome.exit_code, 15);
  EXPECT_EQ(outcome.out, "");
  EXPECT_EQ(outcome.err, "earshotctl: NOT_FOUND: no session 'abc'\n");
}

TEST_F(RunTest, ErrorsAreTheSameWithJson) {
  EXPECT_CALL(api_, ListSessions(_))
      .WillOnce(Return(Failed(grpc::StatusCode::UNIMPLEMENTED,
                              "Method not found: earshot.v1.Sessions/ListSessions")));
  Outcome outcome = Run({"--json", "session", "list"});
  EXPECT_EQ(outcome.exit_code, 22);
  EXPECT_EQ(outcome.out, "");
  EXPECT_EQ(outcome.err,
            "earshotctl: UNIMPLEMENTED: Method not found: earshot.v1.Sessions/ListSessions\n");
}

TEST_F(RunTest, ClientGetsAddressTokenAndTimeout) {
  EXPECT_CALL(api_, GetStatus(_)).WillOnce(Return(v1::GetStatusResponse()));
  Run({"--addr", "10.0.0.1:7000", "--token", "t0k", "--timeout", "1500", "health"});
  EXPECT_EQ(connections_, 1);
  EXPECT_EQ(options_.address, "10.0.0.1:7000");
  EXPECT_EQ(options_.token, "t0k");
  EXPECT_EQ(options_.timeout, std::chrono::milliseconds(1500));
}

TEST_F(RunTest, UsageErrorsAndHelpConnectToNothing) {
  EXPECT_EQ(Run({"leg", "add", "abc", "agent", "--role", "boss", "--codec", "PCMU", "--pt", "0"})
                .exit_code,
            kExitUsage);
  EXPECT_EQ(Run({"events", "--count", "0"}).exit_code, kExitUsage);
  EXPECT_EQ(Run({"--help"}).exit_code, 0);
  EXPECT_EQ(connections_, 0);
}

TEST_F(RunTest, EventsPrintOneLineEachUntilTheStreamEnds) {
  EXPECT_CALL(
      api_, Subscribe(Truly([](const v1::SubscribeRequest& r) { return !r.has_after_sequence(); }),
                      std::optional<std::chrono::milliseconds>(), _))
      .WillOnce(Stream({Event(1, v1::EVENT_SESSION_CREATED), Event(2, v1::EVENT_SESSION_ENDED)}));
  Outcome outcome = Run({"--json", "events"});
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.err, "");
  EXPECT_EQ(outcome.out,
            "{\"sequence\":1,\"time_unix_ms\":1700000000001,\"type\":\"session-created\",\"session_"
            "id\":\"abc\","
            "\"leg_id\":\"\",\"role\":null,\"mode\":null,\"digit\":\"\",\"duration_ms\":0,"
            "\"extension\":\"\",\"extension_state\":null,\"by_extension\":\"\"}\n"
            "{\"sequence\":2,\"time_unix_ms\":1700000000002,\"type\":\"session-ended\",\"session_"
            "id\":\"abc\","
            "\"leg_id\":\"\",\"role\":null,\"mode\":null,\"digit\":\"\",\"duration_ms\":0,"
            "\"extension\":\"\",\"extension_state\":null,\"by_extension\":\"\"}\n");
}

TEST_F(RunTest, EventsStopAfterCountAndPassAfterAndDuration) {
  EXPECT_CALL(
      api_, Subscribe(Truly([](const v1::SubscribeRequest& r) { return r.after_sequence() == 7; }),
                      std::optional<std::chrono::milliseconds>(1500), _))
      .WillOnce(Stream({Event(8, v1::EVENT_LEG_ADDED), Event(9, v1::EVENT_LEG_ADDED),
                        Event(10, v1::EVENT_LEG_ADDED)}));
  Outcome outcome = Run({"events", "--after", "7", "--count", "2", "--for", "1500"});
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.out,
            "8 2023-11-14T22:13:20.008Z leg-added session abc\n"
            "9 2023-11-14T22:13:20.009Z leg-added session abc\n");
  EXPECT_EQ(outcome.err, "");
}

TEST_F(RunTest, EventsSayWhatWasMissedOnStderr) {
  EXPECT_CALL(api_, Subscribe(_, _, _)).WillOnce(Stream({Event(20, v1::EVENT_MODE_CHANGED)}));
  Outcome outcome = Run({"events", "--after", "5"});
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(outcome.err, "earshotctl: note: events 6..19 are no longer kept and were missed\n");
}

TEST_F(RunTest, EventStreamErrorsExitLikeAnyCall) {
  EXPECT_CALL(api_, Subscribe(_, _, _))
      .WillOnce(Return(Failed(grpc::StatusCode::UNAVAILABLE, "connection refused")));
  Outcome outcome = Run({"events"});
  EXPECT_EQ(outcome.exit_code, 24);
  EXPECT_EQ(outcome.err, "earshotctl: UNAVAILABLE: connection refused\n");
}

}  // namespace
}  // namespace earshot::ctl

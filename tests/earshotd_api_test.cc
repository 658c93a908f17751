// earshotd driven through its gRPC API as a SIP server would drive it: phones
// on loopback send one tone each, the supervisor's mode changes, and every
// phone's stream is checked. Bad requests get the documented status codes while
// the daemon keeps serving the call.

#include <signal.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "earshot/v1/events.grpc.pb.h"
#include "earshot/v1/sessions.grpc.pb.h"
#include "earshot/v1/system.grpc.pb.h"
#include "dataplane/srtp_key.h"
#include "tests/support/rtp_phone.h"
#include "tests/support/subprocess.h"
#include "tests/support/tshark.h"

namespace earshot {
namespace {

using namespace std::chrono_literals;
using earshot::testing::RtpPhone;
using earshot::testing::Subprocess;
namespace v1 = earshot::v1;

constexpr double kHeard = -20.0;
constexpr double kSilent = -52.0;

class EarshotdApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Subprocess>(std::vector<std::string>{
        EARSHOTD_PATH, "--grpc-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--rtp-ports", "43000-43999", "--workers", "2",
        "--media-timeout-s", "1"});
    ASSERT_TRUE(daemon_->WaitForStderr("ready", 10s)) << daemon_->stderr_text();
    std::smatch match;
    std::string log = daemon_->stderr_text();
    ASSERT_TRUE(std::regex_search(log, match, std::regex("grpc=(127\\.0\\.0\\.1:[0-9]+)")));
    channel_ = grpc::CreateChannel(match[1].str(), grpc::InsecureChannelCredentials());
    sessions_ = v1::Sessions::NewStub(channel_);
    supervision_ = v1::Supervision::NewStub(channel_);
    stats_ = v1::Stats::NewStub(channel_);
    events_ = v1::Events::NewStub(channel_);
  }

  void TearDown() override {
    daemon_->Signal(SIGTERM);
    EXPECT_EQ(daemon_->Wait(5s), 0) << daemon_->stderr_text();
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + 5s);
    return context;
  }

  grpc::Status CreateSession(const std::string& id, uint32_t rate = 8000) {
    v1::CreateSessionRequest request;
    request.set_id(id);
    request.set_rate(rate);
    v1::Session session;
    return sessions_->CreateSession(Context().get(), request, &session);
  }

  v1::LegSpec Spec(v1::Role role, const RtpPhone& phone, const std::string& codec = "PCMU") {
    v1::LegSpec spec;
    spec.set_role(role);
    spec.set_codec(codec);
    spec.set_payload_type(0);
    spec.set_remote("127.0.0.1:" + std::to_string(phone.port()));
    return spec;
  }

  grpc::Status AddLeg(const std::string& session, const std::string& leg, const v1::LegSpec& spec,
                      v1::Leg* added) {
    v1::AddLegRequest request;
    request.set_session_id(session);
    request.set_leg_id(leg);
    *request.mutable_spec() = spec;
    return sessions_->AddLeg(Context().get(), request, added);
  }

  grpc::Status SetMode(const std::string& session, const std::string& leg, v1::Mode mode) {
    v1::SetModeRequest request;
    request.set_session_id(session);
    request.set_leg_id(leg);
    request.set_mode(mode);
    v1::Leg leg_out;
    return supervision_->SetMode(Context().get(), request, &leg_out);
  }

  // Talks until every phone has received at least `packets` more packets (at
  // most 10 s): on a loaded machine the ticks take longer, not the audio.
  //
  // Then, when `heard` is given, goes on until it holds (within the same 10 s):
  // when this process is starved for a moment, the phones send late, the
  // jitter buffers run dry, and the last 200 ms can be concealment fading out
  // rather than the tones. A routing error never satisfies `heard`, so it still
  // fails the EXPECTs that follow; a slow machine only takes longer.
  static void TalkUntilHeard(const std::vector<RtpPhone*>& phones, size_t packets,
                             const std::function<bool()>& heard = nullptr) {
    std::vector<size_t> before;
    for (RtpPhone* phone : phones) before.push_back(phone->packets().size());
    for (int round = 0; round < 500; ++round) {
      Talk(phones, 1);
      bool enough = true;
      for (size_t i = 0; i < phones.size(); ++i) {
        enough &= phones[i]->packets().size() >= before[i] + packets;
      }
      if (enough && (!heard || heard())) return;
    }
  }

  static void Talk(const std::vector<RtpPhone*>& phones, int ticks) {
    auto next = std::chrono::steady_clock::now();
    for (int tick = 0; tick < ticks; ++tick) {
      for (RtpPhone* phone : phones) phone->SendFrame();
      next += 20ms;
      std::this_thread::sleep_until(next);
      for (RtpPhone* phone : phones) phone->Drain();
    }
  }

  std::unique_ptr<Subprocess> daemon_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Sessions::Stub> sessions_;
  std::unique_ptr<v1::Supervision::Stub> supervision_;
  std::unique_ptr<v1::Stats::Stub> stats_;
  std::unique_ptr<v1::Events::Stub> events_;
};

TEST_F(EarshotdApiTest, SupervisedCallThroughTheApi) {
  ASSERT_TRUE(CreateSession("call-1").ok());
  EXPECT_TRUE(CreateSession("call-1").ok()) << "a retried create answers the existing session";
  EXPECT_EQ(CreateSession("call-1", 16000).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  RtpPhone customer(440.0);
  RtpPhone agent(770.0);
  RtpPhone supervisor(1170.0);
  v1::Leg leg;
  ASSERT_TRUE(AddLeg("call-1", "customer", Spec(v1::ROLE_CUSTOMER, customer), &leg).ok());
  EXPECT_EQ(leg.local_ip(), "127.0.0.1");
  EXPECT_GE(leg.local_port(), 43000u);
  customer.SendTo(leg.local_ip(), static_cast<uint16_t>(leg.local_port()));
  ASSERT_TRUE(AddLeg("call-1", "agent", Spec(v1::ROLE_AGENT, agent), &leg).ok());
  agent.SendTo(leg.local_ip(), static_cast<uint16_t>(leg.local_port()));

  v1::AttachRequest attach;
  attach.set_session_id("call-1");
  attach.set_leg_id("sup");
  *attach.mutable_spec() = Spec(v1::ROLE_UNSPECIFIED, supervisor);
  attach.set_mode(v1::MODE_LISTEN);
  ASSERT_TRUE(supervision_->Attach(Context().get(), attach, &leg).ok());
  EXPECT_EQ(leg.mode(), v1::MODE_LISTEN);
  EXPECT_EQ(leg.spec().role(), v1::ROLE_SUPERVISOR);
  supervisor.SendTo(leg.local_ip(), static_cast<uint16_t>(leg.local_port()));

  std::vector<RtpPhone*> phones = {&customer, &agent, &supervisor};
  // tshark watches what Earshot sends the customer through all three modes.
  earshot::testing::RtpCapture capture(customer.port(), 3);
  TalkUntilHeard(phones, 30, [&] { return supervisor.Level(440.0) > kHeard && supervisor.Level(770.0) > kHeard; });
  EXPECT_GT(supervisor.Level(440.0), kHeard);
  EXPECT_GT(supervisor.Level(770.0), kHeard);
  EXPECT_LT(customer.Level(1170.0), kSilent);
  EXPECT_LT(agent.Level(1170.0), kSilent);

  ASSERT_TRUE(SetMode("call-1", "sup", v1::MODE_WHISPER).ok());
  TalkUntilHeard(phones, 20, [&] { return agent.Level(1170.0) > kHeard; });
  EXPECT_GT(agent.Level(1170.0), kHeard);
  EXPECT_LT(customer.Level(1170.0), kSilent);

  ASSERT_TRUE(SetMode("call-1", "sup", v1::MODE_BARGE).ok());
  TalkUntilHeard(phones, 20, [&] { return agent.Level(1170.0) > kHeard && customer.Level(1170.0) > kHeard; });
  EXPECT_GT(agent.Level(1170.0), kHeard);
  EXPECT_GT(customer.Level(1170.0), kHeard);

  // Every output stream: continuous sequence and timestamps across all changes.
  // A worker starved for more than a tick (a loaded test machine) skips ticks
  // and, as RFC 3550 wants, lets the timestamp jump over them; earshotd then
  // says so in its status, and only then may a jump appear.
  v1::GetStatusResponse status;
  ASSERT_TRUE(v1::System::NewStub(channel_)->GetStatus(Context().get(), v1::GetStatusRequest(), &status).ok());
  uint64_t skipped_ticks = 0;
  for (const v1::WorkerStatus& worker : status.workers()) skipped_ticks += worker.skipped_ticks();
  for (RtpPhone* phone : phones) {
    const auto& packets = phone->packets();
    ASSERT_GT(packets.size(), 50u);
    for (size_t i = 1; i < packets.size(); ++i) {
      EXPECT_EQ(packets[i].ssrc, packets[0].ssrc);
      EXPECT_EQ(static_cast<uint16_t>(packets[i].sequence - packets[i - 1].sequence), 1);
      const uint32_t step = packets[i].timestamp - packets[i - 1].timestamp;
      if (skipped_ticks == 0) {
        EXPECT_EQ(step, 160u);
      } else {
        EXPECT_TRUE(step >= 160u && step % 160u == 0 && step <= 160u * (skipped_ticks + 1))
            << "a step of " << step << " with " << skipped_ticks << " ticks skipped";
      }
    }
  }

  if (capture.started()) {
    std::optional<earshot::testing::RtpStreamReport> report = capture.Analyse(customer.packets()[0].ssrc);
    ASSERT_TRUE(report.has_value());
    EXPECT_GT(report->packets, 100) << report->analysis;
    EXPECT_EQ(report->lost, 0) << report->analysis;
    EXPECT_FALSE(report->problem) << report->analysis;
    // Skipped ticks send nothing, which stretches the mean spacing.
    if (skipped_ticks == 0) {
      EXPECT_NEAR(report->mean_delta_ms, 20.0, 0.2) << report->analysis;
    }
  } else {
    std::printf("tshark check skipped: %s\n", capture.why_not().c_str());
  }

  v1::GetSessionStatsRequest stats_request;
  stats_request.set_session_id("call-1");
  v1::SessionStats stats;
  ASSERT_TRUE(stats_->GetSessionStats(Context().get(), stats_request, &stats).ok());
  ASSERT_EQ(stats.legs_size(), 3);
  for (const v1::LegStats& leg_stats : stats.legs()) {
    EXPECT_GT(leg_stats.rx_packets(), 40u) << leg_stats.leg_id();
    EXPECT_GT(leg_stats.tx_packets(), 40u) << leg_stats.leg_id();
    EXPECT_EQ(leg_stats.lost(), 0) << leg_stats.leg_id();
  }

  v1::DetachRequest detach;
  detach.set_session_id("call-1");
  detach.set_leg_id("sup");
  v1::DetachResponse detached;
  ASSERT_TRUE(supervision_->Detach(Context().get(), detach, &detached).ok());
  v1::DeleteSessionRequest remove;
  remove.set_id("call-1");
  v1::DeleteSessionResponse removed;
  ASSERT_TRUE(sessions_->DeleteSession(Context().get(), remove, &removed).ok());
  v1::GetSessionRequest get;
  get.set_id("call-1");
  v1::Session session;
  EXPECT_EQ(sessions_->GetSession(Context().get(), get, &session).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(EarshotdApiTest, BadRequestsGetTheirStatusCodesAndTheCallGoesOn) {
  RtpPhone customer(440.0);
  RtpPhone agent(770.0);
  ASSERT_TRUE(CreateSession("good").ok());
  v1::Leg leg;
  ASSERT_TRUE(AddLeg("good", "customer", Spec(v1::ROLE_CUSTOMER, customer), &leg).ok());
  customer.SendTo(leg.local_ip(), static_cast<uint16_t>(leg.local_port()));
  ASSERT_TRUE(AddLeg("good", "agent", Spec(v1::ROLE_AGENT, agent), &leg).ok());
  agent.SendTo(leg.local_ip(), static_cast<uint16_t>(leg.local_port()));
  TalkUntilHeard({&customer, &agent}, 10);
  // The good call goes on, in real time, while the bad requests arrive.
  std::atomic<bool> hang_up{false};
  std::thread talker([&] {
    while (!hang_up.load()) Talk({&customer, &agent}, 1);
  });

  auto expect_code = [](const grpc::Status& status, grpc::StatusCode code, const char* what) {
    EXPECT_EQ(status.error_code(), code) << what << ": " << status.error_message();
    EXPECT_FALSE(status.error_message().empty()) << what;
  };
  EXPECT_TRUE(CreateSession("bad").ok());
  v1::LegSpec spec = Spec(v1::ROLE_CUSTOMER, customer, "G729");
  expect_code(AddLeg("bad", "x", spec, &leg), grpc::StatusCode::INVALID_ARGUMENT, "unknown codec");
  spec = Spec(v1::ROLE_CUSTOMER, customer);
  spec.set_remote("300.1.2.3:5000");
  expect_code(AddLeg("bad", "x", spec, &leg), grpc::StatusCode::INVALID_ARGUMENT, "bad address");
  spec = Spec(v1::ROLE_UNSPECIFIED, customer);
  expect_code(AddLeg("bad", "x", spec, &leg), grpc::StatusCode::INVALID_ARGUMENT, "no role");
  expect_code(CreateSession("bad-rate", 44100), grpc::StatusCode::INVALID_ARGUMENT, "bad rate");
  expect_code(AddLeg("nope", "x", Spec(v1::ROLE_AGENT, agent), &leg), grpc::StatusCode::NOT_FOUND,
              "unknown session");
  expect_code(SetMode("good", "customer", v1::MODE_BARGE), grpc::StatusCode::FAILED_PRECONDITION,
              "mode of a customer");
  expect_code(SetMode("good", "ghost", v1::MODE_BARGE), grpc::StatusCode::NOT_FOUND, "unknown leg");
  expect_code(AddLeg("good", "customer", Spec(v1::ROLE_AGENT, customer), &leg),
              grpc::StatusCode::ALREADY_EXISTS, "same leg id, other parameters");
  v1::SetMatrixRequest matrix;
  matrix.set_session_id("good");
  v1::Gain* gain = matrix.add_gains();
  gain->set_dst_leg_id("customer");
  gain->set_src_leg_id("agent");
  gain->set_gain(9.0f);
  v1::SetMatrixResponse matrix_set;
  expect_code(supervision_->SetMatrix(Context().get(), matrix, &matrix_set),
              grpc::StatusCode::INVALID_ARGUMENT, "gain out of range");
  // A session holds 16 legs at most.
  std::vector<std::unique_ptr<RtpPhone>> crowd;
  grpc::Status last;
  for (int i = 0; i < 17 && last.ok(); ++i) {
    crowd.push_back(std::make_unique<RtpPhone>(300.0 + i));
    last = AddLeg("bad", "leg" + std::to_string(i), Spec(v1::ROLE_OTHER, *crowd.back()), &leg);
  }
  expect_code(last, grpc::StatusCode::RESOURCE_EXHAUSTED, "seventeenth leg");

  hang_up.store(true);
  talker.join();
  // The good call was not disturbed by any of it.
  TalkUntilHeard({&customer, &agent}, 10);
  EXPECT_GT(agent.Level(440.0), kHeard);
  EXPECT_GT(customer.Level(770.0), kHeard);
  const auto& packets = agent.packets();
  for (size_t i = 1; i < packets.size(); ++i) {
    EXPECT_EQ(static_cast<uint16_t>(packets[i].sequence - packets[i - 1].sequence), 1);
  }
}

// SDES keying through the API: the customer's phone speaks SRTP, the agent's
// plain RTP. Earshot answers its own key, never echoes one, re-keys without a
// gap, and a bad key is INVALID_ARGUMENT whose message does not quote it.
TEST_F(EarshotdApiTest, SrtpLegKeyedThroughTheApi) {
  using dataplane::SrtpKey;
  using dataplane::SrtpSession;
  using dataplane::SrtpSuite;
  constexpr SrtpSuite kSuite = SrtpSuite::kAeadAes128Gcm;
  ASSERT_TRUE(CreateSession("secure").ok());
  RtpPhone customer(440.0);
  RtpPhone agent(770.0);
  SrtpKey phone_key = *dataplane::GenerateSrtpKey(kSuite);
  const std::string phone_key_text = dataplane::FormatSdesKey(phone_key);

  v1::LegSpec spec = Spec(v1::ROLE_CUSTOMER, customer);
  spec.mutable_srtp()->set_suite("AEAD_AES_128_GCM");
  spec.mutable_srtp()->set_remote_key("inline:" + phone_key_text.substr(0, 20));
  v1::Leg leg;
  grpc::Status refused = AddLeg("secure", "customer", spec, &leg);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.error_message().find(phone_key_text.substr(0, 20)), std::string::npos)
      << refused.error_message();
  spec.mutable_srtp()->set_suite("AES_CM_128_NULL");
  EXPECT_EQ(AddLeg("secure", "customer", spec, &leg).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  spec.mutable_srtp()->set_suite("AEAD_AES_128_GCM");
  spec.mutable_srtp()->set_remote_key("inline:" + phone_key_text);
  ASSERT_TRUE(AddLeg("secure", "customer", spec, &leg).ok());
  ASSERT_FALSE(leg.srtp_local_key().empty());
  EXPECT_EQ(leg.spec().srtp().suite(), "AEAD_AES_128_GCM");
  EXPECT_TRUE(leg.spec().srtp().remote_key().empty()) << "keys are never echoed";
  SrtpKey earshot_key = *dataplane::ParseSdesKey(kSuite, leg.srtp_local_key());
  customer.UseSrtp(*SrtpSession::Outbound(phone_key), *SrtpSession::Inbound(earshot_key));
  customer.SendTo(leg.local_ip(), static_cast<uint16_t>(leg.local_port()));
  const uint32_t customer_port = leg.local_port();
  ASSERT_TRUE(AddLeg("secure", "agent", Spec(v1::ROLE_AGENT, agent), &leg).ok());
  agent.SendTo(leg.local_ip(), static_cast<uint16_t>(leg.local_port()));

  TalkUntilHeard({&customer, &agent}, 30);
  EXPECT_GT(agent.Level(440.0), kHeard) << "Earshot decrypted the customer";
  EXPECT_GT(customer.Level(770.0), kHeard) << "the customer decrypted Earshot";
  EXPECT_EQ(customer.srtp_failures(), 0u);

  // Plain RTP from the customer's own address is not believed (no downgrade).
  RtpPhone plain(1170.0);
  plain.SendTo("127.0.0.1", static_cast<uint16_t>(customer_port));

  // A re-INVITE brings new keys both ways; the streams go on without a gap.
  SrtpKey phone_next = *dataplane::GenerateSrtpKey(kSuite);
  v1::UpdateLegRequest update;
  update.set_session_id("secure");
  update.set_leg_id("customer");
  update.mutable_srtp()->set_remote_key(dataplane::FormatSdesKey(phone_next));
  v1::Leg updated;
  // Ours changes only when a key is given (or the suite changes).
  SrtpKey earshot_next = *dataplane::GenerateSrtpKey(kSuite);
  update.mutable_srtp()->set_local_key(dataplane::FormatSdesKey(earshot_next));
  const size_t heard_before = customer.packets().size();
  ASSERT_TRUE(sessions_->UpdateLeg(Context().get(), update, &updated).ok());
  EXPECT_EQ(updated.srtp_local_key(), dataplane::FormatSdesKey(earshot_next));
  ASSERT_TRUE(customer.srtp_out()->Rekey(phone_next).has_value());
  ASSERT_TRUE(customer.srtp_in()->Rekey(earshot_next).has_value());
  TalkUntilHeard({&customer, &agent}, 30);
  EXPECT_GT(agent.Level(440.0), kHeard);
  EXPECT_GT(customer.Level(770.0), kHeard);
  // What was in flight under the old key may fail at the phone; nothing after.
  EXPECT_LE(customer.srtp_failures(), 3u);
  EXPECT_GT(customer.packets().size(), heard_before + 25);

  // Re-keying a plain leg is a precondition failure.
  update.set_leg_id("agent");
  EXPECT_EQ(sessions_->UpdateLeg(Context().get(), update, &updated).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  // Keys stay out of Get.
  v1::GetSessionRequest get;
  get.set_id("secure");
  v1::Session session;
  ASSERT_TRUE(sessions_->GetSession(Context().get(), get, &session).ok());
  for (const v1::Leg& each : session.legs()) EXPECT_TRUE(each.srtp_local_key().empty());

  for (int i = 0; i < 5; ++i) plain.SendFrame();
  TalkUntilHeard({&customer, &agent}, 5);
  v1::GetSessionStatsRequest stats_request;
  stats_request.set_session_id("secure");
  v1::SessionStats stats;
  ASSERT_TRUE(stats_->GetSessionStats(Context().get(), stats_request, &stats).ok());
  for (const v1::LegStats& each : stats.legs()) {
    if (each.leg_id() != "customer") continue;
    // The plain phone's packets: dropped as not from the latched (or given)
    // source, or as failing authentication; never mixed.
    const uint64_t dropped = each.dropped().at("srtp_authentication") + each.dropped().at("wrong_source");
    EXPECT_EQ(dropped, 5u);
  }
  EXPECT_LT(agent.Level(1170.0), kSilent);
}

// Voice processing is asked for per leg: the customer's leg cancels echo and
// suppresses noise, the call works as before, and a tail out of range is
// INVALID_ARGUMENT naming it.
TEST_F(EarshotdApiTest, VoiceProcessingIsChosenPerLeg) {
  ASSERT_TRUE(CreateSession("pstn").ok());
  RtpPhone customer(440.0);
  RtpPhone agent(770.0);
  v1::LegSpec spec = Spec(v1::ROLE_CUSTOMER, customer);
  spec.mutable_voice()->set_echo_cancel(true);
  spec.mutable_voice()->set_echo_tail_ms(8);
  v1::Leg leg;
  grpc::Status refused = AddLeg("pstn", "customer", spec, &leg);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.error_message().find("echo tail"), std::string::npos) << refused.error_message();
  spec.mutable_voice()->set_echo_tail_ms(0);  // the default, 128 ms
  spec.mutable_voice()->set_noise_suppress(true);
  ASSERT_TRUE(AddLeg("pstn", "customer", spec, &leg).ok());
  EXPECT_TRUE(leg.spec().voice().echo_cancel());
  EXPECT_EQ(leg.spec().voice().echo_tail_ms(), 128u);
  EXPECT_TRUE(leg.spec().voice().noise_suppress());
  customer.SendTo(leg.local_ip(), static_cast<uint16_t>(leg.local_port()));
  ASSERT_TRUE(AddLeg("pstn", "agent", Spec(v1::ROLE_AGENT, agent), &leg).ok());
  EXPECT_FALSE(leg.spec().has_voice());
  agent.SendTo(leg.local_ip(), static_cast<uint16_t>(leg.local_port()));
  TalkUntilHeard({&customer, &agent}, 40);
  EXPECT_GT(customer.Level(770.0), kHeard);
  // A steady tone is what a noise suppressor learns as noise, so the agent
  // hears it, but quieter than it was sent: the processing is on.
  EXPECT_LT(agent.Level(440.0), customer.Level(770.0));
}

TEST_F(EarshotdApiTest, ManyClientsCreateAndDeleteWithoutLeaks) {
  constexpr int kClients = 8;
  constexpr int kSessionsEach = 63;  // 504 sessions
  std::vector<std::thread> clients;
  std::atomic<int> failures{0};
  for (int client = 0; client < kClients; ++client) {
    clients.emplace_back([&, client] {
      for (int i = 0; i < kSessionsEach; ++i) {
        const std::string id = "load-" + std::to_string(client) + "-" + std::to_string(i);
        RtpPhone phone(440.0);
        v1::Leg leg;
        if (!CreateSession(id).ok() || !CreateSession(id).ok() ||
            !AddLeg(id, "a", Spec(v1::ROLE_AGENT, phone), &leg).ok()) {
          ++failures;
          continue;
        }
        v1::DeleteSessionRequest remove;
        remove.set_id(id);
        v1::DeleteSessionResponse removed;
        if (!sessions_->DeleteSession(Context().get(), remove, &removed).ok()) ++failures;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(failures.load(), 0);
  v1::ListSessionsResponse list;
  ASSERT_TRUE(sessions_->ListSessions(Context().get(), v1::ListSessionsRequest(), &list).ok());
  EXPECT_EQ(list.sessions_size(), 0);
  // The workers hold nothing any more: no session, no leg, no port.
  auto system = v1::System::NewStub(channel_);
  v1::GetStatusResponse status;
  ASSERT_TRUE(system->GetStatus(Context().get(), v1::GetStatusRequest(), &status).ok());
  ASSERT_EQ(status.workers_size(), 2);
  for (const v1::WorkerStatus& worker : status.workers()) {
    EXPECT_EQ(worker.sessions(), 0u);
    EXPECT_EQ(worker.legs(), 0u);
  }
  // Every port came back: a new session can still get legs on the whole range.
  ASSERT_TRUE(CreateSession("after").ok());
  RtpPhone phone(440.0);
  v1::Leg leg;
  EXPECT_TRUE(AddLeg("after", "a", Spec(v1::ROLE_AGENT, phone), &leg).ok());
}

TEST_F(EarshotdApiTest, EventFeedFollowsTheCallInOrder) {
  // Subscribe first; collect until the session has ended.
  grpc::ClientContext feed_context;
  v1::SubscribeRequest subscribe;  // no after_sequence: from now on
  auto feed = events_->Subscribe(&feed_context, subscribe);
  std::this_thread::sleep_for(300ms);  // let the subscription reach the server

  RtpPhone customer(440.0);
  RtpPhone silent_agent(770.0);  // never sends: its leg times out after 1 s
  RtpPhone supervisor(1170.0);
  ASSERT_TRUE(CreateSession("watched").ok());
  v1::Leg leg;
  ASSERT_TRUE(AddLeg("watched", "customer", Spec(v1::ROLE_CUSTOMER, customer), &leg).ok());
  customer.SendTo(leg.local_ip(), static_cast<uint16_t>(leg.local_port()));
  ASSERT_TRUE(AddLeg("watched", "agent", Spec(v1::ROLE_AGENT, silent_agent), &leg).ok());
  silent_agent.SendTo(leg.local_ip(), static_cast<uint16_t>(leg.local_port()));
  v1::AttachRequest attach;
  attach.set_session_id("watched");
  attach.set_leg_id("sup");
  *attach.mutable_spec() = Spec(v1::ROLE_UNSPECIFIED, supervisor);
  attach.set_mode(v1::MODE_LISTEN);
  ASSERT_TRUE(supervision_->Attach(Context().get(), attach, &leg).ok());
  supervisor.SendTo(leg.local_ip(), static_cast<uint16_t>(leg.local_port()));
  ASSERT_TRUE(SetMode("watched", "sup", v1::MODE_BARGE).ok());
  Talk({&customer, &supervisor}, 75);   // 1.5 s: the agent's leg times out
  Talk({&customer, &supervisor, &silent_agent}, 10);  // and resumes
  v1::DetachRequest detach;
  detach.set_session_id("watched");
  detach.set_leg_id("sup");
  v1::DetachResponse detached;
  ASSERT_TRUE(supervision_->Detach(Context().get(), detach, &detached).ok());
  v1::DeleteSessionRequest remove;
  remove.set_id("watched");
  v1::DeleteSessionResponse removed;
  ASSERT_TRUE(sessions_->DeleteSession(Context().get(), remove, &removed).ok());

  std::vector<v1::Event> events;
  v1::Event event;
  while (feed->Read(&event)) {
    events.push_back(event);
    if (event.type() == v1::EVENT_SESSION_ENDED) break;
  }
  feed_context.TryCancel();
  ASSERT_FALSE(events.empty());
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sequence(), events[i - 1].sequence() + 1) << "no gaps";
  }
  std::vector<std::string> seen;
  for (const v1::Event& e : events) {
    seen.push_back(v1::EventType_Name(e.type()) + (e.leg_id().empty() ? "" : ":" + e.leg_id()));
  }
  const std::vector<std::string> expected = {
      "EVENT_SESSION_CREATED",         "EVENT_LEG_ADDED:customer",     "EVENT_LEG_ADDED:agent",
      "EVENT_SUPERVISOR_ATTACHED:sup", "EVENT_MODE_CHANGED:sup",       "EVENT_MEDIA_TIMEOUT:agent",
      "EVENT_MEDIA_RESUMED:agent",     "EVENT_SUPERVISOR_DETACHED:sup", "EVENT_SESSION_ENDED"};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(events[4].mode(), v1::MODE_BARGE);
  EXPECT_EQ(events[1].role(), v1::ROLE_CUSTOMER);
}

TEST(EarshotdDrainTest, AfterSigtermNewSessionsAreRefusedWhileCallsEnd) {
  Subprocess daemon({EARSHOTD_PATH, "--grpc-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--rtp-ports", "44000-44999",
                     "--drain-timeout-s", "10"});
  ASSERT_TRUE(daemon.WaitForStderr("ready", 10s)) << daemon.stderr_text();
  std::smatch match;
  std::string log = daemon.stderr_text();
  ASSERT_TRUE(std::regex_search(log, match, std::regex("grpc=(127\\.0\\.0\\.1:[0-9]+)")));
  auto sessions = v1::Sessions::NewStub(grpc::CreateChannel(match[1].str(), grpc::InsecureChannelCredentials()));
  auto call = [&](auto method, const auto& request, auto* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 5s);
    return ((*sessions).*method)(&context, request, response);
  };
  v1::CreateSessionRequest create;
  create.set_id("running");
  v1::Session session;
  ASSERT_TRUE(call(&v1::Sessions::Stub::CreateSession, create, &session).ok());

  daemon.Signal(SIGTERM);
  ASSERT_TRUE(daemon.WaitForStderr("draining", 5s)) << daemon.stderr_text();
  create.set_id("late");
  grpc::Status refused = call(&v1::Sessions::Stub::CreateSession, create, &session);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(refused.error_message().find("shutting down"), std::string::npos);
  // The running call is still served until it ends; then earshotd exits.
  v1::GetSessionRequest get;
  get.set_id("running");
  EXPECT_TRUE(call(&v1::Sessions::Stub::GetSession, get, &session).ok());
  v1::DeleteSessionRequest remove;
  remove.set_id("running");
  v1::DeleteSessionResponse removed;
  EXPECT_TRUE(call(&v1::Sessions::Stub::DeleteSession, remove, &removed).ok());
  EXPECT_EQ(daemon.Wait(5s), 0) << daemon.stderr_text();
  EXPECT_NE(daemon.stderr_text().find("sessions_left=0"), std::string::npos) << daemon.stderr_text();
}

}  // namespace
}  // namespace earshot

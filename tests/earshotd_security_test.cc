// Who may do what, through a real earshotd: bearer tokens and mTLS client
// certificates (made here with the openssl command line), the policy's
// permission matrix, its reload on SIGHUP, the refusal to listen beyond
// loopback without authentication, and the audit log's chain across kill -9.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "earshot/v1/pickup.grpc.pb.h"
#include "earshot/v1/sessions.grpc.pb.h"
#include "earshot/v1/system.grpc.pb.h"
#include "tests/support/subprocess.h"

namespace earshot {
namespace {

using namespace std::chrono_literals;
using earshot::testing::RunResult;
using earshot::testing::RunToCompletion;
using earshot::testing::Subprocess;
using ::testing::HasSubstr;
namespace v1 = earshot::v1;

constexpr const char* kModes[] = {"listen", "whisper", "whisper-customer", "barge", "takeover"};
constexpr v1::Mode kProtoModes[] = {v1::MODE_LISTEN, v1::MODE_WHISPER, v1::MODE_WHISPER_CUSTOMER,
                                    v1::MODE_BARGE, v1::MODE_TAKEOVER};

std::string Dir() {
  static const std::string dir = [] {
    std::string path = ::testing::TempDir() + "earshot_security_" + std::to_string(getpid()) + "/";
    RunToCompletion({"/bin/mkdir", "-p", path});
    return path;
  }();
  return dir;
}

std::string Write(const std::string& name, const std::string& text) {
  std::string path = Dir() + name;
  std::ofstream(path, std::ios::trunc) << text;
  return path;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Sh(const std::string& script) {
  RunResult run = RunToCompletion({"/bin/sh", "-c", script});
  EXPECT_EQ(run.exit_code, 0) << script << "\n" << run.err;
  return run.out;
}

// tokens: sip-a's and lead's; the file holds their SHA-256 only.
const std::string kSipToken = "tok-sip-a-0123456789";
const std::string kLeadToken = "tok-lead-9876543210";

std::string TokensFile() {
  std::string hashes = Sh("printf %s '" + kSipToken + "' | sha256sum | cut -d' ' -f1");
  hashes.pop_back();
  std::string lead = Sh("printf %s '" + kLeadToken + "' | sha256sum | cut -d' ' -f1");
  lead.pop_back();
  return Write("tokens", "# sha256(token) principal\n" + hashes + " sip-a\n" + lead + " lead\n");
}

// sip-a may listen and whisper on billing calls for any supervisor; lead may
// do everything on billing and sales calls, for itself only.
constexpr std::string_view kPolicy = R"(subjects:
  "O=Earshot Test,CN=console-7": lead
grants:
  - name: sip-billing
    principals: [sip-a]
    supervisors: ["*"]
    modes: [listen, whisper]
    sessions: ["team:billing"]
  - name: leads
    principals: [lead]
    modes: ["*"]
    sessions: ["team:billing", "team:sales"]
)";

bool Allowed(const std::string& principal, const std::string& team, int mode) {
  if (principal == "lead") return true;
  return team == "billing" && mode <= 1;
}

// A CA, a server certificate for 127.0.0.1, and client certificates.
struct Pki {
  std::string ca, server_cert, server_key;
  std::string ClientCert(const std::string& name) const { return ReadAll(Dir() + name + ".pem"); }
  std::string ClientKey(const std::string& name) const { return ReadAll(Dir() + name + ".key"); }
};

const Pki& MakePki() {
  static const Pki pki = [] {
    const std::string d = Dir();
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    std::string script = "set -e; cd " + d + "; openssl req -x509 " + key +
                         " -keyout ca.key -out ca.pem -days 2 -subj '/CN=Earshot Test CA' 2>/dev/null;"
                         "printf 'subjectAltName=IP:127.0.0.1\\n' > server.ext;"
                         "openssl req " + key + " -keyout server.key -out server.csr -subj '/CN=earshotd' 2>/dev/null;"
                         "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
                         "-extfile server.ext -out server.pem 2>/dev/null;";
    for (const char* client : {"sip-a", "lead", "console-7", "stranger"}) {
      std::string name = client;
      std::string subject = name == "console-7" ? "/CN=console-7/O=Earshot Test" : "/CN=" + name;
      script += "openssl req " + key + " -keyout " + name + ".key -out " + name + ".csr -subj '" + subject +
                "' 2>/dev/null; openssl x509 -req -in " + name + ".csr -CA ca.pem -CAkey ca.key " +
                "-CAcreateserial -days 2 -out " + name + ".pem 2>/dev/null;";
    }
    Sh(script);
    return Pki{ReadAll(d + "ca.pem"), d + "server.pem", d + "server.key"};
  }();
  return pki;
}

class Daemon {
 public:
  explicit Daemon(std::vector<std::string> extra, int port_base) {
    std::vector<std::string> argv = {EARSHOTD_PATH, "--grpc-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--rtp-ports",
                                     std::to_string(port_base) + "-" + std::to_string(port_base + 999)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    process_ = std::make_unique<Subprocess>(argv);
    ready_ = process_->WaitForStderr("ready", 10s);
    std::smatch match;
    std::string log = process_->stderr_text();
    if (std::regex_search(log, match, std::regex("grpc=(127\\.0\\.0\\.1:[0-9]+)"))) address_ = match[1].str();
  }
  bool ready() const { return ready_ && !address_.empty(); }
  const std::string& address() const { return address_; }
  Subprocess& process() { return *process_; }

 private:
  std::unique_ptr<Subprocess> process_;
  bool ready_ = false;
  std::string address_;
};

// One caller: a channel and, for tokens, the token it sends.
struct Caller {
  std::shared_ptr<grpc::Channel> channel;
  std::string token;

  std::unique_ptr<grpc::ClientContext> Context() const {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + 5s);
    if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
    return context;
  }
  grpc::Status CreateSession(const std::string& id, const std::string& team) const {
    v1::CreateSessionRequest request;
    request.set_id(id);
    (*request.mutable_labels())["team"] = team;
    v1::Session session;
    return v1::Sessions::NewStub(channel)->CreateSession(Context().get(), request, &session);
  }
  grpc::Status Attach(const std::string& session, const std::string& leg, v1::Mode mode,
                      const std::string& supervisor = "") const {
    v1::AttachRequest request;
    request.set_session_id(session);
    request.set_leg_id(leg);
    request.set_mode(mode);
    request.set_supervisor(supervisor);
    request.mutable_spec()->set_codec("PCMU");
    request.mutable_spec()->set_remote("127.0.0.1:9");
    v1::Leg out;
    return v1::Supervision::NewStub(channel)->Attach(Context().get(), request, &out);
  }
  grpc::Status SetMode(const std::string& session, const std::string& leg, v1::Mode mode) const {
    v1::SetModeRequest request;
    request.set_session_id(session);
    request.set_leg_id(leg);
    request.set_mode(mode);
    v1::Leg out;
    return v1::Supervision::NewStub(channel)->SetMode(Context().get(), request, &out);
  }
  grpc::Status Detach(const std::string& session, const std::string& leg) const {
    v1::DetachRequest request;
    request.set_session_id(session);
    request.set_leg_id(leg);
    v1::DetachResponse out;
    return v1::Supervision::NewStub(channel)->Detach(Context().get(), request, &out);
  }
  grpc::Status GetSession(const std::string& id, v1::Session* session) const {
    v1::GetSessionRequest request;
    request.set_id(id);
    return v1::Sessions::NewStub(channel)->GetSession(Context().get(), request, session);
  }
};

Caller TokenCaller(const Daemon& daemon, const std::string& token) {
  return Caller{grpc::CreateChannel(daemon.address(), grpc::InsecureChannelCredentials()), token};
}

Caller CertificateCaller(const Daemon& daemon, const std::string& client) {
  const Pki& pki = MakePki();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pki.ca;
  if (!client.empty()) {
    options.pem_private_key = pki.ClientKey(client);
    options.pem_cert_chain = pki.ClientCert(client);
  }
  return Caller{grpc::CreateChannel(daemon.address(), grpc::SslCredentials(options)), ""};
}

std::string Earshotctl(const std::vector<std::string>& args, int* exit_code, std::string* err = nullptr) {
  std::vector<std::string> argv = {EARSHOTCTL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult run = RunToCompletion(argv);
  *exit_code = run.exit_code.value_or(-1);
  if (err != nullptr) *err = run.err;
  return run.out;
}

// The whole matrix: both principals x both labels x every mode, then a mode
// change beyond the grant. `sip` and `lead` are the two principals' callers.
void CheckMatrix(const Caller& sip, const Caller& lead, const std::string& prefix) {
  ASSERT_TRUE(lead.CreateSession(prefix + "billing", "billing").ok());
  ASSERT_TRUE(lead.CreateSession(prefix + "sales", "sales").ok());
  int leg = 0;
  for (const auto& [principal, caller] : {std::pair<std::string, const Caller*>{"sip-a", &sip}, {"lead", &lead}}) {
    for (const std::string team : {"billing", "sales"}) {
      for (int mode = 0; mode < 5; ++mode) {
        const std::string leg_id = "sup-" + std::to_string(++leg);
        grpc::Status status = caller->Attach(prefix + team, leg_id, kProtoModes[mode]);
        SCOPED_TRACE(principal + " " + kModes[mode] + " on team:" + team);
        if (Allowed(principal, team, mode)) {
          EXPECT_TRUE(status.ok()) << status.error_message();
          EXPECT_TRUE(caller->Detach(prefix + team, leg_id).ok());
        } else {
          EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
          EXPECT_THAT(status.error_message(), HasSubstr("missing rule {principals: [" + principal + "]"));
          EXPECT_THAT(status.error_message(), HasSubstr(std::string("modes: [") + kModes[mode] + "]"));
          EXPECT_THAT(status.error_message(), HasSubstr("team:" + team));
        }
      }
    }
  }
  // Mode changes are checked too: sip-a listens, may whisper, may not barge.
  ASSERT_TRUE(sip.Attach(prefix + "billing", "sup-x", v1::MODE_LISTEN, "alice").ok());
  EXPECT_TRUE(sip.SetMode(prefix + "billing", "sup-x", v1::MODE_WHISPER).ok());
  grpc::Status barge = sip.SetMode(prefix + "billing", "sup-x", v1::MODE_BARGE);
  EXPECT_EQ(barge.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(barge.error_message(), HasSubstr("supervisors: [alice], modes: [barge]"));
  // lead acts only for itself.
  grpc::Status for_alice = lead.Attach(prefix + "billing", "sup-y", v1::MODE_LISTEN, "alice");
  EXPECT_EQ(for_alice.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(sip.Detach(prefix + "billing", "sup-x").ok());
}

TEST(EarshotdSecurityTest, PermissionMatrixWithBearerTokens) {
  const std::string audit = Dir() + "matrix_tokens.audit";
  std::remove(audit.c_str());
  Daemon daemon({"--auth-tokens-file", TokensFile(), "--policy-file", Write("policy.yaml", std::string(kPolicy)),
                 "--audit-log", audit},
                44000);
  ASSERT_TRUE(daemon.ready()) << daemon.process().stderr_text();
  CheckMatrix(TokenCaller(daemon, kSipToken), TokenCaller(daemon, kLeadToken), "t-");

  // No token, or a wrong one: UNAUTHENTICATED for every call.
  v1::Session session;
  EXPECT_EQ(TokenCaller(daemon, "").GetSession("t-billing", &session).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status wrong = TokenCaller(daemon, "guess").Attach("t-billing", "sup-z", v1::MODE_LISTEN);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(wrong.error_message(), HasSubstr("not valid"));

  daemon.process().Signal(SIGTERM);
  EXPECT_EQ(daemon.process().Wait(5s), 0);
  int exit_code = -1;
  std::string out = Earshotctl({"audit", "verify", audit, "--json"}, &exit_code);
  EXPECT_EQ(exit_code, 0) << out;
  EXPECT_THAT(out, HasSubstr("\"ok\":true"));
  const std::string log = ReadAll(audit);
  // 20 attaches (denied or not), 12 detaches, the tail's 2 attaches, 2 mode
  // changes and detach, and the unauthenticated attach.
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 20 + 12 + 5 + 1);
  EXPECT_THAT(log, HasSubstr("\"principal\":\"sip-a\",\"supervisor\":\"alice\",\"action\":\"mode\""));
  EXPECT_THAT(log, HasSubstr("\"outcome\":\"denied\""));
  EXPECT_THAT(log, HasSubstr("\"outcome\":\"unauthenticated\""));
}

TEST(EarshotdSecurityTest, PermissionMatrixWithClientCertificates) {
  const Pki& pki = MakePki();
  Daemon daemon({"--tls-cert-file", pki.server_cert, "--tls-key-file", pki.server_key, "--tls-client-ca-file",
                 Dir() + "ca.pem", "--policy-file", Write("policy_tls.yaml", std::string(kPolicy))},
                45000);
  ASSERT_TRUE(daemon.ready()) << daemon.process().stderr_text();
  // console-7's subject maps to lead; sip-a's CN is its principal.
  CheckMatrix(CertificateCaller(daemon, "sip-a"), CertificateCaller(daemon, "console-7"), "c-");
  CheckMatrix(CertificateCaller(daemon, "sip-a"), CertificateCaller(daemon, "lead"), "d-");
  // A certificate with no grant is authenticated but may do nothing.
  grpc::Status stranger = CertificateCaller(daemon, "stranger").Attach("c-billing", "s-1", v1::MODE_LISTEN);
  EXPECT_EQ(stranger.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(stranger.error_message(), HasSubstr("principal 'stranger'"));
  // Without a client certificate the TLS handshake fails.
  v1::Session session;
  EXPECT_NE(CertificateCaller(daemon, "").GetSession("c-billing", &session).error_code(), grpc::StatusCode::OK);
  // Nor does plaintext get through.
  EXPECT_NE(TokenCaller(daemon, "").GetSession("c-billing", &session).error_code(), grpc::StatusCode::OK);
  // earshotctl talks mTLS with the same files, and is refused without them.
  int exit_code = -1;
  std::string err;
  std::string out = Earshotctl({"--addr", daemon.address(), "--tls-ca", Dir() + "ca.pem", "--tls-cert",
                                Dir() + "lead.pem", "--tls-key", Dir() + "lead.key", "session", "list"},
                               &exit_code, &err);
  EXPECT_EQ(exit_code, 0) << err;
  EXPECT_THAT(out, HasSubstr("c-billing"));
  Earshotctl({"--addr", daemon.address(), "--tls-ca", Dir() + "ca.pem", "session", "list"}, &exit_code);
  EXPECT_NE(exit_code, 0);
  daemon.process().Signal(SIGTERM);
  EXPECT_EQ(daemon.process().Wait(5s), 0);
}

TEST(EarshotdSecurityTest, SighupReloadsThePolicyWithoutDroppingCalls) {
  const std::string listen_only = R"(grants:
  - principals: [sip-a]
    modes: [listen]
    sessions: ["team:billing"]
)";
  const std::string with_barge = listen_only + R"(  - principals: [sip-a]
    modes: [barge]
    sessions: ["team:billing"]
)";
  const std::string policy = Write("policy_reload.yaml", listen_only);
  Daemon daemon({"--auth-tokens-file", TokensFile(), "--policy-file", policy}, 46000);
  ASSERT_TRUE(daemon.ready()) << daemon.process().stderr_text();
  Caller sip = TokenCaller(daemon, kSipToken);
  ASSERT_TRUE(sip.CreateSession("call", "billing").ok());
  ASSERT_TRUE(sip.Attach("call", "listener", v1::MODE_LISTEN).ok());
  EXPECT_EQ(sip.Attach("call", "barger", v1::MODE_BARGE).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  auto reload = [&](const std::string& text, const std::string& expect_log, int count) {
    Write("policy_reload.yaml", text);
    daemon.process().Signal(SIGHUP);
    // Wait for the count-th such log line.
    for (int i = 0; i < 100; ++i) {
      daemon.process().WaitForStderr("\x01 (nothing: reads stderr for a while)", 100ms);
      const std::string& log = daemon.process().stderr_text();
      size_t seen = 0;
      for (size_t at = log.find(expect_log); at != std::string::npos; at = log.find(expect_log, at + 1)) ++seen;
      if (static_cast<int>(seen) >= count) return;
    }
    ADD_FAILURE() << "no " << expect_log << " after SIGHUP: " << daemon.process().stderr_text();
  };

  reload(with_barge, "security_reloaded", 1);
  EXPECT_TRUE(sip.Attach("call", "barger", v1::MODE_BARGE).ok());
  // A broken file keeps the policy in force.
  reload("grants: [\n", "security_reload_failed", 1);
  EXPECT_TRUE(sip.SetMode("call", "barger", v1::MODE_BARGE).ok());
  // Taking the grant away refuses the next request, but drops nobody.
  reload(listen_only, "security_reloaded", 2);
  EXPECT_EQ(sip.SetMode("call", "barger", v1::MODE_BARGE).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(sip.Attach("call", "barger2", v1::MODE_BARGE).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::Session session;
  ASSERT_TRUE(sip.GetSession("call", &session).ok());
  EXPECT_EQ(session.legs_size(), 2);  // listener and barger still attached
  daemon.process().Signal(SIGTERM);
  EXPECT_EQ(daemon.process().Wait(5s), 0);
}

// Pickup is checked like supervision: lead holds a grant of pickup over the
// sales group, sip-a does not; answering one's own ringing call needs none.
// Every answer and pickup, and the denial, is in the audit log.
TEST(EarshotdSecurityTest, PickupNeedsAGrantOverTheRingingExtensionsGroup) {
  const std::string audit = Dir() + "pickup.audit";
  std::remove(audit.c_str());
  const std::string policy = R"(grants:
  - name: sales-pickup
    principals: [lead]
    modes: [listen]
    sessions: ["team:sales"]
    pickup_groups: [sales]
)";
  const std::string extensions = "extensions:\n  \"201\": [sales]\n  \"207\": [sales]\n  \"208\": [sales]\n";
  Daemon daemon({"--auth-tokens-file", TokensFile(), "--policy-file", Write("pickup_policy.yaml", policy),
                 "--extensions-file", Write("extensions.yaml", extensions), "--audit-log", audit},
                46000);
  ASSERT_TRUE(daemon.ready()) << daemon.process().stderr_text();
  const Caller sip = TokenCaller(daemon, kSipToken);
  const Caller lead = TokenCaller(daemon, kLeadToken);
  auto ring = [&](const std::string& id) {
    v1::RingRequest request;
    request.mutable_session()->set_id(id);
    (*request.mutable_session()->mutable_labels())["team"] = "sales";
    request.set_extension("201");
    v1::Session created;
    grpc::Status rung = v1::Pickup::NewStub(sip.channel)->Ring(sip.Context().get(), request, &created);
    if (!rung.ok()) return rung;
    v1::AddLegRequest caller;  // the caller's leg, live while it rings
    caller.set_session_id(id);
    caller.set_leg_id("caller");
    caller.mutable_spec()->set_role(v1::ROLE_CUSTOMER);
    caller.mutable_spec()->set_codec("PCMU");
    caller.mutable_spec()->set_remote("127.0.0.1:9");
    v1::Leg leg;
    return v1::Sessions::NewStub(sip.channel)->AddLeg(sip.Context().get(), caller, &leg);
  };
  auto pick_up = [](const Caller& caller, const std::string& by, const std::string& leg) {
    v1::PickupCallRequest request;
    request.set_by_extension(by);
    request.set_extension("201");
    request.set_leg_id(leg);
    request.mutable_spec()->set_role(v1::ROLE_AGENT);
    request.mutable_spec()->set_codec("PCMU");
    request.mutable_spec()->set_remote("127.0.0.1:9");
    v1::AnswerResponse answer;
    return v1::Pickup::NewStub(caller.channel)->PickupCall(caller.Context().get(), request, &answer);
  };
  ASSERT_TRUE(ring("ring-1").ok());
  grpc::Status denied = pick_up(sip, "207", "agent-207");
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED) << denied.error_message();
  EXPECT_THAT(denied.error_message(), HasSubstr("sales"));
  grpc::Status nobody = pick_up(TokenCaller(daemon, ""), "207", "agent-207");
  EXPECT_EQ(nobody.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status won = pick_up(lead, "208", "agent-208");
  EXPECT_TRUE(won.ok()) << won.error_message() << " " << won.error_code();

  // The called extension answers its own call without a pickup grant.
  ASSERT_TRUE(ring("ring-2").ok());
  v1::AnswerRequest answer;
  answer.set_session_id("ring-2");
  answer.set_leg_id("agent-201");
  answer.mutable_spec()->set_role(v1::ROLE_AGENT);
  answer.mutable_spec()->set_codec("PCMU");
  answer.mutable_spec()->set_remote("127.0.0.1:9");
  v1::AnswerResponse answered;
  grpc::Status own = v1::Pickup::NewStub(sip.channel)->Answer(sip.Context().get(), answer, &answered);
  EXPECT_TRUE(own.ok()) << own.error_message() << " " << own.error_code();

  daemon.process().Signal(SIGTERM);
  EXPECT_EQ(daemon.process().Wait(5s), 0);
  int exit_code = -1;
  std::string out = Earshotctl({"audit", "verify", audit}, &exit_code);
  EXPECT_EQ(exit_code, 0) << out;
  const std::string log = ReadAll(audit);
  EXPECT_THAT(log, HasSubstr("\"principal\":\"sip-a\",\"supervisor\":\"\",\"action\":\"pickup\""));
  EXPECT_THAT(log, HasSubstr("\"outcome\":\"denied\""));
  EXPECT_THAT(log, HasSubstr("\"principal\":\"lead\",\"supervisor\":\"\",\"action\":\"pickup\""));
  EXPECT_THAT(log, HasSubstr("\"action\":\"answer\""));
}

// A supervisor's keypad switches its mode in the worker (RFC 4733 digits,
// checked against the policy at attach); the switch is audited like SetMode.
TEST(EarshotdSecurityTest, KeypadModeSwitchIsAudited) {
  const std::string audit = Dir() + "keypad.audit";
  std::remove(audit.c_str());
  Daemon daemon({"--auth-tokens-file", TokensFile(), "--policy-file", Write("keypad_policy.yaml", std::string(kPolicy)),
                 "--audit-log", audit},
                41000);
  ASSERT_TRUE(daemon.ready()) << daemon.process().stderr_text();
  const Caller lead = TokenCaller(daemon, kLeadToken);
  ASSERT_TRUE(lead.CreateSession("k-sales", "sales").ok());
  int phone = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(phone, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
  socklen_t length = sizeof local;
  getsockname(phone, reinterpret_cast<sockaddr*>(&local), &length);
  v1::AttachRequest attach;
  attach.set_session_id("k-sales");
  attach.set_leg_id("sup-1");
  attach.set_mode(v1::MODE_LISTEN);
  attach.mutable_spec()->set_codec("PCMU");
  attach.mutable_spec()->set_dtmf_payload_type(101);
  attach.mutable_spec()->set_remote("127.0.0.1:" + std::to_string(ntohs(local.sin_port)));
  (*attach.mutable_dtmf_mode_switch())["3"] = v1::MODE_BARGE;
  v1::Leg leg;
  grpc::Status attached = v1::Supervision::NewStub(lead.channel)->Attach(lead.Context().get(), attach, &leg);
  ASSERT_TRUE(attached.ok()) << attached.error_message();
  sockaddr_in earshot{};
  earshot.sin_family = AF_INET;
  earshot.sin_port = htons(static_cast<uint16_t>(leg.local_port()));
  inet_pton(AF_INET, "127.0.0.1", &earshot.sin_addr);
  // Digit 3 for 200 ms: RFC 4733 packets every 20 ms, then three end packets.
  for (int i = 0; i < 13; ++i) {
    const bool end = i >= 10;
    const uint16_t duration = static_cast<uint16_t>(std::min(i + 1, 10) * 160);
    const uint16_t sequence = static_cast<uint16_t>(100 + i);
    uint8_t packet[16] = {0x80, static_cast<uint8_t>(101 | (i == 0 ? 0x80 : 0)),
                          static_cast<uint8_t>(sequence >> 8), static_cast<uint8_t>(sequence),
                          0, 0, 0x10, 0,  // timestamp fixed for the whole event
                          0, 0, 0x0B, 0x0B,
                          3, static_cast<uint8_t>((end ? 0x80 : 0) | 10),
                          static_cast<uint8_t>(duration >> 8), static_cast<uint8_t>(duration)};
    sendto(phone, packet, sizeof packet, 0, reinterpret_cast<sockaddr*>(&earshot), sizeof earshot);
    std::this_thread::sleep_for(20ms);
  }
  // The switch reaches the registry (and the audit log) through the worker's report.
  v1::Session session;
  for (int attempt = 0; attempt < 100; ++attempt) {
    ASSERT_TRUE(lead.GetSession("k-sales", &session).ok());
    if (session.legs_size() == 1 && session.legs(0).mode() == v1::MODE_BARGE) break;
    std::this_thread::sleep_for(20ms);
  }
  close(phone);
  ASSERT_EQ(session.legs_size(), 1);
  EXPECT_EQ(session.legs(0).mode(), v1::MODE_BARGE);
  daemon.process().Signal(SIGTERM);
  EXPECT_EQ(daemon.process().Wait(5s), 0);
  const std::string log = ReadAll(audit);
  EXPECT_THAT(log, HasSubstr("\"principal\":\"keypad\",\"supervisor\":\"lead\",\"action\":\"mode\""));
  EXPECT_THAT(log, HasSubstr("\"mode\":\"barge\""));
  int exit_code = -1;
  Earshotctl({"audit", "verify", audit}, &exit_code);
  EXPECT_EQ(exit_code, 0);
}

TEST(EarshotdSecurityTest, RefusesNonLoopbackAddressWithoutAuthentication) {
  RunResult run = RunToCompletion({EARSHOTD_PATH, "--metrics-listen", "127.0.0.1:0", "--grpc-listen", "0.0.0.0:0", "--rtp-ports", "47000-47999"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("refusing to listen for gRPC on 0.0.0.0:0"));
  EXPECT_THAT(run.err, HasSubstr("--auth-tokens-file"));
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1);
  RunResult with_tokens = RunToCompletion({EARSHOTD_PATH, "--metrics-listen", "127.0.0.1:0", "--grpc-listen", "0.0.0.0:0", "--auth-tokens-file",
                                           TokensFile(), "--check-config"});
  EXPECT_EQ(with_tokens.exit_code, 0) << with_tokens.err;
  RunResult bad_tokens = RunToCompletion({EARSHOTD_PATH, "--metrics-listen", "127.0.0.1:0", "--auth-tokens-file", Write("bad_tokens", "hunter2 bob\n"),
                                          "--check-config"});
  EXPECT_EQ(bad_tokens.exit_code, 2);
  EXPECT_THAT(bad_tokens.err, HasSubstr("bad_tokens:1"));
}

TEST(EarshotdSecurityTest, AuditChainSurvivesKillNineAndFindsAFlippedByte) {
  const std::string audit = Dir() + "kill.audit";
  std::remove(audit.c_str());
  const std::string tokens = TokensFile();
  const std::string policy = Write("policy_kill.yaml", std::string(kPolicy));
  std::vector<std::string> answered;  // the audit text each answered RPC must have left
  for (int round = 0; round < 5; ++round) {
    Daemon daemon({"--auth-tokens-file", tokens, "--policy-file", policy, "--audit-log", audit}, 48000);
    ASSERT_TRUE(daemon.ready()) << daemon.process().stderr_text();
    Caller sip = TokenCaller(daemon, kSipToken);
    const std::string session = "k" + std::to_string(round);
    ASSERT_TRUE(sip.CreateSession(session, "billing").ok());
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; !stop.load(); ++i) {
          const std::string leg = "l" + std::to_string(t) + "-" + std::to_string(i);
          const std::string where = "\"session\":\"" + session + "\",\"leg\":\"" + leg + "\"";
          grpc::Status attach = sip.Attach(session, leg, i % 3 == 2 ? v1::MODE_BARGE : v1::MODE_LISTEN);
          if (attach.ok() || attach.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
            std::lock_guard lock(mutex);
            answered.push_back("\"action\":\"attach\"," + where);
          }
          if (!attach.ok()) continue;
          if (sip.Detach(session, leg).ok()) {
            std::lock_guard lock(mutex);
            answered.push_back("\"action\":\"detach\"," + where);
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + 70 * round));
    daemon.process().Signal(SIGKILL);
    daemon.process().Wait(5s);
    stop.store(true);
    for (std::thread& thread : threads) thread.join();
  }
  // A last start cuts off a record torn by the last kill; then stop cleanly.
  {
    Daemon daemon({"--auth-tokens-file", tokens, "--policy-file", policy, "--audit-log", audit}, 48000);
    ASSERT_TRUE(daemon.ready()) << daemon.process().stderr_text();
    daemon.process().Signal(SIGTERM);
    EXPECT_EQ(daemon.process().Wait(5s), 0);
  }
  int exit_code = -1;
  std::string out = Earshotctl({"audit", "verify", audit}, &exit_code);
  EXPECT_EQ(exit_code, 0) << out;
  const std::string log = ReadAll(audit);
  EXPECT_GT(answered.size(), 20u);
  for (const std::string& record : answered) EXPECT_THAT(log, HasSubstr(record));
  std::printf("kill -9 rounds: %zu answered RPCs, all %zu lines chained\n", answered.size(),
              static_cast<size_t>(std::count(log.begin(), log.end(), '\n')));

  // Flip one byte in the 7th record: verify names it.
  size_t at = 0;
  for (int line = 1; line < 7; ++line) at = log.find('\n', at) + 1;
  std::string damaged = log;
  damaged[at + 40] = static_cast<char>(damaged[at + 40] ^ 0x20);
  const std::string damaged_path = Write("damaged.audit", damaged);
  std::string err;
  Earshotctl({"audit", "verify", damaged_path}, &exit_code, &err);
  EXPECT_EQ(exit_code, 1);
  EXPECT_THAT(err, HasSubstr("record 7 is bad"));
  EXPECT_THAT(err, HasSubstr("6 records before it verify"));
}

}  // namespace
}  // namespace earshot

#include "tools/earshotctl/command_line.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <functional>
#include <memory>
#include <set>
#include <fstream>
#include <sstream>
#include <tuple>
#include <utility>

#include "control/version.h"
#include "tools/earshotctl/arguments.h"
#include "tools/earshotctl/exit_codes.h"

namespace earshot::ctl {
namespace {

namespace v1 = earshot::v1;

// What a leg's endpoint options hold as typed, shared by `leg add` and `attach`.
struct LegSpecArgs {
  std::string codec;
  std::string payload_type;
  std::string remote;
  std::string ptime;
  std::string dtmf_payload_type;
  std::string direction;
  bool latch = false;
  bool no_rtcp_mux = false;
  bool aec = false;
  std::string aec_tail;
  bool ns = false;
  bool agc = false;
};

// SDES keying as typed, shared by `leg add`, `attach` and `leg update` (re-key).
struct SrtpArgs {
  std::string suite;
  std::string key;         // ours
  std::string remote_key;  // the far end's
  std::string replay_window;
};

// Every value any command takes, as typed. Only one command is parsed per run,
// so the commands share these fields.
struct Args {
  std::string address{kDefaultAddress};
  std::string token;
  std::string timeout = std::to_string(kDefaultTimeout.count());
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  bool json = false;

  std::string session;
  std::string leg;
  std::string rate;
  std::string tick;
  std::vector<std::string> labels;
  std::string role;
  LegSpecArgs spec;
  SrtpArgs srtp;
  std::string remote;     // leg update
  std::string direction;  // leg update
  bool latch = false;     // leg update
  bool no_latch = false;  // leg update
  std::string mode;
  bool beep = false;
  std::vector<std::string> gains;
  std::vector<std::string> dtmf_modes;  // attach: DIGIT=MODE
  std::string supervisor;               // attach: whom the caller acts for
  std::string after;
  std::string count;
  std::string duration;
  // Pickup (pickup.proto)
  std::string extension;              // extension set, pickup --extension
  std::vector<std::string> groups;    // extension set --group
  std::string group;                  // extension stats --group
  std::string ringing;                // session create --ringing
  std::string ringback;               // session create --ringback
  std::string by;                     // pickup --by
};

tl::unexpected<std::string> Invalid(std::string_view option, std::string_view why) {
  return tl::unexpected(fmt::format("{}: {}", option, why));
}

// Whether `text` can be sent as gRPC metadata (visible ASCII).
bool IsPrintableToken(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 127; });
}

std::string Footer() {
  return fmt::format(
      "Environment:\n"
      "  EARSHOT_ADDR   default for --addr\n"
      "  EARSHOT_TOKEN  default for --token (keeps the token out of the process list)\n"
      "\n"
      "Output: short lines for people; with --json one JSON value on stdout (events:\n"
      "one per line), with the API's snake_case field names and the command-line\n"
      "names for roles, modes, directions and event types.\n"
      "Errors: one line on stderr, e.g. \"earshotctl: NOT_FOUND: no session 'abc'\".\n"
      "\n"
      "{}\n",
      ExitCodeHelp());
}

constexpr const char* kCommandFooter =
    "Global options (--addr, --token, --json, --timeout) may stand here too;\n"
    "see earshotctl --help for them, the JSON output and the exit codes.";

class CommandLine {
 public:
  CommandLine();
  std::variant<Invocation, ParseExit> Parse(const std::vector<std::string>& args);

 private:
  using Builder = std::function<Parsed<Request>()>;

  CLI::App* AddCommand(CLI::App& parent, std::string name, std::string description, Builder build);
  void AddSessionPositional(CLI::App& command);
  void AddLegPositionals(CLI::App& command);
  void AddLegSpecOptions(CLI::App& command);
  void AddSrtpOptions(CLI::App& command);
  void AddBeepFlag(CLI::App& command);

  Parsed<v1::LegSpec> BuildLegSpec(v1::Role role) const;
  Parsed<std::optional<v1::SrtpSpec>> BuildSrtpSpec() const;
  Parsed<GlobalOptions> BuildGlobalOptions() const;
  Parsed<Request> BuildCreateSession() const;
  Parsed<Request> BuildAddLeg() const;
  Parsed<Request> BuildUpdateLeg() const;
  Parsed<Request> BuildAttach() const;
  Parsed<Request> BuildSetMode() const;
  Parsed<Request> BuildSetMatrix() const;
  Parsed<Request> BuildFollowEvents() const;
  void AddPickupCommands();
  Parsed<v1::LegSpec> BuildAnswerSpec() const;

  // "session create" for the deepest command the parser reached.
  std::string SelectedCommandPath() const;

  CLI::App app_;
  Args args_;
  std::vector<std::pair<CLI::App*, Builder>> builders_;
};

CommandLine::CommandLine()
    : app_("earshotctl: control an Earshot media engine (earshotd) over its gRPC API",
           "earshotctl") {
  app_.fallthrough();  // global options after the command too; inherited by every command
  app_.require_subcommand(1);
  app_.set_help_all_flag("--help-all", "Print help for every command and exit");
  app_.set_version_flag("--version", std::string(control::kVersion));
  app_.footer(Footer());
  app_.get_formatter()->column_width(34);
  app_.get_formatter()->label("SUBCOMMAND", "COMMAND");
  app_.get_formatter()->label("SUBCOMMANDS", "COMMANDS");

  app_.add_option("--addr", args_.address, "earshotd's gRPC address (default 127.0.0.1:50051)")
      ->envname("EARSHOT_ADDR")
      ->type_name("HOST:PORT");
  app_.add_option("--token", args_.token, "Send 'authorization: Bearer TOKEN' with every call")
      ->envname("EARSHOT_TOKEN")
      ->type_name("TOKEN");
  app_.add_option("--tls-ca", args_.tls_ca, "Talk TLS; the CA of earshotd's certificate (PEM)")
      ->envname("EARSHOT_TLS_CA")
      ->type_name("FILE");
  app_.add_option("--tls-cert", args_.tls_cert, "mTLS: this client's certificate (PEM)")
      ->envname("EARSHOT_TLS_CERT")
      ->type_name("FILE");
  app_.add_option("--tls-key", args_.tls_key, "mTLS: this client's private key (PEM)")
      ->envname("EARSHOT_TLS_KEY")
      ->type_name("FILE");
  app_.add_flag("--json", args_.json, "Print the answer as JSON for scripts");
  app_.add_option("--timeout", args_.timeout,
                  "Deadline of each call (default 5000; not for events)")
      ->type_name("MS");

  CLI::App* session =
      app_.add_subcommand("session", "Create, show, list and delete sessions (one per call)");
  session->footer(kCommandFooter);
  session->require_subcommand(1);
  CLI::App* create = AddCommand(
      *session, "create", "Create a session; repeating it with the same parameters is harmless",
      [this] { return BuildCreateSession(); });
  create->add_option("ID", args_.session, "Session id, typically the SIP Call-ID")
      ->required()
      ->type_name("");
  create->add_option("--rate", args_.rate, "Mixing rate in Hz (server default 8000)")
      ->type_name("8000|16000|48000");
  create->add_option("--tick", args_.tick, "Mixing tick in ms (server default 20)")
      ->type_name("10|20");
  create->add_option("--label", args_.labels, "A label, e.g. team:billing; repeat for more")
      ->type_name("KEY:VALUE")
      ->allow_extra_args(false);
  create->add_option("--ringing", args_.ringing,
                     "Create it ringing toward this extension (answer or pickup connects it)")
      ->type_name("EXT");
  create->add_option("--ringback", args_.ringback,
                     "What the caller hears while it rings (default us; needs --ringing)")
      ->type_name("us|eu|none|early-media");
  AddSessionPositional(
      *AddCommand(*session, "get", "Show a session and its legs", [this]() -> Parsed<Request> {
        v1::GetSessionRequest request;
        request.set_id(args_.session);
        return request;
      }));
  AddCommand(*session, "list", "List every session",
             []() -> Parsed<Request> { return v1::ListSessionsRequest(); });
  AddSessionPositional(*AddCommand(*session, "delete", "Delete a session and all of its legs",
                                   [this]() -> Parsed<Request> {
                                     v1::DeleteSessionRequest request;
                                     request.set_id(args_.session);
                                     return request;
                                   }));

  CLI::App* leg =
      app_.add_subcommand("leg", "Add, change and remove the legs of a session (one per endpoint)");
  leg->footer(kCommandFooter);
  leg->require_subcommand(1);
  CLI::App* add =
      AddCommand(*leg, "add", "Add a leg; prints Earshot's local RTP address for the SDP",
                 [this] { return BuildAddLeg(); });
  AddLegPositionals(*add);
  add->add_option("--role", args_.role, "Who the endpoint is")->type_name(RoleNames())->required();
  AddLegSpecOptions(*add);
  CLI::App* update =
      AddCommand(*leg, "update", "Change a leg's remote address, direction or latching",
                 [this] { return BuildUpdateLeg(); });
  AddLegPositionals(*update);
  update->add_option("--remote", args_.remote, "New far-end RTP address (restarts latching)")
      ->type_name("IP:PORT");
  update->add_option("--direction", args_.direction, "New SDP direction")
      ->type_name(DirectionNames());
  CLI::Option* latch = update->add_flag("--latch", args_.latch, "Start latching (symmetric RTP)");
  update->add_flag("--no-latch", args_.no_latch, "Stop latching")->excludes(latch);
  AddSrtpOptions(*update);
  AddLegPositionals(*AddCommand(*leg, "remove", "Remove a leg", [this]() -> Parsed<Request> {
    v1::RemoveLegRequest request;
    request.set_session_id(args_.session);
    request.set_leg_id(args_.leg);
    return request;
  }));

  CLI::App* attach = AddCommand(app_, "attach", "Attach a supervisor's leg to a session in a mode",
                                [this] { return BuildAttach(); });
  AddLegPositionals(*attach);
  attach->add_option("--mode", args_.mode, "What the supervisor does")
      ->type_name(ModeNames())
      ->required();
  AddLegSpecOptions(*attach);
  AddBeepFlag(*attach);
  attach->add_option("--supervisor", args_.supervisor,
                     "Act for this supervisor (the policy's 'supervisors'; default: yourself)")
      ->type_name("NAME");
  attach->add_option("--dtmf-mode", args_.dtmf_modes,
                     "The supervisor's keypad digit DIGIT switches it to MODE (needs --dtmf-pt); "
                     "repeat for more")
      ->type_name("DIGIT=MODE");

  CLI::App* mode = AddCommand(app_, "mode", "Switch an attached supervisor to another mode",
                              [this] { return BuildSetMode(); });
  AddLegPositionals(*mode);
  mode->add_option("MODE", args_.mode, ModeNames())->required()->type_name("");
  AddBeepFlag(*mode);

  AddLegPositionals(*AddCommand(app_, "detach", "Detach a supervisor and remove its leg",
                                [this]() -> Parsed<Request> {
                                  v1::DetachRequest request;
                                  request.set_session_id(args_.session);
                                  request.set_leg_id(args_.leg);
                                  return request;
                                }));

  CLI::App* matrix =
      AddCommand(app_, "matrix",
                 "Set who hears whom directly; unlisted pairs are silent until the next "
                 "mode change",
                 [this] { return BuildSetMatrix(); });
  AddSessionPositional(*matrix);
  matrix->add_option("--gain", args_.gains, "Leg DST hears leg SRC at GAIN (0..4); repeat for more")
      ->type_name("DST:SRC=GAIN")
      ->required();

  AddSessionPositional(*AddCommand(app_, "stats", "Show a session's media counters per leg",
                                   [this]() -> Parsed<Request> {
                                     v1::GetSessionStatsRequest request;
                                     request.set_session_id(args_.session);
                                     return request;
                                   }));
  AddCommand(app_, "health", "Show earshotd's version, dataplane and worker ticks",
             []() -> Parsed<Request> { return v1::GetStatusRequest(); });

  CLI::App* events =
      AddCommand(app_, "events",
                 "Follow session and leg events, one line each, until interrupted, --count "
                 "or --for",
                 [this] { return BuildFollowEvents(); });
  events
      ->add_option("--after", args_.after,
                   "Replay the kept events after this sequence number first")
      ->type_name("SEQ");
  events->add_option("--count", args_.count, "Stop after N events")->type_name("N");
  events->add_option("--for", args_.duration, "Stop after MS (--timeout does not apply to events)")
      ->type_name("MS");

  AddPickupCommands();

  // Help lists the commands under these headings, in definition order.
  for (CLI::App* command : app_.get_subcommands({})) {
    std::string name = command->get_name();
    command->group(name == "session" || name == "leg" || name == "extension" || name == "answer" ||
                           name == "pickup"                                  ? "Calls"
                   : name == "stats" || name == "health" || name == "events" ? "Status"
                                                                             : "Supervision");
    for (CLI::App* nested : command->get_subcommands({})) nested->group("Commands");
  }
}

CLI::App* CommandLine::AddCommand(CLI::App& parent, std::string name, std::string description,
                                  Builder build) {
  CLI::App* command = parent.add_subcommand(std::move(name), std::move(description));
  command->footer(kCommandFooter);
  builders_.emplace_back(command, std::move(build));
  return command;
}

void CommandLine::AddSessionPositional(CLI::App& command) {
  command.add_option("SESSION", args_.session, "Session id")->required()->type_name("");
}

void CommandLine::AddLegPositionals(CLI::App& command) {
  AddSessionPositional(command);
  command.add_option("LEG", args_.leg, "Leg id")->required()->type_name("");
}

void CommandLine::AddLegSpecOptions(CLI::App& command) {
  LegSpecArgs& spec = args_.spec;
  command.add_option("--codec", spec.codec, "Negotiated codec")
      ->type_name("PCMU|PCMA|L16/RATE|opus[/RATE]")
      ->required();
  command.add_option("--pt", spec.payload_type, "Negotiated RTP payload type")
      ->type_name("0..127")
      ->required();
  command.add_option("--remote", spec.remote, "Far end's RTP address from its SDP")
      ->type_name("IP:PORT");
  command.add_option("--ptime", spec.ptime, "Packet duration (default: the session's tick)")
      ->type_name("MS");
  command.add_flag("--latch", spec.latch, "Send to where the first valid RTP comes from");
  command.add_option("--dtmf-pt", spec.dtmf_payload_type, "RFC 4733 telephone-event payload type")
      ->type_name("1..127");
  command.add_flag("--no-rtcp-mux", spec.no_rtcp_mux,
                   "RTCP on the RTP port + 1 instead of rtcp-mux");
  command.add_option("--direction", spec.direction, "SDP direction (default sendrecv)")
      ->type_name(DirectionNames());
  command.add_flag("--aec", spec.aec, "Cancel the echo of what Earshot sends this leg (PSTN hybrids)");
  command.add_option("--aec-tail", spec.aec_tail, "Echo canceller tail (default 128)")
      ->type_name("16..512 MS");
  command.add_flag("--ns", spec.ns, "Suppress noise in what this leg sends");
  command.add_flag("--agc", spec.agc, "Automatic gain control of what this leg sends");
  AddSrtpOptions(command);
}

void CommandLine::AddSrtpOptions(CLI::App& command) {
  SrtpArgs& srtp = args_.srtp;
  command.add_option("--srtp", srtp.suite, "SRTP with SDES keys (RFC 4568): the crypto suite")
      ->type_name("AES_CM_128_HMAC_SHA1_80|AES_CM_128_HMAC_SHA1_32|AES_256_CM_HMAC_SHA1_80|"
                  "AEAD_AES_128_GCM|AEAD_AES_256_GCM");
  command.add_option("--srtp-key", srtp.key,
                     "Earshot's key for what it sends (default: Earshot makes one and prints it)")
      ->type_name("B64");
  command.add_option("--srtp-remote-key", srtp.remote_key,
                     "The far end's key for what Earshot receives (its a=crypto inline:)")
      ->type_name("B64");
  command.add_option("--srtp-replay-window", srtp.replay_window, "SRTP replay window (default 128)")
      ->type_name("64..32767");
}

Parsed<std::optional<v1::SrtpSpec>> CommandLine::BuildSrtpSpec() const {
  const SrtpArgs& args = args_.srtp;
  if (args.suite.empty()) {
    if (!args.key.empty() || !args.remote_key.empty() || !args.replay_window.empty()) {
      return Invalid("--srtp", "give the crypto suite with the SRTP keys");
    }
    return std::optional<v1::SrtpSpec>();
  }
  v1::SrtpSpec spec;
  std::string suite = args.suite;
  std::transform(suite.begin(), suite.end(), suite.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  spec.set_suite(suite);
  spec.set_local_key(args.key);
  spec.set_remote_key(args.remote_key);
  if (!args.replay_window.empty()) {
    Parsed<uint32_t> window = ParseNumber(args.replay_window, 64, 32767);
    if (!window) return Invalid("--srtp-replay-window", window.error());
    spec.set_replay_window(*window);
  }
  return std::optional<v1::SrtpSpec>(std::move(spec));
}

void CommandLine::AddBeepFlag(CLI::App& command) {
  command.add_flag("--beep", args_.beep,
                   "Play the join beep to those who will now hear the supervisor");
}

Parsed<GlobalOptions> CommandLine::BuildGlobalOptions() const {
  GlobalOptions options;
  if (args_.address.empty()) return Invalid("--addr", "must not be empty");
  options.address = args_.address;
  if (!IsPrintableToken(args_.token)) {
    return Invalid("--token", "may hold only visible ASCII characters");
  }
  options.token = args_.token;
  Parsed<uint32_t> timeout = ParseNumber(args_.timeout, 1, 3'600'000);
  if (!timeout) return Invalid("--timeout", timeout.error());
  options.timeout = std::chrono::milliseconds(*timeout);
  options.json = args_.json;
  if (args_.tls_cert.empty() != args_.tls_key.empty()) {
    return Invalid(args_.tls_cert.empty() ? "--tls-key" : "--tls-cert", "give --tls-cert and --tls-key together");
  }
  if (!args_.tls_cert.empty() && args_.tls_ca.empty()) return Invalid("--tls-cert", "goes with --tls-ca");
  for (auto [flag, path, pem] : {std::tuple{"--tls-ca", &args_.tls_ca, &options.tls_ca_pem},
                                 std::tuple{"--tls-cert", &args_.tls_cert, &options.tls_cert_pem},
                                 std::tuple{"--tls-key", &args_.tls_key, &options.tls_key_pem}}) {
    if (path->empty()) continue;
    std::ifstream file(*path);
    std::ostringstream text;
    text << file.rdbuf();
    if (!file || text.str().empty()) return Invalid(flag, fmt::format("cannot read '{}'", *path));
    *pem = text.str();
  }
  return options;
}

Parsed<Request> CommandLine::BuildCreateSession() const {
  v1::CreateSessionRequest request;
  request.set_id(args_.session);
  if (!args_.rate.empty()) {
    Parsed<uint32_t> rate = ParseChoice(args_.rate, {8000, 16000, 48000});
    if (!rate) return Invalid("--rate", rate.error());
    request.set_rate(*rate);
  }
  if (!args_.tick.empty()) {
    Parsed<uint32_t> tick = ParseChoice(args_.tick, {10, 20});
    if (!tick) return Invalid("--tick", tick.error());
    request.set_tick_ms(*tick);
  }
  for (const std::string& text : args_.labels) {
    Parsed<std::pair<std::string, std::string>> label = ParseLabel(text);
    if (!label) return Invalid("--label", label.error());
    if (request.labels().contains(label->first)) {
      return Invalid("--label", fmt::format("key '{}' is given twice", label->first));
    }
    (*request.mutable_labels())[label->first] = label->second;
  }
  if (args_.ringing.empty()) {
    if (!args_.ringback.empty()) return Invalid("--ringback", "needs --ringing");
    return request;
  }
  v1::RingRequest ring;
  *ring.mutable_session() = std::move(request);
  ring.set_extension(args_.ringing);
  static constexpr std::pair<std::string_view, v1::Ringback> kRingbacks[] = {
      {"us", v1::RINGBACK_US}, {"eu", v1::RINGBACK_EU}, {"none", v1::RINGBACK_NONE},
      {"early-media", v1::RINGBACK_EARLY_MEDIA}};
  ring.set_ringback(v1::RINGBACK_US);
  if (!args_.ringback.empty()) {
    auto it = std::find_if(std::begin(kRingbacks), std::end(kRingbacks),
                           [&](const auto& entry) { return entry.first == args_.ringback; });
    if (it == std::end(kRingbacks)) return Invalid("--ringback", "expected us, eu, none or early-media");
    ring.set_ringback(it->second);
  }
  return ring;
}

void CommandLine::AddPickupCommands() {
  CLI::App* extension = app_.add_subcommand(
      "extension", "Set and list extensions, their pickup groups and BLF states; group figures");
  extension->footer(kCommandFooter);
  extension->require_subcommand(1);
  CLI::App* set = AddCommand(*extension, "set", "Create or change an extension and its pickup groups",
                             [this]() -> Parsed<Request> {
                               v1::SetExtensionRequest request;
                               request.set_extension(args_.extension);
                               for (const std::string& group : args_.groups) request.add_groups(group);
                               return request;
                             });
  set->add_option("EXT", args_.extension, "Extension")->required()->type_name("");
  set->add_option("--group", args_.groups, "A pickup group it is in; repeat for more")
      ->type_name("GROUP")
      ->allow_extra_args(false);
  AddCommand(*extension, "list", "List the extensions with their groups and states",
             []() -> Parsed<Request> { return v1::ListExtensionsRequest(); });
  AddCommand(*extension, "stats",
             "Per pickup group: answered, pickups, abandoned, ringing, ring time",
             [this]() -> Parsed<Request> {
               v1::GetPickupStatsRequest request;
               request.set_group(args_.group);
               return request;
             })
      ->add_option("--group", args_.group, "Only this group")
      ->type_name("GROUP");

  CLI::App* answer = AddCommand(app_, "answer",
                                "The called extension answers a ringing session with a new leg",
                                [this]() -> Parsed<Request> {
                                  Parsed<v1::LegSpec> spec = BuildAnswerSpec();
                                  if (!spec) return tl::unexpected(spec.error());
                                  v1::AnswerRequest request;
                                  request.set_session_id(args_.session);
                                  request.set_leg_id(args_.leg);
                                  *request.mutable_spec() = std::move(*spec);
                                  return request;
                                });
  AddLegPositionals(*answer);
  answer->add_option("--role", args_.role, "Who the answering endpoint is (default agent)")
      ->type_name(RoleNames());
  AddLegSpecOptions(*answer);

  CLI::App* pickup = AddCommand(
      app_, "pickup",
      "Pick up a ringing call with a new leg: directed (--extension) or the oldest in --by's groups",
      [this]() -> Parsed<Request> {
        Parsed<v1::LegSpec> spec = BuildAnswerSpec();
        if (!spec) return tl::unexpected(spec.error());
        v1::PickupCallRequest request;
        request.set_by_extension(args_.by);
        request.set_extension(args_.extension);
        request.set_leg_id(args_.leg);
        *request.mutable_spec() = std::move(*spec);
        return request;
      });
  pickup->add_option("LEG", args_.leg, "Leg id of the picking endpoint")->required()->type_name("");
  pickup->add_option("--by", args_.by, "The extension that picks up")->required()->type_name("EXT");
  pickup->add_option("--extension", args_.extension,
                     "Directed pickup of the call ringing here (default: group pickup)")
      ->type_name("EXT");
  pickup->add_option("--role", args_.role, "Who the picking endpoint is (default agent)")
      ->type_name(RoleNames());
  AddLegSpecOptions(*pickup);
}

Parsed<v1::LegSpec> CommandLine::BuildAnswerSpec() const {
  v1::Role role = v1::ROLE_AGENT;
  if (!args_.role.empty()) {
    Parsed<v1::Role> parsed = ParseRole(args_.role);
    if (!parsed) return Invalid("--role", parsed.error());
    role = *parsed;
  }
  return BuildLegSpec(role);
}

Parsed<v1::LegSpec> CommandLine::BuildLegSpec(v1::Role role) const {
  const LegSpecArgs& args = args_.spec;
  v1::LegSpec spec;
  spec.set_role(role);
  Parsed<std::string> codec = ParseCodec(args.codec);
  if (!codec) return Invalid("--codec", codec.error());
  spec.set_codec(*codec);
  Parsed<uint32_t> payload_type = ParseNumber(args.payload_type, 0, 127);
  if (!payload_type) return Invalid("--pt", payload_type.error());
  spec.set_payload_type(*payload_type);
  if (!args.remote.empty()) {
    Parsed<std::string> remote = ParseEndpoint(args.remote);
    if (!remote) return Invalid("--remote", remote.error());
    spec.set_remote(*remote);
  }
  if (!args.ptime.empty()) {
    Parsed<uint32_t> ptime = ParseNumber(args.ptime, 1, 200);
    if (!ptime) return Invalid("--ptime", ptime.error());
    spec.set_ptime_ms(*ptime);
  }
  spec.set_latch(args.latch);
  if (!args.dtmf_payload_type.empty()) {
    Parsed<uint32_t> dtmf = ParseNumber(args.dtmf_payload_type, 1, 127);
    if (!dtmf) return Invalid("--dtmf-pt", dtmf.error());
    if (*dtmf == *payload_type) {
      return Invalid("--dtmf-pt",
                     fmt::format("{} is already the audio payload type (--pt)", *dtmf));
    }
    spec.set_dtmf_payload_type(*dtmf);
  }
  spec.set_no_rtcp_mux(args.no_rtcp_mux);
  if (!args.direction.empty()) {
    Parsed<v1::Direction> direction = ParseDirection(args.direction);
    if (!direction) return Invalid("--direction", direction.error());
    spec.set_direction(*direction);
  }
  Parsed<std::optional<v1::SrtpSpec>> srtp = BuildSrtpSpec();
  if (!srtp) return tl::unexpected(srtp.error());
  if (*srtp) *spec.mutable_srtp() = std::move(**srtp);
  if (!args.aec_tail.empty() && !args.aec) return Invalid("--aec-tail", "goes with --aec");
  if (args.aec || args.ns || args.agc) {
    v1::VoiceProcessing& voice = *spec.mutable_voice();
    voice.set_echo_cancel(args.aec);
    if (!args.aec_tail.empty()) {
      Parsed<uint32_t> tail = ParseNumber(args.aec_tail, 16, 512);
      if (!tail) return Invalid("--aec-tail", tail.error());
      voice.set_echo_tail_ms(*tail);
    }
    voice.set_noise_suppress(args.ns);
    voice.set_agc(args.agc);
  }
  return spec;
}

Parsed<Request> CommandLine::BuildAddLeg() const {
  Parsed<v1::Role> role = ParseRole(args_.role);
  if (!role) return Invalid("--role", role.error());
  Parsed<v1::LegSpec> spec = BuildLegSpec(*role);
  if (!spec) return tl::unexpected(spec.error());
  v1::AddLegRequest request;
  request.set_session_id(args_.session);
  request.set_leg_id(args_.leg);
  *request.mutable_spec() = std::move(*spec);
  return request;
}

Parsed<Request> CommandLine::BuildUpdateLeg() const {
  v1::UpdateLegRequest request;
  request.set_session_id(args_.session);
  request.set_leg_id(args_.leg);
  Parsed<std::optional<v1::SrtpSpec>> srtp = BuildSrtpSpec();
  if (!srtp) return tl::unexpected(srtp.error());
  if (args_.remote.empty() && args_.direction.empty() && !args_.latch && !args_.no_latch && !*srtp) {
    return tl::unexpected(std::string(
        "leg update: nothing to change; give --remote, --direction, --latch, --no-latch or --srtp"));
  }
  if (*srtp) *request.mutable_srtp() = std::move(**srtp);
  if (!args_.remote.empty()) {
    Parsed<std::string> remote = ParseEndpoint(args_.remote);
    if (!remote) return Invalid("--remote", remote.error());
    request.set_remote(*remote);
  }
  if (!args_.direction.empty()) {
    Parsed<v1::Direction> direction = ParseDirection(args_.direction);
    if (!direction) return Invalid("--direction", direction.error());
    request.set_direction(*direction);
  }
  if (args_.latch || args_.no_latch) request.set_latch(args_.latch);
  return request;
}

Parsed<Request> CommandLine::BuildAttach() const {
  Parsed<v1::Mode> mode = ParseMode(args_.mode);
  if (!mode) return Invalid("--mode", mode.error());
  Parsed<v1::LegSpec> spec = BuildLegSpec(v1::ROLE_SUPERVISOR);
  if (!spec) return tl::unexpected(spec.error());
  v1::AttachRequest request;
  request.set_session_id(args_.session);
  request.set_leg_id(args_.leg);
  *request.mutable_spec() = std::move(*spec);
  request.set_mode(*mode);
  request.set_beep(args_.beep);
  request.set_supervisor(args_.supervisor);
  for (const std::string& entry : args_.dtmf_modes) {
    const size_t equals = entry.find('=');
    const std::string digit = entry.substr(0, equals);
    if (equals == std::string::npos || digit.size() != 1 ||
        std::string_view("0123456789*#ABCDabcd").find(digit[0]) == std::string_view::npos) {
      return Invalid("--dtmf-mode", fmt::format("'{}' is not DIGIT=MODE with a DTMF key (0-9, *, #, A-D)", entry));
    }
    Parsed<v1::Mode> switch_to = ParseMode(entry.substr(equals + 1));
    if (!switch_to) return Invalid("--dtmf-mode", switch_to.error());
    if (request.spec().dtmf_payload_type() == 0) return Invalid("--dtmf-mode", "needs --dtmf-pt");
    (*request.mutable_dtmf_mode_switch())[digit] = *switch_to;
  }
  return request;
}

Parsed<Request> CommandLine::BuildSetMode() const {
  Parsed<v1::Mode> mode = ParseMode(args_.mode);
  if (!mode) return Invalid("MODE", mode.error());
  v1::SetModeRequest request;
  request.set_session_id(args_.session);
  request.set_leg_id(args_.leg);
  request.set_mode(*mode);
  request.set_beep(args_.beep);
  return request;
}

Parsed<Request> CommandLine::BuildSetMatrix() const {
  v1::SetMatrixRequest request;
  request.set_session_id(args_.session);
  std::set<std::pair<std::string, std::string>> pairs;
  for (const std::string& text : args_.gains) {
    Parsed<v1::Gain> gain = ParseGain(text);
    if (!gain) return Invalid("--gain", gain.error());
    if (!pairs.emplace(gain->dst_leg_id(), gain->src_leg_id()).second) {
      return Invalid("--gain",
                     fmt::format("'{}:{}' is given twice", gain->dst_leg_id(), gain->src_leg_id()));
    }
    *request.add_gains() = std::move(*gain);
  }
  return request;
}

Parsed<Request> CommandLine::BuildFollowEvents() const {
  FollowEvents follow;
  if (!args_.after.empty()) {
    Parsed<uint64_t> after = ParseNumber64(args_.after, 0, UINT64_MAX);
    if (!after) return Invalid("--after", after.error());
    follow.request.set_after_sequence(*after);
  }
  if (!args_.count.empty()) {
    Parsed<uint64_t> count = ParseNumber64(args_.count, 1, UINT64_MAX);
    if (!count) return Invalid("--count", count.error());
    follow.count = *count;
  }
  if (!args_.duration.empty()) {
    Parsed<uint32_t> duration = ParseNumber(args_.duration, 1, UINT32_MAX);
    if (!duration) return Invalid("--for", duration.error());
    follow.duration = std::chrono::milliseconds(*duration);
  }
  return follow;
}

std::string CommandLine::SelectedCommandPath() const {
  std::string path;
  const CLI::App* current = &app_;
  while (!current->get_subcommands().empty()) {
    current = current->get_subcommands().front();
    if (!path.empty()) path += ' ';
    path += current->get_name();
  }
  return path;
}

std::variant<Invocation, ParseExit> CommandLine::Parse(const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"earshotctl"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  std::string path;
  auto usage_error = [&path](std::string_view message) {
    std::string hint =
        path.empty() ? "earshotctl --help" : fmt::format("earshotctl {} --help", path);
    return ParseExit{kExitUsage, "", ErrorLine(fmt::format("{} (see {})", message, hint))};
  };
  try {
    app_.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    std::ostringstream out;
    std::ostringstream err;
    int code = app_.exit(e, out, err);
    return ParseExit{code, out.str(), err.str()};
  } catch (const CLI::ParseError& e) {
    path = SelectedCommandPath();
    // CLI11 calls commands subcommands; say what the help says.
    if (std::string_view(e.what()) == "A subcommand is required") {
      std::vector<std::string> unknown = app_.remaining(/*recurse=*/true);
      if (!unknown.empty())
        return usage_error(fmt::format("unknown command '{}'", unknown.front()));
      return usage_error("a command is required");
    }
    return usage_error(e.what());
  }
  path = SelectedCommandPath();

  const CLI::App* leaf = &app_;
  while (!leaf->get_subcommands().empty()) leaf = leaf->get_subcommands().front();
  auto builder = std::find_if(builders_.begin(), builders_.end(),
                              [leaf](const auto& entry) { return entry.first == leaf; });
  if (builder == builders_.end()) return usage_error("a command is required");
  // Positionals are required, but CLI11 takes "" as given.
  for (auto [name, value] : {std::pair{"ID", &args_.session}, std::pair{"SESSION", &args_.session},
                             std::pair{"LEG", &args_.leg}}) {
    if (leaf->get_option_no_throw(name) != nullptr && value->empty()) {
      return usage_error(fmt::format("{} must not be empty", name));
    }
  }

  Parsed<GlobalOptions> options = BuildGlobalOptions();
  if (!options) return usage_error(options.error());
  Parsed<Request> request = builder->second();
  if (!request) return usage_error(request.error());
  return Invocation{*options, std::move(*request)};
}

}  // namespace

std::variant<Invocation, ParseExit> ParseCommandLine(const std::vector<std::string>& args) {
  CommandLine command_line;
  return command_line.Parse(args);
}

}  // namespace earshot::ctl

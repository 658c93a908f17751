#include "tools/load/load_options.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "tools/load/load_churn.h"

namespace earshot::load {
namespace {

std::string Upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

// "LOW-HIGH" with 1024 <= LOW <= HIGH <= 65535.
bool ParsePortRange(const std::string& text, uint16_t& low, uint16_t& high) {
  unsigned long a = 0;
  unsigned long b = 0;
  char dash = 0;
  std::istringstream in(text);
  if (!(in >> a >> dash >> b) || dash != '-' || !in.eof()) return false;
  if (a < 1024 || b > 65535 || a > b) return false;
  low = static_cast<uint16_t>(a);
  high = static_cast<uint16_t>(b);
  return true;
}

}  // namespace

CodecInfo GetCodecInfo(LoadCodec codec) {
  switch (codec) {
    case LoadCodec::kPcmu: return {"PCMU", 0, 8000, 8000, false};
    case LoadCodec::kPcma: return {"PCMA", 8, 8000, 8000, false};
    case LoadCodec::kOpus8: return {"opus/8000", kOpusPayloadType, 8000, 48000, true};
    case LoadCodec::kOpus16: return {"opus/16000", kOpusPayloadType, 16000, 48000, true};
    case LoadCodec::kOpus48: return {"opus/48000", kOpusPayloadType, 48000, 48000, true};
  }
  return {"PCMU", 0, 8000, 8000, false};
}

Result<LoadCodec> ParseLoadCodec(std::string_view name) {
  const std::string upper = Upper(name);
  if (upper == "PCMU") return LoadCodec::kPcmu;
  if (upper == "PCMA") return LoadCodec::kPcma;
  if (upper == "OPUS/8000") return LoadCodec::kOpus8;
  if (upper == "OPUS/16000") return LoadCodec::kOpus16;
  if (upper == "OPUS/48000") return LoadCodec::kOpus48;
  if (upper.rfind("OPUS", 0) == 0) {
    return InvalidArgument(fmt::format(
        "codec '{}': Opus is named with its internal rate, one of opus/8000, opus/16000 or opus/48000", name));
  }
  return InvalidArgument(fmt::format(
      "unknown codec '{}'; earshot-load supports PCMU, PCMA, opus/8000, opus/16000 and opus/48000", name));
}

int LoadOptions::churn_slots() const { return ChurnSlotCount(churn_cps, churn_hold_s); }

bool LoadOptions::AllG711() const {
  return std::none_of(codecs.begin(), codecs.end(), [](LoadCodec c) { return GetCodecInfo(c).opus; });
}

std::string LoadOptions::CodecLabel() const {
  if (codecs[0] == codecs[1] && codecs[1] == codecs[2]) return std::string(GetCodecInfo(codecs[0]).name);
  return fmt::format("customer={},agent={},supervisor={}", GetCodecInfo(codecs[0]).name,
                     GetCodecInfo(codecs[1]).name, GetCodecInfo(codecs[2]).name);
}

Result<ModeChoice> ParseModeChoice(std::string_view name) {
  if (name == "listen") return ModeChoice::kListen;
  if (name == "whisper") return ModeChoice::kWhisper;
  if (name == "whisper-customer") return ModeChoice::kWhisperCustomer;
  if (name == "barge") return ModeChoice::kBarge;
  if (name == "mix") return ModeChoice::kMix;
  return InvalidArgument(
      fmt::format("unknown mode '{}'; use listen, whisper, whisper-customer, barge or mix", name));
}

SupervisorMode InitialMode(ModeChoice choice, int call, int supervisor, int supervisors_per_call) {
  switch (choice) {
    case ModeChoice::kListen: return SupervisorMode::kListen;
    case ModeChoice::kWhisper: return SupervisorMode::kWhisper;
    case ModeChoice::kWhisperCustomer: return SupervisorMode::kWhisperCustomer;
    case ModeChoice::kBarge: return SupervisorMode::kBarge;
    case ModeChoice::kMix: break;
  }
  constexpr SupervisorMode kRound[] = {SupervisorMode::kListen, SupervisorMode::kWhisper,
                                       SupervisorMode::kBarge};
  const int index = call * supervisors_per_call + supervisor;
  return kRound[index % 3];
}

ParsedOptions ParseLoadOptions(const std::vector<std::string>& args) {
  LoadOptions options;
  CLI::App app{
      "earshot-load: offers N supervised calls to a running earshotd through its gRPC API, drives\n"
      "every leg's RTP with a tone per party, and checks that every party hears exactly whom it\n"
      "must (PRODUCT.md), with loss, jitter and mouth-to-ear latency.\n"
      "Exit: 0 clean, 1 semantic errors/loss/failed RPCs, 2 bad flags, 3 earshotd unreachable.",
      "earshot-load"};
  std::string codec = "PCMU";
  std::string mode = "barge";
  std::string local_ports = "40000-59999";
  app.add_option("--addr", options.address, "earshotd's gRPC address, HOST:PORT")
      ->capture_default_str();
  app.add_option("--calls", options.calls, "number of calls")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--cps", options.cps, "calls set up per second (ramp)")
      ->check(CLI::Range(0.1, 10000.0))
      ->capture_default_str();
  app.add_option("--supervisors", options.supervisors, "supervisor legs per call")
      ->check(CLI::Range(1, kMaxSupervisors))
      ->capture_default_str();
  app.add_option("--mode", mode,
                 "supervisor mode: listen, whisper, whisper-customer, barge, or mix (round robin "
                 "over listen, whisper, barge)")
      ->capture_default_str();
  app.add_option("--codec", codec,
                 "codec of every leg: PCMU, PCMA, opus/8000, opus/16000 or opus/48000 (Opus: the "
                 "internal rate; RTP clock 48000, payload type 111)")
      ->capture_default_str();
  std::array<std::string, kCodecRoles> role_codecs;
  const std::array<CLI::Option*, kCodecRoles> role_flags = {
      app.add_option("--customer-codec", role_codecs[0], "the customer leg's codec (default: --codec)"),
      app.add_option("--agent-codec", role_codecs[1], "the agent leg's codec (default: --codec)"),
      app.add_option("--supervisor-codec", role_codecs[2], "every supervisor leg's codec (default: --codec)")};
  int session_rate = -1;  // unset
  app.add_option("--session-rate", session_rate,
                 "the sessions' mixing rate in Hz, 8000, 16000 or 48000 (default: 8000 when every leg "
                 "is G.711, else 48000)");
  std::string srtp;
  app.add_option("--srtp", srtp,
                 "SRTP on every leg with this SDES crypto suite (e.g. AES_CM_128_HMAC_SHA1_80, "
                 "AEAD_AES_128_GCM); default plain RTP");
  app.add_option("--ptime", options.ptime_ms, "packet time in ms (only 20 for now)")
      ->check(CLI::IsMember({20}))
      ->capture_default_str();
  app.add_option("--duration", options.duration_s,
                 "seconds of steady load once every call is up")
      ->check(CLI::Range(0.5, 86400.0))
      ->capture_default_str();
  app.add_option("--mode-changes-per-s", options.mode_changes_per_s,
                 "supervisor mode changes per second on random calls during the steady part")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  app.add_option("--churn-cps", options.churn_cps,
                 "call churn: while the steady calls are up, extra calls set up and deleted at this "
                 "rate (0: none); each has real RTP on every leg and is judged like the others")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  app.add_option("--churn-hold", options.churn_hold_s,
                 "seconds each churn call stays up (about churn-cps x churn-hold extra calls are up)")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--local-ports", local_ports,
                 "the phones' local RTP ports LOW-HIGH (ports in use are skipped)")
      ->capture_default_str();
  app.add_option("--run-id", options.run_id, "session ids are load-RUN-I (default: from the clock)");
  app.add_option("--rpc-timeout-ms", options.rpc_timeout_ms, "deadline of each RPC")
      ->check(CLI::Range(100, 600000))
      ->capture_default_str();
  app.add_option("--warmup-ms", options.warmup_ms,
                 "after a call is up, ms before its audio is judged (jitter buffer start; at least "
                 "1200 when a leg is on Opus, whose coders take that long to settle on tones)")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  app.add_option("--seed", options.seed, "seed of the random mode changes")->capture_default_str();
  app.add_flag("--json", options.json, "print the report as one JSON object on stdout");
  app.add_flag("--quiet", options.quiet, "no progress line on stderr");

  std::vector<const char*> argv = {"earshot-load"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  ParsedOptions parsed;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::Success& e) {
    std::ostringstream out;
    std::ostringstream err;
    parsed.exit_code = app.exit(e, out, err);
    parsed.message = out.str();
    return parsed;
  } catch (const CLI::ParseError& e) {
    parsed.exit_code = kExitBadFlags;
    parsed.message = fmt::format("earshot-load: {} (see earshot-load --help)\n", e.what());
    return parsed;
  }
  auto bad = [&parsed](const std::string& message) {
    parsed.exit_code = kExitBadFlags;
    parsed.message = fmt::format("earshot-load: {} (see earshot-load --help)\n", message);
    return parsed;
  };
  Result<LoadCodec> parsed_codec = ParseLoadCodec(codec);
  if (!parsed_codec) return bad("--codec: " + parsed_codec.error().message);
  for (size_t role = 0; role < role_codecs.size(); ++role) {
    options.codecs[role] = *parsed_codec;
    if (role_flags[role]->count() == 0) continue;
    Result<LoadCodec> role_codec = ParseLoadCodec(role_codecs[role]);
    if (!role_codec) {
      return bad(fmt::format("{}: {}", role_flags[role]->get_name(), role_codec.error().message));
    }
    options.codecs[role] = *role_codec;
  }
  if (session_rate == -1) {
    options.session_rate_hz = options.AllG711() ? 8000 : 48000;
  } else if (session_rate == 8000 || session_rate == 16000 || session_rate == 48000) {
    options.session_rate_hz = session_rate;
  } else {
    return bad(fmt::format("invalid --session-rate {}: use 8000, 16000 or 48000", session_rate));
  }
  if (!srtp.empty()) {
    Result<dataplane::SrtpSuite> suite = dataplane::ParseSrtpSuite(srtp);
    if (!suite) return bad("--srtp: " + suite.error().message);
    options.srtp = *suite;
  }
  Result<ModeChoice> parsed_mode = ParseModeChoice(mode);
  if (!parsed_mode) return bad(parsed_mode.error().message);
  options.mode = *parsed_mode;
  if (!ParsePortRange(local_ports, options.local_port_low, options.local_port_high)) {
    return bad(fmt::format("invalid --local-ports '{}': want LOW-HIGH within 1024-65535", local_ports));
  }
  if (options.churn_cps > 0.0) {
    if (options.churn_hold_s * 1000.0 <= options.warmup_ms) {
      return bad(fmt::format("--churn-hold {} s is not longer than --warmup-ms {}: churn calls would never be judged",
                             options.churn_hold_s, options.warmup_ms));
    }
    if (options.churn_hold_s + 1.0 > options.duration_s) {
      return bad(fmt::format("--churn-hold {} s leaves no churn in --duration {} s (want hold + 1 s at most)",
                             options.churn_hold_s, options.duration_s));
    }
  }
  const long legs = static_cast<long>(options.driver_calls()) * (kFirstSupervisor + options.supervisors);
  if (legs > options.local_port_high - options.local_port_low + 1) {
    return bad(fmt::format("{} legs ({} calls and {} churn slots) need more ports than --local-ports {} has",
                           legs, options.calls, options.churn_slots(), local_ports));
  }
  parsed.options = options;
  return parsed;
}

}  // namespace earshot::load

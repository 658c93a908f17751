#pragma once
// earshot-load's command line: what load to offer and where (see load_main.cc
// for the run itself). Parsing is separate from running so that tests can check
// every refusal without a server.
//
// Exit codes (shared with load_main.cc): 0 the run was clean, 1 semantic
// errors, loss or failed RPCs, 2 bad flags, 3 earshotd unreachable.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/result.h"
#include "dataplane/srtp_key.h"
#include "tools/load/load_call_plan.h"

namespace earshot::load {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitBadFlags = 2;
inline constexpr int kExitUnreachable = 3;

// The codec of every leg. Only G.711 for now; Opus (8/16/48 kHz) needs an encoder
// per leg and a decoder per received stream and gets its own value here.
enum class LoadCodec { kPcmu, kPcma };

struct CodecInfo {
  std::string_view name;  // as the API spells it
  uint32_t payload_type;
  int sample_rate_hz;
};

CodecInfo GetCodecInfo(LoadCodec codec);
// "PCMU"/"PCMA" (any case); anything else is refused with a message naming what
// is supported.
[[nodiscard]] Result<LoadCodec> ParseLoadCodec(std::string_view name);

// --mode: one mode for every supervisor, or kMix (round robin over listen,
// whisper, barge by supervisor number across calls).
enum class ModeChoice { kListen, kWhisper, kWhisperCustomer, kBarge, kMix };
[[nodiscard]] Result<ModeChoice> ParseModeChoice(std::string_view name);

struct LoadOptions {
  std::string address = "127.0.0.1:50051";
  int calls = 10;
  double cps = 100.0;
  int supervisors = 1;
  ModeChoice mode = ModeChoice::kBarge;
  LoadCodec codec = LoadCodec::kPcmu;
  // SRTP on every leg (SDES keys through the API); unset: plain RTP.
  std::optional<dataplane::SrtpSuite> srtp;
  int ptime_ms = 20;
  double duration_s = 10.0;
  double mode_changes_per_s = 0.0;
  // Local RTP ports of the simulated phones: tried from low to high, ports in
  // use are skipped. Kept apart from earshotd's default 30000-39999.
  uint16_t local_port_low = 40000;
  uint16_t local_port_high = 59999;
  std::string run_id;  // empty: derived from the clock
  bool json = false;
  bool quiet = false;  // no progress line
  int rpc_timeout_ms = 5000;
  int warmup_ms = 400;
  uint32_t seed = 1;
};

struct ParsedOptions {
  std::optional<LoadOptions> options;  // empty: exit with `exit_code`
  int exit_code = kExitOk;
  std::string message;  // help text or the error, for the caller to print
};

ParsedOptions ParseLoadOptions(const std::vector<std::string>& args);

// The mode of supervisor `supervisor` of call `call` at the start of the run.
SupervisorMode InitialMode(ModeChoice choice, int call, int supervisor, int supervisors_per_call);

}  // namespace earshot::load

#pragma once
// earshot-load's command line: what load to offer and where (see load_main.cc
// for the run itself). Parsing is separate from running so that tests can check
// every refusal without a server.
//
// Exit codes (shared with load_main.cc): 0 the run was clean, 1 semantic
// errors, loss or failed RPCs, 2 bad flags, 3 earshotd unreachable.

#include <array>
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

// The codec of a leg (the same both ways). Opus is named by its internal rate as
// the API does (control/codec_factory.cc); its RTP clock is 48000 whatever that
// rate (RFC 7587), with a dynamic payload type.
enum class LoadCodec { kPcmu, kPcma, kOpus8, kOpus16, kOpus48 };

inline constexpr uint32_t kOpusPayloadType = 111;

struct CodecInfo {
  std::string_view name;  // as the API spells it
  uint32_t payload_type;
  int sample_rate_hz;     // the codec's internal rate
  int rtp_clock_hz;       // what the RTP timestamp counts
  bool opus;
};

CodecInfo GetCodecInfo(LoadCodec codec);
// "PCMU", "PCMA", "opus/8000", "opus/16000", "opus/48000" (any case); anything
// else is refused with a message naming what is supported.
[[nodiscard]] Result<LoadCodec> ParseLoadCodec(std::string_view name);

// Codecs are chosen per role: 0 customer, 1 agent, 2 every supervisor alike.
inline constexpr int kCodecRoles = 3;
inline int CodecRoleOf(int party) { return party < kFirstSupervisor ? party : kFirstSupervisor; }

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
  // Per role (CodecRoleOf): --codec, overridden by --customer-codec, --agent-codec
  // and --supervisor-codec.
  std::array<LoadCodec, kCodecRoles> codecs{LoadCodec::kPcmu, LoadCodec::kPcmu, LoadCodec::kPcmu};
  // CreateSession's mixing rate: --session-rate, by default 8000 when every leg
  // is G.711, else 48000.
  int session_rate_hz = 8000;
  // SRTP on every leg (SDES keys through the API); unset: plain RTP.
  std::optional<dataplane::SrtpSuite> srtp;
  int ptime_ms = 20;
  double duration_s = 10.0;
  double mode_changes_per_s = 0.0;
  // Call churn during the steady part (load_churn.h): extra calls set up at
  // churn_cps per second, each up for churn_hold_s; 0: no churn.
  double churn_cps = 0.0;
  double churn_hold_s = 2.0;
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

  // Pre-allocated churn call slots (ChurnSlotCount), 0 without churn.
  int churn_slots() const;
  // The calls the driver opens sockets for: the steady ones, then the churn slots.
  int driver_calls() const { return calls + churn_slots(); }
  LoadCodec CodecOf(int party) const { return codecs[static_cast<size_t>(CodecRoleOf(party))]; }
  bool AllG711() const;
  // "PCMU" when every role has the same codec, else
  // "customer=PCMU,agent=opus/16000,supervisor=opus/48000".
  std::string CodecLabel() const;
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

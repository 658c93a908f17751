#pragma once
// earshotctl's command line: CLI11 definitions of every command and option, and
// the checks that turn what was typed into exactly one API request.
//
// Parsing sends nothing. It ends either in an Invocation (the global options and
// the request to make) or in a ParseExit: help or version text for stdout with
// code 0, or one error line for stderr with code 2 (exit_codes.h).
//
// Global options may stand before or after the command:
// `earshotctl --json session list` and `earshotctl session list --json` agree.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "earshot/v1/events.pb.h"
#include "earshot/v1/pickup.pb.h"
#include "earshot/v1/sessions.pb.h"
#include "earshot/v1/system.pb.h"

namespace earshot::ctl {

inline constexpr std::string_view kDefaultAddress = "127.0.0.1:50051";
inline constexpr std::chrono::milliseconds kDefaultTimeout{5000};

struct GlobalOptions {
  std::string address{kDefaultAddress};  // --addr, or $EARSHOT_ADDR
  std::string token;                     // --token, or $EARSHOT_TOKEN
  bool json = false;
  std::chrono::milliseconds timeout = kDefaultTimeout;
  // --tls-ca, --tls-cert, --tls-key: the files' contents (PEM).
  std::string tls_ca_pem;
  std::string tls_cert_pem;
  std::string tls_key_pem;
};

// `events`: a subscription and when to stop following it.
struct FollowEvents {
  earshot::v1::SubscribeRequest request;
  uint64_t count = 0;                                 // stop after this many; 0: no limit
  std::optional<std::chrono::milliseconds> duration;  // stop after this long
};

// One alternative per RPC; the request says which call to make.
using Request = std::variant<
    earshot::v1::CreateSessionRequest, earshot::v1::GetSessionRequest,
    earshot::v1::ListSessionsRequest, earshot::v1::DeleteSessionRequest, earshot::v1::AddLegRequest,
    earshot::v1::UpdateLegRequest, earshot::v1::RemoveLegRequest, earshot::v1::AttachRequest,
    earshot::v1::SetModeRequest, earshot::v1::DetachRequest, earshot::v1::SetMatrixRequest,
    earshot::v1::GetSessionStatsRequest, earshot::v1::GetStatusRequest, FollowEvents,
    earshot::v1::SetExtensionRequest, earshot::v1::ListExtensionsRequest, earshot::v1::RingRequest,
    earshot::v1::AnswerRequest, earshot::v1::PickupCallRequest, earshot::v1::GetPickupStatsRequest>;

struct Invocation {
  GlobalOptions options;
  Request request;
};

struct ParseExit {
  int code;
  std::string out;  // help or version text
  std::string err;  // one error line
};

// `args` excludes the program name. Reads $EARSHOT_ADDR and $EARSHOT_TOKEN.
std::variant<Invocation, ParseExit> ParseCommandLine(const std::vector<std::string>& args);

}  // namespace earshot::ctl

#pragma once
// earshotctl's exit codes and error lines: what a script sees when a command
// fails. Part of the stable surface; --help prints the table below.
//
//   0        success
//   1        any other failure (an answer this build cannot handle)
//   2        bad usage: unknown command or option, or a malformed value;
//            nothing was sent
//   10 + N   the server (or the gRPC channel) answered with status code N,
//            e.g. 15 NOT_FOUND, 14 DEADLINE_EXCEEDED, 24 UNAVAILABLE
//
// Every failure writes exactly one line to stderr:
//   earshotctl: NOT_FOUND: no session 'abc'
//   earshotctl: --role: 'boss' is not a role; use customer|agent|supervisor|other

#include <grpcpp/support/status.h>

#include <string>
#include <string_view>

namespace earshot::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitStatusBase = 10;

// "NOT_FOUND" for grpc::StatusCode::NOT_FOUND; "CODE_<n>" for a code this build
// does not know.
std::string StatusCodeName(grpc::StatusCode code);

// 10 + code for the codes 1..16, kExitFailure for anything else (OK included:
// a failed call never exits 0).
int ExitCodeForStatus(grpc::StatusCode code);

// "earshotctl: NAME: message\n", with any line breaks in the server's message
// turned into spaces so that the error stays one line.
std::string StatusErrorLine(grpc::StatusCode code, std::string_view message);

// "earshotctl: message\n", one line likewise.
std::string ErrorLine(std::string_view message);

// The exit code table for --help.
std::string ExitCodeHelp();

}  // namespace earshot::ctl

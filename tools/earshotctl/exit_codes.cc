#include "tools/earshotctl/exit_codes.h"

#include <fmt/format.h>

#include <array>

namespace earshot::ctl {
namespace {

// Indexed by the numeric gRPC status code (grpc/impl/codegen/status.h).
constexpr std::array<std::string_view, 17> kCodeNames = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

bool Known(grpc::StatusCode code) {
  int number = static_cast<int>(code);
  return number >= 0 && number < static_cast<int>(kCodeNames.size());
}

std::string OneLine(std::string_view text) {
  std::string line(text);
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return line;
}

}  // namespace

std::string StatusCodeName(grpc::StatusCode code) {
  if (Known(code)) return std::string(kCodeNames[static_cast<size_t>(code)]);
  return fmt::format("CODE_{}", static_cast<int>(code));
}

int ExitCodeForStatus(grpc::StatusCode code) {
  if (code == grpc::StatusCode::OK || !Known(code)) return kExitFailure;
  return kExitStatusBase + static_cast<int>(code);
}

std::string StatusErrorLine(grpc::StatusCode code, std::string_view message) {
  if (message.empty()) return fmt::format("earshotctl: {}\n", StatusCodeName(code));
  return fmt::format("earshotctl: {}: {}\n", StatusCodeName(code), OneLine(message));
}

std::string ErrorLine(std::string_view message) {
  return fmt::format("earshotctl: {}\n", OneLine(message));
}

std::string ExitCodeHelp() {
  std::string help =
      "Exit status:\n"
      "  0     success\n"
      "  1     any other failure\n"
      "  2     bad usage (nothing was sent)\n"
      "  10+N  the call failed with gRPC status N:";
  for (size_t code = 1; code < kCodeNames.size(); ++code) {
    help += (code - 1) % 3 == 0 ? "\n        " : ", ";
    help += fmt::format("{} {}", kExitStatusBase + static_cast<int>(code), kCodeNames[code]);
  }
  return help;
}

}  // namespace earshot::ctl

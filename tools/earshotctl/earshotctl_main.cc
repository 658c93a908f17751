// earshotctl: every call of Earshot's gRPC control API from a shell, for
// operators and for SIP-server scripts. See `earshotctl --help-all` for the
// command surface, exit_codes.h for exit codes and output.h for the JSON.

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "tools/earshotctl/audit_command.h"
#include "tools/earshotctl/control_api.h"
#include "tools/earshotctl/exit_codes.h"
#include "tools/earshotctl/run.h"

namespace {

bool write_failed = false;

void Write(std::FILE* stream, std::string_view text) {
  // Flushed at once: `events` prints as events arrive, also into a pipe.
  if (std::fwrite(text.data(), 1, text.size(), stream) != text.size() || std::fflush(stream) != 0) {
    write_failed = true;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  earshot::ctl::Console console{[](std::string_view text) { Write(stdout, text); },
                                [](std::string_view text) { Write(stderr, text); }};
  // `audit verify FILE` reads a file; it needs no server.
  std::optional<int> audited = earshot::ctl::RunAuditCommand(args, console);
  int exit_code = audited ? *audited : earshot::ctl::RunCommandLine(
      args,
      [](const earshot::ctl::ClientOptions& options) {
        return earshot::ctl::MakeGrpcControlApi(options);
      },
      console);
  // A script must not read a truncated answer as success (e.g. a full disk).
  if (write_failed && exit_code == earshot::ctl::kExitOk) return earshot::ctl::kExitFailure;
  return exit_code;
}

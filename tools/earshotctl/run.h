#pragma once
// Runs one parsed earshotctl command: makes its call through a ControlApi and
// writes the answer or the error line. Output goes through a Console, so that
// tests can run every command against a fake API and read what it printed.

#include <functional>
#include <string_view>
#include <variant>
#include <vector>

#include "tools/earshotctl/command_line.h"
#include "tools/earshotctl/control_api.h"
#include "tools/earshotctl/output.h"

namespace earshot::ctl {

// Where output goes; `out` is called once per answer or per streamed event, so
// that a follower sees each event as soon as it arrives.
struct Console {
  std::function<void(std::string_view)> out;
  std::function<void(std::string_view)> err;
};

// Makes the call `request` names, prints its answer or its error, and returns
// the exit code (exit_codes.h).
int Execute(const Request& request, ControlApi& api, Format format, const Console& console);

// The whole program after main(): parse, connect, execute. `make_api` is called
// once, and only when there is a call to make.
template <typename MakeApi>
int RunCommandLine(const std::vector<std::string>& args, MakeApi&& make_api,
                   const Console& console) {
  std::variant<Invocation, ParseExit> parsed = ParseCommandLine(args);
  if (const ParseExit* exit = std::get_if<ParseExit>(&parsed)) {
    if (!exit->out.empty()) console.out(exit->out);
    if (!exit->err.empty()) console.err(exit->err);
    return exit->code;
  }
  const Invocation& invocation = std::get<Invocation>(parsed);
  auto api = make_api(ClientOptions{invocation.options.address, invocation.options.token,
                                    invocation.options.timeout, invocation.options.tls_ca_pem,
                                    invocation.options.tls_cert_pem, invocation.options.tls_key_pem});
  return Execute(invocation.request, *api, invocation.options.json ? Format::kJson : Format::kHuman,
                 console);
}

}  // namespace earshot::ctl

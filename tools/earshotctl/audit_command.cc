#include "tools/earshotctl/audit_command.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "control/audit_chain.h"
#include "tools/earshotctl/exit_codes.h"

namespace earshot::ctl {
namespace {

constexpr std::string_view kUsage =
    "usage: earshotctl audit verify FILE [--json]\n"
    "  Checks the audit log's hash chain and names the first bad record.\n";

}  // namespace

std::optional<int> RunAuditCommand(const std::vector<std::string>& args, const Console& console) {
  // The command is the first argument that is not a global option (or its value).
  std::vector<std::string> words;
  bool json = false;
  bool help = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--json") {
      json = true;
    } else if (arg == "-h" || arg == "--help") {
      help = true;
    } else if (arg == "--addr" || arg == "--token" || arg == "--timeout") {
      ++i;  // takes a value; meaningless here
    } else if (arg.starts_with("--addr=") || arg.starts_with("--token=") || arg.starts_with("--timeout=")) {
    } else {
      words.push_back(arg);
    }
  }
  if (words.empty() || words.front() != "audit") return std::nullopt;
  if (help) {
    console.out(kUsage);
    return kExitOk;
  }
  if (words.size() != 3 || words[1] != "verify" || words[2].starts_with("-")) {
    console.err(ErrorLine(words.size() >= 2 && words[1] != "verify"
                              ? fmt::format("audit: unknown command '{}'; use: audit verify FILE", words[1])
                              : std::string("audit verify: expected one FILE; use: audit verify FILE [--json]")));
    return kExitUsage;
  }
  const std::string& path = words[2];
  Result<control::AuditVerifyReport> report = control::VerifyAuditFile(path);
  if (!report) {
    console.err(ErrorLine(report.error().message));
    return kExitFailure;
  }
  if (json) {
    nlohmann::json out = {{"file", path}, {"ok", report->ok}, {"records", report->records},
                          {"last_hash", report->last_hash}};
    if (!report->ok) {
      out["bad_record"] = report->bad_record;
      out["problem"] = report->problem;
    }
    console.out(out.dump() + "\n");
  } else if (report->ok) {
    console.out(fmt::format("{}: ok, {} records, chain intact; last hash {}\n", path, report->records,
                            report->last_hash));
  }
  if (!report->ok) {
    console.err(ErrorLine(fmt::format("audit log '{}': record {} is bad: {} ({} records before it verify)",
                                      path, report->bad_record, report->problem, report->records)));
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace earshot::ctl

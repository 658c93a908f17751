#pragma once
// `earshotctl audit verify FILE`: checks an audit log's hash chain
// (control/audit_chain.h) locally, without earshotd.
//
//   exit 0   the chain is intact; prints the record count and the last hash
//            (keep it elsewhere: it pins the end of the log)
//   exit 1   the first bad record is named, with what is wrong with it, or the
//            file cannot be read
//   exit 2   bad usage
//
// With --json the answer is one object on stdout either way:
//   {"file":"...","ok":false,"records":16,"bad_record":17,"problem":"...","last_hash":"..."}

#include <optional>
#include <string>
#include <vector>

#include "tools/earshotctl/run.h"

namespace earshot::ctl {

// Runs the command when `args` (without the program name) are an `audit`
// command; nullopt when they are something else.
std::optional<int> RunAuditCommand(const std::vector<std::string>& args, const Console& console);

}  // namespace earshot::ctl

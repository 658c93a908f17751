#include "control/audit_chain.h"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "control/json_string.h"
#include "control/sha256.h"

namespace earshot::control {
namespace {

constexpr std::string_view kHashMember = ",\"hash\":\"";
constexpr std::string_view kPrevMember = "\"prev\":\"";
constexpr std::string_view kSeqMember = "{\"seq\":";

void AppendMember(std::string& out, std::string_view name, std::string_view value) {
  out.push_back(',');
  AppendJsonString(out, name);
  out.push_back(':');
  AppendJsonString(out, value);
}

}  // namespace

std::string AuditTimeNow() {
  auto now = std::chrono::system_clock::now();
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03d}Z", text, static_cast<int>(millis % 1000));
}

std::string FormatAuditLine(uint64_t seq, const AuditRecord& record, std::string_view prev_hash,
                            std::string* hash) {
  std::string line = fmt::format("{}{}", kSeqMember, seq);
  AppendMember(line, "time", record.time.empty() ? AuditTimeNow() : record.time);
  AppendMember(line, "principal", record.principal);
  AppendMember(line, "supervisor", record.supervisor);
  AppendMember(line, "action", record.action);
  AppendMember(line, "session", record.session);
  AppendMember(line, "leg", record.leg);
  AppendMember(line, "extension", record.extension);
  AppendMember(line, "mode", record.mode);
  AppendMember(line, "outcome", record.outcome);
  AppendMember(line, "detail", record.detail);
  AppendMember(line, "prev", prev_hash);
  *hash = Sha256Hex(line);
  line += kHashMember;
  line += *hash;
  line += "\"}\n";
  return line;
}

Result<AuditLink> ReadAuditLine(std::string_view line) {
  // ... ,"hash":"<64>"}
  const size_t tail = kHashMember.size() + kSha256HexSize + 2;
  if (line.size() < tail || !line.ends_with("\"}") ||
      line.substr(line.size() - tail, kHashMember.size()) != kHashMember) {
    return InvalidArgument("not a record: it does not end with its \"hash\" member");
  }
  AuditLink link;
  link.hash = std::string(line.substr(line.size() - tail + kHashMember.size(), kSha256HexSize));
  if (!IsSha256Hex(link.hash)) return InvalidArgument("its \"hash\" is not 64 lowercase hex digits");
  std::string_view covered = line.substr(0, line.size() - tail);
  if (!covered.starts_with(kSeqMember)) return InvalidArgument("not a record: it does not start with {\"seq\":");
  const char* digits = covered.data() + kSeqMember.size();
  auto [end, ec] = std::from_chars(digits, covered.data() + covered.size(), link.seq);
  if (ec != std::errc() || end == digits || *end != ',') return InvalidArgument("its \"seq\" is not a number");
  const size_t prev_tail = kPrevMember.size() + kSha256HexSize + 1;
  if (covered.size() < prev_tail || !covered.ends_with('"') ||
      covered.substr(covered.size() - prev_tail, kPrevMember.size()) != kPrevMember) {
    return InvalidArgument("not a record: \"prev\" is not the member before \"hash\"");
  }
  link.prev = std::string(covered.substr(covered.size() - prev_tail + kPrevMember.size(), kSha256HexSize));
  if (!IsSha256Hex(link.prev)) return InvalidArgument("its \"prev\" is not 64 lowercase hex digits");
  std::string actual = Sha256Hex(covered);
  if (actual != link.hash) {
    return InvalidArgument(fmt::format(
        "its contents do not match its hash (stored {}, computed {}): the record was changed",
        link.hash.substr(0, 16), actual.substr(0, 16)));
  }
  return link;
}

AuditVerifyReport VerifyAuditText(std::string_view text) {
  AuditVerifyReport report;
  std::string prev(kAuditGenesisHash);
  uint64_t number = 0;
  size_t start = 0;
  while (start < text.size()) {
    ++number;
    size_t newline = text.find('\n', start);
    auto fail = [&](std::string problem) {
      report.bad_record = number;
      report.problem = std::move(problem);
      report.last_hash = prev;
      return report;
    };
    if (newline == std::string_view::npos) {
      return fail("the file ends inside this record (a write cut short; earshotd drops such a "
                  "tail when it starts)");
    }
    Result<AuditLink> link = ReadAuditLine(text.substr(start, newline - start));
    if (!link) return fail(link.error().message);
    if (link->seq != number) {
      return fail(fmt::format("its seq is {}, expected {}: a record was removed or inserted before it",
                              link->seq, number));
    }
    if (link->prev != prev) {
      return fail(fmt::format(
          "its prev {} is not the hash of record {} ({}): a record before it was changed, removed "
          "or inserted",
          link->prev.substr(0, 16), number - 1, prev.substr(0, 16)));
    }
    prev = link->hash;
    report.records = number;
    start = newline + 1;
  }
  report.ok = true;
  report.last_hash = prev;
  return report;
}

Result<AuditVerifyReport> VerifyAuditFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("cannot read audit log '{}': {}", path, std::strerror(errno)));
  }
  std::string text;
  char buffer[65536];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return MakeError(ErrorCode::kInternal, fmt::format("cannot read audit log '{}'", path));
  return VerifyAuditText(text);
}

}  // namespace earshot::control

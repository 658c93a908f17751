#pragma once
// The audit log's file format and its hash chain, shared by earshotd (which
// writes it, audit_log.h) and `earshotctl audit verify` (which checks it).
//
// One record per line, a JSON object whose members come in a fixed order:
//
//   {"seq":7,"time":"2025-05-01T09:30:12.345Z","principal":"sip-a","supervisor":"alice",
//    "action":"attach","session":"call-1","leg":"sup-1","extension":"","mode":"listen",
//    "outcome":"ok","detail":"","prev":"<64 hex>","hash":"<64 hex>"}
//
// `hash` is the SHA-256 of the line's bytes before `,"hash":"` (so it covers
// `prev`), and `prev` is the previous record's `hash` (64 zeros for record 1).
// `seq` counts from 1 without gaps. Changing, inserting or deleting a record
// anywhere but at the very end therefore breaks the chain at that record.
// Cutting records off the end is not detectable from the file alone; compare
// the last hash with one kept elsewhere (earshotd logs it at start and stop).

#include <cstdint>
#include <string>
#include <string_view>

#include "codecs/result.h"

namespace earshot::control {

struct AuditRecord {
  std::string time;        // RFC 3339 UTC with milliseconds; empty: now, when appended
  std::string principal;   // who authenticated
  std::string supervisor;  // whom the principal acted for
  std::string action;      // attach, mode, detach, answer, pickup
  std::string session;
  std::string leg;
  std::string extension;
  std::string mode;     // the mode asked for (attach, mode), or empty
  std::string outcome;  // ok, denied, or the error code name of a failure
  std::string detail;   // the denial's missing rule, or the failure message
};

inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The current time as RFC 3339 UTC with milliseconds.
std::string AuditTimeNow();

// Record `seq` chained after `prev_hash`, as one line ending in '\n'; its own
// hash is stored in `*hash`.
std::string FormatAuditLine(uint64_t seq, const AuditRecord& record, std::string_view prev_hash,
                            std::string* hash);

// One record's place in the chain, as read back from its line.
struct AuditLink {
  uint64_t seq = 0;
  std::string prev;
  std::string hash;
};

// Checks that `line` (without its '\n') is well formed and that its hash is
// right; the chain (seq, prev) is the caller's to compare. The error says what
// is wrong with the line.
[[nodiscard]] Result<AuditLink> ReadAuditLine(std::string_view line);

struct AuditVerifyReport {
  bool ok = false;
  uint64_t records = 0;     // records that verified, before the first bad one
  std::string last_hash;    // of the last good record
  uint64_t bad_record = 0;  // 1-based record (= line) number of the first bad one
  std::string problem;      // what is wrong with it
};

// Walks the whole chain of `text` (the file's contents).
AuditVerifyReport VerifyAuditText(std::string_view text);

// Same for a file; an error only when the file cannot be read.
[[nodiscard]] Result<AuditVerifyReport> VerifyAuditFile(const std::string& path);

}  // namespace earshot::control

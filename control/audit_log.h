#pragma once
// The append-only, fsynced, hash-chained audit log (audit_chain.h has the
// format). Every supervision and pickup action -- attach, mode change, detach,
// answer, pickup, and every denial -- is one record, appended and on disk
// before the RPC that caused it answers.
//
// Threads: any number of API threads call Append; none of them is a worker, so
// audit I/O never delays a mixing tick ("off the media path"). Records are
// numbered and chained under one mutex, written with one write(2) each to an
// O_APPEND file, then made durable by group commit: one thread runs
// fdatasync(2) for every record written so far while the others wait for it, so
// N concurrent appends cost about one sync, not N.
//
// Crashes: a record is written with one write(2), but a kill can still cut a
// write short. When the log is opened again, a last line without its '\n' is
// such a record -- its RPC never answered, since that waits for the sync -- and
// is cut off (and reported) before the chain continues from the last whole
// record.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "codecs/result.h"
#include "control/audit_chain.h"

namespace earshot::control {

// What Open found in an existing file.
struct AuditLogOpened {
  uint64_t records = 0;          // the last record's seq
  std::string last_hash;         // where the chain continues
  size_t dropped_tail_bytes = 0;  // an incomplete last record that was cut off
};

class AuditLog {
 public:
  // Opens (or creates, mode 0640) the log at `path` and finds the chain's end.
  // FAILED_PRECONDITION when the last whole record does not verify: appending
  // to a damaged chain would hide the damage.
  [[nodiscard]] static Result<std::unique_ptr<AuditLog>> Open(const std::string& path,
                                                              AuditLogOpened* opened = nullptr);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends `record` (time: now when empty) and returns once it is on disk.
  // UNAVAILABLE when it could not be written or synced; the log then refuses
  // every later append too, and callers must refuse the actions they audit.
  [[nodiscard]] Result<void> Append(const AuditRecord& record);

  // False after a write or sync failed.
  bool healthy();
  const std::string& path() const { return path_; }
  uint64_t records();
  std::string last_hash();

 private:
  AuditLog(std::string path, int fd, uint64_t records, std::string last_hash);

  const std::string path_;
  const int fd_;
  std::mutex mutex_;  // guards everything below
  std::condition_variable synced_changed_;
  uint64_t written_;  // seq of the last record written
  uint64_t synced_;   // seq of the last record known to be on disk
  bool syncing_ = false;
  std::string last_hash_;
  std::string failure_;  // non-empty once a write or sync failed
};

}  // namespace earshot::control

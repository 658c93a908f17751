#include "control/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace earshot::control {
namespace {

// The last record is looked for in this much of the file's end; a record is
// well under 1 KiB unless its fields are huge.
constexpr off_t kTailWindow = 1 << 20;

std::string Errno(std::string_view what, const std::string& path) {
  return fmt::format("audit log '{}': {}: {}", path, what, std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path, AuditLogOpened* opened) {
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return MakeError(ErrorCode::kUnavailable, Errno("cannot open", path));
  auto fail = [&](ErrorCode code, std::string message) {
    ::close(fd);
    return MakeError(code, std::move(message));
  };
  struct stat info{};
  if (::fstat(fd, &info) != 0) return fail(ErrorCode::kUnavailable, Errno("cannot stat", path));
  const off_t size = info.st_size;
  const off_t window_start = std::max<off_t>(0, size - kTailWindow);
  std::string tail(static_cast<size_t>(size - window_start), '\0');
  size_t got = 0;
  while (got < tail.size()) {
    ssize_t n = ::pread(fd, tail.data() + got, tail.size() - got, window_start + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(ErrorCode::kUnavailable, Errno("cannot read", path));
    got += static_cast<size_t>(n);
  }

  AuditLogOpened found;
  found.last_hash = std::string(kAuditGenesisHash);
  // Cut off an incomplete last record (no '\n' after it).
  size_t end = tail.rfind('\n');
  size_t keep = end == std::string::npos ? 0 : end + 1;
  if (keep < tail.size()) {
    if (end == std::string::npos && window_start > 0) {
      return fail(ErrorCode::kFailedPrecondition,
                  fmt::format("audit log '{}': no line break in its last {} bytes; check it with "
                              "earshotctl audit verify",
                              path, kTailWindow));
    }
    found.dropped_tail_bytes = tail.size() - keep;
    if (::ftruncate(fd, window_start + static_cast<off_t>(keep)) != 0 || ::fdatasync(fd) != 0) {
      return fail(ErrorCode::kUnavailable, Errno("cannot cut off an incomplete last record", path));
    }
    tail.resize(keep);
  }
  if (!tail.empty()) {
    size_t line_start = tail.rfind('\n', tail.size() - 2);
    line_start = line_start == std::string::npos ? 0 : line_start + 1;
    if (line_start == 0 && window_start > 0) {
      return fail(ErrorCode::kFailedPrecondition,
                  fmt::format("audit log '{}': its last record is longer than {} bytes", path,
                              kTailWindow));
    }
    Result<AuditLink> link =
        ReadAuditLine(std::string_view(tail).substr(line_start, tail.size() - 1 - line_start));
    if (!link) {
      return fail(ErrorCode::kFailedPrecondition,
                  fmt::format("audit log '{}': its last record is damaged ({}); check it with "
                              "earshotctl audit verify, and move it aside to start a new chain",
                              path, link.error().message));
    }
    found.records = link->seq;
    found.last_hash = link->hash;
  }
  if (opened != nullptr) *opened = found;
  return std::unique_ptr<AuditLog>(new AuditLog(path, fd, found.records, found.last_hash));
}

AuditLog::AuditLog(std::string path, int fd, uint64_t records, std::string last_hash)
    : path_(std::move(path)), fd_(fd), written_(records), synced_(records), last_hash_(std::move(last_hash)) {}

AuditLog::~AuditLog() { ::close(fd_); }

bool AuditLog::healthy() {
  std::lock_guard lock(mutex_);
  return failure_.empty();
}

uint64_t AuditLog::records() {
  std::lock_guard lock(mutex_);
  return written_;
}

std::string AuditLog::last_hash() {
  std::lock_guard lock(mutex_);
  return last_hash_;
}

Result<void> AuditLog::Append(const AuditRecord& record) {
  std::unique_lock lock(mutex_);
  if (!failure_.empty()) return MakeError(ErrorCode::kUnavailable, failure_);
  const uint64_t seq = written_ + 1;
  std::string hash;
  const std::string line = FormatAuditLine(seq, record, last_hash_, &hash);
  // One write(2) per record: O_APPEND puts it after every earlier one.
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failure_ = Errno("cannot append", path_);
      // Take a partial record back so that the file stays a chain.
      if (done > 0) {
        struct stat info{};
        if (::fstat(fd_, &info) == 0) (void)::ftruncate(fd_, info.st_size - static_cast<off_t>(done));
      }
      return MakeError(ErrorCode::kUnavailable, failure_);
    }
    done += static_cast<size_t>(n);
  }
  written_ = seq;
  last_hash_ = hash;

  // Group commit: whoever finds no sync running syncs everything written so far.
  while (synced_ < seq) {
    if (!failure_.empty()) return MakeError(ErrorCode::kUnavailable, failure_);
    if (syncing_) {
      synced_changed_.wait(lock);
      continue;
    }
    syncing_ = true;
    const uint64_t target = written_;
    lock.unlock();
    const int result = ::fdatasync(fd_);
    const int error = errno;
    lock.lock();
    syncing_ = false;
    if (result != 0) {
      errno = error;
      failure_ = Errno("cannot sync", path_);
    } else {
      synced_ = std::max(synced_, target);
    }
    synced_changed_.notify_all();
  }
  return {};
}

}  // namespace earshot::control

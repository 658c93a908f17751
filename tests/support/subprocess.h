#pragma once
// Runs a program as a child process for end-to-end tests, with its stdout and
// stderr captured through pipes. Test-only: it may block and allocate freely.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace earshot::testing {

class Subprocess {
 public:
  // Starts `argv[0]` with the given arguments.
  explicit Subprocess(std::vector<std::string> argv);
  ~Subprocess();  // kills the child if it still runs
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Reads stderr until a line containing `text` arrives or `timeout` passes.
  bool WaitForStderr(const std::string& text, std::chrono::milliseconds timeout);
  void Signal(int signal_number);
  // Waits for exit; the exit code, or nullopt on timeout or death by a signal.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

  const std::string& stdout_text();
  const std::string& stderr_text();

 private:
  void Drain(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string stdout_;
  std::string stderr_;
  std::optional<int> exit_code_;
  bool exited_ = false;
};

// Runs a program to completion (10 s at most) and returns it for inspection.
struct RunResult {
  std::optional<int> exit_code;
  std::string out;
  std::string err;
};
RunResult RunToCompletion(std::vector<std::string> argv);

// The full path of `program` found on PATH, or nullopt.
std::optional<std::string> FindProgram(const std::string& program);

}  // namespace earshot::testing

#pragma once
// The set of workers a daemon runs, one thread each. Readers on other threads
// (the control plane) take snapshots of the workers' counters; they never touch
// a worker's state otherwise.

#include <chrono>
#include <memory>
#include <vector>

#include "dataplane/worker.h"

namespace earshot::dataplane {

struct WorkerPoolOptions {
  int workers = 1;
  std::chrono::milliseconds tick{20};
  bool pin_workers = false;  // worker i on CPU i
};

struct WorkerSnapshot {
  int index;
  uint64_t ticks;
  uint64_t overruns;
  uint64_t skipped_ticks;
};

class WorkerPool {
 public:
  explicit WorkerPool(WorkerPoolOptions options);
  ~WorkerPool();  // stops every worker
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts every worker; returns how many could not be pinned as asked.
  int Start();
  void Stop();

  std::vector<WorkerSnapshot> Snapshot() const;
  const WorkerPoolOptions& options() const { return options_; }

 private:
  WorkerPoolOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace earshot::dataplane

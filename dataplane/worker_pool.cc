#include "dataplane/worker_pool.h"

namespace earshot::dataplane {

WorkerPool::WorkerPool(WorkerPoolOptions options) : options_(options) {
  workers_.reserve(static_cast<size_t>(options_.workers));
  for (int i = 0; i < options_.workers; ++i) {
    WorkerOptions worker_options;
    worker_options.index = i;
    worker_options.tick = options_.tick;
    if (options_.pin_workers) worker_options.pin_to_cpu = i;
    workers_.push_back(std::make_unique<Worker>(worker_options));
  }
}

WorkerPool::~WorkerPool() { Stop(); }

int WorkerPool::Start() {
  int unpinned = 0;
  for (auto& worker : workers_) {
    if (!worker->Start()) ++unpinned;
  }
  return unpinned;
}

void WorkerPool::Stop() {
  for (auto& worker : workers_) worker->Stop();
}

std::vector<WorkerSnapshot> WorkerPool::Snapshot() const {
  std::vector<WorkerSnapshot> snapshots;
  snapshots.reserve(workers_.size());
  for (const auto& worker : workers_) {
    const WorkerCounters& counters = worker->counters();
    snapshots.push_back(WorkerSnapshot{worker->index(),
                                       counters.ticks.load(std::memory_order_relaxed),
                                       counters.overruns.load(std::memory_order_relaxed),
                                       counters.skipped_ticks.load(std::memory_order_relaxed)});
  }
  return snapshots;
}

}  // namespace earshot::dataplane

#include "dataplane/worker_pool.h"

#include <fmt/format.h>

namespace earshot::dataplane {

Result<std::unique_ptr<WorkerPool>> WorkerPool::Create(const WorkerPoolOptions& options,
                                                       const PacketIoFactory& make_io) {
  std::unique_ptr<WorkerPool> pool(new WorkerPool(options));
  const int ports = options.port_high - options.port_low + 1;
  if (options.workers < 1 || ports < options.workers) {
    return InvalidArgument(fmt::format("{} workers cannot share {} RTP ports", options.workers, ports));
  }
  const int share = ports / options.workers;
  for (int i = 0; i < options.workers; ++i) {
    WorkerOptions worker;
    worker.index = i;
    worker.tick = options.tick;
    if (options.pin_workers) worker.pin_to_cpu = i;
    worker.rtp_ip = options.rtp_ip;
    worker.port_low = static_cast<uint16_t>(options.port_low + i * share);
    worker.port_high = static_cast<uint16_t>(i + 1 == options.workers
                                                 ? options.port_high
                                                 : options.port_low + (i + 1) * share - 1);
    worker.max_sessions = options.max_sessions_per_worker;
    worker.media_timeout = options.media_timeout;
    worker.rtcp_interval = options.rtcp_interval;
    std::unique_ptr<PacketIo> io;
    if (make_io) {
      Result<std::unique_ptr<PacketIo>> made = make_io(worker);
      if (!made) return tl::unexpected(made.error());
      io = std::move(*made);
    }
    pool->workers_.push_back(std::make_unique<Worker>(worker, std::move(io)));
  }
  return pool;
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
    const WorkerCounters& c = worker->counters();
    auto read = [](const std::atomic<uint64_t>& counter) {
      return counter.load(std::memory_order_relaxed);
    };
    snapshots.push_back(WorkerSnapshot{worker->index(), read(c.ticks), read(c.overruns),
                                       read(c.skipped_ticks), read(c.sessions), read(c.legs),
                                       read(c.rx_packets), read(c.rx_dropped), read(c.tx_packets)});
  }
  return snapshots;
}

}  // namespace earshot::dataplane

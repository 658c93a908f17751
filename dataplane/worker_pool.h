#pragma once
// The set of workers a daemon runs, one thread each. The RTP port range is
// split evenly between them, so a local port says which worker owns it.
// Readers on other threads (the control plane) take snapshots of the workers'
// counters and talk to a worker only through Worker::Call.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "codecs/result.h"
#include "dataplane/worker.h"

namespace earshot::dataplane {

struct WorkerPoolOptions {
  int workers = 1;
  std::chrono::milliseconds tick{20};
  bool pin_workers = false;  // worker i on CPU i
  std::string rtp_ip = "127.0.0.1";
  uint16_t port_low = 30000;
  uint16_t port_high = 39999;
  uint32_t max_sessions_per_worker = 4096;
  std::chrono::milliseconds media_timeout{30000};
  // See WorkerOptions::rtcp_interval; earshotd sets it from rtcp_interval_ms.
  std::chrono::milliseconds rtcp_interval{5000};
};

struct WorkerSnapshot {
  int index;
  uint64_t ticks;
  uint64_t overruns;
  uint64_t skipped_ticks;
  uint64_t sessions;
  uint64_t legs;
  uint64_t rx_packets;
  uint64_t rx_dropped;
  uint64_t tx_packets;
};

// Makes the packet back end for one worker (the composition root picks kernel
// or DPDK); null makes a worker that only ticks.
using PacketIoFactory = std::function<Result<std::unique_ptr<PacketIo>>(const WorkerOptions&)>;

class WorkerPool {
 public:
  [[nodiscard]] static Result<std::unique_ptr<WorkerPool>> Create(const WorkerPoolOptions& options,
                                                                  const PacketIoFactory& make_io);
  ~WorkerPool();  // stops every worker
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Starts every worker; returns how many could not be pinned as asked.
  int Start();
  void Stop();

  int size() const { return static_cast<int>(workers_.size()); }
  Worker& worker(int index) { return *workers_[static_cast<size_t>(index)]; }
  std::vector<WorkerSnapshot> Snapshot() const;
  const WorkerPoolOptions& options() const { return options_; }

 private:
  explicit WorkerPool(const WorkerPoolOptions& options) : options_(options) {}

  WorkerPoolOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace earshot::dataplane

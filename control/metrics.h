#pragma once
// Prometheus text exposition (format 0.0.4) of what the workers count, for the
// metrics endpoint. Pure: built from snapshots, so it can be tested without a
// server. Names follow Prometheus conventions: earshot_ prefix, _total for
// counters, a `worker` label per worker; no per-session or per-leg series (their
// number is unbounded; per-leg figures are in the Stats API).
//
// With the DPDK back end the port's counters join in: earshot_dpdk_<name>_total
// with `port` and `queue` labels (a queue is the worker that polls it), received
// frames dropped by `reason` in earshot_dpdk_rx_dropped_total, and the device's
// own figures (earshot_dpdk_port_*). They are snapshots too (DpdkPort::Snapshot).

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/dpdk/port_counters.h"
#include "dataplane/worker_pool.h"

namespace earshot::control {

struct MetricsSnapshot {
  std::vector<dataplane::WorkerSnapshot> workers;
  uint64_t sessions = 0;  // in the control plane's registry
  bool draining = false;
  std::vector<dataplane::dpdk::DpdkPortSnapshot> dpdk_ports;  // empty on the kernel path
};

std::string RenderMetrics(const MetricsSnapshot& snapshot);

}  // namespace earshot::control

#pragma once
// Prometheus text exposition (format 0.0.4) of what the workers count, for the
// metrics endpoint. Pure: built from snapshots, so it can be tested without a
// server. Names follow Prometheus conventions: earshot_ prefix, _total for
// counters, a `worker` label per worker; no per-session or per-leg series (their
// number is unbounded; per-leg figures are in the Stats API).

#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/worker_pool.h"

namespace earshot::control {

struct MetricsSnapshot {
  std::vector<dataplane::WorkerSnapshot> workers;
  uint64_t sessions = 0;  // in the control plane's registry
  bool draining = false;
};

std::string RenderMetrics(const MetricsSnapshot& snapshot);

}  // namespace earshot::control

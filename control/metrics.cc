#include "control/metrics.h"

#include <fmt/format.h>

#include "control/version.h"

namespace earshot::control {
namespace {

struct WorkerSeries {
  const char* name;
  const char* type;
  const char* help;
  uint64_t dataplane::WorkerSnapshot::*field;
};

constexpr WorkerSeries kWorkerSeries[] = {
    {"earshot_worker_ticks_total", "counter", "Ticks the worker has run.",
     &dataplane::WorkerSnapshot::ticks},
    {"earshot_worker_tick_overruns_total", "counter",
     "Ticks that started late by more than the overrun slack.",
     &dataplane::WorkerSnapshot::overruns},
    {"earshot_worker_skipped_ticks_total", "counter",
     "Ticks skipped because the worker fell more than a tick behind.",
     &dataplane::WorkerSnapshot::skipped_ticks},
    {"earshot_worker_sessions", "gauge", "Sessions the worker owns.",
     &dataplane::WorkerSnapshot::sessions},
    {"earshot_worker_legs", "gauge", "Legs the worker owns.", &dataplane::WorkerSnapshot::legs},
    {"earshot_worker_rx_packets_total", "counter", "Datagrams received.",
     &dataplane::WorkerSnapshot::rx_packets},
    {"earshot_worker_rx_dropped_total", "counter",
     "Datagrams dropped (malformed, wrong source, unknown payload type, SRTP failures, no leg).",
     &dataplane::WorkerSnapshot::rx_dropped},
    {"earshot_worker_tx_packets_total", "counter", "Datagrams sent.",
     &dataplane::WorkerSnapshot::tx_packets},
};

}  // namespace

std::string RenderMetrics(const MetricsSnapshot& snapshot) {
  std::string out;
  out += "# HELP earshot_build_info Version of the running earshotd.\n";
  out += "# TYPE earshot_build_info gauge\n";
  out += fmt::format("earshot_build_info{{version=\"{}\"}} 1\n", kVersion);
  out += "# HELP earshot_sessions Sessions in the registry.\n# TYPE earshot_sessions gauge\n";
  out += fmt::format("earshot_sessions {}\n", snapshot.sessions);
  out += "# HELP earshot_draining 1 while earshotd refuses new sessions on its way out.\n";
  out += "# TYPE earshot_draining gauge\n";
  out += fmt::format("earshot_draining {}\n", snapshot.draining ? 1 : 0);
  for (const WorkerSeries& series : kWorkerSeries) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", series.name, series.help, series.name, series.type);
    for (const dataplane::WorkerSnapshot& worker : snapshot.workers) {
      out += fmt::format("{}{{worker=\"{}\"}} {}\n", series.name, worker.index, worker.*series.field);
    }
  }
  return out;
}

}  // namespace earshot::control

#include "control/metrics.h"

#include <string_view>

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

// A label value with \\, \" and \n escaped (exposition format 0.0.4).
std::string LabelValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void Family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

struct PortSeries {
  const char* name;
  const char* type;
  const char* help;
  uint64_t dataplane::dpdk::DpdkPortSnapshot::*field;
};

constexpr PortSeries kPortSeries[] = {
    {"earshot_dpdk_neighbours", "gauge", "Entries in the DPDK port's neighbour table (static and learnt).",
     &dataplane::dpdk::DpdkPortSnapshot::neighbours},
    {"earshot_dpdk_port_rx_missed_total", "counter",
     "Frames the device dropped because an RX queue was full (rte_eth_stats imissed).",
     &dataplane::dpdk::DpdkPortSnapshot::rx_missed},
    {"earshot_dpdk_port_rx_errors_total", "counter", "Erroneous frames the device received (ierrors).",
     &dataplane::dpdk::DpdkPortSnapshot::rx_errors},
    {"earshot_dpdk_port_tx_errors_total", "counter", "Frames the device failed to send (oerrors).",
     &dataplane::dpdk::DpdkPortSnapshot::tx_errors},
    {"earshot_dpdk_port_rx_no_mbuf_total", "counter",
     "RX mbuf allocation failures of the device (rx_nombuf): the mbuf pool was exhausted.",
     &dataplane::dpdk::DpdkPortSnapshot::rx_no_mbuf},
};

// One family per counter, then the drops by reason, then the device's figures;
// every family once, with a sample per (port, queue).
void RenderDpdk(std::string& out, const std::vector<dataplane::dpdk::DpdkPortSnapshot>& ports) {
  const dataplane::dpdk::DpdkQueueSnapshot* model = nullptr;
  for (const auto& port : ports) {
    if (!port.queues.empty()) {
      model = &port.queues.front();
      break;
    }
  }
  if (model != nullptr) {
    for (size_t i = 0; i < model->counters.size(); ++i) {
      const std::string name = fmt::format("earshot_dpdk_{}_total", model->counters[i].name);
      Family(out, name, "counter", model->counters[i].help);
      for (const auto& port : ports) {
        for (const auto& queue : port.queues) {
          if (i >= queue.counters.size()) continue;
          out += fmt::format("{}{{port=\"{}\",queue=\"{}\"}} {}\n", name, LabelValue(port.name), queue.queue,
                             queue.counters[i].value);
        }
      }
    }
    Family(out, "earshot_dpdk_rx_dropped_total", "counter",
           "Received frames that were not for us, by reason (one reason per frame).");
    for (const auto& port : ports) {
      for (const auto& queue : port.queues) {
        for (const auto& drop : queue.rx_dropped) {
          out += fmt::format("earshot_dpdk_rx_dropped_total{{port=\"{}\",queue=\"{}\",reason=\"{}\"}} {}\n",
                             LabelValue(port.name), queue.queue, LabelValue(drop.name), drop.value);
        }
      }
    }
  }
  if (ports.empty()) return;
  for (const PortSeries& series : kPortSeries) {
    Family(out, series.name, series.type, series.help);
    for (const auto& port : ports) {
      out += fmt::format("{}{{port=\"{}\",driver=\"{}\"}} {}\n", series.name, LabelValue(port.name),
                         LabelValue(port.driver), port.*series.field);
    }
  }
}

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
  RenderDpdk(out, snapshot.dpdk_ports);
  return out;
}

}  // namespace earshot::control

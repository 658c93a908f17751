#pragma once
// A snapshot of the DPDK port's counters, as values, for the metrics endpoint
// and the System service's status. Header-only and free of DPDK headers, so
// that control/ builds (and renders an empty list) without DPDK too.
//
// The counters themselves are DpdkQueueCounters (dpdk_packet_io.h): written by
// the worker that owns the queue only, with relaxed atomics; DpdkPort::Snapshot
// reads them with relaxed loads, so a snapshot is a set of recent values, not
// one instant (rx_frames may already count a frame whose drop reason is not
// counted yet). Names are stable: they are the Prometheus series names
// (earshot_dpdk_<name>_total) and the keys of the status RPC's maps.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace earshot::dataplane::dpdk {

struct NamedCount {
  std::string_view name;  // static storage: "rx_frames", "ip_checksum"
  std::string_view help;  // static storage; one sentence
  uint64_t value = 0;
};

// One queue pair of the port: the RX queue a worker polls (or the frames it
// took from other workers' rings) and the TX queue it sends on. queue == the
// worker's index.
struct DpdkQueueSnapshot {
  int queue = 0;
  std::vector<NamedCount> counters;    // always the same names, in the same order
  std::vector<NamedCount> rx_dropped;  // received frames not for us, by reason (FrameDrop)
};

struct DpdkPortSnapshot {
  std::string name;    // the ethdev name, "net_af_packet0"
  std::string driver;  // "net_af_packet"
  std::string mac;
  std::string ip;
  uint64_t neighbours = 0;  // entries in the neighbour table (static and learnt)
  // The device's own figures (rte_eth_stats): frames it dropped because an RX
  // queue was full (missed), RX / TX errors, RX mbuf allocation failures.
  uint64_t rx_missed = 0;
  uint64_t rx_errors = 0;
  uint64_t tx_errors = 0;
  uint64_t rx_no_mbuf = 0;
  std::vector<DpdkQueueSnapshot> queues;
};

}  // namespace earshot::dataplane::dpdk

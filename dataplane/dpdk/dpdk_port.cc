// DpdkPort: start-up and tear-down of the port and what its workers share. The
// per-worker hot path is in dpdk_packet_io.cc.
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <iterator>
#include <mutex>

#include <fmt/format.h>

#include "dataplane/dpdk/dpdk_packet_io.h"

namespace earshot::dataplane::dpdk {
namespace {

// A PCI address: [domain:]bus:device.function in hex, e.g. 0000:01:00.0 or 01:00.0.
bool LooksLikePci(const std::string& spec) {
  if (spec.find(',') != std::string::npos) return false;
  size_t colons = static_cast<size_t>(std::count(spec.begin(), spec.end(), ':'));
  if ((colons != 1 && colons != 2) || spec.find('.') == std::string::npos) return false;
  return std::all_of(spec.begin(), spec.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; });
}

std::string AvailablePortNames() {
  std::vector<std::string> names;
  uint16_t id = 0;
  RTE_ETH_FOREACH_DEV(id) {
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    if (rte_eth_dev_get_name_by_port(id, name) == 0) names.emplace_back(name);
  }
  if (names.empty()) return "none";
  return fmt::format("{}", fmt::join(names, ", "));
}

tl::unexpected<Error> PortError(const std::string& what) {
  return MakeError(ErrorCode::kFailedPrecondition, what);
}

// Every DpdkQueueCounters field but `dropped` (by reason), with the name it has
// in the metrics (earshot_dpdk_<name>_total) and the status RPC.
struct QueueCounter {
  std::string_view name;
  std::string_view help;
  std::atomic<uint64_t> DpdkQueueCounters::*field;
};
constexpr QueueCounter kQueueCounters[] = {
    {"rx_frames", "Frames taken from the RX queue.", &DpdkQueueCounters::rx_frames},
    {"rx_bytes", "Bytes of the frames taken from the RX queue.", &DpdkQueueCounters::rx_bytes},
    {"rx_delivered", "UDP payloads handed to the worker.", &DpdkQueueCounters::rx_delivered},
    {"rx_forwarded", "UDP datagrams passed to the owning worker's ring.",
     &DpdkQueueCounters::rx_forwarded},
    {"rx_from_ring", "UDP datagrams taken from other workers' rings.", &DpdkQueueCounters::rx_from_ring},
    {"rx_port_closed", "UDP datagrams to a port of the worker's range that is not open: dropped.",
     &DpdkQueueCounters::rx_port_closed},
    {"rx_port_unowned", "UDP datagrams to a port outside every worker's range: dropped.",
     &DpdkQueueCounters::rx_port_unowned},
    {"rx_oversize", "Frames or payloads larger than a packet buffer: dropped.",
     &DpdkQueueCounters::rx_oversize},
    {"rx_pool_empty", "UDP payloads dropped because the worker had no packet buffer free.",
     &DpdkQueueCounters::rx_pool_empty},
    {"ring_full", "UDP datagrams dropped because the owning worker's ring was full.",
     &DpdkQueueCounters::ring_full},
    {"arp_requests_answered", "ARP requests for the local address answered.",
     &DpdkQueueCounters::arp_requests_answered},
    {"arp_replies_learnt", "ARP replies learnt into the neighbour table.",
     &DpdkQueueCounters::arp_replies_learnt},
    {"arp_requests_sent", "ARP requests sent to resolve a next hop.", &DpdkQueueCounters::arp_requests_sent},
    {"neighbour_table_full", "Neighbours not learnt because the table was full.",
     &DpdkQueueCounters::neighbour_table_full},
    {"icmp_echo_answered", "ICMP echo requests to the local address answered.",
     &DpdkQueueCounters::icmp_echo_answered},
    {"tx_frames", "Frames the NIC took.", &DpdkQueueCounters::tx_frames},
    {"tx_bytes", "Bytes of the frames the NIC took.", &DpdkQueueCounters::tx_bytes},
    {"tx_nic_full", "Frames the NIC refused (TX queue full): freed.", &DpdkQueueCounters::tx_nic_full},
    {"tx_held", "Frames held while their next hop was resolved by ARP.", &DpdkQueueCounters::tx_held},
    {"tx_no_neighbour", "Frames dropped because their next hop was not resolved in time (or the hold was full).",
     &DpdkQueueCounters::tx_no_neighbour},
    {"tx_bad_packet", "Sends refused: port not open, peer not IPv4, or payload too big.",
     &DpdkQueueCounters::tx_bad_packet},
    {"mbuf_exhausted", "Sends and replies dropped because the worker's mbuf pool was empty.",
     &DpdkQueueCounters::mbuf_exhausted},
};

}  // namespace

PortSpec PortNameFromSpec(std::vector<std::string> eal_args, const std::string& spec) {
  PortSpec result;
  if (LooksLikePci(spec)) {
    // rte_eth_dev_get_port_by_name knows PCI devices by their full address.
    result.name = std::count(spec.begin(), spec.end(), ':') == 1 ? "0000:" + spec : spec;
    const bool filtered = std::any_of(eal_args.begin(), eal_args.end(), [](const std::string& arg) {
      return arg == "-a" || arg == "-b" || arg.starts_with("--allow") || arg.starts_with("--block");
    });
    if (!filtered) {
      eal_args.push_back("-a");
      eal_args.push_back(result.name);
    }
  } else {
    result.name = spec.substr(0, spec.find(','));
    const bool given = std::any_of(eal_args.begin(), eal_args.end(), [&](const std::string& arg) {
      return arg == "--vdev=" + spec || arg == spec || arg.starts_with("--vdev=" + result.name);
    });
    // A vdev string ("net_af_packet0,iface=eth1"; drivers also answer to eth_*)
    // is created by the EAL; a bare name must be a device the arguments make.
    const bool vdev = spec.find(',') != std::string::npos || spec.starts_with("net_") ||
                      spec.starts_with("eth_");
    if (!given && vdev) eal_args.push_back("--vdev=" + spec);
  }
  result.eal_args = std::move(eal_args);
  return result;
}

DpdkPort::DpdkPort(const DpdkPortOptions& options)
    : options_(options),
      counters_(new DpdkQueueCounters[static_cast<size_t>(std::max(options.workers, 1))]),
      owner_by_port_(65536, -1),
      made_(static_cast<size_t>(std::max(options.workers, 1)), false),
      neighbours_(1024, options.neighbour_refresh, options.neighbour_expiry) {}

Result<std::unique_ptr<DpdkPort>> DpdkPort::Create(const DpdkPortOptions& options) {
  if (options.workers < 1 || options.workers > RTE_MAX_QUEUES_PER_PORT) {
    return InvalidArgument(fmt::format("DPDK port: {} workers is not 1..{}", options.workers,
                                       RTE_MAX_QUEUES_PER_PORT));
  }
  if (options.ip == 0) return InvalidArgument("DPDK port: no local IPv4 address (--dpdk-ip)");
  std::unique_ptr<DpdkPort> port(new DpdkPort(options));
  const auto workers = static_cast<uint16_t>(options.workers);

  if (rte_eth_dev_get_port_by_name(options.port_name.c_str(), &port->port_id_) != 0) {
    return MakeError(
        ErrorCode::kNotFound,
        fmt::format("DPDK port '{}' not found; the EAL sees: {}. Give --dpdk-port a PCI address bound "
                    "to a DPDK driver (dpdk-devbind.py --status) or a vdev string such as "
                    "net_af_packet0,iface=eth1",
                    options.port_name, AvailablePortNames()));
  }
  const uint16_t id = port->port_id_;
  rte_eth_dev_info info{};
  if (int rc = rte_eth_dev_info_get(id, &info); rc != 0) {
    return PortError(fmt::format("DPDK port '{}': cannot read device info: {}", options.port_name,
                                 rte_strerror(-rc)));
  }
  port->driver_ = info.driver_name != nullptr ? info.driver_name : "?";
  if (info.max_tx_queues < workers) {
    return PortError(fmt::format(
        "DPDK port '{}' ({}) has {} TX queues but {} workers need one each: run fewer workers "
        "(--workers {}) or give the device more queues (net_af_packet: qpairs={})",
        options.port_name, port->driver_, info.max_tx_queues, workers, info.max_tx_queues, workers));
  }
  if (info.max_rx_queues < 1) {
    return PortError(fmt::format("DPDK port '{}' ({}) has no RX queue", options.port_name, port->driver_));
  }
  port->rx_queues_ = info.max_rx_queues >= workers ? workers : 1;

  rte_eth_conf conf{};
  constexpr uint64_t kTxChecksums = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  port->tx_offload_ = (info.tx_offload_capa & kTxChecksums) == kTxChecksums;
  if (port->tx_offload_) conf.txmode.offloads |= kTxChecksums;
  port->rx_ip_flags_ = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
  port->rx_udp_flags_ = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_UDP_CKSUM) != 0;
  if (port->rx_ip_flags_) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
  if (port->rx_udp_flags_) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
  if (port->rx_queues_ > 1 && info.flow_type_rss_offloads != 0) {
    // Spread flows over the workers' queues; a datagram on the wrong queue is
    // forwarded through a ring, so the hash only has to be even, not exact.
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf =
        info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
  }
  if (int rc = rte_eth_dev_configure(id, port->rx_queues_, workers, &conf); rc != 0) {
    return PortError(fmt::format("DPDK port '{}' ({}) refused {} RX / {} TX queues: {}",
                                 options.port_name, port->driver_, port->rx_queues_, workers,
                                 rte_strerror(-rc)));
  }
  uint16_t rx_descriptors = options.rx_descriptors;
  uint16_t tx_descriptors = options.tx_descriptors;
  (void)rte_eth_dev_adjust_nb_rx_tx_desc(id, &rx_descriptors, &tx_descriptors);
  const int socket = rte_eth_dev_socket_id(id) < 0 ? static_cast<int>(rte_socket_id())
                                                   : rte_eth_dev_socket_id(id);

  for (int w = 0; w < options.workers; ++w) {
    // Every worker sends from its own pool; an RX queue fills from its worker's pool.
    const std::string name = fmt::format("earshot_mb_{}_{}", id, w);
    rte_mempool* pool = rte_pktmbuf_pool_create(name.c_str(), options.mbufs_per_worker, 256, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    if (pool == nullptr) {
      return MakeError(
          ErrorCode::kResourceExhausted,
          fmt::format("DPDK: cannot create the mbuf pool of worker {} ({} mbufs of {} bytes): {}. "
                      "Give the EAL more memory: reserve hugepages (echo 512 > "
                      "/proc/sys/vm/nr_hugepages) or, without hugepages, '--no-huge -m 512' in "
                      "--dpdk-eal; or lower dpdk_mbufs",
                      w, options.mbufs_per_worker, RTE_MBUF_DEFAULT_BUF_SIZE, rte_strerror(rte_errno)));
    }
    port->pools_.push_back(pool);
  }
  for (uint16_t q = 0; q < port->rx_queues_; ++q) {
    rte_eth_rxconf rxconf = info.default_rxconf;
    rxconf.offloads = conf.rxmode.offloads;
    if (int rc = rte_eth_rx_queue_setup(id, q, rx_descriptors, static_cast<unsigned>(socket), &rxconf,
                                        port->pools_[q]);
        rc != 0) {
      return PortError(fmt::format("DPDK port '{}': RX queue {} setup failed: {}", options.port_name,
                                   q, rte_strerror(-rc)));
    }
  }
  for (uint16_t q = 0; q < workers; ++q) {
    rte_eth_txconf txconf = info.default_txconf;
    txconf.offloads = conf.txmode.offloads;
    if (int rc = rte_eth_tx_queue_setup(id, q, tx_descriptors, static_cast<unsigned>(socket), &txconf);
        rc != 0) {
      return PortError(fmt::format("DPDK port '{}': TX queue {} setup failed: {}", options.port_name,
                                   q, rte_strerror(-rc)));
    }
  }
  port->rings_.assign(static_cast<size_t>(options.workers * options.workers), nullptr);
  for (int from = 0; from < options.workers; ++from) {
    for (int to = 0; to < options.workers; ++to) {
      if (from == to) continue;
      const std::string name = fmt::format("earshot_r_{}_{}_{}", id, from, to);
      rte_ring* ring = rte_ring_create(name.c_str(), options.ring_size, socket,
                                       RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (ring == nullptr) {
        return MakeError(ErrorCode::kResourceExhausted,
                         fmt::format("DPDK: cannot create the ring from worker {} to {}: {}", from, to,
                                     rte_strerror(rte_errno)));
      }
      port->rings_[static_cast<size_t>(from * options.workers + to)] = ring;
    }
  }

  rte_ether_addr mac{};
  if (int rc = rte_eth_macaddr_get(id, &mac); rc != 0) {
    return PortError(fmt::format("DPDK port '{}': cannot read its MAC address: {}", options.port_name,
                                 rte_strerror(-rc)));
  }
  std::memcpy(port->local_.mac.bytes.data(), mac.addr_bytes, 6);
  if (options.mac && *options.mac != port->local_.mac) {
    rte_ether_addr wanted{};
    std::memcpy(wanted.addr_bytes, options.mac->bytes.data(), 6);
    if (rte_eth_dev_default_mac_addr_set(id, &wanted) != 0) {
      // Frames to the configured MAC must still arrive: filter in software.
      if (int rc = rte_eth_promiscuous_enable(id); rc != 0) {
        return PortError(fmt::format(
            "DPDK port '{}' ({}) can neither take MAC {} nor go promiscuous: {}; leave dpdk_mac unset "
            "to use the port's own ({})",
            options.port_name, port->driver_, options.mac->ToString(), rte_strerror(-rc),
            port->local_.mac.ToString()));
      }
    }
    port->local_.mac = *options.mac;
  }
  port->local_.ip = options.ip;
  port->local_.vlan = options.vlan;
  port->prefix_mask_ =
      options.prefix_length == 0 ? 0 : ~uint32_t{0} << (32 - std::min<int>(options.prefix_length, 32));
  for (const StaticNeighbour& neighbour : options.neighbours) {
    if (!port->neighbours_.AddStatic(neighbour.ip, neighbour.mac)) {
      return InvalidArgument(fmt::format("DPDK: too many static neighbours (at {})",
                                         Ipv4ToString(neighbour.ip)));
    }
  }
  if (int rc = rte_eth_dev_start(id); rc != 0) {
    return PortError(fmt::format("DPDK port '{}' ({}) did not start: {}", options.port_name,
                                 port->driver_, rte_strerror(-rc)));
  }
  port->started_ = true;
  return port;
}

DpdkPort::~DpdkPort() {
  if (started_) {
    (void)rte_eth_dev_stop(port_id_);
    (void)rte_eth_dev_close(port_id_);
  }
  for (rte_ring* ring : rings_) {
    if (ring == nullptr) continue;
    void* left = nullptr;
    while (rte_ring_dequeue(ring, &left) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(left));
    rte_ring_free(ring);
  }
  // After the port is closed nothing references the pools' mbufs any more.
  for (rte_mempool* pool : pools_) rte_mempool_free(pool);
}

std::string DpdkPort::Describe() const {
  return fmt::format("{} ({}) mac {} ip {}{} rx_queues {} tx_queues {} tx_checksum_offload {} "
                     "rx_checksum_flags {}{}",
                     options_.port_name, driver_, local_.mac.ToString(), Ipv4ToString(local_.ip),
                     options_.prefix_length ? fmt::format("/{}", options_.prefix_length) : "",
                     rx_queues_, options_.workers, tx_offload_ ? "yes" : "no",
                     rx_udp_flags_ ? "udp" : (rx_ip_flags_ ? "ip" : "none"),
                     options_.vlan ? fmt::format(" vlan {}", options_.vlan) : "");
}

std::string DpdkPort::CountersSummary() const {
  std::vector<std::string> queues;
  for (const DpdkQueueSnapshot& queue : Snapshot().queues) {
    std::vector<std::string> parts;
    for (const NamedCount& count : queue.counters) {
      if (count.value != 0) parts.push_back(fmt::format("{}={}", count.name, count.value));
    }
    for (const NamedCount& count : queue.rx_dropped) {
      if (count.value != 0) parts.push_back(fmt::format("dropped_{}={}", count.name, count.value));
    }
    queues.push_back(fmt::format("q{}: {}", queue.queue, fmt::join(parts, " ")));
  }
  return fmt::format("{}", fmt::join(queues, "; "));
}

DpdkPortSnapshot DpdkPort::Snapshot() const {
  DpdkPortSnapshot snapshot;
  snapshot.name = options_.port_name;
  snapshot.driver = driver_;
  snapshot.mac = local_.mac.ToString();
  snapshot.ip = Ipv4ToString(local_.ip);
  snapshot.neighbours = neighbours_.size();
  if (started_) {
    std::lock_guard lock(stats_mutex_);
    rte_eth_stats stats{};
    if (rte_eth_stats_get(port_id_, &stats) == 0) {
      snapshot.rx_missed = stats.imissed;
      snapshot.rx_errors = stats.ierrors;
      snapshot.tx_errors = stats.oerrors;
      snapshot.rx_no_mbuf = stats.rx_nombuf;
    }
  }
  for (int q = 0; q < options_.workers; ++q) {
    const DpdkQueueCounters& c = counters_[static_cast<size_t>(q)];
    DpdkQueueSnapshot& queue = snapshot.queues.emplace_back();
    queue.queue = q;
    queue.counters.reserve(std::size(kQueueCounters));
    for (const QueueCounter& counter : kQueueCounters) {
      queue.counters.push_back({counter.name, counter.help, (c.*counter.field).load(std::memory_order_relaxed)});
    }
    queue.rx_dropped.reserve(kFrameDropCount);
    for (size_t r = 0; r < kFrameDropCount; ++r) {
      queue.rx_dropped.push_back({FrameDropName(static_cast<FrameDrop>(r)), "",
                                  c.dropped[r].load(std::memory_order_relaxed)});
    }
  }
  return snapshot;
}

}  // namespace earshot::dataplane::dpdk

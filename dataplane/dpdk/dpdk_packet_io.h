#pragma once
// The DPDK back end of PacketIo (ARCHITECTURE.md "Two packet back ends, one
// interface"): one Ethernet port, one IPv4 address, no kernel on the path.
//
// Model
// -----
// * DpdkPort owns the port and what all workers share: one mbuf pool per
//   worker, the RX/TX queues, the (from, to) rings, the neighbour table and the
//   counters. The composition root creates it once (after the EAL) and asks it
//   for one DpdkPacketIo per worker, each given the worker's UDP port range.
//   Workers are created before any of them starts, so the port -> worker table
//   filled then is read-only while packets flow.
// * Queues. Every worker has its own TX queue, so sending takes no lock (a
//   device with fewer TX queues than workers is refused at start-up). When the
//   device has an RX queue per worker, each worker polls its own; otherwise
//   worker 0 polls the one RX queue. Either way a worker classifies what it
//   receives by UDP destination port: the port range says the owning worker,
//   and a datagram for another worker goes into the rte_ring from this worker
//   to that one (single producer, single consumer: one ring per (from, to)
//   pair, STYLE.md §2). A forwarded mbuf starts at its UDP header and carries
//   the sender's IPv4 address in hash.usr.
// * Receiving copies the UDP payload into a PacketBuffer of the worker's
//   PacketPool (the interface passes PacketBuffers, not mbufs) and frees the
//   mbuf at once. ARP requests for our address are answered and ARP from
//   neighbours learnt; ICMP echo requests are answered (operators ping the
//   media address); everything else is dropped with one reason per frame.
// * Sending builds Ethernet/IPv4/UDP headers in the mbuf headroom in front of a
//   copy of the payload, with checksum offload when the port offers it, and
//   queues the mbuf in the worker's TX buffer. The buffer goes to the NIC when
//   it holds a burst (32), when Wait is about to idle, or when the oldest mbuf
//   in it has waited tx_drain; what the NIC does not take is freed and counted.
//   So SendBurst returns how many it queued; NIC refusals show up later in
//   counters().tx_dropped.
// * Next hops. A destination inside our prefix is its own next hop, anything
//   else goes to the gateway (no gateway: everything is on-link). An unknown
//   next hop is asked for with an ARP request (at most one per
//   kArpRetryInterval per worker and address) and the frame is HELD, fully
//   built, for up to kHoldTime (at most 64 frames per worker; counted in
//   tx_held). It leaves as soon as the reply is learnt, so the first packet of
//   a stream (the one with the marker bit) is not lost to ARP; after kHoldTime,
//   or with the hold full, it is dropped and counted (tx_no_neighbour).
//   Learnt neighbours age (NeighbourTable "Ageing"): past neighbour_refresh a
//   send also asks for the next hop again, and past neighbour_expiry without
//   an answer the next hop is unknown again.
// * Waiting. A poll-mode port cannot block. Wait polls the RX queue and the
//   rings until something arrives, Wake is called, or the timeout passes,
//   napping idle_sleep (at most until the timeout) between polls (0: spin, for
//   dedicated cores). A worker notices a packet within idle_sleep and takes
//   what arrived meanwhile in bursts: one wake-up per nap, not per packet.
//
// Hot path (ReceiveBurst, SendBurst, Wait): no allocation, no lock, no
// exception; bounded by the burst sizes. Directions are Earshot's: rx arrives
// at a local port, tx leaves from one.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "codecs/result.h"
#include "dataplane/dpdk/frame.h"
#include "dataplane/dpdk/neighbour_table.h"
#include "dataplane/dpdk/port_counters.h"
#include "dataplane/packet_io.h"

struct rte_mempool;
struct rte_ring;

namespace earshot::dataplane::dpdk {

struct StaticNeighbour {
  uint32_t ip = 0;
  MacAddress mac;
};

struct DpdkPortOptions {
  // The ethdev name: a PCI address ("0000:01:00.0") or a vdev name
  // ("net_af_packet0"); see PortNameFromSpec.
  std::string port_name;
  uint32_t ip = 0;            // host order
  uint8_t prefix_length = 0;  // 0: every destination is on-link
  std::optional<MacAddress> mac;  // unset: the port's own
  uint32_t gateway = 0;           // 0: none
  std::vector<StaticNeighbour> neighbours;
  uint16_t vlan = 0;
  // False for virtual devices whose peers hand partial UDP checksums.
  bool verify_udp_checksum = true;
  int workers = 1;
  uint32_t mbufs_per_worker = 4095;
  uint32_t ring_size = 1024;  // per (from, to) worker pair
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  std::chrono::microseconds tx_drain{100};
  // The nap of an idle Wait between polls (the most a packet waits in the RX
  // ring before the worker looks); 0: spin, for cores dedicated to the media path.
  std::chrono::microseconds idle_sleep{1000};
  size_t packet_buffers = 4096;  // the PacketPool of each worker
  // Learnt neighbours are asked for again (while still used) once this old,
  // and forgotten when not heard from for neighbour_expiry (NeighbourTable).
  std::chrono::nanoseconds neighbour_refresh = NeighbourTable::kDefaultRefresh;
  std::chrono::nanoseconds neighbour_expiry = NeighbourTable::kDefaultExpiry;
};

// The EAL arguments and the ethdev name for a port given as a PCI address or a
// vdev string ("net_af_packet0,iface=veth0"). A vdev string not already among
// `eal_args` is appended as --vdev; a PCI address is appended as -a unless the
// arguments already allow or block devices.
struct PortSpec {
  std::vector<std::string> eal_args;
  std::string name;
};
PortSpec PortNameFromSpec(std::vector<std::string> eal_args, const std::string& spec);

// Written by the owning worker only (relaxed loads and stores: one writer, so no
// read-modify-write is needed), read by anyone with relaxed loads (Snapshot).
// Every field is listed, with its name and help, in dpdk_port.cc's table.
struct alignas(64) DpdkQueueCounters {
  std::atomic<uint64_t> rx_frames{0};       // frames taken from the RX queue
  std::atomic<uint64_t> rx_bytes{0};
  std::atomic<uint64_t> rx_delivered{0};    // UDP payloads handed to this worker
  std::atomic<uint64_t> rx_forwarded{0};    // UDP sent to another worker's ring
  std::atomic<uint64_t> rx_from_ring{0};    // UDP taken from other workers' rings
  std::atomic<uint64_t> rx_port_closed{0};  // UDP to a port in a range but not open
  std::atomic<uint64_t> rx_port_unowned{0}; // UDP to a port outside every worker's range
  std::atomic<uint64_t> rx_oversize{0};     // payload larger than a PacketBuffer
  std::atomic<uint64_t> rx_pool_empty{0};   // no PacketBuffer free
  std::atomic<uint64_t> ring_full{0};       // forwarding ring full: dropped
  std::atomic<uint64_t> arp_requests_answered{0};
  std::atomic<uint64_t> arp_replies_learnt{0};
  std::atomic<uint64_t> arp_requests_sent{0};
  std::atomic<uint64_t> neighbour_table_full{0};
  std::atomic<uint64_t> icmp_echo_answered{0};
  std::array<std::atomic<uint64_t>, kFrameDropCount> dropped{};  // by FrameDrop
  std::atomic<uint64_t> tx_frames{0};       // taken by the NIC
  std::atomic<uint64_t> tx_bytes{0};
  std::atomic<uint64_t> tx_nic_full{0};     // refused by the NIC: freed
  std::atomic<uint64_t> tx_held{0};         // held while the next hop was resolved
  std::atomic<uint64_t> tx_no_neighbour{0}; // next hop not resolved in time: dropped
  std::atomic<uint64_t> tx_bad_packet{0};   // port not open, peer not IPv4, too big
  std::atomic<uint64_t> mbuf_exhausted{0};  // no mbuf for a send or a reply
};

class DpdkPacketIo;

class DpdkPort {
 public:
  static constexpr size_t kBurst = 32;
  static constexpr std::chrono::milliseconds kArpRetryInterval{200};
  static constexpr std::chrono::milliseconds kHoldTime{100};

  // The EAL must be up. Every failure says what to fix: port not found (with
  // the ports the EAL sees), not enough queues, no memory for the mbuf pools.
  [[nodiscard]] static Result<std::unique_ptr<DpdkPort>> Create(const DpdkPortOptions& options);
  ~DpdkPort();  // stops and closes the port; every DpdkPacketIo must be gone
  DpdkPort(const DpdkPort&) = delete;
  DpdkPort& operator=(const DpdkPort&) = delete;

  // Setup, before any worker runs: the PacketIo of worker `index`, which owns
  // UDP ports [port_low, port_high]. Each index once.
  [[nodiscard]] Result<std::unique_ptr<PacketIo>> MakePacketIo(int index, uint16_t port_low,
                                                               uint16_t port_high);

  uint16_t port_id() const { return port_id_; }
  const MacAddress& mac() const { return local_.mac; }
  uint32_t ip() const { return local_.ip; }
  uint16_t rx_queues() const { return rx_queues_; }
  bool tx_checksum_offload() const { return tx_offload_; }
  const DpdkQueueCounters& queue_counters(int worker) const {
    return counters_[static_cast<size_t>(worker)];
  }
  NeighbourTable& neighbours() { return neighbours_; }
  // One line for the start-up log: device, driver, queues, offloads.
  std::string Describe() const;
  // The queues' counters that are not zero, "q0: rx_frames=12 ...; q1: ...".
  std::string CountersSummary() const;
  // Every counter of every queue and the device's own figures, for the metrics
  // endpoint and the status RPC. Any thread; never touches a worker's state
  // (reads the counters with relaxed loads; the device's statistics under
  // stats_mutex_, so two readers never query the driver at once).
  DpdkPortSnapshot Snapshot() const;

 private:
  friend class DpdkPacketIo;
  explicit DpdkPort(const DpdkPortOptions& options);
  rte_ring* Ring(int from, int to) const {
    return rings_[static_cast<size_t>(from * options_.workers + to)];
  }

  DpdkPortOptions options_;
  uint16_t port_id_ = 0;
  bool started_ = false;
  std::string driver_;
  LocalIdentity local_;
  uint32_t prefix_mask_ = 0;
  uint16_t rx_queues_ = 1;
  bool tx_offload_ = false;     // IPv4 + UDP checksum offload on TX
  bool rx_ip_flags_ = false;    // the port reports IPv4 checksum status
  bool rx_udp_flags_ = false;   // the port reports UDP checksum status
  std::vector<rte_mempool*> pools_;  // by worker
  std::vector<rte_ring*> rings_;     // [from * workers + to], null on the diagonal
  std::unique_ptr<DpdkQueueCounters[]> counters_;
  std::vector<int16_t> owner_by_port_;  // UDP port -> worker, -1 for none
  std::vector<bool> made_;
  NeighbourTable neighbours_;
  mutable std::mutex stats_mutex_;  // control-side readers of rte_eth_stats_get
};

}  // namespace earshot::dataplane::dpdk

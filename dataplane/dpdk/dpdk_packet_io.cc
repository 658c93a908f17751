// DpdkPacketIo: one worker's side of a DpdkPort (the model is in the header).
#include "dataplane/dpdk/dpdk_packet_io.h"

#include <arpa/inet.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <time.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace earshot::dataplane::dpdk {
namespace {

constexpr size_t kMaxUdpPayload = 1500 - kIpv4Header - kUdpHeader;
// Most RX bursts one ReceiveBurst takes from the queue, so that a flood cannot
// hold the worker (it calls ReceiveBurst a bounded number of times per loop).
constexpr int kMaxRxBurstsPerCall = 2;

int64_t MonotonicNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

void Add(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

SocketAddress PeerAddress(uint32_t ip, uint16_t port) {
  sockaddr_storage storage{};
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  in.sin_addr.s_addr = htonl(ip);
  std::memcpy(&storage, &in, sizeof in);
  return SocketAddress::FromSockaddr(storage);
}

// The IPv4 address (host order) and port of `address`; false if not IPv4.
bool Ipv4Of(const SocketAddress& address, uint32_t& ip, uint16_t& port) {
  if (address.family() != AF_INET) return false;
  sockaddr_storage storage;
  address.ToSockaddr(storage);
  sockaddr_in in;
  std::memcpy(&in, &storage, sizeof in);
  ip = ntohl(in.sin_addr.s_addr);
  port = address.port();
  return true;
}

}  // namespace

class DpdkPacketIo final : public PacketIo {
 public:
  DpdkPacketIo(DpdkPort& port, int index, uint16_t port_low, uint16_t port_high, size_t buffers)
      : port_(port),
        index_(index),
        queue_(static_cast<uint16_t>(index)),
        polls_rx_(port.rx_queues_ > 1 || index == 0),
        port_low_(port_low),
        mempool_(port.pools_[static_cast<size_t>(index)]),
        qc_(port.counters_[static_cast<size_t>(index)]),
        pool_(buffers),
        open_(static_cast<size_t>(port_high - port_low + 1), 0),
        forward_(static_cast<size_t>(port.options_.workers)),
        forward_count_(static_cast<size_t>(port.options_.workers), 0),
        drain_ns_(std::chrono::nanoseconds(port.options_.tx_drain).count()),
        idle_sleep_ns_(std::chrono::nanoseconds(port.options_.idle_sleep).count()),
        base_(PeerAddress(port.local_.ip, 0)) {}

  ~DpdkPacketIo() override {
    FlushTx();
    FlushForwards();
    for (size_t i = 0; i < held_count_; ++i) rte_pktmbuf_free(held_[i].m);
    for (uint16_t i = stash_pos_; i < stash_count_; ++i) rte_pktmbuf_free(stash_[i]);
  }

  Result<PortHandle> OpenPort(const SocketAddress& local) override {
    uint32_t ip = 0;
    uint16_t number = 0;
    if (!Ipv4Of(local, ip, number) || (ip != 0 && ip != port_.local_.ip)) {
      return InvalidArgument(fmt::format("DPDK port: cannot open {}: the DPDK address is {} (IPv4 only)",
                                         local.ToString(), Ipv4ToString(port_.local_.ip)));
    }
    if (number == 0) {  // any free port of this worker's range
      auto free = std::find(open_.begin(), open_.end(), 0);
      if (free == open_.end()) return MakeError(ErrorCode::kResourceExhausted, "DPDK port: no free UDP port");
      number = static_cast<uint16_t>(port_low_ + (free - open_.begin()));
    }
    if (number < port_low_ || number - port_low_ >= static_cast<int>(open_.size())) {
      return InvalidArgument(fmt::format("DPDK port: UDP port {} is not in worker {}'s range {}-{}",
                                         number, index_, port_low_, port_low_ + open_.size() - 1));
    }
    const size_t offset = number - port_low_;
    if (open_[offset]) {
      return MakeError(ErrorCode::kAlreadyExists, fmt::format("DPDK port: UDP port {} is already open", number));
    }
    open_[offset] = 1;
    return static_cast<PortHandle>(offset);
  }

  void ClosePort(PortHandle port) override {
    if (IsOpen(port)) open_[static_cast<size_t>(port)] = 0;
  }

  SocketAddress LocalAddress(PortHandle port) const override {
    return IsOpen(port) ? base_.WithPort(static_cast<uint16_t>(port_low_ + port)) : SocketAddress();
  }

  void Wait(std::chrono::nanoseconds timeout) override {
    if (held_count_ > 0) {
      now_ns_ = MonotonicNs();
      ReleaseHeld();
    }
    FlushTx();
    if (timeout.count() <= 0) return;
    const int64_t deadline = MonotonicNs() + timeout.count();
    // Every nap is a whole idle_sleep (or what is left until the deadline): what
    // arrives meanwhile waits in the RX ring and is taken in bursts. Short naps
    // that return at the first packet cost a context switch per packet or two
    // (a fifth of earshotd's CPU at 20 kpps); media waits in a jitter buffer of
    // tens of milliseconds anyway, so idle_sleep of added latency is free.
    for (;;) {
      if (wake_.exchange(false, std::memory_order_acquire)) return;  // pairs with Wake's store
      if (Pending()) return;
      const int64_t left = deadline - MonotonicNs();
      if (left <= 0) return;
      if (idle_sleep_ns_ > 0) {
        const int64_t nap = std::min(left, idle_sleep_ns_);
        const timespec ts{static_cast<time_t>(nap / 1'000'000'000), static_cast<long>(nap % 1'000'000'000)};
        nanosleep(&ts, nullptr);
        ++counters_.syscalls;
      } else {
        rte_pause();
      }
    }
  }

  bool Wake() override {
    wake_.store(true, std::memory_order_release);  // pairs with the exchange in Wait
    return true;
  }

  size_t ReceiveBurst(std::span<PacketBuffer*> out) override {
    if (out.empty()) return 0;
    size_t got = 0;
    now_ns_ = MonotonicNs();
    // What other workers classified for us first: it has waited longest.
    for (int from = 0; from < port_.options_.workers && got < out.size(); ++from) {
      if (from == index_) continue;
      rte_mbuf* mbufs[DpdkPort::kBurst];
      const unsigned n = rte_ring_sc_dequeue_burst(
          port_.Ring(from, index_), reinterpret_cast<void**>(mbufs),
          static_cast<unsigned>(std::min(out.size() - got, DpdkPort::kBurst)), nullptr);
      Add(qc_.rx_from_ring, n);
      for (unsigned i = 0; i < n; ++i) {
        const uint8_t* udp = rte_pktmbuf_mtod(mbufs[i], const uint8_t*);
        const auto size = static_cast<size_t>(udp[4] << 8 | udp[5]) - kUdpHeader;
        Deliver(udp + kUdpHeader, size, mbufs[i]->hash.usr, static_cast<uint16_t>(udp[0] << 8 | udp[1]),
                static_cast<uint16_t>(udp[2] << 8 | udp[3]), out, got);
        rte_pktmbuf_free(mbufs[i]);
      }
    }
    if (polls_rx_) {
      for (int burst = 0; got < out.size(); ) {
        if (stash_pos_ == stash_count_) {
          if (burst++ == kMaxRxBurstsPerCall) break;
          Fill(static_cast<uint16_t>(std::min(out.size() - got, DpdkPort::kBurst)));
          if (stash_count_ == 0) break;
        }
        // Each frame yields at most one delivered packet, so room is checked per frame.
        while (stash_pos_ < stash_count_ && got < out.size()) {
          if (stash_pos_ + 2 < stash_count_) rte_prefetch0(rte_pktmbuf_mtod(stash_[stash_pos_ + 2], void*));
          Process(stash_[stash_pos_++], out, got);
        }
      }
    }
    FlushForwards();
    if (held_count_ > 0) ReleaseHeld();
    if (tx_count_ > 0 && now_ns_ - tx_first_ns_ >= drain_ns_) FlushTx();
    return got;
  }

  size_t SendBurst(std::span<PacketBuffer*> packets) override {
    size_t queued = 0;
    now_ns_ = MonotonicNs();
    // Another worker may have learnt the MAC: the held frames go first, in order.
    if (held_count_ > 0) ReleaseHeld();
    const LocalIdentity& local = port_.local_;
    const size_t headers = UdpHeadersSize(local.vlan);
    for (PacketBuffer* buffer : packets) {
      uint32_t dst_ip = 0;
      uint16_t dst_port = 0;
      if (!IsOpen(buffer->port) || buffer->size > kMaxUdpPayload ||
          !Ipv4Of(buffer->peer, dst_ip, dst_port)) {
        Add(qc_.tx_bad_packet);
        ++counters_.tx_dropped;
        pool_.Free(buffer);
        continue;
      }
      uint32_t next_hop_ip = 0;
      std::optional<MacAddress> next_hop = NextHopMac(dst_ip, next_hop_ip);
      if (!next_hop && held_count_ == kMaxHeld) {
        Add(qc_.tx_no_neighbour);
        ++counters_.tx_dropped;
        pool_.Free(buffer);
        continue;
      }
      rte_mbuf* m = rte_pktmbuf_alloc(mempool_);
      if (m == nullptr) {
        Add(qc_.mbuf_exhausted);
        ++counters_.tx_dropped;
        pool_.Free(buffer);
        continue;
      }
      // Both fit a fresh mbuf: headroom 128 >= 46 bytes of headers, room 2048 >= 1472.
      auto* payload = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, buffer->size));
      std::memcpy(payload, buffer->data, buffer->size);
      auto* head = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, static_cast<uint16_t>(headers)));
      UdpHeaderFields fields;
      fields.src_mac = local.mac;
      fields.dst_mac = next_hop.value_or(MacAddress{});
      fields.vlan = local.vlan;
      fields.src_ip = local.ip;
      fields.dst_ip = dst_ip;
      fields.src_port = static_cast<uint16_t>(port_low_ + buffer->port);
      fields.dst_port = dst_port;
      fields.ip_id = ip_id_++;
      const bool offload = port_.tx_offload_;
      WriteUdpHeaders({head, headers}, fields, {payload, buffer->size},
                      offload ? ChecksumMode::kOffload : ChecksumMode::kSoftware);
      if (offload) {
        m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
        m->l2_len = static_cast<uint16_t>(headers - kIpv4Header - kUdpHeader) & 0x7F;
        m->l3_len = kIpv4Header;
      }
      pool_.Free(buffer);
      if (next_hop) {
        QueueTx(m);
      } else {
        held_[held_count_++] = Held{m, next_hop_ip, now_ns_};
        Add(qc_.tx_held);
      }
      ++queued;
    }
    if (tx_count_ > 0 && now_ns_ - tx_first_ns_ >= drain_ns_) FlushTx();
    return queued;
  }

  PacketPool& pool() override { return pool_; }
  const PacketIoCounters& counters() const override { return counters_; }

 private:
  bool IsOpen(PortHandle port) const {
    return port >= 0 && static_cast<size_t>(port) < open_.size() && open_[static_cast<size_t>(port)];
  }

  void Fill(uint16_t want) {
    stash_pos_ = 0;
    stash_count_ = rte_eth_rx_burst(port_.port_id_, queue_, stash_, want);
    if (stash_count_ == 0) return;
    Add(qc_.rx_frames, stash_count_);
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < stash_count_; ++i) bytes += rte_pktmbuf_pkt_len(stash_[i]);
    Add(qc_.rx_bytes, bytes);
  }

  // True if a packet is waiting: in the stash, in the RX queue, or in a ring.
  bool Pending() {
    if (stash_pos_ < stash_count_) return true;
    if (polls_rx_) {
      Fill(DpdkPort::kBurst);
      if (stash_count_ > 0) return true;
    }
    for (int from = 0; from < port_.options_.workers; ++from) {
      if (from != index_ && rte_ring_count(port_.Ring(from, index_)) > 0) return true;
    }
    return false;
  }

  void Process(rte_mbuf* m, std::span<PacketBuffer*> out, size_t& got) {
    const uint64_t flags = m->ol_flags;
    RxChecks checks;
    checks.ip_checksum_good = port_.rx_ip_flags_ &&
                              (flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    checks.udp_checksum_good = port_.rx_udp_flags_ &&
                               (flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    checks.verify_udp_checksum = port_.options_.verify_udp_checksum;
    // Only the first segment is looked at: scatter is not enabled, so a frame
    // is one segment unless it is larger than an mbuf, and then it is no RTP.
    const std::span<uint8_t> frame(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_data_len(m));
    if (m->nb_segs > 1) {
      Add(qc_.rx_oversize);
      rte_pktmbuf_free(m);
      return;
    }
    const ParsedFrame parsed = ParseFrame(frame, port_.local_, checks);
    switch (parsed.kind) {
      case FrameKind::kUdp: {
        const int owner = port_.owner_by_port_[parsed.dst_port];
        if (owner == index_) {
          Deliver(frame.data() + parsed.payload_offset, parsed.payload_size, parsed.src_ip,
                  parsed.src_port, parsed.dst_port, out, got);
          rte_pktmbuf_free(m);
        } else if (owner < 0) {
          Add(qc_.rx_port_unowned);
          rte_pktmbuf_free(m);
        } else {
          Forward(m, owner, parsed);
        }
        return;
      }
      case FrameKind::kArpRequest:
        Learn(parsed);
        MakeArpReply(frame, parsed, port_.local_);
        Add(qc_.arp_requests_answered);
        QueueTx(m);
        return;
      case FrameKind::kArpReply:
        Learn(parsed);
        Add(qc_.arp_replies_learnt);
        rte_pktmbuf_free(m);
        return;
      case FrameKind::kIcmpEcho:
        MakeEchoReply(frame, parsed, port_.local_);
        Add(qc_.icmp_echo_answered);
        QueueTx(m);
        return;
      case FrameKind::kDrop:
        Add(qc_.dropped[static_cast<size_t>(parsed.drop)]);
        rte_pktmbuf_free(m);
        return;
    }
  }

  void Learn(const ParsedFrame& parsed) {
    if (!port_.neighbours_.Learn(parsed.src_ip, parsed.src_mac, now_ns_)) Add(qc_.neighbour_table_full);
  }

  void Deliver(const uint8_t* payload, size_t size, uint32_t src_ip, uint16_t src_port,
               uint16_t dst_port, std::span<PacketBuffer*> out, size_t& got) {
    const size_t offset = static_cast<size_t>(dst_port - port_low_);
    if (dst_port < port_low_ || offset >= open_.size() || !open_[offset]) {
      Add(qc_.rx_port_closed);
      return;
    }
    if (size > PacketBuffer::kCapacity) {
      Add(qc_.rx_oversize);
      ++counters_.rx_truncated;
      return;
    }
    PacketBuffer* buffer = pool_.Alloc();
    if (buffer == nullptr) {
      Add(qc_.rx_pool_empty);
      ++counters_.rx_pool_empty;
      return;
    }
    std::memcpy(buffer->data, payload, size);
    buffer->size = static_cast<uint16_t>(size);
    buffer->port = static_cast<PortHandle>(offset);
    buffer->peer = PeerAddress(src_ip, src_port);
    buffer->rx_time_ns = now_ns_;
    out[got++] = buffer;
    Add(qc_.rx_delivered);
    ++counters_.rx_packets;
    counters_.rx_bytes += size;
  }

  void Forward(rte_mbuf* m, int owner, const ParsedFrame& parsed) {
    // The owner needs the UDP header and the sender's address only.
    rte_pktmbuf_adj(m, static_cast<uint16_t>(parsed.payload_offset - kUdpHeader));
    m->hash.usr = parsed.src_ip;
    const auto to = static_cast<size_t>(owner);
    if (forward_count_[to] == DpdkPort::kBurst) FlushForward(to);
    forward_[to][forward_count_[to]++] = m;
  }

  void FlushForward(size_t to) {
    const unsigned count = forward_count_[to];
    if (count == 0) return;
    const unsigned sent = rte_ring_sp_enqueue_burst(port_.Ring(index_, static_cast<int>(to)),
                                                    reinterpret_cast<void* const*>(forward_[to].data()),
                                                    count, nullptr);
    Add(qc_.rx_forwarded, sent);
    if (sent < count) {
      Add(qc_.ring_full, count - sent);
      rte_pktmbuf_free_bulk(forward_[to].data() + sent, count - sent);
    }
    forward_count_[to] = 0;
  }

  void FlushForwards() {
    for (size_t to = 0; to < forward_count_.size(); ++to) FlushForward(to);
  }

  void QueueTx(rte_mbuf* m) {
    if (tx_count_ == 0) tx_first_ns_ = now_ns_;
    tx_[tx_count_++] = m;
    if (tx_count_ == DpdkPort::kBurst) FlushTx();
  }

  void FlushTx() {
    if (tx_count_ == 0) return;
    uint64_t bytes[DpdkPort::kBurst];
    for (uint16_t i = 0; i < tx_count_; ++i) bytes[i] = rte_pktmbuf_pkt_len(tx_[i]);
    const uint16_t sent = rte_eth_tx_burst(port_.port_id_, queue_, tx_, tx_count_);
    uint64_t sent_bytes = 0;
    for (uint16_t i = 0; i < sent; ++i) sent_bytes += bytes[i];
    Add(qc_.tx_frames, sent);
    Add(qc_.tx_bytes, sent_bytes);
    counters_.tx_packets += sent;
    counters_.tx_bytes += sent_bytes;
    if (sent < tx_count_) {
      // The NIC's ring is full: waiting is not something a media tick can afford.
      Add(qc_.tx_nic_full, tx_count_ - sent);
      counters_.tx_dropped += tx_count_ - sent;
      rte_pktmbuf_free_bulk(tx_ + sent, tx_count_ - sent);
    }
    tx_count_ = 0;
  }

  std::optional<MacAddress> NextHopMac(uint32_t dst_ip, uint32_t& next_hop) {
    const uint32_t mask = port_.prefix_mask_;
    const bool on_link = port_.options_.gateway == 0 || (dst_ip & mask) == (port_.local_.ip & mask);
    next_hop = on_link ? dst_ip : port_.options_.gateway;
    const NeighbourTable::Neighbour neighbour = port_.neighbours_.Lookup(next_hop, now_ns_);
    // Unknown or expired: ask and hold; due for a refresh: ask and send.
    if (!neighbour.mac || neighbour.refresh) AskFor(next_hop);
    return neighbour.mac;
  }

  // Sends the held frames whose next hop is now known, drops those that waited
  // kHoldTime, keeps the rest in order.
  void ReleaseHeld() {
    constexpr int64_t kHoldNs = std::chrono::nanoseconds(DpdkPort::kHoldTime).count();
    size_t kept = 0;
    for (size_t i = 0; i < held_count_; ++i) {
      Held& held = held_[i];
      if (std::optional<MacAddress> mac = port_.neighbours_.Lookup(held.next_hop, now_ns_).mac) {
        std::memcpy(rte_pktmbuf_mtod(held.m, uint8_t*), mac->bytes.data(), 6);
        QueueTx(held.m);
      } else if (now_ns_ - held.since_ns >= kHoldNs) {
        Add(qc_.tx_no_neighbour);
        ++counters_.tx_dropped;
        rte_pktmbuf_free(held.m);
      } else {
        held_[kept++] = held;
      }
    }
    held_count_ = kept;
  }

  // Broadcasts an ARP request for `ip`, at most once per kArpRetryInterval.
  void AskFor(uint32_t ip) {
    constexpr int64_t kRetryNs = std::chrono::nanoseconds(DpdkPort::kArpRetryInterval).count();
    ArpAsk* slot = &asked_[0];
    for (ArpAsk& ask : asked_) {
      if (ask.ip == ip) {
        if (now_ns_ - ask.when_ns < kRetryNs) return;
        slot = &ask;
        break;
      }
      if (ask.when_ns < slot->when_ns) slot = &ask;  // else reuse the oldest
    }
    rte_mbuf* m = rte_pktmbuf_alloc(mempool_);
    if (m == nullptr) {
      Add(qc_.mbuf_exhausted);
      return;
    }
    auto* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kMinFrame));
    WriteArpRequest({frame, kMinFrame}, port_.local_, ip);
    *slot = ArpAsk{ip, now_ns_};
    Add(qc_.arp_requests_sent);
    QueueTx(m);
  }

  struct Held {
    rte_mbuf* m;
    uint32_t next_hop;
    int64_t since_ns;
  };
  static constexpr size_t kMaxHeld = 64;

  struct ArpAsk {
    uint32_t ip = 0;
    int64_t when_ns = 0;
  };

  DpdkPort& port_;
  const int index_;
  const uint16_t queue_;
  const bool polls_rx_;
  const uint16_t port_low_;
  rte_mempool* const mempool_;
  DpdkQueueCounters& qc_;
  PacketPool pool_;
  PacketIoCounters counters_;
  std::vector<uint8_t> open_;  // by PortHandle = UDP port - port_low_
  std::atomic<bool> wake_{false};
  int64_t now_ns_ = 0;  // read once per ReceiveBurst / SendBurst

  rte_mbuf* stash_[DpdkPort::kBurst] = {};  // received, not yet processed
  uint16_t stash_count_ = 0;
  uint16_t stash_pos_ = 0;
  rte_mbuf* tx_[DpdkPort::kBurst] = {};
  uint16_t tx_count_ = 0;
  int64_t tx_first_ns_ = 0;
  std::vector<std::array<rte_mbuf*, DpdkPort::kBurst>> forward_;  // by owner
  std::vector<unsigned> forward_count_;
  const int64_t drain_ns_;
  const int64_t idle_sleep_ns_;
  std::array<ArpAsk, 16> asked_{};
  std::array<Held, kMaxHeld> held_{};  // waiting for their next hop's MAC
  size_t held_count_ = 0;
  uint16_t ip_id_ = 0;
  const SocketAddress base_;
};

Result<std::unique_ptr<PacketIo>> DpdkPort::MakePacketIo(int index, uint16_t port_low,
                                                         uint16_t port_high) {
  if (index < 0 || index >= options_.workers || made_[static_cast<size_t>(index)]) {
    return InvalidArgument(fmt::format("DPDK port: no packet I/O left for worker {}", index));
  }
  if (port_low > port_high) return InvalidArgument("DPDK port: empty UDP port range");
  for (uint32_t p = port_low; p <= port_high; ++p) {
    if (owner_by_port_[p] >= 0) {
      return InvalidArgument(fmt::format("DPDK port: UDP port {} belongs to worker {} already", p,
                                         owner_by_port_[p]));
    }
  }
  for (uint32_t p = port_low; p <= port_high; ++p) owner_by_port_[p] = static_cast<int16_t>(index);
  made_[static_cast<size_t>(index)] = true;
  return std::unique_ptr<PacketIo>(
      new DpdkPacketIo(*this, index, port_low, port_high, options_.packet_buffers));
}

}  // namespace earshot::dataplane::dpdk

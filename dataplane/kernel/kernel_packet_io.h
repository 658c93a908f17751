#pragma once
// The kernel UDP back end of PacketIo, the default one: it needs no privileges
// and works on any Linux (ARCHITECTURE.md "Two packet back ends, one interface").
//
// Model
// -----
// * One non-blocking UDP socket per open port, because the far end latches to our
//   source port (one leg, one socket). IPv6 sockets are IPV6_V6ONLY, so a port is
//   exactly one family and peers never show up as v4-mapped addresses.
//   SO_REUSEADDR stays off: a port already bound elsewhere is an error, not a
//   silent share. Media is marked DSCP EF (TOS/TCLASS 0xB8) unless told not to.
// * All sockets are in one epoll instance, level-triggered. ReceiveBurst is
//   bounded and deliberately leaves data behind in a flooded socket; with level
//   triggering the next epoll_wait reports that socket again, so no "not yet
//   drained" list has to be kept in step with the kernel, and a wake-up can never
//   be lost. The price of level triggering (sockets reported again while they
//   still hold data) is exactly the information we want.
// * Receiving works in rounds. A round is the set of sockets one epoll_wait
//   reported, visited in that order, each once. A visit is one recvmmsg taking
//   at most its fair share of the room left in the caller's burst
//   (room / sockets left in the round, at least 1), so a flooded socket gets a
//   share, not the whole burst, and the other ready sockets are reached in the
//   same or the next call (rtpengine's max_recv_iters idea). A socket that still
//   holds data is simply reported again by the next round's epoll_wait. A new
//   round starts in Wait, or in ReceiveBurst when the current one is used up
//   (at most once per call, so a call makes at most two epoll_waits).
// * Sending groups consecutive packets leaving from the same port into one
//   sendmmsg. Every leg has its own socket, so in a mixer tick that is usually
//   one system call per packet: the known cost of this back end, visible in
//   counters().syscalls (io_uring is the way out; see bench/kernel_udp_bench.cc).
//
// Bounds, per call: ReceiveBurst returns at most out.size() packets and makes at
// most max_recv_calls system calls; SendBurst makes at most one call per packet
// plus one per group. Neither allocates, locks or throws; drops are counted.
// Errors a connectionless UDP socket reports late (ICMP port unreachable as
// ECONNREFUSED, when the kernel reports it at all) are counted and skipped.
//
// Directions are Earshot's: rx arrives at a local port, tx leaves from one.
// counters().syscalls counts the calls made by Wait, ReceiveBurst and SendBurst
// only; OpenPort/ClosePort are setup.

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "codecs/result.h"
#include "dataplane/kernel/unique_fd.h"
#include "dataplane/packet_io.h"

namespace earshot::dataplane {

struct KernelPacketIoOptions {
  size_t pool_buffers = 4096;
  size_t max_ports = 4096;
  // Most datagrams one recvmmsg / sendmmsg call moves.
  size_t receive_burst = 32;
  size_t send_batch = 32;
  // Most system calls one ReceiveBurst makes (epoll_wait and recvmmsg), so a
  // round full of sockets that yield nothing (errors, truncated datagrams) still
  // ends quickly.
  size_t max_recv_calls = 64;
  // SO_RCVBUF / SO_SNDBUF in bytes; unset keeps the kernel default
  // (net.core.rmem_default). The kernel doubles the value and caps it at
  // net.core.rmem_max / wmem_max.
  std::optional<int> socket_receive_buffer;
  std::optional<int> socket_send_buffer;
  // IP_TOS / IPV6_TCLASS = 0xB8 (DSCP 46, Expedited Forwarding, RFC 3246).
  bool mark_expedited_forwarding = true;
};

class KernelPacketIo final : public PacketIo {
 public:
  static constexpr int kTrafficClassEf = 0xB8;

  [[nodiscard]] static Result<std::unique_ptr<KernelPacketIo>> Create(
      const KernelPacketIoOptions& options);
  ~KernelPacketIo() override;
  KernelPacketIo(const KernelPacketIo&) = delete;
  KernelPacketIo& operator=(const KernelPacketIo&) = delete;

  // Port 0 binds any free port; LocalAddress tells which.
  [[nodiscard]] Result<PortHandle> OpenPort(const SocketAddress& local) override;
  void ClosePort(PortHandle port) override;
  SocketAddress LocalAddress(PortHandle port) const override;

  // Returns at once if the current round still has sockets to visit, or if a
  // wake was drained since the last Wait. Otherwise epoll_waits, rounding
  // `timeout` up to whole milliseconds (0 and negative values do not block).
  void Wait(std::chrono::nanoseconds timeout) override;
  bool Wake() override;
  size_t ReceiveBurst(std::span<PacketBuffer*> out) override;
  size_t SendBurst(std::span<PacketBuffer*> packets) override;

  PacketPool& pool() override { return pool_; }
  const PacketIoCounters& counters() const override { return counters_; }
  size_t open_ports() const { return ports_.size() - free_handles_.size(); }

 private:
  struct Port {
    UniqueFd fd;
    SocketAddress local;
  };

  KernelPacketIo(const KernelPacketIoOptions& options, UniqueFd epoll_fd, UniqueFd wake_fd);
  bool IsOpen(PortHandle port) const;
  // epoll_wait into the round; returns how many sockets it holds.
  size_t StartRound(int timeout_ms);
  // One recvmmsg on `port`, taking at most `quota` packets into `out`.
  size_t ReceiveFrom(PortHandle port, size_t quota, std::span<PacketBuffer*> out);
  // Sends packets[0..n) (all from `port`), frees them, returns how many went.
  size_t SendGroup(PortHandle port, std::span<PacketBuffer*> group);

  const KernelPacketIoOptions options_;
  UniqueFd epoll_fd_;
  UniqueFd wake_fd_;  // an eventfd in the epoll set: Wake() writes, StartRound drains
  // StartRound drained a wake since the last Wait: the next Wait returns at once,
  // even when the round that drained it was ReceiveBurst's.
  bool wake_seen_ = false;
  PacketPool pool_;
  PacketIoCounters counters_;

  std::vector<Port> ports_;               // indexed by PortHandle
  std::vector<PortHandle> free_handles_;  // a stack, so a closed handle is reused first

  // The current round: round_[round_pos_, round_end_) are still to be visited;
  // data.u32 is the PortHandle, or kClosedInRound once ClosePort took it.
  std::vector<epoll_event> round_;
  size_t round_pos_ = 0;
  size_t round_end_ = 0;

  // recvmmsg / sendmmsg scratch, wired up once in the constructor.
  std::vector<mmsghdr> rx_msgs_;
  std::vector<iovec> rx_iovs_;
  std::vector<sockaddr_storage> rx_names_;
  std::vector<PacketBuffer*> rx_buffers_;
  std::vector<mmsghdr> tx_msgs_;
  std::vector<iovec> tx_iovs_;
  std::vector<sockaddr_storage> tx_names_;
};

}  // namespace earshot::dataplane

#include "dataplane/kernel/kernel_packet_io.h"

#include "dataplane/kernel/udp_socket.h"

#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>

#include "codecs/check.h"

namespace earshot::dataplane {
namespace {

constexpr uint32_t kClosedInRound = UINT32_MAX;
// The epoll tag of the wake eventfd; never a port handle (max_ports is far below).
constexpr uint32_t kWakeTag = UINT32_MAX - 1;
// Far more than any machine has file descriptors for; keeps handles in int32.
constexpr size_t kMaxPortsLimit = 1 << 20;

int64_t MonotonicNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

// epoll_wait takes milliseconds: round up, so that Wait(1us) does wait rather
// than spin, and clamp so that a huge timeout does not overflow.
int TimeoutMs(std::chrono::nanoseconds timeout) {
  const int64_t ns = timeout.count();
  if (ns <= 0) return 0;
  constexpr int64_t kNsPerMs = 1'000'000;
  if (ns / kNsPerMs >= INT_MAX - 1) return INT_MAX;
  return static_cast<int>((ns + kNsPerMs - 1) / kNsPerMs);
}


}  // namespace

Result<std::unique_ptr<KernelPacketIo>> KernelPacketIo::Create(
    const KernelPacketIoOptions& options) {
  if (options.pool_buffers == 0 || options.max_ports == 0 || options.receive_burst == 0 ||
      options.send_batch == 0 || options.max_recv_calls == 0) {
    return InvalidArgument("kernel packet I/O: pool, port, burst and call limits must be > 0");
  }
  if (options.max_ports > kMaxPortsLimit) {
    return InvalidArgument("kernel packet I/O: max_ports " + std::to_string(options.max_ports) +
                           " is above " + std::to_string(kMaxPortsLimit));
  }
  // UIO_MAXIOV (1024) is what recvmmsg/sendmmsg take at most in one call.
  if (options.receive_burst > 1024 || options.send_batch > 1024) {
    return InvalidArgument("kernel packet I/O: receive_burst and send_batch must be <= 1024");
  }
  UniqueFd epoll_fd(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd) {
    const int error = errno;
    return MakeError(error == EMFILE || error == ENFILE || error == ENOMEM
                         ? ErrorCode::kResourceExhausted
                         : ErrorCode::kInternal,
                     "epoll_create1 failed: " + ErrnoText(error));
  }
  UniqueFd wake_fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.u32 = kWakeTag;
  if (!wake_fd || epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, wake_fd.get(), &wake_event) != 0) {
    return MakeError(ErrorCode::kResourceExhausted, "eventfd for waking the worker: " + ErrnoText(errno));
  }
  return std::unique_ptr<KernelPacketIo>(
      new KernelPacketIo(options, std::move(epoll_fd), std::move(wake_fd)));
}

KernelPacketIo::KernelPacketIo(const KernelPacketIoOptions& options, UniqueFd epoll_fd,
                               UniqueFd wake_fd)
    : options_(options),
      epoll_fd_(std::move(epoll_fd)),
      wake_fd_(std::move(wake_fd)),
      pool_(options.pool_buffers),
      ports_(options.max_ports),
      round_(options.max_ports + 1),  // every port and the wake eventfd
      rx_msgs_(options.receive_burst),
      rx_iovs_(options.receive_burst),
      rx_names_(options.receive_burst),
      rx_buffers_(options.receive_burst),
      tx_msgs_(options.send_batch),
      tx_iovs_(options.send_batch),
      tx_names_(options.send_batch) {
  free_handles_.reserve(options.max_ports);
  for (size_t i = options.max_ports; i > 0; --i) {
    free_handles_.push_back(static_cast<PortHandle>(i - 1));
  }
  // Each message always points at its own iovec and name slot; only the iovec
  // base, the lengths and the flags change per call.
  for (size_t i = 0; i < rx_msgs_.size(); ++i) {
    rx_msgs_[i].msg_hdr.msg_iov = &rx_iovs_[i];
    rx_msgs_[i].msg_hdr.msg_iovlen = 1;
    rx_msgs_[i].msg_hdr.msg_name = &rx_names_[i];
  }
  for (size_t i = 0; i < tx_msgs_.size(); ++i) {
    tx_msgs_[i].msg_hdr.msg_iov = &tx_iovs_[i];
    tx_msgs_[i].msg_hdr.msg_iovlen = 1;
    tx_msgs_[i].msg_hdr.msg_name = &tx_names_[i];
  }
}

// Closing the epoll fd and the sockets (UniqueFd) is all there is to do.
KernelPacketIo::~KernelPacketIo() = default;

bool KernelPacketIo::IsOpen(PortHandle port) const {
  return port >= 0 && static_cast<size_t>(port) < ports_.size() &&
         ports_[static_cast<size_t>(port)].fd.valid();
}

Result<PortHandle> KernelPacketIo::OpenPort(const SocketAddress& local) {
  if (!local.is_set()) return InvalidArgument("cannot open a port on an unset address");
  if (free_handles_.empty()) {
    return MakeError(ErrorCode::kResourceExhausted, "cannot open " + local.ToString() + ": all " +
                                                        std::to_string(ports_.size()) +
                                                        " port slots are in use");
  }
  SocketAddress bound;
  Result<UniqueFd> opened = OpenUdpSocket(local, options_, bound);
  if (!opened) return tl::unexpected(std::move(opened.error()));
  UniqueFd fd = std::move(*opened);

  const PortHandle handle = free_handles_.back();
  epoll_event event{};
  event.events = EPOLLIN;  // level-triggered: see the header
  event.data.u32 = static_cast<uint32_t>(handle);
  if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd.get(), &event) != 0) {
    const int error = errno;
    return MakeError(
        error == ENOMEM || error == ENOSPC ? ErrorCode::kResourceExhausted : ErrorCode::kInternal,
        "cannot watch " + local.ToString() + ": " + ErrnoText(error));
  }
  free_handles_.pop_back();
  Port& port = ports_[static_cast<size_t>(handle)];
  port.fd = std::move(fd);
  port.local = bound;
  return handle;
}

void KernelPacketIo::ClosePort(PortHandle port) {
  if (!IsOpen(port)) return;
  Port& slot = ports_[static_cast<size_t>(port)];
  // Closing the last descriptor removes it from epoll too, but say so explicitly:
  // a dup()ed descriptor would otherwise keep it registered.
  epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, slot.fd.get(), nullptr);
  slot.fd.Reset();
  slot.local = SocketAddress();
  // The handle may be reused before the round reaches it; make the round skip it.
  for (size_t i = round_pos_; i < round_end_; ++i) {
    if (round_[i].data.u32 == static_cast<uint32_t>(port)) round_[i].data.u32 = kClosedInRound;
  }
  free_handles_.push_back(port);
}

SocketAddress KernelPacketIo::LocalAddress(PortHandle port) const {
  return IsOpen(port) ? ports_[static_cast<size_t>(port)].local : SocketAddress();
}

size_t KernelPacketIo::StartRound(int timeout_ms) {
  ++counters_.syscalls;
  const int ready =
      epoll_wait(epoll_fd_.get(), round_.data(), static_cast<int>(round_.size()), timeout_ms);
  round_pos_ = 0;
  // EINTR (a signal) or any other failure: an empty round; the caller waits again.
  round_end_ = ready > 0 ? static_cast<size_t>(ready) : 0;
  for (size_t i = 0; i < round_end_; ++i) {
    if (round_[i].data.u32 != kWakeTag) continue;
    uint64_t wakes = 0;
    (void)!read(wake_fd_.get(), &wakes, sizeof wakes);  // reset the eventfd
    ++counters_.syscalls;
    // Not a port: out of the round (order kept), so that a round holding only
    // the wake is empty and the next Wait sleeps.
    std::move(round_.begin() + static_cast<std::ptrdiff_t>(i) + 1,
              round_.begin() + static_cast<std::ptrdiff_t>(round_end_),
              round_.begin() + static_cast<std::ptrdiff_t>(i));
    --round_end_;
    wake_seen_ = true;
    break;  // the eventfd is in the set once
  }
  return round_end_;
}

bool KernelPacketIo::Wake() {
  const uint64_t one = 1;
  // EAGAIN only if the counter is about to overflow: a wake is pending anyway.
  (void)!write(wake_fd_.get(), &one, sizeof one);
  return true;
}

void KernelPacketIo::Wait(std::chrono::nanoseconds timeout) {
  // A wake the last ReceiveBurst's round drained: its command is still to be seen.
  const bool woken = std::exchange(wake_seen_, false);
  if (round_pos_ < round_end_ || woken) return;  // or sockets known to be readable wait
  StartRound(TimeoutMs(timeout));
  wake_seen_ = false;  // this Wait returns: that is the wake-up
}

size_t KernelPacketIo::ReceiveBurst(std::span<PacketBuffer*> out) {
  if (out.empty()) return 0;
  size_t calls = 0;
  size_t got = 0;
  bool started_round = false;
  while (got < out.size() && calls < options_.max_recv_calls) {
    if (round_pos_ == round_end_) {
      // Nobody called Wait, or the round is used up with room left in `out`.
      // Sockets left with data are reported again (level-triggered), behind the
      // ones that became ready since. One new round per call bounds the cost.
      if (started_round) break;
      started_round = true;
      ++calls;
      if (StartRound(0) == 0) break;
      continue;
    }
    const uint32_t id = round_[round_pos_].data.u32;
    if (id == kClosedInRound) {
      ++round_pos_;
      continue;
    }
    if (pool_.available() == 0) {
      // Leave this socket at the head of the round for when buffers come back.
      ++counters_.rx_pool_empty;
      break;
    }
    const size_t room = out.size() - got;
    const size_t left_in_round = round_end_ - round_pos_;
    const size_t quota = std::max<size_t>(1, room / left_in_round);
    ++round_pos_;
    ++calls;
    got += ReceiveFrom(static_cast<PortHandle>(id), quota, out.subspan(got));
  }
  return got;
}

size_t KernelPacketIo::ReceiveFrom(PortHandle port, size_t quota, std::span<PacketBuffer*> out) {
  const int fd = ports_[static_cast<size_t>(port)].fd.get();
  const size_t want = std::min({quota, out.size(), rx_msgs_.size(), pool_.available()});
  for (size_t i = 0; i < want; ++i) {
    PacketBuffer* buffer = pool_.Alloc();
    rx_buffers_[i] = buffer;
    rx_iovs_[i].iov_base = buffer->data;
    rx_iovs_[i].iov_len = PacketBuffer::kCapacity;
    rx_msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    rx_msgs_[i].msg_hdr.msg_flags = 0;
  }
  ++counters_.syscalls;
  const int received =
      recvmmsg(fd, rx_msgs_.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
  const size_t count = received > 0 ? static_cast<size_t>(received) : 0;
  if (received < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    // A pending error (e.g. ECONNREFUSED from an ICMP port unreachable) is
    // returned once and cleared; the socket goes on working.
    ++counters_.rx_errors;
  }
  // One clock read per call: the datagrams of one batch arrived together as far
  // as a 20 ms jitter buffer can tell, and clock_gettime is not free.
  const int64_t now_ns = count > 0 ? MonotonicNs() : 0;
  size_t delivered = 0;
  for (size_t i = 0; i < count; ++i) {
    PacketBuffer* buffer = rx_buffers_[i];
    const mmsghdr& msg = rx_msgs_[i];
    if (msg.msg_hdr.msg_flags & MSG_TRUNC) {
      // Larger than a buffer: not RTP we can use, and half a packet is worse.
      ++counters_.rx_truncated;
      pool_.Free(buffer);
      continue;
    }
    buffer->size = static_cast<uint16_t>(msg.msg_len);
    buffer->port = port;
    buffer->peer = SocketAddress::FromSockaddr(rx_names_[i]);
    buffer->rx_time_ns = now_ns;
    ++counters_.rx_packets;
    counters_.rx_bytes += msg.msg_len;
    out[delivered++] = buffer;
  }
  for (size_t i = count; i < want; ++i) pool_.Free(rx_buffers_[i]);
  return delivered;
}

size_t KernelPacketIo::SendBurst(std::span<PacketBuffer*> packets) {
  size_t sent = 0;
  size_t begin = 0;
  while (begin < packets.size()) {
    const PortHandle port = packets[begin]->port;
    size_t end = begin + 1;
    while (end < packets.size() && end - begin < tx_msgs_.size() && packets[end]->port == port) {
      ++end;
    }
    sent += SendGroup(port, packets.subspan(begin, end - begin));
    begin = end;
  }
  return sent;
}

size_t KernelPacketIo::SendGroup(PortHandle port, std::span<PacketBuffer*> group) {
  if (!IsOpen(port)) {
    counters_.tx_dropped += group.size();
    for (PacketBuffer* buffer : group) pool_.Free(buffer);
    return 0;
  }
  const int fd = ports_[static_cast<size_t>(port)].fd.get();
  // Packets without a usable peer never reach the kernel (counted as dropped);
  // the rest are packed to the front of the message array.
  size_t count = 0;
  for (PacketBuffer* buffer : group) {
    // A size past the buffer is a caller's bug; refusing it keeps the kernel
    // from reading the next buffer in the pool.
    EARSHOT_DCHECK(buffer->size <= PacketBuffer::kCapacity);
    const socklen_t name_length = buffer->peer.ToSockaddr(tx_names_[count]);
    if (name_length == 0 || buffer->size > PacketBuffer::kCapacity) {
      ++counters_.tx_dropped;
      continue;
    }
    tx_iovs_[count].iov_base = buffer->data;
    tx_iovs_[count].iov_len = buffer->size;
    tx_msgs_[count].msg_hdr.msg_namelen = name_length;
    ++count;
  }

  size_t sent = 0;
  size_t next = 0;
  while (next < count) {
    ++counters_.syscalls;
    const int result =
        sendmmsg(fd, tx_msgs_.data() + next, static_cast<unsigned>(count - next), MSG_DONTWAIT);
    if (result > 0) {
      for (size_t i = next; i < next + static_cast<size_t>(result); ++i) {
        counters_.tx_bytes += tx_msgs_[i].msg_len;
      }
      sent += static_cast<size_t>(result);
      next += static_cast<size_t>(result);
      // A short count means message `next` failed; the next call reports why.
      continue;
    }
    const int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) {
      // The socket (or the device queue) is full: the rest would fail the same
      // way, and waiting for room is not something a media tick can afford.
      counters_.tx_dropped += count - next;
      break;
    }
    // EINTR, ECONNREFUSED (an earlier ICMP port unreachable), EHOSTUNREACH,
    // ENETUNREACH, EPERM (a firewall), EINVAL / EAFNOSUPPORT (a peer of the other
    // family): this one message is lost, the others may still go.
    ++counters_.tx_dropped;
    ++next;
  }
  counters_.tx_packets += sent;
  // Only now: the iovecs pointed into these buffers until sendmmsg returned.
  for (PacketBuffer* buffer : group) pool_.Free(buffer);
  return sent;
}

}  // namespace earshot::dataplane

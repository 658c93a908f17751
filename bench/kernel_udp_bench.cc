// The kernel UDP back end through loopback: receive and send cost per packet.
//
// Budget: receive >= 250k packets/s per worker core, i.e. <= 4 us per packet
// including system calls. A 20 ms tick with 1,000 legs receives 1,000 packets
// and sends ~1,000: ~8 ms of the 20 at the budget, leaving the rest for media.
//
// What is measured, and what is not:
// * Receive: a feeder thread fills the sockets while the clock is paused, then
//   the timed part takes every packet out (ReceiveBurst of 32 + Free). The
//   kernel's IP/UDP processing runs in the feeder's context (loopback delivers
//   in the sender's softirq), so the figures are the worker's side: system
//   calls, copies to user space, our bookkeeping. On a NIC that protocol work
//   happens in softirq too, usually on the core that takes the interrupt.
// * Send: SendBurst of 32 packets of 172 bytes (RTP PCMU 20 ms). Loopback
//   delivers to the receiving socket inside the send call, so a send here also
//   pays for the receive side's protocol work: an upper bound for a NIC.
// * syscalls/pkt comes from PacketIoCounters::syscalls.
// * "legs" is the number of sockets, "per_leg" the packets queued on each.
//   legs=256, per_leg=1 is a mixer tick: every leg has one packet, and epoll +
//   recvmmsg cannot batch across sockets (one recvmmsg per packet).
// * BM_Uring*: a prototype of io_uring (multishot recvmsg with a provided
//   buffer ring, sendmsg SQEs submitted together) on the same loads, built when
//   liburing is present, to decide whether an io_uring back end is worth it.
//   It reads the payload in place; a back end would hand the provided buffer
//   out as the PacketBuffer (which then needs a data offset: the kernel writes
//   a header and the peer address in front of the payload).

#include <sys/socket.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "dataplane/kernel/kernel_packet_io.h"
#include "dataplane/kernel/unique_fd.h"

#if __has_include(<liburing.h>) && defined(EARSHOT_BENCH_URING)
#include <liburing.h>
#define EARSHOT_HAVE_URING 1
#endif

namespace earshot::dataplane {
namespace {

constexpr size_t kRtpSize = 172;  // 12-byte header + 160 bytes of PCMU
constexpr int kSocketBuffer = 1 << 20;
const SocketAddress kLoopback = *SocketAddress::Parse("127.0.0.1", 0);

UniqueFd BoundSocket(int receive_buffer) {
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  sockaddr_storage storage;
  const socklen_t length = kLoopback.ToSockaddr(storage);
  bind(fd.get(), reinterpret_cast<sockaddr*>(&storage), length);
  return fd;
}

SocketAddress LocalOf(int fd) {
  sockaddr_storage storage;
  socklen_t length = sizeof(storage);
  getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  return SocketAddress::FromSockaddr(storage);
}

// Sends `per_target` datagrams to each target from its own thread, on request,
// so that the receiving thread's clock and task work see none of it.
class Feeder {
 public:
  explicit Feeder(std::vector<SocketAddress> targets)
      : targets_(std::move(targets)), fd_(BoundSocket(kSocketBuffer)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Feeder() {
    request_.store(-1);
    request_.notify_one();
    thread_.join();
  }
  // Returns once every datagram has been handed to the kernel.
  void Fill(int per_target) {
    const int generation = done_.load() + 1;
    per_target_ = per_target;
    request_.store(generation);
    request_.notify_one();
    while (done_.load() != generation) done_.wait(generation - 1);
  }

 private:
  void Run() {
    int seen = 0;
    for (;;) {
      request_.wait(seen);
      const int generation = request_.load();
      if (generation < 0) return;
      SendAll();
      seen = generation;
      done_.store(generation);
      done_.notify_one();
    }
  }
  void SendAll() {
    constexpr size_t kBatch = 64;
    mmsghdr msgs[kBatch] = {};
    iovec iov{payload_, kRtpSize};
    sockaddr_storage names[kBatch];
    size_t count = 0;
    auto flush = [&] {
      for (size_t done = 0; done < count;) {
        const int sent = sendmmsg(fd_.get(), msgs + done, static_cast<unsigned>(count - done), 0);
        if (sent <= 0) break;
        done += static_cast<size_t>(sent);
      }
      count = 0;
    };
    for (int round = 0; round < per_target_; ++round) {
      for (const SocketAddress& target : targets_) {
        msgs[count].msg_hdr.msg_iov = &iov;
        msgs[count].msg_hdr.msg_iovlen = 1;
        msgs[count].msg_hdr.msg_name = &names[count];
        msgs[count].msg_hdr.msg_namelen = target.ToSockaddr(names[count]);
        if (++count == kBatch) flush();
      }
    }
    flush();
  }

  std::vector<SocketAddress> targets_;
  UniqueFd fd_;
  uint8_t payload_[kRtpSize] = {0x80, 0x00};
  int per_target_ = 0;
  // request_ is stored by Fill and the destructor, loaded by Run; done_ is
  // stored by Run, loaded by Fill. Both pair seq_cst store with load.
  std::atomic<int> request_{0};
  std::atomic<int> done_{0};
  std::thread thread_;
};

void ReportPerPacket(benchmark::State& state, uint64_t packets, uint64_t syscalls) {
  state.SetItemsProcessed(static_cast<int64_t>(packets));
  state.counters["syscalls/pkt"] =
      static_cast<double>(syscalls) / static_cast<double>(packets ? packets : 1);
  // Seconds per packet, printed with an SI prefix (u = microseconds).
  state.counters["s/pkt"] = benchmark::Counter(
      static_cast<double>(packets), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Epoll + recvmmsg: drain legs x per_leg packets with bursts of 32.
void BM_KernelReceive(benchmark::State& state) {
  const int legs = static_cast<int>(state.range(0));
  const int per_leg = static_cast<int>(state.range(1));
  KernelPacketIoOptions options;
  options.socket_receive_buffer = kSocketBuffer;
  auto io = std::move(*KernelPacketIo::Create(options));
  std::vector<SocketAddress> targets;
  for (int i = 0; i < legs; ++i) targets.push_back(io->LocalAddress(*io->OpenPort(kLoopback)));
  Feeder feeder(targets);
  const size_t total = static_cast<size_t>(legs) * static_cast<size_t>(per_leg);
  PacketBuffer* burst[32];
  uint64_t packets = 0;
  const uint64_t syscalls_before = io->counters().syscalls;
  for (auto _ : state) {
    state.PauseTiming();
    feeder.Fill(per_leg);
    state.ResumeTiming();
    for (size_t got = 0; got < total;) {
      const size_t n = io->ReceiveBurst(burst);
      for (size_t i = 0; i < n; ++i) {
        benchmark::DoNotOptimize(burst[i]->data[0]);
        io->pool().Free(burst[i]);
      }
      if (n == 0) io->Wait(std::chrono::milliseconds(1));  // a straggler; rare
      got += n;
    }
    packets += total;
  }
  ReportPerPacket(state, packets, io->counters().syscalls - syscalls_before);
  if (io->counters().rx_packets != packets) state.SkipWithError("packets were lost");
}
BENCHMARK(BM_KernelReceive)
    ->ArgNames({"legs", "per_leg"})
    ->Args({1, 256})
    ->Args({8, 32})
    ->Args({256, 1})
    ->Args({1024, 1});

// SendBurst of 32 packets: spread over `legs` ports (32: one per leg, a mixer
// tick; 1: all from one port, the best case for sendmmsg).
void BM_KernelSend(benchmark::State& state) {
  const int legs = static_cast<int>(state.range(0));
  auto io = std::move(*KernelPacketIo::Create({}));
  std::vector<PortHandle> ports;
  for (int i = 0; i < legs; ++i) ports.push_back(*io->OpenPort(kLoopback));
  UniqueFd sink = BoundSocket(kSocketBuffer);
  const SocketAddress sink_address = LocalOf(sink.get());
  PacketBuffer* burst[32];
  uint8_t drain[64];
  uint64_t packets = 0;
  const uint64_t syscalls_before = io->counters().syscalls;
  for (auto _ : state) {
    for (size_t i = 0; i < 32; ++i) {
      PacketBuffer* buffer = io->pool().Alloc();
      buffer->size = kRtpSize;
      buffer->port = ports[i % ports.size()];
      buffer->peer = sink_address;
      burst[i] = buffer;
    }
    io->SendBurst(burst);
    packets += 32;
    state.PauseTiming();  // keep the sink from filling up and dropping
    while (recv(sink.get(), drain, sizeof(drain), MSG_DONTWAIT) > 0) {
    }
    state.ResumeTiming();
  }
  ReportPerPacket(state, packets, io->counters().syscalls - syscalls_before);
  if (io->counters().tx_dropped != 0) state.SkipWithError("packets were dropped");
}
BENCHMARK(BM_KernelSend)->ArgName("legs")->Arg(1)->Arg(32);

#ifdef EARSHOT_HAVE_URING
// A minimal io_uring receiver: one multishot recvmsg per socket, completions
// into one ring, payloads in buffers the kernel picks from a provided ring.
// DEFER_TASKRUN keeps the kernel's copying inside io_uring_enter on this thread,
// where the clock sees it (without it, task work can run at any kernel exit).
class UringRig {
 public:
  static constexpr unsigned kBuffers = 2048;  // a power of two
  static constexpr unsigned kBufferSize = 2048 + 256;
  static constexpr int kGroup = 0;

  explicit UringRig(int legs) : buffers_(size_t{kBuffers} * kBufferSize) {
    io_uring_params params{};
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    params.flags |= IORING_SETUP_CQSIZE;
    params.cq_entries = 8192;
    ok_ = io_uring_queue_init_params(1024, &ring_, &params) == 0;
    if (!ok_) return;
    void* memory = nullptr;
    ok_ = posix_memalign(&memory, 4096, kBuffers * sizeof(io_uring_buf)) == 0;
    if (!ok_) return;
    buffer_ring_ = static_cast<io_uring_buf_ring*>(memory);
    io_uring_buf_ring_init(buffer_ring_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uintptr_t>(memory);
    reg.ring_entries = kBuffers;
    reg.bgid = kGroup;
    ok_ = io_uring_register_buf_ring(&ring_, &reg, 0) == 0;
    if (!ok_) return;
    for (unsigned i = 0; i < kBuffers; ++i) Recycle(static_cast<uint16_t>(i));
    msg_.msg_namelen = sizeof(sockaddr_in);
    for (int i = 0; i < legs; ++i) {
      sockets_.push_back(BoundSocket(kSocketBuffer));
      targets_.push_back(LocalOf(sockets_.back().get()));
      Arm(static_cast<size_t>(i));
    }
    io_uring_submit(&ring_);
  }
  ~UringRig() {
    if (buffer_ring_ != nullptr) free(buffer_ring_);
    io_uring_queue_exit(&ring_);
  }
  bool ok() const { return ok_; }
  const std::vector<SocketAddress>& targets() const { return targets_; }
  io_uring& ring() { return ring_; }
  const std::vector<UniqueFd>& sockets() const { return sockets_; }

  // Reaps completions until `count` datagrams came in; returns enter calls made.
  uint64_t Receive(size_t count) {
    uint64_t calls = 0;
    size_t got = 0;
    while (got < count) {
      ++calls;
      io_uring_submit_and_wait(&ring_, 1);  // also re-arms, if any were queued
      unsigned head;
      unsigned seen = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        ++seen;
        const size_t leg = static_cast<size_t>(cqe->user_data);
        if (!(cqe->flags & IORING_CQE_F_MORE)) Arm(leg);  // ENOBUFS or a hiccup
        if (cqe->res < 0 || !(cqe->flags & IORING_CQE_F_BUFFER)) continue;
        const auto id = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        uint8_t* buffer = &buffers_[size_t{id} * kBufferSize];
        io_uring_recvmsg_out* out = io_uring_recvmsg_validate(buffer, cqe->res, &msg_);
        if (out != nullptr && !(out->flags & MSG_TRUNC)) {
          const auto* payload = static_cast<uint8_t*>(io_uring_recvmsg_payload(out, &msg_));
          benchmark::DoNotOptimize(payload[0]);
          ++got;
        }
        Recycle(id);
      }
      io_uring_cq_advance(&ring_, seen);
    }
    return calls;
  }

 private:
  void Arm(size_t leg) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    io_uring_prep_recvmsg_multishot(sqe, sockets_[leg].get(), &msg_, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = kGroup;
    sqe->user_data = leg;
  }
  void Recycle(uint16_t id) {
    io_uring_buf_ring_add(buffer_ring_, &buffers_[size_t{id} * kBufferSize], kBufferSize, id,
                          io_uring_buf_ring_mask(kBuffers), 0);
    io_uring_buf_ring_advance(buffer_ring_, 1);
  }

  io_uring ring_{};
  io_uring_buf_ring* buffer_ring_ = nullptr;
  std::vector<uint8_t> buffers_;
  msghdr msg_{};  // only msg_namelen / msg_controllen matter to multishot
  std::vector<UniqueFd> sockets_;
  std::vector<SocketAddress> targets_;
  bool ok_ = false;
};

void BM_UringReceive(benchmark::State& state) {
  const int legs = static_cast<int>(state.range(0));
  const int per_leg = static_cast<int>(state.range(1));
  UringRig rig(legs);
  if (!rig.ok()) {
    state.SkipWithError("io_uring set-up failed");
    return;
  }
  Feeder feeder(rig.targets());
  const size_t total = static_cast<size_t>(legs) * static_cast<size_t>(per_leg);
  uint64_t packets = 0;
  uint64_t calls = 0;
  for (auto _ : state) {
    state.PauseTiming();
    feeder.Fill(per_leg);
    state.ResumeTiming();
    calls += rig.Receive(total);
    packets += total;
  }
  ReportPerPacket(state, packets, calls);
}
BENCHMARK(BM_UringReceive)
    ->ArgNames({"legs", "per_leg"})
    ->Args({1, 256})
    ->Args({8, 32})
    ->Args({256, 1})
    ->Args({1024, 1});

// 32 sendmsg SQEs, one per leg, in one io_uring_enter: what SendBurst would
// become on io_uring.
void BM_UringSend(benchmark::State& state) {
  const int legs = static_cast<int>(state.range(0));
  UringRig rig(legs);
  if (!rig.ok()) {
    state.SkipWithError("io_uring set-up failed");
    return;
  }
  UniqueFd sink = BoundSocket(kSocketBuffer);
  sockaddr_storage sink_name;
  const socklen_t sink_length = LocalOf(sink.get()).ToSockaddr(sink_name);
  uint8_t payload[32][kRtpSize] = {};
  iovec iovs[32];
  msghdr msgs[32];
  for (size_t i = 0; i < 32; ++i) {
    iovs[i] = {payload[i], kRtpSize};
    msgs[i] = {};
    msgs[i].msg_name = &sink_name;
    msgs[i].msg_namelen = sink_length;
    msgs[i].msg_iov = &iovs[i];
    msgs[i].msg_iovlen = 1;
  }
  constexpr uint64_t kSendTag = uint64_t{1} << 62;  // apart from the receive legs
  uint8_t drain[64];
  uint64_t packets = 0;
  uint64_t calls = 0;
  uint64_t failed = 0;
  io_uring& ring = rig.ring();
  for (auto _ : state) {
    for (size_t i = 0; i < 32; ++i) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      io_uring_prep_sendmsg(sqe, rig.sockets()[i % rig.sockets().size()].get(), &msgs[i],
                            MSG_DONTWAIT);
      sqe->user_data = kSendTag | i;
    }
    io_uring_submit_and_wait(&ring, 32);  // UDP sends complete inline
    ++calls;
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      if ((cqe->user_data & kSendTag) && cqe->res < 0) ++failed;
    }
    io_uring_cq_advance(&ring, seen);
    packets += 32;
    state.PauseTiming();
    while (recv(sink.get(), drain, sizeof(drain), MSG_DONTWAIT) > 0) {
    }
    state.ResumeTiming();
  }
  ReportPerPacket(state, packets, calls);
  if (failed != 0) state.SkipWithError("sends failed");
}
BENCHMARK(BM_UringSend)->ArgName("legs")->Arg(1)->Arg(32);
#endif  // EARSHOT_HAVE_URING

}  // namespace
}  // namespace earshot::dataplane

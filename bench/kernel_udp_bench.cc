// The kernel UDP back ends through loopback: receive and send cost per packet.
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
// * Every case runs on both kernel back ends, named by the second part of the
//   benchmark name: epoll (KernelPacketIo: epoll + recvmmsg/sendmmsg) and
//   io_uring (UringPacketIo: multishot recvmsg into a provided buffer ring,
//   sendmsg SQEs submitted per burst). Same PacketIo calls, same counters. The
//   io_uring cases are skipped, with the reason, where io_uring is unavailable.
//   With DEFER_TASKRUN the kernel's receive work for io_uring (copying into the
//   provided buffers, posting completions) runs inside the worker's own
//   io_uring_enter, so the clock sees it, as it sees recvmmsg's copy for epoll.

#include <sys/socket.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "dataplane/kernel/kernel_io_mode.h"
#include "dataplane/kernel/kernel_packet_io.h"
#include "dataplane/kernel/unique_fd.h"

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

// The back end under test, or nullptr after marking the case skipped.
std::unique_ptr<PacketIo> MakeBackEnd(benchmark::State& state, KernelIoMode mode,
                                      const KernelPacketIoOptions& options) {
  auto io = MakeKernelPacketIo(options, mode);
  if (!io) {
    state.SkipWithError(io.error().message.c_str());
    return nullptr;
  }
  return std::move(*io);
}

// Drain legs x per_leg packets with bursts of 32.
void BM_Receive(benchmark::State& state, KernelIoMode mode) {
  const int legs = static_cast<int>(state.range(0));
  const int per_leg = static_cast<int>(state.range(1));
  KernelPacketIoOptions options;
  options.socket_receive_buffer = kSocketBuffer;
  std::unique_ptr<PacketIo> io = MakeBackEnd(state, mode, options);
  if (io == nullptr) return;
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

#define EARSHOT_RECEIVE_CASES(backend, mode)        \
  BENCHMARK_CAPTURE(BM_Receive, backend, mode)      \
      ->ArgNames({"legs", "per_leg"})               \
      ->Args({1, 256})                              \
      ->Args({8, 32})                               \
      ->Args({256, 1})                              \
      ->Args({1024, 1})
EARSHOT_RECEIVE_CASES(epoll, KernelIoMode::kEpoll);
EARSHOT_RECEIVE_CASES(io_uring, KernelIoMode::kUring);

// SendBurst of 32 packets: spread over `legs` ports (32: one per leg, a mixer
// tick; 1: all from one port, the best case for sendmmsg).
void BM_Send(benchmark::State& state, KernelIoMode mode) {
  const int legs = static_cast<int>(state.range(0));
  std::unique_ptr<PacketIo> io = MakeBackEnd(state, mode, {});
  if (io == nullptr) return;
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
BENCHMARK_CAPTURE(BM_Send, epoll, KernelIoMode::kEpoll)->ArgName("legs")->Arg(1)->Arg(32);
BENCHMARK_CAPTURE(BM_Send, io_uring, KernelIoMode::kUring)->ArgName("legs")->Arg(1)->Arg(32);

}  // namespace
}  // namespace earshot::dataplane

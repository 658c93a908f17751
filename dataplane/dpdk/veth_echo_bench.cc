// CPU per packet of the DPDK back end (net_af_packet) against the kernel back
// end (KernelPacketIo, epoll + recvmmsg/sendmmsg) on the same veth pair at the
// same load. A packet thread receives bursts and sends every datagram straight
// back (rx + tx through PacketIo, as a worker does); a generator in a network
// namespace sends 172-byte datagrams at a fixed rate over several flows and
// counts the echoes. Reported: the packet thread's CPU time per echoed packet
// (CLOCK_THREAD_CPUTIME_ID) and the loss. af_packet is itself a kernel
// software device, so only the ratio between the two means anything.
//
// Root only. Usage: dpdk_veth_echo_bench dpdk|kernel [seconds=3] [pps=20000] [dpdk idle_sleep_us]

#include <pthread.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/dpdk/dpdk_packet_io.h"
#include "dataplane/dpdk/eal.h"
#include "dataplane/dpdk/veth_wire_testing.h"
#include "dataplane/kernel/kernel_packet_io.h"

namespace earshot::dataplane::dpdk {
namespace {

constexpr char kPeerIp[] = "10.215.0.1";
constexpr char kOurIp[] = "10.215.0.2";
constexpr uint16_t kPort = 46000;
constexpr int kFlows = 8;
constexpr size_t kPayload = 172;

int64_t ThreadCpuNs() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s dpdk|kernel [seconds] [pps]\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 3;
  const int pps = argc > 3 ? std::atoi(argv[3]) : 20000;
  if (geteuid() != 0) {
    std::fprintf(stderr, "needs root (veth, netns, af_packet)\n");
    return 2;
  }
  testing::VethWire wire(std::string(kPeerIp) + "/24");
  if (std::string why = wire.SetUp(); !why.empty()) {
    std::fprintf(stderr, "veth/netns: %s\n", why.c_str());
    return 2;
  }

  // EARSHOT_BENCH_RPS_CPU=1: the peers' receive stack runs on CPU 1, not on the
  // packet thread's CPU (see VethWire::SteerReceiveTo); the packet thread is
  // then pinned to CPU 0 and the generator to CPU 1.
  const char* rps = std::getenv("EARSHOT_BENCH_RPS_CPU");
  if (rps != nullptr) {
    if (std::string why = wire.SteerReceiveTo(std::atoi(rps)); !why.empty()) {
      std::fprintf(stderr, "rps: %s\n", why.c_str());
      return 2;
    }
  }
  auto pin = [](int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  };
  std::optional<Eal> eal;
  std::unique_ptr<DpdkPort> port;
  std::unique_ptr<PacketIo> io;
  if (mode == "dpdk") {
    auto started = Eal::Init({"-l", "0", "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry", "-m", "256",
                              "--vdev=net_af_packet0,iface=" + wire.dpdk_if(), "--log-level=lib.eal:error"});
    if (!started) return std::fprintf(stderr, "%s\n", started.error().message.c_str()), 1;
    eal.emplace(std::move(*started));
    DpdkPortOptions options;
    options.port_name = "net_af_packet0";
    options.ip = *ParseIpv4(kOurIp);
    options.prefix_length = 24;
    // The default naps, so that CPU time is work, not spinning; 0 spins.
    if (argc > 4) options.idle_sleep = std::chrono::microseconds(std::atoi(argv[4]));
    auto made = DpdkPort::Create(options);
    if (!made) return std::fprintf(stderr, "%s\n", made.error().message.c_str()), 1;
    port = std::move(*made);
    auto packet_io = port->MakePacketIo(0, kPort, kPort + 99);
    if (!packet_io) return 1;
    io = std::move(*packet_io);
  } else {
    testing::Run({"ip", "addr", "add", std::string(kOurIp) + "/24", "dev", wire.dpdk_if()});
    auto made = KernelPacketIo::Create(KernelPacketIoOptions{});
    if (!made) return std::fprintf(stderr, "%s\n", made.error().message.c_str()), 1;
    io = std::move(*made);
  }
  if (!io->OpenPort(*SocketAddress::Parse(kOurIp, kPort))) return std::fprintf(stderr, "open failed\n"), 1;

  std::atomic<bool> stop{false};
  std::atomic<int64_t> cpu_ns{0};
  std::atomic<uint64_t> echoed{0};
  std::thread echo([&] {
    pthread_setname_np(pthread_self(), "echo");  // perf report --comm echo
    if (rps != nullptr) pin(0);
    const int64_t start = ThreadCpuNs();
    uint64_t count = 0;
    PacketBuffer* burst[32];
    while (!stop.load(std::memory_order_relaxed)) {
      io->Wait(std::chrono::milliseconds(1));
      const size_t n = io->ReceiveBurst(burst);
      if (n > 0) count += io->SendBurst({burst, n});  // port and peer stay: back to the sender
    }
    io->Wait(std::chrono::nanoseconds(0));
    cpu_ns = ThreadCpuNs() - start;
    echoed = count;
  });

  if (rps != nullptr) pin(1);
  std::vector<int> fds(kFlows, -1);
  testing::InNamespace(wire.ns_fd(), [&] {
    for (int& fd : fds) {
      fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      sockaddr_in local{};
      local.sin_family = AF_INET;
      inet_pton(AF_INET, kPeerIp, &local.sin_addr);
      bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
      int buffer = 4 << 20;
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    }
  });
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(kPort);
  inet_pton(AF_INET, kOurIp, &to.sin_addr);
  uint8_t payload[kPayload] = {0x80, 0};
  uint64_t sent = 0;
  uint64_t received = 0;
  auto drain = [&] {
    uint8_t buffer[2048];
    for (int fd : fds) {
      while (recv(fd, buffer, sizeof buffer, 0) > 0) ++received;
    }
  };
  // Warm-up: ARP both ways.
  for (int fd : fds) sendto(fd, payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  drain();
  received = 0;
  const auto begin = std::chrono::steady_clock::now();
  auto next = begin;
  const int per_ms = std::max(1, pps / 1000);
  while (std::chrono::steady_clock::now() - begin < std::chrono::seconds(seconds)) {
    for (int i = 0; i < per_ms; ++i) {
      sendto(fds[static_cast<size_t>(i % kFlows)], payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&to),
             sizeof to);
      ++sent;
    }
    drain();
    next += std::chrono::milliseconds(1);
    std::this_thread::sleep_until(next);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  drain();
  stop = true;
  echo.join();
  for (int fd : fds) close(fd);
  const double per_packet = echoed > 0 ? static_cast<double>(cpu_ns) / static_cast<double>(echoed.load()) : 0;
  std::printf("%s: offered %d pps for %d s: sent %lu echoed %lu received %lu (loss %.2f%%), packet thread "
              "CPU %.3f s = %.0f ns per echoed packet (rx+tx), %.0f%% of a core\n",
              mode.c_str(), pps, seconds, sent, echoed.load(), received,
              sent ? 100.0 * (1.0 - static_cast<double>(received) / static_cast<double>(sent)) : 0.0,
              cpu_ns / 1e9, per_packet, 100.0 * (cpu_ns / 1e9) / (seconds + 0.4));
  if (port != nullptr) {
    const DpdkQueueCounters& c = port->queue_counters(0);
    std::printf("dpdk queue 0: rx %lu delivered %lu tx %lu nic_full %lu pool_empty %lu mbuf_exhausted %lu\n",
                c.rx_frames.load(), c.rx_delivered.load(), c.tx_frames.load(), c.tx_nic_full.load(),
                c.rx_pool_empty.load(), c.mbuf_exhausted.load());
  }
  io.reset();
  port.reset();
  return 0;
}

}  // namespace
}  // namespace earshot::dataplane::dpdk

int main(int argc, char** argv) { return earshot::dataplane::dpdk::Main(argc, argv); }

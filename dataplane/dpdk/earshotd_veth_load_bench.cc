// earshotd's CPU per packet on the DPDK path (net_af_packet) against the kernel
// path, at the same load on the same veth pair (issue 10's benchmark). For each
// step N: a fresh earshotd with one worker pinned to CPU 0 (DPDK: driving one
// end of the veth pair; kernel: the same end with the media address on it),
// N two-party PCMU calls set up through its gRPC API, and phones in a network
// namespace behind the other end (a generator thread pinned to CPU 1) sending
// one 172-byte RTP packet per leg every 20 ms, spread over the 20 ms, and
// reading what comes back. Over the steady window it reports earshotd's CPU
// (utime + stime of the whole process, /proc/PID/stat), the packets its worker
// received and sent (GetStatus), their ratio (ns per packet), tick overruns,
// and the loss both ways. af_packet is a kernel software device, so only the
// ratio between the two paths means anything.
//
// earshot-load cannot drive this: it binds its legs to 127.0.0.1 and tells
// earshotd to send there, and a DPDK port has no loopback.
//
// Root only. Usage:
//   dpdk_earshotd_veth_load_bench EARSHOTD dpdk|kernel N[,N...] [seconds=10] [-- earshotd flags...]
// EARSHOT_PERF_OUT=FILE records `perf record -g` of earshotd over the steady
// window of the last step into FILE. EARSHOT_BENCH_RPS_CPU=1 steers the
// kernel's receive work at both ends of the veth pair to CPU 1
// (VethWire::SteerReceiveTo): without it, the namespace's IP/UDP receive of
// every packet earshotd sends runs on earshotd's CPU and is counted as its
// cost, on both paths, where on a real wire it is the far end's.

#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "dataplane/dpdk/veth_wire_testing.h"
#include "earshot/v1/sessions.grpc.pb.h"
#include "earshot/v1/system.grpc.pb.h"
#include "tests/support/subprocess.h"

namespace earshot::dataplane::dpdk {
namespace {

namespace v1 = earshot::v1;
using namespace std::chrono_literals;
using earshot::testing::Subprocess;

constexpr char kPeerIp[] = "10.216.0.1";
constexpr char kOurIp[] = "10.216.0.2";
constexpr size_t kRtpSize = 12 + 160;
constexpr char kEal[] = "-l 0 --no-huge --no-pci --no-shconf --no-telemetry -m 512 --log-level=lib.eal:error";

void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// The pid of our child process named `comm`, 0 if none.
pid_t ChildNamed(const std::string& comm) {
  for (int tries = 0; tries < 50; ++tries) {
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
      std::ifstream stat(entry.path() / "stat");
      std::string line;
      if (!std::getline(stat, line)) continue;
      const size_t open = line.find('(');
      const size_t close = line.rfind(')');
      if (open == std::string::npos || close == std::string::npos) continue;
      std::istringstream rest(line.substr(close + 2));
      char state = 0;
      int ppid = 0;
      rest >> state >> ppid;
      if (ppid == getpid() && line.substr(open + 1, close - open - 1) == comm) return std::stoi(name);
    }
    std::this_thread::sleep_for(20ms);
  }
  return 0;
}

// utime + stime of `pid`, in seconds.
double CpuSeconds(pid_t pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  std::getline(stat, line);
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  uint64_t utime = 0;
  uint64_t stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Totals {
  uint64_t rx = 0;
  uint64_t tx = 0;
  uint64_t overruns = 0;
};

Totals WorkerTotals(v1::System::Stub& system) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 5s);
  v1::GetStatusResponse status;
  Totals totals;
  if (!system.GetStatus(&context, v1::GetStatusRequest(), &status).ok()) return totals;
  for (const v1::WorkerStatus& worker : status.workers()) {
    totals.rx += worker.rx_packets();
    totals.tx += worker.tx_packets();
    totals.overruns += worker.tick_overruns();
  }
  return totals;
}

struct Leg {
  int fd = -1;
  sockaddr_in to{};
  uint16_t seq = 0;
  uint32_t ts = 0;
  uint32_t ssrc = 0;
};

struct Step {
  int calls = 0;
  double cpu_s = 0;
  double wall_s = 0;
  Totals delta;
  uint64_t sent = 0;
  uint64_t received = 0;
};

std::string RunStep(const std::string& earshotd, const std::string& mode, int calls, int seconds,
                    const std::vector<std::string>& extra, testing::VethWire& wire, Step& step,
                    const char* perf_out) {
  std::vector<std::string> argv = {"taskset", "-c", "0", earshotd, "--workers", "1", "--pin-workers", "false",
                                   "--grpc-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
                                   "--rtp-ports", "40000-49999"};
  if (mode == "dpdk") {
    for (const char* arg : {"--dataplane", "dpdk", "--dpdk-eal", kEal, "--dpdk-ip", "10.216.0.2/24"}) {
      argv.emplace_back(arg);
    }
    argv.push_back("--dpdk-port");
    argv.push_back("net_af_packet0,iface=" + wire.dpdk_if());
  } else {
    for (const char* arg : {"--dataplane", "kernel", "--rtp-ip", kOurIp}) argv.emplace_back(arg);
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  Subprocess daemon(testing::Resolved(argv));
  if (!daemon.WaitForStderr("listening", 20s)) return "earshotd did not start: " + daemon.stderr_text();
  std::smatch match;
  const std::string log = daemon.stderr_text();
  if (!std::regex_search(log, match, std::regex("grpc=(127\\.0\\.0\\.1:[0-9]+)"))) return "no grpc= in " + log;
  const pid_t pid = ChildNamed("earshotd");
  if (pid == 0) return "cannot find earshotd's pid";
  auto channel = grpc::CreateChannel(match[1].str(), grpc::InsecureChannelCredentials());
  auto sessions = v1::Sessions::NewStub(channel);
  auto system = v1::System::NewStub(channel);

  // The phones: one socket per leg in the namespace.
  std::vector<Leg> legs(static_cast<size_t>(2 * calls));
  testing::InNamespace(wire.ns_fd(), [&] {
    for (Leg& leg : legs) {
      leg.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      sockaddr_in local{};
      local.sin_family = AF_INET;
      inet_pton(AF_INET, kPeerIp, &local.sin_addr);
      bind(leg.fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
    }
  });
  const int epoll = epoll_create1(EPOLL_CLOEXEC);
  for (size_t i = 0; i < legs.size(); ++i) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    epoll_ctl(epoll, EPOLL_CTL_ADD, legs[i].fd, &event);
    legs[i].ssrc = static_cast<uint32_t>(0x10000 + i);
  }
  for (int call = 0; call < calls; ++call) {
    const std::string id = fmt::format("bench-{}", call);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 5s);
    v1::CreateSessionRequest create;
    create.set_id(id);
    create.set_rate(8000);
    v1::Session session;
    if (grpc::Status s = sessions->CreateSession(&context, create, &session); !s.ok()) {
      return "CreateSession: " + s.error_message();
    }
    for (int party = 0; party < 2; ++party) {
      Leg& leg = legs[static_cast<size_t>(2 * call + party)];
      sockaddr_in local{};
      socklen_t size = sizeof local;
      getsockname(leg.fd, reinterpret_cast<sockaddr*>(&local), &size);
      grpc::ClientContext leg_context;
      leg_context.set_deadline(std::chrono::system_clock::now() + 5s);
      v1::AddLegRequest request;
      request.set_session_id(id);
      request.set_leg_id(party == 0 ? "customer" : "agent");
      request.mutable_spec()->set_role(party == 0 ? v1::ROLE_CUSTOMER : v1::ROLE_AGENT);
      request.mutable_spec()->set_codec("PCMU");
      request.mutable_spec()->set_payload_type(0);
      request.mutable_spec()->set_remote(fmt::format("{}:{}", kPeerIp, ntohs(local.sin_port)));
      v1::Leg made;
      if (grpc::Status s = sessions->AddLeg(&leg_context, request, &made); !s.ok()) {
        return "AddLeg: " + s.error_message();
      }
      leg.to.sin_family = AF_INET;
      leg.to.sin_port = htons(static_cast<uint16_t>(made.local_port()));
      inet_pton(AF_INET, made.local_ip().c_str(), &leg.to.sin_addr);
    }
  }

  // The generator: every leg sends at its own phase of the 20 ms period.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> received{0};
  std::thread generator([&] {
    PinTo(1);
    uint8_t packet[kRtpSize] = {};
    std::fill(packet + 12, packet + kRtpSize, 0xFF);  // PCMU silence
    uint8_t buffer[2048];
    epoll_event events[256];
    const size_t per_ms = (legs.size() + 19) / 20;
    auto next = std::chrono::steady_clock::now();
    for (size_t slot = 0; !stop.load(std::memory_order_relaxed); slot = (slot + 1) % 20) {
      for (size_t i = slot * per_ms; i < std::min(legs.size(), (slot + 1) * per_ms); ++i) {
        Leg& leg = legs[i];
        packet[0] = 0x80;
        packet[1] = 0;
        packet[2] = static_cast<uint8_t>(leg.seq >> 8);
        packet[3] = static_cast<uint8_t>(leg.seq);
        for (int b = 0; b < 4; ++b) packet[4 + b] = static_cast<uint8_t>(leg.ts >> (24 - 8 * b));
        for (int b = 0; b < 4; ++b) packet[8 + b] = static_cast<uint8_t>(leg.ssrc >> (24 - 8 * b));
        ++leg.seq;
        leg.ts += 160;
        if (sendto(leg.fd, packet, kRtpSize, 0, reinterpret_cast<const sockaddr*>(&leg.to), sizeof leg.to) > 0) {
          sent.fetch_add(1, std::memory_order_relaxed);
        }
      }
      next += 1ms;
      for (;;) {
        const int n = epoll_wait(epoll, events, 256, 0);
        for (int e = 0; e < n; ++e) {
          const int fd = legs[events[e].data.u64].fd;
          while (recv(fd, buffer, sizeof buffer, 0) > 0) received.fetch_add(1, std::memory_order_relaxed);
        }
        if (n < 256) break;
      }
      std::this_thread::sleep_until(next);
    }
  });

  std::this_thread::sleep_for(3s);  // latching, jitter buffers, ARP
  const Totals before = WorkerTotals(*system);
  const uint64_t sent0 = sent.load();
  const uint64_t received0 = received.load();
  const double cpu0 = CpuSeconds(pid);
  const auto t0 = std::chrono::steady_clock::now();
  if (perf_out != nullptr) {
    testing::Run({"perf", "record", "-g", "-q", "-o", perf_out, "-p", std::to_string(pid), "--", "sleep",
                  std::to_string(seconds)});
  } else {
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
  }
  const double cpu1 = CpuSeconds(pid);
  const auto t1 = std::chrono::steady_clock::now();
  const Totals after = WorkerTotals(*system);
  step.sent = sent.load() - sent0;
  step.received = received.load() - received0;
  stop = true;
  generator.join();
  step.calls = calls;
  step.cpu_s = cpu1 - cpu0;
  step.wall_s = std::chrono::duration<double>(t1 - t0).count();
  step.delta = {after.rx - before.rx, after.tx - before.tx, after.overruns - before.overruns};
  daemon.Signal(SIGTERM);
  daemon.Wait(20s);
  for (Leg& leg : legs) close(leg.fd);
  close(epoll);
  return {};
}

int Main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s EARSHOTD dpdk|kernel N[,N...] [seconds] [-- earshotd flags...]\n", argv[0]);
    return 2;
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "needs root (veth, netns, af_packet)\n");
    return 2;
  }
  const std::string earshotd = argv[1];
  const std::string mode = argv[2];
  std::vector<int> steps;
  for (std::stringstream list(argv[3]); list.good();) {
    std::string n;
    std::getline(list, n, ',');
    if (!n.empty()) steps.push_back(std::stoi(n));
  }
  int seconds = 10;
  int arg = 4;
  if (arg < argc && std::string(argv[arg]) != "--") seconds = std::atoi(argv[arg++]);
  if (arg < argc && std::string(argv[arg]) == "--") ++arg;
  std::vector<std::string> extra(argv + arg, argv + argc);
  const char* perf_out = std::getenv("EARSHOT_PERF_OUT");
  signal(SIGPIPE, SIG_IGN);

  testing::VethWire wire(std::string(kPeerIp) + "/24");
  if (std::string why = wire.SetUp(); !why.empty()) {
    std::fprintf(stderr, "veth/netns: %s\n", why.c_str());
    return 2;
  }
  if (mode == "kernel") {
    testing::Run({"ip", "addr", "add", std::string(kOurIp) + "/24", "dev", wire.dpdk_if()});
  }
  const char* rps = std::getenv("EARSHOT_BENCH_RPS_CPU");
  if (rps != nullptr) {
    if (std::string why = wire.SteerReceiveTo(std::atoi(rps)); !why.empty()) {
      std::fprintf(stderr, "rps: %s\n", why.c_str());
      return 2;
    }
  }
  std::printf("# %s path, earshotd (1 worker) on CPU 0, phones on CPU 1, %d s per step, receive steering %s %s\n",
              mode.c_str(), seconds, rps != nullptr ? fmt::format("to CPU {}", rps).c_str() : "off",
              fmt::format("{}", fmt::join(extra, " ")).c_str());
  std::printf("%6s %8s %9s %9s %8s %9s %9s %9s\n", "calls", "pkts/s", "cpu_%", "ns/pkt", "overrun",
              "lost_in", "lost_out", "verdict");
  for (size_t i = 0; i < steps.size(); ++i) {
    Step step;
    std::string why = RunStep(earshotd, mode, steps[i], seconds, extra, wire, step,
                              i + 1 == steps.size() ? perf_out : nullptr);
    if (!why.empty()) {
      std::fprintf(stderr, "N=%d: %s\n", steps[i], why.c_str());
      return 1;
    }
    const double packets = static_cast<double>(step.delta.rx + step.delta.tx);
    const double lost_in = 1.0 - static_cast<double>(step.delta.rx) / std::max<double>(1, static_cast<double>(step.sent));
    const double lost_out =
        1.0 - static_cast<double>(step.received) / std::max<double>(1, static_cast<double>(step.delta.tx));
    // Loss under 0.1 % both ways, late phases under 1 % (a shared VM has hiccups).
    const bool ok = lost_in < 0.001 && lost_out < 0.001 &&
                    static_cast<double>(step.delta.overruns) < 10.0 * step.wall_s;
    std::printf("%6d %8.0f %8.1f%% %9.0f %8lu %8.2f%% %8.2f%% %9s\n", step.calls, packets / step.wall_s,
                100.0 * step.cpu_s / step.wall_s, packets > 0 ? 1e9 * step.cpu_s / packets : 0.0,
                step.delta.overruns, 100.0 * lost_in, 100.0 * lost_out, ok ? "ok" : "over");
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace
}  // namespace earshot::dataplane::dpdk

int main(int argc, char** argv) { return earshot::dataplane::dpdk::Main(argc, argv); }

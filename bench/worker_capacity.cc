// earshot-worker-capacity: how many packets per second one worker receives, mixes
// and sends on loopback, with N 3-leg G.711 calls, and what each packet costs.
//
// Target (from the issue): >= 250,000 packets/s received and as many sent per
// worker core (about 1,650 calls of 3 legs at 20 ms), with zero loss below the
// knee. Not a Google Benchmark: it runs in real time, one step per call count.
//
// A step, for N calls:
// * One Worker with a KernelPacketIo (epoll + recvmmsg/sendmmsg; --io io_uring
//   takes the io_uring back end instead), 1 MiB socket buffers, pinned to
//   --worker-cpu, owning a port range sized for the 3N legs. N sessions are
//   made through Worker::Call as the control plane makes them: customer, agent
//   and a supervisor in barge, so every leg gets a mix of its own (3 mixes and
//   3 encodes per call per tick). G.711 u-law, default jitter buffer. Legs
//   latch to their far end (no remote configured), so a leg starts sending
//   when the generator's first packet reaches it, not while later calls are
//   still being set up.
// * A load generator thread, pinned to --generator-cpu, plays the far ends.
//   Every 20 ms each leg sends one 172-byte PCMU RTP packet (its own SSRC,
//   sequence +1, timestamp +160), paced to absolute deadlines; the calls are
//   spread over the 20 ms in 1 ms slots (call i in slot i mod 20). It drains
//   what Earshot sends back (epoll + recvmmsg) and checks every leg's stream:
//   sequence gaps are packets lost on the way out (loss out), a timestamp
//   step larger than the sequence step is a frame skipped with
//   RtpLeg::SkipTick. (A tick the worker skips as a whole advances neither;
//   it shows as tx below 3N x 50 and in skipped_ticks.)
//   --generator per-leg (default): one socket per leg, one sendto per packet,
//   as real far ends are. --generator shared: a few sockets, each the far end
//   of many legs, sending with sendmmsg; Earshot's side is unchanged (one
//   socket per leg). It saves the generator system calls, not much CPU: on
//   loopback a send pays for delivering the packet, whatever the batching.
// * The first --warmup seconds are skipped; rates, CPU and stream checks cover
//   the rest. Loss in is generator sent - Earshot received (rx_packets) over
//   the generator's whole run, read 200 ms after it stops sending: packets the
//   kernel dropped (udp_rcvbuf_errors in the JSON, system-wide) or that were
//   still queued unread in Earshot's sockets, i.e. the worker fell behind.
// * --sched fifo (default) runs the worker and generator threads SCHED_FIFO,
//   so that others' work on a shared machine does not preempt them (the kernel
//   still leaves 5% of each CPU to others: a saturated worker shows ~95% CPU
//   and ~5% wait). nice -20 does not help there: it only weighs within the
//   session's autogroup, and every other session is a group with equal share.
//
// CPU: the worker thread's CPU clock over the window, split into user (ours:
// RTP, jitter buffer, codecs, mixing, bookkeeping) and kernel (its epoll_wait,
// recvmmsg and sendmmsg) by sampling its instruction pointer every 100 us of
// its CPU time with perf's task-clock (a software event: no PMU needed). The
// kernel's own utime/stime come from the scheduler tick, which a thread
// waking on millisecond timers meets mostly in the kernel; they are used only
// if perf_event_open is refused. On loopback a send also runs the receiving
// side's IP/UDP work and wakes the receiver, so Earshot's kernel time includes
// delivering its packets to the generator, and the generator pays for
// delivering its packets to Earshot. With a NIC, transmit is cheaper and the
// receive protocol work is softirq time on whichever core takes the interrupt.
//
// A step passes when nothing was lost either way, the worker had no overrun and
// skipped no tick, Earshot sent every frame (>= 99% of 3N x 50 packets/s), and
// the generator offered the load (>= 99%, lateness p99 under 5 ms; otherwise
// the generator, not the worker, is the limit). The knee is the largest N
// that passed; smaller steps that failed anyway are listed beside it (on a
// shared VM a stray overrun at light load usually comes from the machine, not
// the load: see wait%, and run the step again).

#include <arpa/inet.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "codecs/g711.h"
#include "dataplane/kernel/kernel_io_mode.h"
#include "dataplane/kernel/kernel_packet_io.h"
#include "dataplane/kernel/unique_fd.h"
#include "dataplane/worker.h"
#include "mixer/leg_media.h"
#include "mixer/media_session.h"

namespace earshot::dataplane {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kMs = 1'000'000;
constexpr int kSlots = 20;  // 1 ms generator slots per 20 ms tick
constexpr size_t kRtpSize = 172;
constexpr size_t kRtpHeader = 12;
constexpr uint32_t kGeneratorSsrcBase = 0x10000000;
constexpr uint32_t kEarshotSsrcBase = 0x20000000;
constexpr int kSocketBuffer = 1 << 20;
constexpr int kSharedReceiveBuffer = 4 << 20;
constexpr auto kCallTimeout = 2000ms;

int64_t NowNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

void Bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

uint64_t Load(const std::atomic<uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

bool PinThread(std::thread& thread, int cpu) {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(cpu, &cpus);
  return pthread_setaffinity_np(thread.native_handle(), sizeof cpus, &cpus) == 0;
}

// ---------------------------------------------------------------------------
// CPU accounting from /proc.

struct ThreadCpu {
  uint64_t run_ns = 0;    // the thread's CPU clock: time on CPU
  uint64_t wait_ns = 0;   // schedstat: time runnable but waiting for the CPU
  uint64_t utime = 0;     // stat, clock ticks: the tick-sampled split, a fallback
  uint64_t stime = 0;
};

// The CPU-time clock of another thread of this process, by its kernel tid
// (what pthread_getcpuclockid makes from a pthread_t; Worker does not show its
// thread). Unlike /proc it includes the time since the thread last left the CPU.
uint64_t ThreadCpuNs(pid_t tid) {
  const clockid_t clock = static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | 6u);  // per thread, sched
  timespec now{};
  if (clock_gettime(clock, &now) != 0) return 0;
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(now.tv_nsec);
}

std::optional<ThreadCpu> ReadThreadCpu(pid_t tid) {
  ThreadCpu cpu;
  const std::string base = fmt::format("/proc/self/task/{}/", tid);
  std::ifstream schedstat(base + "schedstat");
  uint64_t run_ns = 0;
  if (!(schedstat >> run_ns >> cpu.wait_ns)) return std::nullopt;
  cpu.run_ns = ThreadCpuNs(tid);
  if (cpu.run_ns == 0) cpu.run_ns = run_ns;
  std::ifstream stat_file(base + "stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  // After the name: state is field 3; utime and stime are fields 14 and 15.
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) cpu.utime = std::stoull(field);
    if (index == 15) cpu.stime = std::stoull(field);
  }
  return cpu;
}

// Samples one thread's instruction pointer every `period` of its CPU time
// (perf task-clock, a software event, so it works without a PMU, as in this
// VM) and counts samples taken in user and in kernel mode. /proc's utime and
// stime come from the scheduler tick, and a worker that wakes on millisecond
// timers wakes with the tick: the tick nearly always finds it in the kernel.
class ModeSampler {
 public:
  static std::unique_ptr<ModeSampler> Open(pid_t tid, std::chrono::nanoseconds period) {
    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.sample_period = static_cast<uint64_t>(period.count());
    attr.sample_type = PERF_SAMPLE_IP;
    attr.disabled = 1;
    attr.exclude_hv = 1;
    const int fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd < 0) return nullptr;
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t length = page * (1 + kDataPages);
    void* ring = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (ring == MAP_FAILED) {
      close(fd);
      return nullptr;
    }
    return std::unique_ptr<ModeSampler>(new ModeSampler(UniqueFd(fd), static_cast<uint8_t*>(ring), length, page));
  }
  ~ModeSampler() { munmap(ring_, length_); }
  ModeSampler(const ModeSampler&) = delete;
  ModeSampler& operator=(const ModeSampler&) = delete;

  void Enable() { ioctl(fd_.get(), PERF_EVENT_IOC_ENABLE, 0); }
  void Disable() { ioctl(fd_.get(), PERF_EVENT_IOC_DISABLE, 0); }
  // Reads what the ring holds; call often enough that it does not fill.
  void Poll() {
    auto* meta = reinterpret_cast<perf_event_mmap_page*>(ring_);
    const uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = meta->data_tail;
    const uint8_t* data = ring_ + page_;
    const size_t size = page_ * kDataPages;
    while (tail + sizeof(perf_event_header) <= head) {
      uint8_t bytes[sizeof(perf_event_header) + sizeof(uint64_t) * 2];
      for (size_t i = 0; i < sizeof bytes; ++i) bytes[i] = data[(tail + i) % size];
      perf_event_header header;
      std::memcpy(&header, bytes, sizeof header);
      if (header.size == 0) break;
      if (header.type == PERF_RECORD_SAMPLE) {
        const uint16_t mode = header.misc & PERF_RECORD_MISC_CPUMODE_MASK;
        if (mode == PERF_RECORD_MISC_USER) {
          ++user_;
        } else if (mode == PERF_RECORD_MISC_KERNEL) {
          ++kernel_;
        }
      } else if (header.type == PERF_RECORD_LOST) {
        uint64_t lost = 0;  // after the header: id, then lost
        std::memcpy(&lost, bytes + sizeof header + sizeof(uint64_t), sizeof lost);
        lost_ += lost;
      }
      tail += header.size;
    }
    __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
  }
  uint64_t user() const { return user_; }
  uint64_t kernel() const { return kernel_; }
  uint64_t lost() const { return lost_; }

 private:
  static constexpr size_t kDataPages = 64;
  ModeSampler(UniqueFd fd, uint8_t* ring, size_t length, size_t page)
      : fd_(std::move(fd)), ring_(ring), length_(length), page_(page) {}
  UniqueFd fd_;
  uint8_t* ring_;
  size_t length_;
  size_t page_;
  uint64_t user_ = 0;
  uint64_t kernel_ = 0;
  uint64_t lost_ = 0;
};

std::set<pid_t> ListTasks() {
  std::set<pid_t> tasks;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    tasks.insert(static_cast<pid_t>(std::stol(entry.path().filename().string())));
  }
  return tasks;
}

struct CpuTimes {  // one /proc/stat cpuN line, in clock ticks
  uint64_t steal = 0;
};

std::vector<CpuTimes> ReadCpuTimes() {
  std::vector<CpuTimes> cpus;
  std::ifstream stat("/proc/stat");
  std::string line;
  while (std::getline(stat, line)) {
    if (line.rfind("cpu", 0) != 0 || line.size() < 4 || line[3] == ' ') continue;
    std::istringstream fields(line);
    std::string name;
    uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    fields >> name >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    cpus.push_back(CpuTimes{steal});
  }
  return cpus;
}

// ---------------------------------------------------------------------------
// The load generator: the far ends of every leg, on its own thread.

enum class GeneratorMode { kPerLeg, kShared };

// Written by the generator thread only, read by others at any time.
struct GeneratorCounters {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> send_errors{0};
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> unknown{0};         // not from one of our legs' SSRCs
  std::atomic<uint64_t> seq_gaps{0};        // while counting: packets missing from a leg's stream
  std::atomic<uint64_t> missing_frames{0};  // while counting: timestamp steps not matched by sequence
  std::atomic<uint64_t> reordered{0};       // while counting: duplicates and late arrivals
};

class LoadGenerator {
 public:
  static Result<std::unique_ptr<LoadGenerator>> Create(GeneratorMode mode, size_t legs) {
    auto generator = std::unique_ptr<LoadGenerator>(new LoadGenerator(mode, legs));
    if (auto made = generator->Open(); !made) return tl::unexpected(made.error());
    return generator;
  }
  ~LoadGenerator() { Stop(); }
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  void SetTarget(size_t leg, uint16_t earshot_port) {
    sockaddr_in& to = targets_[leg];
    to = sockaddr_in{};
    to.sin_family = AF_INET;
    to.sin_port = htons(earshot_port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }

  // Starts sending; call i's legs go out in slot i mod 20 of every tick.
  void Start(std::optional<int> cpu, int64_t expected_slots) {
    BuildPlan();
    lateness_ns_.reserve(static_cast<size_t>(expected_slots));
    thread_ = std::thread([this] { Run(); });
    if (cpu) PinThread(thread_, *cpu);
    while (tid_.load(std::memory_order_acquire) == 0) std::this_thread::sleep_for(100us);
  }
  void SetCounting(bool on) { counting_.store(on, std::memory_order_release); }
  void StopSending() { stop_sending_.store(true, std::memory_order_release); }
  void Stop() {
    stop_sending_.store(true, std::memory_order_release);
    stop_.store(true, std::memory_order_release);
    if (thread_.joinable()) thread_.join();
  }

  const GeneratorCounters& counters() const { return counters_; }
  pid_t tid() const { return tid_.load(std::memory_order_acquire); }
  // How late each slot's sends started, while counting. Read after Stop().
  const std::vector<int64_t>& lateness_ns() const { return lateness_ns_; }

 private:
  struct Group {  // one send call's worth: legs [begin, begin + count) of order_
    int fd;
    size_t begin;
    size_t count;
  };
  struct StreamState {
    bool seen = false;
    uint16_t sequence = 0;
    uint32_t timestamp = 0;
  };
  static constexpr size_t kRxBatch = 64;
  static constexpr int kEvents = 512;

  LoadGenerator(GeneratorMode mode, size_t legs)
      : mode_(mode),
        legs_(legs),
        packets_(legs),
        targets_(legs),
        streams_(legs),
        rx_buffers_(kRxBatch),
        rx_iovs_(kRxBatch),
        rx_msgs_(kRxBatch),
        events_(kEvents) {}

  size_t SocketOf(size_t leg) const { return mode_ == GeneratorMode::kPerLeg ? leg : leg % fds_.size(); }

  Result<void> Open() {
    epoll_fd_ = UniqueFd(epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_fd_) return MakeError(ErrorCode::kInternal, fmt::format("epoll_create1: {}", strerror(errno)));
    // Shared: one socket per 256 legs, 1 to 16; each is the far end of every
    // leg whose index is congruent to it.
    const size_t count =
        mode_ == GeneratorMode::kPerLeg ? legs_ : std::clamp<size_t>(legs_ / 256, 1, 16);
    for (size_t i = 0; i < count; ++i) {
      UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      if (!fd) {
        return MakeError(ErrorCode::kResourceExhausted,
                         fmt::format("generator socket {} of {}: {}", i, count, strerror(errno)));
      }
      if (mode_ == GeneratorMode::kShared) {
        setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &kSharedReceiveBuffer, sizeof kSharedReceiveBuffer);
        setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &kSharedReceiveBuffer, sizeof kSharedReceiveBuffer);
      }
      sockaddr_in local{};
      local.sin_family = AF_INET;
      local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t length = sizeof local;
      if (bind(fd.get(), reinterpret_cast<sockaddr*>(&local), length) != 0 ||
          getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &length) != 0) {
        return MakeError(ErrorCode::kInternal, fmt::format("generator bind: {}", strerror(errno)));
      }
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.u32 = static_cast<uint32_t>(i);
      if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd.get(), &event) != 0) {
        return MakeError(ErrorCode::kInternal, fmt::format("epoll_ctl: {}", strerror(errno)));
      }
      fds_.push_back(std::move(fd));
    }

    // One 20 ms frame of a -12 dBFS 400 Hz tone (exactly 8 periods), encoded once.
    std::array<int16_t, 160> pcm{};
    for (size_t i = 0; i < pcm.size(); ++i) {
      pcm[i] = static_cast<int16_t>(8225.0 * std::sin(2.0 * M_PI * 400.0 * static_cast<double>(i) / 8000.0));
    }
    std::array<uint8_t, 160> payload{};
    G711Encoder encoder(G711Law::kUlaw);
    if (!encoder.Encode(pcm, payload)) return MakeError(ErrorCode::kInternal, "G.711 encode failed");
    for (size_t leg = 0; leg < legs_; ++leg) {
      auto& packet = packets_[leg];
      packet.fill(0);
      packet[0] = 0x80;  // V=2
      packet[1] = 0;     // PCMU
      const uint32_t ssrc = kGeneratorSsrcBase + static_cast<uint32_t>(leg);
      const uint16_t sequence = static_cast<uint16_t>(leg * 7919u);
      const uint32_t timestamp = static_cast<uint32_t>(leg * 104729u);
      WriteHeader(packet, sequence, timestamp);
      packet[8] = static_cast<uint8_t>(ssrc >> 24);
      packet[9] = static_cast<uint8_t>(ssrc >> 16);
      packet[10] = static_cast<uint8_t>(ssrc >> 8);
      packet[11] = static_cast<uint8_t>(ssrc);
      std::copy(payload.begin(), payload.end(), packet.begin() + kRtpHeader);
    }
    for (size_t i = 0; i < kRxBatch; ++i) {
      rx_iovs_[i] = iovec{rx_buffers_[i].data(), rx_buffers_[i].size()};
      rx_msgs_[i].msg_hdr = msghdr{};
      rx_msgs_[i].msg_hdr.msg_iov = &rx_iovs_[i];
      rx_msgs_[i].msg_hdr.msg_iovlen = 1;
    }
    return {};
  }

  static void WriteHeader(std::array<uint8_t, kRtpSize>& packet, uint16_t sequence, uint32_t timestamp) {
    packet[2] = static_cast<uint8_t>(sequence >> 8);
    packet[3] = static_cast<uint8_t>(sequence);
    packet[4] = static_cast<uint8_t>(timestamp >> 24);
    packet[5] = static_cast<uint8_t>(timestamp >> 16);
    packet[6] = static_cast<uint8_t>(timestamp >> 8);
    packet[7] = static_cast<uint8_t>(timestamp);
  }

  static void Advance(std::array<uint8_t, kRtpSize>& packet) {
    const uint16_t sequence = static_cast<uint16_t>((packet[2] << 8 | packet[3]) + 1);
    const uint32_t timestamp = (static_cast<uint32_t>(packet[4]) << 24 | static_cast<uint32_t>(packet[5]) << 16 |
                                static_cast<uint32_t>(packet[6]) << 8 | packet[7]) +
                               160u;
    WriteHeader(packet, sequence, timestamp);
  }

  // Orders the legs by slot, then by socket, and cuts the order into send calls.
  void BuildPlan() {
    order_.clear();
    for (int slot = 0; slot < kSlots; ++slot) {
      for (size_t socket = 0; socket < fds_.size(); ++socket) {
        const size_t begin = order_.size();
        for (size_t leg = 0; leg < legs_; ++leg) {
          if (static_cast<int>((leg / 3) % kSlots) != slot || SocketOf(leg) != socket) continue;
          order_.push_back(leg);
          if (mode_ == GeneratorMode::kPerLeg) break;  // one leg per socket
        }
        if (order_.size() > begin) {
          slots_[static_cast<size_t>(slot)].push_back(Group{fds_[socket].get(), begin, order_.size() - begin});
        }
      }
    }
    tx_iovs_.resize(order_.size());
    tx_msgs_.resize(order_.size());
    for (size_t i = 0; i < order_.size(); ++i) {
      const size_t leg = order_[i];
      tx_iovs_[i] = iovec{packets_[leg].data(), kRtpSize};
      tx_msgs_[i].msg_hdr = msghdr{};
      tx_msgs_[i].msg_hdr.msg_name = &targets_[leg];
      tx_msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      tx_msgs_[i].msg_hdr.msg_iov = &tx_iovs_[i];
      tx_msgs_[i].msg_hdr.msg_iovlen = 1;
    }
  }

  void Run() {
    tid_.store(gettid(), std::memory_order_release);
    // Legs send only once latched, so nothing should be waiting; start clean anyway.
    Drain();
    for (auto& stream : streams_) stream = StreamState{};
    counters_.received.store(0, std::memory_order_relaxed);

    const int64_t start = NowNs() + kMs;
    for (int64_t n = 0; !stop_sending_.load(std::memory_order_acquire); ++n) {
      const int64_t deadline = start + n * kMs;
      WaitUntil(deadline);
      const int64_t late = NowNs() - deadline;
      if (counting_.load(std::memory_order_relaxed) && lateness_ns_.size() < lateness_ns_.capacity()) {
        lateness_ns_.push_back(late);
      }
      SendSlot(static_cast<size_t>(n % kSlots));
    }
    while (!stop_.load(std::memory_order_acquire)) WaitUntil(NowNs() + kMs);
  }

  // Receives until `deadline`; if already past it, still takes one look.
  void WaitUntil(int64_t deadline) {
    for (;;) {
      const int64_t remaining = std::max<int64_t>(deadline - NowNs(), 0);
      const timespec timeout{static_cast<time_t>(remaining / 1'000'000'000),
                             static_cast<long>(remaining % 1'000'000'000)};
      const int ready = epoll_pwait2(epoll_fd_.get(), events_.data(), kEvents, &timeout, nullptr);
      for (int i = 0; i < ready; ++i) Receive(fds_[events_[static_cast<size_t>(i)].data.u32].get());
      if (remaining == 0 || NowNs() >= deadline) return;
    }
  }

  void Drain() {
    for (;;) {
      const int ready = epoll_wait(epoll_fd_.get(), events_.data(), kEvents, 0);
      if (ready <= 0) return;
      for (int i = 0; i < ready; ++i) Receive(fds_[events_[static_cast<size_t>(i)].data.u32].get());
    }
  }

  void Receive(int fd) {
    const bool counting = counting_.load(std::memory_order_relaxed);
    const unsigned batch = mode_ == GeneratorMode::kPerLeg ? 4u : static_cast<unsigned>(kRxBatch);
    for (int round = 0; round < 16; ++round) {
      const int got = recvmmsg(fd, rx_msgs_.data(), batch, MSG_DONTWAIT, nullptr);
      if (got <= 0) return;
      for (int i = 0; i < got; ++i) {
        OnPacket(rx_buffers_[static_cast<size_t>(i)].data(), rx_msgs_[static_cast<size_t>(i)].msg_len, counting);
      }
      if (static_cast<unsigned>(got) < batch) return;
    }
  }

  void OnPacket(const uint8_t* data, size_t size, bool counting) {
    Bump(counters_.received);
    if (size < kRtpHeader) {
      Bump(counters_.unknown);
      return;
    }
    const uint16_t sequence = static_cast<uint16_t>(data[2] << 8 | data[3]);
    const uint32_t timestamp = static_cast<uint32_t>(data[4]) << 24 | static_cast<uint32_t>(data[5]) << 16 |
                               static_cast<uint32_t>(data[6]) << 8 | data[7];
    const uint32_t ssrc = static_cast<uint32_t>(data[8]) << 24 | static_cast<uint32_t>(data[9]) << 16 |
                          static_cast<uint32_t>(data[10]) << 8 | data[11];
    const size_t leg = ssrc - kEarshotSsrcBase;
    if (ssrc < kEarshotSsrcBase || leg >= legs_) {
      Bump(counters_.unknown);
      return;
    }
    StreamState& stream = streams_[leg];
    if (!stream.seen) {
      stream = StreamState{true, sequence, timestamp};
      return;
    }
    const uint16_t step = static_cast<uint16_t>(sequence - stream.sequence);
    if (step == 0 || step >= 0x8000) {
      if (counting) Bump(counters_.reordered);
      return;
    }
    if (counting) {
      if (step > 1) Bump(counters_.seq_gaps, step - 1u);
      const uint32_t frames = (timestamp - stream.timestamp) / 160u;
      if (frames > step) Bump(counters_.missing_frames, frames - step);
    }
    stream.sequence = sequence;
    stream.timestamp = timestamp;
  }

  void SendSlot(size_t slot) {
    uint64_t sent = 0;
    for (const Group& group : slots_[slot]) {
      if (mode_ == GeneratorMode::kPerLeg) {
        const size_t leg = order_[group.begin];
        if (sendto(group.fd, packets_[leg].data(), kRtpSize, 0, reinterpret_cast<const sockaddr*>(&targets_[leg]),
                   sizeof(sockaddr_in)) == static_cast<ssize_t>(kRtpSize)) {
          ++sent;
        } else {
          Bump(counters_.send_errors);
        }
      } else {
        size_t done = 0;
        while (done < group.count) {
          const int n = sendmmsg(group.fd, &tx_msgs_[group.begin + done],
                                 static_cast<unsigned>(group.count - done), 0);
          if (n <= 0) {
            Bump(counters_.send_errors, group.count - done);
            break;
          }
          done += static_cast<size_t>(n);
        }
        sent += done;
      }
      // Every leg moves on, sent or not: a failed send is a lost packet.
      for (size_t i = group.begin; i < group.begin + group.count; ++i) Advance(packets_[order_[i]]);
    }
    Bump(counters_.sent, sent);
  }

  const GeneratorMode mode_;
  const size_t legs_;
  UniqueFd epoll_fd_;
  std::vector<UniqueFd> fds_;
  std::vector<std::array<uint8_t, kRtpSize>> packets_;  // by leg, header kept current
  std::vector<sockaddr_in> targets_;                    // by leg: Earshot's port
  std::vector<StreamState> streams_;                    // by leg: what Earshot sent
  std::vector<size_t> order_;                           // legs by slot, then socket
  std::array<std::vector<Group>, kSlots> slots_;
  std::vector<iovec> tx_iovs_;
  std::vector<mmsghdr> tx_msgs_;
  std::vector<std::array<uint8_t, 256>> rx_buffers_;
  std::vector<iovec> rx_iovs_;
  std::vector<mmsghdr> rx_msgs_;
  std::vector<epoll_event> events_;
  std::vector<int64_t> lateness_ns_;

  GeneratorCounters counters_;
  std::atomic<bool> counting_{false};
  std::atomic<bool> stop_sending_{false};
  std::atomic<bool> stop_{false};
  std::atomic<pid_t> tid_{0};
  std::thread thread_;
};

// ---------------------------------------------------------------------------
// One step.

struct Config {
  std::vector<int> calls;
  double seconds = 5.0;
  double warmup = 1.0;
  uint16_t port_low = 20000;
  uint16_t port_high = 29999;
  GeneratorMode generator = GeneratorMode::kPerLeg;
  std::optional<int> worker_cpu;
  std::optional<int> generator_cpu;
  // How the worker and generator threads claim their CPUs from other work on a
  // shared machine. "fifo": SCHED_FIFO (the kernel still leaves 5% to others);
  // "nice": nice -20, which only counts within the session's autogroup, so
  // other sessions' builds still get an equal share; "none".
  std::string sched = "fifo";
  KernelIoMode io = KernelIoMode::kEpoll;
  bool json = false;
};

struct Snapshot {
  int64_t at_ns = 0;
  uint64_t rx = 0, tx = 0, overruns = 0, skipped = 0, ticks = 0, rx_dropped = 0, tx_pool_empty = 0;
  uint64_t gen_sent = 0, gen_received = 0;
  ThreadCpu worker, generator;
  std::vector<CpuTimes> cpus;
};

struct StepResult {
  int calls = 0;
  size_t legs = 0;
  std::string error;  // set when the step could not run
  double setup_s = 0;
  double window_s = 0;
  double offered_pps = 0;  // 3N x 50, each way
  double gen_sent_pps = 0;
  double rx_pps = 0;
  double tx_pps = 0;
  double gen_received_pps = 0;
  int64_t loss_in = 0;   // generator sent - Earshot received, whole run of the generator
  uint64_t udp_rcvbuf_errors = 0;  // of those (and of others'), dropped by the kernel: socket full
  uint64_t loss_out = 0; // sequence gaps in Earshot's streams, in the window
  uint64_t missing_frames = 0;
  uint64_t reordered = 0;
  uint64_t overruns = 0;
  uint64_t skipped = 0;
  uint64_t rx_dropped = 0;
  uint64_t tx_pool_empty = 0;
  uint64_t gen_send_errors = 0;
  double worker_cpu_pct = 0, worker_user_pct = 0, worker_sys_pct = 0;
  double us_per_packet = 0, user_us_per_packet = 0, sys_us_per_packet = 0;
  double syscalls_per_packet = 0;  // whole life of the worker
  double gen_cpu_pct = 0;
  double gen_late_p50_us = 0, gen_late_p99_us = 0, gen_late_max_us = 0;
  std::string split_source;         // "perf" (sampled) or "tick" (/proc, biased)
  double worker_wait_pct = 0;       // runnable but not running (others had its CPU)
  double steal_pct = 0;             // both CPUs, % of one CPU
  bool pass = false;
  std::string verdict;
};

Snapshot Take(const Worker& worker, const LoadGenerator& generator, pid_t worker_tid) {
  Snapshot s;
  s.at_ns = NowNs();
  const WorkerCounters& c = worker.counters();
  s.rx = Load(c.rx_packets);
  s.tx = Load(c.tx_packets);
  s.overruns = Load(c.overruns);
  s.skipped = Load(c.skipped_ticks);
  s.ticks = Load(c.ticks);
  s.rx_dropped = Load(c.rx_dropped);
  s.tx_pool_empty = Load(c.tx_pool_empty);
  s.gen_sent = Load(generator.counters().sent);
  s.gen_received = Load(generator.counters().received);
  s.worker = ReadThreadCpu(worker_tid).value_or(ThreadCpu{});
  s.generator = ReadThreadCpu(generator.tid()).value_or(ThreadCpu{});
  s.cpus = ReadCpuTimes();
  return s;
}

// System-wide UDP receive-buffer drops (/proc/net/snmp RcvbufErrors): packets
// the kernel threw away because a socket was full, as opposed to packets still
// queued when a step ended.
uint64_t UdpReceiveBufferErrors() {
  std::ifstream snmp("/proc/net/snmp");
  std::string names, values, line;
  while (std::getline(snmp, line)) {
    if (line.rfind("Udp: ", 0) != 0) continue;
    if (names.empty()) {
      names = line;
    } else {
      values = line;
      break;
    }
  }
  std::istringstream name_fields(names), value_fields(values);
  std::string name, value;
  while (name_fields >> name && value_fields >> value) {
    if (name == "RcvbufErrors") return std::stoull(value);
  }
  return 0;
}

double Percentile(std::vector<int64_t> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * static_cast<double>(values.size())));
  return static_cast<double>(values[index]);
}

void SplitCpu(const ThreadCpu& a, const ThreadCpu& b, double& total_ns, double& user_ns, double& sys_ns) {
  total_ns = static_cast<double>(b.run_ns - a.run_ns);
  const double user = static_cast<double>(b.utime - a.utime);
  const double sys = static_cast<double>(b.stime - a.stime);
  const double share = user + sys > 0 ? user / (user + sys) : 0.0;
  user_ns = total_ns * share;
  sys_ns = total_ns - user_ns;
}

void ClaimCpu(pid_t tid, const std::string& how) {
  if (how == "fifo") {
    const sched_param param{10};
    if (sched_setscheduler(tid, SCHED_FIFO, &param) == 0) return;
    fmt::print(stderr, "warning: SCHED_FIFO refused ({}), using nice -20\n", strerror(errno));
  }
  if (how != "none" && setpriority(PRIO_PROCESS, static_cast<id_t>(tid), -20) != 0) {
    fmt::print(stderr, "warning: nice -20 refused: {}\n", strerror(errno));
  }
}

StepResult RunStep(const Config& config, int calls) {
  StepResult result;
  result.calls = calls;
  result.legs = static_cast<size_t>(calls) * 3;
  result.offered_pps = static_cast<double>(result.legs) * 50.0;
  const size_t legs = result.legs;

  const size_t available = static_cast<size_t>(config.port_high - config.port_low) + 1;
  const size_t range = std::min(available, legs + std::max<size_t>(64, legs / 8));
  if (range < legs) {
    result.error = fmt::format("{} legs do not fit in ports {}-{}", legs, config.port_low, config.port_high);
    return result;
  }
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  const size_t needed = legs * (config.generator == GeneratorMode::kPerLeg ? 2 : 1) + 64;
  if (files.rlim_cur != RLIM_INFINITY && files.rlim_cur < needed) {
    result.error = fmt::format("{} file descriptors needed, RLIMIT_NOFILE is {}", needed, files.rlim_cur);
    return result;
  }

  auto generator_made = LoadGenerator::Create(config.generator, legs);
  if (!generator_made) {
    result.error = generator_made.error().message;
    return result;
  }
  LoadGenerator& generator = **generator_made;

  KernelPacketIoOptions io_options;
  io_options.max_ports = range;
  io_options.socket_receive_buffer = kSocketBuffer;
  io_options.socket_send_buffer = kSocketBuffer;
  auto io = MakeKernelPacketIo(io_options, config.io);
  if (!io) {
    result.error = io.error().message;
    return result;
  }
  PacketIo* packet_io = io->get();  // its counters are read once the worker has stopped

  WorkerOptions options;
  options.pin_to_cpu = config.worker_cpu;
  options.rtp_ip = "127.0.0.1";
  options.port_low = config.port_low;
  options.port_high = static_cast<uint16_t>(config.port_low + range - 1);
  options.max_sessions = static_cast<uint32_t>(calls);
  Worker worker(options, std::move(*io));
  const std::set<pid_t> before = ListTasks();
  if (!worker.Start()) fmt::print(stderr, "warning: could not pin the worker to CPU {}\n", *config.worker_cpu);
  pid_t worker_tid = 0;
  for (pid_t tid : ListTasks()) {
    if (!before.contains(tid)) worker_tid = tid;
  }
  if (worker_tid == 0) {
    result.error = "could not find the worker's thread in /proc/self/task";
    return result;
  }
  ClaimCpu(worker_tid, config.sched);
  std::unique_ptr<ModeSampler> sampler = ModeSampler::Open(worker_tid, 100us);

  // Calls, as the control plane makes them.
  const int64_t setup_start = NowNs();
  const mixer::Role roles[3] = {mixer::Role::kCustomer, mixer::Role::kAgent, mixer::Role::kSupervisor};
  for (int session = 0; session < calls; ++session) {
    mixer::SessionOptions session_options;
    session_options.max_legs = 3;
    auto media = mixer::MediaSession::Create(session_options);
    if (!media) {
      result.error = media.error().message;
      return result;
    }
    auto created = worker.Call(
        CreateSession{static_cast<SessionHandle>(session), std::make_unique<WorkerSession>(std::move(*media))},
        kCallTimeout);
    if (!created) {
      result.error = fmt::format("session {}: {}", session, created.error().message);
      return result;
    }
    for (int slot = 0; slot < 3; ++slot) {
      const size_t leg = static_cast<size_t>(session) * 3 + static_cast<size_t>(slot);
      auto leg_media = mixer::LegMedia::Create(std::make_unique<G711Encoder>(G711Law::kUlaw),
                                               std::make_unique<G711Decoder>(G711Law::kUlaw),
                                               mixer::JitterBufferOptions{}, 8000, 160);
      if (!leg_media) {
        result.error = leg_media.error().message;
        return result;
      }
      // The remote is left to latching: the leg's first packet comes from its
      // far end (a generator socket) and from then on the leg sends there.
      // With the remote configured up front, every call would start sending
      // while the later ones are still being set up, into sockets nobody reads
      // yet, and a large step would saturate the worker before it began.
      RtpLegConfig rtp;
      rtp.latch = true;
      rtp.payload_type = PayloadType(0);
      rtp.tick_samples = 160;
      rtp.ssrc = Ssrc(kEarshotSsrcBase + static_cast<uint32_t>(leg));
      rtp.first_sequence = SequenceNumber(static_cast<uint16_t>(leg * 31u));
      rtp.first_timestamp = RtpTimestamp(static_cast<uint32_t>(leg * 7777u));
      auto added = worker.Call(AddLeg{static_cast<SessionHandle>(session), slot, roles[slot],
                                      mixer::SupervisorMode::kBarge, false, std::move(*leg_media), rtp},
                               kCallTimeout);
      if (!added) {
        result.error = fmt::format("session {} leg {}: {}", session, slot, added.error().message);
        return result;
      }
      generator.SetTarget(leg, added->local.port());
    }
  }
  result.setup_s = static_cast<double>(NowNs() - setup_start) / 1e9;

  // Load, a warm-up, the measured window, then a drain so loss in is exact.
  const uint64_t rx_before = Load(worker.counters().rx_packets);
  const uint64_t rcvbuf_errors_before = UdpReceiveBufferErrors();
  generator.Start(config.generator_cpu, static_cast<int64_t>(config.seconds * 1000.0) + 1000);
  ClaimCpu(generator.tid(), config.sched);
  std::this_thread::sleep_for(std::chrono::duration<double>(config.warmup));
  generator.SetCounting(true);
  if (sampler) sampler->Enable();
  const Snapshot a = Take(worker, generator, worker_tid);
  const int64_t window_end = a.at_ns + static_cast<int64_t>((config.seconds - config.warmup) * 1e9);
  while (NowNs() < window_end) {
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(20ms, std::chrono::nanoseconds(window_end - NowNs())));
    if (sampler) sampler->Poll();
  }
  generator.SetCounting(false);
  const Snapshot b = Take(worker, generator, worker_tid);
  if (sampler) {
    sampler->Disable();
    sampler->Poll();
  }
  generator.StopSending();
  std::this_thread::sleep_for(200ms);
  const uint64_t earshot_received = Load(worker.counters().rx_packets) - rx_before;
  worker.Stop();
  const PacketIoCounters io_counters = packet_io->counters();
  std::this_thread::sleep_for(50ms);
  generator.Stop();
  result.udp_rcvbuf_errors = UdpReceiveBufferErrors() - rcvbuf_errors_before;

  const GeneratorCounters& g = generator.counters();
  const double window_ns = static_cast<double>(b.at_ns - a.at_ns);
  const double window_s = window_ns / 1e9;
  result.window_s = window_s;
  result.gen_sent_pps = static_cast<double>(b.gen_sent - a.gen_sent) / window_s;
  result.rx_pps = static_cast<double>(b.rx - a.rx) / window_s;
  result.tx_pps = static_cast<double>(b.tx - a.tx) / window_s;
  result.gen_received_pps = static_cast<double>(b.gen_received - a.gen_received) / window_s;
  result.loss_in = static_cast<int64_t>(Load(g.sent)) - static_cast<int64_t>(earshot_received);
  result.loss_out = Load(g.seq_gaps);
  result.missing_frames = Load(g.missing_frames);
  result.reordered = Load(g.reordered);
  result.overruns = b.overruns - a.overruns;
  result.skipped = b.skipped - a.skipped;
  result.rx_dropped = b.rx_dropped - a.rx_dropped;
  result.tx_pool_empty = b.tx_pool_empty - a.tx_pool_empty;
  result.gen_send_errors = Load(g.send_errors);

  double total_ns = 0, user_ns = 0, sys_ns = 0;
  SplitCpu(a.worker, b.worker, total_ns, user_ns, sys_ns);
  result.split_source = "tick";
  if (sampler && sampler->user() + sampler->kernel() >= 100) {
    user_ns = total_ns * static_cast<double>(sampler->user()) /
              static_cast<double>(sampler->user() + sampler->kernel());
    sys_ns = total_ns - user_ns;
    result.split_source = "perf";
  }
  result.worker_wait_pct = 100.0 * static_cast<double>(b.worker.wait_ns - a.worker.wait_ns) / window_ns;
  result.worker_cpu_pct = 100.0 * total_ns / window_ns;
  result.worker_user_pct = 100.0 * user_ns / window_ns;
  result.worker_sys_pct = 100.0 * sys_ns / window_ns;
  const double packets = static_cast<double>((b.rx - a.rx) + (b.tx - a.tx));
  if (packets > 0) {
    result.us_per_packet = total_ns / 1000.0 / packets;
    result.user_us_per_packet = user_ns / 1000.0 / packets;
    result.sys_us_per_packet = sys_ns / 1000.0 / packets;
  }
  if (io_counters.rx_packets + io_counters.tx_packets > 0) {
    result.syscalls_per_packet = static_cast<double>(io_counters.syscalls) /
                                 static_cast<double>(io_counters.rx_packets + io_counters.tx_packets);
  }
  double gen_total = 0, gen_user = 0, gen_sys = 0;
  SplitCpu(a.generator, b.generator, gen_total, gen_user, gen_sys);
  result.gen_cpu_pct = 100.0 * gen_total / window_ns;
  const std::vector<int64_t>& lateness = generator.lateness_ns();
  result.gen_late_p50_us = Percentile(lateness, 0.50) / 1000.0;
  result.gen_late_p99_us = Percentile(lateness, 0.99) / 1000.0;
  result.gen_late_max_us = lateness.empty() ? 0 : static_cast<double>(*std::max_element(lateness.begin(), lateness.end())) / 1000.0;

  const double tick_ns = 1e9 / static_cast<double>(sysconf(_SC_CLK_TCK));
  uint64_t steal = 0;
  for (size_t cpu = 0; cpu < std::min(a.cpus.size(), b.cpus.size()); ++cpu) steal += b.cpus[cpu].steal - a.cpus[cpu].steal;
  result.steal_pct = 100.0 * static_cast<double>(steal) * tick_ns / window_ns;

  std::vector<std::string> reasons;
  if (result.loss_in != 0) reasons.push_back("loss in");
  if (result.loss_out != 0) reasons.push_back("loss out");
  if (result.overruns != 0) reasons.push_back("overruns");
  if (result.skipped != 0) reasons.push_back("skipped ticks");
  if (result.missing_frames != 0 || result.tx_pps < 0.99 * result.offered_pps) reasons.push_back("frames not sent");
  if (result.gen_sent_pps < 0.99 * result.offered_pps || result.gen_late_p99_us > 5000.0) {
    reasons.push_back("generator behind");
  }
  result.pass = reasons.empty();
  if (result.pass) {
    result.verdict = "ok";
  } else {
    for (const std::string& reason : reasons) result.verdict += (result.verdict.empty() ? "" : ", ") + reason;
  }
  return result;
}

// ---------------------------------------------------------------------------
// Output.

void PrintTable(const Config& config, const std::vector<StepResult>& steps, int knee) {
  fmt::print("{} back end, worker CPU {}, generator CPU {}, generator {}, sched {}, {:.1f} s steps ({:.1f} s warm-up skipped)\n\n",
             KernelIoModeName(config.io),
             config.worker_cpu ? std::to_string(*config.worker_cpu) : "any",
             config.generator_cpu ? std::to_string(*config.generator_cpu) : "any",
             config.generator == GeneratorMode::kPerLeg ? "per-leg sockets" : "shared sockets", config.sched,
             config.seconds,
             config.warmup);
  fmt::print("{:>5} {:>5} {:>8} {:>8} {:>8} {:>7} {:>8} {:>5} {:>5} {:>16} {:>16} {:>7} {:>7} {:>8} {:>6} {:>6}  {}\n",
             "calls", "legs", "offered", "rx pps", "tx pps", "loss in", "loss out", "ovrun", "skip",
             "worker% usr/sys", "us/pkt usr/sys", "sc/pkt", "gen%", "late p99", "wait%", "steal%", "verdict");
  for (const StepResult& s : steps) {
    if (!s.error.empty()) {
      fmt::print("{:>5} {:>5}  error: {}\n", s.calls, s.legs, s.error);
      continue;
    }
    fmt::print("{:>5} {:>5} {:>8.0f} {:>8.0f} {:>8.0f} {:>7} {:>8} {:>5} {:>5} {:>16} {:>16} {:>7.2f} {:>7.1f} {:>6.0f}us {:>6.1f} {:>6.1f}  {}\n",
               s.calls, s.legs, s.offered_pps, s.rx_pps, s.tx_pps, s.loss_in, s.loss_out, s.overruns, s.skipped,
               fmt::format("{:.1f} {:.1f}/{:.1f}", s.worker_cpu_pct, s.worker_user_pct, s.worker_sys_pct),
               fmt::format("{:.2f} {:.2f}/{:.2f}", s.us_per_packet, s.user_us_per_packet, s.sys_us_per_packet),
               s.syscalls_per_packet, s.gen_cpu_pct, s.gen_late_p99_us, s.worker_wait_pct, s.steal_pct,
               s.verdict);
  }
  const bool tick_split = std::any_of(steps.begin(), steps.end(), [](const StepResult& s) { return s.split_source == "tick"; });
  fmt::print("\nusr/sys: {}; sc/pkt: system calls per packet (epoll_wait, recvmmsg, sendmmsg);\n"
             "wait%: time the worker was runnable but another task had its CPU; late p99: generator lateness\n",
             tick_split ? "some steps from /proc tick samples (biased towards sys)" : "perf task-clock samples");
  std::string below;
  for (const StepResult& s : steps) {
    if (!s.pass && s.calls < knee) {
      below += fmt::format("{}{} ({})", below.empty() ? "" : ", ", s.calls, s.error.empty() ? s.verdict : s.error);
    }
  }
  fmt::print("\nknee: {}{}\n",
             knee > 0 ? fmt::format("{} calls ({} legs, {} packets/s each way)", knee, knee * 3, knee * 150)
                      : std::string("none (no step passed)"),
             below.empty() ? "" : fmt::format("; below it, failed: {}", below));
}

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void PrintJson(const Config& config, const std::vector<StepResult>& steps, int knee) {
  fmt::print("{{\n  \"io\": {},\n  \"generator\": {},\n  \"worker_cpu\": {},\n  \"generator_cpu\": {},\n  \"seconds\": {},\n"
             "  \"warmup_seconds\": {},\n  \"sched\": {},\n  \"knee_calls\": {},\n  \"steps\": [",
             JsonString(std::string(KernelIoModeName(config.io))),
             JsonString(config.generator == GeneratorMode::kPerLeg ? "per-leg" : "shared"),
             config.worker_cpu ? std::to_string(*config.worker_cpu) : "null",
             config.generator_cpu ? std::to_string(*config.generator_cpu) : "null", config.seconds, config.warmup,
             JsonString(config.sched), knee);
  for (size_t i = 0; i < steps.size(); ++i) {
    const StepResult& s = steps[i];
    fmt::print("{}\n    {{\"calls\": {}, \"legs\": {}", i == 0 ? "" : ",", s.calls, s.legs);
    if (!s.error.empty()) {
      fmt::print(", \"error\": {}}}", JsonString(s.error));
      continue;
    }
    fmt::print(
        ", \"setup_s\": {:.2f}, \"window_s\": {:.3f}, \"offered_pps\": {:.0f}, \"generator_sent_pps\": {:.0f}, "
        "\"rx_pps\": {:.0f}, \"tx_pps\": {:.0f}, \"generator_received_pps\": {:.0f}, \"loss_in\": {}, "
        "\"loss_out\": {}, \"missing_frames\": {}, \"reordered\": {}, \"overruns\": {}, \"skipped_ticks\": {}, "
        "\"rx_dropped\": {}, \"tx_pool_empty\": {}, \"generator_send_errors\": {}, \"udp_rcvbuf_errors\": {}, "
        "\"worker_cpu_pct\": {:.2f}, \"worker_user_pct\": {:.2f}, \"worker_sys_pct\": {:.2f}, "
        "\"us_per_packet\": {:.3f}, \"user_us_per_packet\": {:.3f}, \"sys_us_per_packet\": {:.3f}, "
        "\"syscalls_per_packet\": {:.3f}, \"generator_cpu_pct\": {:.2f}, \"generator_late_p50_us\": {:.0f}, "
        "\"generator_late_p99_us\": {:.0f}, \"generator_late_max_us\": {:.0f}, \"worker_wait_pct\": {:.2f}, \"cpu_split\": {}, "
        "\"steal_pct\": {:.2f}, \"pass\": {}, \"verdict\": {}}}",
        s.setup_s, s.window_s, s.offered_pps, s.gen_sent_pps, s.rx_pps, s.tx_pps, s.gen_received_pps, s.loss_in,
        s.loss_out, s.missing_frames, s.reordered, s.overruns, s.skipped, s.rx_dropped, s.tx_pool_empty,
        s.gen_send_errors, s.udp_rcvbuf_errors, s.worker_cpu_pct, s.worker_user_pct, s.worker_sys_pct, s.us_per_packet,
        s.user_us_per_packet, s.sys_us_per_packet, s.syscalls_per_packet, s.gen_cpu_pct, s.gen_late_p50_us,
        s.gen_late_p99_us, s.gen_late_max_us, s.worker_wait_pct, JsonString(s.split_source), s.steal_pct,
        s.pass ? "true" : "false",
        JsonString(s.verdict));
  }
  fmt::print("\n  ]\n}}\n");
}

bool CpuAllowed(int cpu) {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  return sched_getaffinity(0, sizeof cpus, &cpus) == 0 && cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &cpus);
}

int Main(int argc, char** argv) {
  CLI::App app{"One Earshot worker's capacity on loopback with N 3-leg G.711 calls"};
  Config config;
  config.calls = {100, 400, 800, 1200, 1650, 2000};
  std::string ports = "20000-29999";
  std::string generator = "per-leg";
  int worker_cpu = 0;
  int generator_cpu = 1;
  app.add_option("--calls", config.calls, "call counts to step through")->delimiter(',');
  app.add_option("--seconds", config.seconds, "seconds per step")->check(CLI::Range(2.0, 600.0));
  app.add_option("--warmup", config.warmup, "seconds skipped at the start of a step")->check(CLI::Range(0.2, 60.0));
  app.add_option("--ports", ports, "the worker's RTP port range, LOW-HIGH");
  app.add_option("--generator", generator, "per-leg: a socket per leg; shared: a few sockets, sendmmsg")
      ->check(CLI::IsMember({"per-leg", "shared"}));
  app.add_option("--worker-cpu", worker_cpu, "pin the worker here (-1: do not pin)");
  app.add_option("--generator-cpu", generator_cpu, "pin the load generator here (-1: do not pin)");
  app.add_option("--sched", config.sched, "how the worker and generator threads claim their CPUs")
      ->check(CLI::IsMember({"fifo", "nice", "none"}));
  std::string io_mode = "epoll";
  app.add_option("--io", io_mode, "the worker's kernel back end: epoll (KernelPacketIo) or io_uring")
      ->check(CLI::IsMember({"epoll", "io_uring"}));
  app.add_flag("--json", config.json, "print JSON instead of a table");
  CLI11_PARSE(app, argc, argv);

  unsigned low = 0, high = 0;
  if (std::sscanf(ports.c_str(), "%u-%u", &low, &high) != 2 || low == 0 || high > 65535 || low > high) {
    fmt::print(stderr, "--ports wants LOW-HIGH, e.g. 20000-29999\n");
    return 2;
  }
  if (config.warmup >= config.seconds) {
    fmt::print(stderr, "--warmup must be shorter than --seconds\n");
    return 2;
  }
  config.io = io_mode == "io_uring" ? KernelIoMode::kUring : KernelIoMode::kEpoll;
  config.port_low = static_cast<uint16_t>(low);
  config.port_high = static_cast<uint16_t>(high);
  config.generator = generator == "shared" ? GeneratorMode::kShared : GeneratorMode::kPerLeg;
  if (worker_cpu >= 0 && CpuAllowed(worker_cpu)) config.worker_cpu = worker_cpu;
  if (generator_cpu >= 0 && CpuAllowed(generator_cpu)) config.generator_cpu = generator_cpu;
  if (config.worker_cpu && config.generator_cpu && *config.worker_cpu == *config.generator_cpu) {
    fmt::print(stderr, "note: the worker and the generator share CPU {}\n", *config.worker_cpu);
  }
  std::sort(config.calls.begin(), config.calls.end());
  config.calls.erase(std::unique(config.calls.begin(), config.calls.end()), config.calls.end());
  if (config.calls.empty() || config.calls.front() < 1) {
    fmt::print(stderr, "--calls wants positive numbers\n");
    return 2;
  }

  // Each leg is a socket on both sides (per-leg generator): raise the soft limit.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  std::vector<StepResult> steps;
  int knee = 0;
  for (int calls : config.calls) {
    fmt::print(stderr, "{} calls: setting up...\n", calls);
    StepResult step = RunStep(config, calls);
    if (step.error.empty()) {
      fmt::print(stderr, "{} calls: setup {:.1f} s, rx {:.0f} tx {:.0f} pps, worker {:.1f}% -> {}\n", calls,
                 step.setup_s, step.rx_pps, step.tx_pps, step.worker_cpu_pct, step.verdict);
    } else {
      fmt::print(stderr, "{} calls: {}\n", calls, step.error);
    }
    if (step.pass) knee = calls;  // steps are in ascending order
    steps.push_back(std::move(step));
    std::this_thread::sleep_for(300ms);
  }
  if (config.json) {
    PrintJson(config, steps, knee);
  } else {
    PrintTable(config, steps, knee);
  }
  return 0;
}

}  // namespace
}  // namespace earshot::dataplane

int main(int argc, char** argv) { return earshot::dataplane::Main(argc, argv); }

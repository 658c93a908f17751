#pragma once
// Test support for the DPDK back end on a veth pair (root only): a network
// namespace holding the peer end, phones and ping inside it. Header-only; used
// by the DPDK test binaries, never by earshotd.

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/ip_icmp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "codecs/g711.h"
#include "dataplane/dpdk/frame.h"
#include "tests/support/subprocess.h"
#include "tests/support/tone.h"

namespace earshot::dataplane::dpdk::testing {

using earshot::testing::RunToCompletion;

inline int64_t NowNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

// Runs `fn` on a thread that entered the namespace behind `ns_fd`; sockets it
// makes stay in that namespace whichever thread uses them later.
inline void InNamespace(int ns_fd, const std::function<void()>& fn) {
  std::thread thread([&] {
    if (setns(ns_fd, CLONE_NEWNET) != 0) return;
    fn();
  });
  thread.join();
}

// Subprocess execs a path: find the program on PATH (ip lives in /usr/sbin or /sbin).
inline std::vector<std::string> Resolved(std::vector<std::string> argv) {
  if (auto path = earshot::testing::FindProgram(argv[0])) argv[0] = *path;
  return argv;
}

inline bool Run(const std::vector<std::string>& argv, std::string* why = nullptr) {
  auto result = RunToCompletion(Resolved(argv));
  if (result.exit_code == 0) return true;
  if (why != nullptr) {
    *why = fmt::format("'{}' failed: {}", fmt::join(argv, " "), result.err.empty() ? "no message" : result.err);
  }
  return false;
}

// The wire: a namespace with the peer end of a veth pair (with an address),
// and the DPDK end in our namespace (no address, IPv6 off). Removed in the
// destructor, also when set-up failed half way.
class VethWire {
 public:
  // `peer_cidr`: the namespace end's address, e.g. "10.213.0.1/24".
  explicit VethWire(std::string peer_cidr)
      : peer_cidr_(std::move(peer_cidr)),
        ns_(fmt::format("earshot-dpdk-{}", getpid())),
        dpdk_if_(fmt::format("esd{}", getpid() % 100000)),
        peer_if_(fmt::format("esp{}", getpid() % 100000)) {}
  ~VethWire() {
    if (ns_fd_ >= 0) close(ns_fd_);
    Run({"ip", "netns", "del", ns_});
    Run({"ip", "link", "del", dpdk_if_});  // usually gone with the namespace already
  }

  // Empty on success, else why the wire could not be made.
  std::string SetUp() {
    std::string why;
    if (!Run({"ip", "netns", "add", ns_}, &why) ||
        !Run({"ip", "link", "add", dpdk_if_, "type", "veth", "peer", "name", peer_if_}, &why) ||
        !Run({"ip", "link", "set", peer_if_, "netns", ns_}, &why) ||
        !Run({"ip", "-n", ns_, "addr", "add", peer_cidr_, "dev", peer_if_}, &why) ||
        !Run({"ip", "-n", ns_, "link", "set", peer_if_, "up"}, &why) ||
        !Run({"ip", "-n", ns_, "link", "set", "lo", "up"}, &why) ||
        !Run({"ip", "link", "set", dpdk_if_, "up"}, &why)) {
      return why;
    }
    // No IPv6 on the DPDK end: the kernel would send router solicitations from it.
    if (FILE* f = std::fopen(("/proc/sys/net/ipv6/conf/" + dpdk_if_ + "/disable_ipv6").c_str(), "w")) {
      std::fputs("1", f);
      std::fclose(f);
    }
    ns_fd_ = open(("/run/netns/" + ns_).c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fd_ < 0) return "cannot open /run/netns/" + ns_ + ": " + std::strerror(errno);
    // The checksum trap (ENVIRONMENT.md): with TX checksum offload on, the
    // kernel veth hands af_packet UDP with a partial checksum. Turn it off
    // (ethtool -K tx off) so that our checksum verification stays on.
    bool tx_off = false;
    InNamespace(ns_fd_, [&] {
      int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      ethtool_value value{ETHTOOL_STXCSUM, 0};
      ifreq request{};
      std::snprintf(request.ifr_name, IFNAMSIZ, "%s", peer_if_.c_str());
      request.ifr_data = reinterpret_cast<char*>(&value);
      tx_off = fd >= 0 && ioctl(fd, SIOCETHTOOL, &request) == 0;
      if (fd >= 0) close(fd);
    });
    if (!tx_off) return "cannot turn off TX checksum offload on " + peer_if_;
    return {};
  }

  // Receive packet steering: the kernel's receive work for frames arriving at
  // either end (the namespace's IP/UDP stack for what we send, and af_packet's
  // or the socket path for what the peers send) runs on `cpu` instead of on
  // the CPU of whoever transmitted. Benches use it to keep the peers' stack off
  // the CPU they measure. Empty on success, else why not.
  std::string SteerReceiveTo(int cpu) {
    const std::string mask = fmt::format("{:x}", 1u << cpu);
    std::string why;
    if (!Run({"ip", "netns", "exec", ns_, "sh", "-c",
              fmt::format("echo {} > /sys/class/net/{}/queues/rx-0/rps_cpus", mask, peer_if_)},
             &why)) {
      return why;
    }
    FILE* f = std::fopen(fmt::format("/sys/class/net/{}/queues/rx-0/rps_cpus", dpdk_if_).c_str(), "w");
    if (f == nullptr) return "cannot open rps_cpus of " + dpdk_if_;
    std::fputs(mask.c_str(), f);
    std::fclose(f);
    return {};
  }

  int ns_fd() const { return ns_fd_; }
  const std::string& ns() const { return ns_; }
  const std::string& dpdk_if() const { return dpdk_if_; }

 private:
  std::string peer_cidr_;
  std::string ns_;
  std::string dpdk_if_;
  std::string peer_if_;
  int ns_fd_ = -1;
};

// A phone in the namespace: PCMU RTP, one tone, decodes what it hears and
// checks that it comes from the leg's address.
class NsPhone {
 public:
  // Binds `local_ip` (an address of the namespace) on a free port.
  NsPhone(int ns_fd, const char* local_ip, double tone_hz) : tone_hz_(tone_hz), tone_(tone_hz, 8000, -12.0) {
    InNamespace(ns_fd, [&] {
      fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      sockaddr_in local{};
      local.sin_family = AF_INET;
      inet_pton(AF_INET, local_ip, &local.sin_addr);
      if (fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
        close(fd_);
        fd_ = -1;
      }
    });
    if (fd_ < 0) std::abort();  // a test set-up error
    sockaddr_in local{};
    socklen_t length = sizeof local;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &length);
    port_ = ntohs(local.sin_port);
    ssrc_ = 0x5000 + static_cast<uint32_t>(tone_hz);
  }
  ~NsPhone() {
    if (fd_ >= 0) close(fd_);
  }

  uint16_t port() const { return port_; }
  void SendTo(const char* ip, uint16_t port) {
    destination_.sin_family = AF_INET;
    destination_.sin_port = htons(port);
    inet_pton(AF_INET, ip, &destination_.sin_addr);
  }

  void SendFrame() {
    int16_t pcm[160];
    tone_.Fill(pcm);
    uint8_t packet[12 + 160];
    packet[0] = 0x80;
    packet[1] = 0;
    packet[2] = static_cast<uint8_t>(sequence_ >> 8);
    packet[3] = static_cast<uint8_t>(sequence_);
    for (int i = 0; i < 4; ++i) {
      packet[4 + i] = static_cast<uint8_t>(timestamp_ >> (24 - 8 * i));
      packet[8 + i] = static_cast<uint8_t>(ssrc_ >> (24 - 8 * i));
    }
    (void)encoder_.Encode(pcm, std::span<uint8_t>(packet + 12, 160));
    ++sequence_;
    timestamp_ += 160;
    sendto(fd_, packet, sizeof packet, 0, reinterpret_cast<const sockaddr*>(&destination_),
           sizeof destination_);
  }

  void Drain() {
    uint8_t buffer[2048];
    for (;;) {
      sockaddr_in from{};
      socklen_t length = sizeof from;
      ssize_t n = recvfrom(fd_, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &length);
      if (n < 12) return;
      if (from.sin_port != destination_.sin_port || from.sin_addr.s_addr != destination_.sin_addr.s_addr) {
        ++wrong_source_;
        continue;
      }
      if (buffer[1] >= 192 && buffer[1] <= 223) {  // RTCP (rtcp-mux, RFC 5761 §4): the leg's reports
        ++rtcp_;
        continue;
      }
      Packet packet;
      packet.sequence = static_cast<uint16_t>(buffer[2] << 8 | buffer[3]);
      packet.timestamp = static_cast<uint32_t>(buffer[4]) << 24 | static_cast<uint32_t>(buffer[5]) << 16 |
                         static_cast<uint32_t>(buffer[6]) << 8 | buffer[7];
      packet.ssrc = static_cast<uint32_t>(buffer[8]) << 24 | static_cast<uint32_t>(buffer[9]) << 16 |
                    static_cast<uint32_t>(buffer[10]) << 8 | buffer[11];
      packet.marker = (buffer[1] & 0x80) != 0;
      packets_.push_back(packet);
      int16_t pcm[2048];
      auto decoded = decoder_.Decode(std::span<const uint8_t>(buffer + 12, static_cast<size_t>(n) - 12), pcm);
      if (decoded) heard_.insert(heard_.end(), pcm, pcm + *decoded);
    }
  }

  double Level(double tone_hz, int ms = 200) const {
    const size_t n = static_cast<size_t>(ms * 8);
    if (heard_.size() < n) return -200.0;
    return earshot::testing::ToneLevelDbfs(
        std::span<const int16_t>(heard_.data() + heard_.size() - n, n), tone_hz, 8000);
  }

  struct Packet {
    uint16_t sequence;
    uint32_t timestamp;
    uint32_t ssrc;
    bool marker;
  };
  const std::vector<Packet>& packets() const { return packets_; }
  int wrong_source() const { return wrong_source_; }
  int rtcp() const { return rtcp_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  double tone_hz_;
  earshot::testing::ToneGenerator tone_;
  G711Encoder encoder_{G711Law::kUlaw};
  G711Decoder decoder_{G711Law::kUlaw};
  uint32_t ssrc_ = 0;
  uint16_t sequence_ = 1;
  uint32_t timestamp_ = 0;
  sockaddr_in destination_{};
  std::vector<int16_t> heard_;
  std::vector<Packet> packets_;
  int wrong_source_ = 0;
  int rtcp_ = 0;
};

// An ICMP echo request from the namespace to `ip`; true if the reply came.
inline bool PingOnce(int ns_fd, const char* ip, uint16_t sequence) {
  int fd = -1;
  InNamespace(ns_fd, [&] { fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP); });
  if (fd < 0) return false;
  timeval timeout{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  uint8_t request[64] = {};
  request[0] = ICMP_ECHO;
  request[4] = 0x12;
  request[5] = 0x34;
  request[6] = static_cast<uint8_t>(sequence >> 8);
  request[7] = static_cast<uint8_t>(sequence);
  for (size_t i = 8; i < sizeof request; ++i) request[i] = static_cast<uint8_t>(i);
  const uint16_t checksum = ChecksumFinish(ChecksumAdd(request));
  request[2] = static_cast<uint8_t>(checksum >> 8);
  request[3] = static_cast<uint8_t>(checksum);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &to.sin_addr);
  sendto(fd, request, sizeof request, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  bool answered = false;
  const int64_t deadline = NowNs() + 1'000'000'000;
  while (!answered && NowNs() < deadline) {
    uint8_t reply[2048];
    const ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n < 0) break;
    const size_t ihl = static_cast<size_t>(reply[0] & 0x0F) * 4;
    if (static_cast<size_t>(n) < ihl + sizeof request) continue;
    const uint8_t* icmp = reply + ihl;
    answered = icmp[0] == ICMP_ECHOREPLY && icmp[4] == 0x12 && icmp[5] == 0x34 &&
               (icmp[6] << 8 | icmp[7]) == sequence &&
               std::memcmp(icmp + 8, request + 8, sizeof request - 8) == 0 &&
               ChecksumFinish(ChecksumAdd({icmp, sizeof request})) == 0;
  }
  close(fd);
  return answered;
}

}  // namespace earshot::dataplane::dpdk::testing

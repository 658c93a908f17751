#pragma once
// The packet I/O interface shared by the kernel and DPDK back ends
// (ARCHITECTURE.md "Two packet back ends, one interface"): own a local UDP port,
// receive a burst, send a burst. One PacketIo per worker, used only by that
// worker's thread; nothing here is thread-safe and nothing needs to be.
//
// Buffers come from the worker's fixed PacketPool and are passed by pointer
// (the handle). ReceiveBurst hands out buffers the caller must give back, either
// by freeing them or by passing them to SendBurst, which always takes ownership
// of every buffer it is given, sent or not. After start-up nothing allocates: a
// full pool means packets are dropped and counted, never a crash.
//
// Directions are named from Earshot's side: rx is what arrives at a local port,
// tx is what Earshot sends from it.

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "codecs/result.h"

namespace earshot::dataplane {

// An IPv4 or IPv6 address and UDP port, as a small value.
class SocketAddress {
 public:
  SocketAddress() = default;  // unset: family() == AF_UNSPEC
  [[nodiscard]] static Result<SocketAddress> Parse(const std::string& ip, uint16_t port);
  static SocketAddress FromSockaddr(const sockaddr_storage& storage);

  int family() const { return family_; }
  uint16_t port() const { return port_; }
  bool is_set() const { return family_ != AF_UNSPEC; }
  SocketAddress WithPort(uint16_t port) const;
  // Fills `storage`; returns the length to pass to the socket call.
  socklen_t ToSockaddr(sockaddr_storage& storage) const;
  std::string ToString() const;  // 127.0.0.1:30000, [::1]:30000

  friend bool operator==(const SocketAddress&, const SocketAddress&) = default;

 private:
  int family_ = AF_UNSPEC;
  uint16_t port_ = 0;
  uint8_t address_[16] = {};  // network order; IPv4 in the first 4 bytes
};

// An open local port, as the back end numbers it.
using PortHandle = int32_t;
inline constexpr PortHandle kNoPort = -1;

struct PacketBuffer {
  static constexpr size_t kCapacity = 2048;  // a whole Ethernet frame and headroom
  uint8_t data[kCapacity];
  uint16_t size = 0;
  PortHandle port = kNoPort;  // rx: where it arrived; tx: where it leaves from
  SocketAddress peer;         // rx: who sent it; tx: where it goes
  int64_t rx_time_ns = 0;     // rx: CLOCK_MONOTONIC when the back end took it
  std::span<uint8_t> bytes() { return std::span<uint8_t>(data, size); }
};

// A fixed set of buffers owned by one worker. Alloc returns nullptr when all are
// in use. Alloc and Free never allocate: the free stack is reserved up front.
// Freeing a buffer twice, or one from another pool, fails a DCHECK.
class PacketPool {
 public:
  explicit PacketPool(size_t buffers);
  PacketPool(const PacketPool&) = delete;
  PacketPool& operator=(const PacketPool&) = delete;

  PacketBuffer* Alloc();
  void Free(PacketBuffer* buffer);
  size_t available() const { return free_.size(); }
  size_t capacity() const { return storage_.size(); }

 private:
  std::vector<PacketBuffer> storage_;
  std::vector<PacketBuffer*> free_;  // a stack; reserved for every buffer
  std::vector<uint8_t> is_free_;     // per buffer, for the double-free DCHECK
};

struct PacketIoCounters {
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t rx_truncated = 0;    // datagrams larger than a buffer, dropped
  uint64_t rx_pool_empty = 0;   // bursts cut short because the pool was empty
  uint64_t rx_errors = 0;
  uint64_t tx_packets = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_dropped = 0;      // the kernel or NIC refused them (full, unreachable...)
  uint64_t syscalls = 0;        // system calls made, for cost accounting
};

class PacketIo {
 public:
  virtual ~PacketIo() = default;

  // Opens `local` for receiving and sending. The port must be free.
  [[nodiscard]] virtual Result<PortHandle> OpenPort(const SocketAddress& local) = 0;
  virtual void ClosePort(PortHandle port) = 0;
  virtual SocketAddress LocalAddress(PortHandle port) const = 0;

  // Waits until a packet may be ready or `timeout` passes (0: do not wait).
  virtual void Wait(std::chrono::nanoseconds timeout) = 0;
  // Any thread: makes a Wait in progress, or the next one, return soon, so that
  // a worker picks up a control command without waiting for its next tick.
  // Back ends that cannot do this return false (the command then waits for the
  // worker's next phase, at most a millisecond).
  virtual bool Wake() = 0;
  // Takes up to out.size() received packets from any open port, without
  // waiting. Returns how many buffers were written to `out`.
  virtual size_t ReceiveBurst(std::span<PacketBuffer*> out) = 0;
  // Sends every packet from its port to its peer, and frees them all.
  // Returns how many were handed to the network.
  virtual size_t SendBurst(std::span<PacketBuffer*> packets) = 0;

  virtual PacketPool& pool() = 0;
  virtual const PacketIoCounters& counters() const = 0;
};

}  // namespace earshot::dataplane

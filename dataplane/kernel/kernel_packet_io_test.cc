// The kernel back ends' behaviour, pinned once and run against both: every
// KernelPacketIoTest is instantiated for epoll (KernelPacketIo) and io_uring
// (UringPacketIo); the io_uring instances skip, saying why, where io_uring is
// unavailable (built without liburing, disabled, too old a kernel).
#include "dataplane/kernel/kernel_packet_io.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "dataplane/kernel/kernel_io_mode.h"
#include "dataplane/kernel/unique_fd.h"
#ifdef EARSHOT_HAVE_URING
#include "dataplane/kernel/uring_packet_io.h"
#endif

namespace earshot::dataplane {
namespace {

using std::chrono::milliseconds;

SocketAddress Loopback4(uint16_t port = 0) { return *SocketAddress::Parse("127.0.0.1", port); }

PortHandle Open(PacketIo& io, const SocketAddress& local) {
  auto port = io.OpenPort(local);
  EXPECT_TRUE(port.has_value()) << port.error().message;
  return port.value_or(kNoPort);
}

// A packet from `port` to `peer` whose payload is `text`.
PacketBuffer* MakePacket(PacketPool& pool, PortHandle port, const SocketAddress& peer,
                         const std::string& text) {
  PacketBuffer* buffer = pool.Alloc();
  EXPECT_NE(buffer, nullptr);
  std::memcpy(buffer->data, text.data(), text.size());
  buffer->size = static_cast<uint16_t>(text.size());
  buffer->port = port;
  buffer->peer = peer;
  return buffer;
}

std::string Payload(const PacketBuffer* buffer) {
  return std::string(reinterpret_cast<const char*>(buffer->data), buffer->size);
}

// Waits and receives until `count` packets came or two seconds passed; the
// caller frees what it gets.
std::vector<PacketBuffer*> ReceiveUntil(PacketIo& io, size_t count) {
  std::vector<PacketBuffer*> received;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  PacketBuffer* burst[32];
  while (received.size() < count && std::chrono::steady_clock::now() < deadline) {
    io.Wait(milliseconds(10));
    const size_t n = io.ReceiveBurst(burst);
    received.insert(received.end(), burst, burst + n);
  }
  return received;
}

void FreeAll(PacketPool& pool, const std::vector<PacketBuffer*>& buffers) {
  for (PacketBuffer* buffer : buffers) pool.Free(buffer);
}

// A plain UDP socket standing in for a far end.
class TestPeer {
 public:
  explicit TestPeer(int family = AF_INET) : fd_(socket(family, SOCK_DGRAM, 0)) {
    sockaddr_storage storage;
    const SocketAddress local = *SocketAddress::Parse(family == AF_INET ? "127.0.0.1" : "::1", 0);
    const socklen_t length = local.ToSockaddr(storage);
    EXPECT_EQ(bind(fd_.get(), reinterpret_cast<sockaddr*>(&storage), length), 0);
    socklen_t bound = sizeof(storage);
    getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&storage), &bound);
    address_ = SocketAddress::FromSockaddr(storage);
  }
  void SendTo(const SocketAddress& to, const std::string& bytes) {
    sockaddr_storage storage;
    const socklen_t length = to.ToSockaddr(storage);
    ASSERT_EQ(sendto(fd_.get(), bytes.data(), bytes.size(), 0,
                     reinterpret_cast<sockaddr*>(&storage), length),
              static_cast<ssize_t>(bytes.size()));
  }
  const SocketAddress& address() const { return address_; }
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
  SocketAddress address_;
};

TEST(SocketAddressTest, ParsesAndPrintsBothFamilies) {
  auto v4 = SocketAddress::Parse("192.0.2.7", 30000);
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->family(), AF_INET);
  EXPECT_EQ(v4->ToString(), "192.0.2.7:30000");
  auto v6 = SocketAddress::Parse("2001:db8::1", 5004);
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->family(), AF_INET6);
  EXPECT_EQ(v6->ToString(), "[2001:db8::1]:5004");
  EXPECT_EQ(*SocketAddress::Parse("[2001:db8::1]", 5004), *v6);
  EXPECT_EQ(v6->WithPort(7).port(), 7);
  EXPECT_EQ(SocketAddress().ToString(), "(unset)");
}

TEST(SocketAddressTest, RejectsWhatIsNotAnAddress) {
  for (const char* text : {"", "localhost", "1.2.3", "256.1.1.1", "fe80::1%eth0", "::g"}) {
    auto parsed = SocketAddress::Parse(text, 1);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(SocketAddressTest, RoundTripsThroughSockaddr) {
  for (const char* text : {"10.1.2.3", "::1", "2001:db8:1:2:3:4:5:6"}) {
    const SocketAddress address = *SocketAddress::Parse(text, 40000);
    sockaddr_storage storage;
    EXPECT_GT(address.ToSockaddr(storage), 0u);
    EXPECT_EQ(SocketAddress::FromSockaddr(storage), address) << text;
  }
  sockaddr_storage storage;
  EXPECT_EQ(SocketAddress().ToSockaddr(storage), 0u);
}

TEST(PacketPoolTest, HandsOutEveryBufferOnceThenNullptr) {
  PacketPool pool(4);
  std::vector<PacketBuffer*> taken;
  for (int i = 0; i < 4; ++i) taken.push_back(pool.Alloc());
  EXPECT_EQ(pool.Alloc(), nullptr);
  EXPECT_EQ(pool.available(), 0u);
  FreeAll(pool, taken);
  EXPECT_EQ(pool.available(), 4u);
  EXPECT_EQ(pool.capacity(), 4u);
}

TEST(PacketPoolDeathTest, DoubleFreeFailsADebugCheck) {
#ifdef NDEBUG
  GTEST_SKIP() << "EARSHOT_DCHECK is off in release builds";
#else
  PacketPool pool(2);
  PacketBuffer* buffer = pool.Alloc();
  pool.Free(buffer);
  EXPECT_DEATH(pool.Free(buffer), "");
#endif
}

size_t OpenPorts(PacketIo& io) {
  if (auto* epoll = dynamic_cast<KernelPacketIo*>(&io)) return epoll->open_ports();
#ifdef EARSHOT_HAVE_URING
  if (auto* uring = dynamic_cast<UringPacketIo*>(&io)) return uring->open_ports();
#endif
  ADD_FAILURE() << "unknown back end";
  return 0;
}

// The parameter is the back end; tests make theirs with MakeIo.
class KernelPacketIoTest : public ::testing::TestWithParam<KernelIoMode> {
 protected:
  void SetUp() override {
    if (GetParam() != KernelIoMode::kUring) return;
    // Asked once per process: why io_uring cannot be used here, or "".
    static const std::string unavailable = [] {
      auto probe = MakeUringPacketIo({});
      return !probe && probe.error().code == ErrorCode::kUnavailable ? probe.error().message
                                                                     : std::string();
    }();
    if (!unavailable.empty()) GTEST_SKIP() << unavailable;
  }
  bool uring() const { return GetParam() == KernelIoMode::kUring; }
  std::unique_ptr<PacketIo> MakeIo(KernelPacketIoOptions options = {}) {
    auto io = MakeKernelPacketIo(options, GetParam());
    EXPECT_TRUE(io.has_value()) << io.error().message;
    return io ? std::move(*io) : nullptr;
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, KernelPacketIoTest,
                         ::testing::Values(KernelIoMode::kEpoll, KernelIoMode::kUring),
                         [](const ::testing::TestParamInfo<KernelIoMode>& param_info) {
                           return std::string(KernelIoModeName(param_info.param));
                         });

TEST_P(KernelPacketIoTest, SendsFromOnePortToAnother) {
  auto io = MakeIo();
  const PortHandle a = Open(*io, Loopback4());
  const PortHandle b = Open(*io, Loopback4());
  ASSERT_NE(a, b);
  EXPECT_NE(io->LocalAddress(a).port(), 0);  // port 0 became a real one

  PacketBuffer* packet[] = {MakePacket(io->pool(), a, io->LocalAddress(b), "hello")};
  EXPECT_EQ(io->SendBurst(packet), 1u);
  EXPECT_EQ(io->pool().available(), io->pool().capacity());  // SendBurst freed it

  auto received = ReceiveUntil(*io, 1);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0]->port, b);
  EXPECT_EQ(received[0]->peer, io->LocalAddress(a));
  EXPECT_EQ(Payload(received[0]), "hello");
  EXPECT_GT(received[0]->rx_time_ns, 0);
  EXPECT_EQ(io->counters().rx_packets, 1u);
  EXPECT_EQ(io->counters().rx_bytes, 5u);
  EXPECT_EQ(io->counters().tx_packets, 1u);
  EXPECT_EQ(io->counters().tx_bytes, 5u);
  FreeAll(io->pool(), received);
  EXPECT_EQ(io->pool().available(), io->pool().capacity());
}

TEST_P(KernelPacketIoTest, BurstOf100PacketsAcrossTenPortsArrivesComplete) {
  auto io = MakeIo();
  const PortHandle sender = Open(*io, Loopback4());
  std::vector<PortHandle> ports;
  for (int i = 0; i < 10; ++i) ports.push_back(Open(*io, Loopback4()));
  std::vector<PacketBuffer*> burst;
  for (int i = 0; i < 100; ++i) {
    burst.push_back(MakePacket(io->pool(), sender, io->LocalAddress(ports[i % 10]),
                               "packet " + std::to_string(i)));
  }
  EXPECT_EQ(io->SendBurst(burst), 100u);
  // epoll: all from one port, sendmmsg batches of 32 (send_batch). io_uring:
  // one submit per send_batch SQEs. Both: 4.
  EXPECT_EQ(io->counters().syscalls, 4u);

  auto received = ReceiveUntil(*io, 100);
  ASSERT_EQ(received.size(), 100u);
  std::map<PortHandle, int> per_port;
  std::map<std::string, int> payloads;
  for (PacketBuffer* packet : received) {
    ++per_port[packet->port];
    ++payloads[Payload(packet)];
    EXPECT_EQ(packet->peer, io->LocalAddress(sender));
  }
  for (PortHandle port : ports) EXPECT_EQ(per_port[port], 10);
  EXPECT_EQ(payloads.size(), 100u);
  FreeAll(io->pool(), received);
}

// epoll: one sendmmsg per run of packets from the same port, so a mixer tick
// (a socket per leg) costs a call per packet. io_uring: one submit per burst.
TEST_P(KernelPacketIoTest, SendBurstSystemCallsAreTheBackEndsOwn) {
  auto io = MakeIo();
  const PortHandle target = Open(*io, Loopback4());
  std::vector<PortHandle> legs;
  for (int i = 0; i < 10; ++i) legs.push_back(Open(*io, Loopback4()));
  std::vector<PacketBuffer*> burst;
  for (PortHandle leg : legs)
    burst.push_back(MakePacket(io->pool(), leg, io->LocalAddress(target), "x"));
  EXPECT_EQ(io->SendBurst(burst), 10u);
  EXPECT_EQ(io->counters().syscalls, uring() ? 1u : 10u);
  EXPECT_EQ(io->pool().available(), io->pool().capacity());  // all freed already

  burst.clear();
  for (int i = 0; i < 32; ++i)
    burst.push_back(MakePacket(io->pool(), legs[0], io->LocalAddress(target), "y"));
  EXPECT_EQ(io->SendBurst(burst), 32u);
  EXPECT_EQ(io->counters().syscalls, uring() ? 2u : 11u);
  FreeAll(io->pool(), ReceiveUntil(*io, 42));
}

TEST_P(KernelPacketIoTest, NeverReturnsMoreThanTheBurstAsksFor) {
  auto io = MakeIo();
  const PortHandle port = Open(*io, Loopback4());
  TestPeer peer;
  for (int i = 0; i < 50; ++i) peer.SendTo(io->LocalAddress(port), "z");
  io->Wait(milliseconds(100));
  PacketBuffer* out[5];
  EXPECT_EQ(io->ReceiveBurst(out), 5u);
  FreeAll(io->pool(), std::vector<PacketBuffer*>(out, out + 5));
  FreeAll(io->pool(), ReceiveUntil(*io, 45));
  EXPECT_EQ(io->counters().rx_packets, 50u);
}

TEST_P(KernelPacketIoTest, TruncatedDatagramIsDroppedAndCounted) {
  auto io = MakeIo();
  const PortHandle port = Open(*io, Loopback4());
  TestPeer peer;
  peer.SendTo(io->LocalAddress(port), std::string(3000, 'L'));
  peer.SendTo(io->LocalAddress(port), std::string(PacketBuffer::kCapacity, 'F'));  // just fits
  peer.SendTo(io->LocalAddress(port), "small");
  auto received = ReceiveUntil(*io, 2);
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0]->size, PacketBuffer::kCapacity);
  EXPECT_EQ(Payload(received[1]), "small");
  EXPECT_EQ(received[1]->peer, peer.address());
  EXPECT_EQ(io->counters().rx_truncated, 1u);
  FreeAll(io->pool(), received);
  EXPECT_EQ(io->pool().available(), io->pool().capacity());
}

TEST_P(KernelPacketIoTest, EmptyPoolCutsTheBurstShortAndLeaksNothing) {
  KernelPacketIoOptions options;
  options.pool_buffers = 8;
  auto io = MakeIo(options);
  const PortHandle port = Open(*io, Loopback4());
  TestPeer peer;
  for (int i = 0; i < 20; ++i) peer.SendTo(io->LocalAddress(port), std::to_string(i));
  io->Wait(milliseconds(100));

  PacketBuffer* out[32];
  EXPECT_EQ(io->ReceiveBurst(out), 8u);
  EXPECT_EQ(io->ReceiveBurst(out), 0u);  // nothing to receive into
  EXPECT_GE(io->counters().rx_pool_empty, 1u);
  FreeAll(io->pool(), std::vector<PacketBuffer*>(out, out + 8));

  auto rest = ReceiveUntil(*io, 8);  // holds at most the pool's 8
  EXPECT_EQ(rest.size(), 8u);
  FreeAll(io->pool(), rest);
  rest = ReceiveUntil(*io, 4);
  EXPECT_EQ(rest.size(), 4u);
  EXPECT_EQ(Payload(rest.back()), "19");  // in order, none lost
  FreeAll(io->pool(), rest);
  EXPECT_EQ(io->pool().available(), 8u);
  EXPECT_EQ(io->counters().rx_packets, 20u);
}

TEST_P(KernelPacketIoTest, UndeliverablePacketsAreCountedAndLaterSendsWork) {
  auto io = MakeIo();
  const PortHandle from = Open(*io, Loopback4());
  const PortHandle to = Open(*io, Loopback4());
  const PortHandle gone = Open(*io, Loopback4());
  const SocketAddress closed_address = io->LocalAddress(gone);
  io->ClosePort(gone);

  // To a closed port (ICMP port unreachable comes back), to the wrong family,
  // to nobody, from a closed port: all counted, none stops the others.
  std::vector<PacketBuffer*> burst = {
      MakePacket(io->pool(), from, closed_address, "refused"),
      MakePacket(io->pool(), from, *SocketAddress::Parse("::1", 9), "wrong family"),
      MakePacket(io->pool(), from, SocketAddress(), "no peer"),
      MakePacket(io->pool(), from, io->LocalAddress(to), "first"),
      MakePacket(io->pool(), gone, io->LocalAddress(to), "from a closed port"),
  };
  const size_t sent = io->SendBurst(burst);
  for (int i = 0; i < 3; ++i) {
    PacketBuffer* again[] = {MakePacket(io->pool(), from, closed_address, "refused again"),
                             MakePacket(io->pool(), from, io->LocalAddress(to), "later")};
    io->SendBurst(again);
  }
  const PacketIoCounters& counters = io->counters();
  EXPECT_EQ(counters.tx_packets + counters.tx_dropped, 11u);
  EXPECT_GE(counters.tx_dropped, 3u);  // wrong family, no peer, closed port
  EXPECT_LE(sent, 2u);
  EXPECT_EQ(io->pool().available(), io->pool().capacity());

  auto received = ReceiveUntil(*io, 4);
  ASSERT_EQ(received.size(), 4u);
  EXPECT_EQ(Payload(received[0]), "first");
  EXPECT_EQ(Payload(received[3]), "later");
  FreeAll(io->pool(), received);
}

TEST_P(KernelPacketIoTest, OpeningABoundPortFailsWithAClearMessage) {
  TestPeer squatter;
  auto io = MakeIo();
  auto port = io->OpenPort(squatter.address());
  ASSERT_FALSE(port.has_value());
  EXPECT_EQ(port.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(port.error().message.find(squatter.address().ToString()), std::string::npos)
      << port.error().message;

  const PortHandle mine = Open(*io, Loopback4());
  auto twice = io->OpenPort(io->LocalAddress(mine));
  ASSERT_FALSE(twice.has_value());
  EXPECT_EQ(twice.error().code, ErrorCode::kAlreadyExists);
}

TEST_P(KernelPacketIoTest, BadAddressesAreInvalidArguments) {
  auto io = MakeIo();
  auto unset = io->OpenPort(SocketAddress());
  ASSERT_FALSE(unset.has_value());
  EXPECT_EQ(unset.error().code, ErrorCode::kInvalidArgument);
  auto foreign = io->OpenPort(*SocketAddress::Parse("192.0.2.1", 0));  // TEST-NET-1
  ASSERT_FALSE(foreign.has_value());
  EXPECT_EQ(foreign.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(foreign.error().message.find("192.0.2.1"), std::string::npos);
}

TEST_P(KernelPacketIoTest, RunningOutOfPortSlotsIsResourceExhausted) {
  KernelPacketIoOptions options;
  options.max_ports = 2;
  auto io = MakeIo(options);
  Open(*io, Loopback4());
  Open(*io, Loopback4());
  auto third = io->OpenPort(Loopback4());
  ASSERT_FALSE(third.has_value());
  EXPECT_EQ(third.error().code, ErrorCode::kResourceExhausted);
}

TEST_P(KernelPacketIoTest, ClosedHandleIsReusedAndTheNewPortWorks) {
  auto io = MakeIo();
  const PortHandle a = Open(*io, Loopback4());
  const PortHandle b = Open(*io, Loopback4());
  const SocketAddress old_b = io->LocalAddress(b);
  io->ClosePort(b);
  EXPECT_FALSE(io->LocalAddress(b).is_set());
  const PortHandle c = Open(*io, old_b);  // the port itself is free again too
  EXPECT_EQ(c, b);
  EXPECT_EQ(OpenPorts(*io), 2u);
  PacketBuffer* packet[] = {MakePacket(io->pool(), a, old_b, "again")};
  EXPECT_EQ(io->SendBurst(packet), 1u);
  auto received = ReceiveUntil(*io, 1);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0]->port, c);
  FreeAll(io->pool(), received);
}

TEST_P(KernelPacketIoTest, WorksOverIpv6Loopback) {
  UniqueFd probe(socket(AF_INET6, SOCK_DGRAM, 0));
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  any.sin6_addr = in6addr_loopback;
  if (!probe || bind(probe.get(), reinterpret_cast<sockaddr*>(&any), sizeof(any)) != 0) {
    GTEST_SKIP() << "no IPv6 loopback on this machine";
  }
  auto io = MakeIo();
  const SocketAddress v6 = *SocketAddress::Parse("::1", 0);
  const PortHandle a = Open(*io, v6);
  const PortHandle b = Open(*io, v6);
  EXPECT_EQ(io->LocalAddress(a).family(), AF_INET6);
  PacketBuffer* packet[] = {MakePacket(io->pool(), a, io->LocalAddress(b), "six")};
  EXPECT_EQ(io->SendBurst(packet), 1u);
  auto received = ReceiveUntil(*io, 1);
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0]->peer, io->LocalAddress(a));
  EXPECT_EQ(received[0]->peer.ToString(), "[::1]:" + std::to_string(io->LocalAddress(a).port()));
  FreeAll(io->pool(), received);
}

// The TOS byte as a plain socket sees it on arrival (IP_RECVTOS).
int ReceivedTos(PacketIo& io, PortHandle from) {
  TestPeer peer;
  const int on = 1;
  setsockopt(peer.fd(), IPPROTO_IP, IP_RECVTOS, &on, sizeof(on));
  PacketBuffer* packet[] = {MakePacket(io.pool(), from, peer.address(), "tos")};
  EXPECT_EQ(io.SendBurst(packet), 1u);
  pollfd ready{peer.fd(), POLLIN, 0};
  EXPECT_EQ(poll(&ready, 1, 2000), 1);
  char data[16];
  alignas(cmsghdr) char control[64];
  iovec iov{data, sizeof(data)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  EXPECT_GT(recvmsg(peer.fd(), &msg, 0), 0);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) return *CMSG_DATA(c);
  }
  return -1;
}

TEST_P(KernelPacketIoTest, MarksMediaAsExpeditedForwardingUnlessToldNot) {
  auto marked = MakeIo();
  EXPECT_EQ(ReceivedTos(*marked, Open(*marked, Loopback4())), KernelPacketIo::kTrafficClassEf);
  KernelPacketIoOptions options;
  options.mark_expedited_forwarding = false;
  auto plain = MakeIo(options);
  EXPECT_EQ(ReceivedTos(*plain, Open(*plain, Loopback4())), 0);
}

TEST_P(KernelPacketIoTest, WaitHonoursItsTimeout) {
  // On a thread of its own: tearing down an io_uring (earlier io_uring tests on
  // the main thread) sends task work with TWA_SIGNAL to every thread that used
  // it, and that makes a later epoll_wait on such a thread return EINTR early,
  // a spurious wake-up both back ends allow (see uring_packet_io.h). A fresh
  // thread has never touched a ring.
  std::thread waiter([this] {
    auto io = MakeIo();
    Open(*io, Loopback4());
    auto start = std::chrono::steady_clock::now();
    io->Wait(std::chrono::nanoseconds(0));
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(5));
    start = std::chrono::steady_clock::now();
    io->Wait(std::chrono::microseconds(20'500));  // epoll rounds up to 21 ms
    EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(20));
  });
  waiter.join();
}

// One flooded socket must not starve another (rtpengine's max_recv_iters).
TEST_P(KernelPacketIoTest, FloodedPortDoesNotStarveAQuietOne) {
  auto io = MakeIo();
  const PortHandle flooded = Open(*io, Loopback4());
  const PortHandle quiet = Open(*io, Loopback4());
  TestPeer flooder;
  TestPeer caller;
  for (int i = 0; i < 10'000; ++i) {
    sockaddr_storage storage;
    const socklen_t length = io->LocalAddress(flooded).ToSockaddr(storage);
    // The socket buffer fills long before 10,000: the excess is dropped by the
    // kernel, which is what a flood looks like.
    sendto(flooder.fd(), "flood", 5, 0, reinterpret_cast<sockaddr*>(&storage), length);
  }
  caller.SendTo(io->LocalAddress(quiet), "hello");
  io->Wait(milliseconds(100));

  int quiet_seen_in_call = 0;
  PacketBuffer* out[32];
  for (int call = 1; call <= 2 && quiet_seen_in_call == 0; ++call) {
    const size_t n = io->ReceiveBurst(out);
    EXPECT_EQ(n, 32u);
    for (size_t i = 0; i < n; ++i) {
      if (out[i]->port == quiet) quiet_seen_in_call = call;
      io->pool().Free(out[i]);
    }
  }
  EXPECT_NE(quiet_seen_in_call, 0);

  // Also for a packet that arrives while the flooded socket is being drained.
  caller.SendTo(io->LocalAddress(quiet), "late");
  quiet_seen_in_call = 0;
  for (int call = 1; call <= 2 && quiet_seen_in_call == 0; ++call) {
    const uint64_t syscalls_before = io->counters().syscalls;
    const size_t n = io->ReceiveBurst(out);
    EXPECT_LE(io->counters().syscalls - syscalls_before, 4u);
    for (size_t i = 0; i < n; ++i) {
      if (out[i]->port == quiet) quiet_seen_in_call = call;
      io->pool().Free(out[i]);
    }
  }
  EXPECT_NE(quiet_seen_in_call, 0);
}

TEST_P(KernelPacketIoTest, CreateRejectsZeroSizes) {
  KernelPacketIoOptions options;
  options.receive_burst = 0;
  auto io = MakeKernelPacketIo(options, GetParam());
  ASSERT_FALSE(io.has_value());
  EXPECT_EQ(io.error().code, ErrorCode::kInvalidArgument);
}

// More datagrams than the pool (and than io_uring's provided buffers, 64 for a
// pool of 8) wait in the socket, and come out complete and in order as buffers
// come back: with io_uring the multishot ends with ENOBUFS and is re-armed.
TEST_P(KernelPacketIoTest, BacklogLargerThanThePoolArrivesInOrder) {
  KernelPacketIoOptions options;
  options.pool_buffers = 8;
  options.socket_receive_buffer = 1 << 20;  // holds all 300 on loopback
  auto io = MakeIo(options);
  const PortHandle port = Open(*io, Loopback4());
  TestPeer peer;
  constexpr int kCount = 300;
  for (int i = 0; i < kCount; ++i) peer.SendTo(io->LocalAddress(port), std::to_string(i));

  std::vector<std::string> payloads;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  PacketBuffer* burst[32];
  while (payloads.size() < kCount && std::chrono::steady_clock::now() < deadline) {
    io->Wait(milliseconds(10));
    const size_t n = io->ReceiveBurst(burst);
    for (size_t i = 0; i < n; ++i) {
      payloads.push_back(Payload(burst[i]));
      io->pool().Free(burst[i]);
    }
  }
  ASSERT_EQ(payloads.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(payloads[static_cast<size_t>(i)], std::to_string(i));
  EXPECT_EQ(io->counters().rx_errors, 0u);
  EXPECT_EQ(io->pool().available(), 8u);
}

// Datagrams that reached a port before it closed never show up later, not even
// on the next port given the same handle (io_uring: completions already queued
// for the old socket carry the old generation).
TEST_P(KernelPacketIoTest, WhatAClosedPortHadQueuedIsNotDeliveredLater) {
  auto io = MakeIo();
  const PortHandle old_port = Open(*io, Loopback4());
  TestPeer peer;
  for (int i = 0; i < 5; ++i) peer.SendTo(io->LocalAddress(old_port), "old");
  io->Wait(milliseconds(100));  // io_uring: the datagrams are now completions
  io->ClosePort(old_port);
  const PortHandle new_port = Open(*io, Loopback4());
  EXPECT_EQ(new_port, old_port);  // the handle is reused
  peer.SendTo(io->LocalAddress(new_port), "new");
  auto received = ReceiveUntil(*io, 2);  // waits the full 2 s for a second one
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(Payload(received[0]), "new");
  EXPECT_EQ(received[0]->port, new_port);
  EXPECT_EQ(io->counters().rx_packets, 1u);
  FreeAll(io->pool(), received);
  EXPECT_EQ(io->pool().available(), io->pool().capacity());
}

// Made on the control thread, then driven by a worker thread, then destroyed
// on the control thread: what earshotd does (io_uring binds the ring to the
// thread that first uses it, not the one that made it).
TEST_P(KernelPacketIoTest, MadeOnOneThreadDrivenFromAnother) {
  auto io = MakeIo();
  ASSERT_NE(io, nullptr);
  std::thread worker([&io] {
    const PortHandle a = Open(*io, Loopback4());
    const PortHandle b = Open(*io, Loopback4());
    PacketBuffer* packet[] = {MakePacket(io->pool(), a, io->LocalAddress(b), "worker")};
    EXPECT_EQ(io->SendBurst(packet), 1u);
    auto received = ReceiveUntil(*io, 1);
    ASSERT_EQ(received.size(), 1u);
    EXPECT_EQ(Payload(received[0]), "worker");
    FreeAll(io->pool(), received);
    io->ClosePort(b);
  });
  worker.join();
  EXPECT_EQ(io->counters().rx_packets, 1u);
  io.reset();
}

// Wake() is how a control command reaches a worker at once instead of at its
// next phase. The waits below run on threads of their own, as in
// WaitHonoursItsTimeout, so that no spurious EINTR from an earlier test's ring
// ends them early.
TEST_P(KernelPacketIoTest, WakeFromAnotherThreadEndsAWaitInProgress) {
  using Clock = std::chrono::steady_clock;
  std::atomic<PacketIo*> shared{nullptr};
  std::atomic<bool> released{false};
  Clock::time_point wait_started;   // written by the worker, read after join
  Clock::time_point wait_returned;  // the same
  std::thread worker([&] {
    auto io = MakeIo();
    ASSERT_NE(io, nullptr);
    Open(*io, Loopback4());
    wait_started = Clock::now();
    shared.store(io.get());
    io->Wait(std::chrono::seconds(1));
    wait_returned = Clock::now();
    // The io is this thread's: destroyed only once the other thread is done with it.
    while (!released.load()) std::this_thread::yield();
  });
  while (shared.load() == nullptr) std::this_thread::yield();
  std::this_thread::sleep_for(milliseconds(50));  // let the Wait start
  const auto woken_at = Clock::now();
  EXPECT_TRUE(shared.load()->Wake());
  released.store(true);
  worker.join();
  EXPECT_LT(wait_returned - woken_at, milliseconds(50))
      << "Wait returned " << (wait_returned - woken_at) / std::chrono::microseconds(1)
      << " us after Wake";
  EXPECT_LT(wait_returned - wait_started, milliseconds(500));
}

TEST_P(KernelPacketIoTest, WakeBeforeWaitEndsTheNextWaitOnlyAndIsNoPacket) {
  std::thread worker([this] {
    auto io = MakeIo();
    ASSERT_NE(io, nullptr);
    // Before first use: the io_uring ring is not even bound to a thread yet.
    EXPECT_TRUE(io->Wake());
    const PortHandle port = Open(*io, Loopback4());
    auto start = std::chrono::steady_clock::now();
    io->Wait(std::chrono::seconds(1));
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(50));
    // Several wakes before a Wait count as one, and are consumed by it.
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(io->Wake());
    start = std::chrono::steady_clock::now();
    io->Wait(std::chrono::seconds(1));
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(50));
    PacketBuffer* burst[8];
    EXPECT_EQ(io->ReceiveBurst(burst), 0u);  // a wake is not a packet
    start = std::chrono::steady_clock::now();
    io->Wait(milliseconds(30));
    EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(25)) << "wake not drained";
    // A wake that SendBurst or ReceiveBurst happens to reap still ends the next Wait.
    // (No Wait in between: the worker's loop drains commands, receives, sends,
    // and only then waits.)
    EXPECT_TRUE(io->Wake());
    std::this_thread::sleep_for(milliseconds(5));
    PacketBuffer* packet[] = {MakePacket(io->pool(), port, io->LocalAddress(port), "self")};
    EXPECT_EQ(io->SendBurst(packet), 1u);
    size_t received = 0;
    for (int i = 0; i < 200 && received == 0; ++i) {
      received = io->ReceiveBurst(burst);
      if (received == 0) std::this_thread::sleep_for(milliseconds(1));
    }
    ASSERT_EQ(received, 1u);
    io->pool().Free(burst[0]);
    start = std::chrono::steady_clock::now();
    io->Wait(std::chrono::seconds(1));
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(50));
    EXPECT_EQ(io->counters().rx_packets, 1u);
    EXPECT_EQ(io->counters().rx_errors, 0u);
    EXPECT_EQ(io->pool().available(), io->pool().capacity());
  });
  worker.join();
}

TEST_P(KernelPacketIoTest, ManyWakesDoNotDisturbReceiving) {
  auto io = MakeIo();
  ASSERT_NE(io, nullptr);
  std::atomic<bool> done{false};
  std::atomic<int> wakes{0};
  std::thread waker([&] {
    while (!done.load()) {
      EXPECT_TRUE(io->Wake());
      wakes.fetch_add(1);
    }
  });
  std::thread worker([&] {
    const PortHandle a = Open(*io, Loopback4());
    const PortHandle b = Open(*io, Loopback4());
    while (wakes.load() < 100) std::this_thread::yield();  // wakes come throughout
    constexpr int kPackets = 200;
    std::vector<PacketBuffer*> received;
    for (int i = 0; i < kPackets; ++i) {
      PacketBuffer* packet[] = {
          MakePacket(io->pool(), a, io->LocalAddress(b), "p" + std::to_string(i))};
      EXPECT_EQ(io->SendBurst(packet), 1u);
      io->Wait(milliseconds(1));
      PacketBuffer* burst[32];
      const size_t n = io->ReceiveBurst(burst);
      received.insert(received.end(), burst, burst + n);
    }
    auto rest = ReceiveUntil(*io, kPackets - received.size());
    received.insert(received.end(), rest.begin(), rest.end());
    ASSERT_EQ(received.size(), static_cast<size_t>(kPackets));
    for (int i = 0; i < kPackets; ++i) {
      EXPECT_EQ(Payload(received[static_cast<size_t>(i)]), "p" + std::to_string(i));
    }
    FreeAll(io->pool(), received);
  });
  worker.join();
  done.store(true);
  waker.join();
  EXPECT_EQ(io->counters().rx_packets, 200u);
  EXPECT_EQ(io->counters().tx_packets, 200u);
  EXPECT_EQ(io->counters().rx_errors, 0u);
  EXPECT_EQ(io->pool().available(), io->pool().capacity());
}

TEST(KernelIoModeTest, NamesParseBack) {
  for (KernelIoMode mode : {KernelIoMode::kAuto, KernelIoMode::kEpoll, KernelIoMode::kUring}) {
    auto parsed = ParseKernelIoMode(KernelIoModeName(mode));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, mode);
  }
  EXPECT_EQ(*ParseKernelIoMode("uring"), KernelIoMode::kUring);
  auto bad = ParseKernelIoMode("dpdk");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST(KernelIoModeTest, AutoSaysWhichBackEndItMade) {
  KernelIoChoice choice;
  auto io = MakeKernelPacketIo({}, KernelIoMode::kAuto, &choice);
  ASSERT_TRUE(io.has_value()) << io.error().message;
  const bool uring_available = MakeUringPacketIo({}).has_value();
  EXPECT_EQ(choice.mode, uring_available ? KernelIoMode::kUring : KernelIoMode::kEpoll);
  EXPECT_EQ(choice.uring_unavailable.empty(), uring_available) << choice.uring_unavailable;
  KernelIoChoice epoll;
  ASSERT_TRUE(MakeKernelPacketIo({}, KernelIoMode::kEpoll, &epoll).has_value());
  EXPECT_EQ(epoll.mode, KernelIoMode::kEpoll);
  EXPECT_TRUE(epoll.uring_unavailable.empty());
}

// Makes io_uring_setup fail with `error` for this process, as a container's
// seccomp profile does (the filter needs no privileges: PR_SET_NO_NEW_PRIVS).
bool RefuseIoUringSetup(int error) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<unsigned>(error) & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

// In a child process: 0 when io_uring is refused with UNAVAILABLE and kAuto
// falls back to epoll, saying why; another number for what went wrong.
int CheckFallbackWhenSetupFails(int error) {
  if (!RefuseIoUringSetup(error)) return 10;
  auto uring = MakeUringPacketIo({});
  if (uring.has_value()) return 11;
  if (uring.error().code != ErrorCode::kUnavailable) return 12;
  auto forced = MakeKernelPacketIo({}, KernelIoMode::kUring);
  if (forced.has_value() || forced.error().code != ErrorCode::kUnavailable) return 13;
  KernelIoChoice choice;
  auto io = MakeKernelPacketIo({}, KernelIoMode::kAuto, &choice);
  if (!io.has_value() || choice.mode != KernelIoMode::kEpoll) return 14;
  if (choice.uring_unavailable != uring.error().message) return 15;
  // The epoll back end it fell back to works.
  PacketIo& made = **io;
  auto a = made.OpenPort(Loopback4());
  auto b = made.OpenPort(Loopback4());
  if (!a || !b) return 16;
  PacketBuffer* packet[] = {MakePacket(made.pool(), *a, made.LocalAddress(*b), "fallback")};
  if (made.SendBurst(packet) != 1) return 17;
  auto received = ReceiveUntil(made, 1);
  if (received.size() != 1 || Payload(received[0]) != "fallback") return 18;
  FreeAll(made.pool(), received);
  return 0;
}

TEST(KernelIoModeDeathTest, RefusedIoUringFallsBackToEpoll) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // EPERM: Docker's default profile; ENOSYS: a kernel without io_uring.
  for (int error : {EPERM, ENOSYS}) {
    EXPECT_EXIT(_exit(CheckFallbackWhenSetupFails(error)), ::testing::ExitedWithCode(0), "")
        << "errno " << error;
  }
}

#ifdef EARSHOT_HAVE_URING
TEST(UringPacketIoDeathTest, RefusalMessagesSayWhy) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        if (!RefuseIoUringSetup(EPERM)) _exit(10);
        auto io = UringPacketIo::Create({});
        const bool says_seccomp =
            !io.has_value() && io.error().message.find("seccomp") != std::string::npos;
        _exit(says_seccomp ? 0 : 11);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(UringPacketIoTest, SizesFollowThePool) {
  KernelPacketIoOptions options;
  options.pool_buffers = 1000;
  auto io = UringPacketIo::Create(options);
  if (!io && io.error().code == ErrorCode::kUnavailable) GTEST_SKIP() << io.error().message;
  ASSERT_TRUE(io.has_value()) << io.error().message;
  EXPECT_EQ((*io)->provided_buffers(), 1024u);
  options.pool_buffers = 8;
  auto small = UringPacketIo::Create(options);
  ASSERT_TRUE(small.has_value());
  EXPECT_EQ((*small)->provided_buffers(), 64u);
}
#endif

}  // namespace
}  // namespace earshot::dataplane

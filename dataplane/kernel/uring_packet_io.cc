#include "dataplane/kernel/uring_packet_io.h"

#include "dataplane/kernel/udp_socket.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>

#include "codecs/check.h"

namespace earshot::dataplane {
namespace {

// user_data: the top two bits say what completed. A receive carries the port's
// generation (30 bits) and handle (32 bits), so a completion for a closed or
// reused handle is told apart from the live port's.
constexpr int kKindShift = 62;
constexpr uint64_t kKindReceive = 0;
constexpr uint64_t kKindSend = 1;
constexpr uint64_t kKindCancel = 2;
constexpr uint64_t kKindWake = 3;
constexpr uint32_t kGenerationMask = (1u << 30) - 1;
constexpr uint64_t kCancelTag = kKindCancel << kKindShift;
constexpr uint64_t kWakeTag = kKindWake << kKindShift;

constexpr uint64_t ReceiveTag(PortHandle port, uint32_t generation) {
  return (uint64_t{generation & kGenerationMask} << 32) | static_cast<uint32_t>(port);
}
constexpr uint64_t SendTag(size_t slot) { return (kKindSend << kKindShift) | slot; }

constexpr int kBufferGroup = 0;
// A provided buffer holds what multishot recvmsg writes: the header, the peer
// address (room for IPv6 whatever the socket's family), then the payload. The
// payload room is exactly a PacketBuffer, so "just fits" and "truncated" mean
// the same as with recvmmsg.
constexpr unsigned kNameRoom = sizeof(sockaddr_in6);
constexpr unsigned kProvidedSize =
    sizeof(io_uring_recvmsg_out) + kNameRoom + PacketBuffer::kCapacity;
// The kernel's limits: a buffer ring has at most 32768 entries, a CQ 65536.
constexpr unsigned kMinProvided = 64;
constexpr unsigned kMaxProvided = 32768;
constexpr unsigned kMaxCqEntries = 65536;
constexpr size_t kMaxPortsLimit = 1 << 20;  // as KernelPacketIo
// ClosePort waits at most this long for a cancelled multishot's last completion.
constexpr int kCloseWaitRounds = 50;
constexpr long kCloseWaitNs = 10'000'000;


int64_t MonotonicNs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

tl::unexpected<Error> Unavailable(const std::string& why) {
  return MakeError(ErrorCode::kUnavailable, "io_uring packet I/O unavailable: " + why);
}

std::string ReadSysctl(const char* path) {
  std::ifstream file(path);
  std::string value;
  if (!(file >> value)) return "";
  return value;
}

// Why io_uring_setup failed, in words an operator can act on.
tl::unexpected<Error> SetupError(int error) {
  switch (error) {
    case ENOSYS:
      return Unavailable(
          "io_uring_setup: function not implemented (a kernel without io_uring, or a "
          "seccomp filter that hides it, as some container runtimes do)");
    case EPERM:
    case EACCES: {
      const std::string disabled = ReadSysctl("/proc/sys/kernel/io_uring_disabled");
      if (disabled == "2") {
        return Unavailable("io_uring is disabled on this host (sysctl kernel.io_uring_disabled=2)");
      }
      if (disabled == "1") {
        return Unavailable(
            "io_uring is restricted on this host (sysctl kernel.io_uring_disabled=1: only "
            "processes with CAP_SYS_ADMIN or in the group kernel.io_uring_group may use it)");
      }
      return Unavailable("io_uring_setup: " + ErrnoText(error) +
                         " (a seccomp filter, such as a container runtime's default profile, "
                         "or a security module refuses io_uring)");
    }
    case ENOMEM:
      return Unavailable(
          "io_uring_setup: out of memory (before Linux 5.12 rings count against "
          "RLIMIT_MEMLOCK)");
    case EMFILE:
    case ENFILE:
      return MakeError(ErrorCode::kResourceExhausted,
                       "io_uring packet I/O: io_uring_setup: " + ErrnoText(error));
    case EINVAL:
      return Unavailable(
          "io_uring_setup rejected the ring flags this back end needs (the kernel is too old; "
          "Linux 6.0 or later is needed)");
    default:
      return Unavailable("io_uring_setup: " + ErrnoText(error));
  }
}

struct FreeMemory {
  void operator()(void* memory) const { std::free(memory); }
};

// Whether this kernel and process can do what the back end relies on: a ring,
// a provided buffer ring, and multishot recvmsg. Asked for real, on a small
// throwaway ring (plain flags, so it may run on any thread), because version
// numbers lie in both directions: distributions backport, seccomp profiles and
// sandboxes (gVisor) refuse or emulate.
Result<void> ProbeMultishotRecvmsg() {
  io_uring ring;
  if (const int result = io_uring_queue_init(4, &ring, 0); result < 0) return SetupError(-result);
  struct RingCloser {
    io_uring* ring;
    ~RingCloser() { io_uring_queue_exit(ring); }
  };
  // Declared before the closer: freed after the ring is gone.
  void* ring_memory = nullptr;
  void* buffer_memory = nullptr;
  if (posix_memalign(&ring_memory, 4096, 2 * sizeof(io_uring_buf)) != 0 ||
      posix_memalign(&buffer_memory, 64, 2 * 64) != 0) {
    std::free(ring_memory);
    io_uring_queue_exit(&ring);
    return MakeError(ErrorCode::kResourceExhausted, "io_uring packet I/O: out of memory");
  }
  std::unique_ptr<void, FreeMemory> ring_owner(ring_memory);
  std::unique_ptr<void, FreeMemory> buffer_owner(buffer_memory);
  RingCloser closer{&ring};

  auto* buffer_ring = static_cast<io_uring_buf_ring*>(ring_memory);
  io_uring_buf_ring_init(buffer_ring);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(ring_memory);
  reg.ring_entries = 2;
  reg.bgid = kBufferGroup;
  if (const int result = io_uring_register_buf_ring(&ring, &reg, 0); result < 0) {
    return Unavailable(result == -EINVAL
                           ? "this kernel has no provided buffer rings (Linux 5.19 or later needed)"
                           : "registering a provided buffer ring: " + ErrnoText(-result));
  }
  for (unsigned i = 0; i < 2; ++i) {
    io_uring_buf_ring_add(buffer_ring, static_cast<uint8_t*>(buffer_memory) + i * 64, 64,
                          static_cast<unsigned short>(i), io_uring_buf_ring_mask(2),
                          static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buffer_ring, 2);

  int pair[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "io_uring packet I/O: socketpair: " + ErrnoText(errno));
  }
  UniqueFd receiver(pair[0]);
  UniqueFd sender(pair[1]);
  msghdr msg{};
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  io_uring_prep_recvmsg_multishot(sqe, receiver.get(), &msg, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, 1);
  if (write(sender.get(), "x", 1) != 1) {
    return MakeError(ErrorCode::kInternal, "io_uring packet I/O: probe write: " + ErrnoText(errno));
  }
  io_uring_cqe* cqe = nullptr;
  __kernel_timespec timeout{1, 0};
  const int waited = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &timeout, nullptr);
  if (waited < 0 || cqe == nullptr) {
    return Unavailable("probing multishot recvmsg: no completion (" + ErrnoText(-waited) + ")");
  }
  const int result = cqe->res;
  const unsigned flags = cqe->flags;
  io_uring_cqe_seen(&ring, cqe);
  if (result == -EINVAL) {
    return Unavailable("this kernel cannot do multishot recvmsg (Linux 6.0 or later needed)");
  }
  if (result < 0) return Unavailable("probing multishot recvmsg: " + ErrnoText(-result));
  if (!(flags & IORING_CQE_F_MORE) || !(flags & IORING_CQE_F_BUFFER)) {
    return Unavailable("multishot recvmsg ended after one datagram (unsupported here)");
  }
  // Cancel the probe's receive and wait for its end, so that nothing can touch
  // the probe's buffers once they are freed.
  sqe = io_uring_get_sqe(&ring);
  io_uring_prep_cancel64(sqe, 1, 0);
  io_uring_sqe_set_data64(sqe, 2);
  for (int round = 0; round < kCloseWaitRounds; ++round) {
    __kernel_timespec wait{0, kCloseWaitNs};
    cqe = nullptr;
    io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &wait, nullptr);
    bool ended = false;
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      if (cqe->user_data == 1 && !(cqe->flags & IORING_CQE_F_MORE)) ended = true;
    }
    io_uring_cq_advance(&ring, seen);
    if (ended) break;
  }
  return {};
}

}  // namespace

void UringPacketIo::HandleQueue::PushBack(PortHandle handle) {
  EARSHOT_DCHECK(size_ < slots_.size());
  slots_[(head_ + size_) % slots_.size()] = handle;
  ++size_;
}

void UringPacketIo::HandleQueue::PopFront() {
  EARSHOT_DCHECK(size_ > 0);
  head_ = (head_ + 1) % slots_.size();
  --size_;
}

void UringPacketIo::HandleQueue::Remove(PortHandle handle) {
  size_t kept = 0;
  for (size_t i = 0; i < size_; ++i) {
    const PortHandle entry = slots_[(head_ + i) % slots_.size()];
    if (entry != handle) slots_[(head_ + kept++) % slots_.size()] = entry;
  }
  size_ = kept;
}

Result<std::unique_ptr<UringPacketIo>> UringPacketIo::Create(const KernelPacketIoOptions& options) {
  // The same limits as KernelPacketIo, so that a configuration valid for one is
  // valid for the other.
  if (options.pool_buffers == 0 || options.max_ports == 0 || options.receive_burst == 0 ||
      options.send_batch == 0 || options.max_recv_calls == 0) {
    return InvalidArgument("kernel packet I/O: pool, port, burst and call limits must be > 0");
  }
  if (options.max_ports > kMaxPortsLimit) {
    return InvalidArgument("kernel packet I/O: max_ports " + std::to_string(options.max_ports) +
                           " is above " + std::to_string(kMaxPortsLimit));
  }
  if (options.receive_burst > 1024 || options.send_batch > 1024) {
    return InvalidArgument("kernel packet I/O: receive_burst and send_batch must be <= 1024");
  }
  // A success is remembered: every ring torn down costs the threads that used
  // it a spurious EINTR (see the header), and the answer does not change (a
  // later sysctl or seccomp change still shows up as io_uring_setup failing in
  // Init). Relaxed load, pairing with the relaxed store below: the flag
  // publishes nothing but itself, and two threads probing at once is harmless.
  static std::atomic<bool> probed_ok{false};
  if (!probed_ok.load(std::memory_order_relaxed)) {
    if (auto probe = ProbeMultishotRecvmsg(); !probe) return tl::unexpected(std::move(probe.error()));
    probed_ok.store(true, std::memory_order_relaxed);
  }

  // As many provided buffers as the pool has (the pool says how many packets
  // this worker means to hold at once), a power of two within the kernel's range.
  const unsigned provided = std::bit_ceil(static_cast<unsigned>(
      std::clamp<size_t>(options.pool_buffers, kMinProvided, kMaxProvided)));
  std::unique_ptr<UringPacketIo> io(new UringPacketIo(options, provided));
  if (auto ready = io->Init(); !ready) return tl::unexpected(std::move(ready.error()));
  return io;
}

UringPacketIo::UringPacketIo(const KernelPacketIoOptions& options, unsigned provided_count)
    : options_(options),
      pool_(options.pool_buffers),
      ports_(options.max_ports),
      ready_(options.max_ports),
      rearm_(options.max_ports),
      provided_count_(provided_count),
      staged_(provided_count),
      send_slots_(options.send_batch) {
  free_handles_.reserve(options.max_ports);
  for (size_t i = options.max_ports; i > 0; --i) {
    free_handles_.push_back(static_cast<PortHandle>(i - 1));
  }
  free_send_slots_.reserve(send_slots_.size());
  for (size_t i = send_slots_.size(); i > 0; --i) {
    SendSlot& slot = send_slots_[i - 1];
    slot.msg.msg_name = &slot.peer;
    slot.msg.msg_iov = &slot.iov;
    slot.msg.msg_iovlen = 1;
    free_send_slots_.push_back(static_cast<uint32_t>(i - 1));
  }
  recv_msg_.msg_namelen = kNameRoom;
}

Result<void> UringPacketIo::Init() {
  // SQ: a whole send batch plus re-arms. CQ: every provided buffer's datagram,
  // an end-of-multishot and a cancel per port, every in-flight send, so that
  // it never overflows in practice (the kernel would keep the excess, not drop).
  const unsigned sq_entries = std::bit_ceil(static_cast<unsigned>(options_.send_batch) + 64u);
  const size_t cq_wanted = size_t{provided_count_} + 2 * options_.max_ports + options_.send_batch;
  const unsigned cq_entries =
      std::bit_ceil(static_cast<unsigned>(std::min<size_t>(cq_wanted, kMaxCqEntries)));

  // Preferred: DEFER_TASKRUN (6.1), so that receive work runs only inside our
  // io_uring_enter, and R_DISABLED so that the ring binds to the worker thread
  // on first use rather than to the control thread that creates it (a
  // SINGLE_ISSUER ring refuses every other task, EEXIST). Then COOP_TASKRUN
  // (5.19): the same "no interrupts" promise, any thread.
  const unsigned common = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP |
                          IORING_SETUP_TASKRUN_FLAG;
  const unsigned preferred = common | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                             IORING_SETUP_R_DISABLED;
  io_uring_params params{};
  params.flags = preferred;
  params.cq_entries = cq_entries;
  int result = io_uring_queue_init_params(sq_entries, &ring_, &params);
  if (result == -EINVAL) {
    params = io_uring_params{};
    params.flags = common | IORING_SETUP_COOP_TASKRUN;
    params.cq_entries = cq_entries;
    result = io_uring_queue_init_params(sq_entries, &ring_, &params);
  }
  if (result < 0) return SetupError(-result);
  ring_ready_ = true;
  defer_taskrun_ = (params.flags & IORING_SETUP_DEFER_TASKRUN) != 0;
  ring_enabled_ = (params.flags & IORING_SETUP_R_DISABLED) == 0;
  // One io_uring_enter that waits with a timeout (no timeout SQE) needs EXT_ARG.
  if (!(params.features & IORING_FEAT_EXT_ARG)) {
    return Unavailable("this kernel lacks IORING_FEAT_EXT_ARG (Linux 5.11 or later needed)");
  }

  void* ring_memory = nullptr;
  void* buffers = nullptr;
  if (posix_memalign(&ring_memory, 4096, size_t{provided_count_} * sizeof(io_uring_buf)) != 0) {
    return MakeError(ErrorCode::kResourceExhausted, "io_uring packet I/O: out of memory");
  }
  buffer_ring_.reset(static_cast<io_uring_buf_ring*>(ring_memory));
  if (posix_memalign(&buffers, 4096, size_t{provided_count_} * kProvidedStride) != 0) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "io_uring packet I/O: out of memory for " + std::to_string(provided_count_) +
                         " receive buffers");
  }
  provided_memory_.reset(static_cast<uint8_t*>(buffers));
  // Touch every page now, so the first receives take no page faults.
  std::memset(buffers, 0, size_t{provided_count_} * kProvidedStride);

  io_uring_buf_ring_init(buffer_ring_.get());
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uintptr_t>(ring_memory);
  reg.ring_entries = provided_count_;
  reg.bgid = kBufferGroup;
  if (const int registered = io_uring_register_buf_ring(&ring_, &reg, 0); registered < 0) {
    return Unavailable("registering " + std::to_string(provided_count_) +
                       " provided buffers: " + ErrnoText(-registered));
  }
  const int mask = io_uring_buf_ring_mask(provided_count_);
  for (unsigned i = 0; i < provided_count_; ++i) {
    io_uring_buf_ring_add(buffer_ring_.get(), ProvidedBuffer(static_cast<BufferId>(i)),
                          kProvidedSize, static_cast<unsigned short>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(buffer_ring_.get(), static_cast<int>(provided_count_));

  // Non-blocking: Wake() must never block, and the drain in Reap neither.
  wake_fd_.Reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd_) {
    return MakeError(ErrorCode::kResourceExhausted,
                     "io_uring packet I/O: eventfd for waking the worker: " + ErrnoText(errno));
  }
  // The poll is armed on first use, by the owner (the ring is still disabled).
  return {};
}

UringPacketIo::~UringPacketIo() {
  // Closing the ring cancels every request; only then may the buffers the
  // kernel writes into be freed (the members, after this body) and the sockets
  // closed. io_uring_queue_exit makes no io_uring_enter, so it may run on any
  // thread (the worker's may be gone).
  if (ring_ready_) io_uring_queue_exit(&ring_);
}

void UringPacketIo::EnsureOwner() {
  if (!ring_enabled_) {
    // liburing 2.3 declares io_uring_enable_rings but does not export it.
    const int enabled = io_uring_register(static_cast<unsigned>(ring_.ring_fd),
                                          IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
    EARSHOT_CHECK(enabled == 0);
    ring_enabled_ = true;
  }
  if (owner_ == std::thread::id()) owner_ = std::this_thread::get_id();
  // One PacketIo, one worker thread; a SINGLE_ISSUER ring would fail with EEXIST.
  EARSHOT_DCHECK(owner_ == std::this_thread::get_id());
}

bool UringPacketIo::IsOpen(PortHandle port) const {
  return port >= 0 && static_cast<size_t>(port) < ports_.size() &&
         ports_[static_cast<size_t>(port)].fd.valid();
}

Result<PortHandle> UringPacketIo::OpenPort(const SocketAddress& local) {
  if (!local.is_set()) return InvalidArgument("cannot open a port on an unset address");
  if (free_handles_.empty()) {
    return MakeError(ErrorCode::kResourceExhausted, "cannot open " + local.ToString() + ": all " +
                                                        std::to_string(ports_.size()) +
                                                        " port slots are in use");
  }
  SocketAddress bound;
  auto fd = OpenUdpSocket(local, options_, bound);
  if (!fd) return tl::unexpected(std::move(fd.error()));

  EnsureOwner();
  const PortHandle handle = free_handles_.back();
  free_handles_.pop_back();
  Port& port = ports_[static_cast<size_t>(handle)];
  port.fd = std::move(*fd);
  port.local = bound;
  if (io_uring_sq_space_left(&ring_) == 0) io_uring_submit(&ring_);
  // POLL_FIRST: a new socket is empty, so do not try a receive that must fail.
  Arm(handle, /*poll_first=*/true);
  // Setup, not counted. Should this submit fail (EBUSY, EINTR), the SQE stays
  // queued and goes with the next io_uring_enter: the port is open either way,
  // and datagrams wait in the socket until the multishot starts.
  io_uring_submit(&ring_);
  return handle;
}

void UringPacketIo::ClosePort(PortHandle handle) {
  if (!IsOpen(handle)) return;
  EnsureOwner();
  Port& port = ports_[static_cast<size_t>(handle)];
  port.closing = true;
  if (port.armed) {
    // The request holds a reference to the socket: closing the descriptor alone
    // would leave it bound. Cancel it, and wait for its last completion.
    if (io_uring_sq_space_left(&ring_) == 0) io_uring_submit(&ring_);
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    io_uring_prep_cancel64(sqe, ReceiveTag(handle, port.generation), 0);
    io_uring_sqe_set_data64(sqe, kCancelTag);
    for (int round = 0; round < kCloseWaitRounds && port.armed; ++round) {
      __kernel_timespec wait{0, kCloseWaitNs};
      io_uring_cqe* cqe = nullptr;
      io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &wait, nullptr);
      Reap();  // stages this port's last datagrams too; dropped below
    }
  }
  DropStaged(port);
  if (port.ready_queued) ready_.Remove(handle);
  if (port.rearm_queued) rearm_.Remove(handle);
  port.fd.Reset();
  port.local = SocketAddress();
  // Anything that still completes for the old socket no longer matches.
  port.generation = (port.generation + 1) & kGenerationMask;
  port.armed = false;
  port.closing = false;
  port.ready_queued = false;
  port.rearm_queued = false;
  free_handles_.push_back(handle);
}

SocketAddress UringPacketIo::LocalAddress(PortHandle port) const {
  return IsOpen(port) ? ports_[static_cast<size_t>(port)].local : SocketAddress();
}

void UringPacketIo::Arm(PortHandle handle, bool poll_first) {
  Port& port = ports_[static_cast<size_t>(handle)];
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  EARSHOT_DCHECK(sqe != nullptr);  // callers make room
  io_uring_prep_recvmsg_multishot(sqe, port.fd.get(), &recv_msg_, 0);
  if (poll_first) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, ReceiveTag(handle, port.generation));
  port.armed = true;
}

void UringPacketIo::ArmWake() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  EARSHOT_DCHECK(sqe != nullptr);  // callers make room
  // Multishot: one completion per write (wake-ups that come together may share
  // one), and it stays armed. Armed while the eventfd is already readable (a
  // Wake() before the first Wait), it completes at once.
  io_uring_prep_poll_multishot(sqe, wake_fd_.get(), POLLIN);
  io_uring_sqe_set_data64(sqe, kWakeTag);
  wake_armed_ = true;
}

void UringPacketIo::CompleteWake(int result, bool more) {
  if (!more) wake_armed_ = false;  // ArmPending arms it again
  if (result < 0) {
    // The poll itself failed (ECANCELED only when the ring goes away). Give up
    // on waking rather than re-arm a request that fails: commands then wait for
    // the worker's next phase, which is what Wake() returning false says.
    if (!more) wake_works_.store(false, std::memory_order_relaxed);
    wake_seen_ = true;  // a Wait must not sleep through a wake this lost
    return;
  }
  // Drain, so the counter cannot grow without bound and a re-armed poll does
  // not fire for wakes already seen. A write after this read posts another
  // completion (the poll is edge-triggered on the eventfd's wake-ups).
  uint64_t wakes = 0;
  ++counters_.syscalls;
  (void)!read(wake_fd_.get(), &wakes, sizeof wakes);  // EAGAIN: a racing drain got it
  wake_seen_ = true;
}

bool UringPacketIo::Wake() {
  if (!wake_works_.load(std::memory_order_relaxed)) return false;
  const uint64_t one = 1;
  // EAGAIN only if the counter is about to overflow: a wake is pending anyway.
  (void)!write(wake_fd_.get(), &one, sizeof one);
  return true;
}

void UringPacketIo::ArmPending() {
  if (!wake_armed_ && io_uring_sq_space_left(&ring_) > 0 &&
      wake_works_.load(std::memory_order_relaxed)) {
    ArmWake();
  }
  // Only while the kernel has buffers: a multishot armed on an empty buffer ring
  // ends at once with ENOBUFS, and re-arming that would spin.
  while (!rearm_.empty() && buffers_held_ < provided_count_ &&
         io_uring_sq_space_left(&ring_) > 0) {
    const PortHandle handle = rearm_.front();
    rearm_.PopFront();
    Port& port = ports_[static_cast<size_t>(handle)];
    port.rearm_queued = false;
    if (!port.fd.valid() || port.armed || port.closing) continue;
    // No POLL_FIRST: a multishot that ran out of buffers left data behind.
    Arm(handle, /*poll_first=*/false);
  }
}

bool UringPacketIo::NeedsEnter() const {
  // IORING_SQ_TASKRUN: receive work is queued for us to run (TASKRUN_FLAG).
  // IORING_SQ_CQ_OVERFLOW: completions wait in the kernel for room in the CQ.
  const unsigned flags = IO_URING_READ_ONCE(*ring_.sq.kflags);
  return io_uring_sq_ready(&ring_) > 0 ||
         (flags & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) != 0;
}

void UringPacketIo::Recycle(BufferId id) {
  io_uring_buf_ring_add(buffer_ring_.get(), ProvidedBuffer(id), kProvidedSize, id,
                        io_uring_buf_ring_mask(provided_count_), 0);
  io_uring_buf_ring_advance(buffer_ring_.get(), 1);
  --buffers_held_;
}

// Not io_uring_peek_batch_cqe: when the CQ is empty and IORING_SQ_TASKRUN is
// set, it makes an io_uring_enter of its own, which would go uncounted and run
// receive work where we did not choose to. io_uring_for_each_cqe never enters.
void UringPacketIo::Reap() {
  int64_t now_ns = 0;
  unsigned head;
  unsigned seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++seen;
    const uint64_t data = cqe->user_data;
    const uint64_t kind = data >> kKindShift;
    if (kind == kKindSend) {
      CompleteSend(static_cast<size_t>(data & ((uint64_t{1} << kKindShift) - 1)), cqe->res);
      continue;
    }
    if (kind == kKindWake) {
      CompleteWake(cqe->res, (cqe->flags & IORING_CQE_F_MORE) != 0);
      continue;
    }
    if (kind != kKindReceive) continue;  // a cancel's own completion

    const int result = cqe->res;
    const bool has_buffer = (cqe->flags & IORING_CQE_F_BUFFER) != 0;
    const auto id = static_cast<BufferId>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    if (has_buffer) ++buffers_held_;
    const auto handle = static_cast<PortHandle>(static_cast<uint32_t>(data));
    const auto generation = static_cast<uint32_t>(data >> 32) & kGenerationMask;
    Port* port = IsOpen(handle) && ports_[static_cast<size_t>(handle)].generation == generation
                     ? &ports_[static_cast<size_t>(handle)]
                     : nullptr;
    if (port == nullptr) {
      // A late completion for a closed socket, or for the socket that had this
      // handle before: its datagram is dropped, as closing a socket drops them.
      if (has_buffer) Recycle(id);
      continue;
    }
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
      port->armed = false;
      if (!port->closing && !port->rearm_queued) {
        rearm_.PushBack(handle);
        port->rearm_queued = true;
      }
    }
    if (result < 0 || !has_buffer) {
      // ENOBUFS: the buffers ran out (re-armed when some come back). ECANCELED:
      // ClosePort. Anything else is a socket error, counted; the socket goes on.
      if (result != -ENOBUFS && result != -ECANCELED && result < 0) ++counters_.rx_errors;
      if (has_buffer) Recycle(id);
      continue;
    }
    io_uring_recvmsg_out* out = io_uring_recvmsg_validate(ProvidedBuffer(id), result, &recv_msg_);
    if (out == nullptr) {
      ++counters_.rx_errors;
      Recycle(id);
      continue;
    }
    if ((out->flags & MSG_TRUNC) || out->payloadlen > PacketBuffer::kCapacity) {
      // Larger than a buffer: not RTP we can use, and half a packet is worse.
      ++counters_.rx_truncated;
      Recycle(id);
      continue;
    }
    // One clock read per reap, as KernelPacketIo reads one per recvmmsg.
    if (now_ns == 0) now_ns = MonotonicNs();
    Stage(handle, id, static_cast<uint16_t>(out->payloadlen), now_ns);
  }
  io_uring_cq_advance(&ring_, seen);
}

void UringPacketIo::Stage(PortHandle handle, BufferId id, uint16_t size, int64_t now_ns) {
  Port& port = ports_[static_cast<size_t>(handle)];
  staged_[id] = Staged{kNoBuffer, size, now_ns};
  if (port.last == kNoBuffer) {
    port.first = id;
  } else {
    staged_[port.last].next = id;
  }
  port.last = id;
  ++port.staged;
  ++staged_total_;
  if (!port.ready_queued) {
    ready_.PushBack(handle);
    port.ready_queued = true;
  }
}

void UringPacketIo::DropStaged(Port& port) {
  for (BufferId id = port.first; id != kNoBuffer;) {
    const BufferId next = staged_[id].next;
    Recycle(id);
    id = next;
  }
  staged_total_ -= port.staged;
  port.staged = 0;
  port.first = port.last = kNoBuffer;
}

PacketBuffer* UringPacketIo::TakeStaged(PortHandle handle) {
  Port& port = ports_[static_cast<size_t>(handle)];
  const BufferId id = port.first;
  const Staged staged = staged_[id];
  port.first = staged.next;
  if (port.first == kNoBuffer) port.last = kNoBuffer;
  --port.staged;
  --staged_total_;

  PacketBuffer* buffer = pool_.Alloc();  // the caller checked there is one
  auto* out = reinterpret_cast<io_uring_recvmsg_out*>(ProvidedBuffer(id));
  std::memcpy(buffer->data, io_uring_recvmsg_payload(out, &recv_msg_), staged.size);
  sockaddr_storage name{};
  std::memcpy(&name, io_uring_recvmsg_name(out), std::min<size_t>(out->namelen, kNameRoom));
  buffer->size = staged.size;
  buffer->port = handle;
  buffer->peer = SocketAddress::FromSockaddr(name);
  buffer->rx_time_ns = staged.rx_time_ns;
  ++counters_.rx_packets;
  counters_.rx_bytes += staged.size;
  Recycle(id);  // the copy is made: the kernel may fill it again
  return buffer;
}

void UringPacketIo::Wait(std::chrono::nanoseconds timeout) {
  EnsureOwner();
  // Reaping costs no system call (but the eventfd drain after a wake), and it
  // tells a wake from a send completion: only datagrams and wakes end a Wait.
  Reap();
  const bool woken = std::exchange(wake_seen_, false);
  if (staged_total_ > 0 || woken) return;
  if (timeout.count() <= 0) return;  // ReceiveBurst enters if work is pending
  ArmPending();
  __kernel_timespec wait{};
  wait.tv_sec = timeout.count() / 1'000'000'000;
  wait.tv_nsec = timeout.count() % 1'000'000'000;
  io_uring_cqe* cqe = nullptr;
  ++counters_.syscalls;
  // One io_uring_enter: submits queued re-arms, runs pending receive work, and
  // sleeps until a completion or the timeout (ETIME, EINTR: nothing to do).
  io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &wait, nullptr);
}

size_t UringPacketIo::ReceiveBurst(std::span<PacketBuffer*> out) {
  if (out.empty()) return 0;
  EnsureOwner();
  ArmPending();
  if (NeedsEnter()) {
    // At most one per call, and only with work pending: submits re-arms and
    // runs the receive work the kernel queued for us, which posts completions.
    ++counters_.syscalls;
    io_uring_submit_and_get_events(&ring_);
  }
  Reap();

  // Rounds over the ports with staged datagrams, as KernelPacketIo's rounds over
  // ready sockets: each visit takes at most its fair share of the room left
  // (room / ports left in the round, at least 1); a port with more goes to the
  // back, for the next round.
  size_t got = 0;
  size_t left_in_round = 0;
  while (got < out.size() && !ready_.empty()) {
    if (pool_.available() == 0) {
      ++counters_.rx_pool_empty;  // the port stays at the head for next time
      break;
    }
    if (left_in_round == 0) left_in_round = ready_.size();
    const PortHandle handle = ready_.front();
    Port& port = ports_[static_cast<size_t>(handle)];
    const size_t quota = std::max<size_t>(1, (out.size() - got) / left_in_round);
    --left_in_round;
    for (size_t taken = 0; taken < quota && port.staged > 0 && pool_.available() > 0; ++taken) {
      out[got++] = TakeStaged(handle);
    }
    if (port.staged > 0 && pool_.available() == 0) continue;  // counted at the top
    ready_.PopFront();
    if (port.staged > 0) {
      ready_.PushBack(handle);
    } else {
      port.ready_queued = false;
    }
  }
  return got;
}

size_t UringPacketIo::SendBurst(std::span<PacketBuffer*> packets) {
  EnsureOwner();
  const uint64_t confirmed_before = sends_confirmed_;
  size_t next = 0;
  while (next < packets.size()) {
    size_t queued = 0;
    while (next < packets.size() && queued < options_.send_batch && !free_send_slots_.empty() &&
           io_uring_sq_space_left(&ring_) > 0) {
      PacketBuffer* buffer = packets[next++];
      // A size past the buffer is a caller's bug; refusing it keeps the kernel
      // from reading the next buffer in the pool.
      EARSHOT_DCHECK(buffer->size <= PacketBuffer::kCapacity);
      const uint32_t slot_index = free_send_slots_.back();
      SendSlot& slot = send_slots_[slot_index];
      const socklen_t name_length = buffer->peer.ToSockaddr(slot.peer);
      if (!IsOpen(buffer->port) || name_length == 0 || buffer->size > PacketBuffer::kCapacity) {
        ++counters_.tx_dropped;
        pool_.Free(buffer);
        continue;
      }
      free_send_slots_.pop_back();
      slot.msg.msg_namelen = name_length;
      slot.iov.iov_base = buffer->data;
      slot.iov.iov_len = buffer->size;
      slot.buffer = buffer;
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      // MSG_DONTWAIT: a full socket fails now (EAGAIN, counted as dropped)
      // instead of parking the send until there is room; a media tick cannot
      // wait, and the packet would be late anyway.
      io_uring_prep_sendmsg(sqe, ports_[static_cast<size_t>(buffer->port)].fd.get(), &slot.msg,
                            MSG_DONTWAIT);
      io_uring_sqe_set_data64(sqe, SendTag(slot_index));
      ++queued;
    }
    if (io_uring_sq_ready(&ring_) > 0) {
      ++counters_.syscalls;
      io_uring_submit(&ring_);
    }
    // UDP sends completed inside that call; this frees their buffers and counts
    // them (and stages whatever receives the same call posted).
    Reap();
    if (next < packets.size() && (free_send_slots_.empty() || io_uring_sq_space_left(&ring_) == 0)) {
      // Every slot is still lent to a send that has not completed: nothing more
      // can go now, as when a socket buffer is full.
      for (; next < packets.size(); ++next) {
        ++counters_.tx_dropped;
        pool_.Free(packets[next]);
      }
    }
  }
  return static_cast<size_t>(sends_confirmed_ - confirmed_before);
}

void UringPacketIo::CompleteSend(size_t slot_index, int result) {
  EARSHOT_DCHECK(slot_index < send_slots_.size());
  if (slot_index >= send_slots_.size()) return;
  SendSlot& slot = send_slots_[slot_index];
  if (slot.buffer == nullptr) return;
  if (result >= 0) {
    ++counters_.tx_packets;
    counters_.tx_bytes += static_cast<uint64_t>(result);
    ++sends_confirmed_;
  } else {
    // EAGAIN / ENOBUFS (full), ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EPERM,
    // EAFNOSUPPORT (a peer of the other family): this one message is lost.
    ++counters_.tx_dropped;
  }
  // Only now: the iovec pointed into this buffer until the send completed.
  pool_.Free(slot.buffer);
  slot.buffer = nullptr;
  free_send_slots_.push_back(static_cast<uint32_t>(slot_index));
}

}  // namespace earshot::dataplane

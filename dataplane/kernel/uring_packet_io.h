#pragma once
// The io_uring back end of PacketIo (ARCHITECTURE.md "Two packet back ends, one
// interface"). Same sockets, semantics and counters as KernelPacketIo (epoll +
// recvmmsg/sendmmsg), which stays the fallback: get one through
// MakeKernelPacketIo (kernel_io_mode.h) rather than naming this class. Only
// built when liburing is found (EARSHOT_HAVE_URING).
//
// Why: every leg has its own socket, so epoll + recvmmsg/sendmmsg make about one
// system call per packet in a mixer tick. Here completions of all sockets land
// in one ring, and all of a tick's sends leave in one io_uring_enter.
//
// Model
// -----
// * One ring per worker, with SINGLE_ISSUER | DEFER_TASKRUN (Linux 6.1+; 6.0
//   falls back to COOP_TASKRUN): the kernel does the receive work (copying
//   datagrams into buffers, posting completions) only inside our io_uring_enter
//   calls, on the worker's own thread, never by interrupting it mid-mix.
//   The ring is created disabled and bound to the thread that first uses it
//   (OpenPort, ClosePort, Wait, ReceiveBurst or SendBurst): Create runs on the
//   control thread, then the PacketIo moves to its worker. Debug builds check
//   that every later call comes from that thread.
// * Sockets are opened exactly as KernelPacketIo opens them (one per port,
//   IPV6_V6ONLY, no SO_REUSEADDR, DSCP EF unless told not to).
// * Receive: one multishot recvmsg per open socket takes buffers from a provided
//   buffer ring (one buffer group shared by all sockets). A completion holds one
//   datagram: an io_uring_recvmsg_out header, the peer address, the payload.
//   A multishot ends (no IORING_CQE_F_MORE) when the buffers run out, on an
//   error, or when cancelled; it is re-armed on the next call, and only while
//   the kernel has buffers, so an exhausted buffer ring cannot spin.
// * Completions are reaped into a per-port FIFO of buffer ids ("staged") before
//   any copying: reaping costs a few nanoseconds per completion and is bounded
//   by the rings' fixed sizes. ReceiveBurst then hands out at most out.size()
//   packets, visiting the ports with staged data in rounds with a fair share
//   each, exactly like KernelPacketIo's rounds over ready sockets. Staging is
//   what keeps the fairness promise: the completion queue is one FIFO, and a
//   datagram that reaches a quiet port while a flooded port has a backlog of
//   completions queued would otherwise wait behind all of them. It also lets
//   SendBurst reap its own send completions past receive completions.
// * Each delivered datagram is copied from its provided buffer into a
//   PacketBuffer from the pool, and the provided buffer goes back to the kernel
//   at once. Copying keeps the PacketBuffer model (the worker frees what it
//   gets; buffers are passed by handle across both back ends). A zero-copy
//   hand-off would need an offset in PacketBuffer, because the kernel writes the
//   header and the peer address in front of the payload, and a pool that owns
//   the provided buffers.
// * Send: one sendmsg SQE per packet, MSG_DONTWAIT, and one io_uring_submit for
//   the whole burst (up to send_batch packets per submit). Each in-flight send
//   has a preallocated slot (msghdr, iovec, peer address) pointing at the
//   PacketBuffer itself; the buffer is freed when the send's completion is
//   reaped, not copied. With MSG_DONTWAIT a UDP sendmsg is issued inline by
//   io_uring_submit and completes before it returns (a full socket buffer fails
//   with EAGAIN instead of parking the request on poll), so SendBurst reaps the
//   completions right away: the buffers are back in the pool and the counters
//   are final when SendBurst returns, as with sendmmsg. Should a send ever go
//   asynchronous, its slot and buffer simply stay lent until its completion.
// * ClosePort cancels the socket's multishot (by user_data) and waits for its
//   last completion before closing the descriptor: an in-flight request holds a
//   reference to the socket, which would otherwise stay bound. user_data carries
//   a per-port generation, bumped on close, so completions that still arrive
//   for a closed (or closed and reused) handle are recognised and dropped.
// * Wake: the ring keeps a multishot poll armed on an eventfd. Wake() (any
//   thread, no lock) writes the eventfd; the poll posts a completion, which
//   ends an io_uring_enter waiting in Wait. The poll cannot be submitted from
//   Wake() itself: SQEs belong to the owner thread (SINGLE_ISSUER), and with
//   DEFER_TASKRUN only the owner runs the poll's completion work, which is what
//   its wait does. Reap drains the eventfd (one read) and remembers the wake, so
//   that the next Wait returns at once even if SendBurst or ReceiveBurst reaped
//   it first; a write racing the drain posts another completion, so no wake-up
//   is lost (at worst one Wait returns early). The poll is re-armed when it ends
//   (a CQ overflow); should it fail, Wake() returns false from then on and
//   commands wait for the worker's next phase, as the interface allows.
//
// Bounds, per call: ReceiveBurst makes at most one system call (only when work
// is pending: IORING_SQ_TASKRUN, queued SQEs or a CQ overflow) and copies at most
// out.size() packets; SendBurst makes one per send_batch packets; Wait at most
// one; each of them one more (the eventfd read) when it reaps a wake. Nothing allocates, locks or throws after Create. receive_burst and
// max_recv_calls (recvmmsg tuning) do not apply here.
//
// Spurious wake-ups: tearing down any io_uring (this one, or the small probe
// ring Create uses once per process) sends task work with TWA_SIGNAL to every
// thread that used it, some milliseconds later. The next interruptible wait of
// those threads then returns EINTR: epoll_wait, poll, io_uring_enter (restartable
// calls such as read or nanosleep restart). Both back ends' Wait treat EINTR as
// a wake-up; other code on the control thread (which runs Create) must too.
//
// Directions are Earshot's: rx arrives at a local port, tx leaves from one.
// counters().syscalls counts io_uring_enter calls made by Wait, ReceiveBurst and
// SendBurst only; OpenPort/ClosePort are setup.

#include <liburing.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "codecs/result.h"
#include "dataplane/kernel/kernel_packet_io.h"
#include "dataplane/kernel/unique_fd.h"
#include "dataplane/packet_io.h"

namespace earshot::dataplane {

class UringPacketIo final : public PacketIo {
 public:
  // Returns UNAVAILABLE, with the reason, when io_uring cannot be used here.
  [[nodiscard]] static Result<std::unique_ptr<UringPacketIo>> Create(
      const KernelPacketIoOptions& options);
  ~UringPacketIo() override;
  UringPacketIo(const UringPacketIo&) = delete;
  UringPacketIo& operator=(const UringPacketIo&) = delete;

  // Port 0 binds any free port; LocalAddress tells which.
  [[nodiscard]] Result<PortHandle> OpenPort(const SocketAddress& local) override;
  void ClosePort(PortHandle port) override;
  SocketAddress LocalAddress(PortHandle port) const override;

  // Returns at once if packets are staged or Wake() was called since the last
  // Wait. Otherwise waits in io_uring_enter with a nanosecond timeout (0 and
  // negative values do not block, and make no system call).
  void Wait(std::chrono::nanoseconds timeout) override;
  // Any thread: one write to the wake eventfd. False once the ring refused the
  // eventfd's poll (never seen; see the model above).
  bool Wake() override;
  size_t ReceiveBurst(std::span<PacketBuffer*> out) override;
  size_t SendBurst(std::span<PacketBuffer*> packets) override;

  PacketPool& pool() override { return pool_; }
  const PacketIoCounters& counters() const override { return counters_; }
  size_t open_ports() const { return ports_.size() - free_handles_.size(); }
  // Sizes chosen from the options, for tests and the start-up log.
  unsigned provided_buffers() const { return provided_count_; }
  bool defer_taskrun() const { return defer_taskrun_; }

 private:
  using BufferId = uint16_t;
  static constexpr BufferId kNoBuffer = UINT16_MAX;

  struct Port {
    UniqueFd fd;
    SocketAddress local;
    uint32_t generation = 0;    // in user_data; bumped when the port closes
    bool armed = false;         // a multishot recvmsg is outstanding (or queued)
    bool closing = false;       // ClosePort is waiting for its last completion
    bool rearm_queued = false;  // in rearm_
    bool ready_queued = false;  // in ready_
    BufferId first = kNoBuffer;  // staged datagrams, oldest first, linked by next
    BufferId last = kNoBuffer;
    uint32_t staged = 0;
  };
  // What ReceiveBurst needs from a completion, kept per provided buffer.
  struct Staged {
    BufferId next = kNoBuffer;
    uint16_t size = 0;
    int64_t rx_time_ns = 0;
  };
  struct SendSlot {
    msghdr msg{};
    iovec iov{};
    sockaddr_storage peer{};
    PacketBuffer* buffer = nullptr;  // lent to the kernel until the completion
  };
  // A FIFO of port handles with a fixed capacity.
  class HandleQueue {
   public:
    explicit HandleQueue(size_t capacity) : slots_(capacity) {}
    bool empty() const { return size_ == 0; }
    size_t size() const { return size_; }
    PortHandle front() const { return slots_[head_]; }
    void PushBack(PortHandle handle);
    void PopFront();
    void Remove(PortHandle handle);  // setup path: O(size)

   private:
    std::vector<PortHandle> slots_;
    size_t head_ = 0;
    size_t size_ = 0;
  };
  struct FreeDeleter {
    void operator()(void* memory) const { std::free(memory); }
  };

  UringPacketIo(const KernelPacketIoOptions& options, unsigned provided_count);
  // Sets up the ring and the provided buffers (Create's second half).
  [[nodiscard]] Result<void> Init();
  bool IsOpen(PortHandle port) const;
  // Binds the ring to the calling thread on first use; checks it afterwards.
  void EnsureOwner();
  uint8_t* ProvidedBuffer(BufferId id) {
    return provided_memory_.get() + size_t{id} * kProvidedStride;
  }
  void Recycle(BufferId id);
  void Arm(PortHandle port, bool poll_first);
  void ArmWake();
  // A completion of the wake poll: drains the eventfd, notes the wake.
  void CompleteWake(int result, bool more);
  void ArmPending();
  bool NeedsEnter() const;
  // Drains the completion queue: stages datagrams, completes sends, notes
  // ended multishots. Bounded by the ring's size.
  void Reap();
  void Stage(PortHandle port, BufferId id, uint16_t size, int64_t now_ns);
  void DropStaged(Port& port);
  void CompleteSend(size_t slot, int result);
  PacketBuffer* TakeStaged(PortHandle port);

  static constexpr size_t kProvidedStride = 2112;  // header + name + 2048, 64-aligned

  const KernelPacketIoOptions options_;
  io_uring ring_{};
  bool ring_ready_ = false;       // io_uring_queue_init succeeded
  bool ring_enabled_ = false;     // not (or no longer) IORING_SETUP_R_DISABLED
  bool defer_taskrun_ = false;
  std::thread::id owner_;
  PacketPool pool_;
  PacketIoCounters counters_;

  std::vector<Port> ports_;               // indexed by PortHandle
  std::vector<PortHandle> free_handles_;  // a stack, so a closed handle is reused first
  HandleQueue ready_;                     // ports with staged datagrams, in visiting order
  HandleQueue rearm_;                     // ports whose multishot ended

  // The provided buffer ring: provided_count_ buffers of kProvidedStride bytes,
  // and the ring of their addresses the kernel takes them from.
  unsigned provided_count_ = 0;
  std::unique_ptr<uint8_t, FreeDeleter> provided_memory_;
  std::unique_ptr<io_uring_buf_ring, FreeDeleter> buffer_ring_;
  std::vector<Staged> staged_;  // indexed by BufferId
  size_t buffers_held_ = 0;     // taken by the kernel and not yet given back
  size_t staged_total_ = 0;
  msghdr recv_msg_{};           // only msg_namelen / msg_controllen matter to multishot

  // Wake(): written by any thread, read (drained) by the owner in Reap.
  UniqueFd wake_fd_;
  bool wake_armed_ = false;  // the multishot poll on wake_fd_ is outstanding (or queued)
  bool wake_seen_ = false;   // a wake was reaped since the last Wait returned
  // Cleared by the owner when the wake poll fails, read by Wake(). Relaxed both
  // ways: it publishes nothing but itself, and a Wake() that still writes after
  // it is cleared is harmless.
  std::atomic<bool> wake_works_{true};

  std::vector<SendSlot> send_slots_;
  std::vector<uint32_t> free_send_slots_;  // a stack
  uint64_t sends_confirmed_ = 0;           // completions with res >= 0, ever
};

}  // namespace earshot::dataplane

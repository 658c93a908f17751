#pragma once
// A worker is one thread that owns a set of sessions completely (ARCHITECTURE.md
// "Cores own things"): their legs, sockets, jitter buffers, codec states. Nothing
// in a session is touched by another thread, so the media path has no locks.
//
// The loop, bounded at every step so that no flood delays a tick:
//   drain commands (at most kMaxCommandsPerLoop) -> receive bursts (at most
//   kMaxRxBursts) -> run the tick phases that are due -> send what the ticks
//   produced -> wait for packets until the next phase is due.
//
// Tick schedule. Time is cut into 1 ms phases from CLOCK_MONOTONIC; a session
// ticks in phase (handle mod tick_ms), so a worker's sessions are spread over
// the tick instead of all mixing at once. Phase k of period n is due at
// start + n * tick + k ms: the schedule is absolute, a late phase does not shift
// the ones after it. A phase that starts more than kOverrunSlack after it was
// due counts as an overrun; a worker more than a whole tick behind skips ahead
// (counted) instead of running ticks back to back.
//
// The control plane talks to a worker only through Call(): a command goes into
// a single-producer queue (control threads take a mutex to be that one
// producer; the worker takes none) and the worker answers through a reply queue.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <map>
#include <mutex>
#include <set>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "codecs/result.h"
#include "dataplane/commands.h"
#include "dataplane/packet_io.h"
#include "dataplane/reply_signal.h"
#include "dataplane/spsc_queue.h"

namespace earshot::dataplane {

struct WorkerOptions {
  int index = 0;
  std::chrono::milliseconds tick{20};
  std::optional<int> pin_to_cpu;  // pin the thread to this CPU when set
  std::string rtp_ip = "127.0.0.1";
  uint16_t port_low = 30000;  // this worker's share of the RTP port range
  uint16_t port_high = 30999;
  uint32_t max_sessions = 4096;
  size_t command_queue = 256;
  // A leg that receives no media for this long is reported (0: never).
  std::chrono::milliseconds media_timeout{30000};
  // RTCP reports per leg (RFC 3550 §6.2): every interval x a random 0.5..1.5,
  // the first after half of that. 0 (the default for a bare Worker): none are
  // sent, incoming RTCP is still read. earshotd sets it from rtcp_interval_ms
  // (default 5 s, the RFC's recommended minimum).
  std::chrono::milliseconds rtcp_interval{0};
};

// Written by the worker thread only (relaxed), read by others at any time.
struct WorkerCounters {
  std::atomic<uint64_t> ticks{0};
  std::atomic<uint64_t> overruns{0};
  std::atomic<uint64_t> skipped_ticks{0};
  std::atomic<uint64_t> sessions{0};
  std::atomic<uint64_t> legs{0};
  std::atomic<uint64_t> commands{0};
  std::atomic<uint64_t> rx_packets{0};
  std::atomic<uint64_t> rx_no_leg{0};      // arrived at a port with no leg (just closed)
  std::atomic<uint64_t> rx_dropped{0};     // dropped by a leg (see its counters for why)
  std::atomic<uint64_t> tx_packets{0};
  std::atomic<uint64_t> tx_pool_empty{0};  // packets not sent: no buffer free
  std::atomic<uint64_t> events_dropped{0};  // event queue full
  std::atomic<uint64_t> dtmf_digits{0};     // telephone-events that ended
  std::atomic<uint64_t> dtmf_busy{0};       // relays refused: the destination was sending another event
  std::atomic<uint64_t> dtmf_malformed{0};  // telephone-event packets too short to read
};

class Worker {
 public:
  static constexpr std::chrono::milliseconds kOverrunSlack{4};
  static constexpr int kMaxCommandsPerLoop = 16;
  static constexpr int kMaxRxBursts = 16;
  static constexpr size_t kBurst = 32;
  // A telephone-event that hears nothing for this long has lost its end packets
  // and ends where it is.
  static constexpr std::chrono::milliseconds kDtmfTimeout{1000};

  // `io` may be null: the worker then only ticks (no legs can be added).
  Worker(WorkerOptions options, std::unique_ptr<PacketIo> io);
  ~Worker();  // stops and joins
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread. Returns false if pinning was asked for and failed (the
  // thread then runs unpinned).
  bool Start();
  // Asks the thread to stop and joins it; returns within about a millisecond.
  void Stop();

  // Control side, any thread: posts `command` and waits for the worker's answer.
  // RESOURCE_EXHAUSTED if the queue is full, UNAVAILABLE if the worker does not
  // answer in time (or is stopped).
  [[nodiscard]] Result<ReplyValue> Call(Command command, std::chrono::milliseconds timeout);

  // The control plane's one event reader takes the worker's unasked reports.
  std::optional<WorkerEvent> PollEvent() { return events_.TryPop(); }

  const WorkerCounters& counters() const { return counters_; }
  int index() const { return options_.index; }
  const WorkerOptions& options() const { return options_; }

 private:
  struct PortOwner {
    SessionHandle session = 0;
    int slot = -1;
    bool rtcp = false;  // the leg's separate RTCP port
  };

  void Run();
  void DrainCommands();
  Reply Execute(Envelope& envelope);
  Result<void> DoCreateSession(CreateSession& command);
  Result<void> DoDeleteSession(DeleteSession& command, ReplyValue& value);
  Result<void> DoAddLeg(AddLeg& command, ReplyValue& value);
  Result<void> DoUpdateLeg(UpdateLeg& command);
  Result<void> DoRemoveLeg(const RemoveLeg& command, ReplyValue& value);
  Result<void> DoGetStats(GetStats& command, ReplyValue& value);
  Result<WorkerSession*> FindSession(SessionHandle handle);
  // Opens a free port of this worker's range (with `pair`, an even port and the
  // odd one above it, returned in rtcp_port); `local_port` gets the number.
  Result<PortHandle> OpenLocalPort(bool pair, uint16_t& local_port, PortHandle& rtcp_port);
  void ReleasePort(PortHandle handle, uint16_t local_port);
  void CloseLeg(WorkerSession& session, int slot);
  void ReceivePackets();
  void RunDuePhases();
  void TickSession(WorkerSession& session, SessionHandle handle, int64_t now_ns);
  void ReceiveTelephoneEvent(WorkerSession& session, SessionHandle handle, int slot,
                             const mixer::PacketIn& packet, int64_t now_ns);
  // Relays what `input` says about `source`'s event to the legs that hear it,
  // and reports ended digits (applying a supervisor's mode-switch digit).
  void RelayDtmf(WorkerSession& session, SessionHandle handle, int source, const DtmfInput& input);
  // Sends the leg's event packet for this tick in place of its audio.
  void SendDtmf(LegBinding& leg);
  // Sends the leg's RTCP compound now (with `bye`, its goodbye) and schedules
  // the next report.
  void SendRtcp(LegBinding& leg, int64_t now_ns, bool bye);
  // The next RTCP interval: rtcp_interval x uniform 0.5..1.5 (RFC 3550 §6.3.1).
  int64_t RtcpDelayNs();
  void Report(WorkerEvent event);
  void FlushTx();

  WorkerOptions options_;
  std::unique_ptr<PacketIo> io_;
  WorkerCounters counters_;
  // Written by Stop() (release), read by the worker each loop (acquire).
  std::atomic<bool> stop_requested_{false};
  std::thread thread_;

  // Control side of the queues. Control threads take turns at pushing commands
  // (push_mutex_) and at popping replies (reply_mutex_), so each side of each
  // queue has one user at a time; many commands may be in flight at once, and
  // a caller takes its own reply by sequence number.
  std::mutex push_mutex_;
  uint64_t next_sequence_ = 0;  // guarded by push_mutex_
  std::mutex reply_mutex_;
  // Rung by the worker (without a lock) after it answers a call; each caller
  // sleeps on its own call's word (reply_signal.h).
  ReplySignals reply_signals_;
  std::map<uint64_t, Reply> replies_for_others_;  // guarded by reply_mutex_
  std::set<uint64_t> abandoned_;                  // callers that gave up; guarded by reply_mutex_
  SpscQueue<Envelope> commands_;
  SpscQueue<Reply> replies_;
  SpscQueue<WorkerEvent> events_;

  // Worker-owned state, touched only by the worker thread once it runs.
  std::vector<std::unique_ptr<WorkerSession>> sessions_;  // by handle
  std::vector<std::vector<SessionHandle>> phases_;        // handles per 1 ms phase
  std::vector<PortOwner> port_owners_;                    // by PortHandle
  std::vector<bool> port_in_use_;                         // by local port - port_low
  uint16_t next_port_ = 0;
  std::vector<PacketBuffer*> tx_;
  std::chrono::nanoseconds next_phase_due_{0};
  int next_phase_ = 0;
  // SDES CNAME of every leg of this worker: random (RFC 7022), so that it says
  // nothing about the host, and the same for all its streams.
  std::string cname_;
  uint64_t random_state_ = 0;  // xorshift64 for the RTCP intervals
};

}  // namespace earshot::dataplane

#pragma once
// The simulated phones: one UDP socket per leg, all driven from one thread.
//
// Sending: every leg sends one 20 ms packet per 20 ms, paced to absolute
// deadlines (start + n * 20 ms + slot), with the calls spread over 20 slots of
// 1 ms (call i in slot i % 20) so that the load is even. A packet that leaves
// late still carries its scheduled sequence number and timestamp; how late it
// left is recorded (the tool's own lateness: when it is high, the tool, not
// earshotd, is the bottleneck). Fallen more than 200 ms behind, the driver gives
// the missed periods up (counted) instead of bursting them out. Sends are one sendto per packet: each leg has
// its own socket, so sendmmsg would not batch anything.
//
// Receiving: epoll over every socket, recvmmsg per ready socket. Per received
// stream: loss, sequence errors and jitter (RtpStreamStats, on the stream's RTP
// clock: 48000 for Opus); every 10 packets (a 200 ms window) the last 2 packets'
// PCM is checked with a Goertzel meter against the call's expected audibility
// (JudgeWindow); and the mouth-to-ear probes (OnsetDetector).
//
// Codecs are per role (a leg sends and receives its own; load_media.h): every
// leg replays its tone pre-encoded at start-up (an Opus leg a 50-frame loop);
// a G.711 stream is decoded only where measured, an Opus stream packet by
// packet (partial decoding misreads tones), and an Opus listener is judged
// with its own threshold and only once the coders have settled.
//
// Directions here are the phones' own: tx = phone to earshotd.
//
// The control thread (load_control.h) tells the driver about calls coming up
// and modes changing through an Inbox; the driver drains it once per slot.
// Everything else is owned by the driver's thread.
//
// Churn (load_churn.h): calls N.. are churn slots, up and down many times.
// kCallDown (posted before the session is deleted) stops sending on the slot
// and retires its streams' figures into the totals; kCallUp starts every
// stream's accounting, judging and probes afresh (new earshotd legs: new SSRC
// and sequence), so a slot going down and up again shows no loss and no
// semantic error. What arrives while a call is not up is counted, not judged.

#include <netinet/in.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "codecs/result.h"
#include "dataplane/srtp_session.h"
#include "tools/load/load_call_plan.h"
#include "tools/load/load_checker.h"
#include "tools/load/load_histogram.h"
#include "tools/load/load_media.h"
#include "tools/load/load_options.h"

namespace earshot::load {

int64_t NowNs();  // CLOCK_MONOTONIC

struct ControlEvent {
  enum class Kind { kCallUp, kCallDown, kModeChanging, kModeChanged };
  Kind kind = Kind::kCallUp;
  int call = 0;
  int party = 0;  // the supervisor, for mode events
  SupervisorMode mode = SupervisorMode::kListen;
  int64_t at_ns = 0;
  // kCallUp: every party's earshotd address, and the initial modes.
  std::array<sockaddr_in, kMaxParties> remotes{};
  std::array<SupervisorMode, kMaxSupervisors> modes{};
  // kCallUp with --srtp: Earshot's key of every party's leg (base64), for
  // decrypting what it sends.
  std::array<std::string, kMaxParties> earshot_keys{};
};

// Control thread -> driver. A mutex is fine here: a few events per call, and
// the driver only takes it when `pending_` says there is something.
class Inbox {
 public:
  void Post(const ControlEvent& event);
  // Moves every pending event into `out` (cleared first).
  void Drain(std::vector<ControlEvent>& out);

 private:
  std::mutex mutex_;
  std::vector<ControlEvent> events_;
  std::atomic<bool> pending_{false};  // set after a push under mutex_, read before taking it
};

struct DriverTotals {
  int64_t calls_up = 0;
  int64_t packets_sent = 0;
  int64_t send_errors = 0;
  int64_t periods_skipped = 0;  // 20 ms periods not sent: the tool fell > 200 ms behind
  int64_t packets_received = 0;
  int64_t rx_malformed = 0;    // not RTP, another payload type, or not decodable
  int64_t srtp_failures = 0;   // --srtp: received packets that did not authenticate
  int64_t rx_rtcp = 0;         // earshotd's RTCP reports (rtcp-mux), not judged
  int64_t rx_before_up = 0;    // arrived while the call was not up (not judged)
  int64_t calls_down = 0;      // churn calls stopped (kCallDown)
  int64_t lost = 0;
  // Packets earshotd never sent: RTP timestamp jumps over skipped ticks, which
  // sequence numbers do not show (RtpStreamStats::not_sent).
  int64_t not_sent = 0;
  int64_t sequence_errors = 0;
  int64_t streams = 0;                   // legs of calls that were up (each churn call's anew)
  int64_t streams_without_packets = 0;   // of those, legs that never received anything
  double jitter_ms_mean = 0.0;
  double jitter_ms_max = 0.0;
  int64_t windows = 0;          // listener windows judged
  int64_t windows_skipped = 0;  // warm-up or right after a mode change
  int64_t judgements = 0;       // speaker x window
  int64_t missing = 0;
  int64_t unexpected = 0;
  int64_t probes = 0;           // listener onsets expected
  int64_t probes_missed = 0;    // not seen within 2 s
  int64_t mode_changes = 0;
  DurationHistogram* latency = nullptr;   // mouth-to-ear, owned by the driver
  DurationHistogram* lateness = nullptr;  // own send lateness, owned by the driver
  double cpu_s = 0.0;   // the driver thread's user + system time
  double wall_s = 0.0;  // the driver's running time
};

struct DriverProgress {
  double elapsed_s = 0.0;
  const DriverTotals* totals = nullptr;
  int64_t lateness_p99_ns = 0;  // over the last second
  double cpu_percent = 0.0;     // over the last second
};

class RtpDriver {
 public:
  using ProgressFn = std::function<void(const DriverProgress&)>;

  // Opens driver_calls() x (2 + supervisors) sockets on the options' local ports.
  [[nodiscard]] static Result<std::unique_ptr<RtpDriver>> Create(const LoadOptions& options);
  ~RtpDriver();

  uint16_t LocalPort(int call, int party) const;
  // With --srtp: the phone's own key (base64) for the leg's SDES remote key.
  std::string PeerKey(int call, int party) const;
  Inbox& inbox() { return inbox_; }
  // kCallDown events applied so far: the control thread waits for its own
  // before deleting the session, so no packet of the slot goes to a port
  // earshotd may already have given to another leg.
  int64_t calls_stopped() const { return calls_stopped_.load(std::memory_order_acquire); }

  // Drives until `stop_at_ns` (0: not known yet) has passed or `abort` is set;
  // calls `progress` about once a second.
  void Run(const std::atomic<int64_t>& stop_at_ns, const std::atomic<bool>& abort,
           const ProgressFn& progress);

  // Final figures (loss and jitter summed over every stream).
  const DriverTotals& Totals();

 private:
  struct Leg;
  struct Call;
  explicit RtpDriver(const LoadOptions& options);
  Result<void> Open();
  void ServeUntil(int64_t deadline_ns);
  void ReceiveFrom(uint32_t leg_index);
  void OnPacket(Leg& leg, const uint8_t* data, size_t size, int64_t now_ns);
  void JudgeWindow(Leg& leg, Call& call, int64_t now_ns);
  void ApplyEvents(int64_t now_ns);
  void SendSlot(int slot, int64_t deadline_ns);
  void SendCall(Call& call, int64_t deadline_ns);
  void StartProbe(Call& call, int64_t now_ns);
  void UpdateStreamTotals();
  void StartCall(Call& call, const ControlEvent& event, int64_t now_ns);
  void StopCall(Call& call);

  // Stream figures of churn calls that went down.
  struct Retired {
    int64_t lost = 0;
    int64_t not_sent = 0;
    int64_t sequence_errors = 0;
    int64_t streams = 0;
    int64_t silent = 0;
    double jitter_sum = 0.0;
    double jitter_max = 0.0;
  };

  LoadOptions options_;
  int parties_;
  std::vector<Leg> legs_;
  std::vector<Call> calls_;
  std::vector<std::vector<int>> slots_;  // calls per 1 ms slot
  std::vector<ToneStream> tone_streams_;  // [call % 4][party], in the party's codec
  int epoll_fd_ = -1;
  Inbox inbox_;
  std::vector<ControlEvent> drained_;
  DriverTotals totals_;
  Retired retired_;
  std::atomic<int64_t> calls_stopped_{0};  // stored in ApplyEvents, loaded by calls_stopped()
  DurationHistogram latency_;
  DurationHistogram lateness_;
  DurationHistogram lateness_second_;
  ToneMeter window_meter_;  // the last 2 packets of a window
  ToneMeter packet_meter_;  // one packet, for the onset probes
};

}  // namespace earshot::load

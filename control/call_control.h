#pragma once
// What the control API does, without gRPC: the registry of sessions and legs
// (caller ids -> worker, session handle, leg slot) and the commands that carry
// each request to the worker that owns the session (ARCHITECTURE.md "Control
// plane"). It never touches session state itself; workers answer through their
// queues and this keeps only what it needs to answer Get/List.
//
// Concurrency: any number of API threads. A registry mutex guards the maps and
// is never held across a worker call; each session has its own mutex, held for
// the whole of one request on it, so requests on one session are applied in
// order and requests on different sessions proceed in parallel.
//
// Idempotency: CreateSession, AddLeg and Attach with the same id and the same
// parameters answer what exists; with other parameters ALREADY_EXISTS.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <thread>

#include "codecs/result.h"
#include "control/event_bus.h"
#include "control/srtp_keying.h"
#include "dataplane/commands.h"
#include "dataplane/worker_pool.h"
#include "mixer/presets.h"
#include "mixer/voice_processing.h"
#include "mixer/ringback.h"

namespace earshot::control {

struct SessionParams {
  int rate = 8000;
  int tick_ms = 20;
  std::map<std::string, std::string> labels;
  // Created ringing (control/pickup_control.h): the ringback the parties hear.
  mixer::RingbackOptions ringback;
  friend bool operator==(const SessionParams&, const SessionParams&) = default;
};

struct LegParams {
  mixer::Role role = mixer::Role::kOther;
  std::string codec = "PCMU";
  int payload_type = 0;
  dataplane::SocketAddress remote;  // unset: learn it by latching
  int ptime_ms = 0;                 // 0: the session's tick
  bool latch = false;
  int dtmf_payload_type = 0;        // 0: none
  bool rtcp_mux = true;
  dataplane::Direction direction = dataplane::Direction::kSendReceive;
  std::optional<LegSrtpParams> srtp;  // unset: plain RTP
  mixer::VoiceProcessingOptions voice;  // all off: none
  // A supervisor's keypad: DTMF key -> the mode it switches to (needs dtmf_payload_type).
  std::map<char, mixer::SupervisorMode> dtmf_mode_switch;
  friend bool operator==(const LegParams&, const LegParams&) = default;
};

struct LegInfo {
  std::string id;
  LegParams params;
  dataplane::SocketAddress local;
  mixer::SupervisorMode mode = mixer::SupervisorMode::kListen;
  SecretText srtp_local_key;  // ours, for the SDP answer (SRTP legs)
};

struct SessionInfo {
  std::string id;
  SessionParams params;
  std::vector<LegInfo> legs;
  bool custom_matrix = false;
};

struct GainSetting {
  std::string dst_leg;
  std::string src_leg;
  float gain;
};

struct SessionStatsInfo {
  std::string id;
  dataplane::SessionStats stats;     // indexed by slot
  std::vector<std::string> leg_ids;  // by slot, empty where no leg
};

struct CallControlOptions {
  int max_legs_per_session = 16;
  std::chrono::milliseconds worker_timeout{2000};
  // How often the workers' own reports (media timeouts) are collected.
  std::chrono::milliseconds event_poll{100};
};

class CallControl {
 public:
  // Publishes what happens on `events`; collects the workers' reports on a
  // thread of its own until destroyed.
  CallControl(dataplane::WorkerPool& workers, EventBus& events, CallControlOptions options);
  ~CallControl();

  [[nodiscard]] Result<SessionInfo> CreateSession(const std::string& id, const SessionParams& params);
  [[nodiscard]] Result<SessionInfo> GetSession(const std::string& id);
  std::vector<SessionInfo> ListSessions();
  [[nodiscard]] Result<void> DeleteSession(const std::string& id);

  // `answer` (pickup_control.h): the leg answers a ringing call. Under the
  // session's mutex the call must still have a party that is not a supervisor
  // (the caller), else FAILED_PRECONDITION; the leg joins and the ringback
  // stops in one worker command.
  [[nodiscard]] Result<LegInfo> AddLeg(const std::string& session, const std::string& leg,
                                       const LegParams& params, mixer::SupervisorMode mode, bool beep,
                                       bool answer = false);
  [[nodiscard]] Result<LegInfo> UpdateLeg(const std::string& session, const std::string& leg,
                                          std::optional<dataplane::SocketAddress> remote,
                                          std::optional<dataplane::Direction> direction,
                                          std::optional<bool> latch,
                                          const std::optional<LegSrtpParams>& rekey = std::nullopt);
  // `supervisors_only`: Detach refuses to remove a customer or an agent.
  [[nodiscard]] Result<void> RemoveLeg(const std::string& session, const std::string& leg,
                                       bool supervisors_only);
  [[nodiscard]] Result<LegInfo> SetMode(const std::string& session, const std::string& leg,
                                        mixer::SupervisorMode mode, bool beep);
  [[nodiscard]] Result<void> SetMatrix(const std::string& session,
                                       const std::vector<GainSetting>& gains);
  [[nodiscard]] Result<SessionStatsInfo> GetStats(const std::string& session);

  // Called (on the event collector's thread, off the media path) after a
  // supervisor's keypad switched its mode: the audit log's hook.
  using KeypadModeObserver =
      std::function<void(const std::string& session, const LegInfo& leg, char digit)>;
  void SetKeypadModeObserver(KeypadModeObserver observer) {
    std::lock_guard lock(observer_mutex_);
    keypad_observer_ = std::move(observer);
  }

  // From now on new sessions are refused with UNAVAILABLE (graceful drain).
  void StartDraining() { draining_.store(true); }
  size_t session_count();

 private:
  struct LegRecord {
    LegInfo info;
    int slot;
  };
  struct SessionRecord {
    std::mutex mutex;  // held for the whole of one request on this session
    std::string id;
    SessionParams params;
    int worker = 0;
    dataplane::SessionHandle handle = 0;
    bool live = false;       // created on its worker and not deleted
    bool abandoned = false;  // its creation failed; the record is out of the map
    bool custom_matrix = false;
    std::vector<std::optional<LegRecord>> slots;
  };

  std::shared_ptr<SessionRecord> Find(const std::string& id);
  Result<std::shared_ptr<SessionRecord>> FindLive(const std::string& id,
                                                  std::unique_lock<std::mutex>& lock);
  SessionInfo Describe(const SessionRecord& record) const;
  LegRecord* FindLeg(SessionRecord& record, const std::string& leg);
  // The leg, or NOT_FOUND naming it and its session.
  Result<LegRecord*> RequireLeg(SessionRecord& record, const std::string& leg);
  Result<dataplane::ReplyValue> Call(const SessionRecord& record, dataplane::Command command);
  void ReleaseHandle(int worker, dataplane::SessionHandle handle);
  void Publish(earshot::v1::EventType type, const std::string& session, const LegInfo* leg,
               char digit = 0, uint32_t duration_ms = 0);
  void CollectWorkerEvents();

  dataplane::WorkerPool& workers_;
  EventBus& events_;
  CallControlOptions options_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> stopping_{false};

  std::mutex observer_mutex_;  // guards keypad_observer_
  KeypadModeObserver keypad_observer_;

  std::mutex registry_mutex_;  // guards the members below
  std::map<std::string, std::shared_ptr<SessionRecord>> sessions_;
  std::vector<std::vector<bool>> handles_in_use_;  // per worker
  std::vector<int> sessions_per_worker_;
  std::vector<std::vector<std::string>> handle_owner_;  // per worker, per handle: session id
  std::mt19937 random_;

  std::thread event_collector_;  // last: starts after everything above exists
};

}  // namespace earshot::control

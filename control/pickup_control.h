#pragma once
// Ringing calls, answer and pickup (PRODUCT.md "Pickup", pickup.proto), above
// CallControl: the extensions and their pickup groups, the calls ringing toward
// them, the arbitration of answers, the BLF states and the per-group figures.
//
// Arbitration. Every ringing call has a state, changed only under mutex_:
//
//   ringing --claim--> claimed --leg added--> answered
//      ^                  |  \--caller gone--> ended (abandoned)
//      +---other failure--+
//   ringing --caller hung up (event feed)--> ended
//
// An Answer or PickupCall selects its call and claims it in one step under
// mutex_; a request that finds its call claimed waits until the claim is
// resolved and looks again, so of any number of concurrent requests exactly one
// wins and every other one gets FAILED_PRECONDITION "already answered by EXT"
// (or "no longer ringing: the caller hung up"). The winner then adds its leg
// with CallControl::AddLeg(answer = true) without mutex_ held: under the
// session's mutex that checks the caller is still there, and posts ONE worker
// command that adds the leg and stops the ringback, so the next tick mixes the
// answerer and no ringback (the caller's leg, its SSRC, sequence and
// timestamps are untouched).
//
// Hang-ups: a DeleteSession or a RemoveLeg is seen here through the event feed
// (a thread of its own follows it). A pickup that overtakes the event still
// fails cleanly, because the session-mutex check above refuses it.
//
// BLF: an extension is busy while it is the answerer of an answered call,
// ringing while a call rings at it (the oldest), idle otherwise. Every change is
// published (EVENT_EXTENSION_STATE) under mutex_, so the feed has them in the
// order of the decisions; EVENT_CALL_ANSWERED names each winner.
//
// Lock order: mutex_ is never held while calling CallControl or blocking on it;
// it is held while publishing to the EventBus (whose lock is a leaf).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "codecs/result.h"
#include "control/call_control.h"
#include "control/event_bus.h"
#include "control/pickup_hooks.h"

namespace earshot::control {

struct ExtensionInfo {
  std::string extension;
  std::vector<std::string> groups;  // sorted
  earshot::v1::ExtensionState state = earshot::v1::EXTENSION_IDLE;
  std::string session;  // ringing or busy: the call
};

struct AnswerOutcome {
  std::string session;
  std::string extension;     // the one the call rang
  std::string by_extension;  // who answered
  LegInfo leg;
};

struct PickupGroupFigures {
  std::string group;
  uint64_t answered = 0;
  uint64_t pickups = 0;
  uint64_t abandoned = 0;
  uint32_t ringing = 0;
  double ring_time_mean_ms = 0.0;
  double ring_time_max_ms = 0.0;
};

// extension -> its pickup groups, as an extensions file lists them.
using ExtensionTable = std::map<std::string, std::vector<std::string>>;

// Reads an extensions file:
//   extensions:
//     "201": [sales, support]
//     "202": [sales]
//     "300": []
// Errors name the file and line, like the configuration's.
[[nodiscard]] Result<ExtensionTable> ParseExtensionsYaml(std::string_view text, std::string_view origin);
[[nodiscard]] Result<ExtensionTable> ReadExtensionsFile(const std::string& path);

class PickupControl {
 public:
  // `authorizer` and `audit` may be null: allow everything, record nothing.
  PickupControl(CallControl& calls, EventBus& events, PickupAuthorizer* authorizer = nullptr,
                PickupAuditSink* audit = nullptr);
  ~PickupControl();
  PickupControl(const PickupControl&) = delete;
  PickupControl& operator=(const PickupControl&) = delete;

  // Creates or replaces an extension (its ringing calls keep their groups).
  [[nodiscard]] Result<ExtensionInfo> SetExtension(const std::string& extension,
                                                   std::vector<std::string> groups);
  [[nodiscard]] Result<void> SetExtensions(const ExtensionTable& table);
  std::vector<ExtensionInfo> ListExtensions();

  // Creates `session` ringing toward `extension` with `params.ringback`.
  [[nodiscard]] Result<SessionInfo> Ring(const std::string& session, const SessionParams& params,
                                         const std::string& extension);
  // The called extension answers `session` with leg `leg`.
  [[nodiscard]] Result<AnswerOutcome> Answer(const PickupActor& actor, const std::string& session,
                                             const std::string& leg, const LegParams& params);
  // `by` picks up the call ringing at `extension`, or with `extension` empty
  // the oldest ringing call in any of its groups.
  [[nodiscard]] Result<AnswerOutcome> Pickup(const PickupActor& actor, const std::string& by,
                                             const std::string& extension, const std::string& leg,
                                             const LegParams& params);

  // Every group's figures, or one group's (NOT_FOUND if nobody is in it and it has none).
  [[nodiscard]] Result<std::vector<PickupGroupFigures>> Figures(const std::string& group);

 private:
  enum class CallState { kRinging, kClaimed, kAnswered, kEnded };
  struct Call {
    std::string session;
    std::string extension;
    std::vector<std::string> groups;  // the extension's, when it started ringing
    std::chrono::steady_clock::time_point rang_at;
    uint64_t order = 0;  // ring order: the oldest has the smallest
    CallState state = CallState::kRinging;
    std::string by;            // claimed or answered by
    bool session_gone = false;  // SESSION_ENDED arrived while claimed
  };
  struct ExtensionRecord {
    std::vector<std::string> groups;
    earshot::v1::ExtensionState published = earshot::v1::EXTENSION_IDLE;
    std::string published_session;
  };
  struct GroupCounters {
    uint64_t answered = 0;
    uint64_t pickups = 0;
    uint64_t abandoned = 0;
    uint64_t timed = 0;
    double ring_ms_sum = 0.0;
    double ring_ms_max = 0.0;
  };
  struct Target {
    PickupAction action;
    std::string session;    // kAnswer
    std::string by;         // pickups
    std::string extension;  // kDirectedPickup
  };

  Result<AnswerOutcome> Decide(const PickupActor& actor, const Target& target,
                               const std::string& leg, const LegParams& params);
  // Under mutex_: the call `target` means, nullptr to wait for a claim to
  // resolve, or the reason there is none to take.
  Result<Call*> Select(const PickupActor& actor, const Target& target, bool& must_wait,
                       PickupRequestInfo& info);
  std::string WhyNotRinging(const Call& call) const;
  void Abandon(Call& call);                   // under mutex_
  void UpdateState(const std::string& extension);  // under mutex_: publish if changed
  void PublishAnswered(const Call& call, const std::string& leg);  // under mutex_
  void FollowEvents();
  void OnSessionEnded(const std::string& session);
  void OnPartyRemoved(const std::string& session);

  CallControl& calls_;
  EventBus& events_;
  AllowAllPickups allow_all_;
  NoPickupAudit no_audit_;
  PickupAuthorizer& authorizer_;
  PickupAuditSink& audit_;

  std::mutex mutex_;  // guards the members below
  std::condition_variable resolved_;  // a claim became answered, ended or ringing again
  std::map<std::string, ExtensionRecord> extensions_;
  std::map<std::string, Call> calls_by_session_;  // until the session ends
  std::map<std::string, GroupCounters> groups_;
  uint64_t next_order_ = 0;

  std::atomic<bool> stopping_{false};
  std::thread follower_;  // last: starts after everything above exists
};

}  // namespace earshot::control

#pragma once
// Where answer and pickup (pickup_control.h) ask for permission and leave an
// audit record. The authorisation and audit work (control/auth*, policy*,
// audit*) implements these two interfaces; until it is wired in, PickupControl
// allows everything and records nothing (AllowAllPickups, NoPickupAudit).
//
//   PickupAuthorizer::Authorize  is called under PickupControl's registry lock,
//     once per candidate call, before the call is claimed: it must answer from
//     memory (a policy lookup), never block on I/O. A denial is returned to the
//     client as it is (PERMISSION_DENIED naming the missing rule); group pickup
//     skips calls it may not take and takes the oldest one it may.
//   PickupAuditSink::Record  is called once per Answer/PickupCall request, with
//     the outcome (won, lost, denied, failed), after the decision and before the
//     RPC answers, without any lock held: a sink that fsyncs does it there.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/result.h"

namespace earshot::control {

// Who asks: filled by the gRPC layer (PickupService's actor resolver) from the
// caller's credentials; "anonymous" without authentication.
struct PickupActor {
  std::string principal = "anonymous";
  std::string supervisor;  // the person the principal acts for, if any
};

enum class PickupAction { kAnswer, kDirectedPickup, kGroupPickup };

// "answer", "directed-pickup", "group-pickup".
std::string_view PickupActionName(PickupAction action);

struct PickupRequestInfo {
  PickupAction action;
  std::string by_extension;         // who answers or picks up
  std::string extension;            // the extension the call rings
  std::vector<std::string> groups;  // the ringing extension's pickup groups
  std::string session_id;
};

class PickupAuthorizer {
 public:
  virtual ~PickupAuthorizer() = default;
  // OK, or PERMISSION_DENIED saying which rule is missing.
  [[nodiscard]] virtual Result<void> Authorize(const PickupActor& actor,
                                               const PickupRequestInfo& request) = 0;
};

struct PickupAuditRecord {
  std::chrono::system_clock::time_point time;
  PickupActor actor;
  PickupRequestInfo request;  // session_id and extension empty when no call was found
  bool won = false;
  ErrorCode code = ErrorCode::kInternal;  // when !won
  std::string outcome;                    // "answered", or the error message
};

class PickupAuditSink {
 public:
  virtual ~PickupAuditSink() = default;
  virtual void Record(const PickupAuditRecord& record) = 0;
};

class AllowAllPickups final : public PickupAuthorizer {
 public:
  Result<void> Authorize(const PickupActor&, const PickupRequestInfo&) override { return {}; }
};

class NoPickupAudit final : public PickupAuditSink {
 public:
  void Record(const PickupAuditRecord&) override {}
};

}  // namespace earshot::control

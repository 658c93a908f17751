#pragma once
// The API's gate: authentication for every RPC, the policy check of each
// supervision request, and its audit record (auth.h, policy.h, audit_log.h).
//
// A supervision handler brackets its CallControl call:
//
//   ApiGuard::Ticket ticket;
//   if (grpc::Status s = guard->BeginAttach(context, *request, &ticket); !s.ok()) return s;
//   Result<LegInfo> leg = control.AddLeg(...);
//   if (grpc::Status s = guard->Finish(ticket, leg ? nullptr : &leg.error()); !s.ok()) return s;
//
// Begin* authenticates, checks the policy against the session's labels, and on
// a refusal writes the denial's record before answering PERMISSION_DENIED (or
// UNAUTHENTICATED). Finish writes the outcome's record; both return only once
// the record is on disk. If the audit log cannot be written the action is
// refused (UNAVAILABLE) -- an attach that was made is undone -- so that nobody
// listens unrecorded.
//
// For pickup and answer (control/pickup_*): Admit, then CheckPickup (which
// audits its own denials), then Audit with the outcome.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "control/audit_log.h"
#include "control/auth.h"
#include "control/call_control.h"
#include "control/policy.h"
#include "earshot/v1/sessions.pb.h"

namespace earshot::control {

class ApiGuard;

// Authentication at the top of a handler; OK without a guard (unit tests).
grpc::Status AdmitCall(const ApiGuard* guard, const grpc::ServerContext* context);

class ApiGuard {
 public:
  // `audit` may be null (no audit_log configured). All must outlive the guard.
  ApiGuard(Authenticator& authenticator, Authorizer& authorizer, AuditLog* audit, CallControl& control)
      : authenticator_(authenticator), authorizer_(authorizer), audit_(audit), control_(control) {}

  // Any RPC: OK (and the caller's principal), or UNAUTHENTICATED.
  grpc::Status Admit(const grpc::ServerContext* context, Principal* principal = nullptr) const;

  // One supervision request between Begin* and Finish.
  struct Ticket {
    AuditRecord record;
    bool attach = false;
  };
  grpc::Status BeginAttach(const grpc::ServerContext* context, const earshot::v1::AttachRequest& request,
                           Ticket* ticket);
  grpc::Status BeginSetMode(const grpc::ServerContext* context, const earshot::v1::SetModeRequest& request,
                            Ticket* ticket);
  grpc::Status BeginDetach(const grpc::ServerContext* context, const earshot::v1::DetachRequest& request,
                           Ticket* ticket);
  // Records the outcome (`error` null: ok).
  grpc::Status Finish(Ticket& ticket, const Error* error);

  // Pickup over `group` by `principal` acting for `supervisor` (empty: itself).
  // On a refusal the denial is audited with `about` (action, session,
  // extension...) and PERMISSION_DENIED names the missing rule.
  grpc::Status CheckPickup(const Principal& principal, std::string_view supervisor,
                           std::string_view group, AuditRecord about);
  // Appends `record` (no-op without an audit log); UNAVAILABLE when it could not.
  grpc::Status Audit(const AuditRecord& record);

  // A supervisor switched mode with its keypad (DTMF, already applied by the
  // worker; the digits were checked against the policy at attach): one "mode"
  // record on behalf of whoever attached the leg, principal "keypad".
  void AuditKeypadMode(const std::string& session, const std::string& leg,
                       mixer::SupervisorMode mode, char digit);

  // SIGHUP: reloads the policy and the tokens; on an error the old ones stay.
  [[nodiscard]] Result<void> Reload();

  Authenticator& authenticator() { return authenticator_; }
  Authorizer& authorizer() { return authorizer_; }
  AuditLog* audit_log() { return audit_; }

 private:
  grpc::Status Begin(const grpc::ServerContext* context, const std::string& action,
                     const std::string& session, const std::string& leg, Ticket* ticket,
                     Principal* principal);
  grpc::Status Deny(Ticket& ticket, const Error& error);

  Authenticator& authenticator_;
  Authorizer& authorizer_;
  AuditLog* audit_;
  CallControl& control_;
  std::mutex mutex_;  // guards supervisors_
  // Whom each attached supervisor leg acts for, for its mode changes and detach.
  std::map<std::pair<std::string, std::string>, std::string> supervisors_;
};

}  // namespace earshot::control

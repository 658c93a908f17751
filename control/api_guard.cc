#include "control/api_guard.h"

#include <set>

#include <fmt/format.h>

#include "control/api_services.h"
#include "control/logging.h"
#include "control/proto_convert.h"

namespace earshot::control {
namespace {

// One mapping of error codes to gRPC's, shared with the services.
grpc::Status ToStatus(const Error& error) { return ToGrpcStatus(error); }

std::string Outcome(const Error& error) {
  switch (error.code) {
    case ErrorCode::kPermissionDenied: return "denied";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    default: return std::string(ErrorCodeName(error.code));
  }
}

}  // namespace

grpc::Status AdmitCall(const ApiGuard* guard, const grpc::ServerContext* context) {
  return guard == nullptr ? grpc::Status::OK : guard->Admit(context);
}

grpc::Status ApiGuard::Admit(const grpc::ServerContext* context, Principal* principal) const {
  Result<Principal> who = authenticator_.Authenticate(*context);
  if (!who) return ToStatus(who.error());
  if (principal != nullptr) *principal = std::move(*who);
  return grpc::Status::OK;
}

grpc::Status ApiGuard::Audit(const AuditRecord& record) {
  if (audit_ == nullptr) return grpc::Status::OK;
  Result<void> appended = audit_->Append(record);
  if (!appended) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        fmt::format("refused: the audit log cannot be written ({})",
                                    appended.error().message));
  }
  return grpc::Status::OK;
}

grpc::Status ApiGuard::Deny(Ticket& ticket, const Error& error) {
  ticket.record.outcome = Outcome(error);
  ticket.record.detail = error.message;
  if (grpc::Status audited = Audit(ticket.record); !audited.ok()) return audited;
  return ToStatus(error);
}

grpc::Status ApiGuard::Begin(const grpc::ServerContext* context, const std::string& action,
                             const std::string& session, const std::string& leg, Ticket* ticket,
                             Principal* principal) {
  ticket->record.action = action;
  ticket->record.session = session;
  ticket->record.leg = leg;
  if (audit_ != nullptr && !audit_->healthy()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        fmt::format("refused: the audit log '{}' failed earlier; supervision is off "
                                    "until earshotd restarts with a writable audit log",
                                    audit_->path()));
  }
  Result<Principal> who = authenticator_.Authenticate(*context);
  if (!who) return Deny(*ticket, who.error());
  *principal = std::move(*who);
  ticket->record.principal = principal->name;
  return grpc::Status::OK;
}

grpc::Status ApiGuard::BeginAttach(const grpc::ServerContext* context,
                                   const earshot::v1::AttachRequest& request, Ticket* ticket) {
  Principal principal;
  ticket->attach = true;
  if (grpc::Status begun = Begin(context, "attach", request.session_id(), request.leg_id(), ticket, &principal);
      !begun.ok()) {
    return begun;
  }
  const std::string supervisor = request.supervisor().empty() ? principal.name : request.supervisor();
  ticket->record.supervisor = supervisor;
  std::optional<mixer::SupervisorMode> mode = FromProto(request.mode());
  ticket->record.mode = mode ? std::string(mixer::SupervisorModeName(*mode)) : "";
  Result<SessionInfo> session = control_.GetSession(request.session_id());
  if (!session) return Deny(*ticket, session.error());
  // The keypad's modes are granted up front: a DTMF switch is not an RPC.
  std::set<mixer::SupervisorMode> modes;
  if (mode) modes.insert(*mode);
  for (const auto& [digit, proto_mode] : request.dtmf_mode_switch()) {
    if (std::optional<mixer::SupervisorMode> keypad = FromProto(proto_mode)) modes.insert(*keypad);
  }
  for (mixer::SupervisorMode wanted : modes) {
    Result<void> allowed = authorizer_.CheckMode(principal.name, supervisor, wanted, request.session_id(),
                                                 session->params.labels);
    if (!allowed) return Deny(*ticket, allowed.error());
  }
  return grpc::Status::OK;
}

grpc::Status ApiGuard::BeginSetMode(const grpc::ServerContext* context,
                                    const earshot::v1::SetModeRequest& request, Ticket* ticket) {
  Principal principal;
  if (grpc::Status begun = Begin(context, "mode", request.session_id(), request.leg_id(), ticket, &principal);
      !begun.ok()) {
    return begun;
  }
  std::string supervisor = principal.name;
  {
    std::lock_guard lock(mutex_);
    auto it = supervisors_.find({request.session_id(), request.leg_id()});
    if (it != supervisors_.end()) supervisor = it->second;
  }
  ticket->record.supervisor = supervisor;
  std::optional<mixer::SupervisorMode> mode = FromProto(request.mode());
  if (!mode) return grpc::Status::OK;  // the handler answers INVALID_ARGUMENT
  ticket->record.mode = std::string(mixer::SupervisorModeName(*mode));
  Result<SessionInfo> session = control_.GetSession(request.session_id());
  if (!session) return Deny(*ticket, session.error());
  Result<void> allowed = authorizer_.CheckMode(principal.name, supervisor, *mode, request.session_id(),
                                               session->params.labels);
  if (!allowed) return Deny(*ticket, allowed.error());
  return grpc::Status::OK;
}

grpc::Status ApiGuard::BeginDetach(const grpc::ServerContext* context,
                                   const earshot::v1::DetachRequest& request, Ticket* ticket) {
  // Anyone authenticated may end a supervision: leaving never widens access.
  Principal principal;
  if (grpc::Status begun = Begin(context, "detach", request.session_id(), request.leg_id(), ticket, &principal);
      !begun.ok()) {
    return begun;
  }
  std::lock_guard lock(mutex_);
  auto it = supervisors_.find({request.session_id(), request.leg_id()});
  ticket->record.supervisor = it != supervisors_.end() ? it->second : principal.name;
  return grpc::Status::OK;
}

grpc::Status ApiGuard::Finish(Ticket& ticket, const Error* error) {
  ticket.record.outcome = error == nullptr ? "ok" : Outcome(*error);
  ticket.record.detail = error == nullptr ? "" : error->message;
  grpc::Status audited = Audit(ticket.record);
  const auto key = std::make_pair(ticket.record.session, ticket.record.leg);
  if (!audited.ok()) {
    if (error == nullptr && ticket.attach) {
      (void)control_.RemoveLeg(ticket.record.session, ticket.record.leg, true);
    }
    return audited;
  }
  if (error == nullptr) {
    std::lock_guard lock(mutex_);
    if (ticket.attach) {
      supervisors_[key] = ticket.record.supervisor;
    } else if (ticket.record.action == "detach") {
      supervisors_.erase(key);
    }
  }
  return grpc::Status::OK;
}

void ApiGuard::AuditKeypadMode(const std::string& session, const std::string& leg,
                               mixer::SupervisorMode mode, char digit) {
  AuditRecord record;
  record.principal = "keypad";
  {
    std::lock_guard lock(mutex_);
    auto found = supervisors_.find(std::make_pair(session, leg));
    record.supervisor = found != supervisors_.end() ? found->second : "";
  }
  record.action = "mode";
  record.session = session;
  record.leg = leg;
  record.mode = std::string(mixer::SupervisorModeName(mode));
  record.outcome = "ok";
  record.detail = fmt::format("DTMF digit {}", digit);
  if (grpc::Status written = Audit(record); !written.ok()) {
    // The worker applied it already; what is lost is its record, said loudly.
    Log(LogLevel::kError, "audit_write_failed",
        {{"action", "mode"}, {"session", session}, {"why", written.error_message()}});
  }
}

grpc::Status ApiGuard::CheckPickup(const Principal& principal, std::string_view supervisor,
                                   std::string_view group, AuditRecord about) {
  const std::string acting_for = supervisor.empty() ? principal.name : std::string(supervisor);
  Result<void> allowed = authorizer_.CheckPickup(principal.name, acting_for, group);
  if (allowed) return grpc::Status::OK;
  Ticket ticket{std::move(about), false};
  ticket.record.principal = principal.name;
  ticket.record.supervisor = acting_for;
  return Deny(ticket, allowed.error());
}

Result<void> ApiGuard::Reload() {
  Result<void> policy = authorizer_.Reload();
  Result<void> tokens = authenticator_.Reload();
  if (!policy) return policy;
  return tokens;
}

}  // namespace earshot::control

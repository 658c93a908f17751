#include "control/pickup_security.h"

#include <fmt/format.h>

#include "control/logging.h"

namespace earshot::control {

Result<void> GuardedPickupAuthorizer::Authorize(const PickupActor& actor,
                                                const PickupRequestInfo& request) {
  if (request.action == PickupAction::kAnswer) return {};
  std::string missing;
  // Acting for nobody else is acting for oneself, as for attach (api_guard.cc).
  const std::string& acting_for = actor.supervisor.empty() ? actor.principal : actor.supervisor;
  for (const std::string& group : request.groups) {
    Result<void> allowed = guard_.authorizer().CheckPickup(actor.principal, acting_for, group);
    if (allowed) return {};
    if (missing.empty()) missing = allowed.error().message;
  }
  if (missing.empty()) {
    missing = fmt::format("extension {} is in no pickup group, so nobody may pick its calls up",
                          request.extension);
  }
  return MakeError(ErrorCode::kPermissionDenied, missing);
}

void GuardedPickupAudit::Record(const PickupAuditRecord& record) {
  AuditRecord audit;
  audit.principal = record.actor.principal;
  audit.supervisor = record.actor.supervisor;
  audit.action = record.request.action == PickupAction::kAnswer ? "answer" : "pickup";
  audit.session = record.request.session_id;
  audit.extension = record.request.extension;
  audit.outcome = record.won ? "ok"
                  : record.code == ErrorCode::kPermissionDenied
                      ? "denied"
                      : std::string(ErrorCodeName(record.code));
  audit.detail = fmt::format("{} by {}{}{}", PickupActionName(record.request.action),
                             record.request.by_extension, record.won ? "" : ": ",
                             record.won ? "" : record.outcome);
  if (grpc::Status written = guard_.Audit(audit); !written.ok()) {
    // The decision is made and answered; what is lost is its record, said loudly.
    Log(LogLevel::kError, "audit_write_failed",
        {{"action", audit.action}, {"session", audit.session}, {"why", written.error_message()}});
  }
}

PickupActorResolver GuardedPickupActor(ApiGuard& guard) {
  return [&guard](const grpc::ServerContext& context) -> Result<PickupActor> {
    Principal principal;
    if (grpc::Status admitted = guard.Admit(&context, &principal); !admitted.ok()) {
      return MakeError(ErrorCode::kUnauthenticated, admitted.error_message());
    }
    return PickupActor{principal.name, ""};
  };
}

}  // namespace earshot::control

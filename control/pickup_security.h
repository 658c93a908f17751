#pragma once
// Answer and pickup under the API's authentication, policy and audit log
// (api_guard.h): the PickupControl hooks (pickup_hooks.h) backed by the guard.
//
// - Who: the caller's principal from its token or certificate (Admit).
// - May: answering a call that rings at one's own extension needs nothing more
//   than authentication; a directed or group pickup needs a policy grant of
//   pickup over at least one of the ringing extension's groups.
// - Audit: one record per answer or pickup request with its outcome, denials
//   included, written before the RPC answers.

#include <memory>

#include "control/api_guard.h"
#include "control/pickup_hooks.h"
#include "control/pickup_service.h"

namespace earshot::control {

class GuardedPickupAuthorizer final : public PickupAuthorizer {
 public:
  explicit GuardedPickupAuthorizer(ApiGuard& guard) : guard_(guard) {}
  Result<void> Authorize(const PickupActor& actor, const PickupRequestInfo& request) override;

 private:
  ApiGuard& guard_;
};

class GuardedPickupAudit final : public PickupAuditSink {
 public:
  explicit GuardedPickupAudit(ApiGuard& guard) : guard_(guard) {}
  void Record(const PickupAuditRecord& record) override;

 private:
  ApiGuard& guard_;
};

// The caller of a Pickup RPC, or UNAUTHENTICATED.
PickupActorResolver GuardedPickupActor(ApiGuard& guard);

}  // namespace earshot::control

#pragma once
// earshot.v1.Pickup (pickup.proto): a thin adapter over PickupControl that
// checks and translates requests and maps errors onto gRPC status codes.
//
// Authentication hook: the actor resolver turns the caller's credentials into
// the PickupActor that PickupControl passes to the PickupAuthorizer and the
// audit record (pickup_hooks.h), or fails (UNAUTHENTICATED) and the RPC is
// refused; every RPC of this service asks it first. The default says
// "anonymous"; the auth work sets one with SetActorResolver before the server
// starts.

#include <functional>

#include <grpcpp/grpcpp.h>

#include "control/pickup_control.h"
#include "earshot/v1/pickup.grpc.pb.h"

namespace earshot::control {

using PickupActorResolver = std::function<Result<PickupActor>(const grpc::ServerContext&)>;

class PickupService final : public earshot::v1::Pickup::Service {
 public:
  explicit PickupService(PickupControl& pickup) : pickup_(pickup) {}
  void SetActorResolver(PickupActorResolver resolver) { resolve_actor_ = std::move(resolver); }

  grpc::Status SetExtension(grpc::ServerContext*, const earshot::v1::SetExtensionRequest*,
                            earshot::v1::Extension*) override;
  grpc::Status ListExtensions(grpc::ServerContext*, const earshot::v1::ListExtensionsRequest*,
                              earshot::v1::ListExtensionsResponse*) override;
  grpc::Status Ring(grpc::ServerContext*, const earshot::v1::RingRequest*,
                    earshot::v1::Session*) override;
  grpc::Status Answer(grpc::ServerContext*, const earshot::v1::AnswerRequest*,
                      earshot::v1::AnswerResponse*) override;
  grpc::Status PickupCall(grpc::ServerContext*, const earshot::v1::PickupCallRequest*,
                          earshot::v1::AnswerResponse*) override;
  grpc::Status GetPickupStats(grpc::ServerContext*, const earshot::v1::GetPickupStatsRequest*,
                              earshot::v1::GetPickupStatsResponse*) override;

 private:
  Result<PickupActor> Actor(const grpc::ServerContext* context) const;

  PickupControl& pickup_;
  PickupActorResolver resolve_actor_;
};

}  // namespace earshot::control

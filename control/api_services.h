#pragma once
// The gRPC services of earshot.v1 (sessions.proto): thin adapters that check
// and translate requests, call CallControl, and map its errors onto gRPC status
// codes one to one.

#include <grpcpp/grpcpp.h>

#include "control/api_guard.h"
#include "control/call_control.h"
#include "control/event_bus.h"
#include "earshot/v1/events.grpc.pb.h"
#include "earshot/v1/sessions.grpc.pb.h"

namespace earshot::control {

grpc::Status ToGrpcStatus(const Error& error);

class SessionsService final : public earshot::v1::Sessions::Service {
 public:
  // `guard`: authentication, policy and audit (api_guard.h); null: none (tests).
  explicit SessionsService(CallControl& control, ApiGuard* guard = nullptr)
      : control_(control), guard_(guard) {}
  grpc::Status CreateSession(grpc::ServerContext*, const earshot::v1::CreateSessionRequest*,
                             earshot::v1::Session*) override;
  grpc::Status GetSession(grpc::ServerContext*, const earshot::v1::GetSessionRequest*,
                          earshot::v1::Session*) override;
  grpc::Status ListSessions(grpc::ServerContext*, const earshot::v1::ListSessionsRequest*,
                            earshot::v1::ListSessionsResponse*) override;
  grpc::Status DeleteSession(grpc::ServerContext*, const earshot::v1::DeleteSessionRequest*,
                             earshot::v1::DeleteSessionResponse*) override;
  grpc::Status AddLeg(grpc::ServerContext*, const earshot::v1::AddLegRequest*,
                      earshot::v1::Leg*) override;
  grpc::Status UpdateLeg(grpc::ServerContext*, const earshot::v1::UpdateLegRequest*,
                         earshot::v1::Leg*) override;
  grpc::Status RemoveLeg(grpc::ServerContext*, const earshot::v1::RemoveLegRequest*,
                         earshot::v1::RemoveLegResponse*) override;

 private:
  CallControl& control_;
  ApiGuard* guard_;
};

class SupervisionService final : public earshot::v1::Supervision::Service {
 public:
  explicit SupervisionService(CallControl& control, ApiGuard* guard = nullptr)
      : control_(control), guard_(guard) {}
  grpc::Status Attach(grpc::ServerContext*, const earshot::v1::AttachRequest*,
                      earshot::v1::Leg*) override;
  grpc::Status SetMode(grpc::ServerContext*, const earshot::v1::SetModeRequest*,
                       earshot::v1::Leg*) override;
  grpc::Status Detach(grpc::ServerContext*, const earshot::v1::DetachRequest*,
                      earshot::v1::DetachResponse*) override;
  grpc::Status SetMatrix(grpc::ServerContext*, const earshot::v1::SetMatrixRequest*,
                         earshot::v1::SetMatrixResponse*) override;

 private:
  CallControl& control_;
  ApiGuard* guard_;
};

class StatsService final : public earshot::v1::Stats::Service {
 public:
  explicit StatsService(CallControl& control, ApiGuard* guard = nullptr)
      : control_(control), guard_(guard) {}
  grpc::Status GetSessionStats(grpc::ServerContext*, const earshot::v1::GetSessionStatsRequest*,
                               earshot::v1::SessionStats*) override;

 private:
  CallControl& control_;
  ApiGuard* guard_;
};

class EventsService final : public earshot::v1::Events::Service {
 public:
  explicit EventsService(EventBus& bus, ApiGuard* guard = nullptr) : bus_(bus), guard_(guard) {}
  grpc::Status Subscribe(grpc::ServerContext*, const earshot::v1::SubscribeRequest*,
                         grpc::ServerWriter<earshot::v1::Event>*) override;

 private:
  EventBus& bus_;
  ApiGuard* guard_;
};

}  // namespace earshot::control

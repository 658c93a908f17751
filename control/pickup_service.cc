#include "control/pickup_service.h"

#include <fmt/format.h>

#include "control/api_services.h"
#include "control/leg_proto.h"

namespace earshot::control {
namespace {

namespace v1 = earshot::v1;

void ToProto(const ExtensionInfo& info, v1::Extension& extension) {
  extension.set_extension(info.extension);
  for (const std::string& group : info.groups) extension.add_groups(group);
  extension.set_state(info.state);
  extension.set_session_id(info.session);
}

void ToProto(const AnswerOutcome& outcome, v1::AnswerResponse& response) {
  response.set_session_id(outcome.session);
  response.set_extension(outcome.extension);
  response.set_by_extension(outcome.by_extension);
  LegInfoToProto(outcome.leg, *response.mutable_leg(), true);
  response.set_local_ip(response.leg().local_ip());
  response.set_local_port(response.leg().local_port());
}

std::optional<mixer::RingbackPlan> FromProto(v1::Ringback ringback) {
  switch (ringback) {
    case v1::RINGBACK_UNSPECIFIED:
    case v1::RINGBACK_US: return mixer::RingbackPlan::kNorthAmerican;
    case v1::RINGBACK_EU: return mixer::RingbackPlan::kEuropean;
    case v1::RINGBACK_NONE: return mixer::RingbackPlan::kNone;
    case v1::RINGBACK_EARLY_MEDIA: return mixer::RingbackPlan::kEarlyMedia;
    default: return std::nullopt;
  }
}

}  // namespace

Result<PickupActor> PickupService::Actor(const grpc::ServerContext* context) const {
  if (resolve_actor_ && context != nullptr) return resolve_actor_(*context);
  return PickupActor{};
}

#define EARSHOT_PICKUP_ACTOR(actor, context)                     \
  Result<PickupActor> actor = Actor(context);                    \
  if (!actor) return ToGrpcStatus(actor.error())

grpc::Status PickupService::SetExtension(grpc::ServerContext* context, const v1::SetExtensionRequest* request,
                                         v1::Extension* response) {
  EARSHOT_PICKUP_ACTOR(actor, context);
  Result<ExtensionInfo> set = pickup_.SetExtension(
      request->extension(), std::vector<std::string>(request->groups().begin(), request->groups().end()));
  if (!set) return ToGrpcStatus(set.error());
  ToProto(*set, *response);
  return grpc::Status::OK;
}

grpc::Status PickupService::ListExtensions(grpc::ServerContext* context, const v1::ListExtensionsRequest*,
                                           v1::ListExtensionsResponse* response) {
  EARSHOT_PICKUP_ACTOR(actor, context);
  for (const ExtensionInfo& info : pickup_.ListExtensions()) ToProto(info, *response->add_extensions());
  return grpc::Status::OK;
}

grpc::Status PickupService::Ring(grpc::ServerContext* context, const v1::RingRequest* request,
                                 v1::Session* response) {
  EARSHOT_PICKUP_ACTOR(actor, context);
  std::optional<mixer::RingbackPlan> plan = FromProto(request->ringback());
  if (!plan) return ToGrpcStatus(Error{ErrorCode::kInvalidArgument, "unknown ringback"});
  if (request->extension().empty()) {
    return ToGrpcStatus(Error{ErrorCode::kInvalidArgument, "a ringing session needs the extension it rings"});
  }
  // The session as Sessions.CreateSession makes it, then the ringing part.
  const v1::CreateSessionRequest& session = request->session();
  SessionParams params;
  params.rate = session.rate() == 0 ? 8000 : static_cast<int>(session.rate());
  params.tick_ms = session.tick_ms() == 0 ? 20 : static_cast<int>(session.tick_ms());
  for (const auto& [key, value] : session.labels()) params.labels[key] = value;
  params.ringback.plan = *plan;
  Result<SessionInfo> created = pickup_.Ring(session.id(), params, request->extension());
  if (!created) return ToGrpcStatus(created.error());
  // Answer like GetSession does.
  response->set_id(created->id);
  response->set_rate(static_cast<uint32_t>(created->params.rate));
  response->set_tick_ms(static_cast<uint32_t>(created->params.tick_ms));
  for (const auto& [key, value] : created->params.labels) (*response->mutable_labels())[key] = value;
  for (const LegInfo& leg : created->legs) LegInfoToProto(leg, *response->add_legs(), false);
  response->set_custom_matrix(created->custom_matrix);
  return grpc::Status::OK;
}

grpc::Status PickupService::Answer(grpc::ServerContext* context, const v1::AnswerRequest* request,
                                   v1::AnswerResponse* response) {
  EARSHOT_PICKUP_ACTOR(actor, context);
  Result<LegParams> params = LegParamsFromProto(request->spec());
  if (!params) return ToGrpcStatus(params.error());
  Result<AnswerOutcome> answered =
      pickup_.Answer(*actor, request->session_id(), request->leg_id(), *params);
  if (!answered) return ToGrpcStatus(answered.error());
  ToProto(*answered, *response);
  return grpc::Status::OK;
}

grpc::Status PickupService::PickupCall(grpc::ServerContext* context, const v1::PickupCallRequest* request,
                                       v1::AnswerResponse* response) {
  EARSHOT_PICKUP_ACTOR(actor, context);
  Result<LegParams> params = LegParamsFromProto(request->spec());
  if (!params) return ToGrpcStatus(params.error());
  Result<AnswerOutcome> picked = pickup_.Pickup(*actor, request->by_extension(),
                                                request->extension(), request->leg_id(), *params);
  if (!picked) return ToGrpcStatus(picked.error());
  ToProto(*picked, *response);
  return grpc::Status::OK;
}

grpc::Status PickupService::GetPickupStats(grpc::ServerContext* context, const v1::GetPickupStatsRequest* request,
                                           v1::GetPickupStatsResponse* response) {
  EARSHOT_PICKUP_ACTOR(actor, context);
  Result<std::vector<PickupGroupFigures>> figures = pickup_.Figures(request->group());
  if (!figures) return ToGrpcStatus(figures.error());
  for (const PickupGroupFigures& entry : *figures) {
    v1::PickupGroupStats& group = *response->add_groups();
    group.set_group(entry.group);
    group.set_answered(entry.answered);
    group.set_pickups(entry.pickups);
    group.set_abandoned(entry.abandoned);
    group.set_ringing(entry.ringing);
    group.set_ring_time_mean_ms(entry.ring_time_mean_ms);
    group.set_ring_time_max_ms(entry.ring_time_max_ms);
  }
  return grpc::Status::OK;
}

}  // namespace earshot::control

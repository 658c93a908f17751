#include "tools/demo/demo_call.h"

#include <chrono>

#include <grpcpp/grpcpp.h>

namespace earshot::demo {
namespace {

constexpr auto kDeadline = std::chrono::seconds(5);

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + kDeadline);
  return context;
}

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    default: return "error";
  }
}

Result<void> Check(const char* rpc, const grpc::Status& status) {
  if (status.ok()) return {};
  return MakeError(ErrorCode::kUnavailable,
                   std::string(rpc) + ": " + CodeName(status.error_code()) + ": " + status.error_message());
}

v1::LegSpec Spec(v1::Role role, uint16_t phone_port) {
  v1::LegSpec spec;
  spec.set_role(role);
  spec.set_codec("PCMU");
  spec.set_payload_type(0);
  spec.set_ptime_ms(20);
  spec.set_remote("127.0.0.1:" + std::to_string(phone_port));
  return spec;
}

}  // namespace

DemoCall::DemoCall(std::shared_ptr<grpc::Channel> channel)
    : channel_(std::move(channel)),
      sessions_(v1::Sessions::NewStub(channel_)),
      supervision_(v1::Supervision::NewStub(channel_)),
      stats_(v1::Stats::NewStub(channel_)) {}

Result<std::unique_ptr<DemoCall>> DemoCall::Connect(const std::string& address, int connect_seconds) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(connect_seconds))) {
    return MakeError(ErrorCode::kUnavailable, "cannot reach earshotd at " + address);
  }
  return std::unique_ptr<DemoCall>(new DemoCall(std::move(channel)));
}

Result<void> DemoCall::CreateSession(const std::string& id) {
  v1::CreateSessionRequest request;
  request.set_id(id);
  request.set_rate(8000);
  request.set_tick_ms(20);
  (*request.mutable_labels())["app"] = "earshot-demo";
  v1::Session session;
  auto created = Check("CreateSession", sessions_->CreateSession(Context().get(), request, &session));
  if (created) session_id_ = id;
  return created;
}

Result<LegAddress> DemoCall::AddLeg(const std::string& leg, v1::Role role, uint16_t phone_port) {
  v1::AddLegRequest request;
  request.set_session_id(session_id_);
  request.set_leg_id(leg);
  *request.mutable_spec() = Spec(role, phone_port);
  v1::Leg added;
  if (auto ok = Check("AddLeg", sessions_->AddLeg(Context().get(), request, &added)); !ok) {
    return tl::unexpected(ok.error());
  }
  return LegAddress{added.local_ip(), added.local_port()};
}

Result<LegAddress> DemoCall::Attach(const std::string& leg, uint16_t phone_port, v1::Mode mode) {
  v1::AttachRequest request;
  request.set_session_id(session_id_);
  request.set_leg_id(leg);
  *request.mutable_spec() = Spec(v1::ROLE_SUPERVISOR, phone_port);
  request.set_mode(mode);
  request.set_beep(false);
  v1::Leg attached;
  if (auto ok = Check("Attach", supervision_->Attach(Context().get(), request, &attached)); !ok) {
    return tl::unexpected(ok.error());
  }
  return LegAddress{attached.local_ip(), attached.local_port()};
}

Result<void> DemoCall::SetMode(const std::string& leg, v1::Mode mode) {
  v1::SetModeRequest request;
  request.set_session_id(session_id_);
  request.set_leg_id(leg);
  request.set_mode(mode);
  request.set_beep(false);
  v1::Leg changed;
  return Check("SetMode", supervision_->SetMode(Context().get(), request, &changed));
}

Result<v1::SessionStats> DemoCall::Stats() {
  v1::GetSessionStatsRequest request;
  request.set_session_id(session_id_);
  v1::SessionStats stats;
  if (auto ok = Check("GetSessionStats", stats_->GetSessionStats(Context().get(), request, &stats)); !ok) {
    return tl::unexpected(ok.error());
  }
  return stats;
}

Result<void> DemoCall::Detach(const std::string& leg) {
  v1::DetachRequest request;
  request.set_session_id(session_id_);
  request.set_leg_id(leg);
  v1::DetachResponse detached;
  return Check("Detach", supervision_->Detach(Context().get(), request, &detached));
}

Result<void> DemoCall::DeleteSession() {
  if (session_id_.empty()) return {};
  v1::DeleteSessionRequest request;
  request.set_id(session_id_);
  v1::DeleteSessionResponse deleted;
  auto done = Check("DeleteSession", sessions_->DeleteSession(Context().get(), request, &deleted));
  if (done) session_id_.clear();
  return done;
}

}  // namespace earshot::demo

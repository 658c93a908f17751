#include "tools/earshotctl/control_api.h"

#include <grpcpp/grpcpp.h>

#include "earshot/v1/events.grpc.pb.h"
#include "earshot/v1/pickup.grpc.pb.h"
#include "earshot/v1/sessions.grpc.pb.h"
#include "earshot/v1/system.grpc.pb.h"

namespace earshot::ctl {
namespace {

namespace v1 = earshot::v1;

std::shared_ptr<grpc::ChannelCredentials> Credentials(const ClientOptions& options) {
  if (options.tls_ca_pem.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = options.tls_ca_pem;
  ssl.pem_cert_chain = options.tls_cert_pem;
  ssl.pem_private_key = options.tls_key_pem;
  return grpc::SslCredentials(ssl);
}

class GrpcControlApi final : public ControlApi {
 public:
  explicit GrpcControlApi(const ClientOptions& options)
      : options_(options),
        channel_(grpc::CreateChannel(options.address, Credentials(options))),
        sessions_(v1::Sessions::NewStub(channel_)),
        supervision_(v1::Supervision::NewStub(channel_)),
        stats_(v1::Stats::NewStub(channel_)),
        system_(v1::System::NewStub(channel_)),
        events_(v1::Events::NewStub(channel_)),
        pickup_(v1::Pickup::NewStub(channel_)) {}

  RpcResult<v1::Extension> SetExtension(const v1::SetExtensionRequest& request) override {
    return Call<v1::Extension>(*pickup_, &v1::Pickup::Stub::SetExtension, request);
  }
  RpcResult<v1::ListExtensionsResponse> ListExtensions(const v1::ListExtensionsRequest& request) override {
    return Call<v1::ListExtensionsResponse>(*pickup_, &v1::Pickup::Stub::ListExtensions, request);
  }
  RpcResult<v1::Session> Ring(const v1::RingRequest& request) override {
    return Call<v1::Session>(*pickup_, &v1::Pickup::Stub::Ring, request);
  }
  RpcResult<v1::AnswerResponse> Answer(const v1::AnswerRequest& request) override {
    return Call<v1::AnswerResponse>(*pickup_, &v1::Pickup::Stub::Answer, request);
  }
  RpcResult<v1::AnswerResponse> PickupCall(const v1::PickupCallRequest& request) override {
    return Call<v1::AnswerResponse>(*pickup_, &v1::Pickup::Stub::PickupCall, request);
  }
  RpcResult<v1::GetPickupStatsResponse> GetPickupStats(const v1::GetPickupStatsRequest& request) override {
    return Call<v1::GetPickupStatsResponse>(*pickup_, &v1::Pickup::Stub::GetPickupStats, request);
  }

  RpcResult<v1::Session> CreateSession(const v1::CreateSessionRequest& request) override {
    return Call<v1::Session>(*sessions_, &v1::Sessions::Stub::CreateSession, request);
  }
  RpcResult<v1::Session> GetSession(const v1::GetSessionRequest& request) override {
    return Call<v1::Session>(*sessions_, &v1::Sessions::Stub::GetSession, request);
  }
  RpcResult<v1::ListSessionsResponse> ListSessions(
      const v1::ListSessionsRequest& request) override {
    return Call<v1::ListSessionsResponse>(*sessions_, &v1::Sessions::Stub::ListSessions, request);
  }
  RpcResult<v1::DeleteSessionResponse> DeleteSession(
      const v1::DeleteSessionRequest& request) override {
    return Call<v1::DeleteSessionResponse>(*sessions_, &v1::Sessions::Stub::DeleteSession, request);
  }
  RpcResult<v1::Leg> AddLeg(const v1::AddLegRequest& request) override {
    return Call<v1::Leg>(*sessions_, &v1::Sessions::Stub::AddLeg, request);
  }
  RpcResult<v1::Leg> UpdateLeg(const v1::UpdateLegRequest& request) override {
    return Call<v1::Leg>(*sessions_, &v1::Sessions::Stub::UpdateLeg, request);
  }
  RpcResult<v1::RemoveLegResponse> RemoveLeg(const v1::RemoveLegRequest& request) override {
    return Call<v1::RemoveLegResponse>(*sessions_, &v1::Sessions::Stub::RemoveLeg, request);
  }
  RpcResult<v1::Leg> Attach(const v1::AttachRequest& request) override {
    return Call<v1::Leg>(*supervision_, &v1::Supervision::Stub::Attach, request);
  }
  RpcResult<v1::Leg> SetMode(const v1::SetModeRequest& request) override {
    return Call<v1::Leg>(*supervision_, &v1::Supervision::Stub::SetMode, request);
  }
  RpcResult<v1::DetachResponse> Detach(const v1::DetachRequest& request) override {
    return Call<v1::DetachResponse>(*supervision_, &v1::Supervision::Stub::Detach, request);
  }
  RpcResult<v1::SetMatrixResponse> SetMatrix(const v1::SetMatrixRequest& request) override {
    return Call<v1::SetMatrixResponse>(*supervision_, &v1::Supervision::Stub::SetMatrix, request);
  }
  RpcResult<v1::SessionStats> GetSessionStats(const v1::GetSessionStatsRequest& request) override {
    return Call<v1::SessionStats>(*stats_, &v1::Stats::Stub::GetSessionStats, request);
  }
  RpcResult<v1::GetStatusResponse> GetStatus(const v1::GetStatusRequest& request) override {
    return Call<v1::GetStatusResponse>(*system_, &v1::System::Stub::GetStatus, request);
  }

  RpcResult<void> Subscribe(const v1::SubscribeRequest& request,
                            std::optional<std::chrono::milliseconds> duration,
                            const EventHandler& on_event) override {
    grpc::ClientContext context;
    if (duration) context.set_deadline(std::chrono::system_clock::now() + *duration);
    AddCredentials(context);
    std::unique_ptr<grpc::ClientReader<v1::Event>> reader = events_->Subscribe(&context, request);
    v1::Event event;
    bool stopped = false;
    while (reader->Read(&event)) {
      if (!on_event(event)) {
        stopped = true;
        context.TryCancel();
        while (reader->Read(&event)) {
        }  // Finish() wants the stream read to its end
        break;
      }
    }
    grpc::Status status = reader->Finish();
    bool ended_as_asked =
        stopped || (duration && status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
    if (!status.ok() && !ended_as_asked) {
      return tl::unexpected(RpcError{status.error_code(), status.error_message()});
    }
    return {};
  }

 private:
  // One unary call with this client's deadline and credentials.
  template <typename Response, typename Stub, typename Request>
  RpcResult<Response> Call(Stub& stub,
                           grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                        Response*),
                           const Request& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + options_.timeout);
    AddCredentials(context);
    Response response;
    grpc::Status status = (stub.*method)(&context, request, &response);
    if (!status.ok()) return tl::unexpected(RpcError{status.error_code(), status.error_message()});
    return response;
  }

  void AddCredentials(grpc::ClientContext& context) const {
    if (!options_.token.empty()) context.AddMetadata("authorization", "Bearer " + options_.token);
  }

  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Sessions::Stub> sessions_;
  std::unique_ptr<v1::Supervision::Stub> supervision_;
  std::unique_ptr<v1::Stats::Stub> stats_;
  std::unique_ptr<v1::System::Stub> system_;
  std::unique_ptr<v1::Events::Stub> events_;
  std::unique_ptr<v1::Pickup::Stub> pickup_;
};

}  // namespace

std::unique_ptr<ControlApi> MakeGrpcControlApi(const ClientOptions& options) {
  return std::make_unique<GrpcControlApi>(options);
}

}  // namespace earshot::ctl

#pragma once
// The calls earshotctl makes, one method per RPC of package earshot.v1.
//
// ControlApi is the seam between commands and the network: GrpcControlApi makes
// real calls (each with the deadline and credentials of ClientOptions), and
// tests inject a fake. A failed call returns the gRPC status code and message
// unchanged; turning them into an exit code and an error line is the caller's
// job (exit_codes.h).

#include <grpcpp/support/status.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tl/expected.hpp>

#include "earshot/v1/events.pb.h"
#include "earshot/v1/pickup.pb.h"
#include "earshot/v1/sessions.pb.h"
#include "earshot/v1/system.pb.h"

namespace earshot::ctl {

struct RpcError {
  grpc::StatusCode code;
  std::string message;
};

template <typename T>
using RpcResult = tl::expected<T, RpcError>;

// Called for each streamed event as it arrives; returns false to stop.
using EventHandler = std::function<bool(const earshot::v1::Event&)>;

class ControlApi {
 public:
  virtual ~ControlApi() = default;

  // earshot.v1.Sessions
  virtual RpcResult<earshot::v1::Session> CreateSession(
      const earshot::v1::CreateSessionRequest&) = 0;
  virtual RpcResult<earshot::v1::Session> GetSession(const earshot::v1::GetSessionRequest&) = 0;
  virtual RpcResult<earshot::v1::ListSessionsResponse> ListSessions(
      const earshot::v1::ListSessionsRequest&) = 0;
  virtual RpcResult<earshot::v1::DeleteSessionResponse> DeleteSession(
      const earshot::v1::DeleteSessionRequest&) = 0;
  virtual RpcResult<earshot::v1::Leg> AddLeg(const earshot::v1::AddLegRequest&) = 0;
  virtual RpcResult<earshot::v1::Leg> UpdateLeg(const earshot::v1::UpdateLegRequest&) = 0;
  virtual RpcResult<earshot::v1::RemoveLegResponse> RemoveLeg(
      const earshot::v1::RemoveLegRequest&) = 0;

  // earshot.v1.Supervision
  virtual RpcResult<earshot::v1::Leg> Attach(const earshot::v1::AttachRequest&) = 0;
  virtual RpcResult<earshot::v1::Leg> SetMode(const earshot::v1::SetModeRequest&) = 0;
  virtual RpcResult<earshot::v1::DetachResponse> Detach(const earshot::v1::DetachRequest&) = 0;
  virtual RpcResult<earshot::v1::SetMatrixResponse> SetMatrix(
      const earshot::v1::SetMatrixRequest&) = 0;

  // earshot.v1.Stats
  virtual RpcResult<earshot::v1::SessionStats> GetSessionStats(
      const earshot::v1::GetSessionStatsRequest&) = 0;

  // earshot.v1.System
  virtual RpcResult<earshot::v1::GetStatusResponse> GetStatus(
      const earshot::v1::GetStatusRequest&) = 0;

  // earshot.v1.Pickup (not pure: fakes that do not need it answer UNIMPLEMENTED)
  virtual RpcResult<earshot::v1::Extension> SetExtension(const earshot::v1::SetExtensionRequest&) {
    return Unimplemented<earshot::v1::Extension>();
  }
  virtual RpcResult<earshot::v1::ListExtensionsResponse> ListExtensions(
      const earshot::v1::ListExtensionsRequest&) {
    return Unimplemented<earshot::v1::ListExtensionsResponse>();
  }
  virtual RpcResult<earshot::v1::Session> Ring(const earshot::v1::RingRequest&) {
    return Unimplemented<earshot::v1::Session>();
  }
  virtual RpcResult<earshot::v1::AnswerResponse> Answer(const earshot::v1::AnswerRequest&) {
    return Unimplemented<earshot::v1::AnswerResponse>();
  }
  virtual RpcResult<earshot::v1::AnswerResponse> PickupCall(const earshot::v1::PickupCallRequest&) {
    return Unimplemented<earshot::v1::AnswerResponse>();
  }
  virtual RpcResult<earshot::v1::GetPickupStatsResponse> GetPickupStats(
      const earshot::v1::GetPickupStatsRequest&) {
    return Unimplemented<earshot::v1::GetPickupStatsResponse>();
  }

  // earshot.v1.Events: follows the stream until `on_event` returns false, the
  // server ends it, or `duration` (when given) has passed; each of these is
  // success. ClientOptions::timeout does not apply: a follow has no deadline
  // of its own, and a server that is not there still fails at once.
  virtual RpcResult<void> Subscribe(const earshot::v1::SubscribeRequest& request,
                                    std::optional<std::chrono::milliseconds> duration,
                                    const EventHandler& on_event) = 0;

 private:
  template <typename T>
  static RpcResult<T> Unimplemented() {
    return tl::unexpected(RpcError{grpc::StatusCode::UNIMPLEMENTED, "not available here"});
  }
};

struct ClientOptions {
  // A gRPC target: "HOST:PORT", or any form grpc::CreateChannel accepts.
  std::string address;
  // Sent as "authorization: Bearer TOKEN" on every call when not empty.
  std::string token;
  // The deadline of each unary call, counted from when the call starts.
  std::chrono::milliseconds timeout;
  // TLS (earshotd's tls_cert_file): the CA that signed the server's certificate,
  // PEM; empty: plaintext. The client's certificate and key for mTLS, PEM.
  std::string tls_ca_pem = {};
  std::string tls_cert_pem = {};
  std::string tls_key_pem = {};
};

// Opens a channel to `options.address`, over TLS when tls_ca_pem is set.
// Connecting is lazy; a server that is not there shows up as
// UNAVAILABLE from the first call. Calls fail fast rather than wait for the
// server to appear.
std::unique_ptr<ControlApi> MakeGrpcControlApi(const ClientOptions& options);

}  // namespace earshot::ctl

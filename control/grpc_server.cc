#include "control/grpc_server.h"

#include <chrono>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "control/api_services.h"
#include "control/call_control.h"
#include "control/pickup_security.h"
#include "control/pickup_service.h"
#include "control/server_security.h"
#include "control/system_service.h"

namespace earshot::control {

Result<std::unique_ptr<ControlServer>> ControlServer::Start(const Config& config,
                                                            dataplane::WorkerPool& workers,
                                                            DpdkPortsSource dpdk_ports) {
  std::unique_ptr<ControlServer> server(new ControlServer());
  server->events_ = std::make_unique<EventBus>();
  server->call_control_ = std::make_unique<CallControl>(workers, *server->events_, CallControlOptions{});
  Result<std::unique_ptr<ServerSecurity>> security = MakeServerSecurity(config, *server->call_control_);
  if (!security) return tl::unexpected(security.error());
  server->security_ = std::move(*security);
  ApiGuard* guard = server->security_->guard.get();
  server->call_control_->SetKeypadModeObserver(
      [guard](const std::string& session, const LegInfo& leg, char digit) {
        guard->AuditKeypadMode(session, leg.id, leg.mode, digit);
      });
  server->system_service_ = std::make_unique<SystemService>(config, workers, guard, std::move(dpdk_ports));
  server->sessions_service_ = std::make_unique<SessionsService>(*server->call_control_, guard);
  server->supervision_service_ = std::make_unique<SupervisionService>(*server->call_control_, guard);
  server->stats_service_ = std::make_unique<StatsService>(*server->call_control_, guard);
  server->events_service_ = std::make_unique<EventsService>(*server->events_, guard);

  // Pickup, under the same authentication, policy and audit as supervision.
  server->pickup_authorizer_ = std::make_unique<GuardedPickupAuthorizer>(*guard);
  server->pickup_audit_ = std::make_unique<GuardedPickupAudit>(*guard);
  server->pickup_ = std::make_unique<PickupControl>(*server->call_control_, *server->events_,
                                                    server->pickup_authorizer_.get(),
                                                    server->pickup_audit_.get());
  if (!config.extensions_file.empty()) {
    Result<ExtensionTable> extensions = ReadExtensionsFile(config.extensions_file);
    if (!extensions) return tl::unexpected(extensions.error());
    if (Result<void> set = server->pickup_->SetExtensions(*extensions); !set) return tl::unexpected(set.error());
  }
  server->pickup_service_ = std::make_unique<PickupService>(*server->pickup_);
  server->pickup_service_->SetActorResolver(GuardedPickupActor(*guard));

  // grpc.health.v1.Health, for load balancers and orchestrators.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second earshotd on the same address would
  // then share (and silently split) the control traffic instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // The synchronous server runs each call on a thread of its pool and, by
  // default, lets a thread exit as soon as more than two are idle: under a burst
  // of concurrent set-ups that meant a thread created and torn down per call
  // (page faults, malloc arena clean-up), most of the CPU of an RPC. Idle
  // threads now stay, up to kIdleControlThreads; the quota bounds how many a
  // flood of requests can make (beyond it gRPC answers RESOURCE_EXHAUSTED).
  constexpr int kIdleControlThreads = 128;
  constexpr int kMaxControlThreads = 512;
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              kIdleControlThreads);
  grpc::ResourceQuota quota("earshotd-control");
  quota.SetMaxThreads(kMaxControlThreads);
  builder.SetResourceQuota(quota);
  int bound_port = 0;
  builder.AddListeningPort(config.grpc_listen.ToString(), server->security_->credentials,
                           &bound_port);
  builder.RegisterService(server->system_service_.get());
  builder.RegisterService(server->sessions_service_.get());
  builder.RegisterService(server->supervision_service_.get());
  builder.RegisterService(server->stats_service_.get());
  builder.RegisterService(server->events_service_.get());
  builder.RegisterService(server->pickup_service_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || bound_port == 0) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("cannot listen for gRPC on {} (grpc_listen): address in use or "
                                 "not local to this host",
                                 config.grpc_listen.ToString()));
  }
  server->address_ = ListenAddress{config.grpc_listen.host, static_cast<uint16_t>(bound_port)};
  return server;
}

ApiGuard& ControlServer::guard() { return *security_->guard; }

Result<void> ControlServer::ReloadSecurity() { return security_->guard->Reload(); }

void ControlServer::StartDraining() { call_control_->StartDraining(); }

size_t ControlServer::session_count() { return call_control_->session_count(); }

ControlServer::~ControlServer() {
  Shutdown(std::chrono::milliseconds(0));
  // The keypad hook points at the guard, which goes before the call control.
  if (call_control_ != nullptr) call_control_->SetKeypadModeObserver(nullptr);
}

void ControlServer::Shutdown(std::chrono::milliseconds grace) {
  if (call_control_ != nullptr) call_control_->StartDraining();
  if (server_ == nullptr) return;
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  server_.reset();
}

}  // namespace earshot::control

#pragma once
// The gRPC control server: owns the grpc::Server and the services behind it.
// Services only read snapshots and post commands to workers; they never touch
// session state (ARCHITECTURE.md "Control plane").

#include <memory>
#include <string>

#include "codecs/result.h"
#include "control/config.h"
#include "control/system_service.h"
#include "dataplane/worker_pool.h"

namespace grpc {
class Server;
}

namespace earshot::control {

class SystemService;
class SessionsService;
class SupervisionService;
class StatsService;
class EventsService;
class PickupControl;
class PickupService;
class PickupAuthorizer;
class PickupAuditSink;
class EventBus;
class CallControl;
class ApiGuard;
struct ServerSecurity;

class ControlServer {
 public:
  // Binds `config.grpc_listen` (port 0 picks a free port) and starts serving.
  // UNAVAILABLE when the address cannot be bound. `dpdk_ports`, when set, gives
  // GetStatus the DPDK port's counters; what it reads must outlive the server.
  [[nodiscard]] static Result<std::unique_ptr<ControlServer>> Start(const Config& config,
                                                                    dataplane::WorkerPool& workers,
                                                                    DpdkPortsSource dpdk_ports = {});
  ~ControlServer();  // shuts down if still serving

  // The address actually bound, with the chosen port.
  const ListenAddress& address() const { return address_; }

  // Refuses new sessions from now on (UNAVAILABLE) while serving the rest.
  void StartDraining();
  size_t session_count();

  // Refuses new sessions from now on, stops taking calls, and cancels those
  // still running after `grace`.
  void Shutdown(std::chrono::milliseconds grace);

  CallControl& call_control() { return *call_control_; }

  // Authentication, policy and audit for every service (server_security.h).
  ApiGuard& guard();
  // SIGHUP: reloads the policy and the tokens file; calls and attached
  // supervisors are untouched. On an error the old ones stay in force.
  [[nodiscard]] Result<void> ReloadSecurity();

 private:
  ControlServer() = default;

  ListenAddress address_;
  std::unique_ptr<EventBus> events_;
  std::unique_ptr<CallControl> call_control_;
  std::unique_ptr<ServerSecurity> security_;
  std::unique_ptr<SystemService> system_service_;
  std::unique_ptr<SessionsService> sessions_service_;
  std::unique_ptr<SupervisionService> supervision_service_;
  std::unique_ptr<StatsService> stats_service_;
  std::unique_ptr<EventsService> events_service_;
  // Ringing, answer and pickup (pickup_control.h); before server_, which stops
  // first; its policy and audit hooks before it, which uses them.
  std::unique_ptr<PickupAuthorizer> pickup_authorizer_;
  std::unique_ptr<PickupAuditSink> pickup_audit_;
  std::unique_ptr<PickupControl> pickup_;
  std::unique_ptr<PickupService> pickup_service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace earshot::control

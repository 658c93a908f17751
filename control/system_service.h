#pragma once
// earshot.v1.System: what the daemon is and how its workers are doing.
//
// With the DPDK back end the status also carries the port's counters, read
// through a DpdkPortsSource that the composition root hands the control server.

#include <functional>
#include <vector>

#include "control/api_guard.h"
#include "control/config.h"
#include "dataplane/dpdk/port_counters.h"
#include "dataplane/worker_pool.h"
#include "earshot/v1/system.grpc.pb.h"

namespace earshot::control {

// Snapshots of the DPDK ports (DpdkPort::Snapshot); callable from any thread.
using DpdkPortsSource = std::function<std::vector<dataplane::dpdk::DpdkPortSnapshot>()>;

// The status RPC's form of the ports' snapshots.
void FillDpdkPorts(const std::vector<dataplane::dpdk::DpdkPortSnapshot>& ports,
                   earshot::v1::GetStatusResponse& response);

class SystemService final : public earshot::v1::System::Service {
 public:
  SystemService(const Config& config, const dataplane::WorkerPool& workers, ApiGuard* guard = nullptr,
                DpdkPortsSource dpdk_ports = {})
      : config_(config), workers_(workers), guard_(guard), dpdk_ports_(std::move(dpdk_ports)) {}

  grpc::Status GetStatus(grpc::ServerContext* context, const earshot::v1::GetStatusRequest* request,
                         earshot::v1::GetStatusResponse* response) override;

 private:
  Config config_;
  const dataplane::WorkerPool& workers_;
  ApiGuard* guard_;
  DpdkPortsSource dpdk_ports_;  // empty: no DPDK port
};

}  // namespace earshot::control

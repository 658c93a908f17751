#pragma once
// earshot.v1.System: what the daemon is and how its workers are doing.

#include "control/api_guard.h"
#include "control/config.h"
#include "dataplane/worker_pool.h"
#include "earshot/v1/system.grpc.pb.h"

namespace earshot::control {

class SystemService final : public earshot::v1::System::Service {
 public:
  SystemService(const Config& config, const dataplane::WorkerPool& workers, ApiGuard* guard = nullptr)
      : config_(config), workers_(workers), guard_(guard) {}

  grpc::Status GetStatus(grpc::ServerContext* context, const earshot::v1::GetStatusRequest* request,
                         earshot::v1::GetStatusResponse* response) override;

 private:
  Config config_;
  const dataplane::WorkerPool& workers_;
  ApiGuard* guard_;
};

}  // namespace earshot::control

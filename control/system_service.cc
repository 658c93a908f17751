#include "control/system_service.h"

#include "control/version.h"

namespace earshot::control {

grpc::Status SystemService::GetStatus(grpc::ServerContext* context, const earshot::v1::GetStatusRequest*,
                                      earshot::v1::GetStatusResponse* response) {
  if (grpc::Status admitted = AdmitCall(guard_, context); !admitted.ok()) return admitted;
  response->set_version(std::string(kVersion));
  response->set_dataplane(config_.dataplane == DataplaneKind::kKernel ? "kernel" : "dpdk");
  response->set_tick_ms(static_cast<uint32_t>(config_.tick_ms));
  for (const dataplane::WorkerSnapshot& snapshot : workers_.Snapshot()) {
    earshot::v1::WorkerStatus* worker = response->add_workers();
    worker->set_index(static_cast<uint32_t>(snapshot.index));
    worker->set_ticks(snapshot.ticks);
    worker->set_tick_overruns(snapshot.overruns);
    worker->set_skipped_ticks(snapshot.skipped_ticks);
    worker->set_sessions(snapshot.sessions);
    worker->set_legs(snapshot.legs);
    worker->set_rx_packets(snapshot.rx_packets);
    worker->set_tx_packets(snapshot.tx_packets);
    worker->set_rx_dropped(snapshot.rx_dropped);
  }
  return grpc::Status::OK;
}

}  // namespace earshot::control

#include "control/system_service.h"

#include "control/version.h"

namespace earshot::control {

void FillDpdkPorts(const std::vector<dataplane::dpdk::DpdkPortSnapshot>& ports,
                   earshot::v1::GetStatusResponse& response) {
  for (const dataplane::dpdk::DpdkPortSnapshot& snapshot : ports) {
    earshot::v1::DpdkPortStatus* port = response.add_dpdk_ports();
    port->set_name(snapshot.name);
    port->set_driver(snapshot.driver);
    port->set_mac(snapshot.mac);
    port->set_ip(snapshot.ip);
    port->set_neighbours(snapshot.neighbours);
    port->set_rx_missed(snapshot.rx_missed);
    port->set_rx_errors(snapshot.rx_errors);
    port->set_tx_errors(snapshot.tx_errors);
    port->set_rx_no_mbuf(snapshot.rx_no_mbuf);
    for (const dataplane::dpdk::DpdkQueueSnapshot& queue : snapshot.queues) {
      earshot::v1::DpdkQueueStatus* status = port->add_queues();
      status->set_queue(static_cast<uint32_t>(queue.queue));
      for (const dataplane::dpdk::NamedCount& count : queue.counters) {
        (*status->mutable_counters())[std::string(count.name)] = count.value;
      }
      for (const dataplane::dpdk::NamedCount& count : queue.rx_dropped) {
        (*status->mutable_rx_dropped())[std::string(count.name)] = count.value;
      }
    }
  }
}

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
  if (dpdk_ports_) FillDpdkPorts(dpdk_ports_(), *response);
  return grpc::Status::OK;
}

}  // namespace earshot::control

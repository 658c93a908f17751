#pragma once
// The metrics endpoint: Prometheus text on GET /metrics and a liveness answer
// on GET /health, served over HTTP (cpp-httplib) by a thread of its own, apart
// from the gRPC port (ARCHITECTURE.md "Control plane"). It only reads
// snapshots; nothing it does reaches a worker's hot path.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "codecs/result.h"
#include "control/config.h"
#include "control/metrics.h"

namespace httplib {
class Server;
}

namespace earshot::control {

class MetricsServer {
 public:
  using SnapshotFn = std::function<MetricsSnapshot()>;

  // Binds `address` (port 0: any free port) and starts serving; UNAVAILABLE
  // naming the address when it cannot bind.
  [[nodiscard]] static Result<std::unique_ptr<MetricsServer>> Start(const ListenAddress& address,
                                                                    SnapshotFn snapshot);
  ~MetricsServer();  // stops and joins
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  ListenAddress address() const { return address_; }

 private:
  MetricsServer() = default;

  std::unique_ptr<httplib::Server> server_;
  ListenAddress address_;
  std::thread thread_;
};

}  // namespace earshot::control

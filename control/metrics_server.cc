#include "control/metrics_server.h"

#include <httplib.h>

#include <chrono>

#include <fmt/format.h>

namespace earshot::control {

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const ListenAddress& address,
                                                            SnapshotFn snapshot) {
  std::unique_ptr<MetricsServer> metrics(new MetricsServer());
  metrics->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *metrics->server_;
  server.Get("/metrics", [snapshot](const httplib::Request&, httplib::Response& response) {
    response.set_content(RenderMetrics(snapshot()), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/health", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", "text/plain");
  });
  // A scraper needs nothing else; whatever else is asked for is 404, and the
  // server keeps one thread busy at most (Prometheus scrapes one at a time).
  server.new_task_queue = [] { return new httplib::ThreadPool(1); };
  int port = address.port;
  if (port == 0) {
    port = server.bind_to_any_port(address.host);
  } else if (!server.bind_to_port(address.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("metrics_listen {}: cannot bind (in use, or not an address of this "
                                 "machine)",
                                 address.ToString()));
  }
  metrics->address_ = ListenAddress{address.host, static_cast<uint16_t>(port)};
  metrics->thread_ = std::thread([&server] { server.listen_after_bind(); });
  // stop() is a no-op until the loop runs, so the destructor could otherwise
  // join a server that starts after it was told to stop.
  for (int wait = 0; wait < 1000 && !server.is_running(); ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return metrics;
}

MetricsServer::~MetricsServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace earshot::control

// earshotd: the composition root (ARCHITECTURE.md). Reads the configuration,
// starts the workers, and runs until SIGINT or SIGTERM.
//
// Exit codes: 0 after a clean stop (or --help, --version, --check-config),
// 2 when the command line or configuration is not usable, 1 on a start-up failure.

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "control/config.h"
#include "control/logging.h"
#include "control/version.h"
#include "control/grpc_server.h"
#include "control/metrics_server.h"
#include "dataplane/kernel/kernel_io_mode.h"
#include "dataplane/kernel/kernel_packet_io.h"
#include "dataplane/worker_pool.h"

namespace earshot::control {
namespace {

constexpr int kExitStartFailed = 1;
constexpr int kExitBadConfig = 2;
// Calls still running this long after a stop signal are cancelled, so that the
// daemon exits within a second.
constexpr std::chrono::milliseconds kShutdownGrace{300};

struct CommandLine {
  std::string config_path;
  bool check_config = false;
  std::vector<std::pair<std::string, std::string>> fields;  // key, value, in flag order
};

int ConfigError(const std::string& message) {
  std::fprintf(stderr, "earshotd: %s\n", message.c_str());
  return kExitBadConfig;
}

std::string SignalName(int signal_number) {
  return signal_number == SIGINT ? "SIGINT" : signal_number == SIGTERM ? "SIGTERM" : "signal";
}

int Run(const Config& config) {
  Log(LogLevel::kInfo, "starting",
      {{"version", std::string(kVersion)},
       {"dataplane", "kernel"},
       {"workers", std::to_string(config.workers)},
       {"tick_ms", std::to_string(config.tick_ms)}});
  if (config.grpc_listen.host != "127.0.0.1" && config.grpc_listen.host != "::1" &&
      config.grpc_listen.host != "localhost") {
    Log(LogLevel::kWarn, "grpc_listen_not_loopback",
        {{"address", config.grpc_listen.ToString()},
         {"why", "no authentication is configured; anyone who reaches this address controls calls"}});
  }

  dataplane::WorkerPoolOptions pool_options;
  pool_options.workers = config.workers;
  pool_options.tick = std::chrono::milliseconds(config.tick_ms);
  pool_options.pin_workers = config.pin_workers;
  pool_options.rtp_ip = config.rtp_ip;
  pool_options.port_low = config.rtp_port_low;
  pool_options.port_high = config.rtp_port_high;
  pool_options.media_timeout = std::chrono::seconds(config.media_timeout_s);
  Result<dataplane::KernelIoMode> io_mode = dataplane::ParseKernelIoMode(config.kernel_io);
  if (!io_mode) {
    Log(LogLevel::kError, "start_failed", {{"why", io_mode.error().message}});
    return kExitStartFailed;
  }
  auto make_io = [&](const dataplane::WorkerOptions& worker)
      -> Result<std::unique_ptr<dataplane::PacketIo>> {
    dataplane::KernelPacketIoOptions io;
    io.max_ports = static_cast<size_t>(worker.port_high - worker.port_low + 1);
    dataplane::KernelIoChoice choice;
    auto made = dataplane::MakeKernelPacketIo(io, *io_mode, &choice);
    if (made && worker.index == 0) {
      Log(LogLevel::kInfo, "packet_io",
          {{"kernel_io", std::string(dataplane::KernelIoModeName(choice.mode))},
           {"io_uring_unavailable", choice.uring_unavailable}});
    }
    return made;
  };
  Result<std::unique_ptr<dataplane::WorkerPool>> pool = dataplane::WorkerPool::Create(pool_options, make_io);
  if (!pool) {
    Log(LogLevel::kError, "start_failed", {{"why", pool.error().message}});
    return kExitStartFailed;
  }
  dataplane::WorkerPool& workers = **pool;
  if (int unpinned = workers.Start(); unpinned > 0) {
    Log(LogLevel::kWarn, "worker_pin_failed", {{"workers", std::to_string(unpinned)}});
  }
  Result<std::unique_ptr<ControlServer>> server = ControlServer::Start(config, workers);
  if (!server) {
    Log(LogLevel::kError, "start_failed", {{"why", server.error().message}});
    return kExitStartFailed;
  }
  std::atomic<bool> draining{false};
  ControlServer& control = **server;
  Result<std::unique_ptr<MetricsServer>> metrics =
      MetricsServer::Start(config.metrics_listen, [&workers, &control, &draining] {
        return MetricsSnapshot{workers.Snapshot(), control.session_count(), draining.load()};
      });
  if (!metrics) {
    Log(LogLevel::kError, "start_failed", {{"why", metrics.error().message}});
    return kExitStartFailed;
  }
  Log(LogLevel::kInfo, "listening",
      {{"grpc", (*server)->address().ToString()},
       {"rtp", fmt::format("{} ports {}-{}", config.rtp_ip, config.rtp_port_low,
                           config.rtp_port_high)},
       {"metrics", fmt::format("http://{}/metrics", (*metrics)->address().ToString())}});
  Log(LogLevel::kInfo, "ready", {{"stop_with", "SIGINT or SIGTERM"}});

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);

  (*server)->StartDraining();
  draining.store(true);
  if (config.drain_timeout_s > 0 && (*server)->session_count() > 0) {
    Log(LogLevel::kInfo, "draining",
        {{"signal", SignalName(signal_number)},
         {"sessions", std::to_string((*server)->session_count())},
         {"timeout_s", std::to_string(config.drain_timeout_s)}});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(config.drain_timeout_s);
    const timespec poll{0, 100'000'000};
    while ((*server)->session_count() > 0 && std::chrono::steady_clock::now() < deadline) {
      // A second stop signal ends the drain at once.
      if (sigtimedwait(&stop_signals, nullptr, &poll) > 0) break;
    }
  }
  Log(LogLevel::kInfo, "stopping",
      {{"signal", SignalName(signal_number)},
       {"sessions_left", std::to_string((*server)->session_count())}});
  (*server)->Shutdown(kShutdownGrace);
  workers.Stop();
  uint64_t ticks = 0;
  uint64_t overruns = 0;
  for (const dataplane::WorkerSnapshot& worker : workers.Snapshot()) {
    ticks += worker.ticks;
    overruns += worker.overruns;
  }
  Log(LogLevel::kInfo, "stopped",
      {{"ticks", std::to_string(ticks)}, {"tick_overruns", std::to_string(overruns)}});
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"earshotd: Earshot media tier (listen, whisper, barge, pickup for RTP calls)",
               "earshotd"};
  app.set_version_flag("--version", std::string(kVersion));
  CommandLine command_line;
  app.add_option("-c,--config", command_line.config_path, "YAML configuration file")
      ->check(CLI::ExistingFile);
  app.add_flag("--check-config", command_line.check_config,
               "validate the configuration, print the effective one, and exit");
  for (const FieldInfo& field : ConfigFields()) {
    std::string key(field.key);
    app.add_option_function<std::string>(
        std::string(field.flag),
        [&command_line, key](const std::string& value) {
          command_line.fields.emplace_back(key, value);
        },
        std::string(field.help));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return ConfigError(fmt::format("{} (see earshotd --help)", e.what()));
  }

  Config config;
  if (!command_line.config_path.empty()) {
    if (Result<void> applied = ApplyYamlFile(config, command_line.config_path); !applied) {
      return ConfigError(applied.error().message);
    }
  }
  for (const auto& [key, value] : command_line.fields) {
    const FieldInfo* field = nullptr;
    for (const FieldInfo& candidate : ConfigFields()) {
      if (candidate.key == key) field = &candidate;
    }
    FieldSetting setting{value, std::string(field->flag)};
    if (Result<void> applied = ApplyField(config, key, setting); !applied) {
      return ConfigError(applied.error().message);
    }
  }
  if (Result<void> valid = ValidateConfig(config); !valid) {
    return ConfigError(valid.error().message);
  }
  if (config.dataplane == DataplaneKind::kDpdk) {
    return ConfigError(
        "invalid dataplane (--dataplane) 'dpdk': the DPDK back end is not part of this build yet; "
        "use kernel");
  }
  if (command_line.check_config) {
    std::fputs(config.ToYaml().c_str(), stdout);
    return 0;
  }

  // Block the stop signals in every thread (workers inherit the mask), so that
  // only the main thread's sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  SetupLogging(config.log_format, config.log_level);
  return Run(config);
}

}  // namespace earshot::control

int main(int argc, char** argv) { return earshot::control::Main(argc, argv); }

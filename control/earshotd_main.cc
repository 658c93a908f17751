// earshotd: the composition root (ARCHITECTURE.md). Reads the configuration,
// starts the workers, and runs until SIGINT or SIGTERM.
//
// Exit codes: 0 after a clean stop (or --help, --version, --check-config),
// 2 when the command line or configuration is not usable, 1 on a start-up failure.

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "control/auth_config.h"
#include "control/config.h"
#include "control/logging.h"
#include "control/version.h"
#include "control/grpc_server.h"
#include "control/metrics_server.h"
#include "control/system_service.h"
#include "dataplane/kernel/kernel_io_mode.h"
#include "dataplane/kernel/kernel_packet_io.h"
#include "dataplane/worker_pool.h"
#ifdef EARSHOT_HAVE_DPDK
#include "dataplane/dpdk/dpdk_backend.h"
#endif

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

#ifdef EARSHOT_HAVE_DPDK
// The DPDK port's options from the configuration (checked by ValidateConfig).
Result<dataplane::dpdk::DpdkPortOptions> DpdkOptions(const Config& config) {
  namespace dpdk = dataplane::dpdk;
  dpdk::DpdkPortOptions options;
  options.ip = dpdk::ParseIpv4(config.dpdk.ip).value_or(0);
  options.prefix_length = static_cast<uint8_t>(config.dpdk.prefix_length);
  if (!config.dpdk.mac.empty()) {
    Result<dpdk::MacAddress> mac = dpdk::MacAddress::Parse(config.dpdk.mac);
    if (!mac) return tl::unexpected(mac.error());
    options.mac = *mac;
  }
  if (!config.dpdk.gateway.empty()) options.gateway = dpdk::ParseIpv4(config.dpdk.gateway).value_or(0);
  for (const auto& [ip, mac_text] : SplitNeighbours(config.dpdk.neighbours)) {
    Result<dpdk::MacAddress> mac = dpdk::MacAddress::Parse(mac_text);
    if (!mac) return tl::unexpected(mac.error());
    options.neighbours.push_back({dpdk::ParseIpv4(ip).value_or(0), *mac});
  }
  options.vlan = static_cast<uint16_t>(config.dpdk.vlan);
  options.verify_udp_checksum = config.dpdk.verify_udp_checksum;
  options.workers = config.workers;
  options.mbufs_per_worker = static_cast<uint32_t>(config.dpdk.mbufs);
  options.idle_sleep = std::chrono::microseconds(config.dpdk.idle_sleep_us);
  return options;
}
#endif

int Run(const Config& config) {
  const bool dpdk = config.dataplane == DataplaneKind::kDpdk;
  const std::string& rtp_ip = dpdk ? config.dpdk.ip : config.rtp_ip;
  Log(LogLevel::kInfo, "starting",
      {{"version", std::string(kVersion)},
       {"dataplane", dpdk ? "dpdk" : "kernel"},
       {"workers", std::to_string(config.workers)},
       {"tick_ms", std::to_string(config.tick_ms)}});
  // A non-loopback grpc_listen without authentication was refused by
  // ValidateConfig; the server warns about what is configured (server_security.cc).

  dataplane::WorkerPoolOptions pool_options;
  pool_options.workers = config.workers;
  pool_options.tick = std::chrono::milliseconds(config.tick_ms);
  pool_options.pin_workers = config.pin_workers;
  pool_options.rtp_ip = rtp_ip;
  pool_options.port_low = config.rtp_port_low;
  pool_options.port_high = config.rtp_port_high;
  pool_options.media_timeout = std::chrono::seconds(config.media_timeout_s);
  pool_options.rtcp_interval = std::chrono::milliseconds(config.rtcp_interval_ms);
  Result<dataplane::KernelIoMode> io_mode = dataplane::ParseKernelIoMode(config.kernel_io);
  if (!io_mode) {
    Log(LogLevel::kError, "start_failed", {{"why", io_mode.error().message}});
    return kExitStartFailed;
  }
#ifdef EARSHOT_HAVE_DPDK
  // Declared before the pool: the workers (and their PacketIos) go first.
  std::optional<dataplane::dpdk::DpdkBackend> dpdk_backend;
  if (dpdk) {
    Result<dataplane::dpdk::DpdkPortOptions> options = DpdkOptions(config);
    Result<dataplane::dpdk::DpdkBackend> started =
        options ? dataplane::dpdk::StartDpdkBackend(SplitEalArgs(config.dpdk.eal), config.dpdk.port, *options)
                : Result<dataplane::dpdk::DpdkBackend>(tl::unexpected(options.error()));
    if (!started) {
      // A DPDK port that cannot start is a set-up the operator must fix: exit 2.
      Log(LogLevel::kError, "start_failed", {{"why", started.error().message}});
      return kExitBadConfig;
    }
    dpdk_backend.emplace(std::move(*started));
    Log(LogLevel::kInfo, "packet_io", {{"dpdk", dpdk_backend->port->Describe()}});
  }
#endif
  auto make_io = [&](const dataplane::WorkerOptions& worker)
      -> Result<std::unique_ptr<dataplane::PacketIo>> {
#ifdef EARSHOT_HAVE_DPDK
    if (dpdk_backend) return dpdk_backend->port->MakePacketIo(worker.index, worker.port_low, worker.port_high);
#endif
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
  // The DPDK port's counters for GetStatus and /metrics; the backend outlives
  // both servers (declared before them).
  DpdkPortsSource dpdk_ports;
#ifdef EARSHOT_HAVE_DPDK
  if (dpdk_backend) {
    dpdk_ports = [&dpdk_backend] { return std::vector{dpdk_backend->port->Snapshot()}; };
  }
#endif
  Result<std::unique_ptr<ControlServer>> server = ControlServer::Start(config, workers, dpdk_ports);
  if (!server) {
    Log(LogLevel::kError, "start_failed", {{"why", server.error().message}});
    return kExitStartFailed;
  }
  std::atomic<bool> draining{false};
  ControlServer& control = **server;
  Result<std::unique_ptr<MetricsServer>> metrics =
      MetricsServer::Start(config.metrics_listen, [&workers, &control, &draining, &dpdk_ports] {
        return MetricsSnapshot{workers.Snapshot(), control.session_count(), draining.load(),
                               dpdk_ports ? dpdk_ports() : std::vector<dataplane::dpdk::DpdkPortSnapshot>{}};
      });
  if (!metrics) {
    Log(LogLevel::kError, "start_failed", {{"why", metrics.error().message}});
    return kExitStartFailed;
  }
  Log(LogLevel::kInfo, "listening",
      {{"grpc", (*server)->address().ToString()},
       {"rtp", fmt::format("{} ports {}-{}", rtp_ip, config.rtp_port_low,
                           config.rtp_port_high)},
       {"metrics", fmt::format("http://{}/metrics", (*metrics)->address().ToString())}});
  Log(LogLevel::kInfo, "ready", {{"stop_with", "SIGINT or SIGTERM"}});

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  int signal_number = 0;
  // SIGHUP reloads the policy and the tokens file; calls and supervisors go on.
  sigset_t wait_signals = stop_signals;
  sigaddset(&wait_signals, SIGHUP);
  while (sigwait(&wait_signals, &signal_number) == 0 && signal_number == SIGHUP) {
    if (Result<void> reloaded = (*server)->ReloadSecurity(); reloaded) {
      Log(LogLevel::kInfo, "security_reloaded", {{"signal", "SIGHUP"}});
    } else {
      Log(LogLevel::kError, "security_reload_failed",
          {{"why", reloaded.error().message}, {"kept", "the previous policy and tokens"}});
    }
  }

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
#ifdef EARSHOT_HAVE_DPDK
  if (dpdk_backend) {
    // What the port received, sent and dropped, and why (also in GetStatus and /metrics).
    Log(LogLevel::kInfo, "dpdk_counters", {{"queues", dpdk_backend->port->CountersSummary()}});
  }
#endif
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
  if (Result<void> files = CheckSecurityFiles(config); !files) {
    return ConfigError(files.error().message);
  }
#ifndef EARSHOT_HAVE_DPDK
  if (config.dataplane == DataplaneKind::kDpdk) {
    return ConfigError(
        "invalid dataplane (--dataplane) 'dpdk': this earshotd was built without DPDK (configure "
        "with -DEARSHOT_DPDK=ON and libdpdk-dev installed); use kernel");
  }
#endif
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
  sigaddset(&stop_signals, SIGHUP);  // reload, taken by the same sigwait
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  SetupLogging(config.log_format, config.log_level);
  return Run(config);
}

}  // namespace earshot::control

int main(int argc, char** argv) { return earshot::control::Main(argc, argv); }

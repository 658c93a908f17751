// earshot-load: offers N supervised calls to a running earshotd and proves that
// every party heard exactly whom it must (see load_options.h for the flags and
// exit codes, load_rtp_driver.h for the media side, load_report.h for output).
//
// Threads: the main thread drives RTP (RtpDriver::Run); a control thread makes
// the set-up and mode-change RPCs (CallController); with --churn-cps a churn
// thread sets churn calls up and down (CallController::RunChurn); gRPC has its own.

#include <sys/resource.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tools/earshotctl/control_api.h"
#include "tools/load/load_control.h"
#include "tools/load/load_options.h"
#include "tools/load/load_report.h"
#include "tools/load/load_rtp_driver.h"

namespace earshot::load {
namespace {

void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

Percentiles ToPercentiles(const DurationHistogram& histogram) {
  return {static_cast<double>(histogram.PercentileNs(0.50)) / 1e6,
          static_cast<double>(histogram.PercentileNs(0.99)) / 1e6,
          static_cast<double>(histogram.max_ns()) / 1e6, histogram.count()};
}

struct ServerCounters {
  int64_t tick_overruns = 0;
  int64_t skipped_ticks = 0;
  int64_t rx_dropped = 0;
};

ServerCounters Sum(const earshot::v1::GetStatusResponse& status) {
  ServerCounters sum;
  for (const earshot::v1::WorkerStatus& worker : status.workers()) {
    sum.tick_overruns += static_cast<int64_t>(worker.tick_overruns());
    sum.skipped_ticks += static_cast<int64_t>(worker.skipped_ticks());
    sum.rx_dropped += static_cast<int64_t>(worker.rx_dropped());
  }
  return sum;
}

std::string ModeLabel(ModeChoice mode) {
  switch (mode) {
    case ModeChoice::kListen: return "listen";
    case ModeChoice::kWhisper: return "whisper";
    case ModeChoice::kWhisperCustomer: return "whisper-customer";
    case ModeChoice::kBarge: return "barge";
    case ModeChoice::kMix: return "mix";
  }
  return "?";
}

int Run(const LoadOptions& options) {
  RaiseFileLimit();
  ctl::ClientOptions client{options.address, "", std::chrono::milliseconds(options.rpc_timeout_ms)};
  std::unique_ptr<ctl::ControlApi> api = ctl::MakeGrpcControlApi(client);
  ctl::RpcResult<earshot::v1::GetStatusResponse> before = api->GetStatus({});
  if (!before) {
    std::fprintf(stderr, "earshot-load: earshotd at %s is unreachable: %s: %s\n", options.address.c_str(),
                 StatusCodeName(before.error().code).c_str(), before.error().message.c_str());
    return kExitUnreachable;
  }

  Result<std::unique_ptr<RtpDriver>> created = RtpDriver::Create(options);
  if (!created) {
    std::fprintf(stderr, "earshot-load: %s\n", created.error().message.c_str());
    return kExitFailed;
  }
  RtpDriver& driver = **created;
  CallController controller(*api, options, driver);

  std::atomic<int64_t> stop_at_ns{0};
  std::atomic<bool> abort{false};
  std::thread control([&] { controller.Run(stop_at_ns, abort); });
  std::thread churn([&] { controller.RunChurn(stop_at_ns, abort); });
  driver.Run(stop_at_ns, abort, [&](const DriverProgress& progress) {
    if (options.quiet) return;
    const DriverTotals& t = *progress.totals;
    ProgressFigures figures{progress.elapsed_s,
                            controller.calls_up(),
                            options.calls,
                            t.packets_sent,
                            t.packets_received,
                            t.lost,
                            t.not_sent,
                            t.missing + t.unexpected,
                            static_cast<double>(progress.lateness_p99_ns) / 1e6,
                            progress.cpu_percent};
    if (options.churn_cps > 0.0) {
      const ChurnFigures c = controller.churn_figures();
      figures.churn_cps = c.cps;
      figures.churn_up = c.up_now;
      figures.churn_setups = c.setups;
      figures.churn_teardowns = c.teardowns;
      figures.churn_failed = c.failed;
      figures.churn_setup_p50_ms = c.setup.p50_ms;
      figures.churn_setup_p99_ms = c.setup.p99_ms;
    }
    std::fprintf(stderr, "%s\n", FormatProgress(figures).c_str());
  });
  control.join();
  churn.join();
  controller.TearDown();
  ctl::RpcResult<earshot::v1::GetStatusResponse> after = api->GetStatus({});

  const DriverTotals& t = driver.Totals();
  const RpcCounts rpc = controller.rpc_counts();
  LoadReport report;
  report.run_id = controller.run_id();
  report.address = options.address;
  report.mode = ModeLabel(options.mode);
  report.codec = options.CodecLabel();
  report.session_rate_hz = options.session_rate_hz;
  report.calls = options.calls;
  report.supervisors = options.supervisors;
  report.cps = options.cps;
  report.duration_s = options.duration_s;
  report.mode_changes_per_s = options.mode_changes_per_s;
  report.calls_up = controller.calls_up();
  report.calls_failed = controller.calls_failed();
  report.churn = controller.churn_figures();
  report.legs = report.calls_up * (kFirstSupervisor + options.supervisors);
  report.mode_changes = controller.mode_changes();
  report.rpcs = rpc.calls;
  report.rpc_failures = rpc.failures;
  report.first_rpc_failure = rpc.first_failure;
  report.packets_sent = t.packets_sent;
  report.send_errors = t.send_errors;
  report.periods_skipped = t.periods_skipped;
  report.packets_received = t.packets_received;
  report.rx_malformed = t.rx_malformed;
  report.srtp_failures = t.srtp_failures;
  report.rx_rtcp = t.rx_rtcp;
  report.lost = t.lost;
  report.not_sent = t.not_sent;
  report.sequence_errors = t.sequence_errors;
  report.streams = t.streams;
  report.streams_without_packets = t.streams_without_packets;
  report.jitter_ms_mean = t.jitter_ms_mean;
  report.jitter_ms_max = t.jitter_ms_max;
  report.windows = t.windows;
  report.windows_skipped = t.windows_skipped;
  report.judgements = t.judgements;
  report.missing = t.missing;
  report.unexpected = t.unexpected;
  report.latency = ToPercentiles(*t.latency);
  report.probes = t.probes;
  report.probes_missed = t.probes_missed;
  report.lateness = ToPercentiles(*t.lateness);
  report.tool_cpu_s = t.cpu_s;
  report.tool_wall_s = t.wall_s;
  if (after) {
    const ServerCounters a = Sum(*after);
    const ServerCounters b = Sum(*before);
    report.server_status = true;
    report.server_tick_overruns = a.tick_overruns - b.tick_overruns;
    report.server_skipped_ticks = a.skipped_ticks - b.skipped_ticks;
    report.server_rx_dropped = a.rx_dropped - b.rx_dropped;
  }
  if (options.json) {
    std::printf("%s\n", ToJson(report).dump().c_str());
  } else {
    std::printf("%s", FormatTable(report).c_str());
  }
  return ExitCodeOf(report);
}

}  // namespace
}  // namespace earshot::load

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  earshot::load::ParsedOptions parsed = earshot::load::ParseLoadOptions(args);
  if (!parsed.options) {
    std::fputs(parsed.message.c_str(), parsed.exit_code == 0 ? stdout : stderr);
    return parsed.exit_code;
  }
  return earshot::load::Run(*parsed.options);
}

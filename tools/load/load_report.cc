#include "tools/load/load_report.h"

#include <fmt/format.h>

namespace earshot::load {
namespace {

nlohmann::json ToJson(const Percentiles& p) {
  return {{"p50_ms", p.p50_ms}, {"p99_ms", p.p99_ms}, {"max_ms", p.max_ms}, {"count", p.count}};
}

}  // namespace

double LoadReport::loss_ratio() const {
  const int64_t expected = packets_received + lost;
  return expected == 0 ? 0.0 : static_cast<double>(lost) / static_cast<double>(expected);
}

double LoadReport::tool_cpu_percent() const {
  return tool_wall_s <= 0.0 ? 0.0 : 100.0 * tool_cpu_s / tool_wall_s;
}

int ExitCodeOf(const LoadReport& report) {
  const bool clean = report.semantic_errors() == 0 && report.lost == 0 && report.not_sent == 0 &&
                     report.srtp_failures == 0 &&
                     report.streams_without_packets == 0 && report.rpc_failures.empty() &&
                     report.calls_failed == 0 && report.churn.failed == 0 && report.calls_up > 0;
  return clean ? 0 : 1;
}

nlohmann::json ToJson(const LoadReport& r) {
  nlohmann::json rpc_failures = nlohmann::json::object();
  int64_t rpc_failed = 0;
  for (const auto& [code, count] : r.rpc_failures) {
    rpc_failures[code] = count;
    rpc_failed += count;
  }
  nlohmann::json json = {
      {"run_id", r.run_id},
      {"address", r.address},
      {"config",
       {{"calls", r.calls},
        {"supervisors", r.supervisors},
        {"mode", r.mode},
        {"codec", r.codec},
        {"session_rate_hz", r.session_rate_hz},
        {"cps", r.cps},
        {"duration_s", r.duration_s},
        {"mode_changes_per_s", r.mode_changes_per_s},
        {"churn_cps", r.churn.cps},
        {"churn_hold_s", r.churn.hold_s}}},
      {"calls",
       {{"up", r.calls_up}, {"failed", r.calls_failed}, {"legs", r.legs}, {"mode_changes", r.mode_changes}}},
      {"rpc",
       {{"calls", r.rpcs},
        {"failed", rpc_failed},
        {"failures", rpc_failures},
        {"first_failure", r.first_rpc_failure}}},
      {"packets",
       {{"sent", r.packets_sent},
        {"send_errors", r.send_errors},
        {"periods_skipped", r.periods_skipped},
        {"received", r.packets_received},
        {"malformed", r.rx_malformed},
        {"srtp_failures", r.srtp_failures},
        {"rtcp", r.rx_rtcp},
        {"lost", r.lost},
        {"not_sent", r.not_sent},
        {"loss_ratio", r.loss_ratio()},
        {"sequence_errors", r.sequence_errors},
        {"streams", r.streams},
        {"streams_without_packets", r.streams_without_packets},
        {"jitter_ms_mean", r.jitter_ms_mean},
        {"jitter_ms_max", r.jitter_ms_max}}},
      {"semantic",
       {{"windows", r.windows},
        {"windows_skipped", r.windows_skipped},
        {"judgements", r.judgements},
        {"missing", r.missing},
        {"unexpected", r.unexpected},
        {"errors", r.semantic_errors()}}},
      {"latency", ToJson(r.latency)},
      {"probes", {{"expected", r.probes}, {"missed", r.probes_missed}}},
      {"tool",
       {{"lateness", ToJson(r.lateness)},
        {"cpu_s", r.tool_cpu_s},
        {"wall_s", r.tool_wall_s},
        {"cpu_percent", r.tool_cpu_percent()},
        {"bottleneck", r.tool_bottleneck()}}},
      {"exit_code", ExitCodeOf(r)},
  };
  if (r.churn.cps > 0.0) {
    const ChurnFigures& c = r.churn;
    nlohmann::json samples = nlohmann::json::array();
    for (const auto& [at, up] : c.up_samples) samples.push_back({at, up});
    json["churn"] = {{"cps", c.cps},
                     {"hold_s", c.hold_s},
                     {"slots", c.slots},
                     {"setups", c.setups},
                     {"failed", c.failed},
                     {"teardowns", c.teardowns},
                     {"missed", c.missed},
                     {"span_s", c.span_s},
                     {"setup_span_s", c.setup_span_s},
                     {"nominal_up", c.nominal_up()},
                     {"achieved_cps", c.achieved_cps()},
                     {"mean_up", c.mean_up},
                     {"setup_latency", ToJson(c.setup)},
                     {"up_samples", samples}};
  }
  if (r.server_status) {
    json["earshotd"] = {{"tick_overruns", r.server_tick_overruns},
                        {"skipped_ticks", r.server_skipped_ticks},
                        {"rx_dropped", r.server_rx_dropped}};
  }
  return json;
}

std::string FormatTable(const LoadReport& r) {
  std::string out;
  auto row = [&out](std::string_view name, const std::string& value) {
    out += fmt::format("  {:<26} {}\n", name, value);
  };
  out += fmt::format("earshot-load run {} against {}\n", r.run_id, r.address);
  row("calls", fmt::format("{} up of {} ({} failed), {} supervisor(s), mode {}, {}, {} Hz sessions",
                           r.calls_up, r.calls, r.calls_failed, r.supervisors, r.mode, r.codec,
                           r.session_rate_hz));
  row("legs", fmt::format("{}", r.legs));
  if (r.churn.cps > 0.0) {
    const ChurnFigures& c = r.churn;
    row("churn", fmt::format("{:g} calls/s held {:g} s: {} set up ({:.1f}/s achieved), {} torn down, {} failed, "
                             "{} missed (no free slot of {})",
                             c.cps, c.hold_s, c.setups, c.achieved_cps(), c.teardowns, c.failed, c.missed, c.slots));
    row("churn calls up",
        fmt::format("about {:g} once filled ({:.1f} on average over {:.1f} s, ramps included): compare with "
                    "{:g} steady calls",
                    c.nominal_up(), c.mean_up, c.span_s, static_cast<double>(r.calls_up) + c.nominal_up()));
    row("churn set-up latency", fmt::format("p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms", c.setup.p50_ms,
                                            c.setup.p99_ms, c.setup.max_ms));
  }
  row("mode changes", fmt::format("{}", r.mode_changes));
  std::string failures;
  for (const auto& [code, count] : r.rpc_failures) failures += fmt::format(" {}={}", code, count);
  row("RPCs", fmt::format("{} made, failed:{}", r.rpcs, failures.empty() ? " none" : failures));
  if (!r.first_rpc_failure.empty()) row("first RPC failure", r.first_rpc_failure);
  row("packets sent / received",
      fmt::format("{} / {} ({} send errors, {} malformed, {} failed SRTP)", r.packets_sent,
                  r.packets_received, r.send_errors, r.rx_malformed, r.srtp_failures));
  row("loss", fmt::format("{} packets ({:.4f} %), {} sequence errors", r.lost, 100.0 * r.loss_ratio(),
                          r.sequence_errors));
  row("not sent by earshotd", fmt::format("{} packets (RTP timestamp gaps: ticks it skipped)", r.not_sent));
  row("streams without packets", fmt::format("{} of {}", r.streams_without_packets, r.streams));
  row("jitter", fmt::format("mean {:.2f} ms, max {:.2f} ms", r.jitter_ms_mean, r.jitter_ms_max));
  row("semantic errors", fmt::format("{} ({} missing, {} unexpected) in {} windows ({} skipped)",
                                     r.semantic_errors(), r.missing, r.unexpected, r.windows,
                                     r.windows_skipped));
  row("mouth-to-ear", fmt::format("p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms ({} onsets, {} missed)",
                                  r.latency.p50_ms, r.latency.p99_ms, r.latency.max_ms, r.latency.count,
                                  r.probes_missed));
  row("own send lateness", fmt::format("p50 {:.3f} ms, p99 {:.3f} ms, max {:.3f} ms{}", r.lateness.p50_ms,
                                       r.lateness.p99_ms, r.lateness.max_ms,
                                       r.tool_bottleneck() ? "  << the tool is the bottleneck" : ""));
  if (r.periods_skipped > 0) {
    row("own skipped periods", fmt::format("{} x 20 ms (the tool fell > 200 ms behind)", r.periods_skipped));
  }
  row("own CPU", fmt::format("{:.2f} s in {:.1f} s ({:.0f} % of a core)", r.tool_cpu_s, r.tool_wall_s,
                             r.tool_cpu_percent()));
  if (r.server_status) {
    row("earshotd", fmt::format("{} tick overruns, {} skipped ticks, {} rx dropped", r.server_tick_overruns,
                                r.server_skipped_ticks, r.server_rx_dropped));
  }
  out += fmt::format("  result: {}\n", ExitCodeOf(r) == 0 ? "PASS" : "FAIL");
  return out;
}

std::string FormatProgress(const ProgressFigures& f) {
  std::string churn;
  if (f.churn_cps > 0.0) {
    churn = fmt::format("  churn up {} set-ups {} downs {} failed {} set-up p50/p99 {:.1f}/{:.1f} ms", f.churn_up,
                        f.churn_setups, f.churn_teardowns, f.churn_failed, f.churn_setup_p50_ms,
                        f.churn_setup_p99_ms);
  }
  return fmt::format("[{:6.1f}s] calls {}/{}  sent {}  received {}  lost {}  not sent {}  semantic errors {}  "
                     "lateness p99 {:.2f} ms  cpu {:.0f}%{}",
                     f.elapsed_s, f.calls_up, f.calls, f.packets_sent, f.packets_received, f.lost, f.not_sent,
                     f.semantic_errors, f.lateness_p99_ms, f.cpu_percent, churn);
}

}  // namespace earshot::load

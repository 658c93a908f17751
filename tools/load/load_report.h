#pragma once
// earshot-load's results: the figures of one run, the verdict (exit code), the
// summary table, the JSON object (--json) and the once-a-second progress line.
// Pure functions of a LoadReport, so that tests can check every field.

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace earshot::load {

struct Percentiles {
  double p50_ms = 0.0;
  double p99_ms = 0.0;
  double max_ms = 0.0;
  int64_t count = 0;
};

// When the tool's own p99 send lateness is above this, its figures say more
// about the tool than about earshotd.
inline constexpr double kBottleneckLatenessMs = 5.0;

struct LoadReport {
  // What was asked.
  std::string run_id;
  std::string address;
  std::string mode;
  std::string codec;  // LoadOptions::CodecLabel
  int session_rate_hz = 8000;
  int calls = 0;
  int supervisors = 0;
  double cps = 0.0;
  double duration_s = 0.0;
  double mode_changes_per_s = 0.0;
  // Calls and RPCs.
  int64_t calls_up = 0;
  int64_t calls_failed = 0;
  int64_t legs = 0;
  int64_t mode_changes = 0;
  int64_t rpcs = 0;
  std::map<std::string, int64_t> rpc_failures;  // by status code
  std::string first_rpc_failure;
  // Packets.
  int64_t packets_sent = 0;
  int64_t send_errors = 0;
  int64_t periods_skipped = 0;
  int64_t packets_received = 0;
  int64_t rx_malformed = 0;
  int64_t srtp_failures = 0;  // --srtp: received packets that did not authenticate
  int64_t rx_rtcp = 0;        // earshotd's RTCP reports
  int64_t lost = 0;
  int64_t not_sent = 0;  // earshotd skipped them (RTP timestamp gaps): audio missing all the same
  int64_t sequence_errors = 0;
  int64_t streams = 0;
  int64_t streams_without_packets = 0;
  double jitter_ms_mean = 0.0;
  double jitter_ms_max = 0.0;
  // Who heard whom.
  int64_t windows = 0;
  int64_t windows_skipped = 0;
  int64_t judgements = 0;
  int64_t missing = 0;
  int64_t unexpected = 0;
  // Mouth-to-ear through the mixer.
  Percentiles latency;
  int64_t probes = 0;
  int64_t probes_missed = 0;
  // The tool itself.
  Percentiles lateness;
  double tool_cpu_s = 0.0;
  double tool_wall_s = 0.0;
  // earshotd's own counters over the run (GetStatus before and after).
  bool server_status = false;
  int64_t server_tick_overruns = 0;
  int64_t server_skipped_ticks = 0;
  int64_t server_rx_dropped = 0;

  int64_t semantic_errors() const { return missing + unexpected; }
  double loss_ratio() const;
  bool tool_bottleneck() const { return lateness.p99_ms > kBottleneckLatenessMs || periods_skipped > 0; }
  double tool_cpu_percent() const;
};

// 0 when clean; 1 when any semantic error, loss, packet not sent, silent
// stream, failed RPC or failed call.
int ExitCodeOf(const LoadReport& report);

nlohmann::json ToJson(const LoadReport& report);
std::string FormatTable(const LoadReport& report);

struct ProgressFigures {
  double elapsed_s = 0.0;
  int64_t calls_up = 0;
  int calls = 0;
  int64_t packets_sent = 0;
  int64_t packets_received = 0;
  int64_t lost = 0;
  int64_t not_sent = 0;
  int64_t semantic_errors = 0;
  double lateness_p99_ms = 0.0;
  double cpu_percent = 0.0;
};
std::string FormatProgress(const ProgressFigures& figures);

}  // namespace earshot::load

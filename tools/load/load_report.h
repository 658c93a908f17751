#pragma once
// earshot-load's results: the figures of one run, the verdict (exit code), the
// summary table, the JSON object (--json) and the once-a-second progress line.
// Pure functions of a LoadReport, so that tests can check every field.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

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

// Call churn (--churn-cps, load_churn.h).
struct ChurnFigures {
  double cps = 0.0;  // asked
  double hold_s = 0.0;
  int slots = 0;
  int64_t setups = 0;     // churn calls that came up
  int64_t failed = 0;     // set-ups that failed (their sessions deleted again)
  int64_t teardowns = 0;  // churn calls deleted
  int64_t missed = 0;     // set-ups due while every slot was busy (not made)
  int64_t up_now = 0;
  double span_s = 0.0;        // from the first set-up to the last tear-down
  double setup_span_s = 0.0;  // from the first set-up to one interval after the last
  double mean_up = 0.0;  // churn calls up on average over span_s (about cps x hold)
  Percentiles setup;     // CreateSession to the last Attach
  // (CLOCK_REALTIME seconds, churn calls up) every 100 ms, so that a sampler
  // of earshotd's CPU (bench/capacity.sh) counts exactly the calls in its window.
  std::vector<std::pair<double, int>> up_samples;

  double achieved_cps() const {
    return setup_span_s > 0.0 ? static_cast<double>(setups + failed) / setup_span_s : 0.0;
  }
  // Churn calls up once the pool has filled (cps x hold, the fair comparison).
  double nominal_up() const { return cps * hold_s; }
};

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
  ChurnFigures churn;  // churn.cps == 0: no churn
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
// stream, failed RPC or failed call (churn calls included; a churn set-up
// missed for want of a free slot is not a failure, it is reported).
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
  // With churn (churn_cps > 0).
  double churn_cps = 0.0;
  int64_t churn_up = 0;
  int64_t churn_setups = 0;
  int64_t churn_teardowns = 0;
  int64_t churn_failed = 0;
  double churn_setup_p50_ms = 0.0;
  double churn_setup_p99_ms = 0.0;
};
std::string FormatProgress(const ProgressFigures& figures);

}  // namespace earshot::load

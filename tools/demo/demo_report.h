#pragma once
// What earshot-demo prints: the measured who-heard-whom table checked against
// PRODUCT.md, plus what the phones and earshotd saw of the streams, as text for
// people or as one JSON object (--json) for scripts.

#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "tools/demo/demo_phone.h"
#include "tools/demo/heard_matrix.h"

namespace earshot::demo {

struct PhaseResult {
  Phase phase;
  Window window;  // the part measured, timeline samples
  // When its mode change was requested and answered, timeline ms (0 for the
  // first phase, whose mode is set by Attach before the phones start).
  double switch_requested_ms = 0;
  double switch_answered_ms = 0;
  std::array<ListenerFit, kParties> listeners;
};

// earshotd's counters for one leg (Stats.GetSessionStats).
struct LegCounters {
  std::string leg;
  uint64_t rx_packets = 0;
  uint64_t tx_packets = 0;
  int64_t lost = 0;
  uint64_t late = 0;
  uint64_t concealed_frames = 0;
  double jitter_ms = 0;
  uint32_t buffered_ms = 0;
  std::map<std::string, uint64_t> dropped;
};

struct DemoReport {
  std::string session_id;
  std::string address;
  std::string media_dir;
  int phase_seconds = 0;
  double run_seconds = 0;
  std::vector<PhaseResult> phases;
  std::array<std::string, kParties> recordings;  // WAV paths by Party
  std::array<ReceiveStats, kParties> phones;
  std::vector<LegCounters> legs;
  uint64_t late_sends = 0;
};

// A cell where the measurement disagrees with PRODUCT.md; an unclear verdict
// disagrees with both answers.
struct Mismatch {
  Phase phase;
  Party listener;
  Party speaker;
  bool expected;
  Contribution measured;
};

std::vector<Mismatch> CompareWithProduct(const std::vector<PhaseResult>& phases);

void PrintTable(std::FILE* out, const DemoReport& report, const std::vector<Mismatch>& mismatches);
void PrintJson(std::FILE* out, const DemoReport& report, const std::vector<Mismatch>& mismatches);

}  // namespace earshot::demo

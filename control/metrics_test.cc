// The Prometheus exposition: every series has HELP and TYPE lines, one sample
// per worker, counters end in _total, and values are the snapshot's.

#include "control/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace earshot::control {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, RendersEveryWorkerCounterWithItsLabel) {
  MetricsSnapshot snapshot;
  snapshot.workers.push_back({0, 500, 2, 1, 3, 9, 7000, 12, 6900});
  snapshot.workers.push_back({1, 501, 0, 0, 4, 12, 8000, 0, 7950});
  snapshot.sessions = 7;
  const std::string text = RenderMetrics(snapshot);
  EXPECT_THAT(text, HasSubstr("# TYPE earshot_worker_ticks_total counter\n"));
  EXPECT_THAT(text, HasSubstr("earshot_worker_ticks_total{worker=\"0\"} 500\n"));
  EXPECT_THAT(text, HasSubstr("earshot_worker_ticks_total{worker=\"1\"} 501\n"));
  EXPECT_THAT(text, HasSubstr("earshot_worker_tick_overruns_total{worker=\"0\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("earshot_worker_legs{worker=\"1\"} 12\n"));
  EXPECT_THAT(text, HasSubstr("earshot_worker_rx_dropped_total{worker=\"0\"} 12\n"));
  EXPECT_THAT(text, HasSubstr("earshot_worker_tx_packets_total{worker=\"1\"} 7950\n"));
  EXPECT_THAT(text, HasSubstr("earshot_sessions 7\n"));
  EXPECT_THAT(text, HasSubstr("earshot_draining 0\n"));
  // Each family announced once, before its samples.
  size_t families = 0;
  for (size_t at = text.find("# TYPE "); at != std::string::npos; at = text.find("# TYPE ", at + 1)) {
    ++families;
  }
  EXPECT_EQ(families, 11u);
  EXPECT_EQ(text.back(), '\n');
}

}  // namespace
}  // namespace earshot::control

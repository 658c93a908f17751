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

dataplane::dpdk::DpdkQueueSnapshot Queue(int index, uint64_t rx_frames, uint64_t checksum_drops) {
  dataplane::dpdk::DpdkQueueSnapshot queue;
  queue.queue = index;
  queue.counters = {{"rx_frames", "Frames taken from the RX queue.", rx_frames},
                    {"ring_full", "Dropped: ring full.", 0}};
  queue.rx_dropped = {{"ip_checksum", "", checksum_drops}, {"ip_fragment", "", 0}};
  return queue;
}

TEST(MetricsTest, DpdkPortCountersHaveAPortAndQueueLabelAndDropsAReason) {
  MetricsSnapshot snapshot;
  snapshot.workers.push_back({0, 500, 0, 0, 0, 0, 0, 0, 0});
  dataplane::dpdk::DpdkPortSnapshot port;
  port.name = "net_af_packet0";
  port.driver = "net_af_packet";
  port.neighbours = 2;
  port.rx_missed = 5;
  port.queues = {Queue(0, 40, 3), Queue(1, 7, 0)};
  snapshot.dpdk_ports.push_back(port);
  const std::string text = RenderMetrics(snapshot);
  EXPECT_THAT(text, HasSubstr("# HELP earshot_dpdk_rx_frames_total Frames taken from the RX queue.\n"
                              "# TYPE earshot_dpdk_rx_frames_total counter\n"
                              "earshot_dpdk_rx_frames_total{port=\"net_af_packet0\",queue=\"0\"} 40\n"
                              "earshot_dpdk_rx_frames_total{port=\"net_af_packet0\",queue=\"1\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("earshot_dpdk_ring_full_total{port=\"net_af_packet0\",queue=\"1\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("earshot_dpdk_rx_dropped_total{port=\"net_af_packet0\",queue=\"0\","
                              "reason=\"ip_checksum\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("earshot_dpdk_rx_dropped_total{port=\"net_af_packet0\",queue=\"1\","
                              "reason=\"ip_fragment\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("earshot_dpdk_neighbours{port=\"net_af_packet0\",driver=\"net_af_packet\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("earshot_dpdk_port_rx_missed_total{port=\"net_af_packet0\",driver=\"net_af_packet\"} 5\n"));
  // Each family once: 11 as without DPDK, 2 counters, the drops, 5 of the device.
  size_t families = 0;
  for (size_t at = text.find("# TYPE "); at != std::string::npos; at = text.find("# TYPE ", at + 1)) {
    ++families;
  }
  EXPECT_EQ(families, 11u + 2u + 1u + 5u);
}

TEST(MetricsTest, TheKernelPathHasNoDpdkSeries) {
  MetricsSnapshot snapshot;
  snapshot.workers.push_back({0, 500, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(RenderMetrics(snapshot).find("earshot_dpdk_"), std::string::npos);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  MetricsSnapshot snapshot;
  dataplane::dpdk::DpdkPortSnapshot port;
  port.name = "a\"b\\c";
  port.queues = {Queue(0, 1, 0)};
  snapshot.dpdk_ports.push_back(port);
  EXPECT_THAT(RenderMetrics(snapshot),
              HasSubstr("earshot_dpdk_rx_frames_total{port=\"a\\\"b\\\\c\",queue=\"0\"} 1\n"));
}

}  // namespace
}  // namespace earshot::control

#include "dataplane/worker_pool.h"

#include <thread>

#include <gtest/gtest.h>

namespace earshot::dataplane {
namespace {

using namespace std::chrono_literals;

TEST(WorkerPoolTest, EveryWorkerTicksAndStopsOnRequest) {
  WorkerPoolOptions options;
  options.workers = 2;
  options.tick = 10ms;
  auto made = WorkerPool::Create(options, nullptr);
  ASSERT_TRUE(made.has_value());
  WorkerPool& pool = **made;
  EXPECT_EQ(pool.Start(), 0);
  // Wait for progress rather than for a time: the machine may be loaded.
  for (int i = 0; i < 500; ++i) {
    std::vector<WorkerSnapshot> now = pool.Snapshot();
    if (now[0].ticks >= 3 && now[1].ticks >= 3) break;
    std::this_thread::sleep_for(10ms);
  }
  pool.Stop();
  std::vector<WorkerSnapshot> stopped = pool.Snapshot();
  ASSERT_EQ(stopped.size(), 2u);
  EXPECT_EQ(stopped[0].index, 0);
  EXPECT_EQ(stopped[1].index, 1);
  EXPECT_GE(stopped[0].ticks, 3u);
  EXPECT_GE(stopped[1].ticks, 3u);
  // Stopped means stopped: no tick after Stop() returned.
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(pool.Snapshot()[0].ticks, stopped[0].ticks);
}

TEST(WorkerPoolTest, StopIsIdempotentAndSafeBeforeStart) {
  auto made = WorkerPool::Create(WorkerPoolOptions{}, nullptr);
  ASSERT_TRUE(made.has_value());
  WorkerPool& pool = **made;
  pool.Stop();
  pool.Stop();
  EXPECT_EQ(pool.Snapshot()[0].ticks, 0u);
}

}  // namespace
}  // namespace earshot::dataplane

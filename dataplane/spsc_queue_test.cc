#include "dataplane/spsc_queue.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace earshot::dataplane {
namespace {

// Counts live instances of itself, including moved-from ones, so a test can
// see that every slot constructed on push is destroyed on pop or by ~SpscQueue.
// The payload counts itself too: it is what a leak would lose.
struct Payload {
  static inline int live = 0;
  explicit Payload(int v) : value(v) { ++live; }
  ~Payload() { --live; }
  Payload(const Payload&) = delete;
  Payload& operator=(const Payload&) = delete;
  int value;
};

struct Tracked {
  static inline int live = 0;
  Tracked() { ++live; }
  explicit Tracked(int v) : payload(std::make_unique<Payload>(v)) { ++live; }
  Tracked(Tracked&& other) noexcept : payload(std::move(other.payload)) { ++live; }
  Tracked& operator=(Tracked&& other) noexcept = default;
  ~Tracked() { --live; }
  std::unique_ptr<Payload> payload;
};

class SpscQueueTrackedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Tracked::live = 0;
    Payload::live = 0;
  }
  void TearDown() override {
    EXPECT_EQ(Tracked::live, 0);
    EXPECT_EQ(Payload::live, 0);
  }
};

// Moves head and tail to `index` so the next push lands in slot index & mask.
template <typename T>
void AdvanceTo(SpscQueue<T>& queue, size_t index) {
  for (size_t i = 0; i < index; ++i) {
    ASSERT_TRUE(queue.TryPush(T{}));
    ASSERT_TRUE(queue.TryPop().has_value());
  }
}

TEST(SpscQueueTest, PopsValuesInTheOrderTheyWerePushed) {
  SpscQueue<int> queue(8);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(queue.TryPush(i));
  for (int i = 0; i < 5; ++i) {
    std::optional<int> value = queue.TryPop();
    ASSERT_TRUE(value.has_value());
    EXPECT_EQ(*value, i);
  }
  EXPECT_FALSE(queue.TryPop().has_value());
}

TEST(SpscQueueTest, PushFailsWhenFullAndNothingIsLost) {
  SpscQueue<int> queue(4);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(queue.TryPush(i));
  EXPECT_FALSE(queue.TryPush(99));
  EXPECT_FALSE(queue.TryPush(100));
  EXPECT_EQ(queue.SizeApprox(), 4u);
  // One pop makes room for exactly one more.
  EXPECT_EQ(queue.TryPop(), 0);
  EXPECT_TRUE(queue.TryPush(4));
  EXPECT_FALSE(queue.TryPush(5));
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(queue.TryPop(), i);
  EXPECT_FALSE(queue.TryPop().has_value());
}

TEST(SpscQueueTest, EveryRequestedSlotIsUsable) {
  // Free-running indices: no slot is sacrificed to tell full from empty.
  for (size_t capacity : {1u, 2u, 16u}) {
    SpscQueue<int> queue(capacity);
    for (size_t i = 0; i < capacity; ++i) EXPECT_TRUE(queue.TryPush(static_cast<int>(i)));
    EXPECT_FALSE(queue.TryPush(-1)) << "capacity " << capacity;
  }
}

TEST(SpscQueueTest, CapacityRoundsUpToAPowerOfTwo) {
  struct Row {
    size_t requested;
    size_t capacity;
  };
  const Row rows[] = {{0, 1},    {1, 1},    {2, 2},     {3, 4},     {4, 4},
                      {5, 8},    {255, 256}, {256, 256}, {257, 512}, {1000, 1024}};
  for (const Row& row : rows) {
    SpscQueue<uint64_t> queue(row.requested);
    EXPECT_EQ(queue.capacity(), row.capacity) << "requested " << row.requested;
    size_t pushed = 0;
    while (queue.TryPush(uint64_t{pushed})) ++pushed;
    EXPECT_EQ(pushed, row.capacity) << "requested " << row.requested;
  }
}

TEST(SpscQueueTest, SizeApproxFollowsPushesAndPops) {
  SpscQueue<int> queue(4);
  EXPECT_TRUE(queue.EmptyApprox());
  EXPECT_EQ(queue.SizeApprox(), 0u);
  ASSERT_TRUE(queue.TryPush(1));
  ASSERT_TRUE(queue.TryPush(2));
  EXPECT_FALSE(queue.EmptyApprox());
  EXPECT_EQ(queue.SizeApprox(), 2u);
  ASSERT_TRUE(queue.TryPop().has_value());
  EXPECT_EQ(queue.SizeApprox(), 1u);
}

// Bursts that start at each slot of a ring of 8, including the ones that cross
// the end of the storage, each asking for more than fits.
TEST(SpscQueueTest, BurstsArePartialWhenFullAndKeepOrderAcrossTheWrapPoint) {
  constexpr size_t kCapacity = 8;
  for (size_t start = 0; start <= 2 * kCapacity; ++start) {
    SCOPED_TRACE(::testing::Message() << "start " << start);
    SpscQueue<int> queue(kCapacity);
    AdvanceTo(queue, start);

    std::array<int, 6> first = {0, 1, 2, 3, 4, 5};
    EXPECT_EQ(queue.PushBurst(first), 6u);
    std::array<int, 5> second = {6, 7, 8, 9, 10};
    EXPECT_EQ(queue.PushBurst(second), 2u) << "only two slots were free";
    EXPECT_EQ(queue.PushBurst(second), 0u);

    std::array<int, 3> small{};
    ASSERT_EQ(queue.PopBurst(small), 3u);
    EXPECT_EQ(small, (std::array<int, 3>{0, 1, 2}));
    // The refill takes the three freed slots and no more.
    std::array<int, 4> third = {8, 9, 10, 11};
    EXPECT_EQ(queue.PushBurst(third), 3u);

    std::array<int, 12> out{};
    ASSERT_EQ(queue.PopBurst(out), 8u) << "pops only what is there";
    for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], i + 3);
    EXPECT_EQ(queue.PopBurst(out), 0u);
    EXPECT_TRUE(queue.EmptyApprox());
  }
}

TEST(SpscQueueTest, EmptyBurstsDoNothing) {
  SpscQueue<int> queue(4);
  EXPECT_EQ(queue.PushBurst({}), 0u);
  EXPECT_EQ(queue.PopBurst({}), 0u);
  ASSERT_TRUE(queue.TryPush(7));
  EXPECT_EQ(queue.PopBurst({}), 0u);
  EXPECT_EQ(queue.TryPop(), 7);
}

TEST_F(SpscQueueTrackedTest, MoveOnlyPayloadsAreDeliveredAndLeftoversDestroyed) {
  {
    SpscQueue<Tracked> queue(8);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(queue.TryPush(Tracked(i)));
    EXPECT_EQ(Tracked::live, 5) << "one Tracked per occupied slot";
    EXPECT_EQ(Payload::live, 5);
    for (int i = 0; i < 2; ++i) {
      std::optional<Tracked> popped = queue.TryPop();
      ASSERT_TRUE(popped.has_value());
      ASSERT_NE(popped->payload, nullptr);
      EXPECT_EQ(popped->payload->value, i);
    }
    // The popped values are gone and their slots were destroyed on pop.
    EXPECT_EQ(Tracked::live, 3);
    EXPECT_EQ(Payload::live, 3);
  }
  // TearDown checks that ~SpscQueue destroyed the three left in it.
}

TEST_F(SpscQueueTrackedTest, AFailedPushLeavesTheValueWithTheCaller) {
  SpscQueue<Tracked> queue(1);
  ASSERT_TRUE(queue.TryPush(Tracked(1)));
  Tracked second(2);
  EXPECT_FALSE(queue.TryPush(std::move(second)));
  ASSERT_NE(second.payload, nullptr);  // NOLINT(bugprone-use-after-move): not moved when full
  EXPECT_EQ(second.payload->value, 2);
}

TEST_F(SpscQueueTrackedTest, BurstsMoveOnlyWhatFitsAndDestroyPoppedSlots) {
  SpscQueue<Tracked> queue(4);
  AdvanceTo(queue, 3);  // the burst crosses the end of the storage
  std::vector<Tracked> in;
  for (int i = 0; i < 6; ++i) in.emplace_back(i);
  ASSERT_EQ(queue.PushBurst(in), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(in[i].payload, nullptr) << "moved into the queue";
  for (int i = 4; i < 6; ++i) ASSERT_NE(in[i].payload, nullptr) << "did not fit, kept";
  EXPECT_EQ(Payload::live, 6);

  std::vector<Tracked> out(3);
  ASSERT_EQ(queue.PopBurst(out), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(out[i].payload->value, i);
  // 6 in `in`, 3 in `out`, and the one slot still occupied.
  EXPECT_EQ(Tracked::live, 6 + 3 + 1);
  in.clear();
  out.clear();
  EXPECT_EQ(Payload::live, 1);
  EXPECT_EQ(Tracked::live, 1);
}

// A message wider than one word, so a torn or early read shows as a mismatch
// between the two fields, not only as a wrong sequence number.
struct Sequenced {
  uint64_t seq = 0;
  uint64_t check = 0;
  static Sequenced Of(uint64_t seq) { return {seq, ~seq * 0x9E3779B97F4A7C15u}; }
  bool Intact() const { return check == ~seq * 0x9E3779B97F4A7C15u; }
};

constexpr uint64_t kStressMessages = 2'000'000;

// What the consumer saw; checked on the test thread after both sides finish.
struct StressResult {
  uint64_t received = 0;
  uint64_t out_of_order = 0;
  uint64_t torn = 0;
  uint64_t first_bad_seq = 0;
  bool any_bad = false;

  void See(const Sequenced& m, uint64_t& expected) {
    ++received;
    if (!m.Intact()) ++torn;
    if (m.seq != expected) {
      ++out_of_order;
      if (!any_bad) first_bad_seq = m.seq;
      any_bad = true;
    }
    expected = m.seq + 1;  // resynchronise so one gap counts once
  }
};

// The two cores are shared with other work, so both sides yield rather than spin
// when they cannot make progress.
TEST(SpscQueueStressTest, TwoThreadsDeliverEverySequenceNumberOnceAndInOrder) {
  SpscQueue<Sequenced> queue(256);
  std::atomic<bool> done{false};
  std::thread producer([&] {
    for (uint64_t seq = 0; seq < kStressMessages; ++seq) {
      while (!queue.TryPush(Sequenced::Of(seq))) std::this_thread::yield();
    }
    // release: pairs with the consumer's acquire load below, so every push above
    // is visible once the consumer sees done.
    done.store(true, std::memory_order_release);
  });

  StressResult result;
  uint64_t expected = 0;
  while (true) {
    // acquire: pairs with the producer's release store of done.
    const bool finished = done.load(std::memory_order_acquire);
    std::optional<Sequenced> m = queue.TryPop();
    if (m) {
      result.See(*m, expected);
    } else if (finished) {
      break;  // everything was pushed before `finished`, and the queue is empty
    } else {
      std::this_thread::yield();
    }
  }
  producer.join();

  EXPECT_EQ(result.received, kStressMessages);
  EXPECT_EQ(result.out_of_order, 0u) << "first bad seq " << result.first_bad_seq;
  EXPECT_EQ(result.torn, 0u);
  EXPECT_EQ(expected, kStressMessages);
}

TEST(SpscQueueStressTest, TwoThreadsWithUnevenBurstsDeliverInOrder) {
  // Burst sizes that do not divide the capacity, so partial bursts land on every
  // slot offset and across the wrap point.
  SpscQueue<Sequenced> queue(64);
  std::atomic<bool> done{false};
  std::thread producer([&] {
    std::array<Sequenced, 16> burst;
    uint64_t next = 0;
    size_t size = 1;
    while (next < kStressMessages) {
      const size_t n = std::min<uint64_t>(size, kStressMessages - next);
      for (size_t i = 0; i < n; ++i) burst[i] = Sequenced::Of(next + i);
      size_t sent = 0;
      while (sent < n) {
        const size_t pushed = queue.PushBurst(std::span(burst).subspan(sent, n - sent));
        if (pushed == 0) std::this_thread::yield();
        sent += pushed;
      }
      next += n;
      size = size % 16 + 1;
    }
    // release: pairs with the consumer's acquire load of done.
    done.store(true, std::memory_order_release);
  });

  StressResult result;
  uint64_t expected = 0;
  std::array<Sequenced, 23> out;
  size_t want = 1;
  while (true) {
    // acquire: pairs with the producer's release store of done.
    const bool finished = done.load(std::memory_order_acquire);
    const size_t n = queue.PopBurst(std::span(out).first(want));
    for (size_t i = 0; i < n; ++i) result.See(out[i], expected);
    want = want % out.size() + 1;
    if (n == 0) {
      if (finished) break;
      std::this_thread::yield();
    }
  }
  producer.join();

  EXPECT_EQ(result.received, kStressMessages);
  EXPECT_EQ(result.out_of_order, 0u) << "first bad seq " << result.first_bad_seq;
  EXPECT_EQ(result.torn, 0u);
  EXPECT_EQ(expected, kStressMessages);
}

#ifndef NDEBUG
TEST(SpscQueueDeathTest, ASecondProducerThreadFailsTheDebugCheck) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        SpscQueue<int> queue(4);
        (void)queue.TryPush(1);
        std::thread other([&] { (void)queue.TryPush(2); });
        other.join();
      },
      "check failed");
}

TEST(SpscQueueDeathTest, ASecondConsumerThreadFailsTheDebugCheck) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        SpscQueue<int> queue(4);
        (void)queue.TryPush(1);
        (void)queue.TryPop();
        std::thread other([&] { (void)queue.TryPop(); });
        other.join();
      },
      "check failed");
}

TEST(SpscQueueTest, OneThreadMayBothProduceAndConsume) {
  SpscQueue<int> queue(2);
  ASSERT_TRUE(queue.TryPush(1));
  EXPECT_EQ(queue.TryPop(), 1);  // no check failure: each side has one user
}
#endif

}  // namespace
}  // namespace earshot::dataplane

#include "mixer/jitter_buffer.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace earshot::mixer {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kFrameNs = 20 * kMs;
constexpr int kFrame = 160;  // 20 ms at 8 kHz
constexpr size_t kMaxTestPayload = 600;

// What a sender put on the wire and when it reached us.
struct TestPacket {
  uint16_t seq;
  uint32_t timestamp;
  uint32_t ssrc;
  bool marker;
  int64_t arrival_ns;
  size_t size = kFrame;
};

// 20 ms PCMU-like packets: sequence +1, timestamp +160, one every 20 ms (scaled
// by `spacing`, for sender clock skew) after `start_ns`. The first is marked.
class PacketGenerator {
 public:
  explicit PacketGenerator(uint16_t first_seq, uint32_t first_ts = 1000, uint32_t ssrc = 0x1234,
                           int64_t start_ns = 0, double spacing = 1.0)
      : seq_(first_seq), ts_(first_ts), ssrc_(ssrc), start_ns_(start_ns), spacing_(spacing) {}

  TestPacket Next() {
    const auto arrival =
        start_ns_ + static_cast<int64_t>(static_cast<double>(index_) * kFrameNs * spacing_);
    TestPacket packet{seq_, ts_, ssrc_, index_ == 0, arrival};
    ++seq_;
    ts_ += kFrame;
    ++index_;
    return packet;
  }
  std::vector<TestPacket> Take(int count) {
    std::vector<TestPacket> packets;
    for (int i = 0; i < count; ++i) packets.push_back(Next());
    return packets;
  }

 private:
  uint16_t seq_;
  uint32_t ts_;
  uint32_t ssrc_;
  int64_t start_ns_;
  double spacing_;
  int64_t index_ = 0;
};

// Payload bytes follow from the sequence number, so a played frame tells which packet it was.
uint8_t PayloadByte(uint16_t seq, size_t i) { return static_cast<uint8_t>(seq * 7u + i); }

InsertResult Send(JitterBuffer& buffer, const TestPacket& packet) {
  std::array<uint8_t, kMaxTestPayload> bytes{};
  const size_t size = std::min(packet.size, bytes.size());
  for (size_t i = 0; i < size; ++i) bytes[i] = PayloadByte(packet.seq, i);
  return buffer.Insert(PacketIn{SequenceNumber(packet.seq), RtpTimestamp(packet.timestamp),
                                Ssrc(packet.ssrc), packet.marker, std::span(bytes.data(), size)},
                       packet.arrival_ns);
}

bool PayloadMatches(const PlayoutFrame& frame) {
  if (frame.payload.empty()) return false;
  for (size_t i = 0; i < frame.payload.size(); ++i) {
    if (frame.payload[i] != PayloadByte(frame.seq.value(), i)) return false;
  }
  return true;
}

struct Played {
  PlayoutFrame::Kind kind;
  uint16_t seq;
  uint32_t timestamp;
  bool talkspurt_start;
};

// Drives a buffer through time: at each playout tick (every 20 ms from
// `first_tick_ns`) it first delivers every packet that has arrived by then.
class Timeline {
 public:
  Timeline(JitterBuffer& buffer, std::vector<TestPacket> packets, int64_t first_tick_ns = 5 * kMs)
      : buffer_(buffer), packets_(std::move(packets)), next_tick_ns_(first_tick_ns) {
    std::stable_sort(
        packets_.begin(), packets_.end(),
        [](const TestPacket& a, const TestPacket& b) { return a.arrival_ns < b.arrival_ns; });
  }

  // `observe` runs after every Insert and every PopNext.
  template <typename Observe>
  void RunTicks(int ticks, Observe observe) {
    for (int i = 0; i < ticks; ++i) {
      while (delivered_ < packets_.size() && packets_[delivered_].arrival_ns <= next_tick_ns_) {
        Send(buffer_, packets_[delivered_++]);
        observe();
      }
      const PlayoutFrame frame = buffer_.PopNext();
      if (frame.kind == PlayoutFrame::Kind::kPacket) {
        EXPECT_TRUE(PayloadMatches(frame)) << "seq " << frame.seq.value();
        EXPECT_EQ(frame.samples, buffer_.FrameSamples());
      }
      played_.push_back(
          {frame.kind, frame.seq.value(), frame.timestamp.value(), frame.talkspurt_start});
      next_tick_ns_ += kFrameNs;
      observe();
    }
  }
  void RunTicks(int ticks) {
    RunTicks(ticks, [] {});
  }
  // Ticks until every packet has been delivered and the buffer is empty, so
  // that no tick runs dry after the end of the stream.
  void RunUntilDrained() {
    for (int guard = 0; guard < 1'000'000; ++guard) {
      if (delivered_ == packets_.size() && buffer_.BufferedSamples() == 0) return;
      RunTicks(1);
    }
    ADD_FAILURE() << "never drained";
  }

  const std::vector<Played>& played() const { return played_; }
  std::vector<uint16_t> PacketSeqs() const {
    std::vector<uint16_t> seqs;
    for (const Played& p : played_) {
      if (p.kind == PlayoutFrame::Kind::kPacket) seqs.push_back(p.seq);
    }
    return seqs;
  }
  int Count(PlayoutFrame::Kind kind) const {
    return static_cast<int>(std::count_if(played_.begin(), played_.end(),
                                          [kind](const Played& p) { return p.kind == kind; }));
  }

 private:
  JitterBuffer& buffer_;
  std::vector<TestPacket> packets_;
  size_t delivered_ = 0;
  int64_t next_tick_ns_;
  std::vector<Played> played_;
};

std::vector<uint16_t> Range(uint16_t first, int count) {
  std::vector<uint16_t> seqs;
  for (int i = 0; i < count; ++i) seqs.push_back(static_cast<uint16_t>(first + i));
  return seqs;
}

std::string Summary(const JitterBufferCounters& c) {
  const std::pair<const char*, uint64_t> fields[] = {
      {"inserted", c.inserted},   {"dup", c.duplicates},     {"late", c.too_late},
      {"full", c.buffer_full},    {"large", c.too_large},    {"empty", c.empty_payload},
      {"reordered", c.reordered}, {"resyncs", c.resyncs},    {"played", c.played},
      {"missing", c.missing},     {"grow", c.added_to_grow}, {"shrink", c.dropped_to_shrink},
      {"underruns", c.underruns}};
  std::string text;
  for (const auto& [name, value] : fields)
    text += std::string(name) + " " + std::to_string(value) + " ";
  return text;
}

uint64_t InsertOutcomes(const JitterBufferCounters& c) {
  return c.inserted + c.duplicates + c.too_late + c.buffer_full + c.too_large + c.empty_payload;
}

TEST(JitterBufferTest, ReturnsEmptyBeforeTheFirstPacket) {
  JitterBuffer buffer(JitterBufferOptions{});
  EXPECT_EQ(buffer.PopNext().kind, PlayoutFrame::Kind::kEmpty);
  EXPECT_EQ(buffer.BufferedSamples(), 0);
  EXPECT_EQ(buffer.TargetDelaySamples(), 320);  // initial_delay 40 ms
}

TEST(JitterBufferTest, PlaysInOrderStreamAfterInitialDelay) {
  JitterBuffer buffer(JitterBufferOptions{});
  Timeline timeline(buffer, PacketGenerator(100).Take(200));
  // One tick of pre-buffering (40 ms target, one 20 ms packet in), then one frame a tick.
  timeline.RunTicks(201);
  ASSERT_EQ(timeline.played().front().kind, PlayoutFrame::Kind::kEmpty);
  EXPECT_EQ(timeline.Count(PlayoutFrame::Kind::kEmpty), 1);
  EXPECT_EQ(timeline.PacketSeqs(), Range(100, 200));
  EXPECT_TRUE(timeline.played()[1].talkspurt_start);
  EXPECT_FALSE(timeline.played()[2].talkspurt_start);
  const JitterBufferCounters& c = buffer.counters();
  EXPECT_EQ(c.inserted, 200u);
  EXPECT_EQ(c.played, 200u);
  EXPECT_EQ(c.duplicates + c.too_late + c.buffer_full + c.too_large + c.empty_payload, 0u);
  EXPECT_EQ(
      c.reordered + c.resyncs + c.missing + c.dropped_to_shrink + c.added_to_grow + c.underruns,
      0u);
  EXPECT_EQ(buffer.TargetDelaySamples(), 160);  // perfect arrivals: the 20 ms floor
  EXPECT_EQ(buffer.BufferedSamples(), 0);
}

TEST(JitterBufferTest, ReorderedPacketsPlayInOrderWithoutConcealment) {
  JitterBufferOptions options;
  options.min_delay_ms = options.initial_delay_ms = 100;
  JitterBuffer buffer(options);
  std::vector<TestPacket> packets = PacketGenerator(0).Take(200);
  for (size_t i = 0; i + 1 < packets.size(); i += 2) {
    if (i == 60) continue;
    std::swap(packets[i].arrival_ns, packets[i + 1].arrival_ns);
  }
  packets[60].arrival_ns += 3 * kFrameNs + kMs;  // three frames late, still in time
  Timeline timeline(buffer, packets);
  timeline.RunUntilDrained();
  EXPECT_EQ(timeline.PacketSeqs(), Range(0, 200));
  const JitterBufferCounters& c = buffer.counters();
  EXPECT_EQ(c.reordered, 100u);  // 99 swapped pairs and the late one
  EXPECT_EQ(c.missing, 0u);
  EXPECT_EQ(c.too_late, 0u);
  EXPECT_EQ(c.inserted, 200u);
}

class JitterBufferLossTest : public ::testing::TestWithParam<int> {};

TEST_P(JitterBufferLossTest, ConcealsExactlyTheLostFramesThenPlaysNormally) {
  const int burst = GetParam();
  JitterBuffer buffer(JitterBufferOptions{});
  std::vector<TestPacket> packets = PacketGenerator(0).Take(200);
  packets.erase(packets.begin() + 60, packets.begin() + 60 + burst);
  Timeline timeline(buffer, packets);
  timeline.RunTicks(201);
  // After the pre-buffering tick, one frame per sequence number, in order.
  std::vector<Played> frames(timeline.played().begin() + 1, timeline.played().end());
  ASSERT_EQ(frames.size(), 200u);
  for (uint16_t seq = 0; seq < 200; ++seq) {
    const bool lost = seq >= 60 && seq < 60 + burst;
    EXPECT_EQ(frames[seq].seq, seq);
    EXPECT_EQ(frames[seq].kind, lost ? PlayoutFrame::Kind::kMissing : PlayoutFrame::Kind::kPacket)
        << "seq " << seq;
    EXPECT_EQ(frames[seq].timestamp, 1000u + seq * kFrame);
  }
  EXPECT_EQ(buffer.counters().missing, static_cast<uint64_t>(burst));
  EXPECT_EQ(buffer.counters().played, 200u - burst);
  EXPECT_EQ(buffer.counters().underruns + buffer.counters().added_to_grow, 0u);
}

INSTANTIATE_TEST_SUITE_P(JitterBufferBursts, JitterBufferLossTest, ::testing::Values(1, 3, 10));

// What a decoder with in-band FEC needs: after a loss, the packet after the
// lost frame, seen without being played.
TEST(JitterBufferTest, PeekNextShowsThePacketAfterALossWithoutPlayingIt) {
  JitterBuffer buffer(JitterBufferOptions{});
  EXPECT_EQ(buffer.PeekNext().kind, PlayoutFrame::Kind::kEmpty);  // no stream yet
  const std::vector<TestPacket> packets = PacketGenerator(0).Take(4);
  Send(buffer, packets[0]);
  EXPECT_EQ(buffer.PeekNext().kind, PlayoutFrame::Kind::kEmpty);  // still pre-buffering
  Send(buffer, packets[1]);
  ASSERT_EQ(buffer.PopNext().seq.value(), 0);
  for (int twice = 0; twice < 2; ++twice) {  // peeking changes nothing
    const PlayoutFrame peeked = buffer.PeekNext();
    ASSERT_EQ(peeked.kind, PlayoutFrame::Kind::kPacket);
    EXPECT_EQ(peeked.seq.value(), 1);
    EXPECT_TRUE(PayloadMatches(peeked));
  }
  ASSERT_EQ(buffer.PopNext().seq.value(), 1);
  Send(buffer, packets[3]);  // packets[2] is lost
  const PlayoutFrame lost = buffer.PopNext();
  ASSERT_EQ(lost.kind, PlayoutFrame::Kind::kMissing);
  ASSERT_EQ(lost.seq.value(), 2);
  const PlayoutFrame next = buffer.PeekNext();
  ASSERT_EQ(next.kind, PlayoutFrame::Kind::kPacket);
  EXPECT_EQ(next.seq, lost.seq.Next());
  EXPECT_EQ(next.timestamp.value(), 1000u + 3 * kFrame);
  EXPECT_TRUE(PayloadMatches(next));
  const PlayoutFrame played = buffer.PopNext();
  ASSERT_EQ(played.kind, PlayoutFrame::Kind::kPacket);
  EXPECT_EQ(played.seq.value(), 3);
  EXPECT_EQ(buffer.PeekNext().kind, PlayoutFrame::Kind::kEmpty);  // nothing buffered
  EXPECT_EQ(buffer.counters().played, 3u);
  EXPECT_EQ(buffer.counters().missing, 1u);
}

TEST(JitterBufferTest, DuplicatesAreCountedAndPlayedOnce) {
  JitterBuffer buffer(JitterBufferOptions{});
  std::vector<TestPacket> packets = PacketGenerator(500).Take(100);
  for (int i = 0; i < 100; ++i) {
    TestPacket copy = packets[i];
    copy.arrival_ns += 5 * kMs;
    packets.push_back(copy);
  }
  Timeline timeline(buffer, packets);
  timeline.RunTicks(101);
  EXPECT_EQ(timeline.PacketSeqs(), Range(500, 100));
  EXPECT_EQ(buffer.counters().duplicates, 100u);
  EXPECT_EQ(buffer.counters().inserted, 100u);
  EXPECT_EQ(buffer.counters().played, 100u);
}

TEST(JitterBufferTest, PacketArrivingAfterItsPlayoutTimeIsTooLateAndNotPlayed) {
  JitterBuffer buffer(JitterBufferOptions{});
  std::vector<TestPacket> packets = PacketGenerator(0).Take(100);
  packets[40].arrival_ns += 200 * kMs;
  TestPacket replay = packets[10];  // a copy of a frame that has been played
  replay.arrival_ns = 30 * kFrameNs;
  packets.push_back(replay);
  Timeline timeline(buffer, packets);
  timeline.RunUntilDrained();
  std::vector<uint16_t> expected = Range(0, 100);
  expected.erase(expected.begin() + 40);
  EXPECT_EQ(timeline.PacketSeqs(), expected);
  EXPECT_EQ(buffer.counters().too_late, 2u);
  EXPECT_EQ(buffer.counters().missing, 1u);
  const auto missing =
      std::find_if(timeline.played().begin(), timeline.played().end(),
                   [](const Played& p) { return p.kind == PlayoutFrame::Kind::kMissing; });
  ASSERT_NE(missing, timeline.played().end());
  EXPECT_EQ(missing->seq, 40);
}

struct WrapRow {
  const char* name;
  uint16_t first_seq;
  uint32_t first_ts;
  std::vector<int> arrival_order;  // offsets from first_seq, in the order they arrive
};

class JitterBufferWrapTest : public ::testing::TestWithParam<WrapRow> {};

TEST_P(JitterBufferWrapTest, PlaysEveryFrameInSequenceOrder) {
  const WrapRow& row = GetParam();
  JitterBuffer buffer(JitterBufferOptions{});
  std::vector<TestPacket> packets;
  for (size_t i = 0; i < row.arrival_order.size(); ++i) {
    const int offset = row.arrival_order[i];
    packets.push_back({static_cast<uint16_t>(row.first_seq + offset),
                       row.first_ts + static_cast<uint32_t>(offset * kFrame), 7, offset == 0,
                       static_cast<int64_t>(i) * kFrameNs});
  }
  Timeline timeline(buffer, packets);
  timeline.RunUntilDrained();
  const int count = static_cast<int>(packets.size());
  EXPECT_EQ(timeline.PacketSeqs(), Range(row.first_seq, count));
  uint32_t expected_ts = row.first_ts;
  for (const Played& p : timeline.played()) {
    if (p.kind != PlayoutFrame::Kind::kPacket) continue;
    EXPECT_EQ(p.timestamp, expected_ts);
    expected_ts += kFrame;
  }
  EXPECT_EQ(buffer.counters().missing, 0u);
  EXPECT_EQ(buffer.counters().too_late + buffer.counters().resyncs, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    JitterBufferWrap, JitterBufferWrapTest,
    ::testing::Values(
        WrapRow{"InOrderFrom65530", 65530, 1000, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
        WrapRow{"InOrderFrom65535", 65535, 1000, {0, 1, 2, 3, 4, 5, 6, 7}},
        WrapRow{"SwapsAcrossWrapFromFFFDTo0006", 0xFFFD, 1000, {0, 2, 1, 4, 3, 5, 6, 8, 7, 9}},
        WrapRow{"FirstArrivalIsAfterTheWrap", 0xFFFF, 1000, {1, 0, 2, 3, 5, 4, 6, 7}},
        WrapRow{"TimestampWrapsToo", 0xFFFA, 0xFFFFFE00u, {0, 1, 3, 2, 4, 6, 5, 7, 8, 9, 10}}),
    [](const ::testing::TestParamInfo<WrapRow>& row) { return std::string(row.param.name); });

TEST(JitterBufferTest, SsrcChangeResynchronisesAndPlaysTheNewStreamFromItsFirstPacket) {
  JitterBuffer buffer(JitterBufferOptions{});
  std::vector<TestPacket> packets = PacketGenerator(1000, 5000, 0xAAAA).Take(100);
  std::vector<TestPacket> second =
      PacketGenerator(40000, 123456789, 0xBBBB, 100 * kFrameNs).Take(100);
  second.front().marker = false;  // the resync alone must flag the start
  packets.insert(packets.end(), second.begin(), second.end());
  Timeline timeline(buffer, packets);
  timeline.RunUntilDrained();
  EXPECT_EQ(buffer.counters().resyncs, 1u);
  const std::vector<uint16_t> seqs = timeline.PacketSeqs();
  const auto first_b = std::find(seqs.begin(), seqs.end(), uint16_t{40000});
  ASSERT_NE(first_b, seqs.end());
  EXPECT_EQ(std::vector<uint16_t>(first_b, seqs.end()), Range(40000, 100));
  const auto played_b = std::find_if(
      timeline.played().begin(), timeline.played().end(),
      [](const Played& p) { return p.kind == PlayoutFrame::Kind::kPacket && p.seq == 40000; });
  EXPECT_TRUE(played_b->talkspurt_start);
}

TEST(JitterBufferTest, TimestampJumpWithContinuousSequenceResynchronises) {
  for (const int64_t jump : {int64_t{80000}, int64_t{-40000}}) {  // +10 s, -5 s
    SCOPED_TRACE(jump);
    JitterBuffer buffer(JitterBufferOptions{});
    std::vector<TestPacket> packets = PacketGenerator(300, 90000).Take(120);
    for (size_t i = 60; i < packets.size(); ++i)
      packets[i].timestamp += static_cast<uint32_t>(jump);
    Timeline timeline(buffer, packets);
    timeline.RunUntilDrained();
    EXPECT_EQ(buffer.counters().resyncs, 1u);
    const std::vector<uint16_t> seqs = timeline.PacketSeqs();
    const auto after = std::find(seqs.begin(), seqs.end(), uint16_t{360});
    ASSERT_NE(after, seqs.end());
    EXPECT_EQ(std::vector<uint16_t>(after, seqs.end()), Range(360, 60));
    for (const Played& p : timeline.played()) {
      if (p.kind == PlayoutFrame::Kind::kPacket && p.seq == 360) {
        EXPECT_TRUE(p.talkspurt_start);
      }
    }
  }
}

struct SkewRow {
  const char* name;
  double skew;
  int64_t jitter_ns;
};

class JitterBufferSkewTest : public ::testing::TestWithParam<SkewRow> {};

TEST_P(JitterBufferSkewTest, DepthStaysWithinBoundsForTenMinutes) {
  const SkewRow& row = GetParam();
  constexpr int kFrames = 30000;
  const JitterBufferOptions options;
  JitterBuffer buffer(options);
  std::vector<TestPacket> packets =
      PacketGenerator(1, 0, 9, 30 * kMs, 1.0 + row.skew).Take(kFrames);
  std::mt19937_64 rng(42);
  if (row.jitter_ns > 0) {
    std::uniform_int_distribution<int64_t> jitter(0, row.jitter_ns);
    for (TestPacket& p : packets) p.arrival_ns += jitter(rng);
  }
  // Playout stops with the last arrival: a fast sender's stream ends early.
  const int ticks =
      static_cast<int>(std::min<int64_t>(kFrames, packets.back().arrival_ns / kFrameNs));
  Timeline timeline(buffer, packets, 7 * kMs);
  const int low = (options.min_delay_ms - 20) * 8;
  const int high = (options.max_delay_ms + 20) * 8;
  int min_depth = std::numeric_limits<int>::max();
  int max_depth = 0;
  timeline.RunTicks(ticks, [&] {
    if (buffer.counters().played == 0) return;
    const int depth = buffer.BufferedSamples();
    min_depth = std::min(min_depth, depth);
    max_depth = std::max(max_depth, depth);
    EXPECT_GE(depth, low);
    EXPECT_LE(depth, high);
  });
  const JitterBufferCounters& c = buffer.counters();
  std::printf("[ skew %+.4f jitter %d ms ] depth %d..%d samples, target %d, J %.1f; %s\n", row.skew,
              static_cast<int>(row.jitter_ns / kMs), min_depth, max_depth,
              buffer.TargetDelaySamples(), buffer.JitterSamples(), Summary(c).c_str());
  EXPECT_LE(c.missing, 30u);  // at most 0.1%
  EXPECT_EQ(c.underruns, 0u);
  // The drift is 30 frames over the run; one adjustment per frame of drift, and no pumping.
  EXPECT_LE(c.added_to_grow + c.dropped_to_shrink, 60u);
}

INSTANTIATE_TEST_SUITE_P(JitterBufferSkew, JitterBufferSkewTest,
                         ::testing::Values(SkewRow{"SenderSlow", +0.001, 0},
                                           SkewRow{"SenderFast", -0.001, 0},
                                           SkewRow{"SenderSlowJittery", +0.001, 5 * kMs},
                                           SkewRow{"SenderFastJittery", -0.001, 5 * kMs}),
                         [](const ::testing::TestParamInfo<SkewRow>& row) {
                           return std::string(row.param.name);
                         });

TEST(JitterBufferTest, TargetFollowsRecurringDelaySpikesUpAndBackDown) {
  JitterBuffer buffer(JitterBufferOptions{});
  // 60 s with a 100-150 ms stall every 1-2 s (what was sent during it arrives
  // at its end, 1 ms apart), then 60 s of steady arrivals 30 ms after sending.
  constexpr int kPackets = 6000;
  std::vector<TestPacket> packets = PacketGenerator(0, 0, 5, 30 * kMs).Take(kPackets);
  std::mt19937_64 rng(7);
  int64_t stall_start = 1000 * kMs;
  while (stall_start < 60'000 * kMs) {
    const int64_t stall_end =
        stall_start + std::uniform_int_distribution<int64_t>(100, 150)(rng) * kMs;
    int64_t queued = 0;
    for (TestPacket& p : packets) {
      if (p.arrival_ns >= stall_start && p.arrival_ns < stall_end)
        p.arrival_ns = stall_end + kMs * queued++;
    }
    stall_start = stall_end + std::uniform_int_distribution<int64_t>(1000, 2000)(rng) * kMs;
  }
  Timeline timeline(buffer, packets);
  timeline.RunTicks(1000);  // 20 s: adaptation
  const int adapted_target = buffer.TargetDelaySamples();
  const uint64_t late_while_adapting = buffer.counters().too_late;
  int max_depth = 0;
  timeline.RunTicks(2000,
                    [&] { max_depth = std::max(max_depth, buffer.BufferedSamples()); });  // 20-60 s
  EXPECT_GT(adapted_target, 320);  // above initial_delay
  EXPECT_GT(late_while_adapting, 0u);
  EXPECT_EQ(buffer.counters().too_late, late_while_adapting);
  // Calm from 60 s on: note when the target and the depth are back down.
  int target_back_ms = -1;
  int depth_back_ms = -1;
  for (int tick = 0; tick < 2995; ++tick) {
    timeline.RunTicks(1);
    if (target_back_ms < 0 && buffer.TargetDelaySamples() <= 320) target_back_ms = tick * 20;
    if (depth_back_ms < 0 && buffer.BufferedSamples() <= 320) depth_back_ms = tick * 20;
  }
  std::printf(
      "[ spikes ] target %d at 20 s, max depth %d; calm: target <= 320 after %d ms, depth <= 320 "
      "after "
      "%d ms, final target %d; %s\n",
      adapted_target, max_depth, target_back_ms, depth_back_ms, buffer.TargetDelaySamples(),
      Summary(buffer.counters()).c_str());
  EXPECT_LE(buffer.TargetDelaySamples(), 320);
  EXPECT_LE(buffer.BufferedSamples(), buffer.TargetDelaySamples() + 2 * kFrame);
  EXPECT_EQ(buffer.counters().underruns, 0u);
}

TEST(JitterBufferTest, NeverHoldsMoreThanItsCapacity) {
  JitterBufferOptions options;
  options.capacity_frames = 8;
  JitterBuffer buffer(options);
  std::vector<TestPacket> packets = PacketGenerator(65530).Take(20);
  for (size_t i = 0; i < packets.size(); ++i) {
    EXPECT_EQ(Send(buffer, packets[i]),
              i < 8 ? InsertResult::kInserted : InsertResult::kBufferFull);
    EXPECT_LE(buffer.BufferedSamples(), 8 * kFrame);
  }
  EXPECT_EQ(buffer.counters().buffer_full, 12u);
  // Playing one frame makes room for exactly one more.
  const PlayoutFrame first = buffer.PopNext();
  ASSERT_EQ(first.kind, PlayoutFrame::Kind::kPacket);
  EXPECT_EQ(first.seq.value(), 65530);
  EXPECT_EQ(Send(buffer, packets[8]), InsertResult::kInserted);
  EXPECT_EQ(Send(buffer, packets[9]), InsertResult::kBufferFull);
  for (int i = 1; i <= 8; ++i) {
    const PlayoutFrame frame = buffer.PopNext();
    ASSERT_EQ(frame.kind, PlayoutFrame::Kind::kPacket);
    EXPECT_EQ(frame.seq.value(), static_cast<uint16_t>(65530 + i));
    EXPECT_TRUE(PayloadMatches(frame));
  }
}

TEST(JitterBufferTest, RefusesOversizedAndEmptyPayloads) {
  JitterBuffer buffer(JitterBufferOptions{});
  TestPacket packet = PacketGenerator(1).Next();
  packet.size = 513;
  EXPECT_EQ(Send(buffer, packet), InsertResult::kPayloadTooLarge);
  packet.size = 0;
  EXPECT_EQ(Send(buffer, packet), InsertResult::kEmptyPayload);
  packet.size = 512;
  EXPECT_EQ(Send(buffer, packet), InsertResult::kInserted);
  EXPECT_EQ(buffer.counters().too_large, 1u);
  EXPECT_EQ(buffer.counters().empty_payload, 1u);
  EXPECT_EQ(buffer.counters().inserted, 1u);
}

TEST(JitterBufferTest, LearnsThePacketDurationFromTimestamps) {
  JitterBuffer buffer(JitterBufferOptions{});  // told 20 ms, sent 30 ms
  std::vector<TestPacket> packets;
  for (int i = 0; i < 100; ++i) {
    packets.push_back(
        {static_cast<uint16_t>(i), static_cast<uint32_t>(i * 240), 3, i == 0, i * 30 * kMs});
  }
  packets.erase(packets.begin() + 50);
  std::vector<PlayoutFrame::Kind> kinds;
  std::vector<int> samples;
  size_t next = 0;
  for (int64_t tick = 5 * kMs; next < packets.size() || buffer.BufferedSamples() > 0;
       tick += 30 * kMs) {
    while (next < packets.size() && packets[next].arrival_ns <= tick) Send(buffer, packets[next++]);
    const PlayoutFrame frame = buffer.PopNext();
    kinds.push_back(frame.kind);
    samples.push_back(frame.samples);
  }
  EXPECT_EQ(buffer.FrameSamples(), 240);
  EXPECT_EQ(buffer.counters().played, 99u);
  EXPECT_EQ(buffer.counters().missing, 1u);
  const auto missing = std::find(kinds.begin(), kinds.end(), PlayoutFrame::Kind::kMissing);
  ASSERT_NE(missing, kinds.end());
  EXPECT_EQ(samples[missing - kinds.begin()], 240);
}

TEST(JitterBufferTest, TalkspurtAfterSilenceSuppressionPlaysFromItsFirstPacket) {
  JitterBuffer buffer(JitterBufferOptions{});
  // 50 packets, 200 ms without any (DTX), then a marked talkspurt whose sequence
  // numbers continue but whose timestamps skip the silence.
  std::vector<TestPacket> packets = PacketGenerator(10, 0).Take(50);
  std::vector<TestPacket> talkspurt =
      PacketGenerator(60, 50 * kFrame + 1600, 0x1234, 1200 * kMs).Take(50);
  packets.insert(packets.end(), talkspurt.begin(), talkspurt.end());
  Timeline timeline(buffer, packets);
  timeline.RunUntilDrained();
  EXPECT_EQ(timeline.PacketSeqs(), Range(10, 100));
  EXPECT_EQ(buffer.counters().too_late + buffer.counters().resyncs + buffer.counters().underruns,
            0u);
  for (const Played& p : timeline.played()) {
    if (p.kind == PlayoutFrame::Kind::kPacket) {
      EXPECT_EQ(p.talkspurt_start, p.seq == 10 || p.seq == 60) << p.seq;
    }
  }
}

TEST(JitterBufferTest, GrowsRightBeforeATalkspurtThatFollowsAShortSilence) {
  JitterBufferOptions options;
  options.min_delay_ms = options.initial_delay_ms = 100;
  JitterBuffer buffer(options);
  // 60 ms of silence, shorter than the 100 ms held: the buffer drains but never runs dry.
  std::vector<TestPacket> packets = PacketGenerator(0, 0).Take(30);
  std::vector<TestPacket> talkspurt = PacketGenerator(30, 33 * kFrame, 0x1234, 660 * kMs).Take(30);
  packets.insert(packets.end(), talkspurt.begin(), talkspurt.end());
  Timeline timeline(buffer, packets);
  timeline.RunUntilDrained();
  EXPECT_EQ(timeline.PacketSeqs(), Range(0, 60));
  EXPECT_EQ(buffer.counters().missing, 0u);
  ASSERT_GE(buffer.counters().added_to_grow, 1u);
  // Every frame added sits right before the talkspurt's first packet.
  const std::vector<Played>& played = timeline.played();
  const auto onset = std::find_if(played.begin(), played.end(), [](const Played& p) {
    return p.kind == PlayoutFrame::Kind::kPacket && p.seq == 30;
  });
  ASSERT_NE(onset, played.end());
  EXPECT_TRUE(onset->talkspurt_start);
  const auto grown =
      static_cast<uint64_t>(std::count_if(played.begin(), onset, [](const Played& p) {
        return p.kind == PlayoutFrame::Kind::kMissing;
      }));
  EXPECT_EQ(grown, buffer.counters().added_to_grow);
  for (size_t i = 1; i <= grown; ++i) EXPECT_EQ((onset - i)->kind, PlayoutFrame::Kind::kMissing);
}

TEST(JitterBufferTest, LongLossCountsAnUnderrunAndRebuffers) {
  JitterBuffer buffer(JitterBufferOptions{});
  std::vector<TestPacket> packets = PacketGenerator(0).Take(100);
  packets.erase(packets.begin() + 40, packets.begin() + 70);  // 600 ms, sender kept counting
  Timeline timeline(buffer, packets);
  timeline.RunUntilDrained();
  EXPECT_EQ(buffer.counters().underruns, 1u);
  EXPECT_EQ(buffer.counters().missing, 15u);  // max_delay (300 ms) concealed, then silence
  EXPECT_EQ(buffer.counters().resyncs, 0u);
  std::vector<uint16_t> expected = Range(0, 40);
  const std::vector<uint16_t> rest = Range(70, 30);
  expected.insert(expected.end(), rest.begin(), rest.end());
  EXPECT_EQ(timeline.PacketSeqs(), expected);
  for (const Played& p : timeline.played()) {
    if (p.kind == PlayoutFrame::Kind::kPacket && p.seq == 70) {
      EXPECT_TRUE(p.talkspurt_start);
    }
  }
}

TEST(JitterBufferTest, ShrinksByDroppingTheFrameBeforeATalkspurtStart) {
  JitterBufferOptions options;
  options.initial_delay_ms = 200;  // far above what steady arrivals need
  JitterBuffer buffer(options);
  std::vector<TestPacket> packets = PacketGenerator(0).Take(300);
  for (TestPacket& p : packets) p.marker = p.seq % 2 == 0;  // a talkspurt start on every even frame
  Timeline timeline(buffer, packets);
  timeline.RunTicks(300);
  const std::vector<uint16_t> seqs = timeline.PacketSeqs();
  std::vector<uint16_t> dropped;
  for (uint16_t seq = 0; seq < seqs.back(); ++seq) {
    if (!std::binary_search(seqs.begin(), seqs.end(), seq)) dropped.push_back(seq);
  }
  EXPECT_GE(dropped.size(), 5u);
  EXPECT_EQ(dropped.size(), buffer.counters().dropped_to_shrink);
  for (uint16_t seq : dropped) EXPECT_EQ(seq % 2, 1) << seq;
  EXPECT_EQ(buffer.counters().missing + buffer.counters().added_to_grow, 0u);
  EXPECT_LE(buffer.BufferedSamples(), 3 * kFrame);
}

TEST(JitterBufferTest, ResetForgetsTheStreamButKeepsCounters) {
  JitterBuffer buffer(JitterBufferOptions{});
  for (const TestPacket& p : PacketGenerator(0).Take(5)) Send(buffer, p);
  buffer.Reset();
  EXPECT_EQ(buffer.BufferedSamples(), 0);
  EXPECT_EQ(buffer.PopNext().kind, PlayoutFrame::Kind::kEmpty);
  EXPECT_EQ(buffer.counters().inserted, 5u);
  EXPECT_EQ(Send(buffer, PacketGenerator(9000).Next()), InsertResult::kInserted);
}

class JitterBufferRandomTest : public ::testing::TestWithParam<JitterBufferOptions> {};

TEST_P(JitterBufferRandomTest, InputIsSafeAndEveryInsertIsAccountedOnce) {
  const JitterBufferOptions& options = GetParam();
  JitterBuffer buffer(options);
  std::mt19937_64 rng(1234);
  const auto chance = [&](int percent) {
    return std::uniform_int_distribution<int>(0, 99)(rng) < percent;
  };
  const auto any = [&](auto lo, auto hi) {
    return std::uniform_int_distribution<decltype(lo)>(lo, hi)(rng);
  };
  // Blocks of 2000 packets alternate between a plausible but rough stream
  // (reorder, loss, duplicates, the odd jump), a rougher one and pure garbage.
  int64_t position = 100;  // the sender's extended sequence number
  uint32_t ts_base = 0;
  uint32_t ssrc = 1;
  int64_t now = 0;
  uint64_t results[6] = {};
  for (int i = 0; i < 100000; ++i) {
    const int mode = (i / 2000) % 3;
    const int rough = mode == 0 ? 1 : 10;
    position += any(0, 2);
    const int64_t sent = position + (chance(rough) ? any(-300, 300) : any(-4, 4));
    TestPacket p{static_cast<uint16_t>(sent),
                 ts_base + static_cast<uint32_t>(sent * options.frame_samples), ssrc, chance(5),
                 now};
    if (chance(rough)) ts_base += any(0u, 0xFFFFFFFFu);
    if (chance(rough)) ssrc = any(1u, 3u);
    p.size = chance(rough) ? any(size_t{0}, kMaxTestPayload) : any(size_t{1}, size_t{200});
    now += any(int64_t{0}, 40 * kMs);
    if (mode == 2) {
      p = TestPacket{any(uint16_t{0}, uint16_t{0xFFFF}),
                     any(0u, 0xFFFFFFFFu),
                     any(1u, 3u),
                     chance(50),
                     any(std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()),
                     any(size_t{0}, kMaxTestPayload)};
    }
    ++results[static_cast<int>(Send(buffer, p))];
    for (int pops = any(0, 2); pops > 0; --pops) {
      const PlayoutFrame frame = buffer.PopNext();
      if (frame.kind == PlayoutFrame::Kind::kPacket) {
        ASSERT_TRUE(PayloadMatches(frame)) << i;
        ASSERT_LE(frame.payload.size(), options.max_payload_bytes);
      }
    }
    ASSERT_LE(buffer.BufferedSamples(), int64_t{options.capacity_frames} * buffer.FrameSamples());
    ASSERT_GT(buffer.TargetDelaySamples(), 0);
    ASSERT_LE(buffer.TargetDelaySamples(), options.max_delay_ms * options.clock_rate_hz / 1000);
  }
  const JitterBufferCounters& c = buffer.counters();
  EXPECT_EQ(InsertOutcomes(c), 100000u);
  EXPECT_EQ(c.inserted, results[static_cast<int>(InsertResult::kInserted)]);
  EXPECT_EQ(c.duplicates, results[static_cast<int>(InsertResult::kDuplicate)]);
  EXPECT_EQ(c.too_late, results[static_cast<int>(InsertResult::kTooLate)]);
  EXPECT_EQ(c.buffer_full, results[static_cast<int>(InsertResult::kBufferFull)]);
  EXPECT_EQ(c.too_large, results[static_cast<int>(InsertResult::kPayloadTooLarge)]);
  EXPECT_EQ(c.empty_payload, results[static_cast<int>(InsertResult::kEmptyPayload)]);
  EXPECT_LE(c.played, c.inserted);  // frames played come from packets inserted only
  std::printf("[ random ] %s\n", Summary(c).c_str());
}

JitterBufferOptions RandomRow(int clock_rate_hz, int frame_samples, int capacity_frames,
                              size_t max_payload_bytes) {
  JitterBufferOptions options;
  options.clock_rate_hz = clock_rate_hz;
  options.frame_samples = frame_samples;
  options.capacity_frames = capacity_frames;
  options.max_payload_bytes = max_payload_bytes;
  return options;
}

INSTANTIATE_TEST_SUITE_P(JitterBufferRandom, JitterBufferRandomTest,
                         ::testing::Values(RandomRow(8000, 160, 16, 512),
                                           RandomRow(8000, 160, 2, 64),
                                           RandomRow(48000, 960, 50, 1500)));

}  // namespace
}  // namespace earshot::mixer

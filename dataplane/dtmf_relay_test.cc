#include "dataplane/dtmf_relay.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

namespace earshot::dataplane {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr uint32_t kMaxField = kTelephoneEventMaxDuration;

// One source leg relayed into one destination leg the way the worker does it
// (Worker::RelayDtmf): the receiver folds the source's packets, durations are
// converted to the destination's clock, and the sender is ticked every 20 ms.
class Relay {
 public:
  Relay(int from_clock_hz, int to_clock_hz, RtpTimestamp destination_start)
      : from_clock_hz_(from_clock_hz), to_clock_hz_(to_clock_hz), now_(destination_start) {}

  void Receive(RtpTimestamp timestamp, const TelephoneEvent& packet, int64_t now_ns) {
    DtmfInput ended_previous;
    const DtmfInput input = receiver_.OnPacket(timestamp, packet, now_ns, ended_previous);
    Forward(ended_previous);
    Forward(input);
  }
  void Tick() {
    if (auto packet = sender_.NextTick(now_)) sent_.push_back(*packet);
    now_ = now_ + static_cast<uint32_t>(to_clock_hz_ / 50);
  }

  const std::vector<DtmfInput>& inputs() const { return inputs_; }
  const std::vector<DtmfPacket>& sent() const { return sent_; }
  const DtmfSender& sender() const { return sender_; }

 private:
  void Forward(const DtmfInput& input) {
    if (!input.any()) return;
    inputs_.push_back(input);
    const uint32_t duration = ConvertDuration(input.duration, from_clock_hz_, to_clock_hz_);
    if (input.start) {
      ASSERT_TRUE(sender_.Start(0, input.event, input.volume, duration));
    }
    if (input.end) {
      sender_.End(0, duration);
    } else {
      sender_.Update(0, duration);
    }
  }

  int from_clock_hz_;
  int to_clock_hz_;
  RtpTimestamp now_;
  DtmfReceiver receiver_;
  DtmfSender sender_;
  std::vector<DtmfInput> inputs_;
  std::vector<DtmfPacket> sent_;
};

// A softphone holding a key: a packet every 20 ms at `clock_hz`, three end
// packets, and segments of `segment` units when the press outgrows the field
// (a sender may split at 0xFFFF or at the last packet boundary before it).
struct Press {
  uint8_t event;
  uint32_t duration;  // source clock units
  int clock_hz;
  uint32_t segment = kMaxField;
  RtpTimestamp start = RtpTimestamp(0xFFFF0000);  // wraps during the press
};

// Drives `press` through `relay` and ticks the destination in step, then
// ticks on until the sender is idle.
void PlayPress(const Press& press, Relay& relay) {
  const uint32_t step = static_cast<uint32_t>(press.clock_hz / 50);
  const uint32_t packets = (press.duration + step - 1) / step;
  int64_t now_ns = 0;
  for (uint32_t i = 0; i < packets + 2; ++i) {
    const uint32_t total = std::min((i + 1) * step, press.duration);
    const bool end = i + 1 >= packets;
    // The segment this total lies in: one that is full stays the current
    // segment until the duration grows past it.
    const uint32_t segment = total == 0 ? 0 : (total - 1) / press.segment;
    const TelephoneEvent packet{press.event, end, 10, static_cast<uint16_t>(total - segment * press.segment)};
    relay.Receive(press.start + segment * press.segment, packet, now_ns);
    relay.Tick();
    now_ns += 20 * kMs;
  }
  for (int i = 0; i < 1000 && relay.sender().busy(); ++i) relay.Tick();
}

// What a destination makes of the packets: one row per segment, in order.
struct Segment {
  RtpTimestamp timestamp;
  uint32_t last_duration;
  int end_packets;
};
std::vector<Segment> Segments(const std::vector<DtmfPacket>& sent) {
  std::vector<Segment> segments;
  for (const DtmfPacket& packet : sent) {
    if (segments.empty() || !(segments.back().timestamp == packet.timestamp)) {
      segments.push_back(Segment{packet.timestamp, 0, 0});
    }
    EXPECT_GE(packet.event.duration, segments.back().last_duration) << "durations only grow";
    segments.back().last_duration = packet.event.duration;
    if (packet.event.end) ++segments.back().end_packets;
  }
  return segments;
}

// Checks the RFC 4733 §2.5.1.3 form of one forwarded event: contiguous
// segments, the marker on the very first packet only, no E bit before the
// final segment, which ends with kEndRepeats identical end packets; returns
// the total duration.
uint64_t CheckSegmentedEvent(const std::vector<DtmfPacket>& sent, RtpTimestamp first, uint8_t event) {
  const std::vector<Segment> segments = Segments(sent);
  EXPECT_FALSE(segments.empty());
  if (segments.empty()) return 0;
  EXPECT_EQ(segments.front().timestamp, first);
  uint64_t total = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    EXPECT_EQ(segments[i].timestamp, first + static_cast<uint32_t>(total))
        << "segment " << i << " starts where the one before ended";
    if (i + 1 < segments.size()) {
      EXPECT_EQ(segments[i].last_duration, kMaxField) << "segment " << i << " ends where the field does";
      EXPECT_EQ(segments[i].end_packets, 0) << "segment " << i;
    } else {
      EXPECT_EQ(segments[i].end_packets, DtmfSender::kEndRepeats);
    }
    total += segments[i].last_duration;
  }
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].marker, i == 0) << i;
    EXPECT_EQ(sent[i].event.event, event) << i;
    EXPECT_EQ(sent[i].event.end, i + DtmfSender::kEndRepeats >= sent.size()) << i;
  }
  return total;
}

TEST(DtmfReceiverTest, FoldsUpdatesAndIgnoresRetransmittedEndPackets) {
  DtmfReceiver receiver;
  DtmfInput previous;
  const RtpTimestamp ts(0xFFFFFF00);  // wraps during the call
  DtmfInput in = receiver.OnPacket(ts, {5, false, 10, 160}, 0, previous);
  EXPECT_TRUE(in.start);
  EXPECT_FALSE(in.end);
  EXPECT_EQ(in.event, 5);
  EXPECT_EQ(in.duration, 160);
  EXPECT_FALSE(previous.any());

  in = receiver.OnPacket(ts, {5, false, 10, 320}, 20 * kMs, previous);
  EXPECT_TRUE(in.duration_changed);
  EXPECT_FALSE(in.start);
  EXPECT_EQ(in.duration, 320);
  // A redundant copy of the same update changes nothing.
  EXPECT_FALSE(receiver.OnPacket(ts, {5, false, 10, 320}, 21 * kMs, previous).any());

  in = receiver.OnPacket(ts, {5, true, 10, 800}, 60 * kMs, previous);
  EXPECT_TRUE(in.end);
  EXPECT_EQ(in.duration, 800);
  EXPECT_FALSE(receiver.running());
  for (int repeat = 0; repeat < 2; ++repeat) {
    EXPECT_FALSE(receiver.OnPacket(ts, {5, true, 10, 800}, 61 * kMs, previous).any());
  }
  // A late packet of an earlier event is ignored; a newer timestamp (across the
  // wrap) is the next digit.
  EXPECT_FALSE(receiver.OnPacket(RtpTimestamp(0xFFFFFE00), {4, false, 10, 160}, 62 * kMs, previous).any());
  in = receiver.OnPacket(RtpTimestamp(0x00000200), {6, false, 10, 160}, 200 * kMs, previous);
  EXPECT_TRUE(in.start);
  EXPECT_EQ(in.event, 6);
}

TEST(DtmfReceiverTest, ANewEventEndsOneWhoseEndWasLost) {
  DtmfReceiver receiver;
  DtmfInput previous;
  (void)receiver.OnPacket(RtpTimestamp(1000), {1, false, 10, 480}, 0, previous);
  DtmfInput in = receiver.OnPacket(RtpTimestamp(3000), {2, false, 10, 160}, 100 * kMs, previous);
  EXPECT_TRUE(previous.end);
  EXPECT_EQ(previous.event, 1);
  EXPECT_EQ(previous.duration, 480);
  EXPECT_TRUE(in.start);
  EXPECT_EQ(in.event, 2);
}

TEST(DtmfReceiverTest, ARunningEventEndsAfterTheTimeout) {
  DtmfReceiver receiver;
  DtmfInput previous;
  (void)receiver.OnPacket(RtpTimestamp(1000), {9, false, 10, 320}, 0, previous);
  EXPECT_FALSE(receiver.CheckTimeout(400 * kMs, 500 * kMs).any());
  DtmfInput ended = receiver.CheckTimeout(500 * kMs, 500 * kMs);
  EXPECT_TRUE(ended.end);
  EXPECT_EQ(ended.event, 9);
  EXPECT_EQ(ended.duration, 320);
  EXPECT_FALSE(receiver.CheckTimeout(900 * kMs, 500 * kMs).any());
}

TEST(DtmfReceiverTest, AnEventMadeOnlyOfEndPacketsStartsAndEndsAtOnce) {
  DtmfReceiver receiver;
  DtmfInput previous;
  DtmfInput in = receiver.OnPacket(RtpTimestamp(50), {11, true, 10, 800}, 0, previous);
  EXPECT_TRUE(in.start);
  EXPECT_TRUE(in.end);
  EXPECT_FALSE(receiver.OnPacket(RtpTimestamp(50), {11, true, 10, 800}, 0, previous).any());
}

TEST(DtmfSenderTest, KeepsTheStartTimestampAndRepeatsTheEndThreeTimes) {
  DtmfSender sender;
  ASSERT_TRUE(sender.Start(2, 7, 10, 160));
  std::vector<DtmfPacket> sent;
  RtpTimestamp now(0xFFFFFF60);
  auto tick = [&] {
    if (auto packet = sender.NextTick(now)) sent.push_back(*packet);
    now = now + 160;
  };
  tick();
  sender.Update(2, 320);
  sender.Update(1, 9999);  // another source: not this event
  tick();
  sender.Update(2, 480);
  tick();
  sender.End(2, 640);
  tick();
  tick();
  tick();
  tick();  // idle again
  ASSERT_EQ(sent.size(), 6u);
  const uint16_t durations[] = {160, 320, 480, 640, 640, 640};
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].timestamp, RtpTimestamp(0xFFFFFF60)) << i;
    EXPECT_EQ(sent[i].marker, i == 0) << i;
    EXPECT_EQ(sent[i].event.event, 7);
    EXPECT_EQ(sent[i].event.duration, durations[i]) << i;
    EXPECT_EQ(sent[i].event.end, i >= 3) << i;
  }
  EXPECT_FALSE(sender.busy());
}

TEST(DtmfSenderTest, ARunningEventRefusesAnotherAndTheNextWaitsForTheRepeats) {
  DtmfSender sender;
  ASSERT_TRUE(sender.Start(0, 1, 10, 160));
  EXPECT_FALSE(sender.Start(2, 9, 10, 160));
  sender.End(0, 800);
  (void)sender.NextTick(RtpTimestamp(0));
  ASSERT_TRUE(sender.Start(0, 2, 10, 160)) << "the next digit waits";
  EXPECT_FALSE(sender.Start(1, 3, 10, 160)) << "only one waits";
  sender.Update(0, 320);
  for (uint32_t tick = 1; tick < 3; ++tick) {
    auto packet = sender.NextTick(RtpTimestamp(160 * tick));
    ASSERT_TRUE(packet.has_value());
    EXPECT_EQ(packet->event.event, 1);
    EXPECT_TRUE(packet->event.end);
  }
  auto packet = sender.NextTick(RtpTimestamp(480));
  ASSERT_TRUE(packet.has_value());
  EXPECT_TRUE(packet->marker);
  EXPECT_EQ(packet->event.event, 2);
  EXPECT_EQ(packet->event.duration, 320);
  EXPECT_EQ(packet->timestamp, RtpTimestamp(480));
}

TEST(DtmfRelayTest, ConvertsDurationsBetweenClocksWithoutCappingAtTheField) {
  EXPECT_EQ(ConvertDuration(800, 8000, 48000), 4800u);
  EXPECT_EQ(ConvertDuration(4800, 48000, 8000), 800u);
  EXPECT_EQ(ConvertDuration(800, 8000, 8000), 800u);
  // 2.5 s: more than one packet's field at 48 kHz; the sender splits it.
  EXPECT_EQ(ConvertDuration(20000, 8000, 48000), 120000u);
  EXPECT_EQ(ConvertDuration(0xFFFFFFFF, 8000, 48000), 0xFFFFFFFFu) << "saturates";
}

TEST(DtmfRelayTest, AThreeSecondPcmuPressReachesOpusAsContiguousSegments) {
  const RtpTimestamp destination(0xFFFE0000);  // the segments cross the wrap
  Relay relay(8000, 48000, destination);
  PlayPress(Press{.event = 4, .duration = 3 * 8000, .clock_hz = 8000}, relay);
  // 3 s at 48 kHz = 144000 = 0xFFFF + 0xFFFF + 12930.
  EXPECT_EQ(CheckSegmentedEvent(relay.sent(), destination, 4), 144000u);
  const std::vector<Segment> segments = Segments(relay.sent());
  ASSERT_EQ(segments.size(), 3u);
  EXPECT_EQ(segments[2].last_duration, 12930u);
  EXPECT_FALSE(relay.sender().busy());
  // Upward: one press, ended once, with the whole duration.
  ASSERT_FALSE(relay.inputs().empty());
  EXPECT_TRUE(relay.inputs().front().start);
  EXPECT_TRUE(relay.inputs().back().end);
  EXPECT_EQ(relay.inputs().back().duration, 24000u);
}

TEST(DtmfRelayTest, ATenSecondPressWithin8kHzIsOnePressInSegmentsBothWays) {
  // The source splits at its last 20 ms boundary before the field runs out
  // (65440), the relay at 0xFFFF: each side's segments are its own.
  const RtpTimestamp destination(0x12345678);
  Relay relay(8000, 8000, destination);
  PlayPress(Press{.event = 11, .duration = 10 * 8000, .clock_hz = 8000, .segment = 65440}, relay);
  EXPECT_EQ(CheckSegmentedEvent(relay.sent(), destination, 11), 80000u);
  const std::vector<Segment> segments = Segments(relay.sent());
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(segments[1].last_duration, 80000u - kMaxField);
  int starts = 0, ends = 0;
  for (const DtmfInput& input : relay.inputs()) {
    starts += input.start;
    ends += input.end;
  }
  EXPECT_EQ(starts, 1);
  EXPECT_EQ(ends, 1);
  EXPECT_EQ(relay.inputs().back().duration, 80000u);
}

TEST(DtmfReceiverTest, ASourcesSegmentsFoldIntoOnePress) {
  DtmfReceiver receiver;
  DtmfInput previous;
  const RtpTimestamp first(0xFFFF8000);  // the second segment's timestamp wraps
  DtmfInput in = receiver.OnPacket(first, {8, false, 10, 65000}, 0, previous);
  EXPECT_TRUE(in.start);
  in = receiver.OnPacket(first, {8, false, 10, 0xFFFF}, 20 * kMs, previous);
  EXPECT_TRUE(in.duration_changed);
  // The next segment starts where the field ran out: a continuation, not a
  // new press, and the duration counts on.
  const RtpTimestamp second = first + kMaxField;
  in = receiver.OnPacket(second, {8, false, 10, 160}, 40 * kMs, previous);
  EXPECT_FALSE(previous.any()) << "the first segment did not end";
  EXPECT_FALSE(in.start);
  EXPECT_FALSE(in.end);
  EXPECT_TRUE(in.duration_changed);
  EXPECT_EQ(in.duration, kMaxField + 160);
  EXPECT_TRUE(receiver.running());
  // A late packet of the first segment changes nothing.
  EXPECT_FALSE(receiver.OnPacket(first, {8, false, 10, 0xFFFF}, 41 * kMs, previous).any());
  in = receiver.OnPacket(second, {8, false, 10, 65000}, 60 * kMs, previous);
  EXPECT_EQ(in.duration, kMaxField + 65000);
  // The second segment's last packets are lost (it ended at 65440, this
  // sender's last 20 ms boundary before the field runs out), and so are the
  // third's first: the third's timestamp says where the second ended.
  const RtpTimestamp third = second + 65440;
  in = receiver.OnPacket(third, {8, false, 10, 800}, 60 * kMs, previous);
  EXPECT_FALSE(in.start);
  EXPECT_EQ(in.duration, kMaxField + 65440 + 800);
  in = receiver.OnPacket(third, {8, true, 10, 960}, 80 * kMs, previous);
  EXPECT_TRUE(in.end);
  EXPECT_FALSE(in.start);
  EXPECT_EQ(in.event, 8);
  EXPECT_EQ(in.duration, kMaxField + 65440 + 960);
  EXPECT_FALSE(receiver.running());
  for (int repeat = 0; repeat < 2; ++repeat) {
    EXPECT_FALSE(receiver.OnPacket(third, {8, true, 10, 960}, 81 * kMs, previous).any());
  }
  // The timeout of a segmented event reports the whole duration too.
  (void)receiver.OnPacket(RtpTimestamp(0x00100000), {8, false, 10, 0xFFFF}, 100 * kMs, previous);
  (void)receiver.OnPacket(RtpTimestamp(0x00100000) + kMaxField, {8, false, 10, 320}, 120 * kMs, previous);
  DtmfInput ended = receiver.CheckTimeout(1200 * kMs, 1000 * kMs);
  EXPECT_TRUE(ended.end);
  EXPECT_EQ(ended.duration, kMaxField + 320);
}

TEST(DtmfReceiverTest, OnlyARunningEventWhoseFieldRanOutIsContinued) {
  struct Case {
    const char* what;
    uint8_t first_event;
    bool first_ended;
    uint16_t heard;   // the first event's last duration heard
    uint32_t offset;  // the next packet's timestamp - the first's
    uint8_t next_event;
    bool continued;
  };
  const Case cases[] = {
      {"the segment's end", 3, false, 0xFFFF, 0xFFFF, 3, true},
      {"its last packet boundary", 3, false, 65440, 65440, 3, true},
      {"its end packets lost", 3, false, 0xE100, 0xFF00, 3, true},
      {"a new press after a short one lost its end", 3, false, 800, 1600, 3, false},
      {"a short press, then a long gap", 3, false, 800, 0xF000, 3, false},
      {"too much of the segment lost", 3, false, 0xD000, 0xFFFF, 3, false},
      {"another key", 3, false, 0xFFFF, 0xFFFF, 4, false},
      {"an ended event", 3, true, 0xFFFF, 0xFFFF, 3, false},
      {"past the field", 3, false, 0xFFFF, 0x10000, 3, false},
      {"before what was heard", 3, false, 0xFFFF, 0xFF00, 3, false},
  };
  for (const Case& c : cases) {
    DtmfReceiver receiver;
    DtmfInput previous;
    const RtpTimestamp first(0xFFFFFF00);
    (void)receiver.OnPacket(first, {c.first_event, c.first_ended, 10, c.heard}, 0, previous);
    const DtmfInput in =
        receiver.OnPacket(first + c.offset, {c.next_event, false, 10, 160}, 20 * kMs, previous);
    EXPECT_EQ(in.start, !c.continued) << c.what;
    EXPECT_EQ(previous.end, !c.continued && !c.first_ended) << c.what;
    if (c.continued) {
      EXPECT_EQ(in.duration, c.offset + 160) << c.what;
    } else {
      EXPECT_EQ(in.duration, 160u) << c.what;
      EXPECT_EQ(previous.duration, c.first_ended ? 0u : c.heard) << c.what;
    }
  }
}

TEST(DtmfSenderTest, SplitsAtTheFieldAndEndsOnlyTheFinalSegment) {
  DtmfSender sender;
  ASSERT_TRUE(sender.Start(1, 9, 10, 0xFF00));
  RtpTimestamp now(1000);
  std::vector<DtmfPacket> sent;
  auto tick = [&] {
    if (auto packet = sender.NextTick(now)) sent.push_back(*packet);
    now = now + 960;
  };
  tick();  // 0xFF00
  sender.Update(1, kMaxField + 960);
  tick();  // the first segment's last packet: 0xFFFF, no E bit
  tick();  // the second segment: where the first ended, counting from there
  // The end arrives beyond another boundary: the second segment closes
  // without the E bit and the third carries it.
  sender.End(1, 2 * kMaxField + 100);
  for (int i = 0; i < 6; ++i) tick();
  EXPECT_FALSE(sender.busy());
  struct Want {
    uint32_t timestamp;
    uint16_t duration;
    bool end;
  };
  const Want want[] = {
      {1000, 0xFF00, false},
      {1000, 0xFFFF, false},
      {1000 + kMaxField, 960, false},
      {1000 + kMaxField, 0xFFFF, false},
      {1000 + 2 * kMaxField, 100, true},
      {1000 + 2 * kMaxField, 100, true},
      {1000 + 2 * kMaxField, 100, true},
  };
  ASSERT_EQ(sent.size(), std::size(want));
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].timestamp, RtpTimestamp(want[i].timestamp)) << i;
    EXPECT_EQ(sent[i].event.duration, want[i].duration) << i;
    EXPECT_EQ(sent[i].event.end, want[i].end) << i;
    EXPECT_EQ(sent[i].marker, i == 0) << i;
  }
}

TEST(DtmfSenderTest, AnEventOfExactlyTheFieldIsOneSegment) {
  DtmfSender sender;
  ASSERT_TRUE(sender.Start(0, 1, 10, 160));
  sender.End(0, kMaxField);
  for (int i = 0; i < DtmfSender::kEndRepeats; ++i) {
    auto packet = sender.NextTick(RtpTimestamp(500 + 160 * static_cast<uint32_t>(i)));
    ASSERT_TRUE(packet.has_value());
    EXPECT_EQ(packet->timestamp, RtpTimestamp(500));
    EXPECT_EQ(packet->event.duration, kMaxField);
    EXPECT_TRUE(packet->event.end);
  }
  EXPECT_FALSE(sender.busy());
}

TEST(DtmfSenderTest, ABogusDurationDoesNotHoldTheDestinationForMinutes) {
  // A total a million segments long (no real source gets there: a running
  // event that hears nothing for a second ends) goes straight to the segment
  // it ends in after the current one closes.
  DtmfSender sender;
  ASSERT_TRUE(sender.Start(0, 5, 10, 160));
  (void)sender.NextTick(RtpTimestamp(0));
  sender.End(0, 0xFFFFFFF0);
  int ticks = 0;
  std::optional<DtmfPacket> last;
  while (sender.busy() && ticks < 100) {
    last = sender.NextTick(RtpTimestamp(160 * static_cast<uint32_t>(++ticks)));
  }
  EXPECT_FALSE(sender.busy());
  EXPECT_LE(ticks, 1 + 1 + DtmfSender::kEndRepeats);
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(last->event.end);
  EXPECT_EQ(last->timestamp.value() + last->event.duration, 0xFFFFFFF0u) << "the end is where the total says";
}

TEST(DtmfSenderTest, TheNextDigitWaitsForAllSegmentsOfALongOne) {
  DtmfSender sender;
  ASSERT_TRUE(sender.Start(0, 1, 10, 160));
  sender.End(0, kMaxField + 800);
  ASSERT_TRUE(sender.Start(0, 2, 10, 160));
  std::vector<DtmfPacket> sent;
  for (uint32_t tick = 0; tick < 8; ++tick) {
    if (auto packet = sender.NextTick(RtpTimestamp(160 * tick))) sent.push_back(*packet);
  }
  ASSERT_GE(sent.size(), 5u);
  EXPECT_EQ(sent[0].event.duration, kMaxField);
  EXPECT_FALSE(sent[0].event.end);
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(sent[i].event.event, 1) << i;
    EXPECT_EQ(sent[i].event.duration, 800) << i;
    EXPECT_TRUE(sent[i].event.end) << i;
    EXPECT_EQ(sent[i].timestamp, RtpTimestamp(kMaxField)) << i;
  }
  EXPECT_EQ(sent[4].event.event, 2);
  EXPECT_TRUE(sent[4].marker);
  EXPECT_EQ(sent[4].timestamp, RtpTimestamp(160 * 4));
}

}  // namespace
}  // namespace earshot::dataplane

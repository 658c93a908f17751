#include "dataplane/dtmf_relay.h"

#include <vector>

#include <gtest/gtest.h>

namespace earshot::dataplane {
namespace {

constexpr int64_t kMs = 1'000'000;

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

TEST(DtmfRelayTest, ConvertsDurationsBetweenClocksAndCaps) {
  EXPECT_EQ(ConvertDuration(800, 8000, 48000), 4800);
  EXPECT_EQ(ConvertDuration(4800, 48000, 8000), 800);
  EXPECT_EQ(ConvertDuration(800, 8000, 8000), 800);
  EXPECT_EQ(ConvertDuration(20000, 8000, 48000), 0xFFFF);
}

}  // namespace
}  // namespace earshot::dataplane

#include "tools/demo/demo_phone.h"

#include <gtest/gtest.h>

namespace earshot::demo {
namespace {

std::vector<int16_t> Ramp() {
  std::vector<int16_t> speech(1000);
  for (size_t i = 0; i < speech.size(); ++i) speech[i] = static_cast<int16_t>(i * 20);
  return speech;
}

class DemoPhoneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto listener = WavPhone::Create("listener", Ramp(), 0x1111);
    auto talker = WavPhone::Create("talker", Ramp(), 0x2222);
    ASSERT_TRUE(listener && talker);
    listener_ = std::move(*listener);
    talker_ = std::move(*talker);
    ASSERT_TRUE(talker_->SendTo("127.0.0.1", listener_->port()));
  }

  // The talker sends `frame`, which the listener reads at timeline `arrival`.
  void Deliver(int64_t frame, int64_t arrival) {
    talker_->SendFrame(frame);
    listener_->Drain(arrival);
  }

  void ExpectHeardAt(int64_t position, int64_t frame) {
    ASSERT_GE(listener_->heard().size(), static_cast<size_t>(position + kFrameSamples));
    for (int i = 0; i < kFrameSamples; ++i) {
      ASSERT_EQ(listener_->heard()[static_cast<size_t>(position + i)],
                talker_->sent()[static_cast<size_t>(frame * kFrameSamples + i)])
          << "sample " << i << " of frame " << frame;
    }
  }

  void ExpectSilentAt(int64_t position, int64_t samples) {
    for (int64_t i = 0; i < samples; ++i) {
      ASSERT_EQ(listener_->heard()[static_cast<size_t>(position + i)], 0) << "sample " << position + i;
    }
  }

  std::unique_ptr<WavPhone> listener_;
  std::unique_ptr<WavPhone> talker_;
};

TEST_F(DemoPhoneTest, PlacesPacketsByTimestampAndLeavesMissingOnesSilent) {
  for (int64_t frame : {0, 1, 3}) Deliver(frame, 800 + frame * kFrameSamples);
  listener_->Finish();
  ASSERT_EQ(listener_->heard().size(), 800u + 4 * kFrameSamples);
  ExpectHeardAt(800, 0);
  ExpectHeardAt(800 + kFrameSamples, 1);
  ExpectSilentAt(800 + 2 * kFrameSamples, kFrameSamples);
  ExpectHeardAt(800 + 3 * kFrameSamples, 3);
  EXPECT_EQ(listener_->stats().missing_ms, 20u);
  EXPECT_EQ(listener_->stats().packets, 3u);
  EXPECT_TRUE(listener_->stats().slips.empty());
}

TEST_F(DemoPhoneTest, LateAndReorderedPacketsDoNotMoveTheAudio) {
  Deliver(0, 0);
  talker_->SendFrame(2);
  talker_->SendFrame(1);
  listener_->Drain(900);  // both about 90 ms late
  for (int64_t frame = 3; frame < 20; ++frame) Deliver(frame, frame * kFrameSamples);
  listener_->Finish();
  ExpectHeardAt(kFrameSamples, 1);
  ExpectHeardAt(2 * kFrameSamples, 2);
  ExpectHeardAt(19 * kFrameSamples, 19);
  const ReceiveStats& stats = listener_->stats();
  EXPECT_EQ(stats.reordered, 1u);
  EXPECT_EQ(stats.missing_ms, 0u);
  EXPECT_TRUE(stats.slips.empty());
  EXPECT_DOUBLE_EQ(stats.max_late_ms, 92.5);
  EXPECT_EQ(stats.pauses, 1u);
}

TEST_F(DemoPhoneTest, AStreamThatLosesTimeIsHeardWithAGap) {
  // Frames 20.. leave the sender half a second late with timestamps that carry
  // on as if nothing happened: a listener hears half a second of nothing.
  for (int64_t frame = 0; frame < 20; ++frame) Deliver(frame, frame * kFrameSamples);
  for (int64_t frame = 20; frame < 40; ++frame) Deliver(frame, frame * kFrameSamples + 4000);
  listener_->Finish();
  const ReceiveStats& stats = listener_->stats();
  ASSERT_EQ(stats.slips.size(), 1u);
  EXPECT_DOUBLE_EQ(stats.slips[0].lost_ms, 500.0);
  EXPECT_DOUBLE_EQ(stats.slips[0].at_ms, 20 * 20.0 + 500.0);
  ExpectHeardAt(19 * kFrameSamples, 19);
  ExpectSilentAt(20 * kFrameSamples, 4000);
  ExpectHeardAt(20 * kFrameSamples + 4000, 20);
  EXPECT_EQ(stats.missing_ms, 500u);
  EXPECT_EQ(stats.timestamp_steps, 0u);
}

TEST_F(DemoPhoneTest, SentAudioLoopsTheSpeechAsPcmuDecodesIt) {
  talker_->SendFrame(7);  // timeline samples 1120..1279: speech 120..279
  ASSERT_EQ(talker_->sent().size(), 8u * kFrameSamples);
  const int16_t sample = talker_->sent()[7 * kFrameSamples + 100];  // speech[220] = 4400
  EXPECT_NEAR(sample, 4400, 4400 / 16);
}

}  // namespace
}  // namespace earshot::demo

#include "dataplane/telephone_event.h"

#include <array>
#include <vector>

#include <gtest/gtest.h>

namespace earshot::dataplane {
namespace {

TEST(TelephoneEventTest, ParsesTheFieldsOfTheFirstBlock) {
  // Digit 5, E bit, reserved bit set (ignored), volume 10, duration 1280; then a
  // second block that is not read.
  const std::vector<uint8_t> payload = {0x05, 0xCA, 0x05, 0x00, 0x09, 0x00, 0x00, 0xA0};
  std::optional<TelephoneEvent> event = ParseTelephoneEvent(payload);
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->event, 5);
  EXPECT_TRUE(event->end);
  EXPECT_EQ(event->volume, 10);
  EXPECT_EQ(event->duration, 1280);
}

TEST(TelephoneEventTest, RejectsAPayloadShorterThanABlock) {
  EXPECT_FALSE(ParseTelephoneEvent(std::vector<uint8_t>{0x01, 0x0A, 0x00}).has_value());
  EXPECT_FALSE(ParseTelephoneEvent({}).has_value());
}

TEST(TelephoneEventTest, WritesWhatItParsesAcrossTheFieldRanges) {
  const TelephoneEvent cases[] = {
      {0, false, 0, 0},      {11, true, 63, 0xFFFF}, {15, false, 7, 160},
      {16, true, 20, 800},   {255, false, 1, 0x8000},
  };
  for (const TelephoneEvent& event : cases) {
    std::array<uint8_t, 4> bytes{};
    ASSERT_EQ(WriteTelephoneEvent(event, bytes), kTelephoneEventSize);
    EXPECT_EQ(bytes[1] & 0x40, 0) << "the R bit is written as zero";
    EXPECT_EQ(ParseTelephoneEvent(bytes), event) << int{event.event};
  }
}

TEST(TelephoneEventTest, WritesTheWireLayoutAndClampsTheVolume) {
  std::array<uint8_t, 4> bytes{};
  ASSERT_EQ(WriteTelephoneEvent({11, true, 99, 0x0320}, bytes), 4u);
  EXPECT_EQ(bytes, (std::array<uint8_t, 4>{0x0B, 0x80 | 63, 0x03, 0x20}));
  std::array<uint8_t, 3> small{};
  EXPECT_EQ(WriteTelephoneEvent({1, false, 10, 160}, small), 0u);
}

TEST(TelephoneEventTest, MapsDtmfKeysBothWays) {
  const std::string keys = "0123456789*#ABCD";
  for (uint8_t code = 0; code < 16; ++code) {
    EXPECT_EQ(DtmfDigit(code), keys[code]);
    EXPECT_EQ(DtmfEvent(keys[code]), code);
  }
  EXPECT_EQ(DtmfEvent('b'), 13);
  EXPECT_EQ(DtmfDigit(16), '\0');  // flash-hook-like events are not keys
  EXPECT_FALSE(DtmfEvent('E').has_value());
}

}  // namespace
}  // namespace earshot::dataplane

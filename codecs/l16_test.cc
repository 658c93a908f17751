#include "codecs/l16.h"

#include <cstdlib>
#include <vector>

#include <gtest/gtest.h>

namespace earshot {
namespace {

TEST(L16Test, EncodesBigEndianAndRoundTrips) {
  L16Encoder encoder(16000);
  L16Decoder decoder(16000);
  const int16_t pcm[] = {0, 1, -1, 32767, -32768, 0x1234};
  uint8_t payload[12];
  ASSERT_EQ(encoder.Encode(pcm, payload), 12u);
  EXPECT_EQ(payload[10], 0x12);
  EXPECT_EQ(payload[11], 0x34);
  EXPECT_EQ(payload[4], 0xFF);  // -1
  int16_t decoded[6];
  ASSERT_EQ(decoder.Decode(payload, decoded), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(decoded[i], pcm[i]);
  EXPECT_EQ(encoder.info().rtp_clock_rate_hz, 16000);
}

TEST(L16Test, RejectsOddPayloadsAndShortOutputs) {
  L16Decoder decoder(8000);
  int16_t out[4];
  const uint8_t odd[] = {1, 2, 3};
  EXPECT_EQ(decoder.Decode(odd, out).error(), CodecError::kBadPayload);
  const uint8_t big[10] = {};
  EXPECT_EQ(decoder.Decode(big, out).error(), CodecError::kOutputTooSmall);
  L16Encoder encoder(8000);
  uint8_t small[3];
  const int16_t pcm[2] = {};
  EXPECT_EQ(encoder.Encode(pcm, small).error(), CodecError::kOutputTooSmall);
}

TEST(L16Test, ConcealmentFadesFromTheLastSampleWithoutAStep) {
  L16Decoder decoder(8000);
  const uint8_t loud[] = {0x40, 0x00};  // 16384
  int16_t out[160];
  ASSERT_TRUE(decoder.Decode(loud, out).has_value());
  ASSERT_EQ(decoder.Conceal(out), 160u);
  EXPECT_GT(out[0], 16384 * 9 / 10);
  for (int i = 1; i < 160; ++i) EXPECT_LE(std::abs(out[i] - out[i - 1]), 16384 / 10);
  EXPECT_EQ(out[159], 0);
}

}  // namespace
}  // namespace earshot

#include "codecs/g711.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <numbers>
#include <string>
#include <vector>

namespace earshot {
namespace {

// ---------------------------------------------------------------------------
// An independent, deliberately slow reference written from G.711's tables
// rather than from the bit tricks under test: each law is a list of 128
// quantisation intervals per sign, found by walking decision values.
//
// Input mapping (the ITU-T G.191 reference's, see g711.h): a 16-bit sample x
// has magnitude x for x >= 0 and -x - 1 for x < 0, scaled down by 4 to
// G.711's 14-bit µ-law scale or by 8 to its 13-bit A-law scale.
// ---------------------------------------------------------------------------

// µ-law (G.711 Table 2): segment s (0..7) holds 16 intervals, each 2^(s+1)
// wide; segment s starts at decision value 2^(s+5) - 33, where 33 is the µ-law
// bias (132 in 16-bit units). Segment 0's first interval, [-1, 1), is the one
// straddling zero. The largest magnitude is 8159.
int ReferenceUlawWidth(int segment) { return 1 << (segment + 1); }
int ReferenceUlawLower(int segment, int interval) {
  return (1 << (segment + 5)) - 33 + interval * ReferenceUlawWidth(segment);
}

// A-law (G.711 Table 1): segments 0 and 1 have intervals 2 wide starting at 0
// and 32; segment s >= 2 has intervals 2^s wide starting at 2^(s+4). The
// largest magnitude is 4095.
int ReferenceAlawWidth(int segment) { return segment == 0 ? 2 : 1 << segment; }
int ReferenceAlawLower(int segment, int interval) {
  const int start = segment == 0 ? 0 : 16 << segment;
  return start + interval * ReferenceAlawWidth(segment);
}

// The 7 bits below the sign: 16 * segment + interval of the last interval whose
// lower decision value the magnitude reaches (magnitudes past the top clip).
template <typename LowerFn>
int ReferenceQuantise(int magnitude, LowerFn lower) {
  int bits = 0;
  for (int segment = 0; segment < 8; ++segment) {
    for (int interval = 0; interval < 16; ++interval) {
      if (magnitude >= lower(segment, interval)) bits = 16 * segment + interval;
    }
  }
  return bits;
}

uint8_t ReferenceUlawEncode(int16_t x) {
  const bool negative = x < 0;
  const int magnitude = (negative ? -int{x} - 1 : int{x}) / 4;
  const int bits = ReferenceQuantise(magnitude, ReferenceUlawLower);
  // Sign bit 1 for positive; the seven magnitude bits go out inverted.
  return static_cast<uint8_t>((negative ? 0x00 : 0x80) | (0x7F - bits));
}

int16_t ReferenceUlawDecode(uint8_t code) {
  const bool negative = (code & 0x80) == 0;
  const int bits = 0x7F - (code & 0x7F);
  const int segment = bits / 16;
  const int interval = bits % 16;
  // The output is the interval's midpoint, back in 16-bit units.
  const int value = 4 * (ReferenceUlawLower(segment, interval) + ReferenceUlawWidth(segment) / 2);
  return static_cast<int16_t>(negative ? -value : value);
}

uint8_t ReferenceAlawEncode(int16_t x) {
  const bool negative = x < 0;
  const int magnitude = (negative ? -int{x} - 1 : int{x}) / 8;
  const int bits = ReferenceQuantise(magnitude, ReferenceAlawLower);
  // Sign bit 1 for positive; then every even bit inverted (XOR 0101 0101).
  return static_cast<uint8_t>(((negative ? 0x00 : 0x80) | bits) ^ 0x55);
}

int16_t ReferenceAlawDecode(uint8_t code) {
  const int raw = code ^ 0x55;
  const bool negative = (raw & 0x80) == 0;
  const int segment = (raw & 0x7F) / 16;
  const int interval = raw % 16;
  const int value = 8 * (ReferenceAlawLower(segment, interval) + ReferenceAlawWidth(segment) / 2);
  return static_cast<int16_t>(negative ? -value : value);
}

// Every int16 value, for exhaustive loops.
constexpr int kMinSample = -32768;
constexpr int kMaxSample = 32767;

// ---------------------------------------------------------------------------
// Single-sample conversions against the reference.
// ---------------------------------------------------------------------------

TEST(G711Test, UlawEncodeMatchesSegmentFormulaForEveryInput) {
  for (int x = kMinSample; x <= kMaxSample; ++x) {
    const auto sample = static_cast<int16_t>(x);
    ASSERT_EQ(int{LinearToUlaw(sample)}, int{ReferenceUlawEncode(sample)}) << "input " << x;
  }
}

TEST(G711Test, UlawDecodeMatchesSegmentFormulaForEveryCode) {
  for (int code = 0; code < 256; ++code) {
    const auto c = static_cast<uint8_t>(code);
    ASSERT_EQ(UlawToLinear(c), ReferenceUlawDecode(c)) << "code " << code;
  }
}

TEST(G711Test, AlawEncodeMatchesSegmentFormulaForEveryInput) {
  for (int x = kMinSample; x <= kMaxSample; ++x) {
    const auto sample = static_cast<int16_t>(x);
    ASSERT_EQ(int{LinearToAlaw(sample)}, int{ReferenceAlawEncode(sample)}) << "input " << x;
  }
}

TEST(G711Test, AlawDecodeMatchesSegmentFormulaForEveryCode) {
  for (int code = 0; code < 256; ++code) {
    const auto c = static_cast<uint8_t>(code);
    ASSERT_EQ(AlawToLinear(c), ReferenceAlawDecode(c)) << "code " << code;
  }
}

TEST(G711Test, ReferenceAndCodecAgreeOnAnchorValuesFromTheStandard) {
  struct Anchor {
    uint8_t code;
    int16_t value;
  };
  // µ-law: 0xFF and 0x7F are +0 and -0; 0x80 / 0x00 are the extremes, 8031 on
  // the 14-bit scale.
  for (const Anchor& a : {Anchor{0xFF, 0}, Anchor{0x7F, 0}, Anchor{0x80, 32124},
                          Anchor{0x00, -32124}, Anchor{0xFE, 8}, Anchor{0x7E, -8}}) {
    EXPECT_EQ(ReferenceUlawDecode(a.code), a.value) << "code " << int{a.code};
    EXPECT_EQ(UlawToLinear(a.code), a.value) << "code " << int{a.code};
  }
  // A-law: 0xD5 / 0x55 are the smallest levels (1 on the 13-bit scale), 0xAA /
  // 0x2A the extremes (4032).
  for (const Anchor& a : {Anchor{0xD5, 8}, Anchor{0x55, -8}, Anchor{0xAA, 32256},
                          Anchor{0x2A, -32256}}) {
    EXPECT_EQ(ReferenceAlawDecode(a.code), a.value) << "code " << int{a.code};
    EXPECT_EQ(AlawToLinear(a.code), a.value) << "code " << int{a.code};
  }
  EXPECT_EQ(ReferenceUlawEncode(0), 0xFF);
  EXPECT_EQ(LinearToUlaw(0), 0xFF);
  EXPECT_EQ(ReferenceAlawEncode(0), 0xD5);
  EXPECT_EQ(LinearToAlaw(0), 0xD5);
  // Full scale clips to the extreme code words.
  EXPECT_EQ(LinearToUlaw(32767), 0x80);
  EXPECT_EQ(LinearToUlaw(-32768), 0x00);
  EXPECT_EQ(LinearToAlaw(32767), 0xAA);
  EXPECT_EQ(LinearToAlaw(-32768), 0x2A);
}

// Pins the ITU-T G.191 treatment of negative input (ones' complement). The
// common 14-bit Sun g711.c computes -(x >> 2) instead and would give 0x7E for
// -1..-4; the ITU-T reference and WebRTC give 0x7F (negative zero).
TEST(G711Test, UlawNegativeInputUsesOnesComplementMagnitudeLikeTheItuReference) {
  EXPECT_EQ(LinearToUlaw(-1), 0x7F);
  EXPECT_EQ(LinearToUlaw(-4), 0x7F);
  EXPECT_EQ(LinearToUlaw(-5), 0x7E);
  EXPECT_EQ(LinearToUlaw(3), 0xFF);
  EXPECT_EQ(LinearToUlaw(4), 0xFE);
}

TEST(G711Test, EncodeIsSymmetricAboutMinusOneHalf) {
  for (int x = 0; x <= kMaxSample; ++x) {
    const auto positive = static_cast<int16_t>(x);
    const auto negative = static_cast<int16_t>(-x - 1);
    ASSERT_EQ(LinearToUlaw(negative), LinearToUlaw(positive) ^ 0x80) << "input " << x;
    ASSERT_EQ(LinearToAlaw(negative), LinearToAlaw(positive) ^ 0x80) << "input " << x;
  }
}

TEST(G711Test, UlawEveryCodeRoundTripsExceptNegativeZero) {
  for (int code = 0; code < 256; ++code) {
    const auto c = static_cast<uint8_t>(code);
    // 0x7F is negative zero: it decodes to 0, and 0 encodes as positive zero.
    const int expected = code == 0x7F ? 0xFF : code;
    EXPECT_EQ(int{LinearToUlaw(UlawToLinear(c))}, expected) << "code " << code;
  }
}

TEST(G711Test, AlawEveryCodeRoundTrips) {
  // A-law has no zero level (its smallest are +-8), so every code survives.
  for (int code = 0; code < 256; ++code) {
    const auto c = static_cast<uint8_t>(code);
    EXPECT_EQ(int{LinearToAlaw(AlawToLinear(c))}, code) << "code " << code;
  }
}

TEST(G711Test, UlawDecodedValuesAreMonotonicInCodeOrderWithinEachSign) {
  // Positive codes 0x80..0xFF run from the largest level down to zero; negative
  // codes 0x00..0x7F from the most negative up to zero.
  const auto decode = [](int code) { return UlawToLinear(static_cast<uint8_t>(code)); };
  for (int code = 0x80; code < 0xFF; ++code) {
    EXPECT_GT(decode(code), decode(code + 1)) << "code " << code;
  }
  for (int code = 0x00; code < 0x7F; ++code) {
    EXPECT_LT(decode(code), decode(code + 1)) << "code " << code;
  }
}

TEST(G711Test, AlawDecodedValuesAreMonotonicInCodeOrderWithinEachSign) {
  // The wire order is scrambled by the even-bit inversion, so walk the code
  // order before it: magnitude grows with the 7 low bits of code ^ 0x55.
  const auto decode = [](int raw) { return AlawToLinear(static_cast<uint8_t>(raw ^ 0x55)); };
  for (int raw = 0x80; raw < 0xFF; ++raw) {
    EXPECT_LT(decode(raw), decode(raw + 1)) << "raw " << raw;
  }
  for (int raw = 0x00; raw < 0x7F; ++raw) {
    EXPECT_GT(decode(raw), decode(raw + 1)) << "raw " << raw;
  }
}

TEST(G711Test, SpanFunctionsMatchSingleSampleFunctionsForEveryInput) {
  std::vector<int16_t> pcm;
  for (int x = kMinSample; x <= kMaxSample; ++x) pcm.push_back(static_cast<int16_t>(x));
  std::vector<uint8_t> ulaw(pcm.size());
  std::vector<uint8_t> alaw(pcm.size());
  EncodeUlaw(pcm, ulaw);
  EncodeAlaw(pcm, alaw);
  for (size_t i = 0; i < pcm.size(); ++i) {
    ASSERT_EQ(ulaw[i], LinearToUlaw(pcm[i])) << "input " << pcm[i];
    ASSERT_EQ(alaw[i], LinearToAlaw(pcm[i])) << "input " << pcm[i];
  }

  std::vector<uint8_t> codes;
  for (int code = 0; code < 256; ++code) codes.push_back(static_cast<uint8_t>(code));
  std::vector<int16_t> ulaw_pcm(codes.size());
  std::vector<int16_t> alaw_pcm(codes.size());
  DecodeUlaw(codes, ulaw_pcm);
  DecodeAlaw(codes, alaw_pcm);
  for (size_t i = 0; i < codes.size(); ++i) {
    EXPECT_EQ(ulaw_pcm[i], UlawToLinear(codes[i])) << "code " << i;
    EXPECT_EQ(alaw_pcm[i], AlawToLinear(codes[i])) << "code " << i;
  }
}

TEST(G711Test, SpanFunctionsAgreeWithSingleSampleFunctionsForAnyLengthAndAlignment) {
  // Frames are encoded in blocks of several samples with a per-sample tail;
  // neither may depend on the frame's length or on the buffers' alignment.
  // Bytes outside the output span must stay untouched.
  constexpr uint8_t kGuard = 0xEE;
  constexpr size_t kSlack = 4;
  std::vector<int16_t> pcm;
  for (int i = 0; i < 64; ++i) pcm.push_back(static_cast<int16_t>(i * 1031 - 32768 + (i % 3)));
  for (size_t offset = 0; offset < 4; ++offset) {
    for (size_t length = 0; length + offset <= pcm.size(); ++length) {
      const std::span<const int16_t> in = std::span(pcm).subspan(offset, length);
      const size_t start = 1 + offset % 3;
      std::vector<uint8_t> ulaw(length + kSlack, kGuard);
      std::vector<uint8_t> alaw(length + kSlack, kGuard);
      EncodeUlaw(in, std::span(ulaw).subspan(start, length));
      EncodeAlaw(in, std::span(alaw).subspan(start, length));
      for (size_t i = 0; i < ulaw.size(); ++i) {
        const bool inside = i >= start && i < start + length;
        ASSERT_EQ(ulaw[i], inside ? LinearToUlaw(in[i - start]) : kGuard) << "length " << length;
        ASSERT_EQ(alaw[i], inside ? LinearToAlaw(in[i - start]) : kGuard) << "length " << length;
      }
    }
  }
}

TEST(G711Test, CodecErrorNameNamesEveryError) {
  EXPECT_EQ(CodecErrorName(CodecError::kOutputTooSmall), "OUTPUT_TOO_SMALL");
  EXPECT_EQ(CodecErrorName(CodecError::kBadPayload), "BAD_PAYLOAD");
  EXPECT_EQ(CodecErrorName(CodecError::kBadFrameSize), "BAD_FRAME_SIZE");
}

// ---------------------------------------------------------------------------
// The AudioEncoder / AudioDecoder implementations, for both laws.
// ---------------------------------------------------------------------------

constexpr size_t kFrame = 160;  // 20 ms at 8 kHz.
constexpr size_t kSamplesPerMs = 8;
using Frame = std::array<int16_t, kFrame>;

// A 1 kHz tone at 8 kHz has a period of exactly 8 samples, so `start` picks the
// phase and any frame continues the previous one.
Frame Tone(size_t start = 0, double amplitude = 12000.0) {
  Frame frame{};
  for (size_t i = 0; i < kFrame; ++i) {
    const double t = static_cast<double>(start + i) / 8000.0;
    const double value = amplitude * std::sin(2.0 * std::numbers::pi * 1000.0 * t);
    frame[i] = static_cast<int16_t>(std::lround(value));
  }
  return frame;
}

int64_t Energy(std::span<const int16_t> pcm) {
  int64_t energy = 0;
  for (int16_t s : pcm) energy += int32_t{s} * s;
  return energy;
}

bool IsSilent(std::span<const int16_t> pcm) { return Energy(pcm) == 0; }

class G711CodecTest : public ::testing::TestWithParam<G711Law> {
 protected:
  G711Law law() const { return GetParam(); }
  int16_t ReferenceRoundTrip(int16_t x) const {
    return law() == G711Law::kUlaw ? ReferenceUlawDecode(ReferenceUlawEncode(x))
                                   : ReferenceAlawDecode(ReferenceAlawEncode(x));
  }
  // Encodes `pcm` and decodes it into `decoder`; returns the decoded frame.
  Frame DecodeFrame(G711Decoder& decoder, const Frame& pcm) const {
    G711Encoder encoder(law());
    std::array<uint8_t, kFrame> payload{};
    EXPECT_EQ(encoder.Encode(pcm, payload), kFrame);
    Frame out{};
    EXPECT_EQ(decoder.Decode(payload, out), kFrame);
    return out;
  }
};

TEST_P(G711CodecTest, InfoDescribesTheRtpPayloadFormat) {
  const CodecInfo info = G711Encoder(law()).info();
  EXPECT_EQ(info.name, law() == G711Law::kUlaw ? "PCMU" : "PCMA");
  EXPECT_EQ(info.sample_rate_hz, 8000);
  EXPECT_EQ(info.rtp_clock_rate_hz, 8000);
  EXPECT_EQ(info.channels, 1);
  const CodecInfo decoder_info = G711Decoder(law()).info();
  EXPECT_EQ(decoder_info.name, info.name);
  EXPECT_EQ(decoder_info.sample_rate_hz, 8000);
  EXPECT_EQ(decoder_info.rtp_clock_rate_hz, 8000);
  EXPECT_EQ(decoder_info.channels, 1);
}

TEST_P(G711CodecTest, EncodesA160SampleFrameInto160Bytes) {
  G711Encoder encoder(law());
  EXPECT_EQ(encoder.MaxEncodedBytes(kFrame), kFrame);
  const Frame pcm = Tone();
  std::array<uint8_t, 2 * kFrame> payload{};
  const auto written = encoder.Encode(pcm, payload);
  ASSERT_TRUE(written.has_value());
  EXPECT_EQ(*written, kFrame);
}

TEST_P(G711CodecTest, DecodingAnEncodedFrameGivesTheQuantisedSignal) {
  G711Decoder decoder(law());
  const Frame pcm = Tone();
  const Frame decoded = DecodeFrame(decoder, pcm);
  for (size_t i = 0; i < kFrame; ++i) {
    EXPECT_EQ(decoded[i], ReferenceRoundTrip(pcm[i])) << "sample " << i;
  }
}

TEST_P(G711CodecTest, EncodeReportsOutputTooSmallAndEmptyFrames) {
  G711Encoder encoder(law());
  const Frame pcm = Tone();
  std::array<uint8_t, kFrame - 1> small{};
  const auto too_small = encoder.Encode(pcm, small);
  ASSERT_FALSE(too_small.has_value());
  EXPECT_EQ(too_small.error(), CodecError::kOutputTooSmall);

  std::array<uint8_t, kFrame> payload{};
  const auto empty = encoder.Encode(std::span<const int16_t>(), payload);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error(), CodecError::kBadFrameSize);
}

TEST_P(G711CodecTest, DecodeReportsOutputTooSmallAndEmptyPayloads) {
  G711Decoder decoder(law());
  const std::array<uint8_t, kFrame> payload{};
  std::array<int16_t, kFrame - 1> small{};
  const auto too_small = decoder.Decode(payload, small);
  ASSERT_FALSE(too_small.has_value());
  EXPECT_EQ(too_small.error(), CodecError::kOutputTooSmall);

  Frame out{};
  const auto empty = decoder.Decode(std::span<const uint8_t>(), out);
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error(), CodecError::kBadPayload);
}

TEST_P(G711CodecTest, ConcealWithNothingDecodedIsSilent) {
  G711Decoder decoder(law());
  Frame out;
  out.fill(1234);
  EXPECT_EQ(decoder.Conceal(out), kFrame);
  EXPECT_TRUE(IsSilent(out));
}

TEST_P(G711CodecTest, ConcealAfterAToneContinuesItAtFullLevelForTheFirst10Ms) {
  G711Decoder decoder(law());
  Frame last{};
  for (size_t frame = 0; frame < 3; ++frame) last = DecodeFrame(decoder, Tone(frame * kFrame));

  Frame concealed{};
  ASSERT_EQ(decoder.Conceal(concealed), kFrame);
  // The tone's period (8 samples) divides the shortest pitch lag (40), and the
  // quantised tone is as periodic as the tone, so the first 10 ms are exactly
  // the samples that were lost.
  const Frame next = Tone(3 * kFrame);
  for (size_t i = 0; i < 10 * kSamplesPerMs; ++i) {
    EXPECT_EQ(concealed[i], ReferenceRoundTrip(next[i])) << "sample " << i;
  }
  // The second 10 ms fade from full level to 80% of it, never above the tone.
  for (size_t i = 10 * kSamplesPerMs; i < kFrame; ++i) {
    EXPECT_LE(std::abs(int{concealed[i]}), std::abs(int{ReferenceRoundTrip(next[i])}));
  }
  EXPECT_GT(Energy(concealed), Energy(last) * 8 / 10);
  EXPECT_LT(Energy(concealed), Energy(last));
}

TEST_P(G711CodecTest, ShortLossMergesIntoTheNextFrameThenDecodesExactly) {
  G711Decoder decoder(law());
  for (size_t frame = 0; frame < 3; ++frame) DecodeFrame(decoder, Tone(frame * kFrame));
  Frame concealed{};
  ASSERT_EQ(decoder.Conceal(concealed), kFrame);

  // The concealment continued the tone in phase at 80% level; the merge (a
  // quarter of the 40-sample period plus 2 ms, 26 samples) fades from it to
  // the decoded frame, so it stays between the two (the fade has gone on).
  const Frame pcm = Tone(4 * kFrame);
  const Frame decoded = DecodeFrame(decoder, pcm);
  constexpr size_t kMerge = 40 / 4 + 2 * kSamplesPerMs;
  for (size_t i = 0; i < kMerge; ++i) {
    const int exact = ReferenceRoundTrip(pcm[i]);
    EXPECT_LE(std::abs(int{decoded[i]}), std::abs(exact)) << "sample " << i;
    EXPECT_GE(std::abs(int{decoded[i]}), std::abs(exact) * 3 / 4) << "sample " << i;
  }
  for (size_t i = kMerge; i < kFrame; ++i) {
    EXPECT_EQ(decoded[i], ReferenceRoundTrip(pcm[i])) << "sample " << i;
  }
  // Only the first good frame after a loss is merged.
  const Frame after = Tone(5 * kFrame);
  const Frame next = DecodeFrame(decoder, after);
  for (size_t i = 0; i < kFrame; ++i) EXPECT_EQ(next[i], ReferenceRoundTrip(after[i]));
}

TEST_P(G711CodecTest, ConcealIsSilentAfter60MsOfConsecutiveLoss) {
  G711Decoder decoder(law());
  for (size_t frame = 0; frame < 3; ++frame) DecodeFrame(decoder, Tone(frame * kFrame));

  // 60 ms of loss in 10 ms pieces, then everything after is silence.
  std::array<int16_t, 10 * kSamplesPerMs> piece{};
  for (int i = 0; i < 6; ++i) ASSERT_EQ(decoder.Conceal(piece), piece.size());
  for (int i = 0; i < 10; ++i) {
    piece.fill(1234);
    ASSERT_EQ(decoder.Conceal(piece), piece.size());
    EXPECT_TRUE(IsSilent(piece)) << "piece " << i << " after 60 ms";
  }
}

TEST_P(G711CodecTest, ConcealInPiecesGivesTheSameSamplesAsInOneCall) {
  G711Decoder whole(law());
  G711Decoder pieces(law());
  for (size_t frame = 0; frame < 2; ++frame) {
    DecodeFrame(whole, Tone(frame * kFrame));
    DecodeFrame(pieces, Tone(frame * kFrame));
  }
  Frame expected{};
  ASSERT_EQ(whole.Conceal(expected), kFrame);
  Frame actual{};
  const std::span<int16_t> out(actual);
  ASSERT_EQ(pieces.Conceal(out.first(7)), 7u);
  ASSERT_EQ(pieces.Conceal(out.subspan(7, 73)), 73u);
  ASSERT_EQ(pieces.Conceal(out.subspan(80)), 80u);
  EXPECT_EQ(actual, expected);
}

TEST_P(G711CodecTest, GoodFrameAfterLongLossFadesInThenDecodesExactlyAndRestartsConcealment) {
  G711Decoder decoder(law());
  DecodeFrame(decoder, Tone());
  Frame concealed{};
  for (int i = 0; i < 4; ++i) ASSERT_EQ(decoder.Conceal(concealed), kFrame);
  ASSERT_TRUE(IsSilent(concealed));

  // After 80 ms of loss the merge is the longest, 10 ms, and merges with
  // silence: a fade-in.
  const Frame pcm = Tone(5 * kFrame);
  const Frame decoded = DecodeFrame(decoder, pcm);
  constexpr size_t kMerge = 10 * kSamplesPerMs;
  for (size_t i = 0; i < kMerge; ++i) {
    EXPECT_LE(std::abs(int{decoded[i]}), std::abs(int{ReferenceRoundTrip(pcm[i])}));
  }
  EXPECT_LT(Energy(std::span(decoded).first(kMerge)),
            Energy(std::span(decoded).subspan(kMerge, kMerge)) * 6 / 10);
  for (size_t i = kMerge; i < kFrame; ++i) EXPECT_EQ(decoded[i], ReferenceRoundTrip(pcm[i]));

  ASSERT_EQ(decoder.Conceal(concealed), kFrame);
  EXPECT_FALSE(IsSilent(concealed));
}

TEST_P(G711CodecTest, FailedDecodeLeavesConcealmentUntouched) {
  G711Decoder failed(law());
  G711Decoder clean(law());
  DecodeFrame(failed, Tone());
  DecodeFrame(clean, Tone());
  Frame first{};
  ASSERT_EQ(failed.Conceal(first), kFrame);
  ASSERT_EQ(clean.Conceal(first), kFrame);

  Frame out{};
  ASSERT_FALSE(failed.Decode(std::span<const uint8_t>(), out).has_value());
  Frame expected{};
  Frame actual{};
  ASSERT_EQ(clean.Conceal(expected), kFrame);
  ASSERT_EQ(failed.Conceal(actual), kFrame);
  EXPECT_EQ(actual, expected);
}

TEST_P(G711CodecTest, ResetForgetsHistoryAndTheLossUnderWay) {
  G711Decoder decoder(law());
  DecodeFrame(decoder, Tone());
  Frame out{};
  ASSERT_EQ(decoder.Conceal(out), kFrame);
  decoder.Reset();
  ASSERT_EQ(decoder.Conceal(out), kFrame);
  EXPECT_TRUE(IsSilent(out));
  // No merge either: the next frame is as decoded.
  const Frame pcm = Tone(2 * kFrame);
  const Frame decoded = DecodeFrame(decoder, pcm);
  for (size_t i = 0; i < kFrame; ++i) EXPECT_EQ(decoded[i], ReferenceRoundTrip(pcm[i]));
}

TEST_P(G711CodecTest, ConcealsFromAShortFirstPacket) {
  // Less history than one pitch search needs: it repeats what it has.
  G711Decoder decoder(law());
  const Frame pcm = Tone();
  std::array<uint8_t, 50> payload{};
  G711Encoder encoder(law());
  ASSERT_EQ(encoder.Encode(std::span(pcm).first(payload.size()), payload), payload.size());
  std::array<int16_t, 50> decoded{};
  ASSERT_EQ(decoder.Decode(payload, decoded), payload.size());
  Frame out{};
  ASSERT_EQ(decoder.Conceal(out), kFrame);
  EXPECT_FALSE(IsSilent(out));
}

TEST_P(G711CodecTest, DecodesPayloadsLongerThanTheHistory) {
  // 120 ms in one payload: more than the 48.75 ms the decoder remembers.
  G711Decoder decoder(law());
  std::vector<int16_t> pcm;
  for (size_t frame = 0; frame < 6; ++frame) {
    const Frame f = Tone(frame * kFrame);
    pcm.insert(pcm.end(), f.begin(), f.end());
  }
  std::vector<uint8_t> payload(pcm.size());
  G711Encoder encoder(law());
  ASSERT_EQ(encoder.Encode(pcm, payload), pcm.size());
  std::vector<int16_t> decoded(pcm.size());
  ASSERT_EQ(decoder.Decode(payload, decoded), pcm.size());
  for (size_t i = 0; i < pcm.size(); ++i) ASSERT_EQ(decoded[i], ReferenceRoundTrip(pcm[i]));

  Frame concealed{};
  ASSERT_EQ(decoder.Conceal(concealed), kFrame);
  EXPECT_NEAR(concealed[0], ReferenceRoundTrip(Tone(pcm.size())[0]), 100);
}

INSTANTIATE_TEST_SUITE_P(BothLaws, G711CodecTest,
                         ::testing::Values(G711Law::kUlaw, G711Law::kAlaw),
                         [](const ::testing::TestParamInfo<G711Law>& param_info) {
                           return std::string(param_info.param == G711Law::kUlaw ? "Ulaw" : "Alaw");
                         });

}  // namespace
}  // namespace earshot

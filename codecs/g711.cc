#include "codecs/g711.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "codecs/check.h"

namespace earshot {
namespace {

// µ-law adds 33 to the 14-bit magnitude so that every segment starts at a power
// of two (segment s spans [32 << s, 64 << s) once biased); 0x84 is the same bias
// in 16-bit units.
constexpr int kUlawBias14 = 33;
constexpr int kUlawBias16 = kUlawBias14 << 2;
// The largest biased 14-bit magnitude: the top of segment 7. Larger inputs clip.
constexpr int kUlawMaxBiased = 0x1FFF;
// A-law inverts the even bits of the code word (G.711 §2), to keep enough
// transitions on the line during silence.
constexpr uint8_t kAlawEvenBits = 0x55;

constexpr int16_t UlawCodeToLinear(uint8_t code) {
  const int inverted = static_cast<uint8_t>(~code);
  const int segment = (inverted >> 4) & 0x7;
  const int step = inverted & 0xF;
  // Middle of the quantisation interval, biased, in 16-bit units: steps are
  // 8 << segment wide and the interval's midpoint is half a step in.
  const int magnitude = (((step << 3) + kUlawBias16) << segment) - kUlawBias16;
  return static_cast<int16_t>((inverted & 0x80) != 0 ? -magnitude : magnitude);
}

constexpr int16_t AlawCodeToLinear(uint8_t code) {
  const int toggled = code ^ kAlawEvenBits;
  const int segment = (toggled >> 4) & 0x7;
  const int step = toggled & 0xF;
  // Segments 0 and 1 share a step of 16 (2 in 13-bit units); from segment 2 on
  // each step doubles. +8 is half a step of segment 0: the interval's midpoint.
  int magnitude = (step << 4) + 8;
  if (segment > 0) magnitude = (magnitude + 0x100) << (segment - 1);
  return static_cast<int16_t>((toggled & 0x80) != 0 ? magnitude : -magnitude);
}

constexpr std::array<int16_t, 256> MakeDecodeTable(int16_t (*code_to_linear)(uint8_t)) {
  std::array<int16_t, 256> table{};
  for (int code = 0; code < 256; ++code) {
    table[code] = code_to_linear(static_cast<uint8_t>(code));
  }
  return table;
}

// 512 bytes each: eight cache lines, so keep them line-aligned.
alignas(64) constexpr std::array<int16_t, 256> kUlawToLinear = MakeDecodeTable(UlawCodeToLinear);
alignas(64) constexpr std::array<int16_t, 256> kAlawToLinear = MakeDecodeTable(AlawCodeToLinear);

// Anchors from G.711's tables; the tests check every entry against an
// independent reference.
static_assert(kUlawToLinear[0xFF] == 0 && kUlawToLinear[0x7F] == 0);
static_assert(kUlawToLinear[0x80] == 32124 && kUlawToLinear[0x00] == -32124);
static_assert(kAlawToLinear[0xD5] == 8 && kAlawToLinear[0x55] == -8);
static_assert(kAlawToLinear[0xAA] == 32256 && kAlawToLinear[0x2A] == -32256);

// Encoding finds G.711's segment and step through the FPU. Converting a
// positive int below 2^24 to float is exact and normalises it: the exponent
// becomes floor(log2(v)) + 127 and the bits below the leading one move to the
// top of the mantissa. A segment is a power-of-two range and its step is the
// four bits below the leading one, so the float's bits 19..30, read as an
// integer, are exactly 16 * (exponent field) + step: a count-leading-zeros and a
// variable shift in one conversion. Unlike BSR/LZCNT and per-lane shifts, that
// conversion also exists for vector lanes on baseline SSE2 and NEON.
constexpr int kFloatExponentBias = 127;
constexpr int kFloatMantissaBits = 23;
constexpr int kSegmentAndStepShift = kFloatMantissaBits - 4;
// Biased µ-law segment 0 starts at 2^5, so exponent 5 is segment 0.
constexpr int kUlawFloatOffset = (kFloatExponentBias + 5) << 4;
// Halved A-law segment 1 starts at 2^4, so exponent 4 is segment 1.
constexpr int kAlawFloatOffset = (kFloatExponentBias + 3) << 4;

inline int SegmentAndStepBits(int positive) {
  return std::bit_cast<int32_t>(static_cast<float>(positive)) >> kSegmentAndStepShift;
}

// Both encoders work on `sample ^ sign`, which is the sample for x >= 0 and its
// ones' complement (-x - 1) for x < 0: the ITU-T reference's magnitude (see
// g711.h). `sign` is 0 or -1; right shift of a negative int is arithmetic
// since C++20.
inline uint8_t EncodeUlawSample(int16_t sample) {
  const int sign = sample >> 15;
  // 33..8191: the top 14 bits' magnitude plus the bias, clipped to segment 7.
  const int biased = std::min(((sample ^ sign) >> 2) + kUlawBias14, kUlawMaxBiased);
  const int segment_and_step = SegmentAndStepBits(biased) - kUlawFloatOffset;
  // µ-law sends every bit inverted; the sign bit ends up 1 for positive.
  const int invert = 0xFF ^ (sign & 0x80);
  return static_cast<uint8_t>(segment_and_step ^ invert);
}

inline uint8_t EncodeAlawSample(int16_t sample) {
  const int sign = sample >> 15;
  // The 13-bit magnitude halved, 0..2047: segments 0 and 1 have a step of 2,
  // so the lowest bit never matters.
  const int half = (sample ^ sign) >> 4;
  // Segment 0, [0, 16), has no leading one to normalise away: it is sent as
  // is (and segment 1's float formula also gives 16..31 as is).
  const int segment_and_step = half < 16 ? half : SegmentAndStepBits(half) - kAlawFloatOffset;
  const int sign_bit = ~sign & 0x80;  // 1 for positive.
  return static_cast<uint8_t>((sign_bit | segment_and_step) ^ kAlawEvenBits);
}

// The same two encoders on 8 samples at once, written with GCC/Clang vector
// extensions so that they lower to SSE2 on x86-64 and NEON on Arm without
// intrinsics or -march flags: about 4 instructions per sample against the
// scalar loop's 15 or so (see bench/g711_bench.cc). The scalar versions above
// stay for single samples and frame tails, and g711_test.cc checks that the
// two agree on every input (STYLE.md §3).
//
// GCC 12 lowering quirks shape the code: a comparison of vectors wider than
// the hardware's may be done lane by lane in scalar code, so min and select
// use masks made by arithmetic shifts; and narrowing 32-bit lanes to 16 bits
// takes seven shuffles on SSE2, so the lanes stay 16 bits wide except around
// the int-to-float conversion (SegmentAndStepBits16).
constexpr size_t kLanes = 8;
typedef int16_t Int16x8 __attribute__((vector_size(16)));
typedef int32_t Int32x4 __attribute__((vector_size(16)));
typedef float Float32x4 __attribute__((vector_size(16)));
typedef uint8_t Uint8x8 __attribute__((vector_size(8)));

// Every value narrowed here is a code word, 0..255, so truncating is exact.
inline Uint8x8 NarrowToBytes(Int16x8 codes) { return __builtin_convertvector(codes, Uint8x8); }

// Only the int-to-float conversion needs 32-bit lanes: every other step works
// on 16-bit ones (magnitudes below 2^13, segment-and-step bits below 2^12),
// which on SSE2 or NEON is one instruction per 8 samples rather than two.
// The 32-bit lanes hold the even and the odd 16-bit lanes (the low and high
// halves of each pair, little-endian), so that going back to 16 bits is a
// mask and an OR instead of a shuffle (GCC 12 narrows int32 to int16 lanes
// with seven shuffles on SSE2).
inline Int16x8 SegmentAndStepBits16(Int16x8 positive) {
  static_assert(std::endian::native == std::endian::little,
                "the lanes are paired as little-endian halves of 32-bit lanes");
  const Int32x4 pairs = __builtin_bit_cast(Int32x4, positive);
  const Int32x4 even = pairs & 0xFFFF;  // `positive`: no sign to extend.
  const Int32x4 odd = pairs >> 16;
  const Int32x4 even_bits =
      __builtin_bit_cast(Int32x4, __builtin_convertvector(even, Float32x4)) >> kSegmentAndStepShift;
  // The odd lane's bits, already moved up to the high half.
  const Int32x4 odd_bits =
      (__builtin_bit_cast(Int32x4, __builtin_convertvector(odd, Float32x4)) >>
       (kSegmentAndStepShift - 16)) &
      static_cast<int32_t>(0xFFFF0000u);
  return __builtin_bit_cast(Int16x8, even_bits | odd_bits);
}

inline Uint8x8 EncodeUlawLanes(Int16x8 pcm) {
  const Int16x8 sign = pcm >> 15;
  const Int16x8 unclipped = ((pcm ^ sign) >> 2) + kUlawBias14;  // 33..8224
  const Int16x8 over = (kUlawMaxBiased - unclipped) >> 15;     // -1 where it clips.
  const Int16x8 biased = (unclipped & ~over) | (kUlawMaxBiased & over);
  const Int16x8 segment_and_step = SegmentAndStepBits16(biased) - kUlawFloatOffset;
  return NarrowToBytes(segment_and_step ^ (0xFF ^ (sign & 0x80)));
}

inline Uint8x8 EncodeAlawLanes(Int16x8 pcm) {
  const Int16x8 sign = pcm >> 15;
  const Int16x8 half = (pcm ^ sign) >> 4;  // 0..2047
  const Int16x8 low = (half - 16) >> 15;   // -1 in segment 0.
  // Segment 0 lanes take `half` itself, as in the scalar version.
  const Int16x8 from_float = SegmentAndStepBits16(half) - kAlawFloatOffset;
  const Int16x8 segment_and_step = (half & low) | (from_float & ~low);
  return NarrowToBytes(((~sign & 0x80) | segment_and_step) ^ kAlawEvenBits);
}

template <Uint8x8 (*kEncodeLanes)(Int16x8), uint8_t (*kEncodeSample)(int16_t)>
void EncodeFrame(std::span<const int16_t> pcm, std::span<uint8_t> out) {
  EARSHOT_CHECK(out.size() >= pcm.size());
  const int16_t* in = pcm.data();
  uint8_t* dst = out.data();
  size_t i = 0;
  for (; i + kLanes <= pcm.size(); i += kLanes) {
    // memcpy, not a cast: the spans need not be aligned for vector types.
    Int16x8 block;
    std::memcpy(&block, in + i, sizeof(block));
    const Uint8x8 codes = kEncodeLanes(block);
    std::memcpy(dst + i, &codes, sizeof(codes));
  }
  for (; i < pcm.size(); ++i) dst[i] = kEncodeSample(in[i]);
}

}  // namespace

uint8_t LinearToUlaw(int16_t sample) { return EncodeUlawSample(sample); }
int16_t UlawToLinear(uint8_t code) { return kUlawToLinear[code]; }
uint8_t LinearToAlaw(int16_t sample) { return EncodeAlawSample(sample); }
int16_t AlawToLinear(uint8_t code) { return kAlawToLinear[code]; }

void EncodeUlaw(std::span<const int16_t> pcm, std::span<uint8_t> out) {
  EncodeFrame<EncodeUlawLanes, EncodeUlawSample>(pcm, out);
}

void DecodeUlaw(std::span<const uint8_t> codes, std::span<int16_t> out) {
  EARSHOT_CHECK(out.size() >= codes.size());
  const uint8_t* in = codes.data();
  int16_t* dst = out.data();
  for (size_t i = 0; i < codes.size(); ++i) dst[i] = kUlawToLinear[in[i]];
}

void EncodeAlaw(std::span<const int16_t> pcm, std::span<uint8_t> out) {
  EncodeFrame<EncodeAlawLanes, EncodeAlawSample>(pcm, out);
}

void DecodeAlaw(std::span<const uint8_t> codes, std::span<int16_t> out) {
  EARSHOT_CHECK(out.size() >= codes.size());
  const uint8_t* in = codes.data();
  int16_t* dst = out.data();
  for (size_t i = 0; i < codes.size(); ++i) dst[i] = kAlawToLinear[in[i]];
}

CodecInfo G711CodecInfo(G711Law law) {
  return CodecInfo{
      .name = law == G711Law::kUlaw ? "PCMU" : "PCMA",
      .sample_rate_hz = 8000,
      .rtp_clock_rate_hz = 8000,
      .channels = 1,
  };
}

tl::expected<size_t, CodecError> G711Encoder::Encode(std::span<const int16_t> pcm,
                                                     std::span<uint8_t> out) {
  if (pcm.empty()) return tl::make_unexpected(CodecError::kBadFrameSize);
  if (out.size() < pcm.size()) return tl::make_unexpected(CodecError::kOutputTooSmall);
  if (law_ == G711Law::kUlaw) {
    EncodeUlaw(pcm, out);
  } else {
    EncodeAlaw(pcm, out);
  }
  return pcm.size();
}

tl::expected<size_t, CodecError> G711Decoder::Decode(std::span<const uint8_t> payload,
                                                     std::span<int16_t> out) {
  // Every byte string is valid G.711, but an empty one carries no frame: let the
  // caller conceal rather than treat it as zero samples of audio.
  if (payload.empty()) return tl::make_unexpected(CodecError::kBadPayload);
  if (out.size() < payload.size()) return tl::make_unexpected(CodecError::kOutputTooSmall);
  const std::span<int16_t> decoded = out.first(payload.size());
  if (law_ == G711Law::kUlaw) {
    DecodeUlaw(payload, decoded);
  } else {
    DecodeAlaw(payload, decoded);
  }
  // After a loss this rewrites the start of `decoded` (the merge).
  plc_.AddGoodFrame(decoded);
  return payload.size();
}

size_t G711Decoder::Conceal(std::span<int16_t> out) {
  plc_.Conceal(out);
  return out.size();
}

}  // namespace earshot

#pragma once
// Strong value types for RTP header fields (STYLE.md §4). No default
// constructors: a value is always made from an explicit number.
//
// Wrap-around model. Sequence numbers (16 bits) and timestamps (32 bits) are
// points on a circle, not integers: 0x0001 follows 0xFFFF. Comparison uses
// serial-number arithmetic in the manner of RFC 1982 and WebRTC's IsNewer:
// `a` is newer than `b` when the forward distance (a - b) mod 2^N lies in
// (0, 2^(N-1)). At exactly half way (distance 2^(N-1)) both directions are
// equally far; like WebRTC we break the tie by calling the larger raw value the
// newer one, so that of two distinct values exactly one is newer.
//
// WARNING: IsNewerThan is NOT a strict weak order (it is not transitive:
// 0 < 0x5000 < 0xA000 < 0 around the circle). Never use it as the comparator of
// std::map, std::set or std::sort; doing so is undefined behaviour. When values
// must be ordered, unwrap them first (SequenceUnwrapper, TimestampUnwrapper)
// and order the int64 results.

#include <compare>
#include <cstdint>
#include <limits>
#include <optional>

namespace earshot {

// Synchronisation source identifier (RFC 3550 §5.1).
class Ssrc {
 public:
  constexpr explicit Ssrc(uint32_t value) : value_(value) {}
  constexpr uint32_t value() const { return value_; }
  friend constexpr bool operator==(Ssrc, Ssrc) = default;

 private:
  uint32_t value_;
};

// RTP payload type: 7 bits (RFC 3550 §5.1).
class PayloadType {
 public:
  static constexpr uint8_t kMax = 127;
  // Keeps the low 7 bits; callers that accept input validate with IsValid first.
  constexpr explicit PayloadType(uint8_t value) : value_(value & kMax) {}
  static constexpr bool IsValid(unsigned value) { return value <= kMax; }
  constexpr uint8_t value() const { return value_; }
  friend constexpr bool operator==(PayloadType, PayloadType) = default;

 private:
  uint8_t value_;
};

namespace internal {

// Serial-number "newer than" for an unsigned wire width U (see the header
// comment for the half-way rule).
template <typename U>
constexpr bool IsNewerSerial(U value, U prev) {
  static_assert(!std::numeric_limits<U>::is_signed, "U must be unsigned");
  constexpr U kHalf = static_cast<U>((std::numeric_limits<U>::max() >> 1) + 1);
  const U forward = static_cast<U>(value - prev);
  if (forward == kHalf) return value > prev;
  return forward != 0 && forward < kHalf;
}

// Maps wire values of width U onto a continuous int64 line. The first value
// maps to itself; each later value maps to the int64 closest to the previous
// result that agrees with it modulo 2^N (ties as in IsNewerSerial). Results may
// go below zero if the stream steps back before its first value: being the
// closest value is what keeps reordering around the start harmless.
template <typename U>
class SerialUnwrapper {
 public:
  int64_t Unwrap(U value) {
    last_unwrapped_ = PeekUnwrap(value);
    last_value_ = value;
    return last_unwrapped_;
  }

  // What Unwrap would return, without moving the reference point.
  int64_t PeekUnwrap(U value) const {
    if (!last_value_) return static_cast<int64_t>(value);
    return last_unwrapped_ + Delta(*last_value_, value);
  }

 private:
  static constexpr int64_t kModulus = int64_t{std::numeric_limits<U>::max()} + 1;

  static int64_t Delta(U last, U value) {
    const int64_t forward = static_cast<U>(value - last);  // in [0, 2^N)
    if (forward == 0 || IsNewerSerial(value, last)) return forward;
    return forward - kModulus;
  }

  std::optional<U> last_value_;
  int64_t last_unwrapped_ = 0;
};

}  // namespace internal

// RTP sequence number (RFC 3550 §5.1): 16 bits, wraps.
class SequenceNumber {
 public:
  constexpr explicit SequenceNumber(uint16_t value) : value_(value) {}
  constexpr uint16_t value() const { return value_; }
  friend constexpr bool operator==(SequenceNumber, SequenceNumber) = default;

  // Wrap-aware; not a strict weak order (see the header comment).
  constexpr bool IsNewerThan(SequenceNumber other) const {
    return internal::IsNewerSerial<uint16_t>(value_, other.value_);
  }

  constexpr SequenceNumber Next() const { return *this + 1; }

  // Steps `delta` positions around the circle; negative steps go back.
  constexpr SequenceNumber operator+(int delta) const {
    return SequenceNumber(static_cast<uint16_t>(value_ + static_cast<uint32_t>(delta)));
  }

 private:
  uint16_t value_;
};

// RTP media timestamp (RFC 3550 §5.1): 32 bits in clock-rate units, wraps.
class RtpTimestamp {
 public:
  constexpr explicit RtpTimestamp(uint32_t value) : value_(value) {}
  constexpr uint32_t value() const { return value_; }
  friend constexpr bool operator==(RtpTimestamp, RtpTimestamp) = default;

  // Wrap-aware; not a strict weak order (see the header comment).
  constexpr bool IsNewerThan(RtpTimestamp other) const {
    return internal::IsNewerSerial<uint32_t>(value_, other.value_);
  }

  // Signed distance from `older` to this, the shorter way round the circle.
  // Half way (2^31 apart) comes out as INT32_MIN whichever side is larger, so
  // callers that care about that edge use IsNewerThan.
  constexpr int32_t DiffFrom(RtpTimestamp older) const {
    return static_cast<int32_t>(value_ - older.value_);
  }

  // Advances by `samples` clock ticks, wrapping at 2^32.
  constexpr RtpTimestamp operator+(uint32_t samples) const {
    return RtpTimestamp(value_ + samples);
  }

 private:
  uint32_t value_;
};

// Extends 16-bit sequence numbers to int64 (cf. WebRTC's SeqNumUnwrapper).
// One per stream; not thread-safe (a stream is owned by one core).
class SequenceUnwrapper {
 public:
  int64_t Unwrap(SequenceNumber seq) { return unwrapper_.Unwrap(seq.value()); }
  int64_t PeekUnwrap(SequenceNumber seq) const { return unwrapper_.PeekUnwrap(seq.value()); }

 private:
  internal::SerialUnwrapper<uint16_t> unwrapper_;
};

// RFC 3550 §6.4.1 "extended highest sequence number received": cycles in the
// high 16 bits, the sequence number in the low 16, i.e. the low 32 bits of the
// unwrapped value. An unwrapped value below zero (a step back before the first
// packet) yields cycles 0xFFFF, which keeps differences right modulo 2^32.
constexpr uint32_t ExtendedRfc3550(int64_t unwrapped) {
  return static_cast<uint32_t>(unwrapped);
}

// Extends 32-bit RTP timestamps to int64, same rules as SequenceUnwrapper.
class TimestampUnwrapper {
 public:
  int64_t Unwrap(RtpTimestamp ts) { return unwrapper_.Unwrap(ts.value()); }
  int64_t PeekUnwrap(RtpTimestamp ts) const { return unwrapper_.PeekUnwrap(ts.value()); }

 private:
  internal::SerialUnwrapper<uint32_t> unwrapper_;
};

}  // namespace earshot

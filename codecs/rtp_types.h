#pragma once
// Strong value types for RTP header fields (STYLE.md §4). No default
// constructors: a value is always made from an explicit number.

#include <compare>
#include <cstdint>

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

}  // namespace earshot

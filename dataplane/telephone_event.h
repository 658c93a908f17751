#pragma once
// The RFC 4733 telephone-event payload (§2.3) as a small value:
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     event     |E|R| volume    |          duration             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The duration is in units of the event's RTP clock, counted from the event's
// RTP timestamp (the start of the event), so it grows through the updates of one
// event while the timestamp stays fixed. The R bit is reserved: written as zero,
// ignored when read. Volume is the power level in -dBm0 (0..63).
//
// A payload may hold more than one 4-byte block (RFC 2198 redundancy is a
// different payload type, but some senders append blocks); only the first is
// read here. Nothing allocates or throws.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace earshot::dataplane {

inline constexpr size_t kTelephoneEventSize = 4;
inline constexpr uint8_t kTelephoneEventMaxVolume = 63;
// The largest duration one packet can carry. A longer event goes out as
// segments (RFC 4733 §2.5.1.3; see dtmf_relay.h).
inline constexpr uint16_t kTelephoneEventMaxDuration = 0xFFFF;

struct TelephoneEvent {
  uint8_t event = 0;     // 0-9, 10 '*', 11 '#', 12-15 A-D (DTMF); others per the registry
  bool end = false;      // the E bit: this packet ends the event
  uint8_t volume = 0;    // -dBm0, 0..63
  uint16_t duration = 0;  // RTP clock units since the event's timestamp

  friend bool operator==(const TelephoneEvent&, const TelephoneEvent&) = default;
};

// The first event block of a telephone-event payload; nullopt when the payload
// is shorter than one block.
std::optional<TelephoneEvent> ParseTelephoneEvent(std::span<const uint8_t> payload);

// Writes one block at the start of `out`; returns kTelephoneEventSize, or 0 if
// `out` is too small. The volume is clamped to 63.
size_t WriteTelephoneEvent(const TelephoneEvent& event, std::span<uint8_t> out);

// The DTMF key of an event code ('0'-'9', '*', '#', 'A'-'D'), or '\0' for
// events that are not DTMF keys (RFC 4733 §3.2).
char DtmfDigit(uint8_t event);
// The event code of a DTMF key; nullopt for any other character.
std::optional<uint8_t> DtmfEvent(char digit);

}  // namespace earshot::dataplane

#include "dataplane/telephone_event.h"

#include <algorithm>

namespace earshot::dataplane {
namespace {

constexpr char kDigits[16] = {'0', '1', '2', '3', '4', '5', '6', '7',
                              '8', '9', '*', '#', 'A', 'B', 'C', 'D'};

}  // namespace

std::optional<TelephoneEvent> ParseTelephoneEvent(std::span<const uint8_t> payload) {
  if (payload.size() < kTelephoneEventSize) return std::nullopt;
  TelephoneEvent event;
  event.event = payload[0];
  event.end = (payload[1] & 0x80) != 0;
  event.volume = payload[1] & 0x3F;
  event.duration = static_cast<uint16_t>((payload[2] << 8) | payload[3]);
  return event;
}

size_t WriteTelephoneEvent(const TelephoneEvent& event, std::span<uint8_t> out) {
  if (out.size() < kTelephoneEventSize) return 0;
  out[0] = event.event;
  out[1] = static_cast<uint8_t>((event.end ? 0x80 : 0x00) |
                                std::min(event.volume, kTelephoneEventMaxVolume));
  out[2] = static_cast<uint8_t>(event.duration >> 8);
  out[3] = static_cast<uint8_t>(event.duration & 0xFF);
  return kTelephoneEventSize;
}

char DtmfDigit(uint8_t event) { return event < 16 ? kDigits[event] : '\0'; }

std::optional<uint8_t> DtmfEvent(char digit) {
  if (digit >= 'a' && digit <= 'd') digit = static_cast<char>(digit - 'a' + 'A');
  for (uint8_t code = 0; code < 16; ++code) {
    if (kDigits[code] == digit) return code;
  }
  return std::nullopt;
}

}  // namespace earshot::dataplane

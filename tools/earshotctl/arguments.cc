#include "tools/earshotctl/arguments.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace earshot::ctl {
namespace {

using earshot::v1::Direction;
using earshot::v1::Mode;
using earshot::v1::Role;

template <typename Enum>
struct Named {
  std::string_view name;
  Enum value;
};

// One table per enum, used both ways so that what we parse is what we print.
constexpr std::array<Named<Role>, 4> kRoles = {{
    {"customer", earshot::v1::ROLE_CUSTOMER},
    {"agent", earshot::v1::ROLE_AGENT},
    {"supervisor", earshot::v1::ROLE_SUPERVISOR},
    {"other", earshot::v1::ROLE_OTHER},
}};
constexpr std::array<Named<Mode>, 5> kModes = {{
    {"listen", earshot::v1::MODE_LISTEN},
    {"whisper", earshot::v1::MODE_WHISPER},
    {"whisper-customer", earshot::v1::MODE_WHISPER_CUSTOMER},
    {"barge", earshot::v1::MODE_BARGE},
    {"takeover", earshot::v1::MODE_TAKEOVER},
}};
constexpr std::array<Named<Direction>, 4> kDirections = {{
    {"sendrecv", earshot::v1::DIRECTION_SENDRECV},
    {"sendonly", earshot::v1::DIRECTION_SENDONLY},
    {"recvonly", earshot::v1::DIRECTION_RECVONLY},
    {"inactive", earshot::v1::DIRECTION_INACTIVE},
}};

template <typename Enum, size_t N>
std::string JoinNames(const std::array<Named<Enum>, N>& table) {
  std::string joined;
  for (const Named<Enum>& entry : table) {
    if (!joined.empty()) joined += '|';
    joined += entry.name;
  }
  return joined;
}

template <typename Enum, size_t N>
Parsed<Enum> Lookup(const std::array<Named<Enum>, N>& table, std::string_view text,
                    std::string_view what) {
  for (const Named<Enum>& entry : table) {
    if (entry.name == text) return entry.value;
  }
  return tl::unexpected(fmt::format("'{}' is not a {}; use {}", text, what, JoinNames(table)));
}

template <typename Enum, size_t N>
std::string_view NameOf(const std::array<Named<Enum>, N>& table, Enum value) {
  for (const Named<Enum>& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return {};
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

constexpr std::string_view kCodecForms = "PCMU, PCMA, L16/RATE, opus or opus/RATE";

}  // namespace

Parsed<Role> ParseRole(std::string_view text) { return Lookup(kRoles, text, "role"); }
Parsed<Mode> ParseMode(std::string_view text) { return Lookup(kModes, text, "mode"); }
Parsed<Direction> ParseDirection(std::string_view text) {
  return Lookup(kDirections, text, "direction");
}

std::string_view RoleName(Role role) { return NameOf(kRoles, role); }
std::string_view ModeName(Mode mode) { return NameOf(kModes, mode); }
std::string_view DirectionName(Direction direction) { return NameOf(kDirections, direction); }

std::string RoleNames() { return JoinNames(kRoles); }
std::string ModeNames() { return JoinNames(kModes); }
std::string DirectionNames() { return JoinNames(kDirections); }

Parsed<uint64_t> ParseNumber64(std::string_view text, uint64_t min, uint64_t max) {
  uint64_t value = 0;
  bool digits_only = !text.empty() && std::all_of(text.begin(), text.end(),
                                                  [](char c) { return c >= '0' && c <= '9'; });
  if (!digits_only) return tl::unexpected(fmt::format("'{}' is not a whole number", text));
  std::from_chars_result parsed = std::from_chars(text.data(), text.data() + text.size(), value);
  if (parsed.ec != std::errc() || value < min || value > max) {
    return tl::unexpected(fmt::format("'{}' is out of range ({}..{})", text, min, max));
  }
  return value;
}

Parsed<uint32_t> ParseNumber(std::string_view text, uint32_t min, uint32_t max) {
  Parsed<uint64_t> value = ParseNumber64(text, min, max);
  if (!value) return tl::unexpected(value.error());
  return static_cast<uint32_t>(*value);
}

Parsed<uint32_t> ParseChoice(std::string_view text, std::initializer_list<uint32_t> allowed) {
  std::string choices;
  for (uint32_t choice : allowed) {
    if (!choices.empty()) choices += '|';
    choices += std::to_string(choice);
  }
  Parsed<uint32_t> number = ParseNumber(text, 0, UINT32_MAX);
  if (!number || std::find(allowed.begin(), allowed.end(), *number) == allowed.end()) {
    return tl::unexpected(fmt::format("'{}' is not one of {}", text, choices));
  }
  return number;
}

Parsed<std::string> ParseCodec(std::string_view text) {
  std::string_view name = text;
  std::string_view rate_text;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    name = text.substr(0, slash);
    rate_text = text.substr(slash + 1);
    if (rate_text.find('/') != std::string_view::npos) {
      return tl::unexpected(fmt::format(
          "codec '{}': give NAME or NAME/RATE without a channel count; use {}", text, kCodecForms));
    }
    if (rate_text.empty()) {
      return tl::unexpected(fmt::format("codec '{}': the rate after '/' is missing", text));
    }
  }
  bool g711 = EqualsIgnoringCase(name, "PCMU") || EqualsIgnoringCase(name, "PCMA");
  bool l16 = EqualsIgnoringCase(name, "L16");
  bool opus = EqualsIgnoringCase(name, "opus");
  if (!g711 && !l16 && !opus) {
    return tl::unexpected(fmt::format("codec '{}' is not supported; use {}", text, kCodecForms));
  }
  if (g711) {
    if (!rate_text.empty() && rate_text != "8000") {
      return tl::unexpected(fmt::format("codec '{}': G.711 runs at 8000 Hz only", text));
    }
    return EqualsIgnoringCase(name, "PCMU") ? std::string("PCMU") : std::string("PCMA");
  }
  std::string canonical = l16 ? "L16" : "opus";
  if (rate_text.empty()) {
    if (l16)
      return tl::unexpected(fmt::format("codec '{}': L16 needs a rate, e.g. L16/16000", text));
    return canonical;
  }
  Parsed<uint32_t> rate = ParseChoice(rate_text, {8000, 16000, 48000});
  if (!rate) return tl::unexpected(fmt::format("codec '{}': rate {}", text, rate.error()));
  return fmt::format("{}/{}", canonical, *rate);
}

Parsed<std::string> ParseEndpoint(std::string_view text) {
  std::string ip;
  std::string_view port_text;
  int family = AF_INET;
  if (text.starts_with('[')) {
    size_t close = text.find("]:");
    if (close == std::string_view::npos) {
      return tl::unexpected(fmt::format("'{}' is not [IPV6]:PORT", text));
    }
    ip = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
    family = AF_INET6;
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return tl::unexpected(fmt::format("'{}' is not IP:PORT", text));
    }
    ip = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (ip.find(':') != std::string::npos) {
      return tl::unexpected(
          fmt::format("'{}': write an IPv6 address in brackets, [IP]:PORT", text));
    }
  }
  unsigned char address[16];
  if (inet_pton(family, ip.c_str(), address) != 1) {
    return tl::unexpected(fmt::format("'{}': '{}' is not an IP{} address", text, ip,
                                      family == AF_INET ? "v4" : "v6"));
  }
  if (Parsed<uint32_t> port = ParseNumber(port_text, 1, 65535); !port) {
    return tl::unexpected(fmt::format("'{}': port {}", text, port.error()));
  }
  return std::string(text);
}

Parsed<earshot::v1::Gain> ParseGain(std::string_view text) {
  size_t equals = text.rfind('=');
  std::string_view pair = text.substr(0, equals);
  size_t colon = pair.find(':');
  if (equals == std::string_view::npos || colon == std::string_view::npos ||
      pair.find(':', colon + 1) != std::string_view::npos || colon == 0 ||
      colon + 1 == pair.size() || pair.find('=') != std::string_view::npos) {
    return tl::unexpected(fmt::format("'{}' is not DST:SRC=GAIN (e.g. agent:customer=1)", text));
  }
  std::string_view dst = pair.substr(0, colon);
  std::string_view src = pair.substr(colon + 1);
  if (dst == src) {
    return tl::unexpected(fmt::format("'{}': leg '{}' cannot hear itself", text, dst));
  }
  std::string_view gain_text = text.substr(equals + 1);
  float gain = 0;
  auto [end, error] = std::from_chars(gain_text.data(), gain_text.data() + gain_text.size(), gain,
                                      std::chars_format::fixed);
  if (gain_text.empty() || error != std::errc() || end != gain_text.data() + gain_text.size() ||
      !std::isfinite(gain)) {
    return tl::unexpected(fmt::format("'{}': gain '{}' is not a decimal number", text, gain_text));
  }
  if (std::signbit(gain) || gain > 4.0f) {
    return tl::unexpected(fmt::format("'{}': gain {} is out of range (0..4)", text, gain_text));
  }
  earshot::v1::Gain parsed;
  parsed.set_dst_leg_id(std::string(dst));
  parsed.set_src_leg_id(std::string(src));
  parsed.set_gain(gain);
  return parsed;
}

Parsed<std::pair<std::string, std::string>> ParseLabel(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return tl::unexpected(fmt::format("'{}' is not KEY:VALUE (e.g. team:billing)", text));
  }
  return std::pair<std::string, std::string>(text.substr(0, colon), text.substr(colon + 1));
}

}  // namespace earshot::ctl

#pragma once
// earshotctl's value syntaxes: the words and forms a user types on the command
// line, checked and turned into the API's values before any call is made.
//
// Each parser accepts the canonical spelling only (lower-case role, mode and
// direction names, as printed by `earshotctl --help`) and, on failure, returns a
// message that quotes the rejected text and says what is allowed. The caller
// prefixes the option name ("--role: ..."). The server validates again; these
// checks exist so that a typo fails fast with a clear message and exit code 2.
//
// The names are part of earshotctl's stable surface: scripts pass them in and
// read them back from --json output, so they never change spelling.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>

#include "earshot/v1/sessions.pb.h"

namespace earshot::ctl {

// A parsed value, or a message saying what was wrong with the text.
template <typename T>
using Parsed = tl::expected<T, std::string>;

[[nodiscard]] Parsed<earshot::v1::Role> ParseRole(std::string_view text);
[[nodiscard]] Parsed<earshot::v1::Mode> ParseMode(std::string_view text);
[[nodiscard]] Parsed<earshot::v1::Direction> ParseDirection(std::string_view text);

// The command-line name of a value ("customer", "whisper-customer", "sendrecv").
// Empty for *_UNSPECIFIED and for values this build does not know.
std::string_view RoleName(earshot::v1::Role role);
std::string_view ModeName(earshot::v1::Mode mode);
std::string_view DirectionName(earshot::v1::Direction direction);

// The allowed names joined with '|', for help texts and messages.
std::string RoleNames();
std::string ModeNames();
std::string DirectionNames();

// PCMU, PCMA, L16/RATE, opus or opus/RATE, RATE one of 8000, 16000, 48000.
// Names are matched without regard to case (as in SDP) and returned in their
// canonical spelling; "PCMU/8000" and "PCMA/8000" become "PCMU" and "PCMA".
[[nodiscard]] Parsed<std::string> ParseCodec(std::string_view text);

// A media address "IPV4:PORT" or "[IPV6]:PORT" with PORT 1..65535; IP literals
// only, as in SDP. Returned as given.
[[nodiscard]] Parsed<std::string> ParseEndpoint(std::string_view text);

// "DST:SRC=GAIN": leg DST hears leg SRC at GAIN, a decimal number 0..4.
// Leg ids in a gain may not contain ':' or '='; a leg never hears itself.
[[nodiscard]] Parsed<earshot::v1::Gain> ParseGain(std::string_view text);

// "KEY:VALUE", split at the first ':'; KEY must not be empty.
[[nodiscard]] Parsed<std::pair<std::string, std::string>> ParseLabel(std::string_view text);

// A whole decimal number within [min, max], without sign or spaces.
[[nodiscard]] Parsed<uint32_t> ParseNumber(std::string_view text, uint32_t min, uint32_t max);
[[nodiscard]] Parsed<uint64_t> ParseNumber64(std::string_view text, uint64_t min, uint64_t max);

// A whole decimal number that is one of `allowed`.
[[nodiscard]] Parsed<uint32_t> ParseChoice(std::string_view text,
                                           std::initializer_list<uint32_t> allowed);

}  // namespace earshot::ctl

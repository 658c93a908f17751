#pragma once
// How earshotctl prints the server's answers: short lines for people, or one
// JSON value for scripts (--json).
//
// The JSON is built by hand rather than by protobuf's JSON printer so that it is
// earshotctl's own stable contract:
//   * keys are the proto's snake_case field names, and every field is present
//     (output_test.cc checks this against the descriptors, so a field added to
//     the proto fails the test until it is printed here too);
//   * roles, modes and directions are the command-line names ("agent",
//     "whisper-customer", "sendonly"), null when unspecified, the number when
//     this build does not know the value; an unspecified direction prints as
//     "sendrecv", which is what the API says it means;
//   * counters are JSON numbers, not the strings proto3 JSON uses for 64 bits;
//   * maps (labels, dropped) are objects with sorted keys;
//   * event types are "session-created", "mode-changed"... (EVENT_ dropped,
//     lower case, '-' for '_'), and each event is one compact line (NDJSON).
// Human output may change between versions; scripts should use --json.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "earshot/v1/events.pb.h"
#include "earshot/v1/sessions.pb.h"
#include "earshot/v1/system.pb.h"

namespace earshot::ctl {

enum class Format { kHuman, kJson };

// JSON objects of the answers, in proto field order.
nlohmann::ordered_json LegJson(const earshot::v1::Leg& leg);
nlohmann::ordered_json SessionJson(const earshot::v1::Session& session);
nlohmann::ordered_json SessionListJson(const earshot::v1::ListSessionsResponse& list);
nlohmann::ordered_json SessionStatsJson(const earshot::v1::SessionStats& stats);
nlohmann::ordered_json StatusJson(const earshot::v1::GetStatusResponse& status);
nlohmann::ordered_json EventJson(const earshot::v1::Event& event);
// "idle", "ringing", "busy"; null when unspecified, the number when unknown.
nlohmann::ordered_json ExtensionStateJson(earshot::v1::ExtensionState state);

// The text to print on stdout, ending in a newline.
std::string FormatLeg(const earshot::v1::Leg& leg, Format format);
std::string FormatSession(const earshot::v1::Session& session, Format format);
std::string FormatSessionList(const earshot::v1::ListSessionsResponse& list, Format format);
std::string FormatSessionStats(const earshot::v1::SessionStats& stats, Format format);
std::string FormatStatus(const earshot::v1::GetStatusResponse& status, Format format);
// One line per event, as it arrives.
std::string FormatEvent(const earshot::v1::Event& event, Format format);
// For calls that answer nothing: `human` for people, "{}" for scripts.
std::string FormatDone(std::string_view human, Format format);

// "session-created" for EVENT_SESSION_CREATED; empty for values this build does not know.
std::string EventTypeName(earshot::v1::EventType type);

// "2026-11-24T21:53:16.793Z".
std::string FormatUnixMillis(int64_t unix_ms);

// "127.0.0.1:30002", or "[::1]:30002" for IPv6.
std::string FormatEndpoint(std::string_view ip, uint32_t port);

}  // namespace earshot::ctl

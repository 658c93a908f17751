#pragma once
// Structured logs for earshotd: an event name and key=value fields, written as a
// text line or as one JSON object per line (spdlog underneath). Hot-path code does
// not log; it counts, and the control plane reports counters.

#include <initializer_list>
#include <string>
#include <string_view>

#include "control/config.h"

namespace earshot::control {

struct LogField {
  std::string_view key;
  std::string value;
};

// Sets the process-wide logger: stderr, the given format and least level.
void SetupLogging(LogFormat format, LogLevel level);

void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

// The line Log() writes for an event, without time stamp and level (for tests).
std::string FormatLogBody(LogFormat format, std::string_view event,
                          std::initializer_list<LogField> fields);

}  // namespace earshot::control

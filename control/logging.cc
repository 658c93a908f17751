#include "control/logging.h"

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "control/json_string.h"

namespace earshot::control {
namespace {

LogFormat g_format = LogFormat::kText;

bool NeedsQuotes(std::string_view value) {
  return value.empty() || value.find_first_of(" \"=\t\n") != std::string_view::npos;
}

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

std::string FormatLogBody(LogFormat format, std::string_view event,
                          std::initializer_list<LogField> fields) {
  std::string out;
  if (format == LogFormat::kJson) {
    out += "\"event\":";
    AppendJsonString(out, event);
    for (const LogField& field : fields) {
      out += ',';
      AppendJsonString(out, field.key);
      out += ':';
      AppendJsonString(out, field.value);
    }
    return out;
  }
  out += event;
  for (const LogField& field : fields) {
    out += ' ';
    out += field.key;
    out += '=';
    if (NeedsQuotes(field.value)) {
      AppendJsonString(out, field.value);
    } else {
      out += field.value;
    }
  }
  return out;
}

void SetupLogging(LogFormat format, LogLevel level) {
  g_format = format;
  auto logger = spdlog::stderr_logger_mt("earshotd");
  if (format == LogFormat::kJson) {
    // The body is a JSON fragment made by FormatLogBody; time in UTC.
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %-5l %v");
  }
  logger->set_level(ToSpdlog(level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

void Log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  spdlog::level::level_enum spd_level = ToSpdlog(level);
  if (!spdlog::should_log(spd_level)) return;
  spdlog::log(spd_level, "{}", FormatLogBody(g_format, event, fields));
}

}  // namespace earshot::control

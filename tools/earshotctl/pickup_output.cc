#include "tools/earshotctl/pickup_output.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

namespace earshot::ctl {
namespace {

namespace v1 = earshot::v1;
using Json = nlohmann::ordered_json;

std::string Dump(const Json& json) {
  return json.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::string StateText(v1::ExtensionState state) {
  Json json = ExtensionStateJson(state);
  return json.is_string() ? json.get<std::string>() : json.dump();
}

std::string ExtensionLine(const v1::Extension& extension) {
  std::string line = fmt::format("{} {}", extension.extension(), StateText(extension.state()));
  if (!extension.session_id().empty()) line += " session " + extension.session_id();
  if (extension.groups_size() > 0) line += fmt::format(" groups {}", fmt::join(extension.groups(), ","));
  return line + "\n";
}

}  // namespace

Json ExtensionJson(const v1::Extension& extension) {
  return {
      {"extension", extension.extension()},
      {"groups", std::vector<std::string>(extension.groups().begin(), extension.groups().end())},
      {"state", ExtensionStateJson(extension.state())},
      {"session_id", extension.session_id()},
  };
}

Json ExtensionListJson(const v1::ListExtensionsResponse& list) {
  Json extensions = Json::array();
  for (const v1::Extension& extension : list.extensions()) extensions.push_back(ExtensionJson(extension));
  return {{"extensions", extensions}};
}

Json AnswerJson(const v1::AnswerResponse& answer) {
  return {
      {"session_id", answer.session_id()},
      {"extension", answer.extension()},
      {"by_extension", answer.by_extension()},
      {"local_ip", answer.local_ip()},
      {"local_port", answer.local_port()},
      {"leg", LegJson(answer.leg())},
  };
}

Json PickupStatsJson(const v1::GetPickupStatsResponse& stats) {
  Json groups = Json::array();
  for (const v1::PickupGroupStats& group : stats.groups()) {
    groups.push_back({
        {"group", group.group()},
        {"answered", group.answered()},
        {"pickups", group.pickups()},
        {"abandoned", group.abandoned()},
        {"ringing", group.ringing()},
        {"ring_time_mean_ms", group.ring_time_mean_ms()},
        {"ring_time_max_ms", group.ring_time_max_ms()},
    });
  }
  return {{"groups", groups}};
}

std::string FormatExtension(const v1::Extension& extension, Format format) {
  return format == Format::kJson ? Dump(ExtensionJson(extension)) : ExtensionLine(extension);
}

std::string FormatExtensionList(const v1::ListExtensionsResponse& list, Format format) {
  if (format == Format::kJson) return Dump(ExtensionListJson(list));
  if (list.extensions_size() == 0) return "no extensions\n";
  std::string text;
  for (const v1::Extension& extension : list.extensions()) text += ExtensionLine(extension);
  return text;
}

std::string FormatAnswer(const v1::AnswerResponse& answer, Format format) {
  if (format == Format::kJson) return Dump(AnswerJson(answer));
  return fmt::format("session {} (ringing at {}) answered by {}: leg {} at {}\n", answer.session_id(),
                     answer.extension(), answer.by_extension(), answer.leg().id(),
                     FormatEndpoint(answer.local_ip(), answer.local_port()));
}

std::string FormatPickupStats(const v1::GetPickupStatsResponse& stats, Format format) {
  if (format == Format::kJson) return Dump(PickupStatsJson(stats));
  if (stats.groups_size() == 0) return "no pickup groups\n";
  std::string text;
  for (const v1::PickupGroupStats& group : stats.groups()) {
    text += fmt::format(
        "group {}: answered {} pickups {} abandoned {} ringing {} ring time mean {:.0f} ms max {:.0f} ms\n",
        group.group(), group.answered(), group.pickups(), group.abandoned(), group.ringing(),
        group.ring_time_mean_ms(), group.ring_time_max_ms());
  }
  return text;
}

}  // namespace earshot::ctl

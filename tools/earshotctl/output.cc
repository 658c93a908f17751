#include "tools/earshotctl/output.h"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <vector>

#include "tools/earshotctl/arguments.h"

namespace earshot::ctl {
namespace {

namespace v1 = earshot::v1;
using Json = nlohmann::ordered_json;

// A command-line name, null for 0 (unspecified), the number for a value this
// build does not know.
Json EnumJson(std::string_view name, int value) {
  if (!name.empty()) return std::string(name);
  if (value == 0) return nullptr;
  return value;
}

// The direction as the API means it: unspecified is sendrecv.
v1::Direction EffectiveDirection(v1::Direction direction) {
  return direction == v1::DIRECTION_UNSPECIFIED ? v1::DIRECTION_SENDRECV : direction;
}

template <typename Value>
Json SortedObject(const google::protobuf::Map<std::string, Value>& map) {
  std::map<std::string, Value> sorted(map.begin(), map.end());
  Json object = Json::object();
  for (const auto& [key, value] : sorted) object[key] = value;
  return object;
}

std::string Dump(const Json& json) {
  // Replace rather than throw on invalid UTF-8: printing must not fail.
  return json.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

// "PCMU/8000" for the G.711 names that imply their rate.
std::string CodecText(const std::string& codec) {
  if (codec == "PCMU" || codec == "PCMA") return codec + "/8000";
  return codec.empty() ? "no codec" : codec;
}

std::string LabelsText(const google::protobuf::Map<std::string, std::string>& labels) {
  std::map<std::string, std::string> sorted(labels.begin(), labels.end());
  std::string text;
  for (const auto& [key, value] : sorted) {
    if (!text.empty()) text += ',';
    text += key + ':' + value;
  }
  return text;
}

std::string LegLine(const v1::Leg& leg) {
  const v1::LegSpec& spec = leg.spec();
  std::vector<std::string> traits = {
      fmt::format("{} pt {}", CodecText(spec.codec()), spec.payload_type())};
  if (std::string_view role = RoleName(spec.role()); !role.empty()) {
    traits.emplace_back(role);
  } else if (spec.role() != v1::ROLE_UNSPECIFIED) {
    traits.push_back(fmt::format("role {}", static_cast<int>(spec.role())));
  }
  if (std::string_view mode = ModeName(leg.mode()); !mode.empty()) {
    traits.emplace_back(mode);
  } else if (leg.mode() != v1::MODE_UNSPECIFIED) {
    traits.push_back(fmt::format("mode {}", static_cast<int>(leg.mode())));
  }
  if (v1::Direction direction = EffectiveDirection(spec.direction());
      direction != v1::DIRECTION_SENDRECV) {
    std::string_view name = DirectionName(direction);
    traits.push_back(name.empty() ? fmt::format("direction {}", static_cast<int>(direction))
                                  : std::string(name));
  }
  if (spec.ptime_ms() != 0) traits.push_back(fmt::format("ptime {} ms", spec.ptime_ms()));
  if (spec.dtmf_payload_type() != 0)
    traits.push_back(fmt::format("dtmf pt {}", spec.dtmf_payload_type()));
  if (spec.latch()) traits.emplace_back("latch");
  if (spec.no_rtcp_mux()) traits.emplace_back("no rtcp-mux");
  if (!spec.srtp().suite().empty()) traits.push_back("srtp " + spec.srtp().suite());
  if (spec.voice().echo_cancel()) traits.push_back(fmt::format("aec {} ms", spec.voice().echo_tail_ms()));
  if (spec.voice().noise_suppress()) traits.emplace_back("ns");
  if (spec.voice().agc()) traits.emplace_back("agc");
  std::string line =
      fmt::format("leg {}: {} ({})", leg.id(), FormatEndpoint(leg.local_ip(), leg.local_port()),
                  fmt::join(traits, ", "));
  if (!spec.remote().empty()) line += " remote " + spec.remote();
  // Earshot's key, for the SDP's a=crypto line (only in answers to add, attach, update).
  if (!leg.srtp_local_key().empty()) line += "\n  srtp key inline:" + leg.srtp_local_key();
  return line + "\n";
}

}  // namespace

std::string FormatEndpoint(std::string_view ip, uint32_t port) {
  if (ip.find(':') != std::string_view::npos) return fmt::format("[{}]:{}", ip, port);
  return fmt::format("{}:{}", ip, port);
}

Json LegJson(const v1::Leg& leg) {
  const v1::LegSpec& spec = leg.spec();
  v1::Direction direction = EffectiveDirection(spec.direction());
  Json spec_json = {
      {"role", EnumJson(RoleName(spec.role()), spec.role())},
      {"codec", spec.codec()},
      {"payload_type", spec.payload_type()},
      {"remote", spec.remote()},
      {"ptime_ms", spec.ptime_ms()},
      {"latch", spec.latch()},
      {"dtmf_payload_type", spec.dtmf_payload_type()},
      {"no_rtcp_mux", spec.no_rtcp_mux()},
      {"direction", EnumJson(DirectionName(direction), direction)},
      // Earshot never echoes keys: remote_key and local_key stay empty here.
      {"srtp",
       {{"suite", spec.srtp().suite()},
        {"remote_key", spec.srtp().remote_key()},
        {"local_key", spec.srtp().local_key()},
        {"replay_window", spec.srtp().replay_window()}}},
      {"voice",
       {{"echo_cancel", spec.voice().echo_cancel()},
        {"echo_tail_ms", spec.voice().echo_tail_ms()},
        {"noise_suppress", spec.voice().noise_suppress()},
        {"agc", spec.voice().agc()}}},
  };
  return {
      {"id", leg.id()},
      {"spec", std::move(spec_json)},
      {"local_ip", leg.local_ip()},
      {"local_port", leg.local_port()},
      {"mode", EnumJson(ModeName(leg.mode()), leg.mode())},
      // Earshot's key for the SDP answer; only in answers to add, attach and update.
      {"srtp_local_key", leg.srtp_local_key()},
  };
}

Json SessionJson(const v1::Session& session) {
  Json legs = Json::array();
  for (const v1::Leg& leg : session.legs()) legs.push_back(LegJson(leg));
  return {
      {"id", session.id()},           {"rate", session.rate()},
      {"tick_ms", session.tick_ms()}, {"labels", SortedObject(session.labels())},
      {"legs", std::move(legs)},      {"custom_matrix", session.custom_matrix()},
  };
}

Json SessionListJson(const v1::ListSessionsResponse& list) {
  Json sessions = Json::array();
  for (const v1::Session& session : list.sessions()) sessions.push_back(SessionJson(session));
  return {{"sessions", std::move(sessions)}};
}

Json SessionStatsJson(const v1::SessionStats& stats) {
  Json legs = Json::array();
  for (const v1::LegStats& leg : stats.legs()) {
    legs.push_back({
        {"leg_id", leg.leg_id()},
        {"local", leg.local()},
        {"remote", leg.remote()},
        {"latched", leg.latched()},
        {"rx_packets", leg.rx_packets()},
        {"rx_bytes", leg.rx_bytes()},
        {"tx_packets", leg.tx_packets()},
        {"tx_bytes", leg.tx_bytes()},
        {"lost", leg.lost()},
        {"reordered", leg.reordered()},
        {"duplicates", leg.duplicates()},
        {"late", leg.late()},
        {"jitter_ms", leg.jitter_ms()},
        {"buffered_ms", leg.buffered_ms()},
        {"concealed_frames", leg.concealed_frames()},
        {"dropped", SortedObject(leg.dropped())},
        {"rx_rtcp", leg.rx_rtcp()},
        {"rx_telephone_events", leg.rx_telephone_events()},
        {"tx_rtcp", leg.tx_rtcp()},
        {"tx_telephone_events", leg.tx_telephone_events()},
        {"rtt_ms", leg.rtt_ms()},
        {"remote_fraction_lost", leg.remote_fraction_lost()},
        {"remote_jitter_ms", leg.remote_jitter_ms()},
        {"remote_lost", leg.remote_lost()},
        {"rx_rtcp_reports", leg.rx_rtcp_reports()},
    });
  }
  return {
      {"session_id", stats.session_id()},
      {"ticks", stats.ticks()},
      {"encodes", stats.encodes()},
      {"shared_outputs", stats.shared_outputs()},
      {"matrix_changes", stats.matrix_changes()},
      {"legs", std::move(legs)},
  };
}

Json StatusJson(const v1::GetStatusResponse& status) {
  Json workers = Json::array();
  for (const v1::WorkerStatus& worker : status.workers()) {
    workers.push_back({
        {"index", worker.index()},
        {"ticks", worker.ticks()},
        {"tick_overruns", worker.tick_overruns()},
        {"skipped_ticks", worker.skipped_ticks()},
        {"sessions", worker.sessions()},
        {"legs", worker.legs()},
        {"rx_packets", worker.rx_packets()},
        {"tx_packets", worker.tx_packets()},
        {"rx_dropped", worker.rx_dropped()},
    });
  }
  Json ports = Json::array();
  for (const v1::DpdkPortStatus& port : status.dpdk_ports()) {
    Json queues = Json::array();
    for (const v1::DpdkQueueStatus& queue : port.queues()) {
      queues.push_back({
          {"queue", queue.queue()},
          {"counters", SortedObject(queue.counters())},
          {"rx_dropped", SortedObject(queue.rx_dropped())},
      });
    }
    ports.push_back({
        {"name", port.name()},
        {"driver", port.driver()},
        {"mac", port.mac()},
        {"ip", port.ip()},
        {"neighbours", port.neighbours()},
        {"rx_missed", port.rx_missed()},
        {"rx_errors", port.rx_errors()},
        {"tx_errors", port.tx_errors()},
        {"rx_no_mbuf", port.rx_no_mbuf()},
        {"queues", std::move(queues)},
    });
  }
  return {
      {"version", status.version()},
      {"dataplane", status.dataplane()},
      {"tick_ms", status.tick_ms()},
      {"workers", std::move(workers)},
      {"dpdk_ports", std::move(ports)},
  };
}

namespace {

// "name 3, other 5" of the counters that are not zero, by name; "-" if none.
std::string NonZeroCounters(const google::protobuf::Map<std::string, uint64_t>& counters) {
  std::map<std::string, uint64_t> sorted(counters.begin(), counters.end());
  std::vector<std::string> parts;
  for (const auto& [name, value] : sorted) {
    if (value != 0) parts.push_back(fmt::format("{} {}", name, value));
  }
  return parts.empty() ? "-" : fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

std::string FormatLeg(const v1::Leg& leg, Format format) {
  return format == Format::kJson ? Dump(LegJson(leg)) : LegLine(leg);
}

std::string FormatSession(const v1::Session& session, Format format) {
  if (format == Format::kJson) return Dump(SessionJson(session));
  std::string text =
      fmt::format("session {}: {} Hz, tick {} ms, {} leg{}", session.id(), session.rate(),
                  session.tick_ms(), session.legs_size(), session.legs_size() == 1 ? "" : "s");
  if (session.custom_matrix()) text += ", custom matrix";
  if (!session.labels().empty()) text += ", labels " + LabelsText(session.labels());
  text += "\n";
  for (const v1::Leg& leg : session.legs()) text += "  " + LegLine(leg);
  return text;
}

std::string FormatSessionList(const v1::ListSessionsResponse& list, Format format) {
  if (format == Format::kJson) return Dump(SessionListJson(list));
  if (list.sessions().empty()) return "no sessions\n";
  std::vector<std::vector<std::string>> rows = {{"SESSION", "RATE", "TICK", "LEGS", "LABELS"}};
  for (const v1::Session& session : list.sessions()) {
    rows.push_back({session.id(), std::to_string(session.rate()), std::to_string(session.tick_ms()),
                    std::to_string(session.legs_size()), LabelsText(session.labels())});
  }
  std::vector<size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (size_t column = 0; column < row.size(); ++column) {
      widths[column] = std::max(widths[column], row[column].size());
    }
  }
  std::string text;
  for (const auto& row : rows) {
    std::string line;
    for (size_t column = 0; column < row.size(); ++column) {
      line += fmt::format("{:<{}}", row[column], column + 1 < row.size() ? widths[column] + 2 : 0);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    text += line + "\n";
  }
  return text;
}

std::string FormatSessionStats(const v1::SessionStats& stats, Format format) {
  if (format == Format::kJson) return Dump(SessionStatsJson(stats));
  std::string text =
      fmt::format("session {}: {} ticks, {} encodes, {} shared outputs, {} matrix changes\n",
                  stats.session_id(), stats.ticks(), stats.encodes(), stats.shared_outputs(),
                  stats.matrix_changes());
  for (const v1::LegStats& leg : stats.legs()) {
    text += fmt::format(
        "  leg {}: local {}, remote {}{}\n", leg.leg_id(), leg.local().empty() ? "-" : leg.local(),
        leg.remote().empty() ? "-" : leg.remote(), leg.latched() ? " (latched)" : "");
    text += fmt::format(
        "    rx {} packets {} bytes, tx {} packets {} bytes, rtcp {}, telephone events {}\n",
        leg.rx_packets(), leg.rx_bytes(), leg.tx_packets(), leg.tx_bytes(), leg.rx_rtcp(),
        leg.rx_telephone_events());
    text += fmt::format(
        "    lost {}, reordered {}, duplicates {}, late {}, jitter {:.2f} ms, buffered {} ms, "
        "concealed {} "
        "frames\n",
        leg.lost(), leg.reordered(), leg.duplicates(), leg.late(), leg.jitter_ms(),
        leg.buffered_ms(), leg.concealed_frames());
    text += fmt::format(
        "    rtcp sent {}, telephone events sent {}; far end ({} reports): rtt {:.1f} ms, lost {} "
        "({:.1f}% lately), jitter {:.2f} ms\n",
        leg.tx_rtcp(), leg.tx_telephone_events(), leg.rx_rtcp_reports(), leg.rtt_ms(), leg.remote_lost(),
        leg.remote_fraction_lost() * 100.0, leg.remote_jitter_ms());
    // Only the reasons that happened; --json has them all.
    std::map<std::string, uint64_t> sorted(leg.dropped().begin(), leg.dropped().end());
    std::vector<std::string> reasons;
    for (const auto& [reason, count] : sorted) {
      if (count != 0) reasons.push_back(fmt::format("{} {}", reason, count));
    }
    if (!reasons.empty()) text += fmt::format("    dropped: {}\n", fmt::join(reasons, ", "));
  }
  return text;
}

std::string FormatStatus(const v1::GetStatusResponse& status, Format format) {
  if (format == Format::kJson) return Dump(StatusJson(status));
  std::string text = fmt::format("earshotd {}, dataplane {}, tick {} ms, {} worker{}\n",
                                 status.version(), status.dataplane(), status.tick_ms(),
                                 status.workers_size(), status.workers_size() == 1 ? "" : "s");
  for (const v1::WorkerStatus& worker : status.workers()) {
    text += fmt::format(
        "  worker {}: {} sessions, {} legs, {} ticks, {} overruns, {} skipped, rx {} tx {} "
        "dropped {}\n",
        worker.index(), worker.sessions(), worker.legs(), worker.ticks(), worker.tick_overruns(),
        worker.skipped_ticks(), worker.rx_packets(), worker.tx_packets(), worker.rx_dropped());
  }
  for (const v1::DpdkPortStatus& port : status.dpdk_ports()) {
    text += fmt::format(
        "  dpdk port {} ({}): mac {}, ip {}, {} neighbours, device rx_missed {} rx_errors {} "
        "tx_errors {} rx_no_mbuf {}\n",
        port.name(), port.driver(), port.mac(), port.ip(), port.neighbours(), port.rx_missed(),
        port.rx_errors(), port.tx_errors(), port.rx_no_mbuf());
    // Only what happened; --json has every counter.
    for (const v1::DpdkQueueStatus& queue : port.queues()) {
      text += fmt::format("    queue {}: {}\n", queue.queue(), NonZeroCounters(queue.counters()));
      if (std::string drops = NonZeroCounters(queue.rx_dropped()); drops != "-") {
        text += fmt::format("    queue {} dropped: {}\n", queue.queue(), drops);
      }
    }
  }
  return text;
}

std::string EventTypeName(v1::EventType type) {
  if (type == v1::EVENT_TYPE_UNSPECIFIED) return "";
  std::string name = v1::EventType_Name(type);  // empty when unknown
  if (name.starts_with("EVENT_")) name.erase(0, 6);
  for (char& c : name)
    c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::string FormatUnixMillis(int64_t unix_ms) {
  int64_t seconds = unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
  time_t time = static_cast<time_t>(seconds);
  struct tm utc {};
  gmtime_r(&time, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     unix_ms - seconds * 1000);
}

// "idle", "ringing", "busy" (pickup_output.h).
Json ExtensionStateJson(v1::ExtensionState state) {
  switch (state) {
    case v1::EXTENSION_IDLE: return "idle";
    case v1::EXTENSION_RINGING: return "ringing";
    case v1::EXTENSION_BUSY: return "busy";
    default: return state == 0 ? Json(nullptr) : Json(static_cast<int>(state));
  }
}

Json EventJson(const v1::Event& event) {
  return {
      {"sequence", event.sequence()},
      {"time_unix_ms", event.time_unix_ms()},
      {"type", EnumJson(EventTypeName(event.type()), event.type())},
      {"session_id", event.session_id()},
      {"leg_id", event.leg_id()},
      {"role", EnumJson(RoleName(event.role()), event.role())},
      {"mode", EnumJson(ModeName(event.mode()), event.mode())},
      {"digit", event.digit()},
      {"duration_ms", event.duration_ms()},
      {"extension", event.extension()},
      {"extension_state", ExtensionStateJson(event.extension_state())},
      {"by_extension", event.by_extension()},
  };
}

std::string FormatEvent(const v1::Event& event, Format format) {
  if (format == Format::kJson) {
    return EventJson(event).dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  }
  std::string type = EventTypeName(event.type());
  std::string line =
      fmt::format("{} {} {}", event.sequence(), FormatUnixMillis(event.time_unix_ms()),
                  type.empty() ? fmt::format("event-{}", static_cast<int>(event.type())) : type);
  if (!event.session_id().empty()) line += " session " + event.session_id();
  if (!event.leg_id().empty()) line += " leg " + event.leg_id();
  if (!event.digit().empty()) line += " digit " + event.digit();
  if (event.type() == v1::EVENT_DTMF) line += fmt::format(" {} ms", event.duration_ms());
  if (!event.extension().empty()) line += " extension " + event.extension();
  if (event.type() == v1::EVENT_EXTENSION_STATE) {
    Json state = ExtensionStateJson(event.extension_state());
    line += " " + (state.is_string() ? state.get<std::string>() : state.dump());
  }
  if (!event.by_extension().empty()) line += " by " + event.by_extension();
  std::vector<std::string> traits;
  if (std::string_view role = RoleName(event.role()); !role.empty()) traits.emplace_back(role);
  if (std::string_view mode = ModeName(event.mode()); !mode.empty()) traits.emplace_back(mode);
  if (!traits.empty()) line += fmt::format(" ({})", fmt::join(traits, ", "));
  return line + "\n";
}

std::string FormatDone(std::string_view human, Format format) {
  return format == Format::kJson ? std::string("{}\n") : fmt::format("{}\n", human);
}

}  // namespace earshot::ctl

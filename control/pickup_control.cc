#include "control/pickup_control.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

namespace earshot::control {
namespace {

namespace v1 = earshot::v1;

constexpr size_t kMaxNameLength = 64;

// Extension and group names: what a dial plan or a config key would hold.
Result<void> CheckName(std::string_view what, const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return InvalidArgument(fmt::format("{} '{}' must be 1..{} characters", what, name, kMaxNameLength));
  }
  for (char c : name) {
    if (c <= ' ' || c >= 127 || c == ',') {
      return InvalidArgument(
          fmt::format("{} '{}': only visible ASCII characters other than ',' are allowed", what, name));
    }
  }
  return {};
}

Result<std::vector<std::string>> CheckGroups(std::vector<std::string> groups) {
  for (const std::string& group : groups) {
    if (Result<void> valid = CheckName("group", group); !valid) return tl::unexpected(valid.error());
  }
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  return groups;
}

bool SharesGroup(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (const std::string& group : a) {
    if (std::binary_search(b.begin(), b.end(), group)) return true;
  }
  return false;
}

}  // namespace

std::string_view PickupActionName(PickupAction action) {
  switch (action) {
    case PickupAction::kAnswer: return "answer";
    case PickupAction::kDirectedPickup: return "directed-pickup";
    case PickupAction::kGroupPickup: return "group-pickup";
  }
  return "answer";
}

Result<ExtensionTable> ParseExtensionsYaml(std::string_view text, std::string_view origin) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("{}:{}: not valid YAML: {}", origin, e.mark.line + 1, e.msg));
  }
  ExtensionTable table;
  if (root.IsNull()) return table;
  if (!root.IsMap()) {
    return InvalidArgument(fmt::format("{}: expected a mapping with the key 'extensions'", origin));
  }
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    const int line = entry.first.Mark().line + 1;
    if (key != "extensions") {
      return InvalidArgument(fmt::format("{}:{}: unknown key '{}' (expected 'extensions')", origin, line, key));
    }
    if (entry.second.IsNull()) continue;
    if (!entry.second.IsMap()) {
      return InvalidArgument(fmt::format(
          "{}:{}: extensions: expected a mapping of extension to its groups, e.g. \"201\": [sales]",
          origin, line));
    }
    for (const auto& extension : entry.second) {
      const std::string name = extension.first.as<std::string>();
      const int at = extension.first.Mark().line + 1;
      if (Result<void> valid = CheckName("extension", name); !valid) {
        return InvalidArgument(fmt::format("{}:{}: {}", origin, at, valid.error().message));
      }
      std::vector<std::string> groups;
      if (extension.second.IsSequence()) {
        for (const auto& group : extension.second) {
          if (!group.IsScalar()) {
            return InvalidArgument(
                fmt::format("{}:{}: extension '{}': groups must be names", origin, at, name));
          }
          groups.push_back(group.Scalar());
        }
      } else if (!extension.second.IsNull()) {
        return InvalidArgument(fmt::format(
            "{}:{}: extension '{}': expected a list of groups, e.g. [sales, support]", origin, at, name));
      }
      Result<std::vector<std::string>> checked = CheckGroups(std::move(groups));
      if (!checked) {
        return InvalidArgument(fmt::format("{}:{}: extension '{}': {}", origin, at, name,
                                           checked.error().message));
      }
      if (!table.emplace(name, std::move(*checked)).second) {
        return InvalidArgument(fmt::format("{}:{}: extension '{}' is listed twice", origin, at, name));
      }
    }
  }
  return table;
}

Result<ExtensionTable> ReadExtensionsFile(const std::string& path) {
  std::string text;
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return InvalidArgument(fmt::format("cannot read extensions file '{}': {}", path, std::strerror(errno)));
  }
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  std::fclose(file);
  return ParseExtensionsYaml(text, path);
}

PickupControl::PickupControl(CallControl& calls, EventBus& events, PickupAuthorizer* authorizer,
                             PickupAuditSink* audit)
    : calls_(calls),
      events_(events),
      authorizer_(authorizer != nullptr ? *authorizer : allow_all_),
      audit_(audit != nullptr ? *audit : no_audit_),
      follower_([this, after = events.last_sequence()] {
        uint64_t seen = after;
        while (!stopping_.load()) {
          for (const v1::Event& event : events_.Wait(seen, std::chrono::milliseconds(100))) {
            seen = event.sequence();
            if (event.type() == v1::EVENT_SESSION_ENDED) {
              OnSessionEnded(event.session_id());
            } else if (event.type() == v1::EVENT_LEG_REMOVED && event.role() != v1::ROLE_SUPERVISOR) {
              OnPartyRemoved(event.session_id());
            }
          }
        }
      }) {}

PickupControl::~PickupControl() {
  stopping_.store(true);
  follower_.join();
}

Result<ExtensionInfo> PickupControl::SetExtension(const std::string& extension,
                                                  std::vector<std::string> groups) {
  if (Result<void> valid = CheckName("extension", extension); !valid) return tl::unexpected(valid.error());
  Result<std::vector<std::string>> checked = CheckGroups(std::move(groups));
  if (!checked) return tl::unexpected(checked.error());
  std::lock_guard lock(mutex_);
  auto [it, created] = extensions_.try_emplace(extension);
  it->second.groups = std::move(*checked);
  if (created) UpdateState(extension);  // a new extension starts idle, and says so
  return ExtensionInfo{extension, it->second.groups, it->second.published, it->second.published_session};
}

Result<void> PickupControl::SetExtensions(const ExtensionTable& table) {
  for (const auto& [extension, groups] : table) {
    Result<ExtensionInfo> set = SetExtension(extension, groups);
    if (!set) return tl::unexpected(set.error());
  }
  return {};
}

std::vector<ExtensionInfo> PickupControl::ListExtensions() {
  std::lock_guard lock(mutex_);
  std::vector<ExtensionInfo> list;
  for (const auto& [extension, record] : extensions_) {
    list.push_back(ExtensionInfo{extension, record.groups, record.published, record.published_session});
  }
  return list;
}

Result<SessionInfo> PickupControl::Ring(const std::string& session, const SessionParams& params,
                                        const std::string& extension) {
  {
    std::lock_guard lock(mutex_);
    if (!extensions_.contains(extension)) {
      return MakeError(ErrorCode::kNotFound, fmt::format("no extension '{}'", extension));
    }
    auto existing = calls_by_session_.find(session);
    if (existing != calls_by_session_.end() && existing->second.extension != extension) {
      return MakeError(ErrorCode::kAlreadyExists,
                       fmt::format("session '{}' rings extension '{}', not '{}'", session,
                                   existing->second.extension, extension));
    }
  }
  Result<SessionInfo> created = calls_.CreateSession(session, params);
  if (!created) return created;
  std::lock_guard lock(mutex_);
  auto ext = extensions_.find(extension);
  if (calls_by_session_.contains(session)) return created;  // a repeated Ring
  Call call;
  call.session = session;
  call.extension = extension;
  call.groups = ext == extensions_.end() ? std::vector<std::string>() : ext->second.groups;
  call.rang_at = std::chrono::steady_clock::now();
  call.order = next_order_++;
  calls_by_session_.emplace(session, std::move(call));
  UpdateState(extension);
  return created;
}

Result<AnswerOutcome> PickupControl::Answer(const PickupActor& actor, const std::string& session,
                                            const std::string& leg, const LegParams& params) {
  return Decide(actor, Target{PickupAction::kAnswer, session, "", ""}, leg, params);
}

Result<AnswerOutcome> PickupControl::Pickup(const PickupActor& actor, const std::string& by,
                                            const std::string& extension, const std::string& leg,
                                            const LegParams& params) {
  return Decide(actor,
                Target{extension.empty() ? PickupAction::kGroupPickup : PickupAction::kDirectedPickup,
                       "", by, extension},
                leg, params);
}

std::string PickupControl::WhyNotRinging(const Call& call) const {
  if (call.state == CallState::kAnswered) {
    return fmt::format("session '{}' ringing at {} was already answered by {}", call.session,
                       call.extension, call.by);
  }
  return fmt::format("session '{}' is no longer ringing: the caller hung up", call.session);
}

Result<PickupControl::Call*> PickupControl::Select(const PickupActor& actor, const Target& target,
                                                   bool& must_wait, PickupRequestInfo& info) {
  must_wait = false;
  info.action = target.action;
  if (target.action == PickupAction::kAnswer) {
    auto it = calls_by_session_.find(target.session);
    if (it == calls_by_session_.end()) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       fmt::format("session '{}' is not ringing (not created by Ring, or ended)",
                                   target.session));
    }
    Call& call = it->second;
    info = PickupRequestInfo{target.action, call.extension, call.extension, call.groups, call.session};
    if (call.state == CallState::kClaimed) {
      must_wait = true;
      return nullptr;
    }
    if (call.state != CallState::kRinging) return MakeError(ErrorCode::kFailedPrecondition, WhyNotRinging(call));
    if (Result<void> allowed = authorizer_.Authorize(actor, info); !allowed) return tl::unexpected(allowed.error());
    return &call;
  }

  auto picker = extensions_.find(target.by);
  if (picker == extensions_.end()) {
    return MakeError(ErrorCode::kNotFound, fmt::format("no extension '{}' (--by)", target.by));
  }
  info.by_extension = target.by;
  if (target.action == PickupAction::kDirectedPickup) {
    if (!extensions_.contains(target.extension)) {
      return MakeError(ErrorCode::kNotFound, fmt::format("no extension '{}'", target.extension));
    }
    if (target.extension == target.by) {
      return InvalidArgument(fmt::format("extension {} cannot pick up its own call; answer it", target.by));
    }
    // The oldest call at the extension that is ringing or being answered; else
    // the latest one that was, to say what became of it.
    Call* oldest = nullptr;
    Call* latest = nullptr;
    for (auto& [id, call] : calls_by_session_) {
      if (call.extension != target.extension) continue;
      if (call.state == CallState::kRinging || call.state == CallState::kClaimed) {
        if (oldest == nullptr || call.order < oldest->order) oldest = &call;
      } else if (latest == nullptr || call.order > latest->order) {
        latest = &call;
      }
    }
    if (oldest == nullptr) {
      if (latest != nullptr) return MakeError(ErrorCode::kFailedPrecondition, WhyNotRinging(*latest));
      return MakeError(ErrorCode::kFailedPrecondition,
                       fmt::format("no call is ringing at extension {}", target.extension));
    }
    info = PickupRequestInfo{target.action, target.by, oldest->extension, oldest->groups, oldest->session};
    if (oldest->state == CallState::kClaimed) {
      must_wait = true;
      return nullptr;
    }
    if (Result<void> allowed = authorizer_.Authorize(actor, info); !allowed) return tl::unexpected(allowed.error());
    return oldest;
  }

  // Group pickup: the oldest ringing call in any of the picker's groups that
  // the picker may take; claimed ones are not eligible, but if only those are
  // left wait for them (a claim can fail and ring again).
  const std::vector<std::string>& groups = picker->second.groups;
  if (groups.empty()) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("extension {} is in no pickup group", target.by));
  }
  Call* oldest = nullptr;
  Call* latest = nullptr;
  bool claimed = false;
  std::optional<Error> denied;
  for (auto& [id, call] : calls_by_session_) {
    if (call.extension == target.by || !SharesGroup(call.groups, groups)) continue;
    if (call.state == CallState::kClaimed) {
      claimed = true;
    } else if (call.state == CallState::kRinging) {
      if (oldest != nullptr && call.order > oldest->order) continue;
      PickupRequestInfo candidate{target.action, target.by, call.extension, call.groups, call.session};
      if (Result<void> allowed = authorizer_.Authorize(actor, candidate); !allowed) {
        denied = allowed.error();
        continue;
      }
      oldest = &call;
    } else if (latest == nullptr || call.order > latest->order) {
      latest = &call;
    }
  }
  if (oldest != nullptr) {
    info = PickupRequestInfo{target.action, target.by, oldest->extension, oldest->groups, oldest->session};
    return oldest;
  }
  if (claimed) {
    must_wait = true;
    return nullptr;
  }
  if (denied) return tl::unexpected(*denied);
  std::string why = fmt::format("no call is ringing in extension {}'s groups ({})", target.by,
                                fmt::join(groups, ", "));
  if (latest != nullptr) why += fmt::format("; the last one: {}", WhyNotRinging(*latest));
  return MakeError(ErrorCode::kFailedPrecondition, why);
}

Result<AnswerOutcome> PickupControl::Decide(const PickupActor& actor, const Target& target,
                                            const std::string& leg, const LegParams& params) {
  PickupAuditRecord audit;
  audit.actor = actor;
  auto finish = [&](Result<AnswerOutcome> outcome) {
    audit.time = std::chrono::system_clock::now();
    audit.won = outcome.has_value();
    if (!outcome) {
      audit.code = outcome.error().code;
      audit.outcome = outcome.error().message;
    } else {
      audit.outcome = "answered";
    }
    audit_.Record(audit);  // before the RPC answers; no lock held
    return outcome;
  };

  std::unique_lock lock(mutex_);
  Call* call = nullptr;
  for (;;) {
    bool must_wait = false;
    Result<Call*> selected = Select(actor, target, must_wait, audit.request);
    if (!selected) {
      lock.unlock();
      return finish(tl::unexpected(selected.error()));
    }
    if (!must_wait) {
      call = *selected;
      break;
    }
    resolved_.wait(lock);
  }
  // The claim: from here on this request is the one answer of this call.
  const std::string by = target.action == PickupAction::kAnswer ? call->extension : target.by;
  call->state = CallState::kClaimed;
  call->by = by;
  const std::string session = call->session;
  lock.unlock();

  Result<LegInfo> added = calls_.AddLeg(session, leg, params, mixer::SupervisorMode::kListen, false,
                                        /*answer=*/true);

  lock.lock();
  // Claimed calls stay in the map (OnSessionEnded only marks them), so `call` is valid.
  Result<AnswerOutcome> outcome;
  if (!added) {
    const bool caller_gone = added.error().code == ErrorCode::kNotFound ||
                             added.error().code == ErrorCode::kFailedPrecondition;
    if (caller_gone) {
      Abandon(*call);
      outcome = MakeError(ErrorCode::kFailedPrecondition,
                          fmt::format("session '{}' is no longer ringing: the caller hung up", session));
    } else {
      call->state = CallState::kRinging;  // e.g. a bad leg: the call rings on for others
      call->by.clear();
      outcome = tl::unexpected(added.error());
    }
  } else {
    call->state = CallState::kAnswered;
    const double ring_ms = std::chrono::duration<double, std::milli>(
                               std::chrono::steady_clock::now() - call->rang_at)
                               .count();
    for (const std::string& group : call->groups) {
      GroupCounters& counters = groups_[group];
      (target.action == PickupAction::kAnswer ? counters.answered : counters.pickups)++;
      ++counters.timed;
      counters.ring_ms_sum += ring_ms;
      counters.ring_ms_max = std::max(counters.ring_ms_max, ring_ms);
    }
    PublishAnswered(*call, leg);
    UpdateState(call->extension);
    if (by != call->extension) UpdateState(by);
    outcome = AnswerOutcome{session, call->extension, by, *added};
    if (call->session_gone) {
      const std::string extension = call->extension;
      calls_by_session_.erase(session);
      UpdateState(extension);
      if (by != extension) UpdateState(by);
    }
  }
  if (!outcome && call->session_gone) {
    const std::string extension = call->extension;
    calls_by_session_.erase(session);
    UpdateState(extension);
  }
  resolved_.notify_all();
  lock.unlock();
  return finish(std::move(outcome));
}

void PickupControl::Abandon(Call& call) {
  if (call.state == CallState::kEnded) return;
  call.state = CallState::kEnded;
  call.by.clear();
  for (const std::string& group : call.groups) ++groups_[group].abandoned;
  UpdateState(call.extension);
}

void PickupControl::UpdateState(const std::string& extension) {
  auto ext = extensions_.find(extension);
  if (ext == extensions_.end()) return;
  v1::ExtensionState state = v1::EXTENSION_IDLE;
  std::string session;
  uint64_t oldest = UINT64_MAX;
  for (const auto& [id, call] : calls_by_session_) {
    if (call.state == CallState::kAnswered && call.by == extension) {
      state = v1::EXTENSION_BUSY;
      session = id;
      break;
    }
    if ((call.state == CallState::kRinging || call.state == CallState::kClaimed) &&
        call.extension == extension && call.order < oldest) {
      state = v1::EXTENSION_RINGING;
      session = id;
      oldest = call.order;
    }
  }
  if (state == ext->second.published && session == ext->second.published_session) return;
  ext->second.published = state;
  ext->second.published_session = session;
  v1::Event event;
  event.set_type(v1::EVENT_EXTENSION_STATE);
  event.set_extension(extension);
  event.set_extension_state(state);
  event.set_session_id(session);
  events_.Publish(std::move(event));
}

void PickupControl::PublishAnswered(const Call& call, const std::string& leg) {
  v1::Event event;
  event.set_type(v1::EVENT_CALL_ANSWERED);
  event.set_session_id(call.session);
  event.set_extension(call.extension);
  event.set_by_extension(call.by);
  event.set_leg_id(leg);
  events_.Publish(std::move(event));
}

void PickupControl::OnSessionEnded(const std::string& session) {
  std::lock_guard lock(mutex_);
  auto it = calls_by_session_.find(session);
  if (it == calls_by_session_.end()) return;
  Call& call = it->second;
  if (call.state == CallState::kClaimed) {
    call.session_gone = true;  // the claimer finishes it
    return;
  }
  if (call.state == CallState::kRinging) Abandon(call);
  const std::string extension = call.extension;
  const std::string by = call.by;
  calls_by_session_.erase(it);
  UpdateState(extension);
  if (!by.empty() && by != extension) UpdateState(by);
  resolved_.notify_all();
}

void PickupControl::OnPartyRemoved(const std::string& session) {
  {
    std::lock_guard lock(mutex_);
    auto it = calls_by_session_.find(session);
    if (it == calls_by_session_.end() || it->second.state != CallState::kRinging) return;
  }
  // Whether a party (the caller) is left; asked without mutex_ held.
  Result<SessionInfo> info = calls_.GetSession(session);
  const bool party_left =
      info && std::any_of(info->legs.begin(), info->legs.end(), [](const LegInfo& leg) {
        return leg.params.role != mixer::Role::kSupervisor;
      });
  if (party_left) return;
  std::lock_guard lock(mutex_);
  auto it = calls_by_session_.find(session);
  if (it == calls_by_session_.end() || it->second.state != CallState::kRinging) return;
  Abandon(it->second);
  resolved_.notify_all();
}

Result<std::vector<PickupGroupFigures>> PickupControl::Figures(const std::string& group) {
  std::lock_guard lock(mutex_);
  std::set<std::string> names;
  for (const auto& [name, counters] : groups_) names.insert(name);
  for (const auto& [extension, record] : extensions_) names.insert(record.groups.begin(), record.groups.end());
  if (!group.empty()) {
    if (!names.contains(group)) return MakeError(ErrorCode::kNotFound, fmt::format("no pickup group '{}'", group));
    names = {group};
  }
  std::vector<PickupGroupFigures> figures;
  for (const std::string& name : names) {
    PickupGroupFigures entry;
    entry.group = name;
    auto it = groups_.find(name);
    if (it != groups_.end()) {
      entry.answered = it->second.answered;
      entry.pickups = it->second.pickups;
      entry.abandoned = it->second.abandoned;
      if (it->second.timed > 0) entry.ring_time_mean_ms = it->second.ring_ms_sum / static_cast<double>(it->second.timed);
      entry.ring_time_max_ms = it->second.ring_ms_max;
    }
    for (const auto& [id, call] : calls_by_session_) {
      if ((call.state == CallState::kRinging || call.state == CallState::kClaimed) &&
          std::binary_search(call.groups.begin(), call.groups.end(), name)) {
        ++entry.ringing;
      }
    }
    figures.push_back(std::move(entry));
  }
  return figures;
}

}  // namespace earshot::control

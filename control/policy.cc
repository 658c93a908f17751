#include "control/policy.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace earshot::control {
namespace {

constexpr mixer::SupervisorMode kAllModes[] = {
    mixer::SupervisorMode::kListen, mixer::SupervisorMode::kWhisper,
    mixer::SupervisorMode::kWhisperCustomer, mixer::SupervisorMode::kBarge,
    mixer::SupervisorMode::kTakeover};

uint32_t ModeBit(mixer::SupervisorMode mode) { return 1u << static_cast<unsigned>(mode); }

bool Listed(const std::vector<std::string>& names, std::string_view name) {
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& listed) { return listed == "*" || listed == name; });
}

std::string Where(std::string_view origin, const YAML::Node& node) {
  return fmt::format("{}:{}", origin, node.Mark().line + 1);
}

Result<std::vector<std::string>> StringList(const YAML::Node& node, std::string_view origin,
                                            std::string_view key) {
  std::vector<std::string> list;
  if (!node) return list;
  if (node.IsScalar()) {
    list.push_back(node.Scalar());
    return list;
  }
  if (!node.IsSequence()) {
    return InvalidArgument(fmt::format("{}: '{}' must be a list of names", Where(origin, node), key));
  }
  for (const YAML::Node& item : node) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      return InvalidArgument(fmt::format("{}: '{}' must hold non-empty names", Where(origin, item), key));
    }
    list.push_back(item.Scalar());
  }
  return list;
}

Result<LabelSelector> ParseSelector(const std::string& text, const std::string& where) {
  LabelSelector selector;
  if (text == "*") return selector;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string term = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t colon = term.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == term.size()) {
      return InvalidArgument(fmt::format(
          "{}: session selector '{}': expected KEY:VALUE terms joined by ',' (e.g. team:billing, "
          "team:*), or *",
          where, text));
    }
    std::string value = term.substr(colon + 1);
    selector.terms.push_back(LabelSelector::Term{
        term.substr(0, colon), value == "*" ? std::nullopt : std::optional<std::string>(value)});
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return selector;
}

std::string LabelText(const std::map<std::string, std::string>& labels) {
  if (labels.empty()) return "*";
  std::string text;
  for (const auto& [key, value] : labels) {
    if (!text.empty()) text += ',';
    text += key + ":" + value;
  }
  return text;
}

std::string SupervisorRule(std::string_view principal, std::string_view supervisor) {
  return supervisor == principal ? "" : fmt::format(", supervisors: [{}]", supervisor);
}

}  // namespace

bool LabelSelector::Matches(const std::map<std::string, std::string>& labels) const {
  for (const Term& term : terms) {
    auto it = labels.find(term.key);
    if (it == labels.end()) return false;
    if (term.value && it->second != *term.value) return false;
  }
  return true;
}

Result<Policy> ParsePolicy(std::string_view text, std::string_view origin) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("{}:{}: not valid YAML: {}", origin, e.mark.line + 1, e.msg));
  }
  Policy policy;
  if (root.IsNull()) return policy;  // an empty policy allows nothing
  if (!root.IsMap()) return InvalidArgument(fmt::format("{}: expected a mapping with 'grants'", origin));
  try {
    for (const auto& entry : root) {
      const std::string key = entry.first.as<std::string>();
      if (key == "subjects") {
        if (!entry.second.IsMap()) {
          return InvalidArgument(fmt::format("{}: 'subjects' must map certificate subjects to principals",
                                             Where(origin, entry.second)));
        }
        for (const auto& subject : entry.second) {
          if (!subject.second.IsScalar() || subject.second.Scalar().empty()) {
            return InvalidArgument(fmt::format("{}: subject '{}' must map to a principal name",
                                               Where(origin, subject.second), subject.first.Scalar()));
          }
          policy.subjects[subject.first.as<std::string>()] = subject.second.Scalar();
        }
      } else if (key == "grants") {
        if (!entry.second.IsSequence()) {
          return InvalidArgument(fmt::format("{}: 'grants' must be a list", Where(origin, entry.second)));
        }
        for (const YAML::Node& node : entry.second) {
          const std::string where = Where(origin, node);
          if (!node.IsMap()) return InvalidArgument(fmt::format("{}: a grant must be a mapping", where));
          Grant grant;
          for (const auto& field : node) {
            const std::string name = field.first.as<std::string>();
            if (name != "name" && name != "principals" && name != "supervisors" && name != "modes" &&
                name != "sessions" && name != "pickup_groups") {
              return InvalidArgument(fmt::format(
                  "{}: unknown grant key '{}' (expected name, principals, supervisors, modes, "
                  "sessions, pickup_groups)",
                  Where(origin, field.first), name));
            }
          }
          if (node["name"]) grant.name = node["name"].as<std::string>();
          auto principals = StringList(node["principals"], origin, "principals");
          if (!principals) return tl::unexpected(principals.error());
          grant.principals = std::move(*principals);
          if (grant.principals.empty()) {
            return InvalidArgument(fmt::format("{}: a grant needs 'principals'", where));
          }
          auto supervisors = StringList(node["supervisors"], origin, "supervisors");
          if (!supervisors) return tl::unexpected(supervisors.error());
          grant.supervisors = std::move(*supervisors);
          auto modes = StringList(node["modes"], origin, "modes");
          if (!modes) return tl::unexpected(modes.error());
          for (const std::string& mode : *modes) {
            if (mode == "*") {
              for (mixer::SupervisorMode any : kAllModes) grant.modes |= ModeBit(any);
              continue;
            }
            std::optional<mixer::SupervisorMode> parsed = mixer::ParseSupervisorMode(mode);
            if (!parsed) {
              return InvalidArgument(fmt::format(
                  "{}: mode '{}': expected listen, whisper, whisper-customer, barge, takeover or *",
                  Where(origin, node["modes"]), mode));
            }
            grant.modes |= ModeBit(*parsed);
          }
          auto sessions = StringList(node["sessions"], origin, "sessions");
          if (!sessions) return tl::unexpected(sessions.error());
          for (const std::string& selector_text : *sessions) {
            Result<LabelSelector> selector = ParseSelector(selector_text, Where(origin, node["sessions"]));
            if (!selector) return tl::unexpected(selector.error());
            grant.sessions.push_back(std::move(*selector));
          }
          if (grant.modes != 0 && grant.sessions.empty()) {
            return InvalidArgument(fmt::format(
                "{}: a grant with 'modes' needs 'sessions' (label selectors, or \"*\")", where));
          }
          auto groups = StringList(node["pickup_groups"], origin, "pickup_groups");
          if (!groups) return tl::unexpected(groups.error());
          grant.pickup_groups = std::move(*groups);
          policy.grants.push_back(std::move(grant));
        }
      } else {
        return InvalidArgument(fmt::format("{}: unknown policy key '{}' (expected grants, subjects)",
                                           Where(origin, entry.first), key));
      }
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("{}:{}: {}", origin, e.mark.line + 1, e.msg));
  }
  return policy;
}

Result<Policy> LoadPolicyFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return InvalidArgument(fmt::format("cannot read policy file '{}': {}", path, std::strerror(errno)));
  }
  std::string text;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  std::fclose(file);
  return ParsePolicy(text, path);
}

Result<std::unique_ptr<Authorizer>> Authorizer::Create(const std::string& policy_path) {
  if (policy_path.empty()) {
    return std::unique_ptr<Authorizer>(new Authorizer("", nullptr, false));
  }
  Result<Policy> policy = LoadPolicyFile(policy_path);
  if (!policy) return tl::unexpected(policy.error());
  return std::unique_ptr<Authorizer>(
      new Authorizer(policy_path, std::make_shared<const Policy>(std::move(*policy)), false));
}

std::unique_ptr<Authorizer> Authorizer::FromPolicy(Policy policy) {
  return std::unique_ptr<Authorizer>(
      new Authorizer("", std::make_shared<const Policy>(std::move(policy)), true));
}

Result<void> Authorizer::Reload() {
  if (path_.empty()) return {};
  Result<Policy> policy = LoadPolicyFile(path_);
  if (!policy) return tl::unexpected(policy.error());
  auto fresh = std::make_shared<const Policy>(std::move(*policy));
  std::lock_guard lock(mutex_);
  policy_.swap(fresh);
  return {};  // the old snapshot is freed here or by the last check still using it
}

std::shared_ptr<const Policy> Authorizer::Snapshot() const {
  std::lock_guard lock(mutex_);
  return policy_;
}

size_t Authorizer::grant_count() const {
  std::shared_ptr<const Policy> policy = Snapshot();
  return policy == nullptr ? 0 : policy->grants.size();
}

Result<void> Authorizer::CheckMode(std::string_view principal, std::string_view supervisor,
                                   mixer::SupervisorMode mode, std::string_view session,
                                   const std::map<std::string, std::string>& labels) const {
  std::shared_ptr<const Policy> policy = Snapshot();
  if (policy == nullptr) return {};
  const uint32_t bit = ModeBit(mode);
  for (const Grant& grant : policy->grants) {
    if ((grant.modes & bit) == 0 || !Listed(grant.principals, principal)) continue;
    if (grant.supervisors.empty() ? supervisor != principal : !Listed(grant.supervisors, supervisor)) {
      continue;
    }
    for (const LabelSelector& selector : grant.sessions) {
      if (selector.Matches(labels)) return {};
    }
  }
  const std::string_view mode_name = mixer::SupervisorModeName(mode);
  return MakeError(
      ErrorCode::kPermissionDenied,
      fmt::format("principal '{}' acting for supervisor '{}' may not {} on session '{}' (labels {}): "
                  "missing rule {{principals: [{}]{}, modes: [{}], sessions: [\"{}\"]}}",
                  principal, supervisor, mode_name, session, LabelText(labels), principal,
                  SupervisorRule(principal, supervisor), mode_name, LabelText(labels)));
}

Result<void> Authorizer::CheckPickup(std::string_view principal, std::string_view supervisor,
                                     std::string_view group) const {
  std::shared_ptr<const Policy> policy = Snapshot();
  if (policy == nullptr) return {};
  for (const Grant& grant : policy->grants) {
    if (!Listed(grant.principals, principal)) continue;
    if (grant.supervisors.empty() ? supervisor != principal : !Listed(grant.supervisors, supervisor)) {
      continue;
    }
    if (Listed(grant.pickup_groups, group)) return {};
  }
  return MakeError(ErrorCode::kPermissionDenied,
                   fmt::format("principal '{}' acting for '{}' may not pick up calls of group '{}': "
                               "missing rule {{principals: [{}]{}, pickup_groups: [{}]}}",
                               principal, supervisor, group, principal,
                               SupervisorRule(principal, supervisor), group));
}

std::optional<std::string> Authorizer::SubjectPrincipal(std::string_view subject) const {
  std::shared_ptr<const Policy> policy = Snapshot();
  if (policy == nullptr) return std::nullopt;
  auto it = policy->subjects.find(subject);
  if (it == policy->subjects.end()) return std::nullopt;
  return it->second;
}

}  // namespace earshot::control

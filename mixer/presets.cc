#include "mixer/presets.h"

#include <algorithm>
#include <array>
#include <utility>

#include "codecs/check.h"

namespace earshot::mixer {
namespace {

constexpr std::array<std::pair<std::string_view, SupervisorMode>, 5> kModeNames = {{
    {"listen", SupervisorMode::kListen},
    {"whisper", SupervisorMode::kWhisper},
    {"whisper-customer", SupervisorMode::kWhisperCustomer},
    {"barge", SupervisorMode::kBarge},
    {"takeover", SupervisorMode::kTakeover},
}};

constexpr std::array<std::pair<std::string_view, Role>, 4> kRoleNames = {{
    {"customer", Role::kCustomer},
    {"agent", Role::kAgent},
    {"supervisor", Role::kSupervisor},
    {"other", Role::kOther},
}};

bool IsSupervisor(const SlotRole& slot) { return slot.in_use && slot.role == Role::kSupervisor; }

// Whether the party in `listener` hears supervisor `supervisor` in its mode.
bool PartyHearsSupervisor(Role listener, SupervisorMode mode) {
  switch (mode) {
    case SupervisorMode::kListen: return false;
    case SupervisorMode::kWhisper: return listener == Role::kAgent;
    case SupervisorMode::kWhisperCustomer: return listener == Role::kCustomer;
    case SupervisorMode::kBarge:
    case SupervisorMode::kTakeover: return true;
  }
  return false;
}

}  // namespace

std::string_view RoleName(Role role) {
  for (const auto& [name, value] : kRoleNames) {
    if (value == role) return name;
  }
  return "unknown";
}

std::string_view SupervisorModeName(SupervisorMode mode) {
  for (const auto& [name, value] : kModeNames) {
    if (value == mode) return name;
  }
  return "unknown";
}

std::optional<SupervisorMode> ParseSupervisorMode(std::string_view name) {
  for (const auto& [candidate, value] : kModeNames) {
    if (candidate == name) return value;
  }
  return std::nullopt;
}

std::optional<Role> ParseRole(std::string_view name) {
  for (const auto& [candidate, value] : kRoleNames) {
    if (candidate == name) return value;
  }
  return std::nullopt;
}

GainMatrix BuildPresetMatrix(std::span<const SlotRole> slots) {
  GainMatrix matrix(static_cast<int>(slots.size()));
  FillPresetMatrix(slots, matrix);
  return matrix;
}

void FillPresetMatrix(std::span<const SlotRole> slots, GainMatrix& matrix) {
  const int size = static_cast<int>(slots.size());
  EARSHOT_CHECK(matrix.size() == size);
  const bool takeover = std::any_of(slots.begin(), slots.end(), [](const SlotRole& slot) {
    return IsSupervisor(slot) && slot.mode == SupervisorMode::kTakeover;
  });
  // A party is in the mix unless it is an agent during a takeover.
  auto in_mix = [&](const SlotRole& slot) {
    return slot.in_use && slot.role != Role::kSupervisor &&
           !(takeover && slot.role == Role::kAgent);
  };
  auto audible_supervisor = [&](const SlotRole& slot) {
    if (!IsSupervisor(slot)) return false;
    for (const SlotRole& listener : slots) {
      if (in_mix(listener) && PartyHearsSupervisor(listener.role, slot.mode)) return true;
    }
    return false;
  };

  for (int dst = 0; dst < size; ++dst) {
    const SlotRole& listener = slots[static_cast<size_t>(dst)];
    for (int src = 0; src < size; ++src) {
      const SlotRole& speaker = slots[static_cast<size_t>(src)];
      bool hears = false;
      if (src == dst || !speaker.in_use || !listener.in_use) {
        matrix.set_gain(dst, src, 0.0f);
        continue;
      }
      if (IsSupervisor(listener)) {
        hears = in_mix(speaker) || audible_supervisor(speaker);
      } else if (in_mix(listener)) {
        hears = IsSupervisor(speaker) ? PartyHearsSupervisor(listener.role, speaker.mode)
                                      : in_mix(speaker);
      }
      matrix.set_gain(dst, src, hears ? 1.0f : 0.0f);
    }
  }
}

}  // namespace earshot::mixer

#include "tools/load/load_call_plan.h"

#include "codecs/check.h"

namespace earshot::load {
namespace {

// Whether customer or agent `listener` hears a supervisor in `mode`.
bool PartyHearsSupervisor(int listener, SupervisorMode mode) {
  switch (mode) {
    case SupervisorMode::kListen: return false;
    case SupervisorMode::kWhisper: return listener == kAgent;
    case SupervisorMode::kWhisperCustomer: return listener == kCustomer;
    case SupervisorMode::kBarge: return true;
  }
  return false;
}

}  // namespace

std::string_view ModeName(SupervisorMode mode) {
  switch (mode) {
    case SupervisorMode::kListen: return "listen";
    case SupervisorMode::kWhisper: return "whisper";
    case SupervisorMode::kWhisperCustomer: return "whisper-customer";
    case SupervisorMode::kBarge: return "barge";
  }
  return "unknown";
}

int ToneHz(int call, int party) {
  return kBaseHz + party * kPartySpacingHz + (call % 4) * kCallOffsetHz;
}

std::string PartyLegId(int party) {
  if (party == kCustomer) return "customer";
  if (party == kAgent) return "agent";
  return "sup-" + std::to_string(party - kFirstSupervisor + 1);
}

Audibility ExpectedAudibility(std::span<const SupervisorMode> modes) {
  EARSHOT_CHECK(modes.size() <= static_cast<size_t>(kMaxSupervisors));
  Audibility plan;
  plan.parties = kFirstSupervisor + static_cast<int>(modes.size());
  auto mode_of = [&](int party) { return modes[static_cast<size_t>(party - kFirstSupervisor)]; };
  // A supervisor is audible when the customer or the agent hears it.
  auto audible = [&](int supervisor) {
    return PartyHearsSupervisor(kCustomer, mode_of(supervisor)) ||
           PartyHearsSupervisor(kAgent, mode_of(supervisor));
  };
  for (int listener = 0; listener < plan.parties; ++listener) {
    for (int speaker = 0; speaker < plan.parties; ++speaker) {
      bool hears = false;
      if (listener == speaker) {
        hears = false;
      } else if (speaker < kFirstSupervisor) {
        hears = true;  // customer and agent are always in the mix (no takeover here)
      } else if (listener < kFirstSupervisor) {
        hears = PartyHearsSupervisor(listener, mode_of(speaker));
      } else {
        hears = audible(speaker);
      }
      plan.hears[static_cast<size_t>(listener)][static_cast<size_t>(speaker)] = hears;
    }
  }
  return plan;
}

}  // namespace earshot::load

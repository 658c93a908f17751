#pragma once
// The supervision modes of PRODUCT.md "Mix semantics" as presets of the gain
// matrix, for any number of customers, agents, other parties and supervisors,
// each supervisor in a mode of its own.
//
// Parties (customers, agents, others) hear each other. A supervisor hears every
// party still in the mix and every other supervisor who is audible to someone.
// Per supervisor mode, who hears the supervisor:
//   listen            nobody
//   whisper           agents
//   whisper-customer  customers
//   barge             every party
//   takeover          every party; and the agents leave the mix (they hear
//                     nothing and nobody hears them) while any supervisor is in
//                     takeover
// Nobody hears themselves. Every gain is 0 or 1.

#include <optional>
#include <span>
#include <string_view>

#include "mixer/gain_matrix.h"

namespace earshot::mixer {

enum class Role { kCustomer, kAgent, kSupervisor, kOther };
enum class SupervisorMode { kListen, kWhisper, kWhisperCustomer, kBarge, kTakeover };

std::string_view RoleName(Role role);
std::string_view SupervisorModeName(SupervisorMode mode);
std::optional<SupervisorMode> ParseSupervisorMode(std::string_view name);  // "whisper-customer"
std::optional<Role> ParseRole(std::string_view name);

// One leg slot as the presets see it. `mode` matters for supervisors only.
struct SlotRole {
  bool in_use = false;
  Role role = Role::kOther;
  SupervisorMode mode = SupervisorMode::kListen;
};

// The matrix for these slots (size = slots.size()); unused slots hear nothing and
// are heard by nobody.
GainMatrix BuildPresetMatrix(std::span<const SlotRole> slots);

// The same into an existing matrix of size slots.size(), allocating nothing.
void FillPresetMatrix(std::span<const SlotRole> slots, GainMatrix& matrix);

}  // namespace earshot::mixer

#pragma once
// Who must hear whom in one simulated call, and which tone each party sends.
//
// A call has parties 0 = customer, 1 = agent, 2.. = supervisors. Audibility
// follows PRODUCT.md "Mix semantics" (the presets of mixer/presets.cc): a
// customer hears the agent and the supervisors in whisper-customer or barge; an
// agent hears the customer and the supervisors in whisper or barge; a
// supervisor hears the customer, the agent and every supervisor that somebody
// in the call hears; nobody hears themselves.
//
// Tones: party p of call c sends kBaseHz + p * kPartySpacingHz + (c % 4) *
// kCallOffsetHz. All are multiples of 50 Hz, so a 20 ms packet (160 samples at
// 8 kHz) holds whole periods: each party's payload is one fixed packet, and on
// 20 ms or 40 ms analysis windows the tones fall on exact DFT bins. Within a
// call they are 300 Hz apart, far outside a Hann window's main lobe.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace earshot::load {

enum class SupervisorMode { kListen, kWhisper, kWhisperCustomer, kBarge };

std::string_view ModeName(SupervisorMode mode);

inline constexpr int kCustomer = 0;
inline constexpr int kAgent = 1;
inline constexpr int kFirstSupervisor = 2;
inline constexpr int kMaxSupervisors = 6;
inline constexpr int kMaxParties = kFirstSupervisor + kMaxSupervisors;

inline constexpr int kBaseHz = 450;
inline constexpr int kPartySpacingHz = 300;
inline constexpr int kCallOffsetHz = 50;

// The tone of party `party` in call `call`, in Hz.
int ToneHz(int call, int party);

// The leg id of a party in its session: "customer", "agent", "sup-1"...
std::string PartyLegId(int party);

// hears[listener][speaker] for one call.
struct Audibility {
  int parties = 0;
  std::array<std::array<bool, kMaxParties>, kMaxParties> hears{};

  bool Hears(int listener, int speaker) const {
    return hears[static_cast<size_t>(listener)][static_cast<size_t>(speaker)];
  }
};

// The audibility of a call whose supervisors are in `modes` (one per supervisor).
Audibility ExpectedAudibility(std::span<const SupervisorMode> modes);

}  // namespace earshot::load

#pragma once
// SDES keying of a leg (RFC 4568), on the control path: the suite and keys a
// SIP server took from the a=crypto lines become the libsrtp sessions its
// worker will own. Errors name the field and never quote a key.

#include <optional>
#include <string>

#include "codecs/result.h"
#include "control/secret_text.h"
#include "dataplane/srtp_session.h"

namespace earshot::control {

inline constexpr int kDefaultReplayWindow = dataplane::SrtpSession::kDefaultReplayWindow;

struct LegSrtpParams {
  std::string suite;       // an RFC 4568 / RFC 7714 crypto-suite name
  SecretText remote_key;   // the far end's, for what arrives; empty: not known yet
  SecretText local_key;    // ours, for what we send; empty: Earshot makes one
  int replay_window = 0;   // 0: kDefaultReplayWindow
  friend bool operator==(const LegSrtpParams&, const LegSrtpParams&) = default;
};

struct LegSrtp {
  std::optional<dataplane::SrtpSession> inbound;
  std::optional<dataplane::SrtpSession> outbound;
  SecretText local_key;  // base64 key||salt for the SDP answer (set with outbound)
};

// A new leg: the inbound session when the far end's key is known, and always
// an outbound one (from local_key, or a fresh random key).
[[nodiscard]] Result<LegSrtp> MakeLegSrtp(const LegSrtpParams& params);

// The keys of a re-key, for the worker to apply to the leg's sessions.
struct LegSrtpRekey {
  std::optional<dataplane::SrtpKey> inbound;
  std::optional<dataplane::SrtpKey> outbound;
  int replay_window = kDefaultReplayWindow;
  SecretText local_key;  // set with outbound
};

// A re-key of a leg keyed with `current`: keys only for what changes. A new
// suite needs the far end's new key; ours is then made anew unless given.
// Returns the parameters now in force in `next`.
[[nodiscard]] Result<LegSrtpRekey> MakeLegRekey(const LegSrtpParams& current,
                                                const LegSrtpParams& update, LegSrtpParams& next);

}  // namespace earshot::control

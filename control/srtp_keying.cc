#include "control/srtp_keying.h"

#include <fmt/format.h>

#include "dataplane/srtp_key.h"

namespace earshot::control {
namespace {

using dataplane::SrtpKey;
using dataplane::SrtpSession;
using dataplane::SrtpSuite;

Result<SrtpKey> ParseKey(SrtpSuite suite, const SecretText& text, std::string_view whose) {
  Result<SrtpKey> key = dataplane::ParseSdesKey(suite, text.reveal());
  if (!key) {
    // ParseSdesKey's messages never quote the key; say which one it was.
    return InvalidArgument(fmt::format("SRTP {} key: {}", whose, key.error().message));
  }
  return key;
}

Result<void> CheckReplayWindow(int window) {
  if (window == 0 || (window >= SrtpSession::kMinReplayWindow && window <= SrtpSession::kMaxReplayWindow)) {
    return {};
  }
  return InvalidArgument(fmt::format("SRTP replay window {} is outside {}..{}", window,
                                     SrtpSession::kMinReplayWindow, SrtpSession::kMaxReplayWindow));
}

int ReplayWindow(const LegSrtpParams& params) {
  return params.replay_window == 0 ? kDefaultReplayWindow : params.replay_window;
}

Result<void> AddInbound(SrtpSuite suite, const LegSrtpParams& params, LegSrtp& srtp) {
  Result<SrtpKey> key = ParseKey(suite, params.remote_key, "remote");
  if (!key) return tl::unexpected(key.error());
  Result<SrtpSession> session = SrtpSession::Inbound(*key, ReplayWindow(params));
  if (!session) return tl::unexpected(session.error());
  srtp.inbound.emplace(std::move(*session));
  return {};
}

// Ours: the one given, else a fresh one; its text goes into srtp.local_key.
Result<void> AddOutbound(SrtpSuite suite, const SecretText& given, LegSrtp& srtp) {
  Result<SrtpKey> key = given.empty() ? dataplane::GenerateSrtpKey(suite) : ParseKey(suite, given, "local");
  if (!key) return tl::unexpected(key.error());
  Result<SrtpSession> session = SrtpSession::Outbound(*key);
  if (!session) return tl::unexpected(session.error());
  srtp.outbound.emplace(std::move(*session));
  srtp.local_key = SecretText(dataplane::FormatSdesKey(*key));
  return {};
}

}  // namespace

Result<LegSrtp> MakeLegSrtp(const LegSrtpParams& params) {
  Result<SrtpSuite> suite = dataplane::ParseSrtpSuite(params.suite);
  if (!suite) return tl::unexpected(suite.error());
  if (Result<void> valid = CheckReplayWindow(params.replay_window); !valid) {
    return tl::unexpected(valid.error());
  }
  LegSrtp srtp;
  if (!params.remote_key.empty()) {
    if (Result<void> added = AddInbound(*suite, params, srtp); !added) return tl::unexpected(added.error());
  }
  if (Result<void> added = AddOutbound(*suite, params.local_key, srtp); !added) {
    return tl::unexpected(added.error());
  }
  return srtp;
}

Result<LegSrtpRekey> MakeLegRekey(const LegSrtpParams& current, const LegSrtpParams& update,
                                  LegSrtpParams& next) {
  next = current;
  Result<SrtpSuite> suite = dataplane::ParseSrtpSuite(update.suite.empty() ? current.suite : update.suite);
  if (!suite) return tl::unexpected(suite.error());
  Result<SrtpSuite> current_suite = dataplane::ParseSrtpSuite(current.suite);
  const bool new_suite = !current_suite || *current_suite != *suite;
  if (new_suite && update.remote_key.empty()) {
    return InvalidArgument(fmt::format("SRTP suite {} needs the far end's new key (remote_key)",
                                       dataplane::SrtpSuiteName(*suite)));
  }
  if (Result<void> valid = CheckReplayWindow(update.replay_window); !valid) {
    return tl::unexpected(valid.error());
  }
  if (update.replay_window != 0) next.replay_window = update.replay_window;
  next.suite = std::string(dataplane::SrtpSuiteName(*suite));
  LegSrtpRekey rekey;
  rekey.replay_window = ReplayWindow(next);
  if (!update.remote_key.empty()) {
    Result<SrtpKey> key = ParseKey(*suite, update.remote_key, "remote");
    if (!key) return tl::unexpected(key.error());
    rekey.inbound.emplace(std::move(*key));
    next.remote_key = update.remote_key;
  }
  if (!update.local_key.empty() || new_suite) {
    Result<SrtpKey> key = update.local_key.empty() ? dataplane::GenerateSrtpKey(*suite)
                                                   : ParseKey(*suite, update.local_key, "local");
    if (!key) return tl::unexpected(key.error());
    rekey.local_key = SecretText(dataplane::FormatSdesKey(*key));
    rekey.outbound.emplace(std::move(*key));
    next.local_key = update.local_key;
  }
  return rekey;
}

}  // namespace earshot::control

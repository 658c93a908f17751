#include "control/api_services.h"

#include "control/proto_convert.h"
#include "control/leg_proto.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace earshot::control {
namespace {

namespace v1 = earshot::v1;
// The enum conversions of proto_convert.h beside the message ones below.
using control::FromProto;
using control::ToProto;

grpc::StatusCode ToGrpcCode(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return grpc::StatusCode::INVALID_ARGUMENT;
    case ErrorCode::kNotFound: return grpc::StatusCode::NOT_FOUND;
    case ErrorCode::kAlreadyExists: return grpc::StatusCode::ALREADY_EXISTS;
    case ErrorCode::kFailedPrecondition: return grpc::StatusCode::FAILED_PRECONDITION;
    case ErrorCode::kResourceExhausted: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case ErrorCode::kOutOfRange: return grpc::StatusCode::OUT_OF_RANGE;
    case ErrorCode::kUnavailable: return grpc::StatusCode::UNAVAILABLE;
    case ErrorCode::kPermissionDenied: return grpc::StatusCode::PERMISSION_DENIED;
    case ErrorCode::kUnauthenticated: return grpc::StatusCode::UNAUTHENTICATED;
    case ErrorCode::kInternal: return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::UNKNOWN;
}

grpc::Status Invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

// "IP:PORT" or "[IPv6]:PORT".
Result<dataplane::SocketAddress> ParseRemote(const std::string& text) {
  std::string host;
  std::string port_text;
  if (text.starts_with('[')) {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidArgument(fmt::format("remote '{}': expected IP:PORT", text));
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) return InvalidArgument(fmt::format("remote '{}': expected IP:PORT", text));
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  int port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return InvalidArgument(fmt::format("remote '{}': port must be 1..65535", text));
  }
  Result<dataplane::SocketAddress> address =
      dataplane::SocketAddress::Parse(host, static_cast<uint16_t>(port));
  if (!address) return InvalidArgument(fmt::format("remote '{}': not an IP address", text));
  return address;
}

LegSrtpParams FromProto(const v1::SrtpSpec& spec) {
  LegSrtpParams params;
  params.suite = spec.suite();
  params.remote_key = SecretText(spec.remote_key());
  params.local_key = SecretText(spec.local_key());
  params.replay_window = static_cast<int>(std::min<uint32_t>(spec.replay_window(), 1u << 30));
  return params;
}

Result<LegParams> FromProto(const v1::LegSpec& spec, bool supervisor) {
  LegParams params;
  if (supervisor) {
    params.role = mixer::Role::kSupervisor;
  } else {
    std::optional<mixer::Role> role = FromProto(spec.role());
    if (!role) return InvalidArgument("leg role must be customer, agent, supervisor or other");
    params.role = *role;
  }
  params.codec = spec.codec().empty() ? "PCMU" : spec.codec();
  if (spec.payload_type() > 127) {
    return InvalidArgument(fmt::format("payload type {} is outside 0..127", spec.payload_type()));
  }
  params.payload_type = static_cast<int>(spec.payload_type());
  if (!spec.remote().empty()) {
    Result<dataplane::SocketAddress> remote = ParseRemote(spec.remote());
    if (!remote) return tl::unexpected(remote.error());
    params.remote = *remote;
  }
  params.ptime_ms = static_cast<int>(spec.ptime_ms());
  params.latch = spec.latch();
  if (spec.dtmf_payload_type() > 127) {
    return InvalidArgument(fmt::format("DTMF payload type {} is outside 0..127", spec.dtmf_payload_type()));
  }
  params.dtmf_payload_type = static_cast<int>(spec.dtmf_payload_type());
  params.rtcp_mux = !spec.no_rtcp_mux();
  std::optional<dataplane::Direction> direction = FromProto(spec.direction());
  if (!direction) return InvalidArgument("unknown direction");
  params.direction = *direction;
  if (spec.has_srtp() && !spec.srtp().suite().empty()) params.srtp = FromProto(spec.srtp());
  params.voice.echo_cancel = spec.voice().echo_cancel();
  if (spec.voice().echo_tail_ms() != 0) {
    params.voice.echo_tail_ms = static_cast<int>(std::min<uint32_t>(spec.voice().echo_tail_ms(), 1u << 20));
  }
  params.voice.noise_suppress = spec.voice().noise_suppress();
  params.voice.agc = spec.voice().agc();
  return params;
}

// Keys are never echoed: the spec keeps the suite; Earshot's own key is in the
// answer to the request that made or changed it (`with_local_key`).
void ToProto(const LegInfo& info, v1::Leg& leg, bool with_local_key = false) {
  leg.set_id(info.id);
  v1::LegSpec& spec = *leg.mutable_spec();
  spec.set_role(ToProto(info.params.role));
  spec.set_codec(info.params.codec);
  spec.set_payload_type(static_cast<uint32_t>(info.params.payload_type));
  if (info.params.remote.is_set()) {
    // SocketAddress prints IPv6 as [ip]:port, which ParseRemote reads back.
    spec.set_remote(info.params.remote.ToString());
  }
  spec.set_ptime_ms(static_cast<uint32_t>(info.params.ptime_ms));
  spec.set_latch(info.params.latch);
  spec.set_dtmf_payload_type(static_cast<uint32_t>(info.params.dtmf_payload_type));
  spec.set_no_rtcp_mux(!info.params.rtcp_mux);
  spec.set_direction(ToProto(info.params.direction));
  if (info.params.voice.enabled()) {
    v1::VoiceProcessing& voice = *spec.mutable_voice();
    voice.set_echo_cancel(info.params.voice.echo_cancel);
    if (info.params.voice.echo_cancel) {
      voice.set_echo_tail_ms(static_cast<uint32_t>(info.params.voice.echo_tail_ms));
    }
    voice.set_noise_suppress(info.params.voice.noise_suppress);
    voice.set_agc(info.params.voice.agc);
  }
  if (info.params.srtp) {
    spec.mutable_srtp()->set_suite(info.params.srtp->suite);
    if (info.params.srtp->replay_window != 0) {
      spec.mutable_srtp()->set_replay_window(static_cast<uint32_t>(info.params.srtp->replay_window));
    }
    if (with_local_key) leg.set_srtp_local_key(std::string(info.srtp_local_key.reveal()));
  }
  std::string local = info.local.ToString();
  // local is "ip:port" or "[ip]:port"; the SDP wants them apart.
  size_t colon = local.rfind(':');
  std::string ip = local.substr(0, colon);
  if (ip.starts_with('[')) ip = ip.substr(1, ip.size() - 2);
  leg.set_local_ip(ip);
  leg.set_local_port(info.local.port());
  if (info.params.role == mixer::Role::kSupervisor) leg.set_mode(ToProto(info.mode));
}

void ToProto(const SessionInfo& info, v1::Session& session) {
  session.set_id(info.id);
  session.set_rate(static_cast<uint32_t>(info.params.rate));
  session.set_tick_ms(static_cast<uint32_t>(info.params.tick_ms));
  for (const auto& [key, value] : info.params.labels) (*session.mutable_labels())[key] = value;
  for (const LegInfo& leg : info.legs) ToProto(leg, *session.add_legs());
  session.set_custom_matrix(info.custom_matrix);
}

}  // namespace

grpc::Status ToGrpcStatus(const Error& error) {
  return grpc::Status(ToGrpcCode(error.code), error.message);
}

grpc::Status SessionsService::CreateSession(grpc::ServerContext* context,
                                            const v1::CreateSessionRequest* request,
                                            v1::Session* response) {
  if (grpc::Status admitted = AdmitCall(guard_, context); !admitted.ok()) return admitted;
  SessionParams params;
  params.rate = request->rate() == 0 ? 8000 : static_cast<int>(request->rate());
  params.tick_ms = request->tick_ms() == 0 ? 20 : static_cast<int>(request->tick_ms());
  for (const auto& [key, value] : request->labels()) params.labels[key] = value;
  Result<SessionInfo> created = control_.CreateSession(request->id(), params);
  if (!created) return ToGrpcStatus(created.error());
  ToProto(*created, *response);
  return grpc::Status::OK;
}

grpc::Status SessionsService::GetSession(grpc::ServerContext* context, const v1::GetSessionRequest* request,
                                         v1::Session* response) {
  if (grpc::Status admitted = AdmitCall(guard_, context); !admitted.ok()) return admitted;
  Result<SessionInfo> session = control_.GetSession(request->id());
  if (!session) return ToGrpcStatus(session.error());
  ToProto(*session, *response);
  return grpc::Status::OK;
}

grpc::Status SessionsService::ListSessions(grpc::ServerContext* context, const v1::ListSessionsRequest*,
                                           v1::ListSessionsResponse* response) {
  if (grpc::Status admitted = AdmitCall(guard_, context); !admitted.ok()) return admitted;
  for (const SessionInfo& session : control_.ListSessions()) ToProto(session, *response->add_sessions());
  return grpc::Status::OK;
}

grpc::Status SessionsService::DeleteSession(grpc::ServerContext* context,
                                            const v1::DeleteSessionRequest* request,
                                            v1::DeleteSessionResponse*) {
  if (grpc::Status admitted = AdmitCall(guard_, context); !admitted.ok()) return admitted;
  Result<void> deleted = control_.DeleteSession(request->id());
  return deleted ? grpc::Status::OK : ToGrpcStatus(deleted.error());
}

grpc::Status SessionsService::AddLeg(grpc::ServerContext* context, const v1::AddLegRequest* request,
                                     v1::Leg* response) {
  if (grpc::Status admitted = AdmitCall(guard_, context); !admitted.ok()) return admitted;
  Result<LegParams> params = FromProto(request->spec(), false);
  if (!params) return ToGrpcStatus(params.error());
  Result<LegInfo> leg = control_.AddLeg(request->session_id(), request->leg_id(), *params,
                                        mixer::SupervisorMode::kListen, false);
  if (!leg) return ToGrpcStatus(leg.error());
  ToProto(*leg, *response, true);
  return grpc::Status::OK;
}

grpc::Status SessionsService::UpdateLeg(grpc::ServerContext* context, const v1::UpdateLegRequest* request,
                                        v1::Leg* response) {
  if (grpc::Status admitted = AdmitCall(guard_, context); !admitted.ok()) return admitted;
  std::optional<dataplane::SocketAddress> remote;
  if (!request->remote().empty()) {
    Result<dataplane::SocketAddress> parsed = ParseRemote(request->remote());
    if (!parsed) return ToGrpcStatus(parsed.error());
    remote = *parsed;
  }
  std::optional<dataplane::Direction> direction;
  if (request->direction() != v1::DIRECTION_UNSPECIFIED) {
    direction = FromProto(request->direction());
    if (!direction) return Invalid("unknown direction");
  }
  std::optional<bool> latch;
  if (request->has_latch()) latch = request->latch();
  std::optional<LegSrtpParams> rekey;
  if (request->has_srtp()) rekey = FromProto(request->srtp());
  Result<LegInfo> leg =
      control_.UpdateLeg(request->session_id(), request->leg_id(), remote, direction, latch, rekey);
  if (!leg) return ToGrpcStatus(leg.error());
  ToProto(*leg, *response, true);
  return grpc::Status::OK;
}

grpc::Status SessionsService::RemoveLeg(grpc::ServerContext* context, const v1::RemoveLegRequest* request,
                                        v1::RemoveLegResponse*) {
  if (grpc::Status admitted = AdmitCall(guard_, context); !admitted.ok()) return admitted;
  Result<void> removed = control_.RemoveLeg(request->session_id(), request->leg_id(), false);
  return removed ? grpc::Status::OK : ToGrpcStatus(removed.error());
}

grpc::Status SupervisionService::Attach(grpc::ServerContext* context, const v1::AttachRequest* request,
                                        v1::Leg* response) {
  std::optional<mixer::SupervisorMode> mode = FromProto(request->mode());
  if (!mode) return Invalid("mode must be listen, whisper, whisper-customer, barge or takeover");
  Result<LegParams> params = FromProto(request->spec(), true);
  if (!params) return ToGrpcStatus(params.error());
  for (const auto& [key, proto_mode] : request->dtmf_mode_switch()) {
    std::optional<mixer::SupervisorMode> switch_to = FromProto(proto_mode);
    if (key.size() != 1 || !dataplane::DtmfEvent(key[0])) {
      return Invalid(fmt::format("dtmf_mode_switch: '{}' is not a DTMF key (0-9, *, #, A-D)", key));
    }
    if (!switch_to) return Invalid(fmt::format("dtmf_mode_switch: digit '{}' has no mode", key));
    const char upper = key[0] >= 'a' && key[0] <= 'd' ? static_cast<char>(key[0] - 'a' + 'A') : key[0];
    params->dtmf_mode_switch[upper] = *switch_to;
  }
  ApiGuard::Ticket ticket;
  if (guard_ != nullptr) {
    if (grpc::Status admitted = guard_->BeginAttach(context, *request, &ticket); !admitted.ok()) return admitted;
  }
  Result<LegInfo> leg =
      control_.AddLeg(request->session_id(), request->leg_id(), *params, *mode, request->beep());
  if (guard_ != nullptr) {
    if (grpc::Status audited = guard_->Finish(ticket, leg ? nullptr : &leg.error()); !audited.ok()) return audited;
  }
  if (!leg) return ToGrpcStatus(leg.error());
  ToProto(*leg, *response, true);
  return grpc::Status::OK;
}

grpc::Status SupervisionService::SetMode(grpc::ServerContext* context, const v1::SetModeRequest* request,
                                         v1::Leg* response) {
  std::optional<mixer::SupervisorMode> mode = FromProto(request->mode());
  if (!mode) return Invalid("mode must be listen, whisper, whisper-customer, barge or takeover");
  ApiGuard::Ticket ticket;
  if (guard_ != nullptr) {
    if (grpc::Status admitted = guard_->BeginSetMode(context, *request, &ticket); !admitted.ok()) return admitted;
  }
  Result<LegInfo> leg = control_.SetMode(request->session_id(), request->leg_id(), *mode, request->beep());
  if (guard_ != nullptr) {
    if (grpc::Status audited = guard_->Finish(ticket, leg ? nullptr : &leg.error()); !audited.ok()) return audited;
  }
  if (!leg) return ToGrpcStatus(leg.error());
  ToProto(*leg, *response);
  return grpc::Status::OK;
}

grpc::Status SupervisionService::Detach(grpc::ServerContext* context, const v1::DetachRequest* request,
                                        v1::DetachResponse*) {
  ApiGuard::Ticket ticket;
  if (guard_ != nullptr) {
    if (grpc::Status admitted = guard_->BeginDetach(context, *request, &ticket); !admitted.ok()) return admitted;
  }
  Result<void> removed = control_.RemoveLeg(request->session_id(), request->leg_id(), true);
  if (guard_ != nullptr) {
    if (grpc::Status audited = guard_->Finish(ticket, removed ? nullptr : &removed.error()); !audited.ok()) {
      return audited;
    }
  }
  return removed ? grpc::Status::OK : ToGrpcStatus(removed.error());
}

grpc::Status SupervisionService::SetMatrix(grpc::ServerContext* context, const v1::SetMatrixRequest* request,
                                           v1::SetMatrixResponse*) {
  if (grpc::Status admitted = AdmitCall(guard_, context); !admitted.ok()) return admitted;
  std::vector<GainSetting> gains;
  for (const v1::Gain& gain : request->gains()) {
    gains.push_back(GainSetting{gain.dst_leg_id(), gain.src_leg_id(), gain.gain()});
  }
  Result<void> set = control_.SetMatrix(request->session_id(), gains);
  return set ? grpc::Status::OK : ToGrpcStatus(set.error());
}

grpc::Status StatsService::GetSessionStats(grpc::ServerContext* context,
                                           const v1::GetSessionStatsRequest* request,
                                           v1::SessionStats* response) {
  if (grpc::Status admitted = AdmitCall(guard_, context); !admitted.ok()) return admitted;
  Result<SessionStatsInfo> info = control_.GetStats(request->session_id());
  if (!info) return ToGrpcStatus(info.error());
  response->set_session_id(info->id);
  response->set_ticks(info->stats.mixer.ticks);
  response->set_encodes(info->stats.mixer.encodes);
  response->set_shared_outputs(info->stats.mixer.shared_outputs);
  response->set_matrix_changes(info->stats.mixer.matrix_changes);
  for (size_t slot = 0; slot < info->stats.legs.size(); ++slot) {
    const dataplane::LegStats& leg = info->stats.legs[slot];
    if (!leg.in_use || slot >= info->leg_ids.size()) continue;
    v1::LegStats& out = *response->add_legs();
    out.set_leg_id(info->leg_ids[slot]);
    out.set_local(leg.local.ToString());
    out.set_remote(leg.remote.is_set() ? leg.remote.ToString() : "");
    out.set_latched(leg.latched);
    out.set_rx_packets(leg.rtp.rx_packets);
    out.set_rx_bytes(leg.rtp.rx_bytes);
    out.set_tx_packets(leg.rtp.tx_packets);
    out.set_tx_bytes(leg.rtp.tx_bytes);
    out.set_lost(leg.rtp.lost);
    out.set_reordered(leg.jitter.reordered);
    out.set_duplicates(leg.jitter.duplicates);
    out.set_late(leg.jitter.too_late);
    out.set_jitter_ms(leg.jitter_ms);
    out.set_buffered_ms(static_cast<uint32_t>(std::max(0, leg.buffered_ms)));
    out.set_concealed_frames(leg.media.frames_concealed);
    out.set_rx_rtcp(leg.rtp.rx_rtcp);
    out.set_rx_telephone_events(leg.rtp.rx_telephone_events);
    out.set_tx_rtcp(leg.rtp.tx_rtcp);
    out.set_tx_telephone_events(leg.rtp.tx_telephone_events);
    out.set_rtt_ms(leg.remote_report.rtt_ms.value_or(0.0));
    out.set_remote_fraction_lost(leg.remote_report.fraction_lost);
    out.set_remote_jitter_ms(leg.remote_report.jitter_ms);
    out.set_remote_lost(leg.remote_report.cumulative_lost);
    out.set_rx_rtcp_reports(leg.rtp.rx_rtcp_reports);
    for (size_t reason = 0; reason < leg.rtp.dropped.size(); ++reason) {
      (*out.mutable_dropped())[std::string(dataplane::RxDropName(static_cast<dataplane::RxDrop>(reason)))] =
          leg.rtp.dropped[reason];
    }
  }
  return grpc::Status::OK;
}

grpc::Status EventsService::Subscribe(grpc::ServerContext* context,
                                      const v1::SubscribeRequest* request,
                                      grpc::ServerWriter<v1::Event>* writer) {
  if (grpc::Status admitted = AdmitCall(guard_, context); !admitted.ok()) return admitted;
  uint64_t last = request->has_after_sequence() ? request->after_sequence() : bus_.last_sequence();
  // Short waits, so that a cancelled stream or a server shutdown ends it soon.
  while (!context->IsCancelled()) {
    for (const v1::Event& event : bus_.Wait(last, std::chrono::milliseconds(200))) {
      if (!writer->Write(event)) return grpc::Status::OK;
      last = event.sequence();
    }
  }
  return grpc::Status::OK;
}

// leg_proto.h: the conversions above, for the Pickup service.
Result<LegParams> LegParamsFromProto(const v1::LegSpec& spec) { return FromProto(spec, false); }

void LegInfoToProto(const LegInfo& info, v1::Leg& leg, bool with_local_key) {
  ToProto(info, leg, with_local_key);
}

}  // namespace earshot::control

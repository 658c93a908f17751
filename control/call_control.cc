#include "control/call_control.h"

#include <algorithm>

#include <fmt/format.h>

#include "control/codec_factory.h"
#include "control/proto_convert.h"
#include "mixer/media_session.h"

namespace earshot::control {
namespace {

constexpr size_t kMaxIdLength = 256;

Result<void> CheckId(std::string_view what, const std::string& id) {
  if (id.empty() || id.size() > kMaxIdLength) {
    return InvalidArgument(fmt::format("{} id must be 1..{} characters", what, kMaxIdLength));
  }
  return {};
}

}  // namespace

CallControl::CallControl(dataplane::WorkerPool& workers, EventBus& events, CallControlOptions options)
    : workers_(workers),
      events_(events),
      options_(options),
      handles_in_use_(static_cast<size_t>(workers.size()),
                      std::vector<bool>(workers.options().max_sessions_per_worker, false)),
      sessions_per_worker_(static_cast<size_t>(workers.size()), 0),
      handle_owner_(static_cast<size_t>(workers.size()),
                    std::vector<std::string>(workers.options().max_sessions_per_worker)),
      random_(std::random_device{}()),
      event_collector_([this] { CollectWorkerEvents(); }) {}

CallControl::~CallControl() {
  stopping_.store(true);
  event_collector_.join();
}

void CallControl::Publish(earshot::v1::EventType type, const std::string& session,
                          const LegInfo* leg, char digit, uint32_t duration_ms) {
  earshot::v1::Event event;
  event.set_type(type);
  event.set_session_id(session);
  if (digit != 0) event.set_digit(std::string(1, digit));
  if (type == earshot::v1::EVENT_DTMF) event.set_duration_ms(duration_ms);
  if (leg != nullptr) {
    event.set_leg_id(leg->id);
    event.set_role(ToProto(leg->params.role));
    if (leg->params.role == mixer::Role::kSupervisor) {
      event.set_mode(ToProto(leg->mode));
    }
  }
  events_.Publish(std::move(event));
}

void CallControl::CollectWorkerEvents() {
  while (!stopping_.load()) {
    for (int w = 0; w < workers_.size(); ++w) {
      while (std::optional<dataplane::WorkerEvent> report = workers_.worker(w).PollEvent()) {
        std::string session_id;
        {
          std::lock_guard lock(registry_mutex_);
          if (report->session < handle_owner_[static_cast<size_t>(w)].size()) {
            session_id = handle_owner_[static_cast<size_t>(w)][report->session];
          }
        }
        std::shared_ptr<SessionRecord> record = session_id.empty() ? nullptr : Find(session_id);
        if (record == nullptr) continue;  // ended meanwhile
        std::optional<LegInfo> leg;
        {
          std::lock_guard lock(record->mutex);
          if (report->slot >= 0 && static_cast<size_t>(report->slot) < record->slots.size() &&
              record->slots[static_cast<size_t>(report->slot)]) {
            LegInfo& info = record->slots[static_cast<size_t>(report->slot)]->info;
            if (report->kind == dataplane::WorkerEvent::Kind::kModeChanged) {
              // The worker already applied it (a supervisor's keypad); the
              // record follows, as after a SetMode request.
              info.mode = report->mode;
              record->custom_matrix = false;
            }
            leg = info;
          }
        }
        if (!leg) continue;
        switch (report->kind) {
          case dataplane::WorkerEvent::Kind::kMediaTimeout:
            Publish(earshot::v1::EVENT_MEDIA_TIMEOUT, session_id, &*leg);
            break;
          case dataplane::WorkerEvent::Kind::kMediaResumed:
            Publish(earshot::v1::EVENT_MEDIA_RESUMED, session_id, &*leg);
            break;
          case dataplane::WorkerEvent::Kind::kDtmf:
            Publish(earshot::v1::EVENT_DTMF, session_id, &*leg, report->digit, report->duration_ms);
            break;
          case dataplane::WorkerEvent::Kind::kModeChanged: {
            Publish(earshot::v1::EVENT_MODE_CHANGED, session_id, &*leg, report->digit);
            std::lock_guard lock(observer_mutex_);
            if (keypad_observer_) keypad_observer_(session_id, *leg, report->digit);
            break;
          }
        }
      }
    }
    std::this_thread::sleep_for(options_.event_poll);
  }
}

size_t CallControl::session_count() {
  std::lock_guard lock(registry_mutex_);
  return sessions_.size();
}

std::shared_ptr<CallControl::SessionRecord> CallControl::Find(const std::string& id) {
  std::lock_guard lock(registry_mutex_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

Result<std::shared_ptr<CallControl::SessionRecord>> CallControl::FindLive(
    const std::string& id, std::unique_lock<std::mutex>& lock) {
  std::shared_ptr<SessionRecord> record = Find(id);
  if (record != nullptr) {
    lock = std::unique_lock(record->mutex);
    if (record->live) return record;
  }
  return MakeError(ErrorCode::kNotFound, fmt::format("no session '{}'", id));
}

Result<dataplane::ReplyValue> CallControl::Call(const SessionRecord& record,
                                                dataplane::Command command) {
  return workers_.worker(record.worker).Call(std::move(command), options_.worker_timeout);
}

void CallControl::ReleaseHandle(int worker, dataplane::SessionHandle handle) {
  std::lock_guard lock(registry_mutex_);
  handles_in_use_[static_cast<size_t>(worker)][handle] = false;
  handle_owner_[static_cast<size_t>(worker)][handle].clear();
  --sessions_per_worker_[static_cast<size_t>(worker)];
}

SessionInfo CallControl::Describe(const SessionRecord& record) const {
  SessionInfo info{record.id, record.params, {}, record.custom_matrix};
  for (const auto& slot : record.slots) {
    if (slot) info.legs.push_back(slot->info);
  }
  return info;
}

CallControl::LegRecord* CallControl::FindLeg(SessionRecord& record, const std::string& leg) {
  for (auto& slot : record.slots) {
    if (slot && slot->info.id == leg) return &*slot;
  }
  return nullptr;
}

Result<CallControl::LegRecord*> CallControl::RequireLeg(SessionRecord& record, const std::string& leg) {
  LegRecord* found = FindLeg(record, leg);
  if (found == nullptr) {
    return MakeError(ErrorCode::kNotFound, fmt::format("no leg '{}' in session '{}'", leg, record.id));
  }
  return found;
}

Result<SessionInfo> CallControl::CreateSession(const std::string& id, const SessionParams& params) {
  if (Result<void> valid = CheckId("session", id); !valid) return tl::unexpected(valid.error());
  const int tick = static_cast<int>(workers_.options().tick.count());
  if (params.tick_ms != tick) {
    return InvalidArgument(
        fmt::format("tick {} ms: this earshotd mixes every {} ms (tick_ms)", params.tick_ms, tick));
  }
  if (draining_.load()) {
    return MakeError(ErrorCode::kUnavailable, "earshotd is shutting down; no new sessions");
  }
  mixer::SessionOptions session_options;
  session_options.sample_rate_hz = params.rate;
  session_options.tick_ms = params.tick_ms;
  session_options.max_legs = options_.max_legs_per_session;
  session_options.ringback = params.ringback;
  // Validates rate and tick before anything is reserved.
  Result<std::unique_ptr<mixer::MediaSession>> media = mixer::MediaSession::Create(session_options);
  if (!media) return tl::unexpected(media.error());

  std::shared_ptr<SessionRecord> record;
  {
    std::lock_guard lock(registry_mutex_);
    auto existing = sessions_.find(id);
    if (existing != sessions_.end()) {
      record = existing->second;
    } else {
      // The least loaded worker with a free handle.
      int worker = -1;
      for (int w = 0; w < workers_.size(); ++w) {
        if (worker < 0 || sessions_per_worker_[static_cast<size_t>(w)] <
                              sessions_per_worker_[static_cast<size_t>(worker)]) {
          worker = w;
        }
      }
      auto& handles = handles_in_use_[static_cast<size_t>(worker)];
      auto free_handle = std::find(handles.begin(), handles.end(), false);
      if (free_handle == handles.end()) {
        return MakeError(ErrorCode::kResourceExhausted,
                         fmt::format("no session capacity left ({} per worker)", handles.size()));
      }
      *free_handle = true;
      ++sessions_per_worker_[static_cast<size_t>(worker)];
      record = std::make_shared<SessionRecord>();
      record->id = id;
      record->params = params;
      record->worker = worker;
      record->handle = static_cast<dataplane::SessionHandle>(free_handle - handles.begin());
      handle_owner_[static_cast<size_t>(worker)][record->handle] = id;
      record->slots.resize(static_cast<size_t>(options_.max_legs_per_session));
      sessions_.emplace(id, record);
    }
  }
  std::lock_guard session_lock(record->mutex);
  if (record->abandoned) {
    return MakeError(ErrorCode::kUnavailable,
                     fmt::format("a concurrent create of session '{}' failed; retry", id));
  }
  if (record->live) {
    if (record->params == params) return Describe(*record);
    return MakeError(ErrorCode::kAlreadyExists,
                     fmt::format("session '{}' exists with other parameters", id));
  }
  Result<dataplane::ReplyValue> created = Call(
      *record, dataplane::CreateSession{record->handle,
                                        std::make_unique<dataplane::WorkerSession>(std::move(*media))});
  if (!created) {
    record->abandoned = true;
    {
      std::lock_guard lock(registry_mutex_);
      auto it = sessions_.find(id);
      if (it != sessions_.end() && it->second == record) sessions_.erase(it);
    }
    ReleaseHandle(record->worker, record->handle);
    return tl::unexpected(created.error());
  }
  record->live = true;
  Publish(earshot::v1::EVENT_SESSION_CREATED, id, nullptr);
  return Describe(*record);
}

Result<SessionInfo> CallControl::GetSession(const std::string& id) {
  std::unique_lock<std::mutex> lock;
  auto record = FindLive(id, lock);
  if (!record) return tl::unexpected(record.error());
  return Describe(**record);
}

std::vector<SessionInfo> CallControl::ListSessions() {
  std::vector<std::shared_ptr<SessionRecord>> records;
  {
    std::lock_guard lock(registry_mutex_);
    for (const auto& [id, record] : sessions_) records.push_back(record);
  }
  std::vector<SessionInfo> infos;
  for (const auto& record : records) {
    std::lock_guard lock(record->mutex);
    if (record->live) infos.push_back(Describe(*record));
  }
  return infos;
}

Result<void> CallControl::DeleteSession(const std::string& id) {
  std::unique_lock<std::mutex> lock;
  auto record = FindLive(id, lock);
  if (!record) return tl::unexpected(record.error());
  Result<dataplane::ReplyValue> deleted = Call(**record, dataplane::DeleteSession{(*record)->handle});
  if (!deleted && deleted.error().code != ErrorCode::kNotFound) return tl::unexpected(deleted.error());
  (*record)->live = false;
  {
    std::lock_guard registry_lock(registry_mutex_);
    sessions_.erase(id);
  }
  ReleaseHandle((*record)->worker, (*record)->handle);
  Publish(earshot::v1::EVENT_SESSION_ENDED, id, nullptr);
  return {};
}

// What one RTP payload may hold: an Ethernet MTU less IPv4, UDP and RTP headers.
constexpr size_t kMaxPayloadBytes = 1500 - 20 - 8 - 12;

Result<LegInfo> CallControl::AddLeg(const std::string& session, const std::string& leg,
                                    const LegParams& params, mixer::SupervisorMode mode, bool beep,
                                    bool answer) {
  if (Result<void> valid = CheckId("leg", leg); !valid) return tl::unexpected(valid.error());
  if (params.payload_type < 0 || params.payload_type > 127) {
    return InvalidArgument(fmt::format("payload type {} is outside 0..127", params.payload_type));
  }
  if (params.dtmf_payload_type < 0 || params.dtmf_payload_type > 127) {
    return InvalidArgument(
        fmt::format("DTMF payload type {} is outside 0..127", params.dtmf_payload_type));
  }
  if (!params.remote.is_set() && !params.latch) {
    return InvalidArgument("a leg needs a remote address, or latching to learn it");
  }
  dataplane::DtmfModeSwitch mode_switch{};
  if (!params.dtmf_mode_switch.empty()) {
    if (params.role != mixer::Role::kSupervisor) {
      return InvalidArgument("only a supervisor's digits can switch modes");
    }
    if (params.dtmf_payload_type == 0) {
      return InvalidArgument("dtmf_mode_switch needs a DTMF payload type to receive digits with");
    }
    for (const auto& [key, switch_to] : params.dtmf_mode_switch) {
      std::optional<uint8_t> event = dataplane::DtmfEvent(key);
      if (!event) return InvalidArgument(fmt::format("'{}' is not a DTMF key (0-9, *, #, A-D)", key));
      mode_switch[*event] = switch_to;
    }
  }
  std::unique_lock<std::mutex> lock;
  auto found = FindLive(session, lock);
  if (!found) return tl::unexpected(found.error());
  SessionRecord& record = **found;
  if (params.ptime_ms != 0 && params.ptime_ms != record.params.tick_ms) {
    return InvalidArgument(fmt::format("ptime {} ms: only the session's tick ({} ms) is supported",
                                       params.ptime_ms, record.params.tick_ms));
  }
  if (answer && std::none_of(record.slots.begin(), record.slots.end(), [](const auto& slot) {
        return slot && slot->info.params.role != mixer::Role::kSupervisor;
      })) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("no longer ringing: the caller hung up (session '{}')", session));
  }
  if (LegRecord* existing = FindLeg(record, leg)) {
    if (existing->info.params == params && existing->info.mode == mode) return existing->info;
    return MakeError(ErrorCode::kAlreadyExists,
                     fmt::format("leg '{}' exists in session '{}' with other parameters", leg, session));
  }
  auto free_slot = std::find_if(record.slots.begin(), record.slots.end(),
                                [](const auto& slot) { return !slot.has_value(); });
  if (free_slot == record.slots.end()) {
    return MakeError(ErrorCode::kResourceExhausted,
                     fmt::format("session '{}' has all its {} legs", session, record.slots.size()));
  }
  const int slot = static_cast<int>(free_slot - record.slots.begin());

  Result<CodecPair> codecs = MakeCodecs(params.codec);
  if (!codecs) return tl::unexpected(codecs.error());
  const int tick_samples = codecs->rtp_clock_rate_hz * record.params.tick_ms / 1000;
  mixer::JitterBufferOptions jitter;
  jitter.clock_rate_hz = codecs->rtp_clock_rate_hz;
  jitter.frame_samples = tick_samples;
  // Room for three ticks of the codec's own samples, but never more than an
  // Ethernet MTU: Opus's RFC bound (1,277 bytes per 20 ms) would make every
  // Opus leg's jitter buffer hundreds of kilobytes for packets that never come.
  const size_t codec_tick_samples =
      static_cast<size_t>(codecs->encoder->info().sample_rate_hz * record.params.tick_ms / 1000);
  jitter.max_payload_bytes =
      std::min<size_t>(codecs->encoder->MaxEncodedBytes(3 * codec_tick_samples), kMaxPayloadBytes);
  Result<std::unique_ptr<mixer::LegMedia>> media =
      mixer::LegMedia::Create(std::move(codecs->encoder), std::move(codecs->decoder), jitter,
                              record.params.rate, record.params.rate * record.params.tick_ms / 1000);
  if (!media) return tl::unexpected(media.error());
  if (Result<void> voice = (*media)->EnableVoiceProcessing(params.voice); !voice) {
    return InvalidArgument(fmt::format("voice processing: {}", voice.error().message));
  }

  dataplane::RtpLegConfig rtp;
  rtp.remote = params.remote;
  rtp.latch = params.latch;
  rtp.payload_type = PayloadType(static_cast<uint8_t>(params.payload_type));
  if (params.dtmf_payload_type != 0) {
    rtp.telephone_event_type = PayloadType(static_cast<uint8_t>(params.dtmf_payload_type));
  }
  rtp.tick_samples = tick_samples;
  rtp.clock_rate_hz = codecs->rtp_clock_rate_hz;
  {
    std::lock_guard registry_lock(registry_mutex_);  // random_ is shared
    rtp.ssrc = Ssrc(static_cast<uint32_t>(random_()));
    rtp.first_sequence = SequenceNumber(static_cast<uint16_t>(random_()));
    rtp.first_timestamp = RtpTimestamp(static_cast<uint32_t>(random_()));
  }
  std::optional<LegSrtp> srtp;
  if (params.srtp) {
    Result<LegSrtp> made = MakeLegSrtp(*params.srtp);
    if (!made) return tl::unexpected(made.error());
    srtp = std::move(*made);
    rtp.srtp = true;
  }
  dataplane::AddLeg command{record.handle, slot,  params.role, mode, beep, std::move(*media), rtp,
                            params.direction};
  command.rtcp_mux = params.rtcp_mux;
  command.dtmf_mode_switch = mode_switch;
  command.stop_ringback = answer;
  if (srtp) {
    command.srtp_in = std::move(srtp->inbound);
    command.srtp_out = std::move(srtp->outbound);
  }
  Result<dataplane::ReplyValue> added = Call(record, std::move(command));
  if (!added) return tl::unexpected(added.error());
  *free_slot = LegRecord{LegInfo{leg, params, added->local, mode, {}}, slot};
  if (srtp) (*free_slot)->info.srtp_local_key = std::move(srtp->local_key);
  if (params.role == mixer::Role::kSupervisor) record.custom_matrix = false;
  Publish(params.role == mixer::Role::kSupervisor ? earshot::v1::EVENT_SUPERVISOR_ATTACHED
                                                  : earshot::v1::EVENT_LEG_ADDED,
          session, &(*free_slot)->info);
  return (*free_slot)->info;
}

Result<LegInfo> CallControl::UpdateLeg(const std::string& session, const std::string& leg,
                                       std::optional<dataplane::SocketAddress> remote,
                                       std::optional<dataplane::Direction> direction,
                                       std::optional<bool> latch,
                                       const std::optional<LegSrtpParams>& rekey) {
  std::unique_lock<std::mutex> lock;
  auto found = FindLive(session, lock);
  if (!found) return tl::unexpected(found.error());
  Result<LegRecord*> existing = RequireLeg(**found, leg);
  if (!existing) return tl::unexpected(existing.error());
  LegRecord* record = *existing;
  LegParams params = record->info.params;
  if (remote) params.remote = *remote;
  if (direction) params.direction = *direction;
  if (latch) params.latch = *latch;
  if (!params.remote.is_set() && !params.latch) {
    return InvalidArgument("a leg needs a remote address, or latching to learn it");
  }
  dataplane::UpdateLeg command{(*found)->handle, record->slot, params.remote, params.latch,
                               params.direction};
  std::optional<LegSrtpRekey> srtp;
  if (rekey) {
    if (!params.srtp) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       fmt::format("leg '{}' was added without SRTP; it cannot be re-keyed (add it anew)", leg));
    }
    LegSrtpParams next;
    Result<LegSrtpRekey> made = MakeLegRekey(*params.srtp, *rekey, next);
    if (!made) return tl::unexpected(made.error());
    srtp = std::move(*made);
    params.srtp = std::move(next);
    command.srtp_in_key = std::move(srtp->inbound);
    command.srtp_out_key = std::move(srtp->outbound);
    command.srtp_replay_window = srtp->replay_window;
  }
  Result<dataplane::ReplyValue> updated = Call(**found, std::move(command));
  if (!updated) return tl::unexpected(updated.error());
  record->info.params = params;
  if (srtp && !srtp->local_key.empty()) record->info.srtp_local_key = std::move(srtp->local_key);
  return record->info;
}

Result<void> CallControl::RemoveLeg(const std::string& session, const std::string& leg,
                                    bool supervisors_only) {
  std::unique_lock<std::mutex> lock;
  auto found = FindLive(session, lock);
  if (!found) return tl::unexpected(found.error());
  Result<LegRecord*> existing = RequireLeg(**found, leg);
  if (!existing) return tl::unexpected(existing.error());
  LegRecord* record = *existing;
  if (supervisors_only && record->info.params.role != mixer::Role::kSupervisor) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("leg '{}' has role {}, not supervisor; remove it with RemoveLeg", leg,
                                 mixer::RoleName(record->info.params.role)));
  }
  Result<dataplane::ReplyValue> removed =
      Call(**found, dataplane::RemoveLeg{(*found)->handle, record->slot});
  if (!removed) return tl::unexpected(removed.error());
  const LegInfo info = record->info;
  (*found)->slots[static_cast<size_t>(record->slot)].reset();
  Publish(info.params.role == mixer::Role::kSupervisor ? earshot::v1::EVENT_SUPERVISOR_DETACHED
                                                       : earshot::v1::EVENT_LEG_REMOVED,
          session, &info);
  return {};
}

Result<LegInfo> CallControl::SetMode(const std::string& session, const std::string& leg,
                                     mixer::SupervisorMode mode, bool beep) {
  std::unique_lock<std::mutex> lock;
  auto found = FindLive(session, lock);
  if (!found) return tl::unexpected(found.error());
  Result<LegRecord*> existing = RequireLeg(**found, leg);
  if (!existing) return tl::unexpected(existing.error());
  LegRecord* record = *existing;
  if (record->info.params.role != mixer::Role::kSupervisor) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("leg '{}' has role {}, not supervisor", leg,
                                 mixer::RoleName(record->info.params.role)));
  }
  Result<dataplane::ReplyValue> set =
      Call(**found, dataplane::SetMode{(*found)->handle, record->slot, mode, beep});
  if (!set) return tl::unexpected(set.error());
  record->info.mode = mode;
  (*found)->custom_matrix = false;
  Publish(earshot::v1::EVENT_MODE_CHANGED, session, &record->info);
  return record->info;
}

Result<void> CallControl::SetMatrix(const std::string& session, const std::vector<GainSetting>& gains) {
  std::unique_lock<std::mutex> lock;
  auto found = FindLive(session, lock);
  if (!found) return tl::unexpected(found.error());
  SessionRecord& record = **found;
  auto matrix = std::make_unique<mixer::GainMatrix>(static_cast<int>(record.slots.size()));
  for (const GainSetting& gain : gains) {
    LegRecord* dst = FindLeg(record, gain.dst_leg);
    LegRecord* src = FindLeg(record, gain.src_leg);
    if (dst == nullptr || src == nullptr) {
      return InvalidArgument(fmt::format("gain {}:{}: no leg '{}' in session '{}'", gain.dst_leg,
                                         gain.src_leg, dst == nullptr ? gain.dst_leg : gain.src_leg,
                                         session));
    }
    matrix->set_gain(dst->slot, src->slot, gain.gain);
  }
  if (auto valid = mixer::ValidateMatrix(*matrix, matrix->size()); !valid) {
    return InvalidArgument(valid.error().message);
  }
  Result<dataplane::ReplyValue> set = Call(record, dataplane::SetMatrix{record.handle, std::move(matrix)});
  if (!set) return tl::unexpected(set.error());
  record.custom_matrix = true;
  return {};
}

Result<SessionStatsInfo> CallControl::GetStats(const std::string& session) {
  std::unique_lock<std::mutex> lock;
  auto found = FindLive(session, lock);
  if (!found) return tl::unexpected(found.error());
  SessionRecord& record = **found;
  auto stats = std::make_unique<dataplane::SessionStats>();
  stats->legs.resize(record.slots.size());
  Result<dataplane::ReplyValue> reply = Call(record, dataplane::GetStats{record.handle, std::move(stats)});
  if (!reply) return tl::unexpected(reply.error());
  SessionStatsInfo info{session, std::move(*reply->stats), {}};
  for (const auto& slot : record.slots) info.leg_ids.push_back(slot ? slot->info.id : "");
  return info;
}

}  // namespace earshot::control

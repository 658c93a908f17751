#include "dataplane/worker.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <random>

#include <fmt/format.h>

namespace earshot::dataplane {
namespace {

using Nanoseconds = std::chrono::nanoseconds;
constexpr Nanoseconds kPhase = std::chrono::milliseconds(1);

Nanoseconds MonotonicNow() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return std::chrono::seconds(now.tv_sec) + Nanoseconds(now.tv_nsec);
}

void SleepFor(Nanoseconds duration) {
  if (duration <= Nanoseconds(0)) return;
  timespec when{};
  when.tv_sec = static_cast<time_t>(duration.count() / 1'000'000'000);
  when.tv_nsec = static_cast<long>(duration.count() % 1'000'000'000);
  nanosleep(&when, nullptr);
}

bool Receives(Direction direction) {
  return direction == Direction::kSendReceive || direction == Direction::kReceiveOnly;
}

bool Sends(Direction direction) {
  return direction == Direction::kSendReceive || direction == Direction::kSendOnly;
}

void Bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
  // Single writer: a relaxed load and store is enough and avoids a locked add.
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace

Worker::Worker(WorkerOptions options, std::unique_ptr<PacketIo> io)
    : options_(std::move(options)),
      io_(std::move(io)),
      // Control threads take turns at pushing commands (push_mutex_) and popping
      // replies (reply_mutex_); the worker thread alone pops commands and pushes
      // replies.
      reply_signals_(options_.command_queue),
      commands_(options_.command_queue, SpscQueue<Envelope>::SideCheck::kSerializedByCaller,
                SpscQueue<Envelope>::SideCheck::kSoleThread),
      replies_(options_.command_queue, SpscQueue<Reply>::SideCheck::kSoleThread,
               SpscQueue<Reply>::SideCheck::kSerializedByCaller),
      events_(1024),
      sessions_(options_.max_sessions),
      phases_(static_cast<size_t>(options_.tick.count())),
      port_owners_(static_cast<size_t>(options_.port_high - options_.port_low + 1)),
      port_in_use_(static_cast<size_t>(options_.port_high - options_.port_low + 1), false) {
  for (auto& phase : phases_) phase.reserve(options_.max_sessions);
  tx_.reserve(kBurst);
  std::random_device device;
  random_state_ = (uint64_t{device()} << 32) | device() | 1;
  cname_ = fmt::format("{:08x}{:08x}@earshot", device(), device());
}

Worker::~Worker() { Stop(); }

bool Worker::Start() {
  thread_ = std::thread([this] { Run(); });
  if (!options_.pin_to_cpu) return true;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(*options_.pin_to_cpu, &cpus);
  return pthread_setaffinity_np(thread_.native_handle(), sizeof cpus, &cpus) == 0;
}

void Worker::Stop() {
  stop_requested_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

Result<ReplyValue> Worker::Call(Command command, std::chrono::milliseconds timeout) {
  uint64_t sequence = 0;
  {
    std::lock_guard lock(push_mutex_);
    if (!thread_.joinable() || stop_requested_.load(std::memory_order_acquire)) {
      return MakeError(ErrorCode::kUnavailable, fmt::format("worker {} is not running", index()));
    }
    sequence = ++next_sequence_;
    if (!commands_.TryPush(Envelope{sequence, std::move(command)})) {
      return MakeError(ErrorCode::kResourceExhausted,
                       fmt::format("worker {} command queue is full", index()));
    }
  }
  if (io_ != nullptr) io_->Wake();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Read before looking, so that an answer arriving after the look changes
    // the word and the wait below returns at once.
    const uint32_t observed = reply_signals_.Observe(sequence);
    std::unique_lock lock(reply_mutex_);
    while (std::optional<Reply> reply = replies_.TryPop()) {
      // What a caller that timed out leaves behind is freed here, on the
      // control side, where it was made.
      if (abandoned_.erase(reply->sequence) > 0) continue;
      replies_for_others_.insert_or_assign(reply->sequence, std::move(*reply));
    }
    auto mine = replies_for_others_.find(sequence);
    if (mine != replies_for_others_.end()) {
      Reply reply = std::move(mine->second);
      replies_for_others_.erase(mine);
      if (reply.error) return tl::unexpected(std::move(*reply.error));
      return std::move(reply.value);
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      abandoned_.insert(sequence);
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("worker {} did not answer within {} ms", index(), timeout.count()));
    }
    lock.unlock();
    reply_signals_.Wait(sequence, observed, deadline - now);
  }
}

void Worker::Run() {
  next_phase_due_ = MonotonicNow() + kPhase;
  while (!stop_requested_.load(std::memory_order_acquire)) {
    DrainCommands();
    ReceivePackets();
    RunDuePhases();
    FlushTx();
    Nanoseconds wait = next_phase_due_ - MonotonicNow();
    if (io_ != nullptr) {
      io_->Wait(std::max(wait, Nanoseconds(0)));
    } else {
      SleepFor(wait);
    }
  }
}

void Worker::DrainCommands() {
  for (int i = 0; i < kMaxCommandsPerLoop; ++i) {
    // Take a command only when its reply has room: the worker never blocks.
    if (replies_.SizeApprox() >= replies_.capacity()) return;
    std::optional<Envelope> envelope = commands_.TryPop();
    if (!envelope) return;
    Bump(counters_.commands);
    Reply reply = Execute(*envelope);
    const uint64_t sequence = reply.sequence;
    (void)replies_.TryPush(std::move(reply));
    reply_signals_.Signal(sequence);
  }
}

Reply Worker::Execute(Envelope& envelope) {
  Reply reply{envelope.sequence, std::nullopt, {}};
  Result<void> status = std::visit(
      [&](auto& command) -> Result<void> {
        using T = std::decay_t<decltype(command)>;
        if constexpr (std::is_same_v<T, CreateSession>) {
          return DoCreateSession(command);
        } else if constexpr (std::is_same_v<T, DeleteSession>) {
          return DoDeleteSession(command, reply.value);
        } else if constexpr (std::is_same_v<T, AddLeg>) {
          return DoAddLeg(command, reply.value);
        } else if constexpr (std::is_same_v<T, UpdateLeg>) {
          return DoUpdateLeg(command);
        } else if constexpr (std::is_same_v<T, RemoveLeg>) {
          return DoRemoveLeg(command, reply.value);
        } else if constexpr (std::is_same_v<T, SetMode>) {
          Result<WorkerSession*> session = FindSession(command.session);
          if (!session) return tl::unexpected(session.error());
          return (*session)->media->SetMode(command.slot, command.mode, command.beep);
        } else if constexpr (std::is_same_v<T, SetMatrix>) {
          Result<WorkerSession*> session = FindSession(command.session);
          reply.value.matrix = std::move(command.matrix);  // freed on the control side
          if (!session) return tl::unexpected(session.error());
          if (reply.value.matrix == nullptr) return InvalidArgument("no matrix");
          return (*session)->media->SetMatrix(*reply.value.matrix);
        } else {
          return DoGetStats(command, reply.value);
        }
      },
      envelope.command);
  if (!status) reply.error = std::move(status.error());
  return reply;
}

Result<WorkerSession*> Worker::FindSession(SessionHandle handle) {
  if (handle >= sessions_.size() || sessions_[handle] == nullptr) {
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("worker {} has no session {}", index(), handle));
  }
  return sessions_[handle].get();
}

Result<void> Worker::DoCreateSession(CreateSession& command) {
  if (command.session >= sessions_.size()) {
    return MakeError(ErrorCode::kResourceExhausted,
                     fmt::format("session handle {} beyond worker {}'s {} sessions",
                                 command.session, index(), sessions_.size()));
  }
  if (sessions_[command.session] != nullptr) {
    return MakeError(ErrorCode::kAlreadyExists,
                     fmt::format("worker {} already has session {}", index(), command.session));
  }
  if (command.state == nullptr) return InvalidArgument("no session state");
  sessions_[command.session] = std::move(command.state);
  phases_[command.session % phases_.size()].push_back(command.session);
  Bump(counters_.sessions);
  return {};
}

Result<void> Worker::DoDeleteSession(DeleteSession& command, ReplyValue& value) {
  Result<WorkerSession*> session = FindSession(command.session);
  if (!session) return tl::unexpected(session.error());
  for (int slot = 0; slot < static_cast<int>((*session)->legs.size()); ++slot) {
    if ((*session)->legs[static_cast<size_t>(slot)].in_use) CloseLeg(**session, slot);
  }
  std::vector<SessionHandle>& phase = phases_[command.session % phases_.size()];
  phase.erase(std::remove(phase.begin(), phase.end(), command.session), phase.end());
  value.session = std::move(sessions_[command.session]);
  counters_.sessions.store(counters_.sessions.load(std::memory_order_relaxed) - 1,
                           std::memory_order_relaxed);
  return {};
}

Result<PortHandle> Worker::OpenLocalPort(bool pair, uint16_t& local_port, PortHandle& rtcp_port) {
  if (io_ == nullptr) return MakeError(ErrorCode::kUnavailable, "this worker has no packet I/O");
  const size_t ports = port_in_use_.size();
  Result<SocketAddress> base = SocketAddress::Parse(options_.rtp_ip, options_.port_low);
  if (!base) return tl::unexpected(base.error());
  auto open = [&](size_t offset) -> std::optional<PortHandle> {
    if (port_in_use_[offset]) return std::nullopt;
    Result<PortHandle> handle =
        io_->OpenPort(base->WithPort(static_cast<uint16_t>(options_.port_low + offset)));
    if (!handle) return std::nullopt;  // taken by another process
    if (static_cast<size_t>(*handle) >= port_owners_.size()) {
      io_->ClosePort(*handle);
      return std::nullopt;
    }
    port_in_use_[offset] = true;
    return *handle;
  };
  // Walk the range from where the last search stopped, so that a port just
  // closed is not reused at once (late packets of the old leg still arrive).
  for (size_t attempt = 0; attempt < ports; ++attempt) {
    const size_t offset = (next_port_ + attempt) % ports;
    const uint16_t port = static_cast<uint16_t>(options_.port_low + offset);
    if (pair && (port % 2 != 0 || offset + 1 >= ports)) continue;
    std::optional<PortHandle> rtp = open(offset);
    if (!rtp) continue;
    rtcp_port = kNoPort;
    if (pair) {
      std::optional<PortHandle> rtcp = open(offset + 1);
      if (!rtcp) {
        ReleasePort(*rtp, port);
        continue;
      }
      rtcp_port = *rtcp;
    }
    next_port_ = static_cast<uint16_t>((offset + (pair ? 2 : 1)) % ports);
    local_port = port;
    return *rtp;
  }
  return MakeError(ErrorCode::kResourceExhausted,
                   fmt::format("worker {} has no free RTP port{} in {}-{}", index(),
                               pair ? " pair" : "", options_.port_low, options_.port_high));
}

void Worker::ReleasePort(PortHandle handle, uint16_t local_port) {
  io_->ClosePort(handle);
  port_owners_[static_cast<size_t>(handle)] = PortOwner{};
  port_in_use_[local_port - options_.port_low] = false;
}

Result<void> Worker::DoAddLeg(AddLeg& command, ReplyValue& value) {
  Result<WorkerSession*> found = FindSession(command.session);
  if (!found) {
    value.leg = std::move(command.media);
    return tl::unexpected(found.error());
  }
  WorkerSession& session = **found;
  if (command.slot < 0 || command.slot >= static_cast<int>(session.legs.size()) ||
      session.legs[static_cast<size_t>(command.slot)].in_use) {
    value.leg = std::move(command.media);
    return MakeError(ErrorCode::kAlreadyExists,
                     fmt::format("leg slot {} is in use or out of range", command.slot));
  }
  uint16_t local_port = 0;
  PortHandle rtcp_port = kNoPort;
  Result<PortHandle> port = OpenLocalPort(!command.rtcp_mux, local_port, rtcp_port);
  if (!port) {
    value.leg = std::move(command.media);
    return tl::unexpected(port.error());
  }
  Result<void> added = session.media->AddLeg(command.slot, command.role, command.mode, command.beep,
                                             std::move(command.media));
  if (!added) {
    ReleasePort(*port, local_port);
    if (rtcp_port != kNoPort) ReleasePort(rtcp_port, static_cast<uint16_t>(local_port + 1));
    return added;
  }
  LegBinding& leg = session.legs[static_cast<size_t>(command.slot)];
  leg.in_use = true;
  leg.port = *port;
  leg.rtcp_port = rtcp_port;
  leg.local_port = local_port;
  leg.direction = command.direction;
  // The leg's RTP clock is its codec's (the telephone-event clock with it).
  command.rtp.clock_rate_hz = session.media->leg(command.slot)->encoder().info().rtp_clock_rate_hz;
  leg.rtp.emplace(command.rtp);
  leg.dtmf_mode_switch = command.dtmf_mode_switch;
  if (command.stop_ringback) session.media->StopRingback();
  leg.rtp->SetSrtp(std::move(command.srtp_in), std::move(command.srtp_out));
  leg.last_media_ns = MonotonicNow().count();  // the silence clock starts now
  leg.next_rtcp_ns = leg.last_media_ns + RtcpDelayNs() / 2;
  port_owners_[static_cast<size_t>(*port)] = PortOwner{command.session, command.slot, false};
  if (rtcp_port != kNoPort) {
    port_owners_[static_cast<size_t>(rtcp_port)] = PortOwner{command.session, command.slot, true};
  }
  value.local = io_->LocalAddress(*port);
  Bump(counters_.legs);
  return {};
}

Result<void> Worker::DoUpdateLeg(UpdateLeg& command) {
  Result<WorkerSession*> session = FindSession(command.session);
  if (!session) return tl::unexpected(session.error());
  if (command.slot < 0 || command.slot >= static_cast<int>((*session)->legs.size()) ||
      !(*session)->legs[static_cast<size_t>(command.slot)].in_use) {
    return MakeError(ErrorCode::kNotFound, fmt::format("no leg in slot {}", command.slot));
  }
  LegBinding& leg = (*session)->legs[static_cast<size_t>(command.slot)];
  if (command.srtp_in_key || command.srtp_out_key) {
    Result<void> rekeyed =
        leg.rtp->RekeySrtp(command.srtp_in_key ? &*command.srtp_in_key : nullptr,
                           command.srtp_out_key ? &*command.srtp_out_key : nullptr,
                           command.srtp_replay_window);
    if (!rekeyed) return rekeyed;
  }
  leg.rtp->Update(command.remote, command.latch);
  leg.direction = command.direction;
  leg.last_media_ns = MonotonicNow().count();  // a re-INVITE restarts the silence clock
  return {};
}

void Worker::CloseLeg(WorkerSession& session, int slot) {
  // An event the leg was sending into others ends there properly (E bit).
  for (LegBinding& other : session.legs) {
    if (other.in_use && other.dtmf_out.busy() && other.dtmf_out.source() == slot) other.dtmf_out.End(slot, 0);
  }
  LegBinding& leg = session.legs[static_cast<size_t>(slot)];
  if (options_.rtcp_interval.count() > 0) {
    // BYE (RFC 3550 §6.6) goes out before the port closes.
    SendRtcp(leg, MonotonicNow().count(), true);
    FlushTx();
  }
  ReleasePort(leg.port, leg.local_port);
  if (leg.rtcp_port != kNoPort) ReleasePort(leg.rtcp_port, static_cast<uint16_t>(leg.local_port + 1));
  leg = LegBinding{};
  counters_.legs.store(counters_.legs.load(std::memory_order_relaxed) - 1,
                       std::memory_order_relaxed);
}

Result<void> Worker::DoRemoveLeg(const RemoveLeg& command, ReplyValue& value) {
  Result<WorkerSession*> session = FindSession(command.session);
  if (!session) return tl::unexpected(session.error());
  auto removed = (*session)->media->RemoveLeg(command.slot);
  if (!removed) return tl::unexpected(removed.error());
  value.leg = std::move(*removed);
  CloseLeg(**session, command.slot);
  return {};
}

Result<void> Worker::DoGetStats(GetStats& command, ReplyValue& value) {
  value.stats = std::move(command.stats);
  Result<WorkerSession*> found = FindSession(command.session);
  if (!found) return tl::unexpected(found.error());
  if (value.stats == nullptr) return InvalidArgument("no stats object");
  WorkerSession& session = **found;
  SessionStats& stats = *value.stats;
  stats.mixer = session.media->counters();
  const size_t legs = std::min(stats.legs.size(), session.legs.size());
  for (size_t slot = 0; slot < legs; ++slot) {
    const LegBinding& leg = session.legs[slot];
    LegStats& out = stats.legs[slot];
    out = LegStats{};
    if (!leg.in_use) continue;
    const mixer::LegMedia* media = session.media->leg(static_cast<int>(slot));
    out.in_use = true;
    out.local = io_->LocalAddress(leg.port);
    out.remote = leg.rtp->destination();
    out.latched = leg.rtp->latched();
    out.direction = leg.direction;
    out.rtp = leg.rtp->counters();
    out.jitter = media->jitter_buffer().counters();
    out.media = media->counters();
    const double clock_khz = media->encoder().info().rtp_clock_rate_hz / 1000.0;
    out.jitter_ms = media->jitter_buffer().JitterSamples() / clock_khz;
    out.remote_report = leg.rtp->remote_report();
    out.buffered_ms = static_cast<int>(media->jitter_buffer().BufferedSamples() / clock_khz);
  }
  return {};
}

void Worker::ReceivePackets() {
  if (io_ == nullptr) return;
  PacketBuffer* burst[kBurst];
  for (int round = 0; round < kMaxRxBursts; ++round) {
    const size_t received = io_->ReceiveBurst(burst);
    const uint64_t ntp_now = received > 0 ? NtpNow() : 0;
    for (size_t i = 0; i < received; ++i) {
      PacketBuffer* buffer = burst[i];
      Bump(counters_.rx_packets);
      const size_t handle = static_cast<size_t>(buffer->port);
      const PortOwner owner = handle < port_owners_.size() ? port_owners_[handle] : PortOwner{};
      WorkerSession* session =
          owner.slot >= 0 && owner.session < sessions_.size() ? sessions_[owner.session].get() : nullptr;
      if (session == nullptr) {
        Bump(counters_.rx_no_leg);
        io_->pool().Free(buffer);
        continue;
      }
      LegBinding& leg = session->legs[static_cast<size_t>(owner.slot)];
      mixer::PacketIn packet;
      RtpLeg::RxResult result =
          owner.rtcp ? leg.rtp->ReceiveRtcp(buffer->bytes(), buffer->peer, ntp_now)
                     : leg.rtp->Receive(buffer->bytes(), buffer->peer, packet, buffer->rx_time_ns, ntp_now);
      if (result.drop) {
        Bump(counters_.rx_dropped);
      } else if (result.kind == RxKind::kTelephoneEvent && Receives(leg.direction)) {
        ReceiveTelephoneEvent(*session, owner.session, owner.slot, packet, buffer->rx_time_ns);
      } else if (result.kind == RxKind::kMedia && Receives(leg.direction)) {
        (void)session->media->Receive(owner.slot, packet, buffer->rx_time_ns);
        leg.last_media_ns = buffer->rx_time_ns;
        if (leg.media_timed_out) {
          leg.media_timed_out = false;
          Report(WorkerEvent{WorkerEvent::Kind::kMediaResumed, owner.session, owner.slot});
        }
      }
      io_->pool().Free(buffer);
    }
    if (received < kBurst) return;
  }
}

void Worker::RunDuePhases() {
  const Nanoseconds tick = options_.tick;
  Nanoseconds now = MonotonicNow();
  if (now - next_phase_due_ > tick) {
    // More than a whole tick behind: skip to now rather than mixing in a burst.
    const auto behind = (now - next_phase_due_) / kPhase;
    Bump(counters_.skipped_ticks, static_cast<uint64_t>(behind / phases_.size()));
    // Time passes for the far ends all the same: every skipped tick advances
    // the legs' RTP timestamps (and marks the next packet), as a pause would.
    for (long step = 0; step < behind; ++step) {
      const size_t phase = static_cast<size_t>((next_phase_ + step) % static_cast<long>(phases_.size()));
      for (SessionHandle handle : phases_[phase]) {
        for (LegBinding& leg : sessions_[handle]->legs) {
          if (leg.in_use) leg.rtp->SkipTick();
        }
      }
    }
    next_phase_due_ += behind * kPhase;
    next_phase_ = static_cast<int>((next_phase_ + behind) % static_cast<long>(phases_.size()));
  }
  for (size_t done = 0; done < phases_.size() && now >= next_phase_due_; ++done) {
    if (now - next_phase_due_ > kOverrunSlack) Bump(counters_.overruns);
    for (SessionHandle handle : phases_[static_cast<size_t>(next_phase_)]) {
      TickSession(*sessions_[handle], handle, now.count());
    }
    next_phase_due_ += kPhase;
    next_phase_ = (next_phase_ + 1) % static_cast<int>(phases_.size());
    if (next_phase_ == 0) Bump(counters_.ticks);
    FlushTx();
    now = MonotonicNow();
  }
}

void Worker::Report(WorkerEvent event) {
  if (!events_.TryPush(event)) Bump(counters_.events_dropped);
}

void Worker::TickSession(WorkerSession& session, SessionHandle handle, int64_t now_ns) {
  session.media->Tick(session.outputs);
  const int64_t timeout_ns = std::chrono::nanoseconds(options_.media_timeout).count();
  for (size_t slot = 0; slot < session.legs.size(); ++slot) {
    LegBinding& leg = session.legs[slot];
    if (!leg.in_use) continue;
    if (timeout_ns > 0 && !leg.media_timed_out && Receives(leg.direction) &&
        now_ns - leg.last_media_ns > timeout_ns) {
      leg.media_timed_out = true;
      Report(WorkerEvent{WorkerEvent::Kind::kMediaTimeout, handle, static_cast<int>(slot)});
    }
    if (DtmfInput lost_end = leg.dtmf_in.CheckTimeout(now_ns, Nanoseconds(kDtmfTimeout).count());
        lost_end.any()) {
      RelayDtmf(session, handle, static_cast<int>(slot), lost_end);
    }
    if (options_.rtcp_interval.count() > 0 && now_ns >= leg.next_rtcp_ns) SendRtcp(leg, now_ns, false);
    const mixer::LegOutput& output = session.outputs[slot];
    RtpLeg& rtp = *leg.rtp;
    if (leg.dtmf_out.busy() && Sends(leg.direction) && rtp.destination().is_set()) {
      // RFC 4733 §2.5.1.1 discourages audio and events for the same time in one
      // stream, and a receiver that plays both would play the tone twice (the
      // in-band one, if the mix carries any, and the event): the event packet
      // takes the tick's place.
      SendDtmf(leg);
      continue;
    }
    if (!Sends(leg.direction) || output.payload.empty() || !rtp.destination().is_set()) {
      rtp.SkipTick();
      continue;
    }
    PacketBuffer* buffer = io_->pool().Alloc();
    if (buffer == nullptr) {
      Bump(counters_.tx_pool_empty);
      rtp.SkipTick();
      continue;
    }
    const size_t size = rtp.WritePacket(output.payload, std::span<uint8_t>(buffer->data));
    if (size == 0) {
      io_->pool().Free(buffer);
      rtp.SkipTick();
      continue;
    }
    buffer->size = static_cast<uint16_t>(size);
    buffer->port = leg.port;
    buffer->peer = rtp.destination();
    tx_.push_back(buffer);
    if (tx_.size() == kBurst) FlushTx();
  }
}

void Worker::ReceiveTelephoneEvent(WorkerSession& session, SessionHandle handle, int slot,
                                   const mixer::PacketIn& packet, int64_t now_ns) {
  std::optional<TelephoneEvent> event = ParseTelephoneEvent(packet.payload);
  if (!event) {
    Bump(counters_.dtmf_malformed);
    return;
  }
  LegBinding& leg = session.legs[static_cast<size_t>(slot)];
  DtmfInput ended_previous;
  const DtmfInput input = leg.dtmf_in.OnPacket(packet.timestamp, *event, now_ns, ended_previous);
  if (ended_previous.any()) RelayDtmf(session, handle, slot, ended_previous);
  if (input.any()) RelayDtmf(session, handle, slot, input);
}

void Worker::RelayDtmf(WorkerSession& session, SessionHandle handle, int source, const DtmfInput& input) {
  LegBinding& from = session.legs[static_cast<size_t>(source)];
  bool switches = false;
  mixer::SupervisorMode switch_to = mixer::SupervisorMode::kListen;
  if (input.event < from.dtmf_mode_switch.size() && from.dtmf_mode_switch[input.event].has_value()) {
    switches = true;
    switch_to = *from.dtmf_mode_switch[input.event];
  }
  if (input.start && switches) from.dtmf_in.consumed = true;
  const int from_clock = from.rtp->clock_rate_hz();
  if (!from.dtmf_in.consumed) {
    // Destinations are chosen when the event starts, by who hears the source
    // then; a matrix change during a digit does not cut it in two.
    const mixer::GainMatrix& matrix = session.media->matrix();
    for (int slot = 0; slot < static_cast<int>(session.legs.size()); ++slot) {
      LegBinding& to = session.legs[static_cast<size_t>(slot)];
      if (slot == source || !to.in_use || !to.rtp->telephone_event_type()) continue;
      const uint32_t duration = ConvertDuration(input.duration, from_clock, to.rtp->clock_rate_hz());
      if (input.start) {
        if (!Sends(to.direction) || slot >= matrix.size() || source >= matrix.size() ||
            !matrix.Hears(slot, source)) {
          continue;
        }
        if (!to.dtmf_out.Start(source, input.event, input.volume, duration)) {
          Bump(counters_.dtmf_busy);
          continue;
        }
      }
      if (input.end) {
        to.dtmf_out.End(source, duration);
      } else {
        to.dtmf_out.Update(source, duration);
      }
    }
  }
  if (!input.end) return;
  Bump(counters_.dtmf_digits);
  const char key = DtmfDigit(input.event);
  WorkerEvent digit{WorkerEvent::Kind::kDtmf, handle, source};
  digit.digit = key != '\0' ? key : '?';
  digit.event = input.event;
  digit.duration_ms = from_clock > 0 ? static_cast<uint32_t>(uint64_t{input.duration} * 1000 /
                                                             static_cast<uint64_t>(from_clock))
                                     : 0;
  Report(digit);
  if (from.dtmf_in.consumed && switches) {
    // Applied as a SetMode command would be: at the next tick, with the ramp.
    if (session.media->SetMode(source, switch_to, false)) {
      WorkerEvent changed{WorkerEvent::Kind::kModeChanged, handle, source};
      changed.digit = digit.digit;
      changed.mode = switch_to;
      Report(changed);
    }
  }
}

void Worker::SendDtmf(LegBinding& leg) {
  RtpLeg& rtp = *leg.rtp;
  std::optional<DtmfPacket> packet = leg.dtmf_out.NextTick(rtp.next_timestamp());
  PacketBuffer* buffer = packet ? io_->pool().Alloc() : nullptr;
  if (packet && buffer == nullptr) Bump(counters_.tx_pool_empty);
  const size_t size =
      buffer != nullptr
          ? rtp.WriteEventPacket(packet->event, packet->timestamp, packet->marker, std::span<uint8_t>(buffer->data))
          : 0;
  rtp.AdvanceTick();
  if (size == 0) {
    if (buffer != nullptr) io_->pool().Free(buffer);
    return;
  }
  buffer->size = static_cast<uint16_t>(size);
  buffer->port = leg.port;
  buffer->peer = rtp.destination();
  tx_.push_back(buffer);
  if (tx_.size() == kBurst) FlushTx();
}

int64_t Worker::RtcpDelayNs() {
  random_state_ ^= random_state_ << 13;
  random_state_ ^= random_state_ >> 7;
  random_state_ ^= random_state_ << 17;
  const double factor = 0.5 + static_cast<double>(random_state_ >> 11) / static_cast<double>(uint64_t{1} << 53);
  return static_cast<int64_t>(static_cast<double>(Nanoseconds(options_.rtcp_interval).count()) * factor);
}

void Worker::SendRtcp(LegBinding& leg, int64_t now_ns, bool bye) {
  leg.next_rtcp_ns = now_ns + RtcpDelayNs();
  RtpLeg& rtp = *leg.rtp;
  if (!rtp.destination().is_set()) return;
  PacketBuffer* buffer = io_->pool().Alloc();
  if (buffer == nullptr) {
    Bump(counters_.tx_pool_empty);
    return;
  }
  const size_t size = rtp.WriteRtcp(NtpNow(), cname_, bye, std::span<uint8_t>(buffer->data));
  if (size == 0) {
    io_->pool().Free(buffer);
    return;
  }
  buffer->size = static_cast<uint16_t>(size);
  // rtcp-mux: the RTP port both ways; otherwise from our RTCP port to theirs
  // (RFC 3550 §11: the RTP port + 1).
  const bool muxed = leg.rtcp_port == kNoPort;
  buffer->port = muxed ? leg.port : leg.rtcp_port;
  buffer->peer = muxed ? rtp.destination()
                       : rtp.destination().WithPort(static_cast<uint16_t>(rtp.destination().port() + 1));
  tx_.push_back(buffer);
  if (tx_.size() == kBurst) FlushTx();
}

void Worker::FlushTx() {
  if (tx_.empty()) return;
  Bump(counters_.tx_packets, io_->SendBurst(tx_));
  tx_.clear();
}

}  // namespace earshot::dataplane

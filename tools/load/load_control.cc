#include "tools/load/load_control.h"

#include <arpa/inet.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "tools/load/load_churn.h"

namespace earshot::load {
namespace {

namespace v1 = earshot::v1;

v1::Mode ToProto(SupervisorMode mode) {
  switch (mode) {
    case SupervisorMode::kListen: return v1::MODE_LISTEN;
    case SupervisorMode::kWhisper: return v1::MODE_WHISPER;
    case SupervisorMode::kWhisperCustomer: return v1::MODE_WHISPER_CUSTOMER;
    case SupervisorMode::kBarge: return v1::MODE_BARGE;
  }
  return v1::MODE_UNSPECIFIED;
}

void SleepUntilNs(int64_t when_ns) {
  const int64_t wait = when_ns - NowNs();
  if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
}

// "IP:PORT" of a leg earshotd answered; a wildcard IP means loopback here.
sockaddr_in LegAddress(const v1::Leg& leg) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(leg.local_port()));
  if (leg.local_ip().empty() || leg.local_ip() == "0.0.0.0" ||
      inet_pton(AF_INET, leg.local_ip().c_str(), &address.sin_addr) != 1) {
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  return address;
}

}  // namespace

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return fmt::format("CODE_{}", static_cast<int>(code));
  }
}

int64_t RpcCounts::failed() const {
  int64_t total = 0;
  for (const auto& [code, count] : failures) total += count;
  return total;
}

CallController::CallController(ctl::ControlApi& api, const LoadOptions& options, RtpDriver& driver)
    : api_(api), options_(options), driver_(driver), modes_(static_cast<size_t>(options.calls)) {
  run_id_ = options.run_id.empty()
                ? fmt::format("{:x}", static_cast<uint64_t>(NowNs() / 1'000'000) & 0xffffffu)
                : options.run_id;
}

template <typename T>
bool CallController::Count(const char* rpc, const ctl::RpcResult<T>& result) {
  std::lock_guard<std::mutex> lock(rpc_mutex_);
  ++rpc_.calls;
  if (result) return true;
  ++rpc_.failures[StatusCodeName(result.error().code)];
  if (rpc_.first_failure.empty()) {
    rpc_.first_failure =
        fmt::format("{}: {}: {}", rpc, StatusCodeName(result.error().code), result.error().message);
  }
  return false;
}

RpcCounts CallController::rpc_counts() const {
  std::lock_guard<std::mutex> lock(rpc_mutex_);
  return rpc_;
}

v1::LegSpec CallController::Spec(v1::Role role, int call, int party) const {
  const CodecInfo codec = GetCodecInfo(options_.CodecOf(party));
  v1::LegSpec spec;
  spec.set_role(role);
  spec.set_codec(std::string(codec.name));
  spec.set_payload_type(codec.payload_type);
  spec.set_ptime_ms(static_cast<uint32_t>(options_.ptime_ms));
  spec.set_remote(fmt::format("127.0.0.1:{}", driver_.LocalPort(call, party)));
  spec.set_latch(true);
  if (options_.srtp) {
    spec.mutable_srtp()->set_suite(std::string(dataplane::SrtpSuiteName(*options_.srtp)));
    spec.mutable_srtp()->set_remote_key(driver_.PeerKey(call, party));
  }
  return spec;
}

bool CallController::SetUpCall(int call, const std::string& session_id, std::vector<SupervisorMode>& modes,
                               bool& created) {
  created = false;
  v1::CreateSessionRequest create;
  create.set_id(session_id);
  create.set_rate(static_cast<uint32_t>(options_.session_rate_hz));
  create.set_tick_ms(static_cast<uint32_t>(options_.ptime_ms));
  (*create.mutable_labels())["app"] = "earshot-load";
  if (!Count("CreateSession", api_.CreateSession(create))) return false;
  created = true;

  ControlEvent up;
  up.kind = ControlEvent::Kind::kCallUp;
  up.call = call;
  const v1::Role roles[] = {v1::ROLE_CUSTOMER, v1::ROLE_AGENT};
  for (int party = 0; party < kFirstSupervisor; ++party) {
    v1::AddLegRequest add;
    add.set_session_id(session_id);
    add.set_leg_id(PartyLegId(party));
    *add.mutable_spec() = Spec(roles[party], call, party);
    ctl::RpcResult<v1::Leg> leg = api_.AddLeg(add);
    if (!Count("AddLeg", leg)) return false;
    up.remotes[static_cast<size_t>(party)] = LegAddress(*leg);
    up.earshot_keys[static_cast<size_t>(party)] = leg->srtp_local_key();
  }
  for (int supervisor = 0; supervisor < options_.supervisors; ++supervisor) {
    const int party = kFirstSupervisor + supervisor;
    const SupervisorMode mode = InitialMode(options_.mode, call, supervisor, options_.supervisors);
    v1::AttachRequest attach;
    attach.set_session_id(session_id);
    attach.set_leg_id(PartyLegId(party));
    *attach.mutable_spec() = Spec(v1::ROLE_SUPERVISOR, call, party);
    attach.set_mode(ToProto(mode));
    attach.set_beep(false);
    ctl::RpcResult<v1::Leg> leg = api_.Attach(attach);
    if (!Count("Attach", leg)) return false;
    up.remotes[static_cast<size_t>(party)] = LegAddress(*leg);
    up.earshot_keys[static_cast<size_t>(party)] = leg->srtp_local_key();
    up.modes[static_cast<size_t>(supervisor)] = mode;
    modes.push_back(mode);
  }
  up.at_ns = NowNs();
  driver_.inbox().Post(up);
  return true;
}

void CallController::ChangeMode(int call, int supervisor, SupervisorMode mode) {
  ControlEvent changing;
  changing.kind = ControlEvent::Kind::kModeChanging;
  changing.call = call;
  changing.party = kFirstSupervisor + supervisor;
  changing.at_ns = NowNs();
  driver_.inbox().Post(changing);

  v1::SetModeRequest request;
  request.set_session_id(fmt::format("load-{}-{}", run_id_, call));
  request.set_leg_id(PartyLegId(kFirstSupervisor + supervisor));
  request.set_mode(ToProto(mode));
  request.set_beep(false);
  SupervisorMode& current = modes_[static_cast<size_t>(call)][static_cast<size_t>(supervisor)];
  if (Count("SetMode", api_.SetMode(request))) {
    current = mode;
    ++mode_changes_;
  }
  // A failed change leaves the old mode (and still gets its settling time).
  ControlEvent changed = changing;
  changed.kind = ControlEvent::Kind::kModeChanged;
  changed.mode = current;
  changed.at_ns = NowNs();
  driver_.inbox().Post(changed);
}

void CallController::Run(std::atomic<int64_t>& stop_at_ns, const std::atomic<bool>& abort) {
  const int64_t start = NowNs();
  const double interval_ns = 1e9 / options_.cps;
  for (int call = 0; call < options_.calls && !abort.load(std::memory_order_relaxed); ++call) {
    SleepUntilNs(start + static_cast<int64_t>(call * interval_ns));
    const std::string session_id = fmt::format("load-{}-{}", run_id_, call);
    bool created = false;
    const bool ok = SetUpCall(call, session_id, modes_[static_cast<size_t>(call)], created);
    if (created) sessions_.push_back(session_id);
    if (ok) {
      up_.push_back(call);
      calls_up_.fetch_add(1, std::memory_order_relaxed);
    } else {
      ++calls_failed_;
    }
  }
  const int64_t stop_at = NowNs() + static_cast<int64_t>(options_.duration_s * 1e9);
  stop_at_ns.store(stop_at, std::memory_order_release);  // pairs with the driver's load in Run
  if (options_.mode_changes_per_s <= 0.0 || up_.empty()) return;

  std::mt19937 random(options_.seed);
  constexpr SupervisorMode kModes[] = {SupervisorMode::kListen, SupervisorMode::kWhisper,
                                       SupervisorMode::kWhisperCustomer, SupervisorMode::kBarge};
  const double change_interval_ns = 1e9 / options_.mode_changes_per_s;
  const int64_t changes_start = NowNs();
  // No change in the last second: its settling would fall past the end.
  for (int64_t n = 1;; ++n) {
    const int64_t when = changes_start + static_cast<int64_t>(static_cast<double>(n) * change_interval_ns);
    if (when > stop_at - 1'000'000'000 || abort.load(std::memory_order_relaxed)) return;
    SleepUntilNs(when);
    const int call = up_[random() % up_.size()];
    const int supervisor = static_cast<int>(random() % static_cast<uint32_t>(options_.supervisors));
    const SupervisorMode current = modes_[static_cast<size_t>(call)][static_cast<size_t>(supervisor)];
    SupervisorMode next = current;
    while (next == current) next = kModes[random() % 4];
    ChangeMode(call, supervisor, next);
  }
}

void CallController::DeleteSession(const std::string& id) {
  v1::DeleteSessionRequest request;
  request.set_id(id);
  Count("DeleteSession", api_.DeleteSession(request));
}

void CallController::TearDown() {
  for (const std::string& id : sessions_) DeleteSession(id);
  sessions_.clear();
}

ChurnFigures CallController::churn_figures() const {
  std::lock_guard<std::mutex> lock(churn_mutex_);
  ChurnFigures figures = churn_;
  figures.setup = {static_cast<double>(churn_setup_.PercentileNs(0.50)) / 1e6,
                   static_cast<double>(churn_setup_.PercentileNs(0.99)) / 1e6,
                   static_cast<double>(churn_setup_.max_ns()) / 1e6, churn_setup_.count()};
  return figures;
}

void CallController::StopChurnCall(int slot, const std::string& session_id) {
  ControlEvent down;
  down.kind = ControlEvent::Kind::kCallDown;
  down.call = options_.calls + slot;
  down.at_ns = NowNs();
  driver_.inbox().Post(down);
  ++churn_downs_posted_;
  // The driver applies events at least once a millisecond; give it 200 ms at
  // most (a starved driver) before deleting anyway.
  const int64_t give_up = NowNs() + 200'000'000;
  while (driver_.calls_stopped() < churn_downs_posted_ && NowNs() < give_up) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  DeleteSession(session_id);
}

void CallController::RunChurn(const std::atomic<int64_t>& stop_at_ns, const std::atomic<bool>& abort) {
  if (options_.churn_cps <= 0.0) return;
  {
    std::lock_guard<std::mutex> lock(churn_mutex_);
    churn_.cps = options_.churn_cps;
    churn_.hold_s = options_.churn_hold_s;
    churn_.slots = options_.churn_slots();
  }
  int64_t stop_at = 0;
  while ((stop_at = stop_at_ns.load(std::memory_order_acquire)) == 0) {
    if (abort.load(std::memory_order_relaxed)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  constexpr int64_t kPollNs = 50'000'000;     // abort is seen within this
  constexpr int64_t kSampleNs = 100'000'000;  // up_samples
  constexpr int64_t kEndMarginNs = 500'000'000;  // every churn call down this long before the end
  const int64_t start = NowNs();
  ChurnSchedule schedule(options_.churn_cps, options_.churn_hold_s, options_.churn_slots(), start,
                         stop_at - kEndMarginNs);
  std::vector<std::string> ids(static_cast<size_t>(schedule.slots()));
  std::vector<int64_t> up_at(static_cast<size_t>(schedule.slots()), 0);
  int64_t generation = 0;
  int64_t up_ns = 0;  // summed over the churn calls that went down
  int64_t next_sample = start;
  int64_t last_setup_at = -1;
  auto sample = [&](int64_t now) {
    if (now < next_sample) return;
    next_sample = now + kSampleNs;
    const double realtime =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::lock_guard<std::mutex> lock(churn_mutex_);
    churn_.up_samples.emplace_back(realtime, schedule.up());
  };
  auto tear_down = [&](int slot) {
    StopChurnCall(slot, ids[static_cast<size_t>(slot)]);
    const int64_t now = NowNs();
    up_ns += now - up_at[static_cast<size_t>(slot)];
    schedule.TearDownDone(slot);
    std::lock_guard<std::mutex> lock(churn_mutex_);
    ++churn_.teardowns;
    churn_.up_now = schedule.up();
  };
  while (!abort.load(std::memory_order_relaxed)) {
    const int64_t now = NowNs();
    sample(now);
    const int64_t setup_at = schedule.next_setup_ns();
    const int64_t down_at = schedule.next_teardown_ns();
    if (setup_at == kNever && down_at == kNever) break;
    const int64_t due = std::min(setup_at, down_at);
    if (now < due) {
      SleepUntilNs(std::min({due, now + kPollNs, next_sample}));
      continue;
    }
    if (down_at <= setup_at) {
      const int slot = schedule.BeginTearDown(now);
      if (slot >= 0) tear_down(slot);
      continue;
    }
    last_setup_at = setup_at;
    const int slot = schedule.BeginSetUp();
    if (slot < 0) {
      std::lock_guard<std::mutex> lock(churn_mutex_);
      churn_.missed = schedule.missed();
      continue;
    }
    const std::string id = fmt::format("load-{}-churn-{}", run_id_, generation++);
    ids[static_cast<size_t>(slot)] = id;
    std::vector<SupervisorMode> modes;
    bool created = false;
    const int64_t begin = NowNs();
    const bool ok = SetUpCall(options_.calls + slot, id, modes, created);
    const int64_t done = NowNs();
    if (!ok && created) DeleteSession(id);
    schedule.SetUpDone(slot, done, ok);
    up_at[static_cast<size_t>(slot)] = done;
    std::lock_guard<std::mutex> lock(churn_mutex_);
    if (ok) {
      ++churn_.setups;
      churn_setup_.Record(done - begin);
    } else {
      ++churn_.failed;
    }
    churn_.up_now = schedule.up();
  }
  // Aborted: whatever is still up goes down now.
  for (int slot : schedule.Busy()) tear_down(slot);
  const int64_t end = NowNs();
  sample(next_sample);
  std::lock_guard<std::mutex> lock(churn_mutex_);
  churn_.span_s = static_cast<double>(end - start) / 1e9;
  if (last_setup_at >= 0) churn_.setup_span_s = static_cast<double>(last_setup_at - start) / 1e9 + 1.0 / options_.churn_cps;
  churn_.mean_up = end > start ? static_cast<double>(up_ns) / static_cast<double>(end - start) : 0.0;
}

}  // namespace earshot::load

#include "tools/load/load_rtp_driver.h"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <numbers>
#include <random>

#include "tools/load/load_stream_stats.h"

namespace earshot::load {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kPeriodNs = 20 * kMs;
constexpr int kSlots = 20;
constexpr int kSamples = kRxSamples;     // 20 ms at 8 kHz, as every stream is measured
constexpr int kRtpHeader = 12;
constexpr int kWindowPackets = 10;       // 200 ms
constexpr int kAnalysisPackets = 2;      // the window's last 40 ms are measured
constexpr int64_t kSettleNs = 200 * kMs; // after a mode change
constexpr int64_t kProbePeriodNs = 2000 * kMs;
constexpr int kProbeSilencePackets = 6;  // 120 ms
// A probe's speaker is not judged from its silence until this long after its onset.
constexpr int64_t kProbeQuietNs = 500 * kMs;
constexpr int64_t kProbeGiveUpNs = 2000 * kMs;
constexpr int kRxBatch = 8;
// How far the schedule may fall behind before whole periods are given up.
constexpr int64_t kMaxBehindNs = 200 * kMs;
constexpr int kEvents = 256;

double ThreadCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int64_t NowNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

void Inbox::Post(const ControlEvent& event) {
  std::lock_guard<std::mutex> lock(mutex_);
  events_.push_back(event);
  pending_.store(true, std::memory_order_release);  // pairs with the load in Drain
}

void Inbox::Drain(std::vector<ControlEvent>& out) {
  out.clear();
  if (!pending_.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  out.swap(events_);
  pending_.store(false, std::memory_order_relaxed);
}

struct RtpDriver::Leg {
  int fd = -1;
  int call = 0;
  int party = 0;
  uint16_t local_port = 0;
  sockaddr_in remote{};
  // tx
  uint32_t ssrc = 0;
  uint16_t seq = 0;
  uint32_t timestamp = 0;
  uint32_t timestamp_step = kSamples;  // per 20 ms, on the codec's RTP clock
  uint8_t payload_type = 0;            // both ways
  const ToneStream* tone = nullptr;
  uint32_t loop_position = 0;
  size_t resume_position = SIZE_MAX;  // into tone->resume, from a probe's onset on
  std::optional<dataplane::SrtpSession> srtp_tx;  // --srtp: under key_text
  std::string key_text;
  // rx
  std::optional<dataplane::SrtpSession> srtp_rx;  // --srtp: under Earshot's key
  RtpStreamStats rx{8000};
  std::optional<StreamDecoder> decoder;
  int window_count = 0;
  std::array<int16_t, kAnalysisPackets * kSamples> analysis{};
  OnsetDetector onset;
};

struct RtpDriver::Call {
  bool up = false;
  int first_leg = 0;
  int64_t judge_from_ns = 0;
  std::array<SupervisorMode, kMaxSupervisors> modes{};
  Audibility plan;
  int changing = 0;  // mode changes under way
  int64_t settle_until_ns = 0;
  // Mouth-to-ear probe.
  int64_t next_probe_ns = 0;
  int probe_rotation = 0;
  int probe_speaker = -1;
  int probe_silent_left = 0;
  int64_t probe_onset_ns = 0;
  int64_t probe_quiet_until_ns = 0;
};

RtpDriver::RtpDriver(const LoadOptions& options)
    : options_(options),
      parties_(kFirstSupervisor + options.supervisors),
      window_meter_(kAnalysisPackets * kSamples, 8000),
      packet_meter_(kSamples, 8000) {}

RtpDriver::~RtpDriver() {
  for (Leg& leg : legs_) {
    if (leg.fd >= 0) close(leg.fd);
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

Result<std::unique_ptr<RtpDriver>> RtpDriver::Create(const LoadOptions& options) {
  std::unique_ptr<RtpDriver> driver(new RtpDriver(options));
  if (Result<void> opened = driver->Open(); !opened) return tl::unexpected(opened.error());
  return driver;
}

uint16_t RtpDriver::LocalPort(int call, int party) const {
  return legs_[static_cast<size_t>(call * parties_ + party)].local_port;
}

std::string RtpDriver::PeerKey(int call, int party) const {
  return legs_[static_cast<size_t>(call * parties_ + party)].key_text;
}

Result<void> RtpDriver::Open() {
  // One stream per (call % 4, party) in the party's codec: every tone is a
  // multiple of 50 Hz, so 20 ms hold whole periods and the stream loops
  // seamlessly (load_media.h).
  for (int offset = 0; offset < 4; ++offset) {
    for (int party = 0; party < parties_; ++party) {
      Result<ToneStream> stream =
          EncodeToneStream(options_.CodecOf(party), ToneHz(offset, party), kProbeSilencePackets);
      if (!stream) return tl::unexpected(stream.error());
      tone_streams_.push_back(std::move(*stream));
    }
  }

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return MakeError(ErrorCode::kInternal, fmt::format("epoll_create1: {}", strerror(errno)));

  const size_t total = static_cast<size_t>(options_.driver_calls()) * static_cast<size_t>(parties_);
  legs_.resize(total);
  calls_.resize(static_cast<size_t>(options_.driver_calls()));
  slots_.resize(kSlots);
  std::mt19937 random(options_.seed ^ static_cast<uint32_t>(getpid()));
  uint32_t port = options_.local_port_low;
  for (size_t index = 0; index < total; ++index) {
    Leg& leg = legs_[index];
    leg.call = static_cast<int>(index) / parties_;
    leg.party = static_cast<int>(index) % parties_;
    leg.ssrc = static_cast<uint32_t>(random());
    leg.seq = static_cast<uint16_t>(random());
    leg.timestamp = static_cast<uint32_t>(random());
    const CodecInfo codec = GetCodecInfo(options_.CodecOf(leg.party));
    leg.timestamp_step = static_cast<uint32_t>(codec.rtp_clock_hz / 50);
    leg.payload_type = static_cast<uint8_t>(codec.payload_type);
    leg.tone = &tone_streams_[static_cast<size_t>((leg.call % 4) * parties_ + leg.party)];
    leg.rx = RtpStreamStats(codec.rtp_clock_hz, options_.ptime_ms);
    Result<StreamDecoder> decoder = StreamDecoder::Create(options_.CodecOf(leg.party));
    if (!decoder) return tl::unexpected(decoder.error());
    leg.decoder.emplace(std::move(*decoder));
    if (options_.srtp) {
      Result<dataplane::SrtpKey> key = dataplane::GenerateSrtpKey(*options_.srtp);
      if (!key) return tl::unexpected(key.error());
      Result<dataplane::SrtpSession> session = dataplane::SrtpSession::Outbound(*key);
      if (!session) return tl::unexpected(session.error());
      leg.srtp_tx.emplace(std::move(*session));
      leg.key_text = dataplane::FormatSdesKey(*key);
    }
    leg.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (leg.fd < 0) {
      return MakeError(ErrorCode::kResourceExhausted,
                       fmt::format("socket for leg {} of {}: {} (raise ulimit -n?)", index, total,
                                   strerror(errno)));
    }
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool bound = false;
    for (; port <= options_.local_port_high && !bound; ++port) {
      local.sin_port = htons(static_cast<uint16_t>(port));
      if (bind(leg.fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0) {
        bound = true;
        leg.local_port = static_cast<uint16_t>(port);
      } else if (errno != EADDRINUSE) {
        return MakeError(ErrorCode::kInternal, fmt::format("bind port {}: {}", port, strerror(errno)));
      }
    }
    if (!bound) {
      return MakeError(ErrorCode::kResourceExhausted,
                       fmt::format("no free local port left in {}-{} for leg {} of {}",
                                   options_.local_port_low, options_.local_port_high, index, total));
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = static_cast<uint32_t>(index);
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, leg.fd, &event) != 0) {
      return MakeError(ErrorCode::kInternal, fmt::format("epoll_ctl: {}", strerror(errno)));
    }
  }
  for (int call = 0; call < options_.driver_calls(); ++call) {
    calls_[static_cast<size_t>(call)].first_leg = call * parties_;
    slots_[static_cast<size_t>(call % kSlots)].push_back(call);
  }
  totals_.latency = &latency_;
  totals_.lateness = &lateness_;
  return {};
}

void RtpDriver::Run(const std::atomic<int64_t>& stop_at_ns, const std::atomic<bool>& abort,
                    const ProgressFn& progress) {
  const int64_t start_ns = NowNs();
  const double start_cpu = ThreadCpuSeconds();
  int64_t next_progress_ns = start_ns + 1000 * kMs;
  double progress_cpu = start_cpu;
  for (int64_t period = 0;; ++period) {
    // Far behind (the tool starved of CPU): give the missed periods up rather
    // than send them in a burst; every leg moves on as if they were lost.
    const int64_t behind = NowNs() - (start_ns + period * kPeriodNs);
    if (behind > kMaxBehindNs) {
      const int64_t skip = behind / kPeriodNs;
      period += skip;
      totals_.periods_skipped += skip;
      for (Leg& leg : legs_) {
        leg.seq = static_cast<uint16_t>(leg.seq + skip);
        leg.timestamp += static_cast<uint32_t>(skip) * leg.timestamp_step;
      }
    }
    for (int slot = 0; slot < kSlots; ++slot) {
      const int64_t deadline = start_ns + period * kPeriodNs + slot * kMs;
      ServeUntil(deadline);
      const int64_t stop_at = stop_at_ns.load(std::memory_order_acquire);
      if (abort.load(std::memory_order_relaxed) || (stop_at != 0 && NowNs() >= stop_at)) {
        totals_.cpu_s = ThreadCpuSeconds() - start_cpu;
        totals_.wall_s = static_cast<double>(NowNs() - start_ns) / 1e9;
        return;
      }
      SendSlot(slot, deadline);
      if (deadline >= next_progress_ns) {
        const double cpu = ThreadCpuSeconds();
        UpdateStreamTotals();
        DriverProgress report;
        report.elapsed_s = static_cast<double>(deadline - start_ns) / 1e9;
        report.totals = &totals_;
        report.lateness_p99_ns = lateness_second_.PercentileNs(0.99);
        report.cpu_percent = 100.0 * (cpu - progress_cpu);
        if (progress) progress(report);
        lateness_second_.Clear();
        progress_cpu = cpu;
        next_progress_ns += 1000 * kMs;
      }
    }
  }
}

void RtpDriver::ServeUntil(int64_t deadline_ns) {
  std::array<epoll_event, kEvents> events;
  for (;;) {
    const int64_t now = NowNs();
    ApplyEvents(now);
    const int64_t remaining = std::max<int64_t>(deadline_ns - now, 0);
    const timespec timeout{static_cast<time_t>(remaining / 1'000'000'000),
                           static_cast<long>(remaining % 1'000'000'000)};
    const int ready = epoll_pwait2(epoll_fd_, events.data(), kEvents, &timeout, nullptr);
    for (int i = 0; i < ready; ++i) ReceiveFrom(events[static_cast<size_t>(i)].data.u32);
    // Past the deadline: leave once the ready sockets are served (a full batch
    // means more may be waiting, but sending on time comes first).
    if (NowNs() >= deadline_ns) return;
  }
}

void RtpDriver::ReceiveFrom(uint32_t leg_index) {
  Leg& leg = legs_[leg_index];
  std::array<std::array<uint8_t, 1500>, kRxBatch> buffers;
  std::array<iovec, kRxBatch> iovs;
  std::array<mmsghdr, kRxBatch> msgs{};
  for (int i = 0; i < kRxBatch; ++i) {
    iovs[static_cast<size_t>(i)] = {buffers[static_cast<size_t>(i)].data(), buffers[0].size()};
    msgs[static_cast<size_t>(i)].msg_hdr.msg_iov = &iovs[static_cast<size_t>(i)];
    msgs[static_cast<size_t>(i)].msg_hdr.msg_iovlen = 1;
  }
  for (int round = 0; round < 4; ++round) {  // bounded: one socket cannot hold the loop
    const int got = recvmmsg(leg.fd, msgs.data(), kRxBatch, MSG_DONTWAIT, nullptr);
    if (got <= 0) return;
    const int64_t now = NowNs();
    for (int i = 0; i < got; ++i) {
      size_t size = msgs[static_cast<size_t>(i)].msg_len;
      const uint8_t* bytes = buffers[static_cast<size_t>(i)].data();
      // earshotd's RTCP reports share the port (rtcp-mux): RFC 5761 says a
      // second octet of 192..223 is RTCP. Counted, not judged.
      if (size >= 2 && (bytes[0] >> 6) == 2 && bytes[1] >= 192 && bytes[1] <= 223) {
        ++totals_.packets_received;
        ++totals_.rx_rtcp;
        continue;
      }
      if (options_.srtp) {
        if (!calls_[static_cast<size_t>(leg.call)].up) {
          // earshotd sends as soon as the leg exists; its key reaches this
          // thread only with the call-up event. Not a failure, not judged.
          ++totals_.packets_received;
          ++totals_.rx_before_up;
          continue;
        }
        auto plain = leg.srtp_rx ? leg.srtp_rx->UnprotectRtp(std::span(buffers[static_cast<size_t>(i)].data(), size))
                                 : tl::expected<size_t, dataplane::SrtpError>(
                                       tl::unexpect, dataplane::SrtpError::kAuthenticationFailed);
        if (!plain) {
          ++totals_.packets_received;
          ++totals_.srtp_failures;
          continue;
        }
        size = *plain;
      }
      OnPacket(leg, buffers[static_cast<size_t>(i)].data(), size, now);
    }
    if (got < kRxBatch) return;
  }
}

void RtpDriver::OnPacket(Leg& leg, const uint8_t* data, size_t size, int64_t now_ns) {
  ++totals_.packets_received;
  if (size < kRtpHeader || (data[0] >> 6) != 2 || (data[1] & 0x7f) != leg.payload_type) {
    ++totals_.rx_malformed;
    return;
  }
  size_t header = kRtpHeader + 4u * (data[0] & 0x0fu);
  if ((data[0] & 0x10u) && size >= header + 4) header += 4 + 4u * (data[header + 2] << 8 | data[header + 3]);
  if (size <= header) {
    ++totals_.rx_malformed;
    return;
  }
  const auto seq = static_cast<uint16_t>(data[2] << 8 | data[3]);
  const uint32_t timestamp = static_cast<uint32_t>(data[4]) << 24 | static_cast<uint32_t>(data[5]) << 16 |
                             static_cast<uint32_t>(data[6]) << 8 | data[7];
  leg.rx.OnPacket(seq, timestamp, now_ns);
  Call& call = calls_[static_cast<size_t>(leg.call)];
  if (!call.up) {
    ++totals_.rx_before_up;
    return;
  }
  const std::span<const uint8_t> payload(data + header, size - header);
  StreamDecoder& decoder = *leg.decoder;
  const int position = leg.window_count % kWindowPackets;
  const int first_measured = kWindowPackets - kAnalysisPackets;
  // G.711: decode what is measured (the analysis span, and every packet while
  // a probe is armed). Opus: every packet, see load_media.h.
  if (position >= first_measured || leg.onset.armed() || decoder.stateful()) {
    std::array<int16_t, kSamples> pcm;
    if (!decoder.Decode(payload, pcm)) {
      ++totals_.rx_malformed;
      pcm.fill(0);
    }
    if (leg.onset.armed()) {
      switch (leg.onset.Feed(packet_meter_.LevelDbfs(pcm, leg.onset.tone_hz()), now_ns)) {
        case OnsetDetector::Step::kOnset:
          if (call.probe_onset_ns != 0 && now_ns >= call.probe_onset_ns) {
            latency_.Record(now_ns - call.probe_onset_ns);
          } else {
            ++totals_.probes_missed;  // the tone came back before it was sent: not a probe
          }
          break;
        case OnsetDetector::Step::kTimedOut: ++totals_.probes_missed; break;
        default: break;
      }
    }
    if (position >= first_measured) {
      std::copy(pcm.begin(), pcm.end(), leg.analysis.begin() + (position - first_measured) * kSamples);
    }
  }
  if (++leg.window_count % kWindowPackets == 0) JudgeWindow(leg, call, now_ns);
}

void RtpDriver::JudgeWindow(Leg& leg, Call& call, int64_t now_ns) {
  const int64_t measured_from = now_ns - kAnalysisPackets * kPeriodNs;
  if (measured_from < call.judge_from_ns || call.changing > 0 || measured_from < call.settle_until_ns) {
    ++totals_.windows_skipped;
    return;
  }
  uint32_t dont_care = 0;
  if (call.probe_speaker >= 0 && now_ns < call.probe_quiet_until_ns) dont_care |= 1u << call.probe_speaker;
  const WindowVerdict verdict =
      load::JudgeWindow(window_meter_, leg.analysis, leg.call, leg.party, call.plan, dont_care,
                        leg.decoder->heard_dbfs());
  ++totals_.windows;
  totals_.judgements += verdict.judged;
  totals_.missing += verdict.missing;
  totals_.unexpected += verdict.unexpected;
}

void RtpDriver::ApplyEvents(int64_t now_ns) {
  inbox_.Drain(drained_);
  for (const ControlEvent& event : drained_) {
    Call& call = calls_[static_cast<size_t>(event.call)];
    switch (event.kind) {
      case ControlEvent::Kind::kCallUp:
        StartCall(call, event, now_ns);
        ++totals_.calls_up;
        break;
      case ControlEvent::Kind::kCallDown:
        StopCall(call);
        ++totals_.calls_down;
        calls_stopped_.store(totals_.calls_down, std::memory_order_release);
        break;
      case ControlEvent::Kind::kModeChanging:
        ++call.changing;
        // The expectation is in flux: a probe under way says nothing.
        for (int party = 0; party < parties_; ++party) legs_[static_cast<size_t>(call.first_leg + party)].onset.Disarm();
        break;
      case ControlEvent::Kind::kModeChanged:
        --call.changing;
        call.modes[static_cast<size_t>(event.party - kFirstSupervisor)] = event.mode;
        call.plan = ExpectedAudibility(std::span(call.modes.data(), static_cast<size_t>(options_.supervisors)));
        call.settle_until_ns = event.at_ns + kSettleNs;
        ++totals_.mode_changes;
        break;
    }
  }
}

void RtpDriver::StartCall(Call& call, const ControlEvent& event, int64_t now_ns) {
  // A churn slot's previous call left its probe, settling and mode state behind.
  const int first_leg = call.first_leg;
  call = Call{};
  call.first_leg = first_leg;
  for (int party = 0; party < parties_; ++party) {
    // New earshotd legs: their streams start afresh (whatever arrived before is
    // the old legs' tail or the new legs' first packets, neither judged).
    Leg& leg = legs_[static_cast<size_t>(first_leg + party)];
    leg.rx = RtpStreamStats(GetCodecInfo(options_.CodecOf(party)).rtp_clock_hz, options_.ptime_ms);
    leg.decoder->Reset();
    leg.window_count = 0;
    leg.onset.Disarm();
    leg.resume_position = SIZE_MAX;
    leg.srtp_rx.reset();
  }

  call.up = true;
  call.modes = event.modes;
  call.plan = ExpectedAudibility(std::span(call.modes.data(), static_cast<size_t>(options_.supervisors)));
  // Opus anywhere in the call: its encoders and decoders (the tool's and
  // earshotd's) settle first (load_media.h).
  call.judge_from_ns =
      now_ns + (options_.AllG711() ? options_.warmup_ms : std::max(options_.warmup_ms, kOpusSettleMs)) * kMs;
  // Spread the probes: the first one of each call 1 s after warm-up, offset per call.
  call.next_probe_ns = call.judge_from_ns + 1000 * kMs + (event.call % 100) * 20 * kMs;
  for (int party = 0; party < parties_; ++party) {
    Leg& leg = legs_[static_cast<size_t>(call.first_leg + party)];
    leg.remote = event.remotes[static_cast<size_t>(party)];
    if (options_.srtp) {
      Result<dataplane::SrtpKey> key =
          dataplane::ParseSdesKey(*options_.srtp, event.earshot_keys[static_cast<size_t>(party)]);
      Result<dataplane::SrtpSession> session =
          key ? dataplane::SrtpSession::Inbound(*key) : tl::unexpected(key.error());
      if (session) leg.srtp_rx.emplace(std::move(*session));  // else all it gets fails, counted
    }
  }
}

void RtpDriver::StopCall(Call& call) {
  call.up = false;
  for (int party = 0; party < parties_; ++party) {
    Leg& leg = legs_[static_cast<size_t>(call.first_leg + party)];
    leg.onset.Disarm();
    ++retired_.streams;
    if (leg.rx.received() == 0) {
      ++retired_.silent;
      continue;
    }
    retired_.lost += std::max<int64_t>(leg.rx.lost(), 0);
    retired_.not_sent += leg.rx.not_sent();
    retired_.sequence_errors += leg.rx.sequence_errors();
    retired_.jitter_sum += leg.rx.jitter_ms();
    retired_.jitter_max = std::max(retired_.jitter_max, leg.rx.jitter_ms());
  }
}

void RtpDriver::SendSlot(int slot, int64_t deadline_ns) {
  for (int call_index : slots_[static_cast<size_t>(slot)]) {
    Call& call = calls_[static_cast<size_t>(call_index)];
    if (call.up) SendCall(call, deadline_ns);
  }
}

void RtpDriver::StartProbe(Call& call, int64_t now_ns) {
  call.next_probe_ns = now_ns + kProbePeriodNs;
  // The next speaker, in rotation, whom somebody must hear.
  for (int attempt = 0; attempt < parties_; ++attempt) {
    const int speaker = call.probe_rotation++ % parties_;
    bool heard = false;
    for (int listener = 0; listener < parties_; ++listener) heard |= call.plan.Hears(listener, speaker);
    if (!heard) continue;
    call.probe_speaker = speaker;
    call.probe_silent_left = kProbeSilencePackets;
    call.probe_onset_ns = 0;
    call.probe_quiet_until_ns = now_ns + kProbeGiveUpNs;  // until the onset is known
    const int tone = ToneHz(static_cast<int>(&call - calls_.data()), speaker);
    for (int listener = 0; listener < parties_; ++listener) {
      if (!call.plan.Hears(listener, speaker)) continue;
      legs_[static_cast<size_t>(call.first_leg + listener)].onset.Arm(tone, now_ns + kProbeGiveUpNs);
      ++totals_.probes;
    }
    return;
  }
}

void RtpDriver::SendCall(Call& call, int64_t deadline_ns) {
  if (call.probe_silent_left == 0 && call.changing == 0 && deadline_ns >= call.next_probe_ns &&
      deadline_ns >= call.settle_until_ns) {
    StartProbe(call, deadline_ns);
  }
  std::array<uint8_t, kRtpHeader + kMaxPayloadBytes + dataplane::kSrtpMaxTrailer> packet;
  for (int party = 0; party < parties_; ++party) {
    Leg& leg = legs_[static_cast<size_t>(call.first_leg + party)];
    const bool silent = party == call.probe_speaker && call.probe_silent_left > 0;
    const bool onset = party == call.probe_speaker && call.probe_silent_left == 0 && call.probe_onset_ns == 0 &&
                       call.probe_speaker >= 0;
    packet[0] = 0x80;
    packet[1] = leg.payload_type;
    packet[2] = static_cast<uint8_t>(leg.seq >> 8);
    packet[3] = static_cast<uint8_t>(leg.seq);
    packet[4] = static_cast<uint8_t>(leg.timestamp >> 24);
    packet[5] = static_cast<uint8_t>(leg.timestamp >> 16);
    packet[6] = static_cast<uint8_t>(leg.timestamp >> 8);
    packet[7] = static_cast<uint8_t>(leg.timestamp);
    packet[8] = static_cast<uint8_t>(leg.ssrc >> 24);
    packet[9] = static_cast<uint8_t>(leg.ssrc >> 16);
    packet[10] = static_cast<uint8_t>(leg.ssrc >> 8);
    packet[11] = static_cast<uint8_t>(leg.ssrc);
    const ToneStream& tone = *leg.tone;
    const std::vector<uint8_t>* payload = nullptr;
    if (silent) {
      const auto index = static_cast<size_t>(kProbeSilencePackets - call.probe_silent_left);
      payload = &tone.silence[std::min(index, tone.silence.size() - 1)];
    } else {
      if (onset) leg.resume_position = 0;
      if (leg.resume_position < tone.resume.size()) {
        payload = &tone.resume[leg.resume_position++];
      } else {
        payload = &tone.loop[leg.loop_position++ % tone.loop.size()];
      }
    }
    std::memcpy(packet.data() + kRtpHeader, payload->data(), payload->size());
    const int64_t now = NowNs();
    const int64_t late = now - deadline_ns;
    lateness_.Record(late);
    lateness_second_.Record(late);
    size_t size = kRtpHeader + payload->size();
    if (leg.srtp_tx) {
      auto protected_size = leg.srtp_tx->ProtectRtp(packet, size);
      size = protected_size ? *protected_size : 0;
    }
    if (size > 0 && sendto(leg.fd, packet.data(), size, 0, reinterpret_cast<const sockaddr*>(&leg.remote),
                           sizeof leg.remote) == static_cast<ssize_t>(size)) {
      ++totals_.packets_sent;
    } else {
      ++totals_.send_errors;
    }
    if (onset) {
      call.probe_onset_ns = now;
      call.probe_quiet_until_ns = now + kProbeQuietNs;
    }
    // Every packet moves the stream on, sent or not: a failed send is a lost packet.
    ++leg.seq;
    leg.timestamp += leg.timestamp_step;
  }
  if (call.probe_silent_left > 0) --call.probe_silent_left;
}

void RtpDriver::UpdateStreamTotals() {
  int64_t lost = retired_.lost;
  int64_t not_sent = retired_.not_sent;
  int64_t sequence_errors = retired_.sequence_errors;
  int64_t streams = retired_.streams;
  int64_t silent = retired_.silent;
  double jitter_sum = retired_.jitter_sum;
  double jitter_max = retired_.jitter_max;
  for (const Leg& leg : legs_) {
    if (!calls_[static_cast<size_t>(leg.call)].up) continue;
    ++streams;
    if (leg.rx.received() == 0) {
      ++silent;
      continue;
    }
    lost += std::max<int64_t>(leg.rx.lost(), 0);
    not_sent += leg.rx.not_sent();
    sequence_errors += leg.rx.sequence_errors();
    jitter_sum += leg.rx.jitter_ms();
    jitter_max = std::max(jitter_max, leg.rx.jitter_ms());
  }
  totals_.lost = lost;
  totals_.not_sent = not_sent;
  totals_.sequence_errors = sequence_errors;
  totals_.streams = streams;
  totals_.streams_without_packets = silent;
  totals_.jitter_ms_mean = streams > silent ? jitter_sum / static_cast<double>(streams - silent) : 0.0;
  totals_.jitter_ms_max = jitter_max;
}

const DriverTotals& RtpDriver::Totals() {
  UpdateStreamTotals();
  return totals_;
}

}  // namespace earshot::load

#include "tools/demo/demo_phone.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <span>

#include "codecs/g711.h"

namespace earshot::demo {
namespace {

constexpr size_t kRtpHeader = 12;
constexpr uint8_t kPcmu = 0;
// The stream's offset follows the lower envelope of (arrival - timestamp) over
// this many packets (200 ms) and moves when that changes by over 10 ms.
constexpr size_t kEnvelopePackets = 10;
constexpr int64_t kSlipSamples = 10 * kSamplesPerMs;
// Two packets in sequence arriving further apart than this are a pause: 30 ms.
constexpr int64_t kPauseSamples = 30 * kSamplesPerMs;
constexpr int kMaxPacketsPerDrain = 64;  // one flooded socket cannot stall the others
constexpr auto kLateSend = std::chrono::milliseconds(10);

uint32_t Read32(const uint8_t* bytes) {
  return static_cast<uint32_t>(bytes[0]) << 24 | static_cast<uint32_t>(bytes[1]) << 16 |
         static_cast<uint32_t>(bytes[2]) << 8 | bytes[3];
}

void Write32(uint8_t* bytes, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(value >> (24 - 8 * i));
}

}  // namespace

Result<std::unique_ptr<WavPhone>> WavPhone::Create(std::string name, std::vector<int16_t> speech,
                                                   uint32_t ssrc) {
  if (speech.empty()) return InvalidArgument(name + ": no speech to send");
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return MakeError(ErrorCode::kUnavailable, "socket: " + std::string(strerror(errno)));
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof local;
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) {
    std::string why = strerror(errno);
    close(fd);
    return MakeError(ErrorCode::kUnavailable, "bind 127.0.0.1: " + why);
  }
  int buffer = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  // Kernel receive times, so that a busy demo thread does not look like a
  // late earshotd.
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  return std::unique_ptr<WavPhone>(
      new WavPhone(std::move(name), std::move(speech), ssrc, fd, ntohs(local.sin_port)));
}

WavPhone::WavPhone(std::string name, std::vector<int16_t> speech, uint32_t ssrc, int fd, uint16_t port)
    : name_(std::move(name)), speech_(std::move(speech)), ssrc_(ssrc), fd_(fd), port_(port) {}

WavPhone::~WavPhone() { close(fd_); }

Result<void> WavPhone::SendTo(const std::string& ip, uint32_t port) {
  if (port == 0 || port > 65535 || inet_pton(AF_INET, ip.c_str(), &destination_.sin_addr) != 1) {
    return InvalidArgument("Earshot answered an unusable leg address " + ip + ":" + std::to_string(port));
  }
  destination_.sin_family = AF_INET;
  destination_.sin_port = htons(static_cast<uint16_t>(port));
  has_destination_ = true;
  return {};
}

void WavPhone::SendFrame(int64_t frame) {
  int16_t pcm[kFrameSamples];
  const size_t length = speech_.size();
  for (int i = 0; i < kFrameSamples; ++i) {
    pcm[i] = speech_[static_cast<size_t>(frame * kFrameSamples + i) % length];
  }
  uint8_t packet[kRtpHeader + kFrameSamples];
  packet[0] = 0x80;
  packet[1] = static_cast<uint8_t>((frame == 0 ? 0x80 : 0) | kPcmu);
  const auto sequence = static_cast<uint16_t>(ssrc_ + static_cast<uint64_t>(frame));
  packet[2] = static_cast<uint8_t>(sequence >> 8);
  packet[3] = static_cast<uint8_t>(sequence);
  Write32(packet + 4, static_cast<uint32_t>(ssrc_ * 7u + static_cast<uint64_t>(frame) * kFrameSamples));
  Write32(packet + 8, ssrc_);
  EncodeUlaw(pcm, std::span<uint8_t>(packet + kRtpHeader, kFrameSamples));

  // Keep what the far end will decode, so the analysis compares like with like.
  const size_t at = static_cast<size_t>(frame) * kFrameSamples;
  if (sent_.size() < at + kFrameSamples) sent_.resize(at + kFrameSamples, 0);
  DecodeUlaw(std::span<const uint8_t>(packet + kRtpHeader, kFrameSamples),
             std::span<int16_t>(sent_.data() + at, kFrameSamples));
  if (has_destination_) {
    sendto(fd_, packet, sizeof packet, 0, reinterpret_cast<const sockaddr*>(&destination_),
           sizeof destination_);
  }
}

void WavPhone::Discard() {
  uint8_t buffer[2048];
  while (recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT) >= 0) {
  }
}

void WavPhone::Drain(int64_t now_sample, int64_t realtime_origin_ns) {
  uint8_t buffer[2048];
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(timespec))];
  for (int i = 0; i < kMaxPacketsPerDrain; ++i) {
    iovec io{buffer, sizeof buffer};
    msghdr message{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd_, &message, MSG_DONTWAIT);
    if (n < 0) return;
    int64_t arrival = now_sample;
    for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr && realtime_origin_ns != 0;
         header = CMSG_NXTHDR(&message, header)) {
      if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_TIMESTAMPNS) {
        timespec when{};
        std::memcpy(&when, CMSG_DATA(header), sizeof when);
        const int64_t ns = static_cast<int64_t>(when.tv_sec) * 1'000'000'000 + when.tv_nsec;
        arrival = (ns - realtime_origin_ns) / 125'000;
      }
    }
    Keep(buffer, static_cast<size_t>(n), arrival);
  }
}

void WavPhone::Keep(const uint8_t* packet, size_t size, int64_t arrival_sample) {
  if (size < kRtpHeader || (packet[0] >> 6) != 2) return;  // not RTP
  const uint8_t payload_type = packet[1] & 0x7F;
  if (payload_type >= 72 && payload_type <= 76) return;  // RTCP SR/RR/SDES/BYE/APP (rtcp-mux)
  ++stats_.packets;
  if ((packet[1] & 0x80) != 0) ++stats_.markers;
  if (payload_type != kPcmu) {
    ++stats_.not_pcmu;
    return;
  }
  size_t header = kRtpHeader + 4u * (packet[0] & 0x0F);
  if ((packet[0] & 0x10) != 0) {
    if (size < header + 4) return;
    header += 4 + 4u * (static_cast<size_t>(packet[header + 2]) << 8 | packet[header + 3]);
  }
  size_t end = size;
  if ((packet[0] & 0x20) != 0) end -= std::min<size_t>(packet[size - 1], size);
  if (end <= header) return;

  const uint32_t ssrc = Read32(packet + 8);
  const uint32_t timestamp = Read32(packet + 4);
  const auto sequence = static_cast<uint16_t>(packet[2] << 8 | packet[3]);
  if (stream_ < 0 || ssrc != stream_ssrc_) {
    if (stream_ >= 0) ++stats_.ssrc_changes;
    ++stream_;
    stream_ssrc_ = ssrc;
    last_timestamp_ = timestamp;
    last_sequence_ = sequence;
  }
  // Unwrap against the previous packet of the stream: the nearest value that
  // agrees modulo 2^32 (2^16 for the sequence number).
  last_timestamp_ += static_cast<int32_t>(timestamp - static_cast<uint32_t>(last_timestamp_));
  last_sequence_ += static_cast<int16_t>(static_cast<uint16_t>(sequence - static_cast<uint16_t>(last_sequence_)));
  received_.push_back(Received{arrival_sample, last_timestamp_, last_sequence_, stream_, payloads_.size(),
                               end - header});
  payloads_.insert(payloads_.end(), packet + header, packet + end);
}

void WavPhone::Finish() {
  const uint64_t packets = stats_.packets, markers = stats_.markers, not_pcmu = stats_.not_pcmu,
                 ssrc_changes = stats_.ssrc_changes;
  stats_ = ReceiveStats{};
  stats_.packets = packets;
  stats_.markers = markers;
  stats_.not_pcmu = not_pcmu;
  stats_.ssrc_changes = ssrc_changes;
  heard_.clear();
  covered_.clear();

  const size_t count = received_.size();
  auto lag = [&](size_t i) { return received_[i].arrival - received_[i].timestamp; };
  int64_t offset = 0;
  int64_t highest_sequence = 0;
  int64_t first_position = -1;
  int64_t end_position = 0;
  for (size_t i = 0; i < count; ++i) {
    const Received& packet = received_[i];
    // The lower envelope of the lag over the next kEnvelopePackets of this stream.
    int64_t floor = lag(i);
    for (size_t j = i + 1; j < count && j < i + kEnvelopePackets && received_[j].stream == packet.stream; ++j) {
      floor = std::min(floor, lag(j));
    }
    const bool new_stream = i == 0 || received_[i - 1].stream != packet.stream;
    if (new_stream) {
      offset = floor;
      highest_sequence = packet.sequence;
    } else {
      const Received& previous = received_[i - 1];
      if (std::abs(floor - offset) > kSlipSamples) {
        stats_.slips.push_back(ClockSlip{static_cast<double>(packet.arrival) / kSamplesPerMs,
                                         static_cast<double>(floor - offset) / kSamplesPerMs});
        offset = floor;
      }
      if (packet.sequence < highest_sequence) ++stats_.reordered;
      highest_sequence = std::max(highest_sequence, packet.sequence);
      if (packet.sequence == previous.sequence + 1 && packet.timestamp - previous.timestamp != kFrameSamples) {
        ++stats_.timestamp_steps;
      }
      const int64_t pause = packet.arrival - previous.arrival;
      if (pause > kPauseSamples) {
        ++stats_.pauses;
        stats_.longest_pause_ms = std::max(stats_.longest_pause_ms, static_cast<double>(pause) / kSamplesPerMs);
      }
    }
    stats_.max_late_ms = std::max(stats_.max_late_ms, static_cast<double>(lag(i) - offset) / kSamplesPerMs);

    const int64_t position = packet.timestamp + offset;
    const auto samples = static_cast<int64_t>(packet.samples);
    const int64_t stop = position + samples;
    if (stop <= 0) continue;
    if (heard_.size() < static_cast<size_t>(stop)) {
      heard_.resize(static_cast<size_t>(stop), 0);
      covered_.resize(static_cast<size_t>(stop), 0);
    }
    const int64_t begin = std::max<int64_t>(position, 0);
    if (covered_[static_cast<size_t>(begin)] != 0) ++stats_.duplicates;
    for (int64_t at = begin; at < stop; ++at) {
      heard_[static_cast<size_t>(at)] = UlawToLinear(payloads_[packet.payload + static_cast<size_t>(at - position)]);
      covered_[static_cast<size_t>(at)] = 1;
    }
    if (first_position < 0) first_position = begin;
    end_position = std::max(end_position, stop);
  }
  if (first_position >= 0) {
    const auto missing = std::count(covered_.begin() + first_position, covered_.begin() + end_position, 0);
    stats_.missing_ms = static_cast<uint64_t>(missing) / kSamplesPerMs;
  }
}

PhoneLoop::PhoneLoop(std::vector<WavPhone*> phones, std::chrono::steady_clock::time_point start)
    : phones_(std::move(phones)), start_(start) {}

PhoneLoop::~PhoneLoop() { Stop(); }

void PhoneLoop::Start() { thread_ = std::thread([this] { Run(); }); }

void PhoneLoop::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void PhoneLoop::Run() {
  using std::chrono::steady_clock;
  constexpr auto kFrame = std::chrono::milliseconds(20);
  std::vector<pollfd> fds;
  for (WavPhone* phone : phones_) fds.push_back(pollfd{phone->fd(), POLLIN, 0});
  auto sample_at = [this](steady_clock::time_point now) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(now - start_).count() / 125'000;
  };

  std::this_thread::sleep_until(start_);
  for (WavPhone* phone : phones_) phone->Discard();
  // CLOCK_REALTIME at timeline 0, to place the kernel's receive times.
  timespec realtime{};
  clock_gettime(CLOCK_REALTIME, &realtime);
  const int64_t since_start =
      std::chrono::duration_cast<std::chrono::nanoseconds>(steady_clock::now() - start_).count();
  const int64_t realtime_origin =
      static_cast<int64_t>(realtime.tv_sec) * 1'000'000'000 + realtime.tv_nsec - since_start;
  int64_t next_frame = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    const steady_clock::time_point deadline = start_ + next_frame * kFrame;
    steady_clock::time_point now = steady_clock::now();
    if (now < deadline) {
      const auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now).count();
      timespec timeout{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
      ppoll(fds.data(), fds.size(), &timeout, nullptr);
      now = steady_clock::now();
    }
    const int64_t arrival = sample_at(now);
    for (WavPhone* phone : phones_) phone->Drain(arrival, realtime_origin);
    // Catch up frame by frame if this thread was held up: the timestamps stay
    // on the 20 ms grid, so the far end's jitter buffer sees only jitter.
    while (now >= start_ + next_frame * kFrame) {
      if (now - (start_ + next_frame * kFrame) > kLateSend) ++late_sends_;
      for (WavPhone* phone : phones_) phone->SendFrame(next_frame);
      ++next_frame;
    }
  }
  const int64_t arrival = sample_at(steady_clock::now());
  for (WavPhone* phone : phones_) phone->Drain(arrival, realtime_origin);
}

}  // namespace earshot::demo

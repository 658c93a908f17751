#include "tests/support/rtp_phone.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>

namespace earshot::testing {
namespace {

constexpr int kFrame = 160;
constexpr double kToneDbfs = -12.0;

int64_t NowNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

}  // namespace

RtpPhone::RtpPhone(double tone_hz, uint32_t ssrc)
    : tone_hz_(tone_hz), tone_(tone_hz, 8000, kToneDbfs), ssrc_(ssrc != 0 ? ssrc : 0x5000 + static_cast<uint32_t>(tone_hz)) {
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) std::abort();
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) std::abort();
  socklen_t length = sizeof local;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &length);
  port_ = ntohs(local.sin_port);
  int buffer = 1 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
}

RtpPhone::~RtpPhone() {
  if (fd_ >= 0) close(fd_);
}

void RtpPhone::SendTo(const std::string& ip, uint16_t port) {
  destination_.sin_family = AF_INET;
  destination_.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &destination_.sin_addr);
}

void RtpPhone::SendFrame() {
  int16_t pcm[kFrame];
  tone_.Fill(pcm);
  uint8_t packet[12 + kFrame + dataplane::kSrtpMaxTrailer];
  size_t size = 12 + kFrame;
  packet[0] = 0x80;
  packet[1] = 0;  // PCMU
  packet[2] = static_cast<uint8_t>(sequence_ >> 8);
  packet[3] = static_cast<uint8_t>(sequence_);
  for (int i = 0; i < 4; ++i) {
    packet[4 + i] = static_cast<uint8_t>(timestamp_ >> (24 - 8 * i));
    packet[8 + i] = static_cast<uint8_t>(ssrc_ >> (24 - 8 * i));
  }
  (void)encoder_.Encode(pcm, std::span<uint8_t>(packet + 12, kFrame));
  ++sequence_;
  timestamp_ += kFrame;
  if (srtp_out_) {
    auto protected_size = srtp_out_->ProtectRtp(packet, size);
    if (!protected_size) std::abort();  // a test set-up error, not something to carry on from
    size = *protected_size;
  }
  sendto(fd_, packet, size, 0, reinterpret_cast<const sockaddr*>(&destination_), sizeof destination_);
}

void RtpPhone::UseSrtp(dataplane::SrtpSession outbound, dataplane::SrtpSession inbound) {
  srtp_out_.emplace(std::move(outbound));
  srtp_in_.emplace(std::move(inbound));
}

void RtpPhone::SendRaw(const std::vector<uint8_t>& bytes) {
  sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&destination_),
         sizeof destination_);
}

void RtpPhone::Drain() {
  uint8_t buffer[2048];
  for (;;) {
    ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n < 12) return;
    // RTCP from Earshot (rtcp-mux, RFC 5761 §4: PT 192..223) is not audio.
    if (buffer[1] >= 192 && buffer[1] <= 223) continue;
    if (srtp_in_) {
      auto plain = srtp_in_->UnprotectRtp(std::span<uint8_t>(buffer, static_cast<size_t>(n)));
      if (!plain) {
        ++srtp_failures_;
        continue;
      }
      n = static_cast<ssize_t>(*plain);
    }
    ReceivedPacket packet{static_cast<uint16_t>(buffer[2] << 8 | buffer[3]),
                          static_cast<uint32_t>(buffer[4]) << 24 | static_cast<uint32_t>(buffer[5]) << 16 |
                              static_cast<uint32_t>(buffer[6]) << 8 | buffer[7],
                          static_cast<uint32_t>(buffer[8]) << 24 | static_cast<uint32_t>(buffer[9]) << 16 |
                              static_cast<uint32_t>(buffer[10]) << 8 | buffer[11],
                          (buffer[1] & 0x80) != 0, static_cast<uint8_t>(buffer[1] & 0x7F), NowNs()};
    packets_.push_back(packet);
    int16_t pcm[2048];
    auto decoded = decoder_.Decode(std::span<const uint8_t>(buffer + 12, static_cast<size_t>(n) - 12), pcm);
    if (decoded) heard_.insert(heard_.end(), pcm, pcm + *decoded);
  }
}

double RtpPhone::Level(double tone_hz, int ms) const {
  size_t n = static_cast<size_t>(ms * 8);
  if (heard_.size() < n) return -200.0;
  return ToneLevelDbfs(std::span<const int16_t>(heard_.data() + heard_.size() - n, n), tone_hz, 8000);
}

}  // namespace earshot::testing

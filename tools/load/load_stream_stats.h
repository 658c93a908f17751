#pragma once
// Per received RTP stream: loss, sequence errors and RFC 3550 inter-arrival
// jitter, kept the way an RTCP receiver report would keep them.
//
// Sequence numbers are unwrapped against the highest seen; a packet older than
// the highest is a duplicate if its number was already seen among the last 64,
// else a reordered one (filling a gap counted as lost until then). Loss is
// expected - (received - duplicates), so a late packet is not lost.

#include <cstdint>

namespace earshot::load {

class RtpStreamStats {
 public:
  explicit RtpStreamStats(int clock_rate_hz) : clock_rate_hz_(clock_rate_hz) {}

  void OnPacket(uint16_t seq, uint32_t timestamp, int64_t arrival_ns);

  int64_t received() const { return received_; }
  int64_t expected() const { return received_ == 0 ? 0 : highest_ - first_ + 1; }
  int64_t lost() const { return expected() - (received_ - duplicates_); }
  int64_t duplicates() const { return duplicates_; }
  int64_t reordered() const { return reordered_; }
  int64_t sequence_errors() const { return duplicates_ + reordered_; }
  double jitter_ms() const { return jitter_ts_ * 1000.0 / clock_rate_hz_; }

 private:
  int clock_rate_hz_;
  int64_t received_ = 0;
  int64_t first_ = 0;    // extended
  int64_t highest_ = 0;  // extended
  uint64_t seen_ = 0;    // bit i: highest_ - i was received
  int64_t duplicates_ = 0;
  int64_t reordered_ = 0;
  double last_transit_ = 0.0;
  double jitter_ts_ = 0.0;
};

}  // namespace earshot::load

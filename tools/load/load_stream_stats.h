#pragma once
// Per received RTP stream: loss, sequence errors and RFC 3550 inter-arrival
// jitter, kept the way an RTCP receiver report would keep them.
//
// Sequence numbers are unwrapped against the highest seen; a packet older than
// the highest is a duplicate if its number was already seen among the last 64,
// else a reordered one (filling a gap counted as lost until then). Loss is
// expected - (received - duplicates), so a late packet is not lost.
//
// Sequence numbers alone cannot show packets the sender never made: a mixer
// that falls behind skips ticks, advances its RTP timestamps over the pause (as
// RFC 3550 asks) and carries on with the next sequence number. not_sent()
// counts those: the packet slots the timestamp span covers (at one packet per
// `ptime`) beyond the sequence span. For a stream with no silence suppression
// every such slot is audio that never left the sender.

#include <cstdint>

namespace earshot::load {

class RtpStreamStats {
 public:
  explicit RtpStreamStats(int clock_rate_hz, int ptime_ms = 20)
      : clock_rate_hz_(clock_rate_hz), samples_per_packet_(clock_rate_hz * ptime_ms / 1000) {}

  void OnPacket(uint16_t seq, uint32_t timestamp, int64_t arrival_ns);

  int64_t received() const { return received_; }
  int64_t expected() const { return received_ == 0 ? 0 : highest_ - first_ + 1; }
  int64_t lost() const { return expected() - (received_ - duplicates_); }
  int64_t duplicates() const { return duplicates_; }
  int64_t reordered() const { return reordered_; }
  int64_t sequence_errors() const { return duplicates_ + reordered_; }
  double jitter_ms() const { return jitter_ts_ * 1000.0 / clock_rate_hz_; }
  int64_t not_sent() const;

 private:
  int clock_rate_hz_;
  int samples_per_packet_;
  int64_t first_timestamp_ = 0;    // extended
  int64_t highest_timestamp_ = 0;  // extended, of the packet with the highest sequence
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

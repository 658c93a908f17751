#include "tools/load/load_stream_stats.h"

#include <cmath>

namespace earshot::load {

void RtpStreamStats::OnPacket(uint16_t seq, uint32_t timestamp, int64_t arrival_ns) {
  // Transit in timestamp units; only differences matter, so the wrap of the
  // 32-bit timestamp is taken care of by the int32 difference below.
  const double arrival_ts = static_cast<double>(arrival_ns) * clock_rate_hz_ / 1e9;
  if (received_ == 0) {
    first_ = highest_ = seq;
    first_timestamp_ = highest_timestamp_ = timestamp;
    seen_ = 1;
    received_ = 1;
    last_transit_ = arrival_ts - timestamp;
    return;
  }
  ++received_;
  const auto delta = static_cast<int16_t>(static_cast<uint16_t>(seq - static_cast<uint16_t>(highest_)));
  if (delta > 0) {
    highest_ += delta;
    highest_timestamp_ += static_cast<int32_t>(timestamp - static_cast<uint32_t>(highest_timestamp_));
    seen_ = delta >= 64 ? 1 : (seen_ << delta) | 1u;
  } else {
    const int back = -delta;
    if (back < 64 && (seen_ >> back) & 1u) {
      ++duplicates_;
      return;  // no jitter sample from a copy
    }
    ++reordered_;
    if (back < 64) seen_ |= uint64_t{1} << back;
  }
  // RFC 3550 A.8, with the timestamp difference taken modulo 2^32.
  const double transit = arrival_ts - timestamp;
  double d = transit - last_transit_;
  // Undo a 2^32 timestamp wrap between the two packets.
  if (d > 2147483648.0) d -= 4294967296.0;
  if (d < -2147483648.0) d += 4294967296.0;
  last_transit_ = transit;
  jitter_ts_ += (std::fabs(d) - jitter_ts_) / 16.0;
}

int64_t RtpStreamStats::not_sent() const {
  if (received_ == 0 || samples_per_packet_ <= 0) return 0;
  // Rounded, so that a sender whose timestamps wobble by a few samples is not
  // charged for a fraction of a packet.
  const int64_t span = highest_timestamp_ - first_timestamp_;
  const int64_t slots = (span + samples_per_packet_ / 2) / samples_per_packet_ + 1;
  return slots > expected() ? slots - expected() : 0;
}

}  // namespace earshot::load

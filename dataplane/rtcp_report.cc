#include "dataplane/rtcp_report.h"

#include <time.h>

#include <algorithm>
#include <cstdlib>

namespace earshot::dataplane {

uint64_t NtpFromUnixNanoseconds(int64_t unix_ns) {
  const uint64_t seconds = static_cast<uint64_t>(unix_ns / 1'000'000'000) + kNtpUnixOffsetSeconds;
  const uint64_t nanos = static_cast<uint64_t>(unix_ns % 1'000'000'000);
  return (seconds << 32) | ((nanos << 32) / 1'000'000'000);
}

uint64_t NtpNow() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return NtpFromUnixNanoseconds(int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec);
}

std::optional<double> RoundTripMs(uint32_t arrival_middle32, uint32_t last_sr, uint32_t delay_since_last_sr) {
  if (last_sr == 0) return std::nullopt;
  // Wrapping 32-bit arithmetic: the fields wrap every 18 hours.
  const int32_t rtt = static_cast<int32_t>(arrival_middle32 - last_sr - delay_since_last_sr);
  if (rtt < 0) return std::nullopt;
  return rtt * 1000.0 / 65536.0;
}

void JitterEstimator::Update(uint32_t arrival, RtpTimestamp timestamp) {
  const int32_t transit = static_cast<int32_t>(arrival - timestamp.value());
  if (primed_) {
    const int64_t d = std::llabs(int64_t{transit} - last_transit_);
    // J_q4 += |D| - J_q4 / 16, i.e. J += (|D| - J) / 16 with J scaled by 16.
    const int64_t next = int64_t{jitter_q4_} + d - ((int64_t{jitter_q4_} + 8) >> 4);
    jitter_q4_ = static_cast<uint32_t>(std::clamp<int64_t>(next, 0, INT32_MAX));
  }
  primed_ = true;
  last_transit_ = transit;
}

RtcpReportBlock ReceptionReporter::Report(Ssrc ssrc, const ReceptionCounts& counts, uint32_t jitter,
                                          uint32_t last_sr_middle32, uint64_t last_sr_arrival,
                                          uint64_t ntp_now) {
  RtcpReportBlock block{ssrc};
  const int64_t expected = counts.highest - counts.base + 1;
  const int64_t lost = expected - static_cast<int64_t>(counts.received);
  const int64_t expected_interval = expected - expected_prior_;
  const int64_t received_interval = static_cast<int64_t>(counts.received - received_prior_);
  const int64_t lost_interval = expected_interval - received_interval;
  expected_prior_ = expected;
  received_prior_ = counts.received;
  // A.3: a fraction of 0 when duplicates make the interval's loss negative.
  block.fraction_lost = expected_interval <= 0 || lost_interval <= 0
                            ? 0
                            : static_cast<uint8_t>(std::min<int64_t>((lost_interval << 8) / expected_interval, 255));
  block.cumulative_lost = static_cast<int32_t>(std::clamp<int64_t>(lost, -(1 << 23), (1 << 23) - 1));
  block.extended_highest_sequence = ExtendedRfc3550(counts.highest);
  block.jitter = jitter;
  if (last_sr_middle32 != 0) {
    block.last_sr = last_sr_middle32;
    // DLSR in units of 2^-16 s: the middle 32 bits of the NTP difference.
    block.delay_since_last_sr = static_cast<uint32_t>((ntp_now - last_sr_arrival) >> 16);
  }
  return block;
}

}  // namespace earshot::dataplane

#pragma once
// The arithmetic of RTCP reception reports (RFC 3550 §6.4, Appendix A.3 and
// A.8), apart from any socket so that it can be tested by calls:
//   - NTP timestamps and their middle 32 bits (LSR, and "A" of §6.4.1);
//   - the round-trip time from a report block about our SSRC;
//   - the receive statistics of one incoming stream turned into a report block
//     (fraction lost since the last report, cumulative loss, extended highest
//     sequence number, interarrival jitter, LSR/DLSR);
//   - the interarrival jitter estimator of A.8.
//
// Times are NTP-format (seconds since 1900 in the high word, 2^-32 s in the low)
// from the wall clock; only differences of them matter here. Nothing allocates.

#include <cstdint>
#include <optional>

#include "codecs/rtp_types.h"
#include "dataplane/rtcp_writer.h"

namespace earshot::dataplane {

// Seconds from 1900 (NTP's epoch) to 1970 (Unix's).
inline constexpr uint64_t kNtpUnixOffsetSeconds = 2'208'988'800ull;

uint64_t NtpFromUnixNanoseconds(int64_t unix_ns);
// CLOCK_REALTIME as NTP.
uint64_t NtpNow();
// The middle 32 bits: 16.16 fixed point seconds, as LSR and §6.4.1's A.
constexpr uint32_t NtpMiddle32(uint64_t ntp) { return static_cast<uint32_t>(ntp >> 16); }

// RFC 3550 §6.4.1: RTT = A - LSR - DLSR in units of 2^-16 s, as milliseconds.
// nullopt when the block carries no LSR (the far end has no SR of ours yet) or
// the result is negative (clock steps, a forged block).
std::optional<double> RoundTripMs(uint32_t arrival_middle32, uint32_t last_sr, uint32_t delay_since_last_sr);

// A.8: J += (|D| - J) / 16 over the difference of relative transit times of
// consecutive packets, in RTP clock units. Kept scaled by 16 in an integer, as
// the RFC's code does, so that rounding does not accumulate.
class JitterEstimator {
 public:
  // `arrival` is the arrival time in RTP clock units (any origin, wrapping).
  void Update(uint32_t arrival, RtpTimestamp timestamp);
  void Reset() { primed_ = false; jitter_q4_ = 0; }
  uint32_t jitter() const { return jitter_q4_ >> 4; }  // RTP clock units

 private:
  bool primed_ = false;
  int32_t last_transit_ = 0;
  uint32_t jitter_q4_ = 0;
};

// What one incoming stream looks like for a report block (A.3). The counts are
// over the stream since its first packet; `Report` takes the interval since the
// previous report for the fraction lost.
struct ReceptionCounts {
  int64_t base = 0;      // unwrapped first sequence number
  int64_t highest = 0;   // unwrapped highest sequence number
  uint64_t received = 0;
};

class ReceptionReporter {
 public:
  // The block about `ssrc` for a report made now, and the start of the next
  // interval. `last_sr_middle32` and `last_sr_arrival` (NTP) come from the last
  // SR received from that source (0 if none); `ntp_now` is when this report goes.
  RtcpReportBlock Report(Ssrc ssrc, const ReceptionCounts& counts, uint32_t jitter,
                         uint32_t last_sr_middle32, uint64_t last_sr_arrival, uint64_t ntp_now);
  void Reset() { expected_prior_ = 0; received_prior_ = 0; }

 private:
  int64_t expected_prior_ = 0;
  uint64_t received_prior_ = 0;
};

}  // namespace earshot::dataplane

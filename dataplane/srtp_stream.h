#pragma once
// Per-SSRC SRTP state (RFC 3711 §3.2.3, "cryptographic context" minus the
// keys, which are per session) and the small fixed table that holds it.
//
// A stream is the packet index (ROC and highest SEQ) and replay window of one
// SSRC's SRTP, plus its SRTCP index (outbound: the last index sent; inbound:
// the SRTCP replay window). The table has kSrtpMaxStreams slots, all sized
// when the session is made (their bitmaps allocated then), so taking a slot
// for a new SSRC on the hot path allocates nothing.
//
// Who may create a stream: an inbound session only once a packet from that
// SSRC has authenticated, so a forged packet never creates or changes one.
// When all slots are taken, an inbound session reuses the least recently used
// one (every slot holds a stream that authenticated, so a forger cannot push
// real streams out). An outbound session never evicts: re-creating an
// evicted outbound stream would restart its ROC at 0 and so reuse keystream
// if its sequence had wrapped; a ninth SSRC is refused instead (we choose our
// own SSRCs, one or two a call).

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/srtp_replay.h"

namespace earshot::dataplane {

inline constexpr size_t kSrtpMaxStreams = 8;
// SRTCP replay window, in packets (RTCP is a few packets a second).
inline constexpr int kSrtcpReplayWindow = 128;
// Outbound sessions keep a window too, to refuse protecting an index twice.
inline constexpr int kSrtpOutboundReplayWindow = 128;

struct SrtpStream {
  uint32_t ssrc = 0;
  bool in_use = false;
  uint64_t last_used = 0;  // table clock at the last authentic packet (LRU)
  ReplayWindow rtp;        // highest() is the packet index, ROC * 2^16 + SEQ
  ReplayWindow rtcp;       // inbound: SRTCP indices received
  uint32_t rtcp_sent = 0;  // outbound: the last SRTCP index sent (first sent is 1)

  uint32_t roc() const { return static_cast<uint32_t>(rtp.highest() >> 16); }
};

class SrtpStreamTable {
 public:
  // Sizes every slot; setup only (allocates). False for a bad window size.
  [[nodiscard]] bool Init(int rtp_window, int rtcp_window);

  // The stream of `ssrc`, or null. Does not count as a use.
  SrtpStream* Find(uint32_t ssrc);
  const SrtpStream* Find(uint32_t ssrc) const;

  // A fresh stream for `ssrc` (which must not have one): a free slot, else
  // with `evict` the least recently used one, else null.
  SrtpStream* Claim(uint32_t ssrc, bool evict);

  void Touch(SrtpStream& stream) { stream.last_used = ++clock_; }

  // Re-keying: every stream keeps its indices, forgets its replay bits.
  void ClearReplayBits();

 private:
  std::array<SrtpStream, kSrtpMaxStreams> streams_;
  uint64_t clock_ = 0;
};

}  // namespace earshot::dataplane

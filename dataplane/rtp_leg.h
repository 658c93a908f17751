#pragma once
// One leg's RTP transport on its worker: what to accept from the network, and
// the headers of what Earshot sends.
//
// Receive side. A datagram is accepted only if it is RTP (RFC 7983 / 5761 demux),
// well formed (RFC 3550 A.1), carries the negotiated payload type (or the
// telephone-event type, counted and not mixed), and comes from the expected
// source. The source is the remote address from the control request; with
// latching on (symmetric RTP, for far ends behind NAT) the first source that
// sends valid RTP becomes the remote address and from then on any other source
// is dropped and counted (the RTP Bleed defence). Only a control-plane update
// (Update) moves the remote address again. A dropped datagram changes nothing
// but a counter.
//
// Send side. Each leg has its own SSRC, sequence and timestamp (random starts,
// chosen on the control path). Every tick advances the timestamp by exactly one
// tick of samples at the RTP clock, whether or not a packet went out, so the far
// end sees time pass; the sequence advances once per packet sent. The marker bit
// is set on the first packet and on the first packet after a pause (a tick with
// nothing sent), as RFC 3551 asks at the start of a talkspurt. Mix changes never
// touch any of this: they happen above, in the mixer.
//
// RFC 4733 telephone-events go out in the same stream: WriteEventPacket uses
// the leg's SSRC and next sequence number with the event's own timestamp (fixed
// for the whole event), and a tick spent on an event packet instead of audio
// moves the timestamp on with AdvanceTick, so sequence and timestamp stay
// continuous across events.
//
// RTCP (RFC 3550 §6). Incoming SR/RR are parsed and kept: the last SR's NTP
// time (for the LSR/DLSR of our report blocks) and what the far end says about
// our stream in the report block about our SSRC (round-trip time by §6.4.1,
// fraction and cumulative loss, jitter). WriteRtcp builds our compound: an SR
// if the leg sent RTP since its last report, else an RR, with one report block
// about the stream it receives (A.3 loss, A.8 jitter), an SDES CNAME and, when
// the leg goes, a BYE. On an SRTP leg RTCP is SRTCP both ways.
//
// SRTP (RFC 3711). On an SRTP leg every datagram is authenticated and
// decrypted in place before anything of it is believed: a packet that fails
// (forged, replayed, plain RTP: no downgrade) is dropped and counted before it
// can latch, reach the jitter buffer or move a statistic, and libsrtp moves its
// replay window only for packets that authenticate. Until the far end's key is
// known (an offer still waiting for its answer) everything is dropped. What
// leaves is protected after the header is written; a re-key swaps the session
// between two packets, so the stream goes on without a gap.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "codecs/rtp_types.h"
#include "dataplane/packet_io.h"
#include "dataplane/rtcp_report.h"
#include "dataplane/srtp_session.h"
#include "dataplane/telephone_event.h"
#include "mixer/jitter_buffer.h"

namespace earshot::dataplane {

struct RtpLegConfig {
  SocketAddress remote;  // from the SDP; unset until latched if not known
  bool latch = true;
  PayloadType payload_type = PayloadType(0);
  std::optional<PayloadType> telephone_event_type;  // RFC 4733, when negotiated
  int tick_samples = 160;  // one tick at the RTP clock rate
  int clock_rate_hz = 8000;  // the RTP clock (also telephone-event's, RFC 4733 §2.1)
  Ssrc ssrc = Ssrc(0);
  SequenceNumber first_sequence = SequenceNumber(0);
  RtpTimestamp first_timestamp = RtpTimestamp(0);
  bool srtp = false;  // only SRTP is accepted and sent
};

// Why a received datagram was dropped.
enum class RxDrop : uint8_t {
  kNotRtp,              // STUN, DTLS, anything that is not RTP or RTCP
  kMalformed,           // fails RFC 3550 A.1
  kWrongSource,         // not from the (latched) remote address
  kUnknownPayloadType,  // not the negotiated payload type
  kSrtpAuthentication,  // SRTP: failed authentication (forged, corrupt, plain RTP)
  kSrtpReplay,          // SRTP: seen before, or older than the replay window
  kSrtpNoKey,           // SRTP: the far end's key is not known yet
  kCount,
};
std::string_view RxDropName(RxDrop drop);

enum class RxKind : uint8_t { kMedia, kTelephoneEvent, kRtcp };

struct RtpLegCounters {
  uint64_t rx_packets = 0;  // accepted media packets
  uint64_t rx_bytes = 0;
  uint64_t rx_telephone_events = 0;
  uint64_t tx_telephone_events = 0;  // event packets sent (also in tx_packets)
  uint64_t rx_rtcp = 0;
  uint64_t tx_packets = 0;
  uint64_t tx_bytes = 0;
  uint64_t latches = 0;
  uint64_t ssrc_changes = 0;
  uint64_t tx_srtp_errors = 0;  // packets not sent because protecting them failed
  uint64_t srtp_rekeys = 0;
  uint64_t tx_rtcp = 0;          // RTCP compounds written
  uint64_t rx_rtcp_reports = 0;  // incoming RTCP compounds that parsed (SR/RR kept)
  uint64_t rx_rtcp_malformed = 0;
  // RFC 3550 A.3: packets expected from the sequence numbers seen, minus those
  // received (duplicates make it smaller, as the RFC says), over every stream.
  int64_t lost = 0;
  std::array<uint64_t, static_cast<size_t>(RxDrop::kCount)> dropped{};
  uint64_t dropped_total() const;
};

// What the far end reports about the stream Earshot sends it.
struct RtcpRemoteView {
  bool has_report = false;      // a report block about our SSRC has arrived
  std::optional<double> rtt_ms;  // §6.4.1; unset until it echoes an SR of ours
  double fraction_lost = 0.0;   // 0..1
  int64_t cumulative_lost = 0;
  double jitter_ms = 0.0;
};

class RtpLeg {
 public:
  explicit RtpLeg(const RtpLegConfig& config);

  // Classifies a datagram from `source`. For accepted media and telephone
  // events, `packet` gets the header fields and payload (the payload points
  // into `datagram`, which an SRTP leg decrypts in place). Returns what it is, or why it was dropped
  // (counted either way).
  struct RxResult {
    std::optional<RxDrop> drop;
    RxKind kind = RxKind::kMedia;
  };
  // `arrival_ns` (any monotonic origin) feeds the jitter estimator; `ntp_now`
  // (wall clock, NTP format) times incoming SRs and RTT. 0 leaves them alone.
  RxResult Receive(std::span<uint8_t> datagram, const SocketAddress& source,
                   mixer::PacketIn& packet, int64_t arrival_ns = 0, uint64_t ntp_now = 0);

  // A datagram on the leg's separate RTCP port (no rtcp-mux): from the RTCP
  // peer (the RTP source's port + 1 after latching, per RFC 3550 §11) and RTCP.
  RxResult ReceiveRtcp(std::span<uint8_t> datagram, const SocketAddress& source,
                       uint64_t ntp_now = 0);

  // Writes our RTCP compound for now (`ntp_now`) into `out`: SR or RR, SDES
  // CNAME, and BYE with `bye`. Returns its size, or 0 if it does not fit or
  // SRTCP failed. `out` needs kSrtpMaxTrailer bytes to spare on an SRTP leg.
  size_t WriteRtcp(uint64_t ntp_now, std::string_view cname, bool bye, std::span<uint8_t> out);
  const RtcpRemoteView& remote_report() const { return far_report_; }
  // A.8 interarrival jitter of the received stream, RTP clock units.
  uint32_t jitter() const { return jitter_.jitter(); }

  // Writes the next packet, one tick of `payload`, into `out`; returns its size,
  // or 0 if `out` is too small (or SRTP could not protect it). Advances
  // sequence and timestamp. `out` needs kSrtpMaxTrailer bytes to spare on an
  // SRTP leg.
  size_t WritePacket(std::span<const uint8_t> payload, std::span<uint8_t> out);

  // Writes one RFC 4733 packet of the leg's telephone-event payload type into
  // `out`: next sequence number, SSRC, `timestamp` (the event's start). Returns
  // its size, or 0 if the leg has no telephone-event type, `out` is too small or
  // SRTP failed. Advances the sequence only; the caller ends the tick with
  // AdvanceTick (or WritePacket, if audio goes out too).
  size_t WriteEventPacket(const TelephoneEvent& event, RtpTimestamp timestamp, bool marker,
                          std::span<uint8_t> out);
  // A tick whose time went out as event packets: the timestamp moves on by one
  // tick and no marker follows (the stream did not pause).
  void AdvanceTick();

  // SRTP sessions of a new leg (the inbound one may come later, by re-key).
  void SetSrtp(std::optional<SrtpSession> inbound, std::optional<SrtpSession> outbound);
  // A re-key from a command (re-INVITE): each given key replaces the one in
  // use, keeping the packet indexes; a direction without a session gets one.
  // Allocates: command path only.
  [[nodiscard]] Result<void> RekeySrtp(const SrtpKey* inbound, const SrtpKey* outbound,
                                       int replay_window);
  // A tick with nothing to send: time passes (timestamp), the sequence does not,
  // and the next packet carries the marker.
  void SkipTick();

  // Control-plane update (re-INVITE, or a new latch): a new remote address and
  // latching mode. Latching starts over.
  void Update(const SocketAddress& remote, bool latch);

  // Where packets go: the latched source, else the configured remote address.
  const SocketAddress& destination() const { return remote_; }
  bool latched() const { return latched_; }
  Ssrc ssrc() const { return config_.ssrc; }
  const std::optional<PayloadType>& telephone_event_type() const { return config_.telephone_event_type; }
  int clock_rate_hz() const { return config_.clock_rate_hz; }
  SequenceNumber next_sequence() const { return next_sequence_; }
  RtpTimestamp next_timestamp() const { return next_timestamp_; }
  const RtpLegCounters& counters() const { return counters_; }

 private:
  RxResult Drop(RxDrop reason);
  // Decrypts an SRTP datagram in place; the plain length, or why to drop it.
  tl::expected<size_t, RxDrop> Unprotect(std::span<uint8_t> datagram, bool rtcp);
  void CountReceived(Ssrc ssrc, SequenceNumber sequence);
  void ReadRtcp(std::span<const uint8_t> compound, uint64_t ntp_now);
  // SRTP-protects the `size`-byte packet in `out` on an SRTP leg; the size to
  // send, or 0 (counted) if that failed.
  size_t Protect(size_t size, std::span<uint8_t> out);

  RtpLegConfig config_;
  SocketAddress remote_;
  bool latched_ = false;
  bool marker_next_ = true;
  SequenceNumber next_sequence_;
  RtpTimestamp next_timestamp_;
  RtpLegCounters counters_;
  // The stream being received, for the loss count.
  std::optional<Ssrc> rx_ssrc_;
  SequenceUnwrapper rx_unwrapper_;
  int64_t rx_base_ = 0;
  int64_t rx_highest_ = 0;
  uint64_t rx_in_stream_ = 0;
  int64_t lost_in_earlier_streams_ = 0;
  std::optional<SrtpSession> srtp_in_;
  std::optional<SrtpSession> srtp_out_;
  // RTCP.
  JitterEstimator jitter_;
  ReceptionReporter reporter_;
  uint64_t tx_payload_octets_ = 0;
  uint64_t tx_packets_at_last_report_ = 0;
  uint32_t last_sr_middle32_ = 0;  // LSR: from the far end's last SR
  uint64_t last_sr_arrival_ = 0;   // when it came (NTP)
  RtcpRemoteView far_report_;
};

}  // namespace earshot::dataplane

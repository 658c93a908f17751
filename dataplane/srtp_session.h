#pragma once
// One direction of SRTP and SRTCP (RFC 3711) for one leg: an owner of
// libsrtp's srtp_t (STYLE.md §6), created on the control path and then moved to
// the core that owns the call.
//
// Directions, from the mixer's side as everywhere in dataplane/: an Inbound
// session unprotects what the far end sends us (rx); an Outbound session
// protects what we send (tx). A leg with SRTP holds one of each, keyed by the
// two a=crypto lines of the offer/answer (each side sends with its own key).
// One session does both RTP and RTCP for its direction.
//
// Streams and SSRCs. Both directions use libsrtp's wildcard policies
// (ssrc_any_inbound / ssrc_any_outbound), so the session follows whatever SSRCs
// flow; telephony peers change SSRC on re-INVITE and after transfers. libsrtp
// keeps one "stream" (ROC, replay window, SRTCP index) per SSRC, cloned from
// the session's template the first time it sees that SSRC. The clone is a
// heap allocation, once per SSRC:
// - Inbound, it happens only after the packet has authenticated. In libsrtp
//   2.5's srtp_unprotect_mki (and srtp_unprotect_aead for GCM), a packet from
//   an unknown SSRC is checked with the template's keys and an index estimated
//   from its sequence number alone (ROC 0); only when the tag verifies does
//   srtp_stream_clone run and the stream go into the session's list. So a
//   flood of forged packets with random SSRCs allocates nothing and leaves no
//   state behind; SrtpSessionTest.ForgedPacketFromNewSsrcCreatesNoStream checks
//   this through RolloverCounter.
// - Outbound, srtp_protect clones on the first packet of a new SSRC. We pick
//   our own SSRCs, one or two per call, so this is bounded.
//
// Hot path (STYLE.md §3, §5). Protect/Unprotect work in place on the caller's
// buffer, take no lock of ours, allocate nothing of ours and throw nothing.
// Errors come back as a small SrtpError for the caller to count. A failed
// unprotect changes nothing in the session: libsrtp checks the replay window
// first (read-only), then the tag, and writes the window only after the tag
// has verified, so a forged, replayed or truncated packet can simply be
// counted and dropped (SrtpSuiteSessionTest.ForgedPacketLeavesStateUnchanged
// checks this for every suite). After a failed unprotect the packet's bytes
// are unspecified.
//
// Known cost we do not control: Debian's libsrtp2 2.5 is built on NSS, and
// its NSS cipher code creates fresh NSS contexts for every packet
// (PK11_CreateContextBySymKey, called from inside srtp_protect/unprotect).
// Measured with a counting malloc: 14 heap allocations per AES-CM/HMAC-SHA1
// packet and 5 per AES-GCM packet, in each direction, all inside NSS (which
// may also take its own locks there). It is also why the AES-CM suites cost
// about 2.2 us a packet here against 0.7 us for GCM (bench/srtp_bench.cc).
// The remedy is a libsrtp built on OpenSSL or its own crypto (not measured
// here), not a change to this wrapper.
//
// Buffers. ProtectRtp/ProtectRtcp append up to kSrtpMaxTrailer bytes (tag,
// SRTCP index) after `length`, and libsrtp's contract is that it may write that
// many, so the buffer must have that much room past the packet (packet pools
// size their buffers with this tail room, like RTP_BUFFER_HEAD_ROOM in
// rtpengine). libsrtp also wants the packet 32-bit aligned.
//
// Re-keying (re-INVITE with a new a=crypto). Rekey() swaps the master key (and
// suite, if the re-INVITE changed it) of every stream in place and keeps each
// stream's packet index: libsrtp's srtp_update preserves the extended sequence
// number (ROC and highest sequence) and the SRTCP index of every stream. So:
// - Outbound: the packet after Rekey uses the new key and simply continues the
//   sequence and ROC; a receiver that has the new key and knows the ROC
//   accepts it, across a wrap too
//   (SrtpSuiteSessionTest.OutboundRekeyContinuesAcrossAWrap).
// - Inbound: call Rekey on the existing inbound session when the answer's new
//   key takes effect. Packets still in flight under the old key then fail
//   authentication and are counted as kAuthenticationFailed; there is no
//   two-key overlap (that is what MKI is for, which we do not support). The
//   replay bitmap restarts empty, which is safe: packets under the old key
//   can no longer authenticate. Do NOT replace the inbound session with a new
//   Inbound(new_key): a new session knows no ROC and assumes 0 for every SSRC
//   (RFC 3711 §3.3.1), so once the far end's sequence has wrapped (about 22
//   minutes into a 50 pps call) every packet would fail authentication
//   (SrtpSessionTest.FreshInboundSessionAssumesRocZero shows it). A new
//   Inbound session is right only when the far end also starts afresh (new
//   SSRC, or a new m= line).
// Rekey allocates (a new template and one stream per SSRC seen), so it is a
// control operation: run it on the owning core between bursts, applied from the
// op queue like a mix change, never from inside packet processing.
//
// Threads. A session belongs to one core (STYLE.md §1) and has no lock. libsrtp
// itself is initialised once per process (InitSrtpLibrary, std::call_once).
//
// libsrtp's event handler (key soft/hard limit at 2^47/2^48 packets, SSRC
// collisions) is left at its default. Neither event can happen here: sessions
// are one-direction, and no call lives for 2^47 packets.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include <tl/expected.hpp>

#include "codecs/result.h"
#include "codecs/rtp_types.h"
#include "dataplane/srtp_key.h"

// libsrtp's session type, so that this header does not pull <srtp2/srtp.h>
// (and its C macros) into every file that holds a session.
struct srtp_ctx_t_;

namespace earshot::dataplane {

// The most that ProtectRtp/ProtectRtcp may write past the packet: libsrtp's
// SRTP_MAX_TRAILER_LEN (16-byte tag + 128-byte MKI allowance) plus the 4-byte
// SRTCP index. Checked against the libsrtp headers in srtp_session.cc.
inline constexpr size_t kSrtpMaxTrailer = 16 + 128 + 4;

// Why a packet could not be protected or unprotected. The caller counts it.
enum class SrtpError : uint8_t {
  kAuthenticationFailed,  // tag mismatch: forged, corrupted, wrong key, or plain RTP
  kReplayed,              // index already seen (inside the window)
  kReplayTooOld,          // index older than the replay window
  kMalformed,             // too short, or the RTP/RTCP header does not parse
  kNoRoom,                // protect: the buffer lacks kSrtpMaxTrailer bytes of tail room
  kOther,                 // anything else libsrtp reports (e.g. key usage exhausted)
};

constexpr std::string_view SrtpErrorName(SrtpError error) {
  switch (error) {
    case SrtpError::kAuthenticationFailed: return "AUTHENTICATION_FAILED";
    case SrtpError::kReplayed: return "REPLAYED";
    case SrtpError::kReplayTooOld: return "REPLAY_TOO_OLD";
    case SrtpError::kMalformed: return "MALFORMED";
    case SrtpError::kNoRoom: return "NO_ROOM";
    case SrtpError::kOther: return "OTHER";
  }
  return "UNKNOWN";
}

// Initialises libsrtp once per process; later calls return the first result.
// The factories call it, so callers need not.
[[nodiscard]] Result<void> InitSrtpLibrary();

class SrtpSession {
 public:
  // RFC 3711 §3.3.2 asks for at least 64; libsrtp's bitmap takes up to 32767.
  static constexpr int kMinReplayWindow = 64;
  static constexpr int kMaxReplayWindow = 32767;
  static constexpr int kDefaultReplayWindow = 128;

  // Unprotects packets from any SSRC under `key`. `replay_window` is in
  // packets, kMinReplayWindow..kMaxReplayWindow, else INVALID_ARGUMENT. A
  // larger window accepts more reordering; 128 covers 2.5 s at 50 pps.
  [[nodiscard]] static Result<SrtpSession> Inbound(const SrtpKey& key,
                                                   int replay_window = kDefaultReplayWindow);
  // Protects packets of any SSRC under `key`.
  [[nodiscard]] static Result<SrtpSession> Outbound(const SrtpKey& key);

  SrtpSession(SrtpSession&&) noexcept = default;
  SrtpSession& operator=(SrtpSession&&) noexcept = default;
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;
  ~SrtpSession() = default;

  // Outbound. Protects the RTP packet in buffer[0, length) in place and returns
  // the SRTP length. `buffer` must extend at least kSrtpMaxTrailer bytes past
  // `length` (else kNoRoom, nothing written).
  [[nodiscard]] tl::expected<size_t, SrtpError> ProtectRtp(std::span<uint8_t> buffer,
                                                           size_t length);
  // Same for an RTCP compound packet (SRTCP adds the E bit and index).
  [[nodiscard]] tl::expected<size_t, SrtpError> ProtectRtcp(std::span<uint8_t> buffer,
                                                            size_t length);

  // Inbound. Verifies and decrypts the SRTP packet in place; returns the
  // length of the plain RTP packet at the front of `packet`.
  [[nodiscard]] tl::expected<size_t, SrtpError> UnprotectRtp(std::span<uint8_t> packet);
  [[nodiscard]] tl::expected<size_t, SrtpError> UnprotectRtcp(std::span<uint8_t> packet);

  // New master key for every stream, keeping each stream's packet index (see
  // the header comment). INVALID_ARGUMENT for an empty key; INTERNAL if
  // libsrtp refuses, in which case the session is unusable and must be
  // replaced. Control operation: allocates.
  [[nodiscard]] Result<void> Rekey(const SrtpKey& key);

  // The rollover counter of `ssrc`'s stream, or nullopt if the session has no
  // stream for it yet (inbound: no authenticated packet from it so far).
  std::optional<uint32_t> RolloverCounter(Ssrc ssrc) const;

  SrtpSuite suite() const { return suite_; }
  bool inbound() const { return inbound_; }

 private:
  struct Deleter {
    void operator()(srtp_ctx_t_* ctx) const;
  };

  SrtpSession(srtp_ctx_t_* ctx, SrtpSuite suite, bool inbound, int replay_window)
      : ctx_(ctx), suite_(suite), inbound_(inbound), replay_window_(replay_window) {}
  static Result<SrtpSession> Create(const SrtpKey& key, bool inbound, int replay_window);

  std::unique_ptr<srtp_ctx_t_, Deleter> ctx_;
  SrtpSuite suite_;
  bool inbound_;
  int replay_window_;  // inbound only; kept for Rekey
};

}  // namespace earshot::dataplane

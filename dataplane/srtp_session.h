#pragma once
// One direction of SRTP and SRTCP (RFC 3711, RFC 7714) for one leg, created on
// the control path and then moved to the core that owns the call (STYLE.md §1,
// §6). Our own transform over OpenSSL 3's libcrypto; libsrtp2 is kept only as
// the reference the tests and the bench compare against.
//
// Directions, from the mixer's side as everywhere in dataplane/: an Inbound
// session unprotects what the far end sends us (rx); an Outbound session
// protects what we send (tx). A leg with SRTP holds one of each, keyed by the
// two a=crypto lines of the offer/answer (each side sends with its own key).
// One session does both RTP and RTCP for its direction.
//
// Pieces (each file says more):
//   srtp_kdf       session keys from the master key (AES-CM PRF, kdr 0)
//   srtp_crypto    AES-CTR, AES-GCM and HMAC-SHA1 contexts, keyed once
//   srtp_transform what a suite does to a packet's bytes, given SSRC and index
//   srtp_replay    ROC estimation and the replay bitmap
//   srtp_stream    per-SSRC state in a fixed table
//
// Streams and SSRCs. The session follows whatever SSRCs flow (telephony peers
// change SSRC on re-INVITE and after transfers), keeping one stream (ROC,
// replay window, SRTCP index) per SSRC in a table of kSrtpMaxStreams slots
// sized at creation. Inbound, a packet from an unknown SSRC is checked with
// the session's keys and an index estimated from its sequence number alone
// (ROC 0); only when its tag verifies does it take a slot, reusing the least
// recently used one when all are taken. So a flood of forged packets with
// random SSRCs leaves no state behind
// (SrtpSessionTest.ForgedPacketFromNewSsrcCreatesNoStream). Outbound, the
// first packet of a new SSRC takes a free slot; a session never evicts an
// outbound stream (that would restart its ROC and reuse keystream), so a
// ninth outbound SSRC is refused with kOther (srtp_stream.h).
//
// Hot path (STYLE.md §3, §5). Protect/Unprotect work in place on the caller's
// buffer, allocate nothing, take no lock and throw nothing: the OpenSSL
// contexts are made once per key and only re-IVed per packet
// (SrtpNoAllocationTest counts OpenSSL's and operator new's allocations over
// thousands of packets per suite and finds none). Errors come back as a small
// SrtpError for the caller to count. A failed unprotect changes nothing in the
// session: the replay window is checked first (read-only), then the tag, and
// the window and stream table are written only after the tag has verified, so
// a forged, replayed or truncated packet can simply be counted and dropped
// (SrtpSuiteSessionTest.ForgedPacketLeavesStateUnchanged checks this for every
// suite). After a failed unprotect the packet's bytes are unspecified.
//
// Buffers. ProtectRtp/ProtectRtcp need kSrtpMaxTrailer bytes of room after
// `length` (packet pools size their buffers with this tail room, like
// RTP_BUFFER_HEAD_ROOM in rtpengine). No alignment is needed.
//
// Re-keying (re-INVITE with a new a=crypto). Rekey() swaps the master key (and
// suite, if the re-INVITE changed it) in place and keeps each stream's packet
// index (ROC and highest sequence) and SRTCP index. So:
// - Outbound: the packet after Rekey uses the new key and simply continues the
//   sequence and ROC; a receiver that has the new key and knows the ROC
//   accepts it, across a wrap too
//   (SrtpSuiteSessionTest.OutboundRekeyContinuesAcrossAWrap).
// - Inbound: call Rekey on the existing inbound session when the answer's new
//   key takes effect. Packets still in flight under the old key then fail
//   authentication and are counted as kAuthenticationFailed; there is no
//   two-key overlap (that is what MKI is for, which we do not support). The
//   replay bitmaps restart empty, which is safe: packets under the old key
//   can no longer authenticate. Do NOT replace the inbound session with a new
//   Inbound(new_key): a new session knows no ROC and assumes 0 for every SSRC
//   (RFC 3711 §3.3.1), so once the far end's sequence has wrapped (about 22
//   minutes into a 50 pps call) every packet would fail authentication
//   (SrtpSessionTest.FreshInboundSessionAssumesRocZero shows it). A new
//   Inbound session is right only when the far end also starts afresh (new
//   SSRC, or a new m= line).
// Rekey allocates (new OpenSSL contexts), so it is a control operation: run it
// on the owning core between bursts, applied from the op queue like a mix
// change, never from inside packet processing.
//
// Threads. A session belongs to one core (STYLE.md §1) and has no lock.
//
// Key lifetime (2^48 SRTP / 2^31 SRTCP packets per key): an SRTCP stream
// that would pass index 2^31 - 1 is refused with kOther; SRTP's 2^48 is not
// reachable in a call's life. Session keys are wiped (OPENSSL_cleanse) when
// the session is destroyed or re-keyed.

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

namespace earshot::dataplane {

// The tail room ProtectRtp/ProtectRtcp require past the packet. We write at
// most 20 bytes (a 16-byte GCM tag and the 4-byte SRTCP index); the figure is
// kept at libsrtp's SRTP_MAX_TRAILER_LEN (16-byte tag + 128-byte MKI
// allowance) plus 4, which every packet buffer in Earshot is already sized
// for, so swapping the implementation changed no buffer.
inline constexpr size_t kSrtpMaxTrailer = 16 + 128 + 4;

// Why a packet could not be protected or unprotected. The caller counts it.
enum class SrtpError : uint8_t {
  kAuthenticationFailed,  // tag mismatch: forged, corrupted, wrong key, or plain RTP
  kReplayed,              // index already seen (inside the window)
  kReplayTooOld,          // index older than the replay window
  kMalformed,             // too short, or the RTP/RTCP header does not parse
  kNoRoom,                // protect: the buffer lacks kSrtpMaxTrailer bytes of tail room
  kOther,                 // anything else (wrong direction, stream table full, SRTCP index exhausted)
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

// Loads the OpenSSL ciphers SRTP uses, once per process; later calls return
// the first result. The factories call it, so callers need not.
[[nodiscard]] Result<void> InitSrtpLibrary();

class SrtpSession {
 public:
  // RFC 3711 §3.3.2 asks for at least 64; the bitmap takes up to 32767.
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
  // OpenSSL fails to key the new contexts, in which case the session keeps
  // its old key. Control operation: allocates.
  [[nodiscard]] Result<void> Rekey(const SrtpKey& key);

  // The rollover counter of `ssrc`'s stream, or nullopt if the session has no
  // stream for it yet (inbound: no authenticated packet from it so far).
  std::optional<uint32_t> RolloverCounter(Ssrc ssrc) const;

  SrtpSuite suite() const { return suite_; }
  bool inbound() const { return inbound_; }

 private:
  struct State;  // keys, contexts and streams (srtp_session.cc)
  struct StateDeleter {
    void operator()(State* state) const;
  };

  SrtpSession(std::unique_ptr<State, StateDeleter> state, SrtpSuite suite, bool inbound);
  static Result<SrtpSession> Create(const SrtpKey& key, bool inbound, int replay_window);

  std::unique_ptr<State, StateDeleter> state_;
  SrtpSuite suite_;
  bool inbound_;
};

}  // namespace earshot::dataplane

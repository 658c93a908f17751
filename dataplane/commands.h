#pragma once
// Messages between the control plane and a worker (STYLE.md §2): small value
// structs, one SPSC queue each way. Heavy things (a session's mixer, a leg's
// codecs and buffers, a matrix, a stats snapshot) are built on the control path
// and travel inside the message by unique_ptr; when the worker is done with them
// they travel back in the reply, so they are freed where they were made.
//
// A session is named by a SessionHandle: its index in the worker's fixed session
// table. The control plane chooses it (it keeps the registry of which are in
// use), so no command needs a round trip to learn a name.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "codecs/result.h"
#include "dataplane/dtmf_relay.h"
#include "dataplane/packet_io.h"
#include "dataplane/rtp_leg.h"
#include "mixer/media_session.h"

namespace earshot::dataplane {

using SessionHandle = uint32_t;

// What Earshot does with a leg's media (SDP direction, seen from Earshot).
enum class Direction : uint8_t {
  kSendReceive,  // mix what arrives, send the leg's mix
  kSendOnly,     // send, but what arrives is dropped (the far end is on hold... of us)
  kReceiveOnly,  // mix what arrives, send nothing (time still passes)
  kInactive,     // neither
};

// Per DTMF event code (0-15): the mode a supervisor's digit switches to. Such
// digits are consumed, not relayed.
using DtmfModeSwitch = std::array<std::optional<mixer::SupervisorMode>, 16>;

// One leg of a session as its worker holds it.
struct LegBinding {
  bool in_use = false;
  PortHandle port = kNoPort;
  PortHandle rtcp_port = kNoPort;  // port + 1, without rtcp-mux
  uint16_t local_port = 0;
  Direction direction = Direction::kSendReceive;
  std::optional<RtpLeg> rtp;
  int64_t last_media_ns = 0;  // CLOCK_MONOTONIC of the last accepted media packet
  bool media_timed_out = false;
  DtmfReceiver dtmf_in;   // telephone-events from this leg
  DtmfSender dtmf_out;    // telephone-events relayed into this leg's stream
  DtmfModeSwitch dtmf_mode_switch{};  // a supervisor's digits that change its mode
  int64_t next_rtcp_ns = 0;  // CLOCK_MONOTONIC when the leg's next RTCP report is due
};

// A session as its worker holds it: the mixer plus the legs' transport and the
// per-tick outputs, all sized when the control path makes it.
struct WorkerSession {
  explicit WorkerSession(std::unique_ptr<mixer::MediaSession> session)
      : media(std::move(session)),
        legs(static_cast<size_t>(media->capacity())),
        outputs(static_cast<size_t>(media->capacity())) {}
  std::unique_ptr<mixer::MediaSession> media;
  std::vector<LegBinding> legs;
  std::vector<mixer::LegOutput> outputs;
};

struct CreateSession {
  SessionHandle session;
  std::unique_ptr<WorkerSession> state;
};

struct DeleteSession {
  SessionHandle session;
};

struct AddLeg {
  SessionHandle session;
  int slot;
  mixer::Role role;
  mixer::SupervisorMode mode;
  bool beep;
  std::unique_ptr<mixer::LegMedia> media;
  RtpLegConfig rtp;
  Direction direction = Direction::kSendReceive;
  // RFC 5761 rtcp-mux (the default): RTCP shares the RTP port. Without it the
  // leg gets an even RTP port and RTCP on the odd port above (RFC 3550 §11).
  bool rtcp_mux = true;
  // With rtp.srtp: the far end's key (unset until the answer brings it) and ours.
  std::optional<SrtpSession> srtp_in = std::nullopt;
  std::optional<SrtpSession> srtp_out = std::nullopt;
  DtmfModeSwitch dtmf_mode_switch{};
  // An answer or a pickup (control/pickup_control.h): the session's ringback
  // stops as this leg joins, in this one command, so that the next tick mixes
  // the answerer in and no more ringback.
  bool stop_ringback = false;
};

struct UpdateLeg {
  SessionHandle session;
  int slot;
  SocketAddress remote;
  bool latch;
  Direction direction;
  // A re-key (an SRTP leg only): each set key replaces the one in use, keeping
  // the streams' packet indexes (SrtpSession::Rekey).
  std::optional<SrtpKey> srtp_in_key = std::nullopt;
  std::optional<SrtpKey> srtp_out_key = std::nullopt;
  int srtp_replay_window = SrtpSession::kDefaultReplayWindow;
};

struct RemoveLeg {
  SessionHandle session;
  int slot;
};

struct SetMode {
  SessionHandle session;
  int slot;
  mixer::SupervisorMode mode;
  bool beep;
};

struct SetMatrix {
  SessionHandle session;
  std::unique_ptr<mixer::GainMatrix> matrix;
};

struct LegStats {
  bool in_use = false;
  SocketAddress local;
  SocketAddress remote;
  bool latched = false;
  Direction direction = Direction::kSendReceive;
  RtpLegCounters rtp;
  mixer::JitterBufferCounters jitter;
  mixer::LegMediaCounters media;
  double jitter_ms = 0.0;
  int buffered_ms = 0;
  RtcpRemoteView remote_report;  // what the far end's RTCP says about our stream
};

struct SessionStats {
  mixer::SessionCounters mixer;
  std::vector<LegStats> legs;  // sized to the session's capacity by the caller
};

// Carries a stats object made on the control path for the worker to fill.
struct GetStats {
  SessionHandle session;
  std::unique_ptr<SessionStats> stats;
};

using Command =
    std::variant<CreateSession, DeleteSession, AddLeg, UpdateLeg, RemoveLeg, SetMode, SetMatrix, GetStats>;

// What a command gives back: the leg's local address (AddLeg), objects to free
// on the control path (DeleteSession, RemoveLeg, SetMatrix, a failed Add), or a
// filled snapshot (GetStats).
struct ReplyValue {
  SocketAddress local;
  std::unique_ptr<WorkerSession> session;
  std::unique_ptr<mixer::LegMedia> leg;
  std::unique_ptr<mixer::GainMatrix> matrix;
  std::unique_ptr<SessionStats> stats;
};

struct Reply {
  uint64_t sequence;
  std::optional<Error> error;  // not Result<void>: tl::expected's move may throw
  ReplyValue value;
};

// What a worker tells the control plane unasked, through its event queue.
struct WorkerEvent {
  enum class Kind : uint8_t {
    kMediaTimeout,
    kMediaResumed,
    kDtmf,         // a digit from `slot` ended: `digit`, `duration_ms`
    kModeChanged,  // a supervisor's mode-switch digit set `mode` (SetMode applied)
  };
  Kind kind;
  SessionHandle session;
  int slot;
  char digit = 0;  // kDtmf, kModeChanged: the key ('0'-'9', '*', '#', 'A'-'D'; '?' if not a key)
  uint8_t event = 0;  // kDtmf: the RFC 4733 event code
  uint32_t duration_ms = 0;  // kDtmf
  mixer::SupervisorMode mode = mixer::SupervisorMode::kListen;  // kModeChanged
};

struct Envelope {
  uint64_t sequence;
  Command command;
};

}  // namespace earshot::dataplane

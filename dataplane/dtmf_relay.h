#pragma once
// RFC 4733 DTMF relay: what arrives from one leg as telephone-event packets is
// folded into events (DtmfReceiver, one per source leg) and re-sent into each
// destination leg's own stream (DtmfSender, one per destination leg). The
// worker connects them: destinations are the legs that hear the source under
// the session's matrix when the event starts, and that negotiated a
// telephone-event payload type.
//
// Receive side. An event is named by its RTP timestamp (RFC 4733 §2.5.1.1): a
// packet with a newer timestamp starts a new event, one with the same timestamp
// updates the running event (its duration only grows), and once an event has
// ended (E bit) any further packet with its timestamp is a retransmitted end
// packet and changes nothing. An older timestamp is a late packet and is
// ignored. If a new event starts before the previous one ended (its end packets
// were lost), the previous one ends first at its last duration; an event that
// hears nothing for a timeout ends the same way.
//
// Send side. A forwarded event gets the destination's SSRC and sequence numbers
// (the caller writes it through RtpLeg), and as its timestamp the destination's
// timestamp at the tick the event started there; that timestamp stays fixed
// while the duration grows (§2.5.1.2). One packet goes out per tick while the
// event runs, the first with the marker bit; the end packet is sent
// kEndRepeats times, on consecutive ticks, with the same timestamp and duration
// and new sequence numbers (§2.5.1.4). Durations are the source's, converted to
// the destination's clock (the telephone-event clock is taken to be the leg's
// audio RTP clock, as it is when SDP says telephone-event/8000 for PCMU or
// telephone-event/48000 for Opus), capped at 0xFFFF: events longer than the
// field (8 s at 8 kHz, 1.36 s at 48 kHz) are not split into segments (§2.5.1.3).
//
// Nothing here allocates, reads a clock or does I/O.

#include <cstdint>
#include <optional>

#include "codecs/rtp_types.h"
#include "dataplane/telephone_event.h"

namespace earshot::dataplane {

// What one received packet (or a timeout) means for the relay.
struct DtmfInput {
  bool start = false;             // a new event begins (with this packet)
  bool duration_changed = false;  // a running event got longer
  bool end = false;               // the event ends (may come with start: an end-only event)
  uint8_t event = 0;
  uint8_t volume = 0;
  uint16_t duration = 0;  // the event's duration so far, source clock units
  bool any() const { return start || end || duration_changed; }
};

class DtmfReceiver {
 public:
  // Folds one telephone-event packet received at `now_ns`. `ended_previous`
  // gets the end of an event that this packet cut short (its end was lost).
  DtmfInput OnPacket(RtpTimestamp timestamp, const TelephoneEvent& packet, int64_t now_ns,
                     DtmfInput& ended_previous);
  // Ends a running event that has heard nothing for `timeout_ns`.
  DtmfInput CheckTimeout(int64_t now_ns, int64_t timeout_ns);

  bool running() const { return running_; }
  // Set by the caller when the running event is taken for something other than
  // forwarding (a supervisor's mode-switch digit); cleared when an event starts.
  bool consumed = false;

 private:
  DtmfInput EndRunning();

  bool seen_ = false;     // an event has been seen: timestamp_ is meaningful
  bool running_ = false;  // started and not ended
  RtpTimestamp timestamp_ = RtpTimestamp(0);
  uint8_t event_ = 0;
  uint8_t volume_ = 0;
  uint16_t duration_ = 0;
  int64_t last_ns_ = 0;
};

// One event packet for a destination this tick.
struct DtmfPacket {
  TelephoneEvent event;
  RtpTimestamp timestamp;  // the destination's timestamp at the event's start
  bool marker;             // the first packet of the event
};

class DtmfSender {
 public:
  static constexpr int kEndRepeats = 3;

  // Busy while an event runs or its end is being repeated.
  bool busy() const { return state_ != State::kIdle; }
  int source() const { return source_; }

  // A new event from `source_slot`. Refused (false) while another event is
  // still running here. While an earlier event's end is being repeated, one
  // new event waits (its updates and end are kept) and starts after the last
  // repeat, so fast dialling loses neither digits nor end packets.
  bool Start(int source_slot, uint8_t event, uint8_t volume, uint16_t duration);
  void Update(int source_slot, uint16_t duration);
  void End(int source_slot, uint16_t duration);
  // Drops whatever is in progress (the leg or the source went away).
  void Reset() {
    state_ = State::kIdle;
    waiting_ = false;
  }

  // The packet to send this tick, if any; `now` is the destination stream's
  // timestamp for this tick (it becomes the event's timestamp on the first).
  std::optional<DtmfPacket> NextTick(RtpTimestamp now);

 private:
  enum class State : uint8_t { kIdle, kRunning, kEnding };
  State state_ = State::kIdle;
  int source_ = -1;
  bool sent_first_ = false;
  int end_left_ = 0;
  RtpTimestamp timestamp_ = RtpTimestamp(0);
  TelephoneEvent event_;
  // The event waiting for the end repeats of the one before.
  bool waiting_ = false;
  int waiting_source_ = -1;
  TelephoneEvent waiting_event_;
};

// Converts a duration from one RTP clock to another, capped at 0xFFFF.
uint16_t ConvertDuration(uint32_t duration, int from_clock_hz, int to_clock_hz);

}  // namespace earshot::dataplane

#pragma once
// RFC 4733 DTMF relay: what arrives from one leg as telephone-event packets is
// folded into events (DtmfReceiver, one per source leg) and re-sent into each
// destination leg's own stream (DtmfSender, one per destination leg). The
// worker connects them: destinations are the legs that hear the source under
// the session's matrix when the event starts, and that negotiated a
// telephone-event payload type.
//
// Durations between the two halves are totals: clock units since the event's
// first timestamp, 32 bits wide, so they are not bound by the 16-bit duration
// field of one packet (0xFFFF is 8.2 s at 8 kHz but only 1.37 s at 48 kHz).
//
// Receive side. An event is named by its RTP timestamp (RFC 4733 §2.5.1.1): a
// packet with a newer timestamp starts a new event, one with the same timestamp
// updates the running event (its duration only grows), and once an event has
// ended (E bit) any further packet with its timestamp is a retransmitted end
// packet and changes nothing. An older timestamp is a late packet and is
// ignored. If a new event starts before the previous one ended (its end packets
// were lost), the previous one ends first at its last duration; an event that
// hears nothing for a timeout ends the same way.
//   The exception is a long event sent in segments (§2.5.1.3, §2.5.2.3): a
// packet with a newer timestamp and the running event's code continues that
// event if the running segment was heard to fill its duration field (to at
// least kMinSegmentDuration: a sender splits only when the field is full) and
// the new timestamp lies where that segment could have ended (no earlier than
// its duration heard so far, no later than 0xFFFF after its timestamp). The
// event's duration then counts on from the new timestamp, added to the
// segments before it: one key press, not a new one. The marker bit, which a
// sender leaves off continuation segments, is not used: it is as easily lost as
// the packet carrying it. The costs, both needing lost packets: a new press of
// the same key, after one held at least kMinSegmentDuration whose end packets
// were all lost, is folded into that one; and a segment whose last
// 0xFFFF - kMinSegmentDuration units all went missing ends its event, so the
// next segment counts as a new press.
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
// telephone-event/48000 for Opus).
//   When the duration outgrows the field, the event is split into segments
// (§2.5.1.3): the running segment's last packet carries 0xFFFF and no E bit,
// and from the next tick a new segment goes out whose timestamp is where that
// one ended (its timestamp + 0xFFFF), with the duration counted from there and
// no marker bit. Only the final segment carries the E bit, repeated as above.
// A segment's last packet goes out once, like any update: the next segment's
// timestamp says where it ended even if it is lost. A total that runs more than
// a segment ahead of what went out (an honest source's grows with real time, far
// less than 0xFFFF a tick; a hostile one can claim a segment a packet) skips
// the segments in between, so a bogus duration cannot keep the destination in
// event packets for minutes.
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
  // The event's total duration so far (all its segments), source clock units.
  uint32_t duration = 0;
  bool any() const { return start || end || duration_changed; }
};

class DtmfReceiver {
 public:
  // How much of a segment must have been heard for a newer timestamp to
  // continue it: a sender splits when the 16-bit field is full, at 0xFFFF or
  // at the last packet boundary before it. The slack (8191 units, 1 s at
  // 8 kHz, 170 ms at 48 kHz) covers any usual ptime and a few lost packets.
  static constexpr uint32_t kMinSegmentDuration = 0xE000;

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
  DtmfInput Running() const;  // the running event as an input with no flags
  bool ContinuesRunning(RtpTimestamp timestamp, const TelephoneEvent& packet) const;
  uint32_t total() const { return earlier_segments_ + duration_; }

  bool seen_ = false;     // an event has been seen: timestamp_ is meaningful
  bool running_ = false;  // started and not ended
  RtpTimestamp timestamp_ = RtpTimestamp(0);  // the current segment's
  uint8_t event_ = 0;
  uint8_t volume_ = 0;
  uint16_t duration_ = 0;           // within the current segment
  uint32_t earlier_segments_ = 0;   // the event's duration before timestamp_
  int64_t last_ns_ = 0;
};

// One event packet for a destination this tick.
struct DtmfPacket {
  TelephoneEvent event;    // the duration within this packet's segment
  RtpTimestamp timestamp;  // the destination's timestamp at the segment's start
  bool marker;             // the first packet of the event (never of a later segment)
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
  // Durations are totals in the destination's clock (see the header comment).
  bool Start(int source_slot, uint8_t event, uint8_t volume, uint32_t duration);
  void Update(int source_slot, uint32_t duration);
  void End(int source_slot, uint32_t duration);
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
  struct Event {
    int source = -1;
    uint8_t code = 0;
    uint8_t volume = 0;
    bool end = false;
    uint32_t duration = 0;  // total, destination clock
  };
  void Begin(const Event& event);

  State state_ = State::kIdle;
  int source_ = -1;
  bool sent_first_ = false;
  int end_left_ = 0;
  RtpTimestamp timestamp_ = RtpTimestamp(0);  // the first segment's
  Event event_;
  uint32_t segment_start_ = 0;  // the current segment's offset from timestamp_
  bool segment_full_ = false;   // a packet of the current segment carried 0xFFFF
  // The event waiting for the end repeats of the one before.
  bool waiting_ = false;
  Event waiting_event_;
};

// Converts a duration from one RTP clock to another (rounding down). Not capped
// at the 16-bit field: DtmfSender splits long events into segments; saturates
// at 2^32 - 1 (a day at 48 kHz).
uint32_t ConvertDuration(uint32_t duration, int from_clock_hz, int to_clock_hz);

}  // namespace earshot::dataplane

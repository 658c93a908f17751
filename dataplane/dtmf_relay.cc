#include "dataplane/dtmf_relay.h"

#include <algorithm>

namespace earshot::dataplane {

DtmfInput DtmfReceiver::EndRunning() {
  running_ = false;
  DtmfInput ended;
  ended.end = true;
  ended.event = event_;
  ended.volume = volume_;
  ended.duration = duration_;
  return ended;
}

DtmfInput DtmfReceiver::OnPacket(RtpTimestamp timestamp, const TelephoneEvent& packet,
                                 int64_t now_ns, DtmfInput& ended_previous) {
  ended_previous = DtmfInput{};
  DtmfInput input;
  if (seen_ && timestamp == timestamp_) {
    // The running event's update, or a redundant packet of an event that has
    // ended (retransmitted end packets): the latter changes nothing.
    if (!running_ || packet.event != event_) return input;
    last_ns_ = now_ns;
    if (packet.duration > duration_) {
      duration_ = packet.duration;
      input.duration_changed = true;
    }
    input.event = event_;
    input.volume = volume_;
    input.duration = duration_;
    if (packet.end) input = EndRunning();
    return input;
  }
  if (seen_ && !timestamp.IsNewerThan(timestamp_)) return input;  // late
  if (running_) ended_previous = EndRunning();
  seen_ = true;
  running_ = !packet.end;
  consumed = false;
  timestamp_ = timestamp;
  event_ = packet.event;
  volume_ = packet.volume;
  duration_ = packet.duration;
  last_ns_ = now_ns;
  input.start = true;
  input.end = packet.end;
  input.event = event_;
  input.volume = volume_;
  input.duration = duration_;
  return input;
}

DtmfInput DtmfReceiver::CheckTimeout(int64_t now_ns, int64_t timeout_ns) {
  if (!running_ || now_ns - last_ns_ < timeout_ns) return DtmfInput{};
  return EndRunning();
}

bool DtmfSender::Start(int source_slot, uint8_t event, uint8_t volume, uint16_t duration) {
  if (state_ == State::kRunning) return false;
  if (state_ == State::kEnding) {
    if (waiting_) return false;
    waiting_ = true;
    waiting_source_ = source_slot;
    waiting_event_ = TelephoneEvent{event, false, volume, duration};
    return true;
  }
  state_ = State::kRunning;
  source_ = source_slot;
  sent_first_ = false;
  end_left_ = 0;
  event_ = TelephoneEvent{event, false, volume, duration};
  return true;
}

void DtmfSender::Update(int source_slot, uint16_t duration) {
  if (waiting_ && source_slot == waiting_source_) {
    waiting_event_.duration = std::max(waiting_event_.duration, duration);
    return;
  }
  if (state_ != State::kRunning || source_slot != source_) return;
  event_.duration = std::max(event_.duration, duration);
}

void DtmfSender::End(int source_slot, uint16_t duration) {
  if (waiting_ && source_slot == waiting_source_) {
    waiting_event_.duration = std::max(waiting_event_.duration, duration);
    waiting_event_.end = true;
    return;
  }
  if (state_ != State::kRunning || source_slot != source_) return;
  event_.duration = std::max(event_.duration, duration);
  event_.end = true;
  state_ = State::kEnding;
  end_left_ = kEndRepeats;
}

std::optional<DtmfPacket> DtmfSender::NextTick(RtpTimestamp now) {
  if (state_ == State::kIdle) return std::nullopt;
  DtmfPacket packet{event_, now, !sent_first_};
  if (!sent_first_) {
    timestamp_ = now;
    sent_first_ = true;
  }
  packet.timestamp = timestamp_;
  if (state_ == State::kEnding && --end_left_ == 0) {
    state_ = State::kIdle;
    if (waiting_) {
      waiting_ = false;
      state_ = waiting_event_.end ? State::kEnding : State::kRunning;
      source_ = waiting_source_;
      event_ = waiting_event_;
      sent_first_ = false;
      end_left_ = waiting_event_.end ? kEndRepeats : 0;
    }
  }
  return packet;
}

uint16_t ConvertDuration(uint32_t duration, int from_clock_hz, int to_clock_hz) {
  if (from_clock_hz <= 0 || to_clock_hz <= 0) return static_cast<uint16_t>(std::min<uint32_t>(duration, 0xFFFF));
  const uint64_t converted = uint64_t{duration} * static_cast<uint64_t>(to_clock_hz) /
                             static_cast<uint64_t>(from_clock_hz);
  return static_cast<uint16_t>(std::min<uint64_t>(converted, 0xFFFF));
}

}  // namespace earshot::dataplane

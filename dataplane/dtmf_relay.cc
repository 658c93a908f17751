#include "dataplane/dtmf_relay.h"

#include <algorithm>
#include <limits>

namespace earshot::dataplane {
namespace {

constexpr uint32_t kMaxField = kTelephoneEventMaxDuration;

uint32_t SaturatingAdd(uint32_t a, uint32_t b) {
  return a > std::numeric_limits<uint32_t>::max() - b ? std::numeric_limits<uint32_t>::max() : a + b;
}

}  // namespace

DtmfInput DtmfReceiver::Running() const {
  DtmfInput input;
  input.event = event_;
  input.volume = volume_;
  input.duration = total();
  return input;
}

DtmfInput DtmfReceiver::EndRunning() {
  running_ = false;
  DtmfInput ended = Running();
  ended.end = true;
  return ended;
}

bool DtmfReceiver::ContinuesRunning(RtpTimestamp timestamp, const TelephoneEvent& packet) const {
  if (!running_ || packet.event != event_) return false;
  // The caller has checked that `timestamp` is newer, so this is the forward
  // distance from the running segment's start.
  const uint32_t offset = timestamp.value() - timestamp_.value();
  return duration_ >= kMinSegmentDuration && offset >= duration_ && offset <= kMaxField;
}

DtmfInput DtmfReceiver::OnPacket(RtpTimestamp timestamp, const TelephoneEvent& packet,
                                 int64_t now_ns, DtmfInput& ended_previous) {
  ended_previous = DtmfInput{};
  if (seen_ && timestamp == timestamp_) {
    // The running event's update, or a redundant packet of an event that has
    // ended (retransmitted end packets): the latter changes nothing.
    if (!running_ || packet.event != event_) return DtmfInput{};
    last_ns_ = now_ns;
    const bool longer = packet.duration > duration_;
    if (longer) duration_ = packet.duration;
    if (packet.end) return EndRunning();
    DtmfInput input = Running();
    input.duration_changed = longer;
    return input;
  }
  if (seen_ && !timestamp.IsNewerThan(timestamp_)) return DtmfInput{};  // late
  if (ContinuesRunning(timestamp, packet)) {
    // The next segment of a long event (§2.5.2.3): the segment before it ran
    // up to this timestamp, whether or not its last packets arrived.
    const uint32_t before = total();
    earlier_segments_ = SaturatingAdd(earlier_segments_, timestamp.value() - timestamp_.value());
    timestamp_ = timestamp;
    duration_ = packet.duration;
    last_ns_ = now_ns;
    if (packet.end) return EndRunning();
    DtmfInput input = Running();
    input.duration_changed = total() > before;
    return input;
  }
  if (running_) ended_previous = EndRunning();
  seen_ = true;
  running_ = !packet.end;
  consumed = false;
  timestamp_ = timestamp;
  event_ = packet.event;
  volume_ = packet.volume;
  duration_ = packet.duration;
  earlier_segments_ = 0;
  last_ns_ = now_ns;
  DtmfInput input = Running();
  input.start = true;
  input.end = packet.end;
  return input;
}

DtmfInput DtmfReceiver::CheckTimeout(int64_t now_ns, int64_t timeout_ns) {
  if (!running_ || now_ns - last_ns_ < timeout_ns) return DtmfInput{};
  return EndRunning();
}

void DtmfSender::Begin(const Event& event) {
  state_ = event.end ? State::kEnding : State::kRunning;
  source_ = event.source;
  event_ = event;
  sent_first_ = false;
  end_left_ = event.end ? kEndRepeats : 0;
  segment_start_ = 0;
  segment_full_ = false;
}

bool DtmfSender::Start(int source_slot, uint8_t event, uint8_t volume, uint32_t duration) {
  if (state_ == State::kRunning) return false;
  const Event started{source_slot, event, volume, false, duration};
  if (state_ == State::kEnding) {
    if (waiting_) return false;
    waiting_ = true;
    waiting_event_ = started;
    return true;
  }
  Begin(started);
  return true;
}

void DtmfSender::Update(int source_slot, uint32_t duration) {
  if (waiting_ && source_slot == waiting_event_.source) {
    waiting_event_.duration = std::max(waiting_event_.duration, duration);
    return;
  }
  if (state_ != State::kRunning || source_slot != source_) return;
  event_.duration = std::max(event_.duration, duration);
}

void DtmfSender::End(int source_slot, uint32_t duration) {
  if (waiting_ && source_slot == waiting_event_.source) {
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
  const bool first = !sent_first_;
  if (first) {
    timestamp_ = now;
    sent_first_ = true;
  }
  if (segment_full_ && event_.duration - segment_start_ > kMaxField) {
    // The segment whose last packet said 0xFFFF is over; the next starts where
    // it ended. Normally that is the one segment on; a total that ran further
    // ahead goes straight to the segment it ends in (see the header comment).
    segment_start_ += (event_.duration - segment_start_ - 1) / kMaxField * kMaxField;
    segment_full_ = false;
  }
  const uint32_t in_segment = std::min(event_.duration - segment_start_, kMaxField);
  const bool final_segment = event_.duration - segment_start_ <= kMaxField;
  if (in_segment == kMaxField) segment_full_ = true;
  const TelephoneEvent block{event_.code, state_ == State::kEnding && final_segment, event_.volume,
                             static_cast<uint16_t>(in_segment)};
  DtmfPacket packet{block, timestamp_ + segment_start_, first};
  if (block.end && --end_left_ == 0) {
    state_ = State::kIdle;
    if (waiting_) {
      waiting_ = false;
      Begin(waiting_event_);
    }
  }
  return packet;
}

uint32_t ConvertDuration(uint32_t duration, int from_clock_hz, int to_clock_hz) {
  if (from_clock_hz <= 0 || to_clock_hz <= 0) return duration;
  const uint64_t converted = uint64_t{duration} * static_cast<uint64_t>(to_clock_hz) /
                             static_cast<uint64_t>(from_clock_hz);
  return static_cast<uint32_t>(std::min<uint64_t>(converted, std::numeric_limits<uint32_t>::max()));
}

}  // namespace earshot::dataplane

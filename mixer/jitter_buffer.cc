#include "mixer/jitter_buffer.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "codecs/check.h"

namespace earshot::mixer {
namespace {

// One depth adjustment per this many frames at most, so the depth does not pump.
constexpr int kAdjustIntervalFrames = 10;
// Packets measured before the target leaves initial_delay.
constexpr int64_t kWarmupPackets = 50;
// Blocks of the windowed minimum transit and of the peak relative delay; the
// window is the current block plus the previous one.
constexpr int kMinTransitBlockPackets = 100;
constexpr int kPeakBlockPackets = 500;
// RFC 3550 A.1 MAX_MISORDER: further behind than this is a new numbering, not a late packet.
constexpr int64_t kMaxMisorder = 100;
constexpr int64_t kMaxTimestampJumpMs = 2000;
constexpr double kJitterGain = 1.0 / 16.0;  // RFC 3550 §6.4.1
constexpr double kJitterMultiplier = 3.0;
// Plausible packet durations: 2.5 ms to 120 ms.
constexpr int kMinFrameDivisor = 400;
constexpr int kMaxFrameMs = 120;
constexpr int kMaxCapacityFrames = 16384;  // well inside half the 16-bit sequence space
constexpr size_t kMaxPayloadBytes = 65535;
constexpr double kInfinity = std::numeric_limits<double>::infinity();

int MsToSamples(int ms, int clock_rate_hz) {
  return static_cast<int>(int64_t{ms} * clock_rate_hz / 1000);
}

const JitterBufferOptions& Checked(const JitterBufferOptions& options) {
  EARSHOT_CHECK(options.clock_rate_hz > 0 && options.clock_rate_hz <= 384000);
  EARSHOT_CHECK(options.frame_samples > 0 && options.frame_samples <= options.clock_rate_hz);
  EARSHOT_CHECK(options.capacity_frames >= 2 && options.capacity_frames <= kMaxCapacityFrames);
  // Keeps every span in samples (capacity * frame, also for learned frames of
  // up to 120 ms) far from the int range.
  EARSHOT_CHECK(int64_t{options.capacity_frames} * options.frame_samples <= (int64_t{1} << 30));
  EARSHOT_CHECK(options.max_payload_bytes > 0 && options.max_payload_bytes <= kMaxPayloadBytes);
  EARSHOT_CHECK(options.min_delay_ms >= 0 && options.min_delay_ms <= options.max_delay_ms);
  EARSHOT_CHECK(options.max_delay_ms <= 10000);
  return options;
}

}  // namespace

JitterBuffer::JitterBuffer(const JitterBufferOptions& options)
    : options_(Checked(options)),
      capacity_(options.capacity_frames),
      min_samples_(MsToSamples(options.min_delay_ms, options.clock_rate_hz)),
      max_samples_(MsToSamples(options.max_delay_ms, options.clock_rate_hz)),
      initial_samples_(MsToSamples(
          std::clamp(options.initial_delay_ms, options.min_delay_ms, options.max_delay_ms),
          options.clock_rate_hz)),
      max_timestamp_jump_(kMaxTimestampJumpMs * options.clock_rate_hz / 1000),
      samples_per_ns_(options.clock_rate_hz / 1e9),
      slots_(std::bit_ceil(static_cast<size_t>(options.capacity_frames))),
      slot_mask_(slots_.size() - 1),
      slab_(static_cast<size_t>(options.capacity_frames) * options.max_payload_bytes),
      free_buffers_(static_cast<size_t>(options.capacity_frames)),
      frame_samples_(options.frame_samples),
      min_transit_current_(kInfinity),
      min_transit_previous_(kInfinity),
      target_samples_(initial_samples_) {
  Flush();
  UpdateTarget();
}

void JitterBuffer::Reset() {
  Flush();
  has_stream_ = false;
  seq_unwrapper_ = SequenceUnwrapper();
  ts_unwrapper_ = TimestampUnwrapper();
  has_reference_ = has_inserted_ = has_output_ = probation_ = false;
  playing_ = start_pending_ = false;
  dry_samples_ = 0;
  frame_samples_ = options_.frame_samples;
  candidate_frame_ = candidate_count_ = 0;
  jitter_ = 0.0;
  has_transit_ = false;
  min_transit_current_ = min_transit_previous_ = kInfinity;
  min_block_packets_ = 0;
  peak_current_ = peak_previous_ = 0.0;
  peak_block_packets_ = 0;
  estimated_packets_ = 0;
  ClearDepthHistory();
  drop_pending_ = false;
  UpdateTarget();
}

size_t JitterBuffer::Index(int64_t seq) const {
  // Extended sequence numbers may be negative (a step back before the first
  // packet); converted to size_t they are congruent modulo any power of two.
  // Frames closer than the capacity never share a slot: the window invariant
  // holds with any ring of at least capacity slots.
  return static_cast<size_t>(seq) & slot_mask_;
}

void JitterBuffer::PrefetchNext() const {
  const Slot& slot = slots_[Index(next_seq_)];
  __builtin_prefetch(&slot);
  // Whatever the slot says: a prefetch of a stale buffer costs nothing, and
  // the address is inside the slab either way.
  const uint8_t* payload =
      slab_.data() + static_cast<size_t>(slot.buffer) * options_.max_payload_bytes;
  for (size_t offset = 0; offset < std::min<size_t>(slot.size, 256); offset += 64) {
    __builtin_prefetch(payload + offset);
  }
}

int JitterBuffer::BufferedSamples() const {
  if (count_ == 0) return 0;
  const int64_t span = (hi_seq_ - next_seq_ + 1) * frame_samples_;
  return static_cast<int>(std::min<int64_t>(span, std::numeric_limits<int>::max()));
}

void JitterBuffer::Flush() {
  if (count_ > 0) {
    for (Slot& slot : slots_) slot.occupied = false;
  }
  count_ = 0;
  // Buffer 0 on top: the first packets go to the start of the slab.
  free_count_ = free_buffers_.size();
  for (size_t i = 0; i < free_count_; ++i) {
    free_buffers_[i] = static_cast<uint16_t>(free_count_ - 1 - i);
  }
}

void JitterBuffer::Release(Slot& slot) {
  EARSHOT_DCHECK(slot.occupied && free_count_ < free_buffers_.size());
  slot.occupied = false;
  free_buffers_[free_count_++] = slot.buffer;
}

std::span<const uint8_t> JitterBuffer::Payload(const Slot& slot) const {
  return std::span<const uint8_t>(
      slab_.data() + static_cast<size_t>(slot.buffer) * options_.max_payload_bytes, slot.size);
}

void JitterBuffer::Resync(Ssrc ssrc) {
  Flush();
  has_stream_ = true;
  ssrc_ = ssrc;
  seq_unwrapper_ = SequenceUnwrapper();
  ts_unwrapper_ = TimestampUnwrapper();
  has_reference_ = has_inserted_ = has_output_ = probation_ = false;
  playing_ = false;
  start_pending_ = true;
  dry_samples_ = 0;
  ClearDepthHistory();
  drop_pending_ = false;
  // The timestamp base changed, so transit times are not comparable with the
  // old ones; jitter and peak delay describe the network and stay.
  has_transit_ = false;
  min_transit_current_ = min_transit_previous_ = kInfinity;
  min_block_packets_ = 0;
}

bool JitterBuffer::TimestampJumped(int64_t seq, int64_t timestamp) const {
  // Both unwrapped from the reference, so |seq - ref_seq_| <= 2^15 and
  // |timestamp - ref_ts_| <= 2^31: no overflow.
  const int64_t implied = ref_ts_ + (seq - ref_seq_) * frame_samples_;
  const int64_t error = timestamp - implied;
  return error > max_timestamp_jump_ || error < -max_timestamp_jump_;
}

JitterBuffer::Placement JitterBuffer::Place(int64_t seq, bool marker) const {
  const auto late = [&](int64_t point) {
    return point - seq > kMaxMisorder ? Placement::kFarBehind : Placement::kLate;
  };
  if (count_ == 0) {
    if (!playing_) {
      // Pre-buffering an empty buffer: this packet sets the playout point,
      // unless its frame has been played already.
      if (has_output_ && seq <= last_output_seq_) return late(last_output_seq_ + 1);
      return Placement::kAnchor;
    }
    if (seq >= next_seq_) return seq - next_seq_ < capacity_ ? Placement::kFits : Placement::kAhead;
    // Dry, and concealment ran past this packet's number. New speech after a
    // silence (marker) restarts there; anything else just came too late.
    if (marker && has_inserted_ && seq > highest_inserted_) return Placement::kTalkspurtRestart;
    return late(next_seq_);
  }
  if (playing_) {
    if (seq < next_seq_) return late(next_seq_);
    return seq - next_seq_ < capacity_ ? Placement::kFits : Placement::kAhead;
  }
  // Pre-buffering: the playout point is the lowest buffered frame.
  if (seq >= next_seq_) return seq - next_seq_ < capacity_ ? Placement::kFits : Placement::kAhead;
  if (has_output_ && seq <= last_output_seq_) return late(last_output_seq_ + 1);
  return hi_seq_ - seq < capacity_ ? Placement::kBefore : Placement::kAhead;
}

InsertResult JitterBuffer::Insert(const PacketIn& packet, int64_t arrival_ns) {
  if (packet.payload.empty()) {
    ++counters_.empty_payload;
    return InsertResult::kEmptyPayload;
  }
  if (packet.payload.size() > options_.max_payload_bytes) {
    ++counters_.too_large;
    return InsertResult::kPayloadTooLarge;
  }
  if (!has_stream_ || packet.ssrc != ssrc_) {
    if (has_stream_) ++counters_.resyncs;
    Resync(packet.ssrc);
  }
  int64_t seq = seq_unwrapper_.PeekUnwrap(packet.seq);
  int64_t timestamp = ts_unwrapper_.PeekUnwrap(packet.timestamp);
  if (has_reference_ && TimestampJumped(seq, timestamp)) {
    ++counters_.resyncs;
    Resync(packet.ssrc);
    seq = seq_unwrapper_.PeekUnwrap(packet.seq);
    timestamp = ts_unwrapper_.PeekUnwrap(packet.timestamp);
  }

  Placement placement = Place(seq, packet.marker);
  if (placement == Placement::kFarBehind) {
    if (probation_ && packet.seq == probation_seq_) {
      // Two in a row far behind: the sender restarted its numbering.
      ++counters_.resyncs;
      Resync(packet.ssrc);
      seq = seq_unwrapper_.PeekUnwrap(packet.seq);
      timestamp = ts_unwrapper_.PeekUnwrap(packet.timestamp);
      placement = Placement::kAnchor;
    } else {
      probation_ = true;
      probation_seq_ = packet.seq.Next();
      ++counters_.too_late;
      return InsertResult::kTooLate;
    }
  }
  switch (placement) {
    case Placement::kLate:
      // Late packets are the ones that teach the estimator about delay spikes.
      UpdateDelayEstimate(timestamp, arrival_ns);
      ++counters_.too_late;
      return InsertResult::kTooLate;
    case Placement::kAhead:
      ++counters_.buffer_full;
      return InsertResult::kBufferFull;
    default:
      break;
  }
  const Slot& slot = slots_[Index(seq)];
  if (slot.occupied) {
    // The window invariant leaves no other sequence number for this slot.
    EARSHOT_DCHECK(slot.seq == seq);
    ++counters_.duplicates;
    return InsertResult::kDuplicate;
  }

  seq_unwrapper_.Unwrap(packet.seq);
  ts_unwrapper_.Unwrap(packet.timestamp);
  has_reference_ = true;
  ref_seq_ = seq;
  ref_ts_ = timestamp;
  probation_ = false;
  if (placement != Placement::kFits) {
    next_seq_ = seq;
    next_ts_ = timestamp;
    dry_samples_ = 0;
  }
  if (placement == Placement::kTalkspurtRestart) {
    // Pre-buffer the talkspurt: what plays meanwhile is silence, as it should.
    playing_ = false;
    drop_pending_ = false;
  }
  if (has_inserted_ && seq < highest_inserted_) ++counters_.reordered;
  highest_inserted_ = has_inserted_ ? std::max(highest_inserted_, seq) : seq;
  has_inserted_ = true;
  Store(packet, seq, timestamp);
  LearnFrameDuration(seq, timestamp, packet.marker);
  UpdateDelayEstimate(timestamp, arrival_ns);
  ++counters_.inserted;
  return InsertResult::kInserted;
}

void JitterBuffer::Store(const PacketIn& packet, int64_t seq, int64_t timestamp) {
  const size_t index = Index(seq);
  Slot& slot = slots_[index];
  slot.seq = seq;
  slot.timestamp = timestamp;
  slot.size = static_cast<uint32_t>(packet.payload.size());
  slot.marker = packet.marker;
  slot.occupied = true;
  // A free buffer is certain: no more frames are buffered than there are slots.
  EARSHOT_DCHECK(free_count_ > 0);
  slot.buffer = free_buffers_[--free_count_];
  std::memcpy(slab_.data() + static_cast<size_t>(slot.buffer) * options_.max_payload_bytes,
              packet.payload.data(), packet.payload.size());
  if (count_ == 0 || seq > hi_seq_) hi_seq_ = seq;
  ++count_;
}

void JitterBuffer::LearnFrameDuration(int64_t seq, int64_t timestamp, bool marker) {
  const int64_t lo = options_.clock_rate_hz / kMinFrameDivisor;
  const int64_t hi = int64_t{options_.clock_rate_hz} * kMaxFrameMs / 1000;
  const auto consider = [&](int64_t duration) {
    if (duration < std::max<int64_t>(lo, 1) || duration > hi) return;
    if (duration == frame_samples_) {
      candidate_count_ = 0;
      return;
    }
    // One odd step is not a new ptime; the same step twice in a row is.
    if (duration == candidate_frame_) {
      if (++candidate_count_ >= 2) {
        frame_samples_ = static_cast<int>(duration);
        candidate_count_ = 0;
        UpdateTarget();
      }
    } else {
      candidate_frame_ = static_cast<int>(duration);
      candidate_count_ = 1;
    }
  };
  // A marker packet follows a silence gap: its timestamp step is not a ptime.
  if (!marker) {
    const Slot& previous = slots_[Index(seq - 1)];
    if (previous.occupied && previous.seq == seq - 1) {
      consider(timestamp - previous.timestamp);
    } else if (has_output_ && last_output_seq_ == seq - 1) {
      consider(timestamp - last_output_ts_);
    }
  }
  const Slot& following = slots_[Index(seq + 1)];
  if (following.occupied && following.seq == seq + 1 && !following.marker) {
    consider(following.timestamp - timestamp);
  }
}

void JitterBuffer::UpdateDelayEstimate(int64_t timestamp, int64_t arrival_ns) {
  // Doubles: arrival_ns is whatever the caller's clock says, and no value of it
  // may overflow here.
  const double transit =
      static_cast<double>(arrival_ns) * samples_per_ns_ - static_cast<double>(timestamp);
  if (has_transit_) jitter_ += (std::fabs(transit - last_transit_) - jitter_) * kJitterGain;
  has_transit_ = true;
  last_transit_ = transit;

  min_transit_current_ = std::min(min_transit_current_, transit);
  const double min_transit = std::min(min_transit_current_, min_transit_previous_);
  if (++min_block_packets_ >= kMinTransitBlockPackets) {
    min_transit_previous_ = min_transit_current_;
    min_transit_current_ = kInfinity;
    min_block_packets_ = 0;
  }
  peak_current_ = std::max(peak_current_, transit - min_transit);
  if (++peak_block_packets_ >= kPeakBlockPackets) {
    peak_previous_ = peak_current_;
    peak_current_ = 0.0;
    peak_block_packets_ = 0;
  }
  ++estimated_packets_;
  UpdateTarget();
}

void JitterBuffer::UpdateTarget() {
  const int64_t capacity_limit = (capacity_ - 1) * frame_samples_;
  double target = initial_samples_;
  if (estimated_packets_ >= kWarmupPackets) {
    const double peak = std::max(peak_current_, peak_previous_);
    target = frame_samples_ + std::max(kJitterMultiplier * jitter_, peak);
  }
  // Written so that a NaN, were one ever to appear, lands on the minimum.
  if (!(target >= min_samples_)) target = min_samples_;
  if (target > max_samples_) target = max_samples_;
  target = std::min(target, static_cast<double>(capacity_limit));
  target_samples_ = static_cast<int>(std::ceil(target));
}

PlayoutFrame JitterBuffer::Frame(PlayoutFrame::Kind kind) const {
  PlayoutFrame frame;
  frame.kind = kind;
  frame.samples = frame_samples_;
  frame.seq = SequenceNumber(static_cast<uint16_t>(next_seq_));
  frame.timestamp = RtpTimestamp(static_cast<uint32_t>(next_ts_));
  return frame;
}

void JitterBuffer::Advance() {
  ++next_seq_;
  next_ts_ += frame_samples_;
}

PlayoutFrame JitterBuffer::PopNext() {
  if (!has_stream_) return Frame(PlayoutFrame::Kind::kEmpty);
  if (!playing_) {
    if (count_ == 0 || BufferedSamples() < target_samples_)
      return Frame(PlayoutFrame::Kind::kEmpty);
    playing_ = true;
    ClearDepthHistory();
    dry_samples_ = 0;
  }
  if (count_ == 0) return PlayDry();
  dry_samples_ = 0;
  switch (DecideAdjustment(BufferedSamples())) {
    case Adjustment::kGrow: {
      ++counters_.added_to_grow;
      return Frame(PlayoutFrame::Kind::kMissing);
    }
    case Adjustment::kDrop:
      DropNextFrame();
      break;
    case Adjustment::kNone:
      break;
  }
  return PlayNextFrame();
}

JitterBuffer::Adjustment JitterBuffer::DecideAdjustment(int depth) {
  window_max_depth_ = std::max(window_max_depth_, depth);
  ++frames_since_adjust_;
  if (drop_pending_) {
    if (drop_seq_ > next_seq_) return Adjustment::kNone;
    drop_pending_ = false;
    return Adjustment::kDrop;
  }
  // Silence inserted before a talkspurt is not heard: no need to wait. Only
  // where the timestamps show a silence, as some senders mark every packet.
  const Slot& next = slots_[Index(next_seq_)];
  const bool talkspurt_next = next.occupied && next.seq == next_seq_ && next.marker &&
                              next.timestamp - next_ts_ >= frame_samples_;
  if (talkspurt_next && depth < target_samples_) {
    // The silence drained the buffer: the depths seen before it are stale.
    ClearDepthHistory();
    return Adjustment::kGrow;
  }
  if (frames_since_adjust_ < kAdjustIntervalFrames) return Adjustment::kNone;
  depth_history_[depth_history_next_] = window_max_depth_;
  depth_history_next_ = (depth_history_next_ + 1) % kDepthHistoryWindows;
  depth_history_size_ = std::min(depth_history_size_ + 1, kDepthHistoryWindows);
  frames_since_adjust_ = window_max_depth_ = 0;
  const int max_depth =
      *std::max_element(depth_history_.begin(), depth_history_.begin() + depth_history_size_);
  if (max_depth < target_samples_) {
    ShiftDepthHistory(frame_samples_);
    return Adjustment::kGrow;
  }
  if (max_depth - target_samples_ > frame_samples_) {
    ShiftDepthHistory(-frame_samples_);
    return ScheduleDrop() ? Adjustment::kDrop : Adjustment::kNone;
  }
  return Adjustment::kNone;
}

void JitterBuffer::ClearDepthHistory() {
  frames_since_adjust_ = window_max_depth_ = 0;
  depth_history_size_ = depth_history_next_ = 0;
}

void JitterBuffer::ShiftDepthHistory(int samples) {
  for (int i = 0; i < depth_history_size_; ++i)
    depth_history_[i] = std::max(0, depth_history_[i] + samples);
}

bool JitterBuffer::ScheduleDrop() {
  // Prefer the frame right before a buffered talkspurt start: the gap then
  // falls into the silence that preceded it. Bounded by the capacity.
  for (int64_t seq = next_seq_ + 1; seq <= hi_seq_; ++seq) {
    const Slot& slot = slots_[Index(seq)];
    if (slot.occupied && slot.seq == seq && slot.marker) {
      if (seq - 1 == next_seq_) return true;
      drop_seq_ = seq - 1;
      drop_pending_ = true;
      return false;
    }
  }
  return true;
}

void JitterBuffer::DropNextFrame() {
  Slot& slot = slots_[Index(next_seq_)];
  if (slot.occupied && slot.seq == next_seq_) {
    // Dropping a talkspurt's first frame must not lose its flag.
    if (slot.marker) start_pending_ = true;
    Release(slot);
    --count_;
    has_output_ = true;
    last_output_seq_ = next_seq_;
    last_output_ts_ = slot.timestamp;
    next_ts_ = slot.timestamp;
  }
  ++counters_.dropped_to_shrink;
  frames_since_adjust_ = window_max_depth_ = 0;
  Advance();
}

PlayoutFrame JitterBuffer::PlayNextFrame() {
  Slot& slot = slots_[Index(next_seq_)];
  if (!slot.occupied || slot.seq != next_seq_) {
    ++counters_.missing;
    PlayoutFrame frame = Frame(PlayoutFrame::Kind::kMissing);
    Advance();
    return frame;
  }
  next_ts_ = slot.timestamp;
  PlayoutFrame frame = Frame(PlayoutFrame::Kind::kPacket);
  // The buffer goes back to the free list but keeps its bytes until the next
  // Insert, which the payload's lifetime (until the next call) allows.
  frame.payload = Payload(slot);
  frame.talkspurt_start = slot.marker || start_pending_;
  start_pending_ = false;
  Release(slot);
  --count_;
  has_output_ = true;
  last_output_seq_ = next_seq_;
  last_output_ts_ = slot.timestamp;
  ++counters_.played;
  Advance();
  return frame;
}

PlayoutFrame JitterBuffer::PeekNext() const {
  if (!has_stream_ || !playing_ || count_ == 0) return Frame(PlayoutFrame::Kind::kEmpty);
  const Slot& slot = slots_[Index(next_seq_)];
  if (!slot.occupied || slot.seq != next_seq_) return Frame(PlayoutFrame::Kind::kEmpty);
  PlayoutFrame frame = Frame(PlayoutFrame::Kind::kPacket);
  frame.timestamp = RtpTimestamp(static_cast<uint32_t>(slot.timestamp));
  frame.payload = Payload(slot);
  frame.talkspurt_start = slot.marker || start_pending_;
  return frame;
}

PlayoutFrame JitterBuffer::PlayDry() {
  drop_pending_ = false;  // nothing buffered, nothing in excess
  dry_samples_ += frame_samples_;
  if (dry_samples_ > max_samples_) {
    // No packet for longer than the largest delay we would ever hold: the
    // stream paused or the path broke. Re-buffer from the next packet.
    ++counters_.underruns;
    playing_ = false;
    start_pending_ = true;
    dry_samples_ = 0;
    return Frame(PlayoutFrame::Kind::kEmpty);
  }
  ++counters_.missing;
  PlayoutFrame frame = Frame(PlayoutFrame::Kind::kMissing);
  Advance();
  return frame;
}

}  // namespace earshot::mixer

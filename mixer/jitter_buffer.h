#pragma once
// Per-leg adaptive jitter buffer for encoded audio frames (one RTP stream, rx
// from the mixer's side: packets come in from the far end, frames go out to
// the leg's decoder). A pure library: time is the caller's `arrival_ns` and the
// rhythm of PopNext calls (one per frame interval); nothing here reads a clock.
//
// Storage. Frames are keyed by extended (unwrapped) sequence number in a ring
// of slots indexed by seq modulo the ring's size, `capacity_frames` rounded up
// to a power of two (so that the index is a mask, not two 64-bit divisions;
// the buffer still holds at most capacity_frames frames); payload bytes live
// in a slab of capacity * max_payload_bytes allocated by the constructor. After
// construction nothing allocates, throws or locks. A slot borrows its payload
// buffer from a LIFO of free ones, so that a buffer played is the next one
// filled: a leg in steady state keeps reusing the same two or three buffers,
// warm in cache, instead of walking the whole slab (24 KB for G.711) one
// packet at a time.
//
// Invariants.
//  * Every buffered frame has next_seq_ <= seq < next_seq_ + capacity, so two
//    buffered frames never share a slot and a frame still to be played is never
//    overwritten: a packet that does not fit is refused (kBufferFull).
//  * Playing: the playout point (next_seq_) only moves forward, one frame per
//    PopNext (two when a frame is dropped to shrink, none when one is added to
//    grow). Packets below it are kTooLate (but see talkspurt restarts below).
//  * Pre-buffering (before the first frame, after a resync, an underrun or a
//    talkspurt restart): the playout point is the lowest buffered sequence and
//    may move back for a reordered packet, as long as the span still fits, but
//    never to a frame already played. The first frame played afterwards is
//    flagged talkspurt_start.
//  * Every Insert is counted in exactly one of inserted, duplicates, too_late,
//    buffer_full, too_large, empty_payload (`reordered` and `resyncs` are extra).
//
// Playout. Before the first packet PopNext returns kEmpty; then kEmpty until the
// buffered span (highest buffered seq - playout point + 1 frames, holes
// included, since they will be concealed) reaches the target; then one frame
// per call: kPacket, or kMissing when that frame is absent (the playout point
// advances; a late packet is then refused). When nothing at all is buffered the
// buffer is dry; a dry spell longer than max_delay counts an underrun and goes
// back to pre-buffering, where the next packet sets the playout point (this is
// also how a stream that jumped ahead by more than the capacity is picked up).
// Playout is driven by sequence numbers; timestamps give the frame duration
// (learned from consecutive sequence numbers, marker packets excepted since a
// silence gap precedes them) and detect jumps. The buffer cannot tell a
// sender's silence (DTX) from loss: frames concealed while dry count as
// missing, a silence longer than max_delay as an underrun, and one longer than
// 2 s as a resync (its timestamp jump); all of them harmless.
//
// Target delay. Per packet (also for packets that came too late, they are the
// ones that teach the buffer) the transit time arrival - timestamp is computed
// in clock units. From it:
//  * J, the RFC 3550 §6.4.1 interarrival jitter (gain 1/16);
//  * the relative delay: transit minus the smallest transit of the last 2-4 s
//    (two alternating blocks of 100 packets, so that sender clock drift does not
//    accumulate), and its peak over the last 10-20 s (two blocks of 500).
//  target = clamp(frame + max(3 J, peak relative delay), min_delay, max_delay),
// and at most (capacity - 1) frames. The peak rather than a percentile (NetEq's
// histogram) so that recurring delay spikes are absorbed completely; it falls
// back one block after the spikes stop. Until 50 packets have been measured
// the target is initial_delay.
//
// Adapting the depth. The depth is the buffered span before each PopNext; the
// statistic is its maximum over the last 50 frames (five windows of 10): the
// depth right after the most punctual packet, i.e. the cushion the target is
// about. A maximum rather than a mean, so that a stall, which drains the buffer
// until its packets come in a burst, does not look like a lack of cushion; over
// 50 frames rather than 10, so that the frame quantisation of the depth (a
// packet arriving just before or just after a tick) does not flip the decision
// back and forth. After an adjustment the history is shifted by the frame it
// added or removed. At the end of each window, at most one adjustment of one
// frame:
//  * max depth < target: grow, returning one extra kMissing without advancing
//    (counted added_to_grow, not missing);
//  * max depth > target + frame: shrink by dropping one frame: the frame right
//    before a buffered talkspurt start (marker) if there is one, when playout
//    gets there, else the next frame now (counted dropped_to_shrink).
// The band of one frame between the two is the hysteresis that stops pumping;
// clock drift of ±0.1% then costs one grow or one drop every ~1000 frames.
// Before a talkspurt start that follows a gap in timestamps the buffer grows
// without waiting for the window, since silence inserted there is not heard;
// this is how a talkspurt after a short silence (DTX, sequence continuous, the
// buffer drained meanwhile) gets its cushion back.
//
// Resynchronisation (flush, fresh unwrappers, pre-buffer, next frame is a
// talkspurt start; the delay estimate is kept, it describes the network): on an
// SSRC change; on a timestamp more than 2 s away from what its sequence number
// implies; on two consecutive packets more than 100 sequence numbers behind the
// playout point (RFC 3550 A.1 probation, a sender that restarted its
// numbering). A marker packet newer than anything received that arrives while
// the buffer is dry goes back to pre-buffering from it, without a flush or a
// count (a talkspurt after silence suppression, whose sequence numbers the
// concealment ran past).

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "codecs/rtp_types.h"

namespace earshot::mixer {

struct JitterBufferOptions {
  int clock_rate_hz = 8000;  // RTP clock of the stream
  // Expected packet duration in clock units (ptime), used until measured.
  int frame_samples = 160;
  int capacity_frames = 50;        // packets held at most (fixed storage)
  size_t max_payload_bytes = 512;  // larger payloads are refused (counted)
  int min_delay_ms = 20;           // target delay bounds
  int max_delay_ms = 300;
  int initial_delay_ms = 40;
};

enum class InsertResult {
  kInserted,
  kDuplicate,
  kTooLate,
  kBufferFull,
  kPayloadTooLarge,
  kEmptyPayload,
};

struct PacketIn {
  SequenceNumber seq = SequenceNumber(0);
  RtpTimestamp timestamp = RtpTimestamp(0);
  Ssrc ssrc = Ssrc(0);
  bool marker = false;
  std::span<const uint8_t> payload;
};

struct PlayoutFrame {
  enum class Kind { kPacket, kMissing, kEmpty };
  Kind kind = Kind::kEmpty;
  // kPacket: valid until the next call to any JitterBuffer method.
  std::span<const uint8_t> payload;
  // Duration of this frame in clock units (kMissing: how much to conceal).
  int samples = 0;
  // Marker bit / first packet after a resync, an underrun or a talkspurt restart.
  bool talkspurt_start = false;
  // kPacket: the packet's. kMissing: the frame being concealed (for a frame
  // added to grow, the frame it is inserted before). kEmpty: meaningless.
  SequenceNumber seq = SequenceNumber(0);
  RtpTimestamp timestamp = RtpTimestamp(0);
};

struct JitterBufferCounters {
  uint64_t inserted = 0;
  uint64_t duplicates = 0;
  uint64_t too_late = 0;
  uint64_t buffer_full = 0;
  uint64_t too_large = 0;
  uint64_t empty_payload = 0;
  uint64_t reordered = 0;  // inserted below the highest sequence inserted
  uint64_t resyncs = 0;
  uint64_t played = 0;
  uint64_t missing = 0;  // concealed frames during playout (not those added to grow)
  uint64_t dropped_to_shrink = 0;
  uint64_t added_to_grow = 0;
  uint64_t underruns = 0;
};

class JitterBuffer {
 public:
  // Allocates all storage. Options are configuration: nonsense (capacity < 2,
  // min_delay > max_delay, ...) is a bug and fails a check.
  explicit JitterBuffer(const JitterBufferOptions& options);
  JitterBuffer(const JitterBuffer&) = delete;
  JitterBuffer& operator=(const JitterBuffer&) = delete;

  // Copies the payload. `arrival_ns`: any monotonic clock of the caller's.
  InsertResult Insert(const PacketIn& packet, int64_t arrival_ns);

  // The next frame; called by the playout once per frame interval.
  PlayoutFrame PopNext();

  // The packet at the playout point, without playing it: kPacket (payload,
  // seq, timestamp, talkspurt_start) when that frame is buffered and playout
  // has started, else kEmpty. Changes nothing. For in-band FEC: right after
  // PopNext returned kMissing for sequence N, a PeekNext() with seq N + 1 is
  // the packet that carries N's FEC (a frame added to grow does not advance
  // the playout point, so its PeekNext has seq N, not N + 1). The next
  // PopNext may still differ from it (a frame dropped to shrink). The payload
  // is valid until the next call to a non-const method.
  PlayoutFrame PeekNext() const;

  // A hint, changes nothing: starts loading what the next PopNext will read
  // (the slot at the playout point and its payload), so that a session can
  // overlap its legs' cache misses before playing them out.
  void PrefetchNext() const;

  int TargetDelaySamples() const { return target_samples_; }
  int BufferedSamples() const;
  double JitterSamples() const { return jitter_; }
  int FrameSamples() const { return frame_samples_; }  // as learned from timestamps
  const JitterBufferCounters& counters() const { return counters_; }

  // Forgets the stream and the delay estimate (the leg was re-latched). The
  // counters are the leg's lifetime statistics and are kept.
  void Reset();

 private:
  struct Slot {
    int64_t seq = 0;        // extended
    int64_t timestamp = 0;  // extended
    uint32_t size = 0;
    uint16_t buffer = 0;  // in the slab, while occupied
    bool occupied = false;
    bool marker = false;
  };
  // Where an incoming packet goes relative to the playout point.
  enum class Placement { kFits, kAnchor, kBefore, kTalkspurtRestart, kLate, kFarBehind, kAhead };
  enum class Adjustment { kNone, kGrow, kDrop };

  size_t Index(int64_t seq) const;
  Placement Place(int64_t seq, bool marker) const;
  bool TimestampJumped(int64_t seq, int64_t timestamp) const;
  void Resync(Ssrc ssrc);
  void Flush();
  void Store(const PacketIn& packet, int64_t seq, int64_t timestamp);
  // Empties an occupied slot and gives its payload buffer back.
  void Release(Slot& slot);
  std::span<const uint8_t> Payload(const Slot& slot) const;
  void LearnFrameDuration(int64_t seq, int64_t timestamp, bool marker);
  void UpdateDelayEstimate(int64_t timestamp, int64_t arrival_ns);
  void UpdateTarget();
  Adjustment DecideAdjustment(int depth);
  void ClearDepthHistory();
  void ShiftDepthHistory(int samples);
  bool ScheduleDrop();
  void DropNextFrame();
  PlayoutFrame PlayNextFrame();
  PlayoutFrame PlayDry();
  PlayoutFrame Frame(PlayoutFrame::Kind kind) const;
  void Advance();

  // Configuration.
  const JitterBufferOptions options_;
  const int64_t capacity_;
  const int min_samples_;
  const int max_samples_;
  const int initial_samples_;
  const int64_t max_timestamp_jump_;
  const double samples_per_ns_;

  // Fixed storage.
  std::vector<Slot> slots_;  // a power of two of them
  size_t slot_mask_;
  std::vector<uint8_t> slab_;
  // Payload buffers not held by a slot; the next one to use last.
  std::vector<uint16_t> free_buffers_;
  size_t free_count_ = 0;

  // Stream.
  bool has_stream_ = false;
  Ssrc ssrc_ = Ssrc(0);
  SequenceUnwrapper seq_unwrapper_;
  TimestampUnwrapper ts_unwrapper_;
  bool has_reference_ = false;  // ref_*: the last packet accepted
  int64_t ref_seq_ = 0;
  int64_t ref_ts_ = 0;
  bool has_inserted_ = false;
  int64_t highest_inserted_ = 0;
  bool has_output_ = false;  // last_output_*: the last frame played or dropped
  int64_t last_output_seq_ = 0;
  int64_t last_output_ts_ = 0;
  bool probation_ = false;  // a packet far behind came; its successor resyncs
  SequenceNumber probation_seq_ = SequenceNumber(0);

  // Buffer and playout point.
  int64_t count_ = 0;
  int64_t hi_seq_ = 0;  // highest buffered, valid when count_ > 0
  int64_t next_seq_ = 0;
  int64_t next_ts_ = 0;
  bool playing_ = false;
  bool start_pending_ = false;  // the next frame played starts a talkspurt
  int dry_samples_ = 0;

  // Frame duration.
  int frame_samples_;
  int candidate_frame_ = 0;
  int candidate_count_ = 0;

  // Delay estimate.
  double jitter_ = 0.0;
  bool has_transit_ = false;
  double last_transit_ = 0.0;
  double min_transit_current_;
  double min_transit_previous_;
  int min_block_packets_ = 0;
  double peak_current_ = 0.0;
  double peak_previous_ = 0.0;
  int peak_block_packets_ = 0;
  int64_t estimated_packets_ = 0;
  int target_samples_;

  // Depth adaptation: the maximum depth of each of the last windows.
  static constexpr int kDepthHistoryWindows = 5;
  int frames_since_adjust_ = 0;
  int window_max_depth_ = 0;
  std::array<int, kDepthHistoryWindows> depth_history_{};
  int depth_history_size_ = 0;
  int depth_history_next_ = 0;
  bool drop_pending_ = false;
  int64_t drop_seq_ = 0;

  JitterBufferCounters counters_;
};

}  // namespace earshot::mixer

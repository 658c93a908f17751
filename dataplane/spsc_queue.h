#pragma once
// SpscQueue<T>: a fixed-capacity, lock-free ring for messages from exactly one
// producer thread to exactly one consumer thread (STYLE.md §2): the control
// plane's commands to a worker, a worker's replies to the control plane. Make one
// queue per (from, to) thread pair, as Seastar's smp_message_queue does; two
// threads pushing into one queue is a bug, not a slow path. On the DPDK path
// between lcores use rte_ring SP/SC instead.
//
// Model. Indices are free-running size_t counters; counter i names slot
// i & mask_. tail_ is the next index to push and is written only by the
// producer; head_ is the next index to pop and is written only by the consumer.
// Invariant: head_ <= tail_ <= head_ + capacity() (modulo 2^N: unsigned
// wrap-around is harmless because capacity is a power of two, so tail_ - head_
// is always the fill level), and exactly the slots [head_, tail_) hold a
// constructed T. All capacity() slots are usable: no slot is kept empty to
// tell full from empty, as a ring that compares wrapped indices must.
//
// Hand-over. The producer constructs T in the slot, then publishes it with a
// release store of tail_; the consumer's acquire load of tail_ makes the whole T
// visible before it reads it. The consumer moves T out and destroys it, then
// returns the slot with a release store of head_; the producer's acquire load of
// head_ orders that destruction before it constructs into the slot again.
//
// Cached indices. Each side keeps a private copy of the other side's index
// (cached_head_, cached_tail_) and reloads the shared one only when its copy
// says full (producer) or empty (consumer). In steady state a side touches the
// other side's cache line once per burst instead of once per message, which is
// what keeps the two lines from bouncing between cores.
//
// Layout. Three cache lines: a read-only one (mask_, slots_), the producer's
// (tail_, cached_head_) and the consumer's (head_, cached_tail_). Lines are taken
// as 64 bytes; cores whose prefetcher fetches lines in 128-byte pairs may still
// see a little false sharing between neighbours.
//
// T is a small value type with a nothrow move constructor and destructor (a
// message struct, possibly holding a unique_ptr). Slots are raw storage: a T is
// constructed on push and destroyed on pop, and ~SpscQueue destroys what is left.
// Nothing allocates after the constructor, nothing locks, nothing throws. If
// copying a T throws in TryPush(const T&), the queue is left unchanged.
//
// SizeApprox() and EmptyApprox() may be called from any thread; the answer may be
// stale by the time it is used. capacity() is exact.
//
// Debug builds check that one thread produces and one consumes: each side records
// the id of the first thread that uses it (the two may be the same thread).

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <thread>
#include <type_traits>
#include <utility>

#include "codecs/check.h"

namespace earshot::dataplane {

template <typename T>
class SpscQueue {
  static_assert(std::is_nothrow_move_constructible_v<T>, "a message must move without throwing");
  static_assert(std::is_nothrow_destructible_v<T>, "a message must destroy without throwing");

 public:
  // Bounds the one allocation; far above any configured queue depth.
  static constexpr size_t kMaxCapacity = size_t{1} << 30;

  // Which sides the debug check pins to one thread. The control plane's side of
  // a worker's queues is used by many gRPC threads that take turns under a
  // mutex: one producer (or consumer) at a time, ordered by the mutex, which is
  // all the ring needs; that side is declared kSerializedByCaller.
  enum class SideCheck { kSoleThread, kSerializedByCaller };

  // Rounds capacity up to a power of two (at least 1) and allocates the slots.
  explicit SpscQueue(size_t capacity, SideCheck producer = SideCheck::kSoleThread,
                     SideCheck consumer = SideCheck::kSoleThread);
  ~SpscQueue();
  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  // Producer only. False when full; the value is then left untouched (an rvalue
  // is not moved from), so the caller can retry or answer RESOURCE_EXHAUSTED.
  [[nodiscard]] bool TryPush(T&& value) { return Emplace(std::move(value)); }
  [[nodiscard]] bool TryPush(const T& value) { return Emplace(value); }
  // Producer only. Moves values from the front of the span while there is room and
  // returns how many; they are published together (one release store).
  [[nodiscard]] size_t PushBurst(std::span<T> values);

  // Consumer only. Nothing when empty.
  [[nodiscard]] std::optional<T> TryPop();
  // Consumer only. Move-assigns up to out.size() values into out and returns how
  // many; one acquire load of tail_ (at most) and one release store of head_.
  [[nodiscard]] size_t PopBurst(std::span<T> out);

  size_t SizeApprox() const;
  bool EmptyApprox() const { return SizeApprox() == 0; }
  size_t capacity() const { return mask_ + 1; }

 private:
  static constexpr size_t kCacheLine = 64;
  static constexpr std::align_val_t kSlotsAlign{std::max(kCacheLine, alignof(T))};

  static size_t RoundedCapacity(size_t requested) {
    EARSHOT_CHECK(requested <= kMaxCapacity);
    return std::bit_ceil(std::max<size_t>(requested, 1));
  }
  template <typename U>
  bool Emplace(U&& value);
  T* Slot(size_t index) const { return slots_ + (index & mask_); }
  static T* Live(T* slot) { return std::launder(slot); }
  void CheckProducerThread();
  void CheckConsumerThread();

  // Read-only after construction, shared by both sides.
  const bool check_producer_;
  const bool check_consumer_;
  const size_t mask_;
  T* const slots_;

  // Producer's line. tail_ is read by the consumer (and SizeApprox);
  // cached_head_ is the producer's last view of head_: never ahead of it, so
  // tail_ - cached_head_ overstates the fill level and is at most capacity().
  alignas(kCacheLine) std::atomic<size_t> tail_{0};
  size_t cached_head_ = 0;
  [[maybe_unused]] std::atomic<std::thread::id> producer_thread_{};

  // Consumer's line, the mirror image: cached_tail_ never runs ahead of tail_.
  alignas(kCacheLine) std::atomic<size_t> head_{0};
  size_t cached_tail_ = 0;
  [[maybe_unused]] std::atomic<std::thread::id> consumer_thread_{};
  // alignas on the members pads the object to whole lines, so whatever the
  // allocator puts after a queue does not share the consumer's line.
};

// ---------------------------------------------------------------------------

namespace spsc_internal {

// Storage for `capacity` values of T, in whole cache lines so no other object
// shares the first or last line. Null when the allocator is out of memory.
template <typename T>
T* AllocateSlots(size_t capacity, std::align_val_t align) {
  const size_t line = static_cast<size_t>(align);
  const size_t bytes = (capacity * sizeof(T) + line - 1) / line * line;
  return static_cast<T*>(::operator new(bytes, align, std::nothrow));
}

#ifndef NDEBUG
// Records the first thread to use one side of a queue, then checks every later
// caller against it.
inline void CheckSoleUser(std::atomic<std::thread::id>& owner) {
  const std::thread::id me = std::this_thread::get_id();
  std::thread::id expected{};
  // relaxed: the id feeds only this check and pairs with no other access; the
  // ring's own ordering comes from head_/tail_. The CAS makes two threads racing
  // for first use deterministic: one wins, the other fails the check.
  if (owner.compare_exchange_strong(expected, me, std::memory_order_relaxed)) return;
  EARSHOT_DCHECK(expected == me);
}
#endif

}  // namespace spsc_internal

template <typename T>
SpscQueue<T>::SpscQueue(size_t capacity, SideCheck producer, SideCheck consumer)
    : check_producer_(producer == SideCheck::kSoleThread),
      check_consumer_(consumer == SideCheck::kSoleThread),
      mask_(RoundedCapacity(capacity) - 1),
      slots_(spsc_internal::AllocateSlots<T>(mask_ + 1, kSlotsAlign)) {
  // A constructor cannot return an error, and queues are sized from the
  // configuration at start-up, where running out of memory is fatal anyway.
  EARSHOT_CHECK(slots_ != nullptr);
}

template <typename T>
SpscQueue<T>::~SpscQueue() {
  if constexpr (!std::is_trivially_destructible_v<T>) {
    // relaxed: whoever destroys the queue has already synchronised with both
    // sides (joined their threads, or is one of them), which orders their last
    // stores of head_ and tail_ before these loads.
    const size_t head = head_.load(std::memory_order_relaxed);
    const size_t tail = tail_.load(std::memory_order_relaxed);
    for (size_t i = head; i != tail; ++i) std::destroy_at(Live(Slot(i)));
  }
  ::operator delete(slots_, kSlotsAlign);
}

template <typename T>
template <typename U>
bool SpscQueue<T>::Emplace(U&& value) {
  CheckProducerThread();
  // relaxed: only this thread stores tail_, so it reads its own last store.
  const size_t tail = tail_.load(std::memory_order_relaxed);
  if (tail - cached_head_ == capacity()) {
    // acquire: pairs with the consumer's release store of head_ in TryPop /
    // PopBurst, so its destruction of the slot we are about to reuse is done.
    cached_head_ = head_.load(std::memory_order_acquire);
    if (tail - cached_head_ == capacity()) return false;
  }
  std::construct_at(Slot(tail), std::forward<U>(value));
  // release: publishes the constructed T; pairs with the consumer's acquire load
  // of tail_ in TryPop / PopBurst.
  tail_.store(tail + 1, std::memory_order_release);
  return true;
}

template <typename T>
size_t SpscQueue<T>::PushBurst(std::span<T> values) {
  CheckProducerThread();
  // relaxed: only this thread stores tail_.
  const size_t tail = tail_.load(std::memory_order_relaxed);
  size_t room = capacity() - (tail - cached_head_);
  if (room < values.size()) {
    // acquire: pairs with the consumer's release store of head_ in TryPop /
    // PopBurst, so the slots it freed are fully destroyed before we reuse them.
    cached_head_ = head_.load(std::memory_order_acquire);
    room = capacity() - (tail - cached_head_);
  }
  const size_t n = std::min(room, values.size());
  if (n == 0) return 0;
  for (size_t i = 0; i < n; ++i) std::construct_at(Slot(tail + i), std::move(values[i]));
  // release: publishes all n values at once; pairs with the consumer's acquire
  // load of tail_ in TryPop / PopBurst.
  tail_.store(tail + n, std::memory_order_release);
  return n;
}

template <typename T>
std::optional<T> SpscQueue<T>::TryPop() {
  CheckConsumerThread();
  // relaxed: only this thread stores head_.
  const size_t head = head_.load(std::memory_order_relaxed);
  if (head == cached_tail_) {
    // acquire: pairs with the producer's release store of tail_ in Emplace /
    // PushBurst, so the T in slot `head` is fully constructed.
    cached_tail_ = tail_.load(std::memory_order_acquire);
    if (head == cached_tail_) return std::nullopt;
  }
  // The slot is destroyed and handed back by a guard that runs after the return
  // value has been built from it, so the optional is constructed straight in the
  // caller's storage. (Building a local optional and returning it made GCC 12
  // copy it through the stack: a failed store-to-load forward that cost about
  // 4 ns per pop in spsc_queue_bench.)
  struct SlotRelease {
    SpscQueue* queue;
    T* slot;
    size_t next_head;
    ~SlotRelease() {
      std::destroy_at(slot);
      // release: hands the destroyed slot back; pairs with the producer's
      // acquire load of head_ in Emplace / PushBurst.
      queue->head_.store(next_head, std::memory_order_release);
    }
  };
  const SlotRelease release{this, Live(Slot(head)), head + 1};
  return std::optional<T>(std::move(*release.slot));
}

template <typename T>
size_t SpscQueue<T>::PopBurst(std::span<T> out) {
  static_assert(std::is_nothrow_move_assignable_v<T>, "PopBurst move-assigns into out");
  CheckConsumerThread();
  // relaxed: only this thread stores head_.
  const size_t head = head_.load(std::memory_order_relaxed);
  size_t ready = cached_tail_ - head;
  if (ready < out.size()) {
    // acquire: pairs with the producer's release store of tail_ in Emplace /
    // PushBurst, so every T up to the loaded tail is fully constructed.
    cached_tail_ = tail_.load(std::memory_order_acquire);
    ready = cached_tail_ - head;
  }
  const size_t n = std::min(ready, out.size());
  if (n == 0) return 0;
  for (size_t i = 0; i < n; ++i) {
    T* slot = Live(Slot(head + i));
    out[i] = std::move(*slot);
    std::destroy_at(slot);
  }
  // release: hands all n destroyed slots back at once; pairs with the producer's
  // acquire load of head_ in Emplace / PushBurst.
  head_.store(head + n, std::memory_order_release);
  return n;
}

template <typename T>
size_t SpscQueue<T>::SizeApprox() const {
  // acquire: pairs with the consumer's release store of head_. The consumer had
  // already seen a tail_ >= this head, so the tail_ load below (by coherence)
  // cannot return less than it and the difference cannot underflow.
  const size_t head = head_.load(std::memory_order_acquire);
  // relaxed: only a count is wanted here, no slot contents are read.
  const size_t tail = tail_.load(std::memory_order_relaxed);
  // The consumer may pop and the producer refill between the two loads; clamp.
  return std::min(tail - head, capacity());
}

template <typename T>
void SpscQueue<T>::CheckProducerThread() {
#ifndef NDEBUG
  if (check_producer_) spsc_internal::CheckSoleUser(producer_thread_);
#endif
}

template <typename T>
void SpscQueue<T>::CheckConsumerThread() {
#ifndef NDEBUG
  if (check_consumer_) spsc_internal::CheckSoleUser(consumer_thread_);
#endif
}

}  // namespace earshot::dataplane

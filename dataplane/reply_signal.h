#pragma once
// Wakes the one control thread waiting for a given worker reply, and no other.
//
// Control threads that call into a worker wait for their own reply. Waking them
// with one condition variable woke every waiter for every reply, and since the
// worker may not take the waiters' mutex (the media path takes no lock), a
// notification could slip between a waiter's check and its wait, so waiters also
// polled. With a hundred concurrent API calls that was hundreds of thousands of
// wake-ups a second and tens of milliseconds of queueing (issue 6).
//
// Here each in-flight call has a futex word, picked by its sequence number
// modulo the table size. The worker bumps the word of the call it answered and
// wakes that word's waiters: a system call per command, none per
// packet. A waiter sleeps only while the word still holds the value it saw
// before it last looked for its reply, so no answer can be missed. Two calls
// whose sequences share a word just wake each other now and then; the reply
// itself always travels through the reply queue, the word is only the doorbell.

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace earshot::dataplane {

class ReplySignals {
 public:
  explicit ReplySignals(size_t words) : size_(words), words_(new Word[words]) {}

  // Control side: the value to pass to Wait, read before looking for the reply.
  uint32_t Observe(uint64_t sequence) const {
    return At(sequence).value.load(std::memory_order_acquire);
  }
  // Control side: sleeps until `sequence`'s word no longer holds `observed`,
  // `timeout` passes, or a signal interrupts (callers loop and look again).
  void Wait(uint64_t sequence, uint32_t observed, std::chrono::nanoseconds timeout) const {
    if (timeout <= std::chrono::nanoseconds(0)) return;
    timespec relative{};
    relative.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
    relative.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
    syscall(SYS_futex, &At(sequence).value, FUTEX_WAIT_PRIVATE, observed, &relative, nullptr, 0);
  }
  // Worker side, after the reply is in the queue.
  void Signal(uint64_t sequence) {
    Word& word = At(sequence);
    word.value.fetch_add(1, std::memory_order_release);
    syscall(SYS_futex, &word.value, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
  }

 private:
  // A cache line each, so that the worker's store for one call does not bounce
  // the line another caller is spinning into its wait on.
  struct alignas(64) Word {
    std::atomic<uint32_t> value{0};
  };
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));

  Word& At(uint64_t sequence) const { return words_[sequence % size_]; }

  size_t size_;
  std::unique_ptr<Word[]> words_;
};

}  // namespace earshot::dataplane

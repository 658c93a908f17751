#pragma once
// Packet indices and replay windows for SRTP and SRTCP (RFC 3711 §3.3.1,
// §3.3.2, Appendix A).
//
// Index. An SRTP packet's 48-bit index is ROC * 2^16 + SEQ; only SEQ is on
// the wire. EstimateSrtpIndex guesses the ROC from the highest index seen so
// far, choosing among ROC-1, ROC and ROC+1 the one that puts the packet
// closest to it (Appendix A). Two refinements, both as libsrtp does them so
// that the two agree packet for packet: ROC-1 is never guessed while the
// highest index is at most 2^15 (ROC 0 has no predecessor), and the guess is
// made by the caller only, so a forged packet moves nothing. An SRTCP index
// is explicit (31 bits in the packet).
//
// Window. ReplayWindow remembers the highest accepted index and which of the
// `size` indices below it were accepted, as a ring bitmap: index i is bit
// i mod capacity (capacity a power of two >= size, so the mod is a mask).
// Moving the top forward clears the bits between the old top and the new
// one, a word at a time. Check() is read-only; Accept() is called only once
// the packet has authenticated, so a failed packet leaves the window as it was.
// The bitmap is allocated by Init (setup); Check/Accept never allocate.
// A window is one core's state (STYLE.md §1): no lock.

#include <cstddef>
#include <cstdint>
#include <memory>

namespace earshot::dataplane {

// RFC 3711 Appendix A with libsrtp's ROC-0 rule. `highest` is the highest
// index accepted so far (0 before any).
uint64_t EstimateSrtpIndex(uint64_t highest, uint16_t seq);

enum class ReplayVerdict : uint8_t {
  kFresh,     // never seen: accept once authentic
  kReplayed,  // inside the window and already accepted
  kTooOld,    // size or more behind the highest
};

class ReplayWindow {
 public:
  static constexpr int kMaxSize = 32767;

  // Sizes the bitmap for `size` packets (1..kMaxSize) and empties it.
  // Setup only: allocates. False if size is out of range.
  [[nodiscard]] bool Init(int size);

  ReplayVerdict Check(uint64_t index) const;
  // Records `index` as accepted; call only after Check said kFresh and the
  // packet authenticated.
  void Accept(uint64_t index);

  // Back to no index seen (a reused stream slot); keeps the bitmap's memory.
  void Reset() { started_ = false; highest_ = 0; }

  // Forgets which indices were seen but keeps the highest (for re-keying:
  // packets under the old key cannot authenticate any more).
  void ClearBits();

  bool started() const { return started_; }
  uint64_t highest() const { return highest_; }
  int size() const { return size_; }

 private:
  bool TestBit(uint64_t index) const;
  void SetBit(uint64_t index);
  // Clears the bits of indices first..last (inclusive, last - first < capacity).
  void ClearRange(uint64_t first, uint64_t last);

  std::unique_ptr<uint64_t[]> bits_;
  size_t words_ = 0;
  uint64_t mask_ = 0;  // capacity - 1, capacity = words_ * 64
  int size_ = 0;
  uint64_t highest_ = 0;
  bool started_ = false;
};

}  // namespace earshot::dataplane

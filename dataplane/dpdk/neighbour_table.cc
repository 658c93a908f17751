#include "dataplane/dpdk/neighbour_table.h"

#include <time.h>

#include <algorithm>

namespace earshot::dataplane::dpdk {
namespace {

constexpr uint64_t kValid = uint64_t{1} << 63;
constexpr uint64_t kStatic = uint64_t{1} << 62;
constexpr uint64_t kMacBits = (uint64_t{1} << 48) - 1;

uint64_t Pack(const MacAddress& mac) {
  uint64_t word = 0;
  for (uint8_t byte : mac.bytes) word = word << 8 | byte;
  return word;
}

MacAddress Unpack(uint64_t word) {
  MacAddress mac;
  for (size_t i = 6; i > 0; --i) {
    mac.bytes[i - 1] = static_cast<uint8_t>(word);
    word >>= 8;
  }
  return mac;
}

}  // namespace

NeighbourTable::NeighbourTable(size_t capacity, std::chrono::nanoseconds refresh,
                               std::chrono::nanoseconds expiry)
    : refresh_ns_(refresh.count()),
      expiry_ns_(std::max(expiry, refresh).count()),
      capacity_(capacity == 0 ? 1 : capacity),
      entries_(new Entry[capacity_]) {}

NeighbourTable::Entry* NeighbourTable::Slot(uint32_t ip, bool claim) {
  // Fibonacci hashing spreads neighbouring addresses (10.0.0.1, .2 ...).
  const size_t start = static_cast<size_t>((ip * 2654435769u) % capacity_);
  for (size_t i = 0; i < capacity_; ++i) {
    Entry& entry = entries_[(start + i) % capacity_];
    uint32_t seen = entry.ip.load(std::memory_order_acquire);
    if (seen == ip) return &entry;
    if (seen != 0) continue;
    if (!claim) return nullptr;  // slots are claimed in probe order: it is not further on
    if (entry.ip.compare_exchange_strong(seen, ip, std::memory_order_acq_rel)) return &entry;
    if (seen == ip) return &entry;  // another thread claimed it for the same address
  }
  return nullptr;
}

bool NeighbourTable::Store(uint32_t ip, const MacAddress& mac, bool is_static, int64_t now_ns) {
  if (ip == 0) return false;
  Entry* entry = Slot(ip, true);
  if (entry == nullptr) return false;
  const uint64_t word = Pack(mac) | kValid | (is_static ? kStatic : 0);
  if (!is_static) {
    const uint64_t old = entry->mac.load(std::memory_order_acquire);
    if (old & kStatic) return (old & kMacBits) == Pack(mac);
    // The time first: a reader that sees a new MAC (acquire, pairing with the
    // release below) sees its time too. The same MAC again (the common case)
    // writes only the time, and only when it moved on noticeably.
    if (old != word || now_ns - entry->learnt_ns.load(std::memory_order_relaxed) > refresh_ns_ / 16) {
      entry->learnt_ns.store(now_ns, std::memory_order_relaxed);
    }
    if (old != word) entry->mac.store(word, std::memory_order_release);
    return true;
  }
  entry->mac.store(word, std::memory_order_release);
  return true;
}

bool NeighbourTable::Learn(uint32_t ip, const MacAddress& mac, int64_t now_ns) {
  return Store(ip, mac, false, now_ns);
}

bool NeighbourTable::Learn(uint32_t ip, const MacAddress& mac) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return Learn(ip, mac, int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec);
}

bool NeighbourTable::AddStatic(uint32_t ip, const MacAddress& mac) { return Store(ip, mac, true, 0); }

NeighbourTable::Neighbour NeighbourTable::Lookup(uint32_t ip, int64_t now_ns) const {
  if (ip == 0) return {};
  Entry* entry = const_cast<NeighbourTable*>(this)->Slot(ip, false);
  if (entry == nullptr) return {};
  const uint64_t word = entry->mac.load(std::memory_order_acquire);
  if (!(word & kValid)) return {};
  if (word & kStatic) return {Unpack(word & kMacBits), false};
  const int64_t age = now_ns - entry->learnt_ns.load(std::memory_order_relaxed);
  if (age >= expiry_ns_) return {};
  return {Unpack(word & kMacBits), age >= refresh_ns_};
}

std::optional<MacAddress> NeighbourTable::Find(uint32_t ip) const {
  if (ip == 0) return std::nullopt;
  Entry* entry = const_cast<NeighbourTable*>(this)->Slot(ip, false);
  if (entry == nullptr) return std::nullopt;
  const uint64_t word = entry->mac.load(std::memory_order_acquire);
  if (!(word & kValid)) return std::nullopt;
  return Unpack(word & kMacBits);
}

size_t NeighbourTable::size() const {
  size_t used = 0;
  for (size_t i = 0; i < capacity_; ++i) {
    if (entries_[i].mac.load(std::memory_order_acquire) & kValid) ++used;
  }
  return used;
}

}  // namespace earshot::dataplane::dpdk

#pragma once
// IPv4 -> MAC for the DPDK port, shared by its workers without a lock.
//
// Any worker may learn (an ARP reply or request can arrive on any RX queue)
// and every worker looks up next hops when it sends. The table is a fixed
// open-addressing array: a slot's `ip` is claimed once with a compare-exchange
// (0 -> ip) and never released, and its MAC is one 64-bit word (48 bits of MAC,
// a valid bit and a static bit) stored and loaded atomically, so a reader sees
// an old or a new MAC, never half of each. Static entries (configuration) are
// never overwritten by what the network says. When every slot is claimed,
// learning a new address fails (the caller counts it); slots are never freed,
// which suits a media tier that talks to a few next hops.
//
// Ageing. A learnt entry remembers when it was last learnt (its own atomic
// word, stored relaxed before the MAC's release store, so whoever sees a new
// MAC sees its time; a refresh of the same MAC writes only the time, and a
// reader may see the old time for a while, which only asks once more). Lookup says, with the MAC,
// whether the entry is due for a refresh (older than `refresh`): the sender
// then asks for the address again (ARP, rate-limited by the caller) while it
// keeps using the MAC, so a live neighbour is refreshed without a gap. An entry
// not learnt again for `expiry` is forgotten by Lookup (the next hop moved or
// went away): frames are held and the address asked for as if it were new.
// Static entries never age. Times are CLOCK_MONOTONIC nanoseconds given by the
// caller, so tests need no clock.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "dataplane/dpdk/frame.h"

namespace earshot::dataplane::dpdk {

class NeighbourTable {
 public:
  static constexpr std::chrono::seconds kDefaultRefresh{60};
  static constexpr std::chrono::seconds kDefaultExpiry{300};

  explicit NeighbourTable(size_t capacity = 1024, std::chrono::nanoseconds refresh = kDefaultRefresh,
                          std::chrono::nanoseconds expiry = kDefaultExpiry);

  // Any thread. False if the table is full or `ip` is a static entry that
  // says otherwise (then nothing changes). `now_ns`: when it was heard.
  bool Learn(uint32_t ip, const MacAddress& mac, int64_t now_ns);
  bool Learn(uint32_t ip, const MacAddress& mac);  // now
  // Setup only (before workers run); overrides anything learnt.
  bool AddStatic(uint32_t ip, const MacAddress& mac);

  struct Neighbour {
    std::optional<MacAddress> mac;  // unset: unknown, or expired
    bool refresh = false;           // known but due for a refresh: ask again
  };
  // Any thread: the next hop's MAC as it stands at `now_ns` (see Ageing).
  Neighbour Lookup(uint32_t ip, int64_t now_ns) const;
  // Any thread: the MAC whatever its age (diagnostics and tests).
  std::optional<MacAddress> Find(uint32_t ip) const;
  size_t size() const;

 private:
  struct Entry {
    // Claimed with compare_exchange (acq_rel) and read with acquire; pairs with
    // nothing else: a slot's ip never changes once set.
    std::atomic<uint32_t> ip{0};
    // Stored with release after the claim; loaded with acquire by Find.
    std::atomic<uint64_t> mac{0};
    // When a learnt entry was last learnt: relaxed, before `mac`'s release
    // store (see Ageing).
    std::atomic<int64_t> learnt_ns{0};
  };
  Entry* Slot(uint32_t ip, bool claim);
  bool Store(uint32_t ip, const MacAddress& mac, bool is_static, int64_t now_ns);

  int64_t refresh_ns_;
  int64_t expiry_ns_;
  size_t capacity_;
  std::unique_ptr<Entry[]> entries_;
};

}  // namespace earshot::dataplane::dpdk

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
// learning a new address fails (the caller counts it); nothing ages out, which
// suits a media tier that talks to a few next hops.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "dataplane/dpdk/frame.h"

namespace earshot::dataplane::dpdk {

class NeighbourTable {
 public:
  explicit NeighbourTable(size_t capacity = 1024);

  // Any thread. False if the table is full or `ip` is a static entry that
  // says otherwise (then nothing changes).
  bool Learn(uint32_t ip, const MacAddress& mac);
  // Setup only (before workers run); overrides anything learnt.
  bool AddStatic(uint32_t ip, const MacAddress& mac);
  // Any thread.
  std::optional<MacAddress> Find(uint32_t ip) const;
  size_t size() const;

 private:
  struct Entry {
    // Claimed with compare_exchange (acq_rel) and read with acquire; pairs with
    // nothing else: a slot's ip never changes once set.
    std::atomic<uint32_t> ip{0};
    // Stored with release after the claim; loaded with acquire by Find.
    std::atomic<uint64_t> mac{0};
  };
  Entry* Slot(uint32_t ip, bool claim);
  bool Store(uint32_t ip, const MacAddress& mac, bool is_static);

  size_t capacity_;
  std::unique_ptr<Entry[]> entries_;
};

}  // namespace earshot::dataplane::dpdk

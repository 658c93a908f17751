#pragma once
// DPDK's Environment Abstraction Layer, initialised once per process.
//
// rte_eal_init may run only once in a process's life (a second call fails even
// after rte_eal_cleanup), so Eal is a move-only owner handed out at most once:
// the composition root creates it at start-up and keeps it until exit, when its
// destructor runs rte_eal_cleanup. The calling thread keeps its CPU affinity
// (rte_eal_init would bind it, and so every later thread, to the main lcore).

#include <string>
#include <vector>

#include "codecs/result.h"

namespace earshot::dataplane::dpdk {

class Eal {
 public:
  // Initialises the EAL with `args` (without the program name), e.g.
  // {"-l", "0", "--no-huge", "--no-pci", "--vdev=net_null0"}. FAILED_PRECONDITION
  // if this process already initialised it; INVALID_ARGUMENT with DPDK's reason
  // when the EAL refuses the arguments or the machine (no hugepages, ...).
  [[nodiscard]] static Result<Eal> Init(const std::vector<std::string>& args);

  Eal(Eal&& other) noexcept : owner_(other.owner_) { other.owner_ = false; }
  Eal& operator=(Eal&&) = delete;
  Eal(const Eal&) = delete;
  Eal& operator=(const Eal&) = delete;
  ~Eal();

  // Ethernet ports the EAL found (PCI devices and vdevs).
  int AvailablePorts() const;

 private:
  Eal() = default;
  bool owner_ = true;
};

}  // namespace earshot::dataplane::dpdk

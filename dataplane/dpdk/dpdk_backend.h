#pragma once
// The DPDK back end as earshotd starts it: the EAL (once per process), then the
// port. Kept apart from control/ so that the daemon only maps its
// configuration onto these options, and tests can start it the same way.

#include <memory>
#include <string>
#include <vector>

#include "codecs/result.h"
#include "dataplane/dpdk/dpdk_packet_io.h"
#include "dataplane/dpdk/eal.h"

namespace earshot::dataplane::dpdk {

// Destroy the workers (their PacketIos) first; then the port goes before the EAL.
struct DpdkBackend {
  Eal eal;
  std::unique_ptr<DpdkPort> port;
};

// `port_spec` is a PCI address or a vdev string (PortNameFromSpec); it fills
// options.port_name. Errors name what to fix: EAL arguments or no hugepages
// (INVALID_ARGUMENT / FAILED_PRECONDITION), port not found (NOT_FOUND), not
// enough queues, no memory for the pools (see DpdkPort::Create).
[[nodiscard]] Result<DpdkBackend> StartDpdkBackend(const std::vector<std::string>& eal_args,
                                                   const std::string& port_spec,
                                                   DpdkPortOptions options);

// Reserved hugepages of the default size, from /proc/meminfo (0 if unknown).
long HugepagesReserved();

}  // namespace earshot::dataplane::dpdk

#include "dataplane/dpdk/dpdk_backend.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace earshot::dataplane::dpdk {

long HugepagesReserved() {
  FILE* file = std::fopen("/proc/meminfo", "r");
  if (file == nullptr) return 0;
  char line[256];
  long total = 0;
  while (std::fgets(line, sizeof line, file) != nullptr) {
    if (std::sscanf(line, "HugePages_Total: %ld", &total) == 1) break;
  }
  std::fclose(file);
  return total;
}

Result<DpdkBackend> StartDpdkBackend(const std::vector<std::string>& eal_args,
                                     const std::string& port_spec, DpdkPortOptions options) {
  PortSpec spec = PortNameFromSpec(eal_args, port_spec);
  const bool no_huge = std::find(spec.eal_args.begin(), spec.eal_args.end(), "--no-huge") !=
                       spec.eal_args.end();
  if (!no_huge && HugepagesReserved() == 0) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "DPDK: no hugepages are reserved: reserve some as root (echo 512 > "
                     "/proc/sys/vm/nr_hugepages) or add --no-huge to the EAL arguments "
                     "(--dpdk-eal '--no-huge -m 512 ...')");
  }
  Result<Eal> eal = Eal::Init(spec.eal_args);
  if (!eal) return tl::unexpected(std::move(eal.error()));
  options.port_name = spec.name;
  Result<std::unique_ptr<DpdkPort>> port = DpdkPort::Create(options);
  if (!port) return tl::unexpected(std::move(port.error()));
  return DpdkBackend{std::move(*eal), std::move(*port)};
}

}  // namespace earshot::dataplane::dpdk

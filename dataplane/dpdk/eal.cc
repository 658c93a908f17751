#include "dataplane/dpdk/eal.h"

#include <pthread.h>
#include <sched.h>

#include <atomic>

#include <fmt/format.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

namespace earshot::dataplane::dpdk {
namespace {

// Set by the first Init, never cleared: rte_eal_init cannot run twice.
std::atomic<bool> g_initialised{false};

}  // namespace

Result<Eal> Eal::Init(const std::vector<std::string>& args) {
  if (g_initialised.exchange(true)) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     "the DPDK EAL is already initialised in this process");
  }
  // rte_eal_init may permute argv; give it copies it can keep.
  std::vector<std::string> storage = {"earshotd"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // rte_eal_init binds the calling thread to the main lcore's CPUs, and every
  // thread made later (workers, gRPC) would inherit that. Earshot's workers are
  // ordinary threads pinned by the worker pool when asked, so give the thread
  // its CPUs back.
  cpu_set_t cpus;
  const bool saved = pthread_getaffinity_np(pthread_self(), sizeof cpus, &cpus) == 0;
  int parsed = rte_eal_init(static_cast<int>(storage.size()), argv.data());
  if (saved) pthread_setaffinity_np(pthread_self(), sizeof cpus, &cpus);
  if (parsed < 0) {
    return InvalidArgument(fmt::format("DPDK EAL initialisation failed: {} (arguments: {})",
                                       rte_strerror(rte_errno), fmt::join(args, " ")));
  }
  return Eal();
}

Eal::~Eal() {
  if (owner_) rte_eal_cleanup();
}

int Eal::AvailablePorts() const { return static_cast<int>(rte_eth_dev_count_avail()); }

}  // namespace earshot::dataplane::dpdk

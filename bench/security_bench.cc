// Costs of "who may do what" (control/policy.h, control/audit_log.h).
//
// BM_PolicyCheckMode: one Authorizer::CheckMode against a policy of N grants
// where only the last one matches (the worst case). Budget: under 2 us at
// 100 grants -- an Attach already costs a worker round trip of ~100 us.
// BM_AuditAppend: one record appended and fdatasync'ed, by T threads at once
// (group commit: the sync is shared). Budget: the disk's sync latency; the
// figure to read is items_per_second.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <benchmark/benchmark.h>

#include "control/audit_log.h"
#include "control/policy.h"

namespace earshot::control {
namespace {

void BM_PolicyCheckMode(benchmark::State& state) {
  Policy policy;
  const int grants = static_cast<int>(state.range(0));
  for (int i = 0; i < grants; ++i) {
    Grant grant;
    grant.principals = {"sip-" + std::to_string(i)};
    grant.supervisors = {"*"};
    grant.modes = 0x3;  // listen, whisper
    grant.sessions = {LabelSelector{{{"team", "team-" + std::to_string(i)}}}};
    policy.grants.push_back(grant);
  }
  const std::string principal = "sip-" + std::to_string(grants - 1);
  const std::map<std::string, std::string> labels = {{"team", "team-" + std::to_string(grants - 1)},
                                                     {"site", "paris"}};
  std::unique_ptr<Authorizer> authorizer = Authorizer::FromPolicy(std::move(policy));
  for (auto _ : state) {
    Result<void> allowed =
        authorizer->CheckMode(principal, "alice", mixer::SupervisorMode::kWhisper, "call-1", labels);
    benchmark::DoNotOptimize(allowed);
  }
}
BENCHMARK(BM_PolicyCheckMode)->Arg(1)->Arg(10)->Arg(100);

void BM_AuditAppend(benchmark::State& state) {
  // Where the disk is: $EARSHOT_BENCH_DIR, else /tmp (often tmpfs: much faster).
  static std::unique_ptr<AuditLog> log;
  if (state.thread_index() == 0) {
    const char* dir = std::getenv("EARSHOT_BENCH_DIR");
    const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/earshot_audit_bench.log";
    log.reset();
    std::remove(path.c_str());
    log = std::move(*AuditLog::Open(path));
  }
  AuditRecord record{"", "sip-a", "alice", "attach", "call-1", "sup-1", "", "listen", "ok", ""};
  for (auto _ : state) {
    Result<void> appended = log->Append(record);
    if (!appended) state.SkipWithError(appended.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuditAppend)->Threads(1)->Threads(8)->UseRealTime();

}  // namespace
}  // namespace earshot::control

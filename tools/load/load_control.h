#pragma once
// earshot-load's side of the gRPC API: sets calls up at the requested rate,
// changes supervisor modes during the run, and tears everything down. Runs on
// its own thread (RPCs block); the RTP driver hears about each call and each
// mode change through its Inbox.
//
// Per call i: CreateSession "load-RUN-i", AddLeg customer and agent, Attach
// sup-1..sup-K, every leg with the tool's socket as its remote and latching on.
// A call whose set-up fails is not driven; its session (if created) is deleted
// with the others at tear-down. Churn calls (RunChurn) are sessions
// "load-RUN-churn-K", K counting every churn set-up; a failed one is deleted
// at once and its slot freed.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tools/earshotctl/control_api.h"
#include "tools/load/load_histogram.h"
#include "tools/load/load_options.h"
#include "tools/load/load_report.h"
#include "tools/load/load_rtp_driver.h"

namespace earshot::load {

// RPCs made and failed, by gRPC status code name ("UNAVAILABLE"...).
struct RpcCounts {
  int64_t calls = 0;
  std::map<std::string, int64_t> failures;
  std::string first_failure;  // "AddLeg: UNAVAILABLE: ..."
  int64_t failed() const;
};

std::string StatusCodeName(grpc::StatusCode code);

class CallController {
 public:
  CallController(ctl::ControlApi& api, const LoadOptions& options, RtpDriver& driver);

  // Sets up every call at options.cps; then sets `stop_at_ns` to the end of the
  // steady part and makes mode changes until then. Stops early when `abort`.
  void Run(std::atomic<int64_t>& stop_at_ns, const std::atomic<bool>& abort);

  // With --churn-cps, on a thread of its own: once the steady calls are up
  // (`stop_at_ns` set), sets churn calls up and tears them down on the slots
  // after the steady ones (load_churn.h) until shortly before the end; every
  // churn call is down when it returns.
  void RunChurn(const std::atomic<int64_t>& stop_at_ns, const std::atomic<bool>& abort);

  // Deletes every session this run created (after the driver has stopped).
  void TearDown();

  int64_t calls_up() const { return calls_up_.load(std::memory_order_relaxed); }
  int64_t calls_failed() const { return calls_failed_; }
  int64_t mode_changes() const { return mode_changes_; }
  const std::string& run_id() const { return run_id_; }
  RpcCounts rpc_counts() const;
  // Safe from any thread (the progress line reads it while churn runs).
  ChurnFigures churn_figures() const;

 private:
  // Sets up `call` (a steady call or a churn slot) as session `session_id`;
  // `created` says whether the session exists (to delete), `modes` gets the
  // supervisors' initial modes.
  bool SetUpCall(int call, const std::string& session_id, std::vector<SupervisorMode>& modes, bool& created);
  void DeleteSession(const std::string& id);
  void StopChurnCall(int slot, const std::string& session_id);
  void ChangeMode(int call, int supervisor, SupervisorMode mode);
  template <typename T>
  bool Count(const char* rpc, const ctl::RpcResult<T>& result);
  earshot::v1::LegSpec Spec(earshot::v1::Role role, int call, int party) const;

  ctl::ControlApi& api_;
  LoadOptions options_;
  RtpDriver& driver_;
  std::string run_id_;
  std::vector<std::string> sessions_;  // created, to delete
  std::vector<std::vector<SupervisorMode>> modes_;  // per call up, as the control side knows them
  std::vector<int> up_;  // calls that are up
  std::atomic<int64_t> calls_up_{0};
  int64_t calls_failed_ = 0;
  int64_t mode_changes_ = 0;
  mutable std::mutex rpc_mutex_;  // rpc_ is read by the main thread for the report
  RpcCounts rpc_;
  // Churn: written by the churn thread, read by the main thread.
  mutable std::mutex churn_mutex_;
  ChurnFigures churn_;
  DurationHistogram churn_setup_;
  int64_t churn_downs_posted_ = 0;  // churn thread only
};

}  // namespace earshot::load

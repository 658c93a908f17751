#pragma once
// The demo's side of earshotd's gRPC API (control/proto/earshot/v1): one
// session with a customer leg, an agent leg and a supervisor, driven the way a
// SIP server would drive it. Every call has a 5 s deadline; failures come back
// as errors naming the RPC, the status code and earshotd's message.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codecs/result.h"
#include "earshot/v1/sessions.grpc.pb.h"

namespace earshot::demo {

struct LegAddress {
  std::string ip;
  uint32_t port = 0;
};

class DemoCall {
 public:
  // Connects to `address` ("host:port"), waiting up to `connect_seconds`.
  [[nodiscard]] static Result<std::unique_ptr<DemoCall>> Connect(const std::string& address,
                                                                 int connect_seconds);

  [[nodiscard]] Result<void> CreateSession(const std::string& id);
  // A PCMU leg (payload type 0, 20 ms) whose far end is 127.0.0.1:`phone_port`.
  [[nodiscard]] Result<LegAddress> AddLeg(const std::string& leg, v1::Role role, uint16_t phone_port);
  [[nodiscard]] Result<LegAddress> Attach(const std::string& leg, uint16_t phone_port, v1::Mode mode);
  [[nodiscard]] Result<void> SetMode(const std::string& leg, v1::Mode mode);
  [[nodiscard]] Result<v1::SessionStats> Stats();
  [[nodiscard]] Result<void> Detach(const std::string& leg);
  // Deletes the session if one was created; safe to call twice.
  [[nodiscard]] Result<void> DeleteSession();

  const std::string& session_id() const { return session_id_; }

 private:
  explicit DemoCall(std::shared_ptr<grpc::Channel> channel);

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Sessions::Stub> sessions_;
  std::unique_ptr<v1::Supervision::Stub> supervision_;
  std::unique_ptr<v1::Stats::Stub> stats_;
  std::string session_id_;
};

}  // namespace earshot::demo

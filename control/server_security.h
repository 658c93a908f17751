#pragma once
// Everything the control server needs for "who may do what", built from the
// configuration in one place: the gRPC server credentials (plain, TLS, or mTLS),
// the authenticator, the policy, the audit log and the ApiGuard over them.
//
//   no tokens, no client CA   insecure, everyone "anonymous" (loopback only;
//                             config.cc refuses anything else), warning
//   tls_cert/key              TLS; tokens over TLS
//   + tls_client_ca_file      mTLS: client certificates verified against the CA;
//                             required unless tokens are configured too (then
//                             a caller may use either)

#include <memory>

#include <grpcpp/security/server_credentials.h>

#include "codecs/result.h"
#include "control/api_guard.h"
#include "control/audit_log.h"
#include "control/auth.h"
#include "control/call_control.h"
#include "control/config.h"
#include "control/policy.h"

namespace earshot::control {

struct ServerSecurity {
  std::unique_ptr<Authorizer> authorizer;
  std::unique_ptr<Authenticator> authenticator;
  std::unique_ptr<AuditLog> audit;  // null without audit_log
  std::unique_ptr<ApiGuard> guard;
  std::shared_ptr<grpc::ServerCredentials> credentials;
};

// Loads the files and opens the audit log; logs what is in force and warns
// about what is weak. INVALID_ARGUMENT for bad files, UNAVAILABLE or
// FAILED_PRECONDITION for an audit log that cannot be continued.
[[nodiscard]] Result<std::unique_ptr<ServerSecurity>> MakeServerSecurity(const Config& config,
                                                                         CallControl& control);

}  // namespace earshot::control

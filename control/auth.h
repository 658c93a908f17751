#pragma once
// Authentication: who is calling the control API (PRODUCT.md "Permissions and
// audit"). A caller is a principal, found from
//
//   * a bearer token (`authorization: Bearer TOKEN` metadata), looked up in
//     the tokens file, which holds SHA-256 hashes of tokens, never tokens:
//         # sha256(token) in hex       principal
//         9f86d081884c7d65...0f00a08   sip-a
//     (make a line with: printf %s "$TOKEN" | sha256sum);
//   * or a TLS client certificate verified against tls_client_ca_file: the
//     policy's `subjects` map its subject (RFC 2253, last RDN first: "O=y,CN=x") to a
//     principal, else its CN is the principal.
//
// A token, when sent, must be valid even if a certificate was presented too.
// With neither configured, every caller is the principal "anonymous"; earshotd
// then listens on loopback only (config.cc) and warns.
//
// Threads: Authenticate is called by every API thread; Reload swaps the token
// table as a whole under a mutex (SIGHUP), like the policy.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/server_context.h>

#include "codecs/result.h"
#include "control/policy.h"

namespace earshot::control {

struct Principal {
  std::string name;
  std::string method;  // "token", "certificate" or "none"
};

inline constexpr std::string_view kAnonymousPrincipal = "anonymous";

struct TokenEntry {
  std::string hash;  // sha256 hex
  std::string principal;
};

// Parses a tokens file's text; errors name the line.
[[nodiscard]] Result<std::vector<TokenEntry>> ParseTokens(std::string_view text, std::string_view origin);
[[nodiscard]] Result<std::vector<TokenEntry>> LoadTokensFile(const std::string& path);

class Authenticator {
 public:
  // `tokens_file`: empty for none. `client_certificates`: the server verifies
  // client certificates (mTLS). `authorizer` maps certificate subjects and
  // must outlive this.
  [[nodiscard]] static Result<std::unique_ptr<Authenticator>> Create(const std::string& tokens_file,
                                                                     bool client_certificates,
                                                                     const Authorizer& authorizer);
  // Reads the tokens file again; on an error the old tokens stay valid.
  [[nodiscard]] Result<void> Reload();

  // The caller's principal, or UNAUTHENTICATED saying what was missing or wrong.
  [[nodiscard]] Result<Principal> Authenticate(const grpc::ServerContext& context) const;

  // Neither tokens nor client certificates: everyone is "anonymous".
  bool anonymous() const { return tokens_file_.empty() && !client_certificates_; }
  size_t token_count() const;

 private:
  Authenticator(std::string tokens_file, bool client_certificates, const Authorizer& authorizer)
      : tokens_file_(std::move(tokens_file)),
        client_certificates_(client_certificates),
        authorizer_(authorizer) {}
  std::optional<std::string> FindToken(std::string_view token) const;

  const std::string tokens_file_;
  const bool client_certificates_;
  const Authorizer& authorizer_;
  mutable std::mutex mutex_;  // guards tokens_ (the pointer)
  std::shared_ptr<const std::vector<TokenEntry>> tokens_;
};

}  // namespace earshot::control

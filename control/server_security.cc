#include "control/server_security.h"

#include <fmt/format.h>

#include "control/auth_config.h"
#include "control/logging.h"

namespace earshot::control {

Result<std::unique_ptr<ServerSecurity>> MakeServerSecurity(const Config& config, CallControl& control) {
  auto security = std::make_unique<ServerSecurity>();
  Result<std::unique_ptr<Authorizer>> authorizer = Authorizer::Create(config.policy_file);
  if (!authorizer) return tl::unexpected(authorizer.error());
  security->authorizer = std::move(*authorizer);
  const bool client_certificates = !config.tls_client_ca_file.empty();
  Result<std::unique_ptr<Authenticator>> authenticator =
      Authenticator::Create(config.auth_tokens_file, client_certificates, *security->authorizer);
  if (!authenticator) return tl::unexpected(authenticator.error());
  security->authenticator = std::move(*authenticator);

  if (!config.audit_log.empty()) {
    AuditLogOpened opened;
    Result<std::unique_ptr<AuditLog>> audit = AuditLog::Open(config.audit_log, &opened);
    if (!audit) return tl::unexpected(audit.error());
    security->audit = std::move(*audit);
    Log(opened.dropped_tail_bytes > 0 ? LogLevel::kWarn : LogLevel::kInfo, "audit_log_opened",
        {{"path", config.audit_log},
         {"records", std::to_string(opened.records)},
         {"last_hash", opened.last_hash},
         {"dropped_incomplete_bytes", std::to_string(opened.dropped_tail_bytes)}});
  }
  security->guard = std::make_unique<ApiGuard>(*security->authenticator, *security->authorizer,
                                               security->audit.get(), control);

  if (config.tls_cert_file.empty()) {
    security->credentials = grpc::InsecureServerCredentials();
  } else {
    Result<std::string> cert = ReadSecurityFile(config.tls_cert_file, "tls_cert_file");
    if (!cert) return tl::unexpected(cert.error());
    Result<std::string> key = ReadSecurityFile(config.tls_key_file, "tls_key_file");
    if (!key) return tl::unexpected(key.error());
    grpc::SslServerCredentialsOptions options(
        !client_certificates ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
        : config.auth_tokens_file.empty() ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                          : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
    if (client_certificates) {
      Result<std::string> ca = ReadSecurityFile(config.tls_client_ca_file, "tls_client_ca_file");
      if (!ca) return tl::unexpected(ca.error());
      options.pem_root_certs = *ca;
    }
    options.pem_key_cert_pairs.push_back({*key, *cert});
    security->credentials = grpc::SslServerCredentials(options);
  }

  Log(LogLevel::kInfo, "security",
      {{"tls", config.tls_cert_file.empty() ? "off" : client_certificates ? "mtls" : "server-only"},
       {"tokens", config.auth_tokens_file.empty() ? "off" : std::to_string(security->authenticator->token_count())},
       {"policy", config.policy_file.empty() ? "open" : fmt::format("{} grants", security->authorizer->grant_count())},
       {"audit_log", config.audit_log.empty() ? "off" : config.audit_log}});
  if (security->authenticator->anonymous()) {
    Log(LogLevel::kWarn, "no_authentication",
        {{"address", config.grpc_listen.ToString()},
         {"why", "no auth_tokens_file or tls_client_ca_file: every local process may control and "
                 "listen to calls; loopback only"}});
  } else if (!config.auth_tokens_file.empty() && config.tls_cert_file.empty() &&
             !IsLoopbackHost(config.grpc_listen.host)) {
    Log(LogLevel::kWarn, "tokens_in_clear",
        {{"address", config.grpc_listen.ToString()},
         {"why", "bearer tokens cross the network unencrypted; set tls_cert_file and tls_key_file"}});
  }
  if (config.policy_file.empty()) {
    Log(LogLevel::kWarn, "no_policy",
        {{"why", "no policy_file: every authenticated caller may use every mode on every session"}});
  }
  return security;
}

}  // namespace earshot::control

#pragma once
// The configuration of authentication, policy and audit (config.h keys
// auth_tokens_file, tls_cert_file, tls_key_file, tls_client_ca_file,
// policy_file, audit_log), kept apart from config.cc so that the security
// rules read in one place.

#include <string>

#include "codecs/result.h"
#include "control/config.h"

namespace earshot::control {

// 127.0.0.0/8, ::1 or localhost.
bool IsLoopbackHost(const std::string& host);

// Authentication is configured: bearer tokens or client certificates.
bool AuthConfigured(const Config& config);

// Relations between the security fields, and the rule that a non-loopback
// grpc_listen needs authentication. INVALID_ARGUMENT naming the keys and flags.
[[nodiscard]] Result<void> ValidateSecurityConfig(const Config& config);

// Reads every configured security file (tokens, policy, TLS material) and
// parses what it can, so that a bad file stops earshotd with exit code 2
// before it starts. The audit log is opened (created) later, by the server.
[[nodiscard]] Result<void> CheckSecurityFiles(const Config& config);

// Reads a whole file (TLS PEM); INVALID_ARGUMENT naming the key when it cannot.
[[nodiscard]] Result<std::string> ReadSecurityFile(const std::string& path, std::string_view key);

// The security keys as YAML lines for Config::ToYaml.
std::string SecurityYaml(const Config& config);

}  // namespace earshot::control

#include "control/auth_config.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "control/auth.h"
#include "control/policy.h"

namespace earshot::control {

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  return false;
}

bool AuthConfigured(const Config& config) {
  return !config.auth_tokens_file.empty() || !config.tls_client_ca_file.empty();
}

Result<void> ValidateSecurityConfig(const Config& config) {
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return InvalidArgument(
        "invalid tls_cert_file/tls_key_file (--tls-cert-file/--tls-key-file): give both or neither");
  }
  if (!config.tls_client_ca_file.empty() && config.tls_cert_file.empty()) {
    return InvalidArgument(
        "invalid tls_client_ca_file (--tls-client-ca-file): client certificates need TLS; set "
        "tls_cert_file and tls_key_file (--tls-cert-file, --tls-key-file) too");
  }
  if (!IsLoopbackHost(config.grpc_listen.host) && !AuthConfigured(config)) {
    return InvalidArgument(fmt::format(
        "refusing to listen for gRPC on {} (grpc_listen, --grpc-listen) without authentication: "
        "anyone who reaches it could listen to calls; set auth_tokens_file (--auth-tokens-file) "
        "or tls_client_ca_file (--tls-client-ca-file), or listen on a loopback address",
        config.grpc_listen.ToString()));
  }
  return {};
}

Result<std::string> ReadSecurityFile(const std::string& path, std::string_view key) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return InvalidArgument(fmt::format("cannot read {} '{}': {}", key, path, std::strerror(errno)));
  }
  std::string text;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  std::fclose(file);
  if (text.empty()) return InvalidArgument(fmt::format("{} '{}' is empty", key, path));
  return text;
}

Result<void> CheckSecurityFiles(const Config& config) {
  if (!config.auth_tokens_file.empty()) {
    Result<std::vector<TokenEntry>> tokens = LoadTokensFile(config.auth_tokens_file);
    if (!tokens) return tl::unexpected(tokens.error());
  }
  if (!config.policy_file.empty()) {
    Result<Policy> policy = LoadPolicyFile(config.policy_file);
    if (!policy) return tl::unexpected(policy.error());
  }
  const std::pair<const std::string*, std::string_view> pem[] = {
      {&config.tls_cert_file, "tls_cert_file"},
      {&config.tls_key_file, "tls_key_file"},
      {&config.tls_client_ca_file, "tls_client_ca_file"}};
  for (const auto& [path, key] : pem) {
    if (path->empty()) continue;
    Result<std::string> text = ReadSecurityFile(*path, key);
    if (!text) return tl::unexpected(text.error());
    if (text->find("-----BEGIN ") == std::string::npos) {
      return InvalidArgument(fmt::format("invalid {} '{}': not a PEM file", key, *path));
    }
  }
  return {};
}

std::string SecurityYaml(const Config& config) {
  return fmt::format(
      "auth_tokens_file: \"{}\"\ntls_cert_file: \"{}\"\ntls_key_file: \"{}\"\n"
      "tls_client_ca_file: \"{}\"\npolicy_file: \"{}\"\naudit_log: \"{}\"\n",
      config.auth_tokens_file, config.tls_cert_file, config.tls_key_file, config.tls_client_ca_file,
      config.policy_file, config.audit_log);
}

}  // namespace earshot::control

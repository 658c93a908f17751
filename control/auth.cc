#include "control/auth.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>

#include "control/sha256.h"

namespace earshot::control {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

tl::unexpected<Error> Unauthenticated(std::string message) {
  return MakeError(ErrorCode::kUnauthenticated, std::move(message));
}

std::optional<std::string> FirstProperty(const grpc::AuthContext& auth, const char* name) {
  std::vector<grpc::string_ref> values = auth.FindPropertyValues(name);
  if (values.empty()) return std::nullopt;
  return std::string(values.front().data(), values.front().size());
}

}  // namespace

Result<std::vector<TokenEntry>> ParseTokens(std::string_view text, std::string_view origin) {
  std::vector<TokenEntry> tokens;
  size_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    ++line_number;
    size_t end = text.find('\n', start);
    std::string_view line = Trim(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    start = end == std::string_view::npos ? text.size() : end + 1;
    if (line.empty() || line.front() == '#') continue;
    size_t space = line.find_first_of(" \t");
    std::string_view hash = line.substr(0, space);
    std::string_view principal = space == std::string_view::npos ? std::string_view() : Trim(line.substr(space));
    if (!IsSha256Hex(hash) || principal.empty() || principal.find_first_of(" \t") != std::string_view::npos) {
      return InvalidArgument(fmt::format(
          "{}:{}: expected 'SHA256HEX PRINCIPAL' (64 lowercase hex digits of sha256(token), then one "
          "name); make one with: printf %s \"$TOKEN\" | sha256sum",
          origin, line_number));
    }
    tokens.push_back(TokenEntry{std::string(hash), std::string(principal)});
  }
  return tokens;
}

Result<std::vector<TokenEntry>> LoadTokensFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return InvalidArgument(fmt::format("cannot read tokens file '{}': {}", path, std::strerror(errno)));
  }
  std::string text;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  std::fclose(file);
  return ParseTokens(text, path);
}

Result<std::unique_ptr<Authenticator>> Authenticator::Create(const std::string& tokens_file,
                                                             bool client_certificates,
                                                             const Authorizer& authorizer) {
  std::unique_ptr<Authenticator> authenticator(
      new Authenticator(tokens_file, client_certificates, authorizer));
  if (!tokens_file.empty()) {
    Result<void> loaded = authenticator->Reload();
    if (!loaded) return tl::unexpected(loaded.error());
  }
  return authenticator;
}

Result<void> Authenticator::Reload() {
  if (tokens_file_.empty()) return {};
  Result<std::vector<TokenEntry>> tokens = LoadTokensFile(tokens_file_);
  if (!tokens) return tl::unexpected(tokens.error());
  auto fresh = std::make_shared<const std::vector<TokenEntry>>(std::move(*tokens));
  std::lock_guard lock(mutex_);
  tokens_.swap(fresh);
  return {};
}

size_t Authenticator::token_count() const {
  std::lock_guard lock(mutex_);
  return tokens_ == nullptr ? 0 : tokens_->size();
}

std::optional<std::string> Authenticator::FindToken(std::string_view token) const {
  std::shared_ptr<const std::vector<TokenEntry>> tokens;
  {
    std::lock_guard lock(mutex_);
    tokens = tokens_;
  }
  if (tokens == nullptr) return std::nullopt;
  const std::string hash = Sha256Hex(token);
  std::optional<std::string> found;
  for (const TokenEntry& entry : *tokens) {  // every entry compared: no early exit to time
    if (ConstantTimeEquals(entry.hash, hash) && !found) found = entry.principal;
  }
  return found;
}

Result<Principal> Authenticator::Authenticate(const grpc::ServerContext& context) const {
  if (anonymous()) return Principal{std::string(kAnonymousPrincipal), "none"};
  const auto& metadata = context.client_metadata();
  auto header = metadata.find("authorization");
  if (header != metadata.end()) {
    std::string_view value(header->second.data(), header->second.size());
    constexpr std::string_view kBearer = "Bearer ";
    if (!value.starts_with(kBearer)) {
      return Unauthenticated("the authorization metadata must be 'Bearer TOKEN'");
    }
    if (tokens_file_.empty()) {
      return Unauthenticated("this server takes no bearer tokens (no auth_tokens_file); use a client certificate");
    }
    std::optional<std::string> principal = FindToken(Trim(value.substr(kBearer.size())));
    if (!principal) return Unauthenticated("the bearer token is not valid");
    return Principal{*principal, "token"};
  }
  if (client_certificates_) {
    std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
    if (auth != nullptr) {
      std::optional<std::string> subject = FirstProperty(*auth, GRPC_X509_SUBJECT_PROPERTY_NAME);
      if (subject) {
        if (std::optional<std::string> mapped = authorizer_.SubjectPrincipal(*subject)) {
          return Principal{*mapped, "certificate"};
        }
        std::optional<std::string> common_name = FirstProperty(*auth, GRPC_X509_CN_PROPERTY_NAME);
        if (common_name && !common_name->empty()) return Principal{*common_name, "certificate"};
        return Unauthenticated(fmt::format(
            "the client certificate '{}' has no CN and the policy's subjects do not name it", *subject));
      }
    }
  }
  return Unauthenticated(tokens_file_.empty()
                             ? "no client certificate: this server requires mTLS"
                             : client_certificates_
                                   ? "no credentials: send 'authorization: Bearer TOKEN' or a client certificate"
                                   : "no credentials: send 'authorization: Bearer TOKEN' (earshotctl --token)");
}

}  // namespace earshot::control

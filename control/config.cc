#include "control/config.h"
#include "control/auth_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <charconv>
#include <thread>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace earshot::control {
namespace {

constexpr int kMaxWorkers = 256;
constexpr uint16_t kLowestRtpPort = 1024;
// Each leg takes one RTP port (rtcp-mux) or two; a worker with fewer than this
// many ports could not hold even one supervised call.
constexpr int kMinPortsPerWorker = 8;

constexpr FieldInfo kFields[] = {
    {"grpc_listen", "--grpc-listen", "gRPC control API address, HOST:PORT"},
    {"metrics_listen", "--metrics-listen", "Prometheus metrics and health address, HOST:PORT"},
    {"rtp_ip", "--rtp-ip", "local IP address for RTP legs"},
    {"rtp_ports", "--rtp-ports", "local RTP port range LOW-HIGH, 1024..65535"},
    {"workers", "--workers", "worker threads, 1..256, or 'auto' for one per core"},
    {"tick_ms", "--tick-ms", "mixing tick in milliseconds: 10 or 20"},
    {"media_timeout_s", "--media-timeout-s",
     "report a leg that receives no media for this many seconds, 0..3600 (0: never)"},
    {"drain_timeout_s", "--drain-timeout-s",
     "on SIGTERM refuse new sessions and wait up to this many seconds, 0..86400, for calls to "
     "end (a second signal stops at once)"},
    {"rtcp_interval_ms", "--rtcp-interval-ms",
     "RTCP report interval per leg in milliseconds, 500..60000 or 0 (none sent), randomised "
     "x0.5..1.5 as RFC 3550 asks (which recommends 5000)"},
    {"pin_workers", "--pin-workers", "pin worker threads to cores: true or false"},
    {"dataplane", "--dataplane", "packet back end: kernel or dpdk"},
    {"kernel_io", "--kernel-io", "kernel socket back end: epoll, io_uring or auto"},
    {"dpdk_eal", "--dpdk-eal",
     "DPDK EAL arguments, space separated (e.g. '-l 0 --no-huge -m 512'; no hugepages: --no-huge)"},
    {"dpdk_port", "--dpdk-port",
     "DPDK port: a PCI address (0000:01:00.0) or a vdev string (net_af_packet0,iface=eth1)"},
    {"dpdk_ip", "--dpdk-ip", "IPv4 address of the DPDK port, A.B.C.D or A.B.C.D/PREFIX; RTP legs use it"},
    {"dpdk_mac", "--dpdk-mac", "MAC address of the DPDK port, xx:xx:xx:xx:xx:xx (default: the port's own)"},
    {"dpdk_gateway", "--dpdk-gateway",
     "IPv4 next hop for destinations outside dpdk_ip's prefix (default: none, all on-link)"},
    {"dpdk_neighbours", "--dpdk-neighbours",
     "static ARP entries IP=MAC[,IP=MAC...] (others are resolved with ARP)"},
    {"dpdk_vlan", "--dpdk-vlan", "802.1Q VLAN id of the DPDK port, 0..4094 (0: untagged)"},
    {"dpdk_verify_udp_checksum", "--dpdk-verify-udp-checksum",
     "verify UDP checksums the port did not: true or false (false for virtual devices whose peers "
     "send partial checksums)"},
    {"dpdk_mbufs", "--dpdk-mbufs", "mbufs per worker, 1023..1048575"},
    {"dpdk_idle_sleep_us", "--dpdk-idle-sleep-us",
     "nap in microseconds of an idle DPDK worker between polls (the most a packet waits), "
     "0..10000 (0: spin)"},
    {"log_format", "--log-format", "log line format: text or json"},
    {"log_level", "--log-level", "least severe level logged: trace, debug, info, warn, error"},
    {"extensions_file", "--extensions-file",
     "extensions and their pickup groups (YAML: extensions: {\"201\": [sales]})"},
    {"auth_tokens_file", "--auth-tokens-file",
     "bearer tokens: a file of 'SHA256HEX PRINCIPAL' lines (hashes, not tokens); reloaded on SIGHUP"},
    {"tls_cert_file", "--tls-cert-file", "serve gRPC over TLS with this certificate chain (PEM)"},
    {"tls_key_file", "--tls-key-file", "the private key (PEM) of tls_cert_file"},
    {"tls_client_ca_file", "--tls-client-ca-file",
     "mTLS: verify client certificates against this CA (PEM); the subject maps to a principal"},
    {"policy_file", "--policy-file",
     "who may listen, whisper, barge... on which sessions (YAML); reloaded on SIGHUP"},
    {"audit_log", "--audit-log", "append a hash-chained, fsynced audit record per supervision action here"},
};

const FieldInfo* FindField(std::string_view key) {
  for (const FieldInfo& field : kFields) {
    if (field.key == key) return &field;
  }
  return nullptr;
}

tl::unexpected<Error> FieldError(const FieldInfo& field, const FieldSetting& setting,
                                 std::string_view why) {
  if (setting.origin == field.flag) {
    return InvalidArgument(fmt::format("invalid {} '{}': {} (config key {})", field.flag,
                                       setting.value, why, field.key));
  }
  return InvalidArgument(fmt::format("invalid {} '{}' at {}: {} (flag {})", field.key,
                                     setting.value, setting.origin, why, field.flag));
}

std::optional<long> ParseInteger(std::string_view text) {
  long value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

bool IsIpLiteral(const std::string& text) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

std::optional<ListenAddress> ParseListenAddress(std::string_view text) {
  std::string host;
  std::string_view port_text;
  if (text.starts_with('[')) {  // [v6]:port
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) return std::nullopt;
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  std::optional<long> port = ParseInteger(port_text);
  if (!port || *port < 0 || *port > 65535) return std::nullopt;
  if (host != "localhost" && !IsIpLiteral(host)) return std::nullopt;
  return ListenAddress{host, static_cast<uint16_t>(*port)};
}

bool IsIpv4(const std::string& text) {
  unsigned char buffer[sizeof(in_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1;
}

bool IsMac(std::string_view text) {
  if (text.size() != 17) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i % 3 == 2 ? (c != ':' && c != '-') : !std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::optional<bool> ParseBool(std::string_view text) {
  if (text == "true" || text == "yes" || text == "on" || text == "1") return true;
  if (text == "false" || text == "no" || text == "off" || text == "0") return false;
  return std::nullopt;
}

// The comma-separated entries of dpdk_neighbours, without empty ones.
std::vector<std::string_view> SplitNeighboursText(std::string_view text) {
  std::vector<std::string_view> entries;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view entry = text.substr(0, comma);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    if (!entry.empty()) entries.push_back(entry);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return entries;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> SplitNeighbours(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::string_view entry : SplitNeighboursText(text)) {
    const size_t equals = entry.find('=');
    if (equals == std::string_view::npos) continue;
    pairs.emplace_back(std::string(entry.substr(0, equals)), std::string(entry.substr(equals + 1)));
  }
  return pairs;
}

std::vector<std::string> SplitEalArgs(std::string_view text) {
  std::vector<std::string> args;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i > start) args.emplace_back(text.substr(start, i - start));
  }
  return args;
}

std::string ListenAddress::ToString() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::span<const FieldInfo> ConfigFields() { return kFields; }

Result<void> ApplyField(Config& config, std::string_view key, const FieldSetting& setting) {
  const FieldInfo* field = FindField(key);
  if (field == nullptr) {
    return InvalidArgument(fmt::format("unknown configuration key '{}' from {}", key,
                                       setting.origin));
  }
  const std::string& value = setting.value;
  if (key == "grpc_listen" || key == "metrics_listen") {
    std::optional<ListenAddress> address = ParseListenAddress(value);
    if (!address) {
      return FieldError(*field, setting,
                        "expected HOST:PORT with an IP address or localhost and port 0..65535 (0 picks a free port)");
    }
    (key == "grpc_listen" ? config.grpc_listen : config.metrics_listen) = *address;
  } else if (key == "rtp_ip") {
    if (!IsIpLiteral(value)) return FieldError(*field, setting, "expected an IPv4 or IPv6 address");
    config.rtp_ip = value;
  } else if (key == "rtp_ports") {
    size_t dash = value.find('-');
    std::optional<long> low = ParseInteger(std::string_view(value).substr(0, dash));
    std::optional<long> high = dash == std::string::npos
                                   ? std::nullopt
                                   : ParseInteger(std::string_view(value).substr(dash + 1));
    if (!low || !high) return FieldError(*field, setting, "expected LOW-HIGH, e.g. 30000-39999");
    if (*low < kLowestRtpPort || *high > 65535 || *low >= *high) {
      return FieldError(*field, setting,
                        fmt::format("ports must satisfy {} <= LOW < HIGH <= 65535", kLowestRtpPort));
    }
    config.rtp_port_low = static_cast<uint16_t>(*low);
    config.rtp_port_high = static_cast<uint16_t>(*high);
  } else if (key == "workers") {
    if (value == "auto") {
      config.workers = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u,
                                                   static_cast<unsigned>(kMaxWorkers)));
      return {};
    }
    std::optional<long> workers = ParseInteger(value);
    if (!workers || *workers < 1 || *workers > kMaxWorkers) {
      return FieldError(*field, setting, fmt::format("expected 1..{} or auto", kMaxWorkers));
    }
    config.workers = static_cast<int>(*workers);
  } else if (key == "tick_ms") {
    std::optional<long> tick = ParseInteger(value);
    if (!tick || (*tick != 10 && *tick != 20)) return FieldError(*field, setting, "expected 10 or 20");
    config.tick_ms = static_cast<int>(*tick);
  } else if (key == "media_timeout_s") {
    std::optional<long> seconds = ParseInteger(value);
    if (!seconds || *seconds < 0 || *seconds > 3600) return FieldError(*field, setting, "expected 0..3600");
    config.media_timeout_s = static_cast<int>(*seconds);
  } else if (key == "drain_timeout_s") {
    std::optional<long> seconds = ParseInteger(value);
    if (!seconds || *seconds < 0 || *seconds > 86400) {
      return FieldError(*field, setting, "expected 0..86400");
    }
    config.drain_timeout_s = static_cast<int>(*seconds);
  } else if (key == "rtcp_interval_ms") {
    std::optional<long> interval = ParseInteger(value);
    if (!interval || (*interval != 0 && (*interval < kMinRtcpIntervalMs || *interval > kMaxRtcpIntervalMs))) {
      return FieldError(*field, setting,
                        fmt::format("expected {}..{} or 0 (no reports)", kMinRtcpIntervalMs, kMaxRtcpIntervalMs));
    }
    config.rtcp_interval_ms = static_cast<int>(*interval);
  } else if (key == "pin_workers") {
    std::optional<bool> pin = ParseBool(value);
    if (!pin) return FieldError(*field, setting, "expected true or false");
    config.pin_workers = *pin;
  } else if (key == "dataplane") {
    if (value == "kernel") {
      config.dataplane = DataplaneKind::kKernel;
    } else if (value == "dpdk") {
      config.dataplane = DataplaneKind::kDpdk;
    } else {
      return FieldError(*field, setting, "expected kernel or dpdk");
    }
  } else if (key == "kernel_io") {
    if (value != "epoll" && value != "io_uring" && value != "auto") {
      return FieldError(*field, setting, "expected epoll, io_uring or auto");
    }
    config.kernel_io = value;
  } else if (key == "dpdk_eal") {
    config.dpdk.eal = value;
  } else if (key == "dpdk_port") {
    if (value.empty() || value.find(' ') != std::string::npos) {
      return FieldError(*field, setting,
                        "expected a PCI address such as 0000:01:00.0 or a vdev string such as "
                        "net_af_packet0,iface=eth1");
    }
    config.dpdk.port = value;
  } else if (key == "dpdk_ip") {
    const size_t slash = value.find('/');
    const std::string ip = value.substr(0, slash);
    std::optional<long> prefix =
        slash == std::string::npos ? std::optional<long>(0) : ParseInteger(std::string_view(value).substr(slash + 1));
    if (!IsIpv4(ip) || !prefix || *prefix < 0 || *prefix > 32 || ip == "0.0.0.0") {
      return FieldError(*field, setting, "expected an IPv4 address, optionally with /PREFIX 0..32");
    }
    config.dpdk.ip = ip;
    config.dpdk.prefix_length = static_cast<int>(*prefix);
  } else if (key == "dpdk_mac") {
    if (!value.empty() && !IsMac(value)) return FieldError(*field, setting, "expected xx:xx:xx:xx:xx:xx");
    config.dpdk.mac = value;
  } else if (key == "dpdk_gateway") {
    if (!value.empty() && !IsIpv4(value)) return FieldError(*field, setting, "expected an IPv4 address");
    config.dpdk.gateway = value;
  } else if (key == "dpdk_neighbours") {
    for (std::string_view entry : SplitNeighboursText(value)) {
      const size_t equals = entry.find('=');
      if (equals == std::string_view::npos || !IsIpv4(std::string(entry.substr(0, equals))) ||
          !IsMac(entry.substr(equals + 1))) {
        return FieldError(*field, setting, "expected IP=MAC[,IP=MAC...], e.g. 10.0.0.1=02:00:00:00:00:01");
      }
    }
    config.dpdk.neighbours = value;
  } else if (key == "dpdk_vlan") {
    std::optional<long> vlan = ParseInteger(value);
    if (!vlan || *vlan < 0 || *vlan > 4094) return FieldError(*field, setting, "expected 0..4094");
    config.dpdk.vlan = static_cast<int>(*vlan);
  } else if (key == "dpdk_verify_udp_checksum") {
    std::optional<bool> verify = ParseBool(value);
    if (!verify) return FieldError(*field, setting, "expected true or false");
    config.dpdk.verify_udp_checksum = *verify;
  } else if (key == "dpdk_mbufs") {
    std::optional<long> mbufs = ParseInteger(value);
    if (!mbufs || *mbufs < 1023 || *mbufs > 1048575) return FieldError(*field, setting, "expected 1023..1048575");
    config.dpdk.mbufs = static_cast<int>(*mbufs);
  } else if (key == "dpdk_idle_sleep_us") {
    std::optional<long> sleep = ParseInteger(value);
    if (!sleep || *sleep < 0 || *sleep > 10000) return FieldError(*field, setting, "expected 0..10000");
    config.dpdk.idle_sleep_us = static_cast<int>(*sleep);
  } else if (key == "log_format") {
    if (value == "text") {
      config.log_format = LogFormat::kText;
    } else if (value == "json") {
      config.log_format = LogFormat::kJson;
    } else {
      return FieldError(*field, setting, "expected text or json");
    }
  } else if (key == "auth_tokens_file" || key == "tls_cert_file" || key == "tls_key_file" ||
             key == "tls_client_ca_file" || key == "policy_file" || key == "audit_log") {
    // Empty: not configured (what --check-config prints for an unset key).
    std::string& path = key == "auth_tokens_file"   ? config.auth_tokens_file
                        : key == "tls_cert_file"    ? config.tls_cert_file
                        : key == "tls_key_file"     ? config.tls_key_file
                        : key == "tls_client_ca_file" ? config.tls_client_ca_file
                        : key == "policy_file"      ? config.policy_file
                                                    : config.audit_log;
    path = value;
  } else if (key == "extensions_file") {
    if (value.empty()) return FieldError(*field, setting, "expected a file name");
    config.extensions_file = value;
  } else if (key == "log_level") {
    static constexpr std::pair<std::string_view, LogLevel> kLevels[] = {
        {"trace", LogLevel::kTrace}, {"debug", LogLevel::kDebug}, {"info", LogLevel::kInfo},
        {"warn", LogLevel::kWarn},   {"error", LogLevel::kError}};
    auto it = std::find_if(std::begin(kLevels), std::end(kLevels),
                           [&](const auto& level) { return level.first == value; });
    if (it == std::end(kLevels)) {
      return FieldError(*field, setting, "expected trace, debug, info, warn or error");
    }
    config.log_level = it->second;
  }
  return {};
}

Result<void> ApplyYamlText(Config& config, std::string_view text, std::string_view origin) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(fmt::format("{}:{}: not valid YAML: {}", origin, e.mark.line + 1, e.msg));
  }
  if (root.IsNull()) return {};  // an empty file keeps the defaults
  if (!root.IsMap()) {
    return InvalidArgument(fmt::format("{}: expected a mapping of configuration keys", origin));
  }
  for (const auto& entry : root) {
    std::string key = entry.first.as<std::string>();
    std::string where = fmt::format("{}:{}", origin, entry.first.Mark().line + 1);
    if (!entry.second.IsScalar()) {
      return InvalidArgument(fmt::format("invalid {} from {}: expected a single value", key, where));
    }
    Result<void> applied = ApplyField(config, key, FieldSetting{entry.second.Scalar(), where});
    if (!applied) return applied;
  }
  return {};
}

Result<void> ApplyYamlFile(Config& config, const std::string& path) {
  std::string text;
  {
    FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) {
      return InvalidArgument(fmt::format("cannot read config file '{}': {}", path,
                                         std::strerror(errno)));
    }
    char buffer[4096];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
    std::fclose(file);
  }
  return ApplyYamlText(config, text, path);
}

Result<void> ValidateConfig(const Config& config) {
  int ports = config.rtp_port_high - config.rtp_port_low + 1;
  if (ports < config.workers * kMinPortsPerWorker) {
    return InvalidArgument(fmt::format(
        "invalid rtp_ports (--rtp-ports) {}-{}: {} ports is too few for {} workers "
        "(at least {} per worker)",
        config.rtp_port_low, config.rtp_port_high, ports, config.workers, kMinPortsPerWorker));
  }
  if (Result<void> security = ValidateSecurityConfig(config); !security) return security;
  if (config.dataplane == DataplaneKind::kDpdk && (config.dpdk.port.empty() || config.dpdk.ip.empty())) {
    return InvalidArgument(
        "invalid dataplane (--dataplane) 'dpdk': it needs dpdk_port (--dpdk-port) and dpdk_ip "
        "(--dpdk-ip)");
  }
  if (config.grpc_listen.port != 0 && config.grpc_listen.port == config.metrics_listen.port &&
      config.grpc_listen.host == config.metrics_listen.host) {
    return InvalidArgument(fmt::format("invalid metrics_listen (--metrics-listen) {}: same as grpc_listen",
                                       config.metrics_listen.ToString()));
  }
  return {};
}

std::string Config::ToYaml() const {
  static constexpr std::string_view kLevelNames[] = {"trace", "debug", "info", "warn", "error"};
  std::string dpdk_yaml;
  if (dataplane == DataplaneKind::kDpdk) {
    dpdk_yaml = fmt::format(
        "dpdk_eal: \"{}\"\ndpdk_port: \"{}\"\ndpdk_ip: \"{}/{}\"\ndpdk_mac: \"{}\"\n"
        "dpdk_gateway: \"{}\"\ndpdk_neighbours: \"{}\"\ndpdk_vlan: {}\n"
        "dpdk_verify_udp_checksum: {}\ndpdk_mbufs: {}\ndpdk_idle_sleep_us: {}\n",
        dpdk.eal, dpdk.port, dpdk.ip, dpdk.prefix_length, dpdk.mac, dpdk.gateway, dpdk.neighbours,
        dpdk.vlan, dpdk.verify_udp_checksum, dpdk.mbufs, dpdk.idle_sleep_us);
  }
  return fmt::format(
      "grpc_listen: \"{}\"\nmetrics_listen: \"{}\"\nrtp_ip: \"{}\"\nrtp_ports: \"{}-{}\"\n"
      "workers: {}\ntick_ms: {}\nmedia_timeout_s: {}\ndrain_timeout_s: {}\nrtcp_interval_ms: {}\n"
      "pin_workers: {}\n"
      "dataplane: {}\nkernel_io: {}\nlog_format: {}\nlog_level: {}\n",
      grpc_listen.ToString(), metrics_listen.ToString(), rtp_ip, rtp_port_low, rtp_port_high,
      workers, tick_ms, media_timeout_s, drain_timeout_s, rtcp_interval_ms, pin_workers,
      dataplane == DataplaneKind::kKernel ? "kernel" : "dpdk", kernel_io,
      log_format == LogFormat::kText ? "text" : "json",
      kLevelNames[static_cast<int>(log_level)]) + SecurityYaml(*this) +
      (extensions_file.empty() ? "" : fmt::format("extensions_file: \"{}\"\n", extensions_file)) +
      dpdk_yaml;
}

}  // namespace earshot::control

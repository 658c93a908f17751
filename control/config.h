#pragma once
// earshotd's configuration: defaults, overlaid by a YAML file, overlaid by flags.
//
// Every field is parsed by one function whatever its source, so a bad value gives
// the same one-line error from a file or a flag, naming the field (its YAML key
// and its flag) and the allowed range. Unknown YAML keys are errors too: a typo
// must not silently leave a default in force.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codecs/result.h"

namespace earshot::control {

struct ListenAddress {
  std::string host;  // an IP literal (IPv6 without brackets) or "localhost"
  uint16_t port;
  std::string ToString() const;  // host:port, IPv6 in brackets
};

enum class LogFormat { kText, kJson };
enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };
enum class DataplaneKind { kKernel, kDpdk };

// The shortest RTCP interval rtcp_interval_ms accepts. A report (SR + SDES,
// about 100 bytes with UDP/IP) every 500 ms is 1.6 kbit/s, RFC 3550's 5 % of
// even a 32 kbit/s Opus call with its headers; RFC 3550 itself recommends 5 s.
inline constexpr int kMinRtcpIntervalMs = 500;
inline constexpr int kMaxRtcpIntervalMs = 60000;

struct Config {
  ListenAddress grpc_listen{"127.0.0.1", 50051};
  ListenAddress metrics_listen{"127.0.0.1", 9464};
  std::string rtp_ip = "127.0.0.1";
  uint16_t rtp_port_low = 30000;
  uint16_t rtp_port_high = 39999;
  int workers = 1;
  int tick_ms = 20;
  int media_timeout_s = 30;  // 0: never report
  int drain_timeout_s = 0;   // on SIGTERM, wait this long for calls to end
  // RTCP SR/RR per leg every this many ms x a random 0.5..1.5 (RFC 3550 §6.3.1);
  // 0: none sent (incoming RTCP is still read). See kMinRtcpIntervalMs.
  int rtcp_interval_ms = 5000;
  bool pin_workers = false;
  DataplaneKind dataplane = DataplaneKind::kKernel;
  // Kernel back end: "epoll" (recvmmsg/sendmmsg), "io_uring", or "auto"
  // (io_uring where the kernel and process allow it, else epoll, the reason
  // logged). auto by default: io_uring measured cheaper per packet with a leg per
  // socket (issue #5; bench/README.md, earshot-worker-capacity).
  std::string kernel_io = "auto";
  // DPDK back end (dataplane: dpdk); checked here as text, turned into the
  // port's options by earshotd. The legs' local address is dpdk_ip, not rtp_ip.
  struct Dpdk {
    std::string eal;          // EAL arguments, split on spaces ("-l 0 --no-huge ...")
    std::string port;         // PCI address or vdev string
    std::string ip;           // IPv4 address of the port
    int prefix_length = 0;    // from dpdk_ip "A.B.C.D/N"; 0: every destination on-link
    std::string mac;          // empty: the port's own
    std::string gateway;      // empty: none
    std::string neighbours;   // "IP=MAC,IP=MAC"; empty: none
    int vlan = 0;             // 0: untagged
    bool verify_udp_checksum = true;
    int mbufs = 4095;         // per worker
    int idle_sleep_us = 1000;  // idle nap between polls (the most RX waits); 0: spin
  } dpdk;
  LogFormat log_format = LogFormat::kText;
  LogLevel log_level = LogLevel::kInfo;
  // Extensions and their pickup groups (pickup_control.h); empty: none until set by API.
  std::string extensions_file;
  // Authentication, policy and audit (auth_config.h); empty: not configured.
  std::string auth_tokens_file;    // SHA-256 hashes of bearer tokens -> principals
  std::string tls_cert_file;       // server certificate (PEM): serve gRPC over TLS
  std::string tls_key_file;
  std::string tls_client_ca_file;  // verify client certificates (mTLS) against this CA
  std::string policy_file;         // grants (policy.h); reloaded on SIGHUP
  std::string audit_log;           // hash-chained audit log (audit_log.h)

  // The effective configuration as YAML, in the file format --config reads.
  std::string ToYaml() const;
};

// One field's raw text as given by a file or a flag.
struct FieldSetting {
  std::string value;
  std::string origin;  // "--workers" or "file.yaml:3"
};

// Applies `key: value` to `config`, or says why the value is not allowed.
[[nodiscard]] Result<void> ApplyField(Config& config, std::string_view key,
                                      const FieldSetting& setting);

// Reads a YAML mapping of field keys to scalars from `path` and applies it.
[[nodiscard]] Result<void> ApplyYamlFile(Config& config, const std::string& path);

// Same, from YAML text (for tests and for --config -).
[[nodiscard]] Result<void> ApplyYamlText(Config& config, std::string_view text,
                                         std::string_view origin);

// Splits dpdk_neighbours into (ip, mac) text pairs; assumes it validated.
std::vector<std::pair<std::string, std::string>> SplitNeighbours(std::string_view text);
// Splits dpdk_eal into arguments (whitespace separated; no quoting).
std::vector<std::string> SplitEalArgs(std::string_view text);

// Checks relations between fields (port range large enough for the workers...).
[[nodiscard]] Result<void> ValidateConfig(const Config& config);

// The field keys, in documentation order, with their flag and a one-line help.
struct FieldInfo {
  std::string_view key;
  std::string_view flag;
  std::string_view help;
};
std::span<const FieldInfo> ConfigFields();

}  // namespace earshot::control

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
  bool pin_workers = false;
  DataplaneKind dataplane = DataplaneKind::kKernel;
  // Kernel back end: "epoll" (recvmmsg/sendmmsg), "io_uring", or "auto"
  // (io_uring where the kernel allows it, else epoll).
  std::string kernel_io = "epoll";
  LogFormat log_format = LogFormat::kText;
  LogLevel log_level = LogLevel::kInfo;

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

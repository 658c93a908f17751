#include "tests/support/tshark.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <regex>

#include <fmt/format.h>

namespace earshot::testing {

using namespace std::chrono_literals;

RtpCapture::RtpCapture(uint16_t port, int seconds)
    : port_(port), file_(fmt::format("/tmp/earshot-capture-{}-{}.pcapng", getpid(), port)) {
  tshark_ = FindProgram("tshark");
  if (!tshark_) {
    why_not_ = "tshark is not installed";
    return;
  }
  std::remove(file_.c_str());
  capture_ = std::make_unique<Subprocess>(std::vector<std::string>{
      *tshark_, "-i", "lo", "-f", fmt::format("udp and dst port {}", port), "-a",
      fmt::format("duration:{}", seconds), "-w", file_});
  started_ = capture_->WaitForStderr("Capturing on", 10s);
  if (!started_) why_not_ = "tshark cannot capture on lo here: " + capture_->stderr_text();
}

std::optional<RtpStreamReport> RtpCapture::Analyse(uint32_t ssrc) {
  if (!started_ || capture_->Wait(30s) != 0) return std::nullopt;
  RunResult run = RunToCompletion({*tshark_, "-r", file_, "-q", "-d",
                                   fmt::format("udp.port=={},rtp", port_), "-z", "rtp,streams"});
  std::remove(file_.c_str());
  RtpStreamReport report;
  report.analysis = run.out;
  // start end src port dst port SSRC payload packets lost (percent%) min mean max delta ...
  const std::regex row(fmt::format(
      "([0-9.]+)\\s+([0-9.]+)\\s+\\S+\\s+\\d+\\s+\\S+\\s+\\d+\\s+0x{:08X}\\s+\\S+\\s+(\\d+)\\s+"
      "(-?\\d+)\\s+\\((-?[0-9.]+)%\\)\\s+([0-9.]+)\\s+([0-9.]+)\\s+([0-9.]+)([^\\n]*)",
      ssrc), std::regex::icase);
  std::smatch match;
  if (run.exit_code != 0 || !std::regex_search(run.out, match, row)) return report;
  report.span_s = std::stod(match[2].str()) - std::stod(match[1].str());
  report.packets = std::stoi(match[3].str());
  report.lost = std::stoi(match[4].str());
  report.mean_delta_ms = std::stod(match[7].str());
  report.max_delta_ms = std::stod(match[8].str());
  report.problem = match[9].str().find('X') != std::string::npos;
  return report;
}

}  // namespace earshot::testing

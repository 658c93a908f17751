#pragma once
// A real outside check of RTP streams: tshark captures what reaches a port on
// loopback and its RTP stream analysis (-z rtp,streams) reports packets, loss,
// spacing and problems. Needs tshark and the right to capture (root in CI).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tests/support/subprocess.h"

namespace earshot::testing {

struct RtpStreamReport {
  double span_s = 0;
  int packets = 0;
  int lost = 0;
  double mean_delta_ms = 0;
  double max_delta_ms = 0;
  bool problem = false;  // tshark's "X" in the Problems? column
  std::string analysis;  // the whole report, for failure messages
};

class RtpCapture {
 public:
  // Starts capturing UDP to `port` on lo for `seconds`. started() says whether
  // tshark is there and able to capture.
  RtpCapture(uint16_t port, int seconds);
  bool started() const { return started_; }
  const std::string& why_not() const { return why_not_; }

  // Waits for the capture to end and analyses the stream with this SSRC.
  std::optional<RtpStreamReport> Analyse(uint32_t ssrc);

 private:
  uint16_t port_;
  std::string file_;
  std::optional<std::string> tshark_;
  std::unique_ptr<Subprocess> capture_;
  bool started_ = false;
  std::string why_not_;
};

}  // namespace earshot::testing

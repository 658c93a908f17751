#pragma once
// A test phone on loopback: a UDP socket that sends one tone as 20 ms PCMU RTP
// and keeps what it receives, decoded, with every packet's header. Tests make a
// few of these, point them at Earshot's legs, and ask what each one heard.

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codecs/g711.h"
#include "dataplane/srtp_session.h"
#include "tests/support/tone.h"

namespace earshot::testing {

struct ReceivedPacket {
  uint16_t sequence;
  uint32_t timestamp;
  uint32_t ssrc;
  bool marker;
  uint8_t payload_type;
  int64_t arrival_ns;
};

class RtpPhone {
 public:
  // Binds 127.0.0.1 on a free port; sends `tone_hz` at -12 dBFS.
  explicit RtpPhone(double tone_hz, uint32_t ssrc = 0);
  ~RtpPhone();
  RtpPhone(const RtpPhone&) = delete;
  RtpPhone& operator=(const RtpPhone&) = delete;

  uint16_t port() const { return port_; }
  double tone_hz() const { return tone_hz_; }
  void SendTo(const std::string& ip, uint16_t port);

  // Sends the next 20 ms of the tone (one packet).
  void SendFrame();
  // From now on sends SRTP with `outbound` and accepts only SRTP that
  // `inbound` authenticates (what fails is counted, not heard).
  void UseSrtp(dataplane::SrtpSession outbound, dataplane::SrtpSession inbound);
  dataplane::SrtpSession* srtp_out() { return srtp_out_ ? &*srtp_out_ : nullptr; }
  dataplane::SrtpSession* srtp_in() { return srtp_in_ ? &*srtp_in_ : nullptr; }
  uint64_t srtp_failures() const { return srtp_failures_; }
  // Sends raw bytes from this phone's socket (garbage tests).
  void SendRaw(const std::vector<uint8_t>& bytes);
  // Reads everything that has arrived, decoding PCMU payloads in order of arrival.
  void Drain();

  const std::vector<int16_t>& heard() const { return heard_; }
  const std::vector<ReceivedPacket>& packets() const { return packets_; }
  // Level of a tone in the last `ms` of what was heard (dBFS).
  double Level(double tone_hz, int ms = 200) const;

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  double tone_hz_;
  sockaddr_in destination_{};
  ToneGenerator tone_;
  G711Encoder encoder_{G711Law::kUlaw};
  G711Decoder decoder_{G711Law::kUlaw};
  uint32_t ssrc_;
  uint16_t sequence_ = 1;
  uint32_t timestamp_ = 0;
  std::vector<int16_t> heard_;
  std::vector<ReceivedPacket> packets_;
  std::optional<dataplane::SrtpSession> srtp_out_;
  std::optional<dataplane::SrtpSession> srtp_in_;
  uint64_t srtp_failures_ = 0;
};

}  // namespace earshot::testing

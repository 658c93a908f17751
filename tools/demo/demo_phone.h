#pragma once
// The demo's simulated phones: each is one UDP socket on 127.0.0.1 that sends a
// speech file as 20 ms PCMU RTP (looping it) and records what Earshot sends back.
//
// Timeline. Everything is placed on one clock shared by the phones: sample 0 is
// the PhoneLoop's start time, 8 samples per millisecond. Frame k of what a phone
// sends is due at start + k * 20 ms and holds samples [160k, 160k + 160) of its
// sent() track. A listener's heard() is then its speakers' sent() delayed by
// Earshot's latency (jitter buffer plus a tick or so).
//
// Placing what is heard. Packets are kept as they arrive, with the kernel's
// receive time, and Finish() builds heard() from them by RTP timestamp: a
// packet goes to its timestamp plus the stream's offset, so the track is
// continuous, silent where packets are missing, and untouched by arrival
// jitter. The offset is where the stream's timestamps sit against arrival
// times: the lower envelope of (arrival - timestamp) over the next 200 ms, so
// a late packet does not move it but a lasting change does. Such a change is a
// clock slip: the sender skipped time without advancing its timestamps (or
// jumped them ahead). Finish() then moves the offset, leaving silence where the
// stream lost time, as a listener would hear it, and reports the slip.
//
// Threads: all phones run in the one thread of a PhoneLoop; call Finish() and
// read the tracks and stats only after PhoneLoop::Stop.

#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "codecs/result.h"
#include "tools/demo/demo_media.h"

namespace earshot::demo {

inline constexpr int kFrameSamples = 160;  // 20 ms at 8 kHz
inline constexpr int kSamplesPerMs = kSampleRateHz / 1000;

// A lasting change of where the stream's timestamps sit against arrival time.
struct ClockSlip {
  double at_ms;    // timeline time of the first packet after it
  double lost_ms;  // positive: the stream fell behind real time by this much
};

// What a phone saw of the stream Earshot sent it, to spot glitches.
struct ReceiveStats {
  uint64_t packets = 0;
  uint64_t missing_ms = 0;       // silence inserted between the first and the last packet
  uint64_t duplicates = 0;       // a packet for samples already heard
  uint64_t reordered = 0;        // sequence number older than one already seen
  uint64_t timestamp_steps = 0;  // consecutive sequence numbers, timestamps not 160 apart
  uint64_t ssrc_changes = 0;
  uint64_t markers = 0;
  uint64_t not_pcmu = 0;          // payload type other than 0 (ignored)
  uint64_t pauses = 0;            // consecutive packets arriving over 30 ms apart
  double longest_pause_ms = 0;
  double max_late_ms = 0;         // latest arrival behind the stream's timestamp line
  std::vector<ClockSlip> slips;
};

class WavPhone {
 public:
  // Binds a free port on 127.0.0.1. `speech` is 8 kHz and is looped as needed.
  [[nodiscard]] static Result<std::unique_ptr<WavPhone>> Create(std::string name,
                                                                std::vector<int16_t> speech,
                                                                uint32_t ssrc);
  ~WavPhone();
  WavPhone(const WavPhone&) = delete;
  WavPhone& operator=(const WavPhone&) = delete;

  const std::string& name() const { return name_; }
  uint16_t port() const { return port_; }
  int fd() const { return fd_; }
  [[nodiscard]] Result<void> SendTo(const std::string& ip, uint32_t port);

  // Phone-loop side.
  void SendFrame(int64_t frame);
  // Reads every packet that has arrived. A packet's arrival is the kernel's
  // receive time (SO_TIMESTAMPNS, CLOCK_REALTIME) minus `realtime_origin_ns`,
  // the realtime clock at timeline 0; without one it is `now_sample`.
  void Drain(int64_t now_sample, int64_t realtime_origin_ns = 0);
  // Throws away what arrived before the start.
  void Discard();

  // Builds heard() and stats() from the packets received so far.
  void Finish();

  // What it sent, as the far end decodes it (PCMU round trip); sample 0 = start.
  const std::vector<int16_t>& sent() const { return sent_; }
  // What it heard, decoded PCMU; sample 0 = start.
  const std::vector<int16_t>& heard() const { return heard_; }
  // Per sample of heard(): 1 where a packet delivered it, 0 in a hole.
  const std::vector<uint8_t>& covered() const { return covered_; }
  const ReceiveStats& stats() const { return stats_; }

 private:
  struct Received {
    int64_t arrival;    // timeline sample
    int64_t timestamp;  // unwrapped within its SSRC's stream
    int64_t sequence;   // unwrapped within its SSRC's stream
    int stream;         // counts SSRC changes
    size_t payload;     // offset into payloads_
    size_t samples;
  };

  WavPhone(std::string name, std::vector<int16_t> speech, uint32_t ssrc, int fd, uint16_t port);
  void Keep(const uint8_t* packet, size_t size, int64_t arrival_sample);

  std::string name_;
  std::vector<int16_t> speech_;
  uint32_t ssrc_;
  int fd_;
  uint16_t port_;
  sockaddr_in destination_{};
  bool has_destination_ = false;

  std::vector<int16_t> sent_;
  std::vector<Received> received_;
  std::vector<uint8_t> payloads_;
  uint32_t stream_ssrc_ = 0;
  int stream_ = -1;
  int64_t last_timestamp_ = 0;
  int64_t last_sequence_ = 0;
  ReceiveStats stats_;
  std::vector<int16_t> heard_;
  std::vector<uint8_t> covered_;
};

// Runs phones in one thread: sends each one's next frame at absolute 20 ms
// deadlines and drains their sockets in between.
class PhoneLoop {
 public:
  PhoneLoop(std::vector<WavPhone*> phones, std::chrono::steady_clock::time_point start);
  ~PhoneLoop();
  PhoneLoop(const PhoneLoop&) = delete;
  PhoneLoop& operator=(const PhoneLoop&) = delete;

  void Start();
  // Stops and joins; safe to call twice.
  void Stop();
  // Frames sent more than 10 ms after their deadline (this machine was busy).
  uint64_t late_sends() const { return late_sends_; }

 private:
  void Run();

  std::vector<WavPhone*> phones_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<bool> stop_{false};  // stored by Stop(), loaded by Run()
  std::thread thread_;
  uint64_t late_sends_ = 0;
};

}  // namespace earshot::demo

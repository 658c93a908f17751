// RTP wire hot paths: every received datagram goes through ClassifyMuxed and
// ParseRtp, every sent one through WriteRtp.
//
// Budgets (one 2-core dev machine, RelWithDebInfo):
//   ParseRtp                      <= 20 ns
//   ParseRtp + FindExtension      <= 20 ns
//   WriteRtp (172-byte PCMU)      <= 20 ns (most of it the 160-byte copy)
//   WriteRtpHeader                <= 10 ns
//   WriteRtp + one extension      <= 20 ns
//   ClassifyMuxed                 <= 2 ns per datagram (two compares)

#include <array>
#include <cstdint>
#include <cstring>

#include <benchmark/benchmark.h>

#include "dataplane/packet_demux.h"
#include "dataplane/rtp_packet.h"

namespace earshot::dataplane {
namespace {

constexpr size_t kPcmuPayload = 160;  // 20 ms at 8 kHz
constexpr uint8_t kAudioLevelId = 1;  // RFC 6464, negotiated as extmap 1

RtpHeaderFields PcmuFields() {
  return RtpHeaderFields{true, PayloadType(0), SequenceNumber(37595), RtpTimestamp(160),
                         Ssrc(0x343da99b), {}};
}

std::array<uint8_t, kPcmuPayload> Payload() {
  std::array<uint8_t, kPcmuPayload> payload;
  payload.fill(0xFF);  // mu-law silence
  return payload;
}

// 12 + 4 + 4 + 160 = 180 bytes: the audio-level element and 2 bytes of padding.
size_t BuildWithExtension(std::span<const uint8_t> payload, std::span<uint8_t> out) {
  const uint8_t level[] = {0x80 | 30};
  size_t header = *WriteRtpHeader(PcmuFields(), out);
  RtpExtensionWriter writer(out, header);
  if (!writer.Add(kAudioLevelId, level)) return 0;
  header = *writer.Finish();
  std::memcpy(out.data() + header, payload.data(), payload.size());
  return header + payload.size();
}

void BM_ParseRtpPcmu(benchmark::State& state) {
  std::array<uint8_t, 172> packet{};
  const auto payload = Payload();
  (void)*WriteRtp(PcmuFields(), payload, packet);
  for (auto _ : state) {
    benchmark::DoNotOptimize(packet.data());
    const auto view = ParseRtp(packet);
    benchmark::DoNotOptimize(view->sequence_number());
    benchmark::DoNotOptimize(view->payload().size());
  }
}
BENCHMARK(BM_ParseRtpPcmu);

void BM_ParseRtpWithExtensionAndFind(benchmark::State& state) {
  std::array<uint8_t, 256> buffer{};
  const auto payload = Payload();
  const size_t size = BuildWithExtension(payload, buffer);
  const std::span<const uint8_t> packet(buffer.data(), size);
  for (auto _ : state) {
    benchmark::DoNotOptimize(buffer.data());
    const auto view = ParseRtp(packet);
    const auto level = view->FindExtension(kAudioLevelId);
    benchmark::DoNotOptimize(level);
    benchmark::DoNotOptimize(view->payload().size());
  }
}
BENCHMARK(BM_ParseRtpWithExtensionAndFind);

void BM_WriteRtpPcmu(benchmark::State& state) {
  std::array<uint8_t, 172> out{};
  const auto payload = Payload();
  const RtpHeaderFields fields = PcmuFields();
  for (auto _ : state) {
    const auto written = WriteRtp(fields, payload, out);
    benchmark::DoNotOptimize(written);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_WriteRtpPcmu);

// The in-place path: the encoder writes the payload after the header itself.
void BM_WriteRtpHeader(benchmark::State& state) {
  std::array<uint8_t, 172> out{};
  const RtpHeaderFields fields = PcmuFields();
  for (auto _ : state) {
    const auto written = WriteRtpHeader(fields, out);
    benchmark::DoNotOptimize(written);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_WriteRtpHeader);

void BM_WriteRtpWithExtension(benchmark::State& state) {
  std::array<uint8_t, 256> out{};
  const auto payload = Payload();
  for (auto _ : state) {
    benchmark::DoNotOptimize(BuildWithExtension(payload, out));
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_WriteRtpWithExtension);

void BM_ClassifyMuxed(benchmark::State& state) {
  // RTP and RTCP in turn, as on an rtcp-mux port; reported per datagram.
  std::array<uint8_t, 2> rtp{0x80, 0x00};
  std::array<uint8_t, 2> rtcp{0x80, 200};
  for (auto _ : state) {
    benchmark::DoNotOptimize(rtp.data());
    benchmark::DoNotOptimize(rtcp.data());
    benchmark::DoNotOptimize(ClassifyMuxed(rtp));
    benchmark::DoNotOptimize(ClassifyMuxed(rtcp));
  }
  state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(BM_ClassifyMuxed);

}  // namespace
}  // namespace earshot::dataplane

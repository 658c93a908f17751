// RTCP compound parse and build (dataplane/rtcp_packet.h, dataplane/rtcp_writer.h).
//
// Budget, per compound of SR (1 report block) + SDES (CNAME), on one core of the
// reference box:
//   BM_RtcpParseSrSdes  <= 60 ns  framing check, SR view and every field of its
//                                 block, SDES view and CNAME lookup
//   BM_RtcpBuildSrSdes  <= 60 ns  SR with one block and SDES CNAME into a stack buffer
// A receiver sees one compound per source every few seconds, so these budgets are
// about keeping RTCP invisible next to the 20 ms mixer tick, not about throughput.

#include <array>
#include <cstdint>
#include <string_view>

#include <benchmark/benchmark.h>

#include "dataplane/rtcp_packet.h"
#include "dataplane/rtcp_writer.h"

namespace earshot::dataplane {
namespace {

constexpr Ssrc kSender(0x12345678);
constexpr std::string_view kCname = "leg-7f3a@10.20.30.40";

const RtcpReportBlock kBlock{.ssrc = Ssrc(0x9abcdef0),
                             .fraction_lost = 12,
                             .cumulative_lost = -2,
                             .extended_highest_sequence = 0x1fff0,
                             .jitter = 32,
                             .last_sr = 0xc3d41122,
                             .delay_since_last_sr = 0x18000};
const RtcpSenderInfo kInfo{.ntp_timestamp = 0xe1b2c3d411223344u,
                           .rtp_timestamp = 0xdeadbeef,
                           .packet_count = 256,
                           .octet_count = 40960};

size_t BuildSrSdes(std::span<uint8_t> buffer) {
  RtcpCompoundWriter writer(buffer);
  if (!writer.AppendSenderReport(kSender, kInfo, {&kBlock, 1})) return 0;
  if (!writer.AppendSdesCname(kSender, kCname)) return 0;
  return writer.size();
}

void BM_RtcpParseSrSdes(benchmark::State& state) {
  std::array<uint8_t, 128> buffer{};
  const size_t size = BuildSrSdes(buffer);
  const std::span<const uint8_t> datagram(buffer.data(), size);
  for (auto _ : state) {
    benchmark::DoNotOptimize(datagram.data());
    uint64_t sum = 0;
    auto compound = RtcpCompoundView::Parse(datagram);
    if (!compound) {
      state.SkipWithError("parse failed");
      break;
    }
    for (const RtcpPacketView packet : *compound) {
      switch (packet.packet_type()) {
        case RtcpPacketType::kSr:
          if (auto sr = SenderReportView::Parse(packet)) {
            sum += sr->sender_ssrc().value() + sr->ntp_timestamp() + sr->rtp_timestamp() +
                   sr->packet_count() + sr->octet_count();
            for (const ReportBlockView block : sr->report_blocks()) {
              sum += block.ssrc().value() + block.fraction_lost() +
                     static_cast<uint32_t>(block.cumulative_lost()) +
                     block.extended_highest_sequence() + block.jitter() + block.last_sr() +
                     block.delay_since_last_sr();
            }
          }
          break;
        case RtcpPacketType::kSdes:
          if (auto sdes = SdesView::Parse(packet)) {
            if (auto cname = sdes->FindCname(kSender)) sum += cname->size();
          }
          break;
        default:
          break;
      }
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}
BENCHMARK(BM_RtcpParseSrSdes);

void BM_RtcpBuildSrSdes(benchmark::State& state) {
  std::array<uint8_t, 128> buffer{};
  for (auto _ : state) {
    const size_t size = BuildSrSdes(buffer);
    benchmark::DoNotOptimize(size);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_RtcpBuildSrSdes);

}  // namespace
}  // namespace earshot::dataplane

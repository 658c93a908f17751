// libFuzzer target for the RTCP views (dataplane/rtcp_packet.h).
//
// Parses the input as a compound in both validation modes and as a lone packet,
// then makes every typed view of every packet and reads every accessor and
// item. ASan catches any read outside the input (libFuzzer hands us an exactly
// sized heap copy); the checks below catch views that disagree with the framing.
//
//   clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -I. tests/fuzz/rtcp_fuzz.cc
//       dataplane/rtcp_packet.cc codecs/check.cc -o /tmp/rtcp_fuzz
//   /tmp/rtcp_fuzz -max_total_time=20 /tmp/rtcpcorpus tests/fuzz/corpus/rtcp

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dataplane/rtcp_packet.h"

namespace earshot::dataplane {
namespace {

// Keeps every read observable so the compiler cannot drop it.
volatile uint64_t g_sink = 0;

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

// True when [part, part + size) lies inside `whole`.
bool Within(std::span<const uint8_t> whole, const void* part, size_t size) {
  const auto* begin = static_cast<const uint8_t*>(part);
  return size == 0 ||
         (begin >= whole.data() && size <= static_cast<size_t>(whole.data() + whole.size() - begin));
}

bool Within(std::span<const uint8_t> whole, std::span<const uint8_t> part) {
  return Within(whole, part.data(), part.size());
}

bool Within(std::span<const uint8_t> whole, std::string_view part) {
  return Within(whole, part.data(), part.size());
}

uint64_t TouchBlock(const ReportBlockView& block) {
  const int32_t lost = block.cumulative_lost();
  Check(lost >= -0x800000 && lost <= 0x7fffff);
  return block.ssrc().value() + block.fraction_lost() + static_cast<uint32_t>(lost) +
         block.extended_highest_sequence() + block.jitter() + block.last_sr() +
         block.delay_since_last_sr();
}

uint64_t TouchBlocks(const ReportBlockRange& blocks) {
  uint64_t sum = 0;
  size_t n = 0;
  for (const ReportBlockView block : blocks) {
    sum += TouchBlock(block);
    ++n;
  }
  Check(n == blocks.size());
  if (!blocks.empty()) sum += TouchBlock(blocks[blocks.size() - 1]);
  return sum;
}

uint64_t TouchPacket(const RtcpPacketView& packet) {
  const std::span<const uint8_t> whole = packet.packet();
  Check(packet.version() == kRtcpVersion);
  Check(packet.size() == (size_t{packet.length_words()} + 1) * 4);
  Check(packet.body().size() + kRtcpHeaderSize == packet.size());
  Check(packet.payload().size() + packet.padding_size() == packet.body().size());
  Check(packet.payload().size() % 4 == 0);
  uint64_t sum = packet.count() + static_cast<uint8_t>(packet.packet_type()) + packet.padding();
  for (const uint8_t b : packet.payload()) sum += b;

  if (auto sr = SenderReportView::Parse(packet)) {
    Check(packet.packet_type() == RtcpPacketType::kSr);
    Check(sr->report_blocks().size() == packet.count());
    Check(Within(whole, sr->extension()));
    sum += sr->sender_ssrc().value() + sr->ntp_timestamp() + sr->rtp_timestamp() +
           sr->packet_count() + sr->octet_count() + sr->extension().size();
    sum += TouchBlocks(sr->report_blocks());
  }
  if (auto rr = ReceiverReportView::Parse(packet)) {
    Check(rr->report_blocks().size() == packet.count());
    Check(Within(whole, rr->extension()));
    sum += rr->sender_ssrc().value() + rr->extension().size();
    sum += TouchBlocks(rr->report_blocks());
  }
  if (auto sdes = SdesView::Parse(packet)) {
    size_t chunks = 0;
    for (const SdesChunkView chunk : sdes->chunks()) {
      ++chunks;
      sum += chunk.ssrc().value();
      for (const SdesItemView item : chunk.items()) {
        Check(item.type() != SdesItemType::kEnd);
        Check(Within(whole, item.text()));
        sum += static_cast<uint8_t>(item.type()) + item.text().size();
        for (const char c : item.text()) sum += static_cast<uint8_t>(c);
      }
      if (auto cname = chunk.cname()) sum += cname->size();
      if (auto found = sdes->FindCname(chunk.ssrc())) sum += found->size();
    }
    Check(chunks == sdes->chunk_count() && chunks == packet.count());
  }
  if (auto bye = ByeView::Parse(packet)) {
    size_t sources = 0;
    for (const Ssrc ssrc : bye->ssrcs()) {
      sum += ssrc.value();
      ++sources;
    }
    Check(sources == packet.count() && bye->ssrcs().size() == sources);
    Check(Within(whole, bye->reason()));
    Check(bye->has_reason() || bye->reason().empty());
    sum += bye->reason().size();
    for (const char c : bye->reason()) sum += static_cast<uint8_t>(c);
  }
  if (auto app = AppView::Parse(packet)) {
    Check(Within(whole, app->name()) && Within(whole, app->data()));
    Check(app->name().size() == 4 && app->data().size() % 4 == 0);
    sum += app->subtype() + app->ssrc().value() + app->data().size();
    for (const char c : app->name()) sum += static_cast<uint8_t>(c);
  }
  return sum;
}

void FuzzCompound(std::span<const uint8_t> data, RtcpValidation validation) {
  auto compound = RtcpCompoundView::Parse(data, validation);
  if (!compound) {
    Check(!RtcpParseErrorName(compound.error()).empty());
    return;
  }
  size_t packets = 0;
  size_t bytes = 0;
  uint64_t sum = 0;
  for (const RtcpPacketView packet : *compound) {
    Check(Within(data, packet.packet()));
    Check(packet.packet().data() == data.data() + bytes);  // packets tile the datagram
    // Only the last packet may carry padding.
    Check(!packet.padding() || bytes + packet.size() == data.size());
    bytes += packet.size();
    ++packets;
    sum += TouchPacket(packet);
  }
  Check(bytes == data.size() && packets == compound->packet_count());
  g_sink = g_sink + sum;
}

}  // namespace
}  // namespace earshot::dataplane

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace earshot::dataplane;
  const std::span<const uint8_t> input(data, size);
  FuzzCompound(input, RtcpValidation::kStrict);
  FuzzCompound(input, RtcpValidation::kReducedSize);
  // A lone packet may be followed by anything; its views must still stay inside it.
  if (auto packet = RtcpPacketView::Parse(input)) {
    Check(Within(input, packet->packet()));
    g_sink = g_sink + TouchPacket(*packet);
  }
  return 0;
}

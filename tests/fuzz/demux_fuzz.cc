// libFuzzer target for dataplane/packet_demux: the classifiers must match a
// table written straight from RFC 7983 §7 and RFC 5761 §4, agree with each
// other, and never look past the datagram.
//
// Standalone build (CMake wires it too, with -DEARSHOT_FUZZ=ON):
//   clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -I.
//       tests/fuzz/demux_fuzz.cc dataplane/packet_demux.cc codecs/check.cc -o demux_fuzz
//   ./demux_fuzz -max_total_time=60 /tmp/demuxcorpus tests/fuzz/corpus/demux

#include <cstddef>
#include <cstdint>
#include <span>

#include "codecs/check.h"
#include "dataplane/packet_demux.h"

namespace earshot::dataplane {
namespace {

struct Range {
  uint8_t low;
  uint8_t high;
  PacketKind kind;
};

// RFC 7983 §7, as printed there.
constexpr Range kRfc7983[] = {
    {0, 3, PacketKind::kStun},          {16, 19, PacketKind::kZrtp},
    {20, 63, PacketKind::kDtls},        {64, 79, PacketKind::kTurnChannel},
    {128, 191, PacketKind::kRtpOrRtcp},
};

PacketKind ReferenceKind(std::span<const uint8_t> datagram) {
  if (datagram.empty()) return PacketKind::kUnknown;
  for (const Range& range : kRfc7983) {
    if (datagram[0] >= range.low && datagram[0] <= range.high) return range.kind;
  }
  return PacketKind::kUnknown;
}

void FuzzOne(std::span<const uint8_t> datagram) {
  const PacketKind kind = ClassifyFirstByte(datagram);
  const MuxKind mux = ClassifyMuxed(datagram);
  const bool rtcp = IsRtcp(datagram);

  EARSHOT_CHECK(kind == ReferenceKind(datagram));
  EARSHOT_CHECK(!PacketKindName(kind).empty() && !MuxKindName(mux).empty());
  // Muxed RTP/RTCP is exactly the RFC 7983 RTP range with a second octet.
  EARSHOT_CHECK((mux != MuxKind::kNotRtp) ==
                (kind == PacketKind::kRtpOrRtcp && datagram.size() >= 2));
  EARSHOT_CHECK(rtcp == (datagram.size() >= 2 && datagram[1] >= 192 && datagram[1] <= 223));
  if (mux != MuxKind::kNotRtp) EARSHOT_CHECK((mux == MuxKind::kRtcp) == rtcp);
  // Only the first two octets matter.
  if (datagram.size() > 2) {
    EARSHOT_CHECK(ClassifyMuxed(datagram.first(2)) == mux);
    EARSHOT_CHECK(ClassifyFirstByte(datagram.first(1)) == kind);
  }
}

}  // namespace
}  // namespace earshot::dataplane

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  earshot::dataplane::FuzzOne(std::span<const uint8_t>(data, size));
  return 0;
}

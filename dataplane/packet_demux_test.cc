#include "dataplane/packet_demux.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace earshot::dataplane {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(PacketDemuxTest, FirstByteBoundariesFollowRfc7983) {
  struct Row {
    uint8_t first;
    PacketKind kind;
  };
  const Row rows[] = {
      {0, PacketKind::kStun},          {3, PacketKind::kStun},
      {4, PacketKind::kUnknown},       {15, PacketKind::kUnknown},
      {16, PacketKind::kZrtp},         {19, PacketKind::kZrtp},
      {20, PacketKind::kDtls},         {63, PacketKind::kDtls},
      {64, PacketKind::kTurnChannel},  {79, PacketKind::kTurnChannel},
      {80, PacketKind::kUnknown},      {127, PacketKind::kUnknown},
      {128, PacketKind::kRtpOrRtcp},   {191, PacketKind::kRtpOrRtcp},
      {192, PacketKind::kUnknown},     {255, PacketKind::kUnknown},
  };
  for (const Row& row : rows) {
    const Bytes datagram{row.first, 0x00, 0x00, 0x00};
    EXPECT_EQ(ClassifyFirstByte(datagram), row.kind)
        << int{row.first} << " -> " << PacketKindName(ClassifyFirstByte(datagram));
    // One octet is enough for this step.
    EXPECT_EQ(ClassifyFirstByte(Bytes{row.first}), row.kind) << int{row.first};
  }
}

TEST(PacketDemuxTest, EmptyDatagramIsUnknown) {
  EXPECT_EQ(ClassifyFirstByte({}), PacketKind::kUnknown);
  EXPECT_EQ(ClassifyMuxed({}), MuxKind::kNotRtp);
  EXPECT_FALSE(IsRtcp({}));
}

TEST(PacketDemuxTest, SecondByteSplitsRtpFromRtcpPerRfc5761) {
  struct Row {
    uint8_t second;
    MuxKind kind;
  };
  const Row rows[] = {
      {0, MuxKind::kRtp},      // PT 0 (PCMU), no marker
      {0x80, MuxKind::kRtp},   // PT 0 with marker
      {127, MuxKind::kRtp},    // PT 127, no marker
      {191, MuxKind::kRtp},    // PT 63 with marker: just below the RTCP range
      {192, MuxKind::kRtcp},   // start of the RFC 5761 reserved range
      {200, MuxKind::kRtcp},   // SR
      {201, MuxKind::kRtcp},   // RR
      {202, MuxKind::kRtcp},   // SDES
      {203, MuxKind::kRtcp},   // BYE
      {204, MuxKind::kRtcp},   // APP
      {205, MuxKind::kRtcp},   // RTPFB
      {206, MuxKind::kRtcp},   // PSFB
      {207, MuxKind::kRtcp},   // XR
      {223, MuxKind::kRtcp},   // end of the range (PT 95 with marker)
      {224, MuxKind::kRtp},    // PT 96 with marker: dynamic, common for Opus
      {255, MuxKind::kRtp},    // PT 127 with marker
  };
  for (const Row& row : rows) {
    for (const uint8_t first : {uint8_t{0x80}, uint8_t{0xBF}}) {
      const Bytes datagram{first, row.second};
      EXPECT_EQ(ClassifyMuxed(datagram), row.kind)
          << int{first} << "," << int{row.second} << " -> " << MuxKindName(ClassifyMuxed(datagram));
      EXPECT_EQ(IsRtcp(datagram), row.kind == MuxKind::kRtcp) << int{row.second};
    }
  }
}

TEST(PacketDemuxTest, MarkerBitMovesPayloadTypes64To95IntoTheRtcpRange) {
  // Why RFC 5761 forbids PT 64-95 with rtcp-mux: with M set they read as RTCP.
  EXPECT_EQ(ClassifyMuxed(Bytes{0x80, 64}), MuxKind::kRtp);
  EXPECT_EQ(ClassifyMuxed(Bytes{0x80, 0x80 | 64}), MuxKind::kRtcp);
  EXPECT_EQ(ClassifyMuxed(Bytes{0x80, 95}), MuxKind::kRtp);
  EXPECT_EQ(ClassifyMuxed(Bytes{0x80, 0x80 | 95}), MuxKind::kRtcp);
  EXPECT_EQ(ClassifyMuxed(Bytes{0x80, 0x80 | 96}), MuxKind::kRtp);
}

TEST(PacketDemuxTest, MuxNeedsVersionTwoAndTwoOctets) {
  EXPECT_EQ(ClassifyMuxed(Bytes{0x80}), MuxKind::kNotRtp);
  EXPECT_FALSE(IsRtcp(Bytes{0x80}));
  EXPECT_EQ(ClassifyMuxed(Bytes{0x00, 200}), MuxKind::kNotRtp);  // STUN
  EXPECT_EQ(ClassifyMuxed(Bytes{0x40, 200}), MuxKind::kNotRtp);  // version 1 / TURN
  EXPECT_EQ(ClassifyMuxed(Bytes{0xC0, 200}), MuxKind::kNotRtp);  // version 3
  EXPECT_EQ(ClassifyMuxed(Bytes{0x7F, 0}), MuxKind::kNotRtp);
  EXPECT_EQ(ClassifyMuxed(Bytes{0x16, 0xFE}), MuxKind::kNotRtp);  // DTLS handshake
}

TEST(PacketDemuxTest, MuxAgreesWithFirstByteOnEveryOctet) {
  for (int first = 0; first <= 255; ++first) {
    const Bytes datagram{static_cast<uint8_t>(first), 0};
    const bool rtp_range = ClassifyFirstByte(datagram) == PacketKind::kRtpOrRtcp;
    EXPECT_EQ(ClassifyMuxed(datagram) != MuxKind::kNotRtp, rtp_range) << first;
  }
}

}  // namespace
}  // namespace earshot::dataplane

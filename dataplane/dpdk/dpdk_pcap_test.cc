// DpdkPacketIo on net_pcap replaying a capture of good and bad frames that this
// test writes: deterministic, no privileges. Every frame lands in exactly one
// counter, the good datagrams reach the PacketIo with their payload and
// sender, and the ARP and ICMP answers leave through the TX pcap.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <fmt/format.h>

#include "dataplane/dpdk/dpdk_packet_io.h"
#include "dataplane/dpdk/eal.h"
#include "dataplane/dpdk/frame.h"

namespace earshot::dataplane::dpdk {
namespace {

using namespace std::chrono_literals;

const MacAddress kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
const MacAddress kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
const uint32_t kOurIp = *ParseIpv4("10.9.0.2");
const uint32_t kPeerIp = *ParseIpv4("10.9.0.1");
constexpr uint16_t kPortLow = 30000;
constexpr uint16_t kPortHigh = 30099;

using Frame = std::vector<uint8_t>;

void Put16(Frame& f, size_t at, uint16_t v) {
  f[at] = static_cast<uint8_t>(v >> 8);
  f[at + 1] = static_cast<uint8_t>(v);
}

void FixIpChecksum(Frame& f, size_t l2 = kEthernetHeader) {
  const size_t ihl = static_cast<size_t>(f[l2] & 0x0F) * 4;
  Put16(f, l2 + 10, 0);
  Put16(f, l2 + 10, ChecksumFinish(ChecksumAdd({f.data() + l2, ihl})));
}

Frame Udp(uint16_t dst_port, size_t payload = 172, uint16_t vlan = 0) {
  const size_t headers = UdpHeadersSize(vlan);
  Frame frame(headers + payload);
  for (size_t i = 0; i < payload; ++i) frame[headers + i] = static_cast<uint8_t>(i + dst_port);
  UdpHeaderFields fields;
  fields.src_mac = kPeerMac;
  fields.dst_mac = kOurMac;
  fields.vlan = vlan;
  fields.src_ip = kPeerIp;
  fields.dst_ip = kOurIp;
  fields.src_port = 40000;
  fields.dst_port = dst_port;
  WriteUdpHeaders({frame.data(), headers}, fields, {frame.data() + headers, payload}, ChecksumMode::kSoftware);
  return frame;
}

Frame Arp(uint32_t target, bool reply) {
  Frame frame(kMinFrame);
  WriteArpRequest(frame, LocalIdentity{kPeerMac, kPeerIp, 0}, target);
  if (reply) {
    std::memcpy(frame.data(), kOurMac.bytes.data(), 6);
    Put16(frame, 20, 2);
  }
  return frame;
}

Frame Echo() {
  Frame frame = Udp(0, 64);
  frame[23] = 1;  // ICMP
  FixIpChecksum(frame);
  std::memset(frame.data() + 34, 0, 8);
  frame[34] = 8;
  Put16(frame, 38, 0x77);
  Put16(frame, 36, ChecksumFinish(ChecksumAdd({frame.data() + 34, frame.size() - 34})));
  return frame;
}

void WritePcap(const std::string& path, const std::vector<Frame>& frames) {
  FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  const uint32_t header[] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};  // v2.4, Ethernet
  std::fwrite(header, 1, 24, file);
  uint32_t second = 1;
  for (const Frame& frame : frames) {
    const uint32_t record[] = {second++, 0, static_cast<uint32_t>(frame.size()),
                               static_cast<uint32_t>(frame.size())};
    std::fwrite(record, 1, sizeof record, file);
    std::fwrite(frame.data(), 1, frame.size(), file);
  }
  std::fclose(file);
}

// Counts the records of a pcap file (what we transmitted).
int CountPcapRecords(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return -1;
  std::fseek(file, 24, SEEK_SET);
  int records = 0;
  uint32_t record[4];
  while (std::fread(record, 1, sizeof record, file) == sizeof record) {
    std::fseek(file, record[2], SEEK_CUR);
    ++records;
  }
  std::fclose(file);
  return records;
}

TEST(DpdkPcapTest, EveryReplayedFrameLandsInExactlyOneCounter) {
  std::vector<Frame> frames;
  auto add = [&frames](Frame frame, int copies = 1) {
    for (int i = 0; i < copies; ++i) frames.push_back(frame);
  };
  add(Udp(30000), 3);                                  // delivered
  add(Udp(30001, 1));                                  // delivered (1-byte payload, padded frame)
  add(Udp(30050));                                     // rx_port_closed (in range, not open)
  add(Udp(5060));                                      // rx_port_unowned
  add(Arp(kOurIp, false));                             // arp_requests_answered
  add(Arp(kOurIp, true));                              // arp_replies_learnt
  add(Arp(*ParseIpv4("10.9.0.77"), false));            // arp_not_for_us
  add(Echo());                                         // icmp_echo_answered
  add(Udp(30000, 172, 5));                             // vlan
  Frame options = Udp(30000);
  options.insert(options.begin() + 34, {1, 1, 1, 0});
  options[14] = 0x46;
  Put16(options, 16, static_cast<uint16_t>(options.size() - 14));
  FixIpChecksum(options);
  add(options);                                        // ip_options
  Frame fragment = Udp(30000);
  Put16(fragment, 20, 0x2000);
  FixIpChecksum(fragment);
  add(fragment);                                       // ip_fragment
  Frame bad_ip = Udp(30000);
  bad_ip[24] ^= 0x10;
  add(bad_ip);                                         // ip_checksum
  Frame bad_udp = Udp(30000);
  bad_udp[60] ^= 0x10;
  add(bad_udp);                                        // udp_checksum
  Frame runt = Udp(30000);
  runt.resize(10);
  add(runt);                                           // runt
  add(Udp(30000, 4000));                               // oversize: more than one mbuf
  Frame ipv6 = Udp(30000);
  Put16(ipv6, 12, 0x86DD);
  add(ipv6);                                           // ether_type
  Frame tcp = Udp(30000);
  tcp[23] = 6;
  FixIpChecksum(tcp);
  add(tcp);                                            // ip_protocol
  Frame other_mac = Udp(30000);
  other_mac[5] = 0x55;
  add(other_mac);                                      // other_mac

  const std::string dir = fmt::format("/tmp/earshot-dpdk-pcap-{}", getpid());
  ASSERT_EQ(system(("mkdir -p " + dir).c_str()), 0);
  const std::string rx_path = dir + "/rx.pcap";
  const std::string tx_path = dir + "/tx.pcap";
  WritePcap(rx_path, frames);

  Result<Eal> eal = Eal::Init({"-l", "0", "--no-huge", "--no-pci", "--no-shconf", "--no-telemetry", "-m",
                               "256", fmt::format("--vdev=net_pcap0,rx_pcap={},tx_pcap={}", rx_path, tx_path),
                               "--log-level=lib.eal:error"});
  ASSERT_TRUE(eal.has_value()) << eal.error().message;
  DpdkPortOptions options_for_port;
  options_for_port.port_name = "net_pcap0";
  options_for_port.ip = kOurIp;
  options_for_port.prefix_length = 24;
  options_for_port.mac = kOurMac;
  options_for_port.mbufs_per_worker = 1023;
  options_for_port.packet_buffers = 64;
  // Short enough to see a refresh below; the frames are replayed at once.
  options_for_port.neighbour_refresh = 1s;
  auto port = DpdkPort::Create(options_for_port);
  ASSERT_TRUE(port.has_value()) << port.error().message;
  {
    auto made = (*port)->MakePacketIo(0, kPortLow, kPortHigh);
    ASSERT_TRUE(made.has_value()) << made.error().message;
    PacketIo& io = **made;
    Result<SocketAddress> local = SocketAddress::Parse("10.9.0.2", 30000);
    ASSERT_TRUE(io.OpenPort(*local).has_value());
    ASSERT_TRUE(io.OpenPort(local->WithPort(30001)).has_value());
    EXPECT_FALSE(io.OpenPort(local->WithPort(30000)).has_value()) << "already open";
    EXPECT_FALSE(io.OpenPort(local->WithPort(31000)).has_value()) << "another worker's range";
    EXPECT_FALSE(io.OpenPort(*SocketAddress::Parse("10.9.0.3", 30002)).has_value()) << "not our address";

    const DpdkQueueCounters& c = (*port)->queue_counters(0);
    std::vector<PacketBuffer*> received;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (c.rx_frames.load() < frames.size() && std::chrono::steady_clock::now() < deadline) {
      PacketBuffer* burst[32];
      const size_t n = io.ReceiveBurst(burst);
      received.insert(received.end(), burst, burst + n);
      io.Wait(1ms);
    }
    io.Wait(0ns);  // flushes the replies
    ASSERT_EQ(c.rx_frames.load(), frames.size());

    ASSERT_EQ(received.size(), 4u);
    EXPECT_EQ(received[0]->size, 172);
    EXPECT_EQ(received[0]->peer.ToString(), "10.9.0.1:40000");
    EXPECT_EQ(io.LocalAddress(received[0]->port).ToString(), "10.9.0.2:30000");
    EXPECT_EQ(received[0]->data[0], static_cast<uint8_t>(30000 & 0xFF));
    EXPECT_GT(received[0]->rx_time_ns, 0);
    EXPECT_EQ(received[3]->size, 1);
    EXPECT_EQ(io.LocalAddress(received[3]->port).ToString(), "10.9.0.2:30001");
    const PortHandle port_30000 = received[0]->port;
    for (PacketBuffer* buffer : received) io.pool().Free(buffer);

    auto drop = [&c](FrameDrop reason) { return c.dropped[static_cast<size_t>(reason)].load(); };
    EXPECT_EQ(c.rx_delivered.load(), 4u);
    EXPECT_EQ(c.rx_port_closed.load(), 1u);
    EXPECT_EQ(c.rx_port_unowned.load(), 1u);
    EXPECT_EQ(c.arp_requests_answered.load(), 1u);
    EXPECT_EQ(c.arp_replies_learnt.load(), 1u);
    EXPECT_EQ(c.icmp_echo_answered.load(), 1u);
    EXPECT_EQ(c.rx_oversize.load(), 1u);
    EXPECT_EQ(drop(FrameDrop::kArpNotForUs), 1u);
    EXPECT_EQ(drop(FrameDrop::kVlan), 1u);
    EXPECT_EQ(drop(FrameDrop::kIpOptions), 1u);
    EXPECT_EQ(drop(FrameDrop::kIpFragment), 1u);
    EXPECT_EQ(drop(FrameDrop::kIpChecksum), 1u);
    EXPECT_EQ(drop(FrameDrop::kUdpChecksum), 1u);
    EXPECT_EQ(drop(FrameDrop::kRunt), 1u);
    EXPECT_EQ(drop(FrameDrop::kEtherType), 1u);
    EXPECT_EQ(drop(FrameDrop::kIpProtocol), 1u);
    EXPECT_EQ(drop(FrameDrop::kOtherMac), 1u);
    uint64_t accounted = c.rx_delivered + c.rx_forwarded + c.rx_port_closed + c.rx_port_unowned +
                         c.rx_oversize + c.rx_pool_empty + c.arp_requests_answered + c.arp_replies_learnt +
                         c.icmp_echo_answered;
    for (const auto& reason : c.dropped) accounted += reason.load();
    EXPECT_EQ(accounted, frames.size()) << "every frame in exactly one counter";

    EXPECT_EQ((*port)->neighbours().Find(kPeerIp), kPeerMac) << "learnt from the ARP request";

    // A datagram out: to the peer, whose MAC ARP taught us.
    PacketBuffer* out = io.pool().Alloc();
    ASSERT_NE(out, nullptr);
    std::memset(out->data, 0x5A, 160);
    out->size = 160;
    out->port = port_30000;
    out->peer = *SocketAddress::Parse("10.9.0.1", 40000);
    PacketBuffer* batch[] = {out};
    EXPECT_EQ(io.SendBurst(batch), 1u);
    io.Wait(0ns);
    EXPECT_EQ(c.tx_frames.load(), 3u) << "ARP reply, echo reply, the datagram";
    EXPECT_EQ(io.counters().tx_packets, 3u);
    EXPECT_EQ(c.arp_requests_sent.load(), 0u);

    // Past neighbour_refresh the peer is asked again while datagrams still go.
    std::this_thread::sleep_for(1100ms);
    out = io.pool().Alloc();
    ASSERT_NE(out, nullptr);
    out->size = 160;
    out->port = port_30000;
    out->peer = *SocketAddress::Parse("10.9.0.1", 40000);
    batch[0] = out;
    EXPECT_EQ(io.SendBurst(batch), 1u);
    io.Wait(0ns);
    EXPECT_EQ(c.arp_requests_sent.load(), 1u) << "refresh of the learnt neighbour";
    EXPECT_EQ(c.tx_held.load(), 0u) << "sent at once with the MAC it has";
    EXPECT_EQ(c.tx_frames.load(), 5u) << "the refresh request and the datagram";
  }
  port->reset();  // closes the pcap files
  EXPECT_EQ(CountPcapRecords(tx_path), 5);
  (void)system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace earshot::dataplane::dpdk

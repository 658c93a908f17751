#include "dataplane/rtp_leg.h"

#include <algorithm>

#include "dataplane/packet_demux.h"
#include "dataplane/rtp_packet.h"

namespace earshot::dataplane {

std::string_view RxDropName(RxDrop drop) {
  switch (drop) {
    case RxDrop::kNotRtp: return "not_rtp";
    case RxDrop::kMalformed: return "malformed";
    case RxDrop::kWrongSource: return "wrong_source";
    case RxDrop::kUnknownPayloadType: return "unknown_payload_type";
    case RxDrop::kCount: break;
  }
  return "unknown";
}

uint64_t RtpLegCounters::dropped_total() const {
  uint64_t total = 0;
  for (uint64_t count : dropped) total += count;
  return total;
}

RtpLeg::RtpLeg(const RtpLegConfig& config)
    : config_(config),
      remote_(config.remote),
      next_sequence_(config.first_sequence),
      next_timestamp_(config.first_timestamp) {}

RtpLeg::RxResult RtpLeg::Drop(RxDrop reason) {
  ++counters_.dropped[static_cast<size_t>(reason)];
  return RxResult{reason, RxKind::kMedia};
}

RtpLeg::RxResult RtpLeg::Receive(std::span<const uint8_t> datagram, const SocketAddress& source,
                                 mixer::PacketIn& packet) {
  // Before latching, anything may be the far end; after, only the far end is,
  // and whatever else arrives is dropped before it is even looked at.
  const bool source_known = remote_.is_set() && (latched_ || !config_.latch);
  if (source_known && source != remote_) return Drop(RxDrop::kWrongSource);
  const MuxKind kind = ClassifyMuxed(datagram);
  if (kind == MuxKind::kNotRtp) return Drop(RxDrop::kNotRtp);
  if (kind == MuxKind::kRtcp) {
    // RTCP is counted here; reports are handled with the RTCP work.
    ++counters_.rx_rtcp;
    return RxResult{std::nullopt, RxKind::kRtcp};
  }
  auto rtp = ParseRtp(datagram);
  if (!rtp) return Drop(RxDrop::kMalformed);
  const PayloadType type = rtp->payload_type();
  const bool telephone_event = config_.telephone_event_type && type == *config_.telephone_event_type;
  if (type != config_.payload_type && !telephone_event) return Drop(RxDrop::kUnknownPayloadType);
  if (config_.latch && !latched_) {
    remote_ = source;
    latched_ = true;
    ++counters_.latches;
  }
  if (telephone_event) {
    ++counters_.rx_telephone_events;
    return RxResult{std::nullopt, RxKind::kTelephoneEvent};
  }
  ++counters_.rx_packets;
  counters_.rx_bytes += datagram.size();
  CountReceived(rtp->ssrc(), rtp->sequence_number());
  packet = mixer::PacketIn{rtp->sequence_number(), rtp->timestamp(), rtp->ssrc(), rtp->marker(),
                           rtp->payload()};
  return RxResult{std::nullopt, RxKind::kMedia};
}

RtpLeg::RxResult RtpLeg::ReceiveRtcp(std::span<const uint8_t> datagram, const SocketAddress& source) {
  // Until the RTP source is known (latched or configured), RTCP is accepted from
  // anywhere; after, only from the RTP source's address and port + 1.
  const bool source_known = remote_.is_set() && (latched_ || !config_.latch);
  if (source_known && source != remote_.WithPort(static_cast<uint16_t>(remote_.port() + 1))) {
    return Drop(RxDrop::kWrongSource);
  }
  if (ClassifyMuxed(datagram) != MuxKind::kRtcp) return Drop(RxDrop::kNotRtp);
  ++counters_.rx_rtcp;
  return RxResult{std::nullopt, RxKind::kRtcp};
}

void RtpLeg::CountReceived(Ssrc ssrc, SequenceNumber sequence) {
  if (!rx_ssrc_ || *rx_ssrc_ != ssrc) {
    if (rx_ssrc_) {
      ++counters_.ssrc_changes;
      lost_in_earlier_streams_ = counters_.lost;
    }
    rx_ssrc_ = ssrc;
    rx_unwrapper_ = SequenceUnwrapper();
    rx_base_ = rx_highest_ = rx_unwrapper_.Unwrap(sequence);
    rx_in_stream_ = 1;
  } else {
    rx_highest_ = std::max(rx_highest_, rx_unwrapper_.Unwrap(sequence));
    ++rx_in_stream_;
  }
  const int64_t expected = rx_highest_ - rx_base_ + 1;
  counters_.lost = lost_in_earlier_streams_ + expected - static_cast<int64_t>(rx_in_stream_);
}

size_t RtpLeg::WritePacket(std::span<const uint8_t> payload, std::span<uint8_t> out) {
  const RtpHeaderFields fields{marker_next_, config_.payload_type, next_sequence_,
                               next_timestamp_, config_.ssrc, {}};
  auto written = WriteRtp(fields, payload, out);
  if (!written) return 0;
  marker_next_ = false;
  next_sequence_ = next_sequence_.Next();
  next_timestamp_ = next_timestamp_ + static_cast<uint32_t>(config_.tick_samples);
  ++counters_.tx_packets;
  counters_.tx_bytes += *written;
  return *written;
}

void RtpLeg::SkipTick() {
  next_timestamp_ = next_timestamp_ + static_cast<uint32_t>(config_.tick_samples);
  marker_next_ = true;
}

void RtpLeg::Update(const SocketAddress& remote, bool latch) {
  remote_ = remote;
  config_.remote = remote;
  config_.latch = latch;
  latched_ = false;
}

}  // namespace earshot::dataplane

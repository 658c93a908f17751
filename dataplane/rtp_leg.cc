#include "dataplane/rtp_leg.h"

#include <algorithm>

#include "dataplane/packet_demux.h"
#include "dataplane/rtcp_packet.h"
#include "dataplane/rtcp_writer.h"
#include "dataplane/rtp_packet.h"

namespace earshot::dataplane {

std::string_view RxDropName(RxDrop drop) {
  switch (drop) {
    case RxDrop::kNotRtp: return "not_rtp";
    case RxDrop::kMalformed: return "malformed";
    case RxDrop::kWrongSource: return "wrong_source";
    case RxDrop::kUnknownPayloadType: return "unknown_payload_type";
    case RxDrop::kSrtpAuthentication: return "srtp_authentication";
    case RxDrop::kSrtpReplay: return "srtp_replay";
    case RxDrop::kSrtpNoKey: return "srtp_no_key";
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

tl::expected<size_t, RxDrop> RtpLeg::Unprotect(std::span<uint8_t> datagram, bool rtcp) {
  if (!srtp_in_) return tl::unexpected(RxDrop::kSrtpNoKey);
  auto plain = rtcp ? srtp_in_->UnprotectRtcp(datagram) : srtp_in_->UnprotectRtp(datagram);
  if (plain) return *plain;
  switch (plain.error()) {
    case SrtpError::kReplayed:
    case SrtpError::kReplayTooOld: return tl::unexpected(RxDrop::kSrtpReplay);
    case SrtpError::kMalformed: return tl::unexpected(RxDrop::kMalformed);
    default: return tl::unexpected(RxDrop::kSrtpAuthentication);
  }
}

RtpLeg::RxResult RtpLeg::Receive(std::span<uint8_t> datagram, const SocketAddress& source,
                                 mixer::PacketIn& packet, int64_t arrival_ns, uint64_t ntp_now) {
  // Before latching, anything may be the far end; after, only the far end is,
  // and whatever else arrives is dropped before it is even looked at.
  const bool source_known = remote_.is_set() && (latched_ || !config_.latch);
  if (source_known && source != remote_) return Drop(RxDrop::kWrongSource);
  const MuxKind kind = ClassifyMuxed(datagram);
  if (kind == MuxKind::kNotRtp) return Drop(RxDrop::kNotRtp);
  if (config_.srtp) {
    auto plain = Unprotect(datagram, kind == MuxKind::kRtcp);
    if (!plain) return Drop(plain.error());
    datagram = datagram.first(*plain);
  }
  if (kind == MuxKind::kRtcp) {
    ++counters_.rx_rtcp;
    ReadRtcp(datagram, ntp_now);
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
  packet = mixer::PacketIn{rtp->sequence_number(), rtp->timestamp(), rtp->ssrc(), rtp->marker(),
                           rtp->payload()};
  if (telephone_event) {
    ++counters_.rx_telephone_events;
    return RxResult{std::nullopt, RxKind::kTelephoneEvent};
  }
  ++counters_.rx_packets;
  counters_.rx_bytes += datagram.size();
  CountReceived(rtp->ssrc(), rtp->sequence_number());
  if (arrival_ns != 0) {
    // Arrival in RTP clock units; only differences matter, so wrapping is fine.
    const uint64_t units = static_cast<uint64_t>(arrival_ns) / 1000 * static_cast<uint64_t>(config_.clock_rate_hz) / 1'000'000;
    jitter_.Update(static_cast<uint32_t>(units), rtp->timestamp());
  }
  return RxResult{std::nullopt, RxKind::kMedia};
}

RtpLeg::RxResult RtpLeg::ReceiveRtcp(std::span<uint8_t> datagram, const SocketAddress& source,
                                     uint64_t ntp_now) {
  // Until the RTP source is known (latched or configured), RTCP is accepted from
  // anywhere; after, only from the RTP source's address and port + 1.
  const bool source_known = remote_.is_set() && (latched_ || !config_.latch);
  if (source_known && source != remote_.WithPort(static_cast<uint16_t>(remote_.port() + 1))) {
    return Drop(RxDrop::kWrongSource);
  }
  if (ClassifyMuxed(datagram) != MuxKind::kRtcp) return Drop(RxDrop::kNotRtp);
  if (config_.srtp) {
    auto plain = Unprotect(datagram, true);
    if (!plain) return Drop(plain.error());
    datagram = datagram.first(*plain);
  }
  ++counters_.rx_rtcp;
  ReadRtcp(datagram, ntp_now);
  return RxResult{std::nullopt, RxKind::kRtcp};
}

void RtpLeg::ReadRtcp(std::span<const uint8_t> compound, uint64_t ntp_now) {
  // Reduced-size RTCP (RFC 5506) is read too: whatever SR/RR it holds counts.
  auto parsed = RtcpCompoundView::Parse(compound, RtcpValidation::kReducedSize);
  if (!parsed) {
    ++counters_.rx_rtcp_malformed;
    return;
  }
  ++counters_.rx_rtcp_reports;
  auto read_blocks = [&](const ReportBlockRange& blocks) {
    for (ReportBlockView block : blocks) {
      if (block.ssrc() != config_.ssrc) continue;
      far_report_.has_report = true;
      far_report_.fraction_lost = block.fraction_lost() / 256.0;
      far_report_.cumulative_lost = block.cumulative_lost();
      far_report_.jitter_ms = config_.clock_rate_hz > 0 ? block.jitter() * 1000.0 / config_.clock_rate_hz : 0.0;
      if (ntp_now != 0) {
        std::optional<double> rtt = RoundTripMs(NtpMiddle32(ntp_now), block.last_sr(), block.delay_since_last_sr());
        if (rtt) far_report_.rtt_ms = rtt;
      }
    }
  };
  for (RtcpPacketView packet : *parsed) {
    if (packet.packet_type() == RtcpPacketType::kSr) {
      auto sr = SenderReportView::Parse(packet);
      if (!sr) continue;
      if (ntp_now != 0) {
        last_sr_middle32_ = NtpMiddle32(sr->ntp_timestamp());
        last_sr_arrival_ = ntp_now;
      }
      read_blocks(sr->report_blocks());
    } else if (packet.packet_type() == RtcpPacketType::kRr) {
      auto rr = ReceiverReportView::Parse(packet);
      if (rr) read_blocks(rr->report_blocks());
    }
  }
}

size_t RtpLeg::WriteRtcp(uint64_t ntp_now, std::string_view cname, bool bye, std::span<uint8_t> out) {
  const std::span<uint8_t> full = out;  // with room for the SRTCP trailer
  if (config_.srtp) {
    if (out.size() <= kSrtpMaxTrailer) return 0;
    out = out.first(out.size() - kSrtpMaxTrailer);
  }
  RtcpCompoundWriter writer(out);
  RtcpReportBlock block{Ssrc(0)};
  const bool has_block = rx_ssrc_.has_value();
  if (has_block) {
    block = reporter_.Report(*rx_ssrc_, ReceptionCounts{rx_base_, rx_highest_, rx_in_stream_}, jitter_.jitter(),
                             last_sr_middle32_, last_sr_arrival_, ntp_now);
  }
  const std::span<const RtcpReportBlock> blocks(&block, has_block ? 1 : 0);
  const bool sender = counters_.tx_packets != tx_packets_at_last_report_;
  RtcpWriteResult written;
  if (sender) {
    // The RTP time of `ntp_now` is taken as the stream's current tick: within
    // one tick of exact, which is what a receiver's lip-sync and RTT need.
    const RtcpSenderInfo info{ntp_now, next_timestamp_.value(), static_cast<uint32_t>(counters_.tx_packets),
                              static_cast<uint32_t>(tx_payload_octets_)};
    written = writer.AppendSenderReport(config_.ssrc, info, blocks);
  } else {
    written = writer.AppendReceiverReport(config_.ssrc, blocks);
  }
  if (!written || !writer.AppendSdesCname(config_.ssrc, cname)) return 0;
  if (bye) {
    const Ssrc ssrc = config_.ssrc;
    if (!writer.AppendBye(std::span<const Ssrc>(&ssrc, 1))) return 0;
  }
  size_t size = writer.size();
  if (config_.srtp) {
    auto protected_size = srtp_out_ ? srtp_out_->ProtectRtcp(full, size)
                                    : tl::expected<size_t, SrtpError>(tl::unexpect, SrtpError::kOther);
    if (!protected_size) {
      ++counters_.tx_srtp_errors;
      return 0;
    }
    size = *protected_size;
  }
  tx_packets_at_last_report_ = counters_.tx_packets;
  ++counters_.tx_rtcp;
  return size;
}

void RtpLeg::CountReceived(Ssrc ssrc, SequenceNumber sequence) {
  if (!rx_ssrc_ || *rx_ssrc_ != ssrc) {
    if (rx_ssrc_) {
      ++counters_.ssrc_changes;
      lost_in_earlier_streams_ = counters_.lost;
    }
    rx_ssrc_ = ssrc;
    jitter_.Reset();
    reporter_.Reset();
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

size_t RtpLeg::Protect(size_t size, std::span<uint8_t> out) {
  if (!config_.srtp) return size;
  auto protected_size = srtp_out_ ? srtp_out_->ProtectRtp(out, size)
                                  : tl::expected<size_t, SrtpError>(tl::unexpect, SrtpError::kOther);
  if (!protected_size) {
    ++counters_.tx_srtp_errors;
    return 0;
  }
  return *protected_size;
}

size_t RtpLeg::WritePacket(std::span<const uint8_t> payload, std::span<uint8_t> out) {
  const RtpHeaderFields fields{marker_next_, config_.payload_type, next_sequence_,
                               next_timestamp_, config_.ssrc, {}};
  auto written = WriteRtp(fields, payload, out);
  if (!written) return 0;
  const size_t size = Protect(*written, out);
  if (size == 0) return 0;
  marker_next_ = false;
  next_sequence_ = next_sequence_.Next();
  next_timestamp_ = next_timestamp_ + static_cast<uint32_t>(config_.tick_samples);
  tx_payload_octets_ += payload.size();
  ++counters_.tx_packets;
  counters_.tx_bytes += size;
  return size;
}

size_t RtpLeg::WriteEventPacket(const TelephoneEvent& event, RtpTimestamp timestamp, bool marker,
                                std::span<uint8_t> out) {
  if (!config_.telephone_event_type) return 0;
  uint8_t payload[kTelephoneEventSize];
  (void)WriteTelephoneEvent(event, payload);
  const RtpHeaderFields fields{marker, *config_.telephone_event_type, next_sequence_, timestamp,
                               config_.ssrc, {}};
  auto written = WriteRtp(fields, payload, out);
  if (!written) return 0;
  const size_t size = Protect(*written, out);
  if (size == 0) return 0;
  next_sequence_ = next_sequence_.Next();
  tx_payload_octets_ += kTelephoneEventSize;
  ++counters_.tx_packets;
  ++counters_.tx_telephone_events;
  counters_.tx_bytes += size;
  return size;
}

void RtpLeg::AdvanceTick() {
  next_timestamp_ = next_timestamp_ + static_cast<uint32_t>(config_.tick_samples);
}

void RtpLeg::SetSrtp(std::optional<SrtpSession> inbound, std::optional<SrtpSession> outbound) {
  srtp_in_ = std::move(inbound);
  srtp_out_ = std::move(outbound);
}

Result<void> RtpLeg::RekeySrtp(const SrtpKey* inbound, const SrtpKey* outbound, int replay_window) {
  if (!config_.srtp) return MakeError(ErrorCode::kFailedPrecondition, "the leg does not use SRTP");
  auto rekey = [](std::optional<SrtpSession>& session, const SrtpKey& key,
                  auto make) -> Result<void> {
    if (session) return session->Rekey(key);
    Result<SrtpSession> made = make(key);
    if (!made) return tl::unexpected(made.error());
    session.emplace(std::move(*made));
    return {};
  };
  if (inbound != nullptr) {
    Result<void> done = rekey(srtp_in_, *inbound, [replay_window](const SrtpKey& key) {
      return SrtpSession::Inbound(key, replay_window);
    });
    if (!done) return done;
  }
  if (outbound != nullptr) {
    Result<void> done = rekey(srtp_out_, *outbound, [](const SrtpKey& key) { return SrtpSession::Outbound(key); });
    if (!done) return done;
  }
  ++counters_.srtp_rekeys;
  return {};
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

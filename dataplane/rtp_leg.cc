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
                                 mixer::PacketIn& packet) {
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

RtpLeg::RxResult RtpLeg::ReceiveRtcp(std::span<uint8_t> datagram, const SocketAddress& source) {
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
  }
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
  size_t size = *written;
  if (config_.srtp) {
    auto protected_size = srtp_out_ ? srtp_out_->ProtectRtp(out, size)
                                    : tl::expected<size_t, SrtpError>(tl::unexpect, SrtpError::kOther);
    if (!protected_size) {
      ++counters_.tx_srtp_errors;
      return 0;
    }
    size = *protected_size;
  }
  marker_next_ = false;
  next_sequence_ = next_sequence_.Next();
  next_timestamp_ = next_timestamp_ + static_cast<uint32_t>(config_.tick_samples);
  ++counters_.tx_packets;
  counters_.tx_bytes += size;
  return size;
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

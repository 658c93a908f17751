#include "dataplane/srtp_session.h"

#include <memory>
#include <string>

#include "codecs/check.h"
#include "dataplane/srtp_crypto.h"
#include "dataplane/srtp_replay.h"
#include "dataplane/srtp_stream.h"
#include "dataplane/srtp_transform.h"

namespace earshot::dataplane {

struct SrtpSession::State {
  std::unique_ptr<SrtpTransform> transform;
  SrtpStreamTable streams;
};

namespace {

constexpr size_t kRtpHeaderBytes = 12;
// The most we write past the packet, which kSrtpMaxTrailer must cover.
static_assert(kSrtpMaxTrailer >= kSrtcpTrailerBytes + AesGcm::kTagBytes);

uint32_t Be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}
uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// The RTP header's length with CSRCs and extension (RFC 3550 §5.1, §5.3.1),
// or 0 if it does not fit in `packet` (which is at least 12 bytes).
size_t RtpHeaderBytes(std::span<const uint8_t> packet) {
  size_t size = kRtpHeaderBytes + 4 * size_t{packet[0] & 0x0Fu};
  if ((packet[0] & 0x10u) != 0) {
    if (packet.size() < size + 4) return 0;
    size += 4 + 4 * size_t{Be16(&packet[size + 2])};
  }
  return size <= packet.size() ? size : 0;
}

SrtpError Failure(ReplayVerdict verdict) {
  return verdict == ReplayVerdict::kReplayed ? SrtpError::kReplayed : SrtpError::kReplayTooOld;
}

SrtpError Failure(TransformStatus status) {
  return status == TransformStatus::kAuthenticationFailed ? SrtpError::kAuthenticationFailed
                                                          : SrtpError::kOther;
}

Result<std::unique_ptr<SrtpTransform>> MakeTransform(const SrtpKey& key, bool inbound) {
  auto transform = std::make_unique<SrtpTransform>();
  if (!transform->Init(key, /*encrypt=*/!inbound)) {
    return MakeError(ErrorCode::kInternal, "OpenSSL could not key SRTP suite " +
                                               std::string(SrtpSuiteName(key.suite())));
  }
  return transform;
}

}  // namespace

Result<void> InitSrtpLibrary() {
  if (!LoadSrtpCiphers()) {
    return MakeError(ErrorCode::kInternal, "OpenSSL lacks AES-CTR or AES-GCM for SRTP");
  }
  return {};
}

void SrtpSession::StateDeleter::operator()(State* state) const { delete state; }

SrtpSession::SrtpSession(std::unique_ptr<State, StateDeleter> state, SrtpSuite suite,
                         bool inbound)
    : state_(std::move(state)), suite_(suite), inbound_(inbound) {}

Result<SrtpSession> SrtpSession::Inbound(const SrtpKey& key, int replay_window) {
  if (replay_window < kMinReplayWindow || replay_window > kMaxReplayWindow) {
    return InvalidArgument("SRTP replay window " + std::to_string(replay_window) +
                           " is outside " + std::to_string(kMinReplayWindow) + ".." +
                           std::to_string(kMaxReplayWindow) + " packets");
  }
  return Create(key, /*inbound=*/true, replay_window);
}

Result<SrtpSession> SrtpSession::Outbound(const SrtpKey& key) {
  return Create(key, /*inbound=*/false, 0);
}

Result<SrtpSession> SrtpSession::Create(const SrtpKey& key, bool inbound, int replay_window) {
  if (key.empty()) return InvalidArgument("SRTP key is empty (moved from)");
  if (Result<void> init = InitSrtpLibrary(); !init) return tl::unexpected(init.error());
  Result<std::unique_ptr<SrtpTransform>> transform = MakeTransform(key, inbound);
  if (!transform) return tl::unexpected(transform.error());
  std::unique_ptr<State, StateDeleter> state(new State);
  state->transform = std::move(*transform);
  const int rtp_window = inbound ? replay_window : kSrtpOutboundReplayWindow;
  if (!state->streams.Init(rtp_window, kSrtcpReplayWindow)) {
    return MakeError(ErrorCode::kInternal, "SRTP stream table could not be sized");
  }
  return SrtpSession(std::move(state), key.suite(), inbound);
}

tl::expected<size_t, SrtpError> SrtpSession::ProtectRtp(std::span<uint8_t> buffer,
                                                        size_t length) {
  EARSHOT_DCHECK(state_ != nullptr);  // not moved from
  if (inbound_) [[unlikely]] return tl::unexpected(SrtpError::kOther);
  if (length < kRtpHeaderBytes || length > buffer.size()) {
    return tl::unexpected(SrtpError::kMalformed);
  }
  if (buffer.size() - length < kSrtpMaxTrailer) return tl::unexpected(SrtpError::kNoRoom);
  const size_t header_bytes = RtpHeaderBytes(buffer.first(length));
  if (header_bytes == 0) return tl::unexpected(SrtpError::kMalformed);
  const uint32_t ssrc = Be32(&buffer[8]);
  const uint16_t seq = Be16(&buffer[2]);

  SrtpStreamTable& streams = state_->streams;
  SrtpStream* stream = streams.Find(ssrc);
  const bool created = stream == nullptr;
  uint64_t index = seq;
  if (!created) {
    index = EstimateSrtpIndex(stream->rtp.highest(), seq);
    // Protecting an index twice would reuse keystream (RFC 3711 §9.1).
    const ReplayVerdict verdict = stream->rtp.Check(index);
    if (verdict != ReplayVerdict::kFresh) return tl::unexpected(Failure(verdict));
  } else {
    stream = streams.Claim(ssrc, /*evict=*/false);
    if (stream == nullptr) return tl::unexpected(SrtpError::kOther);
  }
  SrtpTransform& transform = *state_->transform;
  const TransformStatus status = transform.ProtectRtp(buffer, length, header_bytes, ssrc, index);
  if (status != TransformStatus::kOk) [[unlikely]] {
    if (created) stream->in_use = false;
    return tl::unexpected(Failure(status));
  }
  stream->rtp.Accept(index);
  return length + transform.params().rtp_tag_bytes;
}

tl::expected<size_t, SrtpError> SrtpSession::ProtectRtcp(std::span<uint8_t> buffer,
                                                         size_t length) {
  EARSHOT_DCHECK(state_ != nullptr);  // not moved from
  if (inbound_) [[unlikely]] return tl::unexpected(SrtpError::kOther);
  if (length < kRtcpHeaderBytes || length > buffer.size()) {
    return tl::unexpected(SrtpError::kMalformed);
  }
  if (buffer.size() - length < kSrtpMaxTrailer) return tl::unexpected(SrtpError::kNoRoom);
  const uint32_t ssrc = Be32(&buffer[4]);

  SrtpStreamTable& streams = state_->streams;
  SrtpStream* stream = streams.Find(ssrc);
  const bool created = stream == nullptr;
  if (created) {
    stream = streams.Claim(ssrc, /*evict=*/false);
    if (stream == nullptr) return tl::unexpected(SrtpError::kOther);
  }
  // The key may protect 2^31 SRTCP packets (RFC 3711 §9.2); the first index is 1.
  if (stream->rtcp_sent >= kSrtcpMaxIndex) [[unlikely]] return tl::unexpected(SrtpError::kOther);
  const uint32_t index = stream->rtcp_sent + 1;
  SrtpTransform& transform = *state_->transform;
  const TransformStatus status = transform.ProtectRtcp(buffer, length, ssrc, index);
  if (status != TransformStatus::kOk) [[unlikely]] {
    if (created) stream->in_use = false;
    return tl::unexpected(Failure(status));
  }
  stream->rtcp_sent = index;
  return length + kSrtcpTrailerBytes + transform.params().rtcp_tag_bytes;
}

tl::expected<size_t, SrtpError> SrtpSession::UnprotectRtp(std::span<uint8_t> packet) {
  EARSHOT_DCHECK(state_ != nullptr);  // not moved from
  if (!inbound_) [[unlikely]] return tl::unexpected(SrtpError::kOther);
  SrtpTransform& transform = *state_->transform;
  const size_t tag_bytes = transform.params().rtp_tag_bytes;
  if (packet.size() < kRtpHeaderBytes + tag_bytes) return tl::unexpected(SrtpError::kMalformed);
  const size_t body = packet.size() - tag_bytes;
  const size_t header_bytes = RtpHeaderBytes(packet.first(body));
  if (header_bytes == 0) return tl::unexpected(SrtpError::kMalformed);
  const uint32_t ssrc = Be32(&packet[8]);
  const uint16_t seq = Be16(&packet[2]);

  // Everything up to the tag check only reads the session.
  SrtpStreamTable& streams = state_->streams;
  SrtpStream* stream = streams.Find(ssrc);
  uint64_t index = seq;  // a new SSRC: ROC 0 (RFC 3711 §3.3.1)
  if (stream != nullptr) {
    index = EstimateSrtpIndex(stream->rtp.highest(), seq);
    const ReplayVerdict verdict = stream->rtp.Check(index);
    if (verdict != ReplayVerdict::kFresh) return tl::unexpected(Failure(verdict));
  }
  const TransformStatus status = transform.UnprotectRtp(packet, header_bytes, ssrc, index);
  if (status != TransformStatus::kOk) return tl::unexpected(Failure(status));

  // Authentic: now the state may change.
  if (stream == nullptr) stream = streams.Claim(ssrc, /*evict=*/true);
  stream->rtp.Accept(index);
  streams.Touch(*stream);
  return body;
}

tl::expected<size_t, SrtpError> SrtpSession::UnprotectRtcp(std::span<uint8_t> packet) {
  EARSHOT_DCHECK(state_ != nullptr);  // not moved from
  if (!inbound_) [[unlikely]] return tl::unexpected(SrtpError::kOther);
  SrtpTransform& transform = *state_->transform;
  const SrtpSuiteParams& params = transform.params();
  const size_t tag_bytes = params.rtcp_tag_bytes;
  if (packet.size() < kRtcpHeaderBytes + kSrtcpTrailerBytes + tag_bytes) {
    return tl::unexpected(SrtpError::kMalformed);
  }
  // E|index precedes the tag for AES-CM and follows it for GCM.
  const size_t trailer_at = params.aead ? packet.size() - kSrtcpTrailerBytes
                                        : packet.size() - tag_bytes - kSrtcpTrailerBytes;
  const uint32_t e_index = Be32(&packet[trailer_at]);
  const uint32_t index = e_index & kSrtcpMaxIndex;
  const uint32_t ssrc = Be32(&packet[4]);

  SrtpStreamTable& streams = state_->streams;
  SrtpStream* stream = streams.Find(ssrc);
  if (stream != nullptr) {
    const ReplayVerdict verdict = stream->rtcp.Check(index);
    if (verdict != ReplayVerdict::kFresh) return tl::unexpected(Failure(verdict));
  }
  const TransformStatus status = transform.UnprotectRtcp(packet, ssrc, e_index);
  if (status != TransformStatus::kOk) return tl::unexpected(Failure(status));

  if (stream == nullptr) stream = streams.Claim(ssrc, /*evict=*/true);
  stream->rtcp.Accept(index);
  streams.Touch(*stream);
  return packet.size() - kSrtcpTrailerBytes - tag_bytes;
}

Result<void> SrtpSession::Rekey(const SrtpKey& key) {
  EARSHOT_DCHECK(state_ != nullptr);  // not moved from
  if (key.empty()) return InvalidArgument("SRTP key is empty (moved from)");
  Result<std::unique_ptr<SrtpTransform>> transform = MakeTransform(key, inbound_);
  if (!transform) return tl::unexpected(transform.error());
  // The old transform's destructor wipes the old session keys.
  state_->transform = std::move(*transform);
  state_->streams.ClearReplayBits();
  suite_ = key.suite();
  return {};
}

std::optional<uint32_t> SrtpSession::RolloverCounter(Ssrc ssrc) const {
  EARSHOT_DCHECK(state_ != nullptr);  // not moved from
  const SrtpStream* stream = state_->streams.Find(ssrc.value());
  if (stream == nullptr) return std::nullopt;
  return stream->roc();
}

}  // namespace earshot::dataplane

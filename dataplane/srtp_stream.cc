#include "dataplane/srtp_stream.h"

namespace earshot::dataplane {

bool SrtpStreamTable::Init(int rtp_window, int rtcp_window) {
  for (SrtpStream& stream : streams_) {
    if (!stream.rtp.Init(rtp_window) || !stream.rtcp.Init(rtcp_window)) return false;
    stream.in_use = false;
  }
  clock_ = 0;
  return true;
}

SrtpStream* SrtpStreamTable::Find(uint32_t ssrc) {
  for (SrtpStream& stream : streams_) {
    if (stream.in_use && stream.ssrc == ssrc) return &stream;
  }
  return nullptr;
}

const SrtpStream* SrtpStreamTable::Find(uint32_t ssrc) const {
  for (const SrtpStream& stream : streams_) {
    if (stream.in_use && stream.ssrc == ssrc) return &stream;
  }
  return nullptr;
}

SrtpStream* SrtpStreamTable::Claim(uint32_t ssrc, bool evict) {
  SrtpStream* chosen = nullptr;
  for (SrtpStream& stream : streams_) {
    if (!stream.in_use) {
      chosen = &stream;
      break;
    }
    if (evict && (chosen == nullptr || stream.last_used < chosen->last_used)) chosen = &stream;
  }
  if (chosen == nullptr) return nullptr;
  chosen->rtp.Reset();
  chosen->rtcp.Reset();
  chosen->ssrc = ssrc;
  chosen->in_use = true;
  chosen->rtcp_sent = 0;
  Touch(*chosen);
  return chosen;
}

void SrtpStreamTable::ClearReplayBits() {
  for (SrtpStream& stream : streams_) {
    stream.rtp.ClearBits();
    stream.rtcp.ClearBits();
  }
}

}  // namespace earshot::dataplane

#pragma once
// Turns the codec a SIP server negotiated ("PCMU", "PCMA", "L16/16000") into
// encoder and decoder instances, on the control path.

#include <memory>
#include <string>

#include "codecs/audio_codec.h"
#include "codecs/result.h"

namespace earshot::control {

struct CodecPair {
  std::unique_ptr<AudioEncoder> encoder;
  std::unique_ptr<AudioDecoder> decoder;
  int rtp_clock_rate_hz = 0;
};

// INVALID_ARGUMENT naming the codec and what is supported when it is unknown.
[[nodiscard]] Result<CodecPair> MakeCodecs(const std::string& codec);

}  // namespace earshot::control

#pragma once
// Turns the codec a SIP server negotiated ("PCMU", "PCMA", "L16/16000",
// "opus/16000") into encoder and decoder instances, on the control path.

#include <memory>
#include <string>

#include "codecs/audio_codec.h"
#include "codecs/opus.h"
#include "codecs/result.h"

namespace earshot::control {

struct CodecPair {
  std::unique_ptr<AudioEncoder> encoder;
  std::unique_ptr<AudioDecoder> decoder;
  int rtp_clock_rate_hz = 0;
};

// Names are case-insensitive:
// - "PCMU", "PCMA" (optionally "/8000");
// - "L16/8000", "L16/16000", "L16/48000";
// - "opus" (48 kHz internally), "opus/48000", "opus/16000", "opus/8000": the
//   number is Opus's internal rate, the rate of the PCM it takes and gives; the
//   RTP clock is 48000 whatever it is (RFC 7587). `opus` supplies the rest of
//   the encoder's settings; its sample_rate_hz is ignored in favour of the name.
// INVALID_ARGUMENT naming the codec and what is supported when it is unknown,
// or naming the Opus option that is out of range.
[[nodiscard]] Result<CodecPair> MakeCodecs(const std::string& codec,
                                           const OpusOptions& opus = OpusOptions{});

}  // namespace earshot::control

#include "control/codec_factory.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "codecs/g711.h"
#include "codecs/l16.h"
#include "codecs/opus.h"

namespace earshot::control {

namespace {

constexpr const char* kSupported =
    "PCMU, PCMA, L16/8000|16000|48000, opus[/8000|16000|48000] or opus/48000/2";

}  // namespace

Result<CodecPair> MakeCodecs(const std::string& codec, const OpusOptions& opus) {
  std::string text = codec;
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // An SDP rtpmap names Opus "opus/48000/2" whatever is sent (RFC 7587 §7): the
  // RTP clock and a stereo-capable decoder, so it means the 48 kHz default.
  if (text == "opus/48000/2") text = "opus";
  std::string name = text;
  int rate = 0;
  if (size_t slash = text.find('/'); slash != std::string::npos) {
    name = text.substr(0, slash);
    const char* begin = text.data() + slash + 1;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(begin, end, rate);
    if (ec != std::errc() || ptr != end) rate = -1;
  }
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  CodecPair pair;
  if ((name == "PCMU" || name == "PCMA") && (rate == 0 || rate == 8000)) {
    const G711Law law = name == "PCMU" ? G711Law::kUlaw : G711Law::kAlaw;
    pair.encoder = std::make_unique<G711Encoder>(law);
    pair.decoder = std::make_unique<G711Decoder>(law);
    pair.rtp_clock_rate_hz = 8000;
    return pair;
  }
  if (name == "L16" && (rate == 8000 || rate == 16000 || rate == 48000)) {
    pair.encoder = std::make_unique<L16Encoder>(rate);
    pair.decoder = std::make_unique<L16Decoder>(rate);
    pair.rtp_clock_rate_hz = rate;
    return pair;
  }
  if (name == "OPUS" && (rate == 0 || rate == 8000 || rate == 16000 || rate == 48000)) {
    OpusOptions options = opus;
    options.sample_rate_hz = rate == 0 ? 48000 : rate;
    Result<OpusAudioEncoder> encoder = OpusAudioEncoder::Create(options);
    if (!encoder) {
      return InvalidArgument(fmt::format("codec '{}': {}", codec, encoder.error().message));
    }
    Result<OpusAudioDecoder> decoder = OpusAudioDecoder::Create(options.sample_rate_hz);
    if (!decoder) return tl::unexpected(decoder.error());
    pair.encoder = std::make_unique<OpusAudioEncoder>(std::move(*encoder));
    pair.decoder = std::make_unique<OpusAudioDecoder>(std::move(*decoder));
    pair.rtp_clock_rate_hz = 48000;  // RFC 7587 §4.1, whatever the internal rate
    return pair;
  }
  return InvalidArgument(
      fmt::format("codec '{}' is not supported: use {}", codec, kSupported));
}

}  // namespace earshot::control

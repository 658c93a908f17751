#include "control/codec_factory.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "codecs/g711.h"
#include "codecs/l16.h"

namespace earshot::control {

Result<CodecPair> MakeCodecs(const std::string& codec) {
  std::string name = codec;
  int rate = 0;
  if (size_t slash = codec.find('/'); slash != std::string::npos) {
    name = codec.substr(0, slash);
    const char* begin = codec.data() + slash + 1;
    const char* end = codec.data() + codec.size();
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
  if (name == "OPUS") {
    return InvalidArgument(
        fmt::format("codec '{}': Opus is not available in this build yet; use PCMU, PCMA or "
                    "L16/8000|16000|48000",
                    codec));
  }
  return InvalidArgument(fmt::format(
      "codec '{}' is not supported: use PCMU, PCMA or L16/8000|16000|48000", codec));
}

}  // namespace earshot::control

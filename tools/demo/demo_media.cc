#include "tools/demo/demo_media.h"

#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

namespace earshot::demo {
namespace {

bool HasSpeech(const std::string& dir) {
  struct stat info {};
  return stat((dir + "/customer_8k.wav").c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

using SndFile = std::unique_ptr<SNDFILE, int (*)(SNDFILE*)>;

}  // namespace

std::optional<std::string> FindMediaDir() {
  if (const char* dir = std::getenv("EARSHOT_MEDIA_DIR"); dir != nullptr && HasSpeech(dir)) {
    return std::string(dir);
  }
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) != nullptr) {
    // From the repository root, ../shared/media; from build/ or tools/demo/, the
    // same folder a level or two further up.
    std::string dir = cwd;
    while (!dir.empty()) {
      if (HasSpeech(dir + "/../shared/media")) return dir + "/../shared/media";
      if (dir == "/") break;
      size_t slash = dir.find_last_of('/');
      dir = slash == 0 ? "/" : dir.substr(0, slash);
    }
  }
  std::string beside_source = std::string(EARSHOT_SOURCE_DIR) + "/../shared/media";
  if (HasSpeech(beside_source)) return beside_source;
  return std::nullopt;
}

Result<std::vector<int16_t>> ReadSpeech(const std::string& path) {
  SF_INFO info{};
  SndFile file(sf_open(path.c_str(), SFM_READ, &info), sf_close);
  if (file == nullptr) {
    return MakeError(ErrorCode::kNotFound, path + ": " + sf_strerror(nullptr));
  }
  if (info.channels != 1 || info.samplerate != kSampleRateHz) {
    return InvalidArgument(path + ": expected mono 8000 Hz, found " + std::to_string(info.channels) +
                           " channel(s) at " + std::to_string(info.samplerate) + " Hz");
  }
  std::vector<int16_t> samples(static_cast<size_t>(info.frames));
  sf_count_t read = sf_read_short(file.get(), samples.data(), info.frames);
  samples.resize(static_cast<size_t>(read > 0 ? read : 0));
  if (samples.empty()) return InvalidArgument(path + ": no audio");
  return samples;
}

Result<void> WriteWav(const std::string& path, const std::vector<int16_t>& samples) {
  SF_INFO info{};
  info.samplerate = kSampleRateHz;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SndFile file(sf_open(path.c_str(), SFM_WRITE, &info), sf_close);
  if (file == nullptr) {
    return MakeError(ErrorCode::kUnavailable, path + ": " + sf_strerror(nullptr));
  }
  sf_count_t frames = static_cast<sf_count_t>(samples.size());
  if (sf_write_short(file.get(), samples.data(), frames) != frames) {
    return MakeError(ErrorCode::kUnavailable, path + ": " + sf_strerror(file.get()));
  }
  return {};
}

}  // namespace earshot::demo

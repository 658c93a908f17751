#include "tests/support/media_files.h"

#include <sndfile.h>
#include <sys/stat.h>

#include <cstdlib>
#include <memory>

namespace earshot::testing {

std::optional<std::string> SharedMediaDir() {
  std::string dir = std::string(EARSHOT_SOURCE_DIR) + "/../shared/media";
  if (const char* override_dir = std::getenv("EARSHOT_MEDIA_DIR")) dir = override_dir;
  struct stat info {};
  if (stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) return std::nullopt;
  return dir;
}

std::optional<Recording> ReadWav(const std::string& path) {
  SF_INFO info{};
  std::unique_ptr<SNDFILE, int (*)(SNDFILE*)> file(sf_open(path.c_str(), SFM_READ, &info), sf_close);
  if (file == nullptr || info.channels != 1) return std::nullopt;
  Recording recording;
  recording.sample_rate_hz = info.samplerate;
  recording.samples.resize(static_cast<size_t>(info.frames));
  sf_count_t read = sf_read_short(file.get(), recording.samples.data(), info.frames);
  recording.samples.resize(static_cast<size_t>(read));
  return recording;
}

}  // namespace earshot::testing

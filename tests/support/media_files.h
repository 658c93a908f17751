#pragma once
// The shared speech recordings (../shared/media beside the repository): one
// support call, one voice per party, mono 16-bit at 8, 16 and 48 kHz.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace earshot::testing {

// The folder of the shared recordings, or nullopt when this checkout has none.
std::optional<std::string> SharedMediaDir();

struct Recording {
  int sample_rate_hz = 0;
  std::vector<int16_t> samples;
};

// Reads a mono 16-bit WAV file; nullopt if it cannot be read as one.
std::optional<Recording> ReadWav(const std::string& path);

}  // namespace earshot::testing

#pragma once
// The demo's audio files: finding the shared speech recordings, reading them,
// and writing what each phone heard. All audio here is 8 kHz mono 16-bit, the
// rate of the PCMU legs the demo sets up.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codecs/result.h"

namespace earshot::demo {

inline constexpr int kSampleRateHz = 8000;

// Where the speech files are when --media is not given: $EARSHOT_MEDIA_DIR,
// then ../shared/media beside the current directory or any folder above it,
// then ../shared/media beside the repository this program was built from.
// nullopt when none of them holds customer_8k.wav.
std::optional<std::string> FindMediaDir();

// Reads a mono 16-bit WAV at 8 kHz; any other layout is an error that says why.
[[nodiscard]] Result<std::vector<int16_t>> ReadSpeech(const std::string& path);

// Writes 8 kHz mono 16-bit PCM WAV.
[[nodiscard]] Result<void> WriteWav(const std::string& path, const std::vector<int16_t>& samples);

}  // namespace earshot::demo

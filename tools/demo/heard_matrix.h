#pragma once
// Who heard whom, measured from the recordings of the demo's phones.
//
// Method. All three parties send speech at the same time, so a listener's
// recording is (ideally) a sum of the others' sent signals, each delayed by
// Earshot's latency and scaled by its gain from the mix matrix. FitListener cuts
// the window of one phase into blocks of a quarter of a second and, in each,
// finds for each speaker the delay (0..500 ms) at which that speaker's sent
// signal correlates best with the recording. The block's mixer delay is that of
// the speaker who correlates best, if anyone clearly does (normalised
// correlation >= 0.3; else the previous block's). Every speaker is taken at the
// mixer delay unless its own best delay correlates clearly and twice as well.
// It then fits all blocks at once, g_c * customer + g_a * agent +
// g_s * supervisor, by least squares. |g| in dB is the reported gain: about
// 0 dB for a speaker heard at unity gain, far below for one not in the mix. The
// listener's own voice is fitted too, so an echo of it would show.
//
// Why per block: the delay through Earshot is not constant. Its jitter buffers
// grow and shrink in whole frames, and a worker that falls behind skips ticks,
// so the delay steps by 20 ms or more now and then; one delay for a whole phase
// would line up only part of it and underestimate the gain.
//
// Why absent speakers come out far below -30 dB: in each block both sides are
// first filtered with the recording's own linear-prediction error filter
// (order 12), which keeps the gains of a linear mix but whitens the recording,
// removing the formant resonances that make any two voices look alike at some
// delay. Chance correlations then stay around 0.1-0.25 at the best of a
// block's 4000 delays. Taking such a speaker at the mixer delay rather than at
// its own best delay keeps that chance from being maximised, and the blocks'
// chance terms, of random sign, partly cancel in the joint fit. A real leak,
// which would come through the mixer at the mixer delay, still shows.
//
// Blocks where no one stands out (silence, noise) stay in the fit at the
// previous mixer delay: a speaker who should be heard but is missing for part
// of a phase loses gain accordingly.
//
// Holes (samples no packet covered, `covered` == 0) are left out of the fit:
// they are losses, reported by the phone, not evidence of who is in the mix.
//
// Timeline: sample n of every track is the same instant (demo_phone.h).

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace earshot::demo {

enum class Party { kCustomer = 0, kAgent = 1, kSupervisor = 2 };
inline constexpr int kParties = 3;
inline constexpr std::array<Party, kParties> kAllParties = {Party::kCustomer, Party::kAgent,
                                                          Party::kSupervisor};

enum class Phase { kListen = 0, kWhisper = 1, kBarge = 2 };
inline constexpr int kPhases = 3;
inline constexpr std::array<Phase, kPhases> kAllPhases = {Phase::kListen, Phase::kWhisper, Phase::kBarge};

std::string_view PartyName(Party party);
std::string_view PhaseName(Phase phase);

// PRODUCT.md "Mix semantics", with the supervisor in `phase`'s mode: whether
// `listener` should hear `speaker`. Nobody hears their own voice.
bool ExpectedHeard(Phase phase, Party listener, Party speaker);

enum class Verdict { kHeard, kSilent, kUnclear };
std::string_view VerdictName(Verdict verdict);

inline constexpr int kWideDelaySamples = 2000 * 8;  // 2 s

struct FitOptions {
  // 500 ms at 8 kHz. Earshot's delay is usually 20-80 ms, but after a stall its
  // jitter buffers have been seen holding 280 ms, and 640 ms after a 1 s stall:
  // when a fit leaves much unexplained, the demo tries again with kWideDelay.
  int max_delay_samples = 500 * 8;
  int block_samples = 2000;         // 250 ms: the delay is taken as constant within a block
  double significant_correlation = 0.3;
  double heard_above_db = -10.0;
  double silent_below_db = -30.0;
};

struct Contribution {
  double gain = 0;              // fitted linear gain (negative: inverted)
  double gain_db = -200;        // 20 log10 |gain|
  // Where its correlation peaked: the median over blocks and the 10th and 90th
  // percentiles, weighted by how well each block correlated.
  double delay_ms = 0;
  double low_delay_ms = 0;
  double high_delay_ms = 0;
  // How often its delay changed by 10 ms or more from one block where it was
  // clearly heard to the next: Earshot dropped or repeated audio there.
  int delay_steps = 0;
  double share = 0;             // fraction of the recording's energy it explains
  Verdict verdict = Verdict::kSilent;
};

struct ListenerFit {
  std::array<Contribution, kParties> from;
  double level_dbfs = -200;       // of the recording within the window (where covered)
  double covered = 0;             // fraction of the window that packets covered
  double unexplained_db = 0;      // residual energy relative to the recording's
};

// A half-open range of timeline samples.
struct Window {
  int64_t begin;
  int64_t end;
};

// Fits `heard` within `window` from the three `sent` tracks (indexed by Party).
// Samples outside a track count as silence. `covered` marks the samples of
// `heard` that packets delivered; empty means all of them.
ListenerFit FitListener(std::span<const int16_t> heard, std::span<const uint8_t> covered,
                        const std::array<std::span<const int16_t>, kParties>& sent, Window window,
                        const FitOptions& options = {});

}  // namespace earshot::demo

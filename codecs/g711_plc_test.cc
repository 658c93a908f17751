#include "codecs/g711_plc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <numbers>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace earshot {
namespace {

constexpr size_t kFrame = 160;                    // 20 ms at 8 kHz.
constexpr size_t kSlice = G711Plc::kStepSamples;  // 10 ms.
// A quarter of the longest period plus 1 ms per 10 ms of a 20 ms loss: no
// merge after a 20 ms loss is longer.
constexpr size_t kLongestMergeAfter20Ms = G711Plc::kMaxPitchSamples / 4 + 2 * 8;

// A steady voiced-like signal: the first four harmonics of `fundamental_hz`
// at falling levels and unrelated phases, peaking near -10 dBFS.
std::vector<int16_t> Voiced(double fundamental_hz, size_t length, size_t start = 0) {
  std::vector<int16_t> pcm(length);
  for (size_t i = 0; i < length; ++i) {
    const double t = static_cast<double>(start + i) / 8000.0;
    double value = 0;
    for (int h = 1; h <= 4; ++h) {
      value += 5000.0 / h * std::sin(2.0 * std::numbers::pi * fundamental_hz * h * t + 0.7 * h);
    }
    pcm[i] = static_cast<int16_t>(std::lround(value));
  }
  return pcm;
}

double Energy(std::span<const int16_t> pcm) {
  double energy = 0;
  for (int16_t s : pcm) energy += static_cast<double>(s) * s;
  return energy;
}

double NormalisedCorrelation(std::span<const int16_t> a, std::span<const int16_t> b) {
  double cross = 0;
  for (size_t i = 0; i < a.size(); ++i) cross += static_cast<double>(a[i]) * b[i];
  return cross / std::sqrt(Energy(a) * Energy(b));
}

double LevelDifferenceDb(std::span<const int16_t> a, std::span<const int16_t> b) {
  return 10.0 * std::log10(Energy(a) / Energy(b));
}

int MaxStep(std::span<const int16_t> pcm) {
  int step = 0;
  for (size_t i = 1; i < pcm.size(); ++i) step = std::max(step, std::abs(pcm[i] - pcm[i - 1]));
  return step;
}

// Plays `signal` through `plc` in 20 ms frames, concealing the frames listed
// in `lost`; returns what a listener hears.
std::vector<int16_t> PlayWithLoss(G711Plc& plc, const std::vector<int16_t>& signal,
                                  std::initializer_list<size_t> lost) {
  std::vector<int16_t> heard = signal;
  for (size_t frame = 0; frame * kFrame < heard.size(); ++frame) {
    const std::span<int16_t> out = std::span(heard).subspan(frame * kFrame, kFrame);
    if (std::find(lost.begin(), lost.end(), frame) != lost.end()) {
      plc.Conceal(out);
    } else {
      plc.AddGoodFrame(out);
    }
  }
  return heard;
}

struct VoicedCase {
  double fundamental_hz;
  size_t start;  // Shifts the signal's phase against the frame grid.
};

class G711PlcVoicedTest : public ::testing::TestWithParam<VoicedCase> {};

// 150 Hz has a period of 53.3 samples, which no integer lag matches; 250 and
// 300 Hz are shorter than the shortest lag searched, so a multiple is used.
INSTANTIATE_TEST_SUITE_P(Fundamentals, G711PlcVoicedTest,
                         ::testing::Values(VoicedCase{150, 0}, VoicedCase{150, 17},
                                           VoicedCase{200, 5}, VoicedCase{250, 0},
                                           VoicedCase{300, 11}),
                         [](const ::testing::TestParamInfo<VoicedCase>& param_info) {
                           return std::to_string(
                                      static_cast<int>(param_info.param.fundamental_hz)) +
                                  "HzAt" + std::to_string(param_info.param.start);
                         });

TEST_P(G711PlcVoicedTest, OneLostFrameIsReplacedByTheSameWaveformAtTheSameLevel) {
  const std::vector<int16_t> signal =
      Voiced(GetParam().fundamental_hz, 10 * kFrame, GetParam().start);
  G711Plc plc;
  const std::vector<int16_t> heard = PlayWithLoss(plc, signal, {6});

  const auto lost = std::span(signal).subspan(6 * kFrame, kFrame);
  const auto concealed = std::span(heard).subspan(6 * kFrame, kFrame);
  const double correlation = NormalisedCorrelation(concealed, lost);
  const double level_db = LevelDifferenceDb(concealed.first(kSlice), lost.first(kSlice));
  RecordProperty("correlation", std::to_string(correlation));
  RecordProperty("level_db_first_10ms", std::to_string(level_db));
  EXPECT_GT(correlation, 0.8);
  EXPECT_LT(std::abs(level_db), 3.0);
}

TEST_P(G711PlcVoicedTest, NoClickWhereTheLossStartsOrWhereAudioResumes) {
  const std::vector<int16_t> signal =
      Voiced(GetParam().fundamental_hz, 10 * kFrame, GetParam().start);
  G711Plc plc;
  const std::vector<int16_t> heard = PlayWithLoss(plc, signal, {6});

  const int steady = MaxStep(signal);
  // 5 ms before each join to 10 ms after it: the OLA and the merge.
  const auto around = [&](size_t join) {
    return MaxStep(std::span(heard).subspan(join - 40, 120));
  };
  const int at_loss = around(6 * kFrame);
  const int at_resume = around(7 * kFrame);
  RecordProperty("steady_step", steady);
  RecordProperty("loss_step", at_loss);
  RecordProperty("resume_step", at_resume);
  EXPECT_LE(at_loss, 1.5 * steady);
  EXPECT_LE(at_resume, 1.5 * steady);
  // And the merge is over well before the frame is.
  const auto resumed = std::span(heard).subspan(7 * kFrame);
  EXPECT_TRUE(std::equal(resumed.begin() + kLongestMergeAfter20Ms, resumed.end(),
                         signal.begin() + 7 * kFrame + kLongestMergeAfter20Ms));
  EXPECT_FALSE(std::equal(resumed.begin(), resumed.begin() + 8, signal.begin() + 7 * kFrame));
}

TEST(G711PlcTest, NoClickWhenThePitchGlidesAndTheLevelMoves) {
  // Less kind than a steady tone: the fundamental glides from 120 to 180 Hz
  // over 200 ms while the level swings by +-40% at 3 Hz, so no period repeats
  // exactly and each join needs its OLA.
  std::vector<int16_t> signal(10 * kFrame);
  for (size_t i = 0; i < signal.size(); ++i) {
    const double t = static_cast<double>(i) / 8000.0;
    const double phase = 2.0 * std::numbers::pi * (120.0 * t + 0.5 * 300.0 * t * t);
    double value = 0;
    for (int h = 1; h <= 4; ++h) value += 5000.0 / h * std::sin(h * phase + 0.7 * h);
    value *= 0.6 + 0.4 * std::sin(2.0 * std::numbers::pi * 3.0 * t);
    signal[i] = static_cast<int16_t>(std::lround(value));
  }
  const int steady = MaxStep(signal);
  for (size_t lost : {4u, 5u, 6u, 7u}) {
    G711Plc plc;
    const std::vector<int16_t> heard = PlayWithLoss(plc, signal, {lost});
    const int at_loss = MaxStep(std::span(heard).subspan(lost * kFrame - 40, 120));
    const int at_resume = MaxStep(std::span(heard).subspan((lost + 1) * kFrame - 40, 120));
    EXPECT_LE(at_loss, 1.5 * steady) << "frame " << lost;
    EXPECT_LE(at_resume, 1.5 * steady) << "frame " << lost;
  }
}

TEST(G711PlcTest, NoStepAtTheJoinsWhenTheLastPeriodDiffersFromTheOneBefore) {
  // A 100 Hz cosine (period 80) that doubles in level over its last period
  // and ends on a peak: one period back, the same phase is only half as high.
  // Bare repetition would step by half the peak where the concealment starts
  // and again at every wrap of the loop; the OLAs must hide both.
  std::vector<int16_t> history(400);
  for (size_t i = 0; i < history.size(); ++i) {
    const double level = i < 320 ? 0.5 : 0.5 + 0.5 * static_cast<double>(i - 319) / 80.0;
    const double phase = 2.0 * std::numbers::pi * (static_cast<double>(i) - 399.0) / 80.0;
    history[i] = static_cast<int16_t>(std::lround(8000.0 * level * std::cos(phase)));
  }
  const int steady = MaxStep(history);
  std::vector<int16_t> heard = history;
  heard.resize(history.size() + kFrame);
  G711Plc plc;
  plc.AddGoodFrame(std::span(heard).first(history.size()));
  plc.Conceal(std::span(heard).subspan(history.size()));

  const int at_start = MaxStep(std::span(heard).subspan(history.size() - 1, 2));
  const int concealed = MaxStep(std::span(heard).subspan(history.size() - 40));
  RecordProperty("steady_step", steady);
  RecordProperty("junction_step", at_start);
  RecordProperty("concealed_step", concealed);
  EXPECT_LE(concealed, 1.5 * steady);
}

TEST(G711PlcTest, LongLossHoldsLevelFor10MsThenFades20PercentPer10MsToSilenceAt60Ms) {
  // 200 Hz: every 10 ms slice holds two whole periods, so every slice of the
  // steady signal has the same energy and any change is the concealment's.
  const std::vector<int16_t> signal = Voiced(200, 10 * kFrame);
  G711Plc plc;
  std::vector<int16_t> good(signal.begin(), signal.begin() + 6 * kFrame);
  plc.AddGoodFrame(good);
  std::array<int16_t, 80 * 8> concealed{};  // 80 ms.
  plc.Conceal(concealed);

  double previous = 0;
  for (size_t slice = 0; slice < 8; ++slice) {
    const double energy = Energy(std::span(concealed).subspan(slice * kSlice, kSlice));
    const double lost = Energy(std::span(signal).subspan(6 * kFrame + slice * kSlice, kSlice));
    const double relative = energy / lost;
    RecordProperty("slice" + std::to_string(slice) + "_relative_energy", std::to_string(relative));
    if (slice == 0) {
      EXPECT_NEAR(relative, 1.0, 0.05);
    } else if (slice < 6) {
      // Gain falls linearly from a to b across the slice: mean square gain
      // (a^2 + ab + b^2) / 3.
      const double a = (6.0 - static_cast<double>(slice)) / 5.0;
      const double b = a - 0.2;
      const double expected = (a * a + a * b + b * b) / 3.0;
      EXPECT_LT(energy, previous) << "slice " << slice;
      EXPECT_NEAR(relative, expected, 0.05 * expected + 0.001) << "slice " << slice;
    } else {
      EXPECT_EQ(energy, 0.0) << "slice " << slice;
    }
    previous = energy;
  }
  // Silence however long it goes on.
  std::array<int16_t, kFrame> more{};
  for (int i = 0; i < 20; ++i) {
    more.fill(99);
    plc.Conceal(more);
    ASSERT_EQ(Energy(more), 0.0);
  }
}

TEST(G711PlcTest, LongerLossesLoopOverMorePeriodsOfHistory) {
  // A period of 80 samples whose level steps up each period: 0.6, 0.8, 1.0 of
  // `shape` in the last three. Concealment plays period C (1.0) for 10 ms,
  // then loops over B C, then over A B C, so the periods it plays are, by
  // level: C B C A B C.
  std::array<double, 80> shape{};
  for (size_t i = 0; i < shape.size(); ++i) {
    const double phase = 2.0 * std::numbers::pi * static_cast<double>(i) / 80.0;
    shape[i] = 8000.0 * std::sin(phase) + 4000.0 * std::sin(3.0 * phase + 1.0);
  }
  const std::array<double, 5> levels = {0.6, 0.6, 0.6, 0.8, 1.0};
  std::vector<int16_t> history;
  for (double level : levels) {
    for (double s : shape) history.push_back(static_cast<int16_t>(std::lround(level * s)));
  }
  G711Plc plc;
  plc.AddGoodFrame(history);
  std::array<int16_t, 6 * 80> concealed{};
  plc.Conceal(concealed);

  const std::array<double, 6> expected = {1.0, 0.8, 1.0, 0.6, 0.8, 1.0};
  for (size_t period = 0; period < expected.size(); ++period) {
    // Least-squares level against shape times the known fade, over the part
    // of the period before its wrap OLA (a quarter period).
    double cross = 0;
    double norm = 0;
    for (size_t i = 0; i < 60; ++i) {
      const size_t k = period * 80 + i;
      const double gain = k < 80 ? 1.0 : static_cast<double>(480 - k) / 400.0;
      cross += concealed[k] * gain * shape[i];
      norm += gain * gain * shape[i] * shape[i];
    }
    EXPECT_NEAR(cross / norm, expected[period], 0.03) << "period " << period;
  }
}

TEST(G711PlcTest, ConcealingIn10MsPiecesGivesTheSameSamplesAsOne20MsCall) {
  const std::vector<int16_t> signal = Voiced(150, 3 * kFrame);
  G711Plc whole;
  G711Plc pieces;
  std::vector<int16_t> good = signal;
  whole.AddGoodFrame(good);
  good = signal;
  pieces.AddGoodFrame(good);

  std::array<int16_t, kFrame> expected{};
  whole.Conceal(expected);
  std::array<int16_t, kFrame> actual{};
  pieces.Conceal(std::span(actual).first(kSlice));
  pieces.Conceal(std::span(actual).subspan(kSlice));
  EXPECT_EQ(actual, expected);
}

TEST(G711PlcTest, HowALossIsCutIntoCallsNeverChangesTheSamplesOrTheMerge) {
  // 70 ms in uneven pieces, past every loop change and into silence, then a
  // resume delivered in 3-sample frames: the merge carries across frames.
  const std::vector<int16_t> signal = Voiced(200, 3 * kFrame);
  G711Plc whole;
  G711Plc pieces;
  std::vector<int16_t> good = signal;
  whole.AddGoodFrame(good);
  good = signal;
  pieces.AddGoodFrame(good);

  std::array<int16_t, 70 * 8> expected{};
  whole.Conceal(expected);
  std::array<int16_t, 70 * 8> actual{};
  const std::span<int16_t> out(actual);
  for (size_t done = 0, piece = 1; done < out.size(); piece = piece % 37 + 6) {
    const size_t n = std::min(piece, out.size() - done);
    pieces.Conceal(out.subspan(done, n));
    done += n;
  }
  EXPECT_EQ(actual, expected);

  std::vector<int16_t> expected_resume = Voiced(200, kFrame, 10 * kFrame);
  std::vector<int16_t> actual_resume = expected_resume;
  whole.AddGoodFrame(expected_resume);
  for (size_t i = 0; i < actual_resume.size(); i += 3) {
    pieces.AddGoodFrame(std::span(actual_resume).subspan(i, std::min<size_t>(3, kFrame - i)));
  }
  EXPECT_EQ(actual_resume, expected_resume);
}

TEST(G711PlcTest, ResumingAfterSilenceFadesIn) {
  G711Plc plc;
  std::vector<int16_t> good = Voiced(150, 2 * kFrame);
  plc.AddGoodFrame(good);
  std::array<int16_t, 100 * 8> concealed{};  // 100 ms: silent for the last 40.
  plc.Conceal(concealed);

  const std::vector<int16_t> pcm = Voiced(150, kFrame, 7 * kFrame);
  std::vector<int16_t> resumed = pcm;
  plc.AddGoodFrame(resumed);
  // The longest merge (10 ms) fades the frame in from the silence...
  for (size_t i = 0; i < G711Plc::kMaxMergeSamples; ++i) {
    EXPECT_LE(std::abs(resumed[i]), std::abs(pcm[i])) << "sample " << i;
  }
  EXPECT_LT(Energy(std::span(resumed).first(kSlice)), 0.5 * Energy(std::span(pcm).first(kSlice)));
  // ...and leaves the rest alone.
  EXPECT_TRUE(std::equal(resumed.begin() + kSlice, resumed.end(), pcm.begin() + kSlice));
}

TEST(G711PlcTest, ConcealBeforeAnyGoodFrameIsSilent) {
  G711Plc plc;
  std::array<int16_t, kFrame> out{};
  for (int i = 0; i < 3; ++i) {
    out.fill(1234);
    plc.Conceal(out);
    EXPECT_EQ(Energy(out), 0.0);
  }
  // Nothing to merge with, so the first good frame is untouched.
  const std::vector<int16_t> pcm = Voiced(150, kFrame);
  std::vector<int16_t> first = pcm;
  plc.AddGoodFrame(first);
  EXPECT_EQ(first, pcm);
}

TEST(G711PlcTest, ResetForgetsHistoryAndAnyConcealmentUnderWay) {
  G711Plc plc;
  std::vector<int16_t> good = Voiced(150, 3 * kFrame);
  plc.AddGoodFrame(good);
  std::array<int16_t, kFrame> out{};
  plc.Conceal(out);
  ASSERT_GT(Energy(out), 0.0);

  plc.Reset();
  out.fill(1234);
  plc.Conceal(out);
  EXPECT_EQ(Energy(out), 0.0);
  const std::vector<int16_t> pcm = Voiced(150, kFrame);
  std::vector<int16_t> next = pcm;
  plc.AddGoodFrame(next);
  EXPECT_EQ(next, pcm);
}

TEST(G711PlcTest, ConcealsFromLessHistoryThanAPitchSearchNeeds) {
  // From a few samples up to one 20 ms frame: each repeats what it has.
  for (size_t length : {2u, 7u, 50u, 79u, 80u, 160u}) {
    const std::vector<int16_t> pcm = Voiced(200, length);
    std::vector<int16_t> good = pcm;
    G711Plc plc;
    plc.AddGoodFrame(good);
    std::array<int16_t, kFrame> out{};
    plc.Conceal(out);
    EXPECT_GT(Energy(std::span(out).first(kSlice)), 0.0) << "length " << length;
  }
  // One sample is no waveform: silence.
  G711Plc plc;
  std::array<int16_t, 1> one = {1000};
  plc.AddGoodFrame(one);
  std::array<int16_t, kFrame> out{};
  out.fill(5);
  plc.Conceal(out);
  EXPECT_EQ(Energy(out), 0.0);
}

TEST(G711PlcTest, AnyMixOfFrameAndLossLengthsKeepsTheScheduleAndTheMergeBounds) {
  // Random frame and loss lengths from 0 to 500 samples, random content,
  // a few Resets: short histories, merges spread over several frames and
  // losses that start mid-merge. Run under the sanitizers this also shows
  // that no read leaves the buffers.
  std::mt19937 random(20240611);
  std::uniform_int_distribution<size_t> length(0, 500);
  std::uniform_int_distribution<int> sample(-32768, 32767);
  std::uniform_int_distribution<int> action(0, 9);
  G711Plc plc;
  size_t lost_run = 0;    // Samples concealed in a row.
  size_t since_loss = 0;  // Good samples since the last loss, for the merge.
  for (int step = 0; step < 2000; ++step) {
    std::vector<int16_t> pcm(length(random));
    const int what = action(random);
    if (what == 0) {
      plc.Reset();
      lost_run = 0;
      since_loss = G711Plc::kMaxMergeSamples;
    } else if (what < 5) {
      std::fill(pcm.begin(), pcm.end(), int16_t{777});
      plc.Conceal(pcm);
      for (size_t i = 0; i < pcm.size(); ++i) {
        if (lost_run + i >= G711Plc::kSilentAfterSamples) {
          ASSERT_EQ(pcm[i], 0) << "step " << step;
        }
      }
      lost_run += pcm.size();
      if (!pcm.empty()) since_loss = 0;
    } else {
      for (int16_t& s : pcm) s = static_cast<int16_t>(sample(random));
      const std::vector<int16_t> decoded = pcm;
      plc.AddGoodFrame(pcm);
      for (size_t i = 0; i < pcm.size(); ++i) {
        if (since_loss + i >= G711Plc::kMaxMergeSamples) {
          ASSERT_EQ(pcm[i], decoded[i]) << "step " << step;
        }
      }
      if (!pcm.empty()) lost_run = 0;
      since_loss += pcm.size();
    }
  }
}

TEST(G711PlcTest, FramesLongerThanTheHistoryKeepOnlyTheirEnd) {
  const std::vector<int16_t> signal = Voiced(200, 1000 + kFrame);
  std::vector<int16_t> long_frame(signal.begin(), signal.begin() + 1000);
  G711Plc plc;
  plc.AddGoodFrame(long_frame);
  std::array<int16_t, kFrame> out{};
  plc.Conceal(out);
  // 200 Hz repeats every 40 samples exactly, so the first 10 ms continue the
  // signal exactly (bar integer rounding in the OLA).
  for (size_t i = 0; i < kSlice; ++i) EXPECT_NEAR(out[i], signal[1000 + i], 1) << "sample " << i;
}

}  // namespace
}  // namespace earshot

// earshot-demo: plays one supervised call through a running earshotd and
// measures who heard whom.
//
// Three simulated phones (demo_phone.h) send the shared speech recordings as
// customer, agent and supervisor. The supervisor attaches in listen mode,
// whispers after one phase and barges after another. At the end each phone's
// recording is written as a WAV file and fitted against the three sent signals
// (heard_matrix.h); the table is checked against PRODUCT.md's mix semantics.
//
// Exit codes: 0 every cell matches PRODUCT.md, 1 some cell does not, 2 the demo
// could not run (bad flags, no media, earshotd unreachable or refusing), 130
// interrupted.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/demo/demo_call.h"
#include "tools/demo/demo_media.h"
#include "tools/demo/demo_phone.h"
#include "tools/demo/demo_report.h"
#include "tools/demo/heard_matrix.h"

namespace earshot::demo {
namespace {

using std::chrono::steady_clock;

constexpr int kExitMatches = 0;
constexpr int kExitMismatch = 1;
constexpr int kExitCannotRun = 2;
constexpr int kExitInterrupted = 130;
// Measured windows start this long after a mode change took effect (the mixer's
// gain ramp and the audio still in the jitter buffers), and the first one this
// long after the phones start.
constexpr auto kSettle = std::chrono::milliseconds(300);
// The phones keep receiving this long after the last phase, so that the end of
// the last window has arrived.
constexpr auto kTail = std::chrono::milliseconds(400);
// A fit that leaves more than this unexplained is tried again with longer delays.
constexpr double kRefitAboveDb = -10.0;

std::atomic<bool> interrupted{false};

void OnSignal(int) { interrupted.store(true); }

struct Options {
  std::string address = "127.0.0.1:50051";
  std::string media_dir;
  std::string out_dir = "demo-out";
  int phase_seconds = 5;
  bool json = false;
};

// What the demo is doing, on stderr (stdout is the result: the table or JSON).
class Progress {
 public:
  template <typename... Args>
  void Say(const char* format, Args... args) const {
    std::fprintf(stderr, "earshot-demo: ");
    std::fprintf(stderr, format, args...);
    std::fprintf(stderr, "\n");
  }
};

int CannotRun(const std::string& message) {
  std::fprintf(stderr, "earshot-demo: %s\n", message.c_str());
  return kExitCannotRun;
}

// Sleeps until `deadline`; false if Ctrl-C came first.
bool SleepUntil(steady_clock::time_point deadline) {
  while (steady_clock::now() < deadline) {
    if (interrupted.load()) return false;
    std::this_thread::sleep_until(std::min(deadline, steady_clock::now() + std::chrono::milliseconds(50)));
  }
  return !interrupted.load();
}

int64_t SampleAt(steady_clock::time_point start, steady_clock::time_point when) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(when - start).count() / 125'000;
}

v1::Mode ModeOf(Phase phase) {
  switch (phase) {
    case Phase::kListen: return v1::MODE_LISTEN;
    case Phase::kWhisper: return v1::MODE_WHISPER;
    case Phase::kBarge: return v1::MODE_BARGE;
  }
  return v1::MODE_LISTEN;
}

const char* Describe(Phase phase) {
  switch (phase) {
    case Phase::kListen: return "the supervisor listens";
    case Phase::kWhisper: return "the supervisor whispers to the agent";
    case Phase::kBarge: return "the supervisor barges in";
  }
  return "";
}

std::vector<LegCounters> Counters(const v1::SessionStats& stats) {
  std::vector<LegCounters> legs;
  for (const v1::LegStats& leg : stats.legs()) {
    LegCounters counters;
    counters.leg = leg.leg_id();
    counters.rx_packets = leg.rx_packets();
    counters.tx_packets = leg.tx_packets();
    counters.lost = leg.lost();
    counters.late = leg.late();
    counters.concealed_frames = leg.concealed_frames();
    counters.jitter_ms = leg.jitter_ms();
    counters.buffered_ms = leg.buffered_ms();
    for (const auto& [reason, count] : leg.dropped()) counters.dropped[reason] = count;
    legs.push_back(counters);
  }
  return legs;
}

// The three speech files, from --media or found beside the repository.
Result<std::array<std::vector<int16_t>, kParties>> LoadSpeech(std::string& media_dir) {
  if (media_dir.empty()) {
    std::optional<std::string> found = FindMediaDir();
    if (!found) {
      return MakeError(ErrorCode::kNotFound,
                       "no speech recordings found: pass --media DIR (the folder with customer_8k.wav, "
                       "agent_8k.wav, supervisor_8k.wav; ../shared/media beside the repository)");
    }
    media_dir = *found;
  }
  std::error_code ignored;
  if (auto canonical = std::filesystem::weakly_canonical(media_dir, ignored); !ignored) media_dir = canonical;
  std::array<std::vector<int16_t>, kParties> speech;
  for (Party party : kAllParties) {
    Result<std::vector<int16_t>> read = ReadSpeech(media_dir + "/" + std::string(PartyName(party)) + "_8k.wav");
    if (!read) return tl::unexpected(read.error());
    speech[static_cast<size_t>(party)] = std::move(*read);
  }
  return speech;
}

// Adds the customer and agent legs, attaches the supervisor in listen mode, and
// points each phone at its leg, as a SIP server would after the SDP exchange.
Result<void> SetUpCall(DemoCall& call, const std::string& session_id,
                       const std::array<std::unique_ptr<WavPhone>, kParties>& phones) {
  if (auto created = call.CreateSession(session_id); !created) return created;
  for (Party party : kAllParties) {
    WavPhone& phone = *phones[static_cast<size_t>(party)];
    Result<LegAddress> leg = party == Party::kCustomer ? call.AddLeg("customer", v1::ROLE_CUSTOMER, phone.port())
                             : party == Party::kAgent  ? call.AddLeg("agent", v1::ROLE_AGENT, phone.port())
                                                       : call.Attach("supervisor", phone.port(), v1::MODE_LISTEN);
    if (!leg) return tl::unexpected(leg.error());
    if (auto pointed = phone.SendTo(leg->ip, leg->port); !pointed) return pointed;
  }
  return {};
}

// Runs the phases in real time while the phones talk: listen from the start,
// then SetMode whisper and barge. Each phase's window runs from kSettle after
// its mode change was answered to when the next change was requested.
// Returns false if interrupted.
[[nodiscard]] Result<bool> PlayPhases(DemoCall& call, const Options& options, steady_clock::time_point start,
                                      DemoReport& report) {
  const Progress progress;
  const auto phase_length = std::chrono::seconds(options.phase_seconds);
  const int64_t settle = std::chrono::duration_cast<std::chrono::milliseconds>(kSettle).count() * kSamplesPerMs;
  for (size_t p = 0; p < kAllPhases.size(); ++p) {
    const Phase phase = kAllPhases[p];
    PhaseResult result{phase, Window{settle, 0}, 0, 0, {}};
    if (p > 0) {
      const int64_t requested = SampleAt(start, steady_clock::now());
      report.phases.back().window.end = requested;
      if (auto changed = call.SetMode("supervisor", ModeOf(phase)); !changed) return tl::unexpected(changed.error());
      const int64_t answered = SampleAt(start, steady_clock::now());
      result.window.begin = answered + settle;
      result.switch_requested_ms = static_cast<double>(requested) / kSamplesPerMs;
      result.switch_answered_ms = static_cast<double>(answered) / kSamplesPerMs;
    }
    progress.Say("%-7s (%d s): %s", std::string(PhaseName(phase)).c_str(), options.phase_seconds, Describe(phase));
    report.phases.push_back(result);
    if (!SleepUntil(start + phase_length * static_cast<int>(p + 1))) return false;
  }
  report.phases.back().window.end = SampleAt(start, steady_clock::now());
  return true;
}

// Fits each listener's recording in each phase. A phase's window also skips
// the delay through earshotd measured in the phase before, so that no audio
// mixed in the previous mode counts. A fit that leaves much unexplained is
// tried again with delays of up to 2 s (earshotd's jitter buffers after a stall).
void Measure(const std::array<std::unique_ptr<WavPhone>, kParties>& phones, DemoReport& report) {
  std::array<std::span<const int16_t>, kParties> sent;
  for (size_t s = 0; s < kParties; ++s) sent[s] = phones[s]->sent();
  double previous_delay_ms = 0;
  for (PhaseResult& phase : report.phases) {
    phase.window.begin += static_cast<int64_t>(previous_delay_ms * kSamplesPerMs);
    phase.window.begin = std::min(phase.window.begin, phase.window.end);
    double delay_ms = 0;
    for (Party listener : kAllParties) {
      const WavPhone& phone = *phones[static_cast<size_t>(listener)];
      ListenerFit fit = FitListener(phone.heard(), phone.covered(), sent, phase.window);
      if (fit.unexplained_db > kRefitAboveDb) {
        FitOptions wide;
        wide.max_delay_samples = kWideDelaySamples;
        ListenerFit wider = FitListener(phone.heard(), phone.covered(), sent, phase.window, wide);
        if (wider.unexplained_db < fit.unexplained_db) fit = wider;
      }
      for (const Contribution& contribution : fit.from) {
        if (contribution.verdict == Verdict::kHeard) delay_ms = std::max(delay_ms, contribution.high_delay_ms);
      }
      phase.listeners[static_cast<size_t>(listener)] = fit;
    }
    previous_delay_ms = delay_ms;
  }
}

int RunDemo(Options options) {
  const auto began = steady_clock::now();
  const Progress progress;
  Result<std::array<std::vector<int16_t>, kParties>> speech = LoadSpeech(options.media_dir);
  if (!speech) return CannotRun(speech.error().message);
  std::array<std::unique_ptr<WavPhone>, kParties> phones;
  for (Party party : kAllParties) {
    const auto index = static_cast<uint32_t>(party);
    auto phone = WavPhone::Create(std::string(PartyName(party)), (*speech)[index],
                                  0x0DE50000u + static_cast<uint32_t>(getpid() & 0xFFF) * 4 + index);
    if (!phone) return CannotRun(phone.error().message);
    phones[index] = std::move(*phone);
  }

  Result<std::unique_ptr<DemoCall>> connected = DemoCall::Connect(options.address, 3);
  if (!connected) {
    return CannotRun(connected.error().message + " (is earshotd running? start it with `tools/setup.sh run`)");
  }
  DemoCall& call = **connected;
  // Before the call, so that a bad --out does not waste it.
  std::error_code made;
  std::filesystem::create_directories(options.out_dir, made);
  if (made) return CannotRun("cannot create " + options.out_dir + ": " + made.message());
  const std::string session_id = "demo-" + std::to_string(getpid());
  // From here on the session may exist in earshotd: every way out deletes it.
  auto give_up = [&call](const Error& error) {
    (void)call.DeleteSession();
    return CannotRun(error.message);
  };
  if (auto set_up = SetUpCall(call, session_id, phones); !set_up) return give_up(set_up.error());
  progress.Say("session %s on %s: customer, agent and supervisor phones on 127.0.0.1 ports %u, %u, %u",
               session_id.c_str(), options.address.c_str(), phones[0]->port(), phones[1]->port(),
               phones[2]->port());

  DemoReport report;
  report.session_id = session_id;
  report.address = options.address;
  report.media_dir = options.media_dir;
  report.phase_seconds = options.phase_seconds;
  const steady_clock::time_point start = steady_clock::now() + std::chrono::milliseconds(100);
  PhoneLoop loop({phones[0].get(), phones[1].get(), phones[2].get()}, start);
  loop.Start();
  Result<bool> played = PlayPhases(call, options, start, report);
  if (played && *played) std::this_thread::sleep_for(kTail);
  loop.Stop();
  if (!played) return give_up(played.error());
  if (!*played) {
    (void)call.DeleteSession();
    std::fprintf(stderr, "earshot-demo: interrupted; session %s deleted\n", session_id.c_str());
    return kExitInterrupted;
  }
  report.late_sends = loop.late_sends();

  if (Result<v1::SessionStats> stats = call.Stats(); stats) {
    report.legs = Counters(*stats);
  } else {
    progress.Say("no stats: %s", stats.error().message.c_str());
  }
  if (auto detached = call.Detach("supervisor"); !detached) return give_up(detached.error());
  if (auto deleted = call.DeleteSession(); !deleted) return CannotRun(deleted.error().message);
  progress.Say("%s", "supervisor detached, session deleted; measuring");

  for (Party party : kAllParties) {
    WavPhone& phone = *phones[static_cast<size_t>(party)];
    phone.Finish();
    report.phones[static_cast<size_t>(party)] = phone.stats();
    const std::string path = options.out_dir + "/" + std::string(PartyName(party)) + "_heard.wav";
    if (auto written = WriteWav(path, phone.heard()); !written) return CannotRun(written.error().message);
    report.recordings[static_cast<size_t>(party)] = path;
  }
  Measure(phones, report);
  report.run_seconds = std::chrono::duration<double>(steady_clock::now() - began).count();
  const std::vector<Mismatch> mismatches = CompareWithProduct(report.phases);
  if (options.json) {
    PrintJson(stdout, report, mismatches);
  } else {
    PrintTable(stdout, report, mismatches);
  }
  return mismatches.empty() ? kExitMatches : kExitMismatch;
}

}  // namespace
}  // namespace earshot::demo

int main(int argc, char** argv) {
  using earshot::demo::Options;
  Options options;
  CLI::App app{"earshot-demo: plays a supervised call through earshotd (listen, whisper, barge) with three "
               "simulated phones and measures from their recordings who heard whom",
               "earshot-demo"};
  app.add_option("--addr", options.address, "earshotd's gRPC address")->capture_default_str();
  app.add_option("--media", options.media_dir,
                 "folder with customer_8k.wav, agent_8k.wav, supervisor_8k.wav (default: ../shared/media "
                 "beside the repository, found from the current directory)");
  app.add_option("--out", options.out_dir, "where to write <party>_heard.wav")->capture_default_str();
  app.add_option("--phase-seconds", options.phase_seconds, "length of each phase")
      ->capture_default_str()
      ->check(CLI::Range(2, 600));
  app.add_flag("--json", options.json, "print one JSON object instead of the table");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : earshot::demo::kExitCannotRun;
  }
  struct sigaction action {};
  action.sa_handler = earshot::demo::OnSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  return earshot::demo::RunDemo(options);
}

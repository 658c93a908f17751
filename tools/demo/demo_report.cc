#include "tools/demo/demo_report.h"

#include <algorithm>
#include <cmath>
#include <string_view>

namespace earshot::demo {
namespace {

std::string Format(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

// One decimal, without printing -0.0 for a gain a hair under unity.
std::string Decibels(double db) {
  const double rounded = std::round(db * 10) / 10;
  return Format("%.1f", rounded == 0 ? 0.0 : rounded) + " dB";
}

std::string Cell(const Contribution& contribution) {
  switch (contribution.verdict) {
    case Verdict::kHeard: return "yes (" + Decibels(contribution.gain_db) + ")";
    case Verdict::kSilent: return "-";
    case Verdict::kUnclear: return "? (" + Decibels(contribution.gain_db) + ")";
  }
  return "?";
}

// Below -90 dB the recording is the fitted sum to the last bit (one source
// passed through without re-encoding).
std::string Unexplained(double db) { return db < -90 ? "none" : Format("%.0f dB", db); }

bool Matches(const Contribution& contribution, bool expected) {
  return contribution.verdict == (expected ? Verdict::kHeard : Verdict::kSilent);
}

std::string Quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// JSON has no infinities: the -200 dB floor stands for "nothing".
std::string Number(double value) { return Format("%.2f", std::isfinite(value) ? value : -200.0); }

std::string MismatchText(const Mismatch& mismatch) {
  std::string text = std::string(PhaseName(mismatch.phase)) + ": " + std::string(PartyName(mismatch.listener)) +
                     " hears " + std::string(PartyName(mismatch.speaker)) + " at " +
                     Decibels(mismatch.measured.gain_db) + " (" +
                     std::string(VerdictName(mismatch.measured.verdict)) + "); PRODUCT.md says " +
                     (mismatch.expected ? "heard" : "not heard");
  return text;
}

}  // namespace

std::vector<Mismatch> CompareWithProduct(const std::vector<PhaseResult>& phases) {
  std::vector<Mismatch> mismatches;
  for (const PhaseResult& phase : phases) {
    for (Party listener : kAllParties) {
      for (Party speaker : kAllParties) {
        const Contribution& measured =
            phase.listeners[static_cast<size_t>(listener)].from[static_cast<size_t>(speaker)];
        const bool expected = ExpectedHeard(phase.phase, listener, speaker);
        if (!Matches(measured, expected)) mismatches.push_back({phase.phase, listener, speaker, expected, measured});
      }
    }
  }
  return mismatches;
}

void PrintTable(std::FILE* out, const DemoReport& report, const std::vector<Mismatch>& mismatches) {
  std::fprintf(out, "%-8s %-11s %-17s %-17s %-17s %s\n", "phase", "listener", "hears customer", "hears agent",
               "hears supervisor", "unexplained");
  for (const PhaseResult& phase : report.phases) {
    for (Party listener : kAllParties) {
      const ListenerFit& fit = phase.listeners[static_cast<size_t>(listener)];
      std::fprintf(out, "%-8s %-11s", std::string(PhaseName(phase.phase)).c_str(),
                   std::string(PartyName(listener)).c_str());
      for (Party speaker : kAllParties) {
        const Contribution& contribution = fit.from[static_cast<size_t>(speaker)];
        std::string cell = Cell(contribution);
        if (!Matches(contribution, ExpectedHeard(phase.phase, listener, speaker))) cell += " !";
        std::fprintf(out, " %-17s", cell.c_str());
      }
      std::fprintf(out, " %s\n", Unexplained(fit.unexplained_db).c_str());
    }
  }
  std::fprintf(out, "\n");
  std::fprintf(out, "yes: that speaker's voice is in the recording, at that gain (above -10 dB); -: below -30 dB.\n"
                    "unexplained: what none of the three voices accounts for (codec noise is about -35 dB).\n");
  // The delay through earshotd, from the cells heard, and how often it stepped.
  double low = 1e9, high = -1e9;
  std::array<int, kParties> steps{};
  for (const PhaseResult& phase : report.phases) {
    for (Party listener : kAllParties) {
      for (const Contribution& c : phase.listeners[static_cast<size_t>(listener)].from) {
        if (c.verdict != Verdict::kHeard) continue;
        low = std::min(low, c.low_delay_ms);
        high = std::max(high, c.high_delay_ms);
        steps[static_cast<size_t>(listener)] += c.delay_steps;
      }
    }
  }
  if (low <= high) {
    const std::string from = Format("%.0f", low), to = Format("%.0f", high);
    std::string line = "delay through earshotd: " + (from == to ? from : from + "-" + to) + " ms";
    if (steps[0] + steps[1] + steps[2] == 0) {
      line += ", steady";
    } else {
      line += Format(", changed %.0f", steps[0]) + Format("/%.0f", steps[1]) + Format("/%.0f times", steps[2]) +
              " in what customer/agent/supervisor heard (earshotd dropped or repeated audio)";
    }
    std::fprintf(out, "%s\n", line.c_str());
  }
  for (Party party : kAllParties) {
    const ReceiveStats& stats = report.phones[static_cast<size_t>(party)];
    std::string line = std::string(PartyName(party)) + " heard " + std::to_string(stats.packets) + " packets";
    auto add = [&line](uint64_t count, const char* what) {
      if (count > 0) line += ", " + std::to_string(count) + " " + what;
    };
    add(stats.missing_ms, "ms missing");
    add(stats.reordered, "out of order");
    add(stats.duplicates, "duplicated");
    add(stats.timestamp_steps, "timestamp jumps");
    add(stats.ssrc_changes, "SSRC changes");
    add(stats.not_pcmu, "not PCMU");
    if (stats.pauses > 0) line += Format(", %.0f pauses", static_cast<double>(stats.pauses)) +
                                  Format(" (longest %.0f ms)", stats.longest_pause_ms);
    line += Format(", at most %.0f ms late", stats.max_late_ms);
    if (!stats.slips.empty()) {
      double lost = 0;
      for (const ClockSlip& slip : stats.slips) lost += slip.lost_ms;
      line += Format("; earshotd's stream lost %.0f ms", lost) +
              Format(" of time in %.0f slips, first", static_cast<double>(stats.slips.size())) +
              Format(" at %.2f s", stats.slips[0].at_ms / 1000);
    }
    std::fprintf(out, "%s\n", line.c_str());
  }
  for (const LegCounters& leg : report.legs) {
    std::fprintf(out, "earshotd leg %s: rx %llu, tx %llu, lost %lld, late %llu, concealed %llu, jitter %.1f ms, "
                 "buffered %u ms", leg.leg.c_str(), static_cast<unsigned long long>(leg.rx_packets),
                 static_cast<unsigned long long>(leg.tx_packets), static_cast<long long>(leg.lost),
                 static_cast<unsigned long long>(leg.late), static_cast<unsigned long long>(leg.concealed_frames),
                 leg.jitter_ms, leg.buffered_ms);
    for (const auto& [reason, count] : leg.dropped) {
      if (count > 0) std::fprintf(out, ", dropped %s %llu", reason.c_str(), static_cast<unsigned long long>(count));
    }
    std::fprintf(out, "\n");
  }
  if (report.late_sends > 0) {
    std::fprintf(out, "note: %llu frames left the phones over 10 ms late (this machine was busy)\n",
                 static_cast<unsigned long long>(report.late_sends));
  }
  std::fprintf(out, "recordings: %s, %s, %s\n", report.recordings[0].c_str(), report.recordings[1].c_str(),
               report.recordings[2].c_str());
  if (mismatches.empty()) {
    std::fprintf(out, "OK: every cell matches PRODUCT.md (listen, whisper, barge)\n");
  } else {
    for (const Mismatch& mismatch : mismatches) std::fprintf(out, "MISMATCH %s\n", MismatchText(mismatch).c_str());
    std::fprintf(out, "FAILED: %zu cell(s) differ from PRODUCT.md\n", mismatches.size());
  }
}

void PrintJson(std::FILE* out, const DemoReport& report, const std::vector<Mismatch>& mismatches) {
  std::string json = "{";
  json += "\"session\":" + Quoted(report.session_id) + ",\"addr\":" + Quoted(report.address) +
          ",\"media\":" + Quoted(report.media_dir) + ",\"phase_seconds\":" + std::to_string(report.phase_seconds) +
          ",\"run_seconds\":" + Number(report.run_seconds) +
          ",\"matches_product\":" + (mismatches.empty() ? "true" : "false") + ",\"phases\":[";
  for (size_t p = 0; p < report.phases.size(); ++p) {
    const PhaseResult& phase = report.phases[p];
    if (p > 0) json += ",";
    json += "{\"phase\":" + Quoted(PhaseName(phase.phase)) + ",\"measured_from_ms\":" +
            Number(static_cast<double>(phase.window.begin) / kSamplesPerMs) +
            ",\"measured_to_ms\":" + Number(static_cast<double>(phase.window.end) / kSamplesPerMs) +
            ",\"switch_requested_ms\":" + Number(phase.switch_requested_ms) +
            ",\"switch_answered_ms\":" + Number(phase.switch_answered_ms) + ",\"listeners\":{";
    for (Party listener : kAllParties) {
      const ListenerFit& fit = phase.listeners[static_cast<size_t>(listener)];
      if (listener != Party::kCustomer) json += ",";
      json += Quoted(PartyName(listener)) + ":{\"level_dbfs\":" + Number(fit.level_dbfs) +
              ",\"covered\":" + Format("%.3f", fit.covered) +
              ",\"unexplained_db\":" + Number(fit.unexplained_db) + ",\"hears\":{";
      for (Party speaker : kAllParties) {
        const Contribution& c = fit.from[static_cast<size_t>(speaker)];
        const bool expected = ExpectedHeard(phase.phase, listener, speaker);
        if (speaker != Party::kCustomer) json += ",";
        json += Quoted(PartyName(speaker)) + ":{\"verdict\":" + Quoted(VerdictName(c.verdict)) +
                ",\"expected\":" + (expected ? "\"heard\"" : "\"silent\"") +
                ",\"matches\":" + (Matches(c, expected) ? "true" : "false") + ",\"gain_db\":" + Number(c.gain_db) +
                ",\"gain\":" + Format("%.4f", c.gain) + ",\"delay_ms\":" + Number(c.delay_ms) +
                ",\"delay_range_ms\":[" + Number(c.low_delay_ms) + "," + Number(c.high_delay_ms) + "]" +
                ",\"delay_steps\":" + std::to_string(c.delay_steps) + ",\"share\":" + Format("%.4f", c.share) + "}";
      }
      json += "}}";
    }
    json += "}}";
  }
  json += "],\"mismatches\":[";
  for (size_t i = 0; i < mismatches.size(); ++i) json += (i > 0 ? "," : "") + Quoted(MismatchText(mismatches[i]));
  json += "],\"recordings\":{";
  for (Party party : kAllParties) {
    json += (party != Party::kCustomer ? "," : "") + Quoted(PartyName(party)) + ":" +
            Quoted(report.recordings[static_cast<size_t>(party)]);
  }
  json += "},\"phones\":{";
  for (Party party : kAllParties) {
    const ReceiveStats& s = report.phones[static_cast<size_t>(party)];
    json += (party != Party::kCustomer ? "," : "") + Quoted(PartyName(party)) +
            ":{\"packets\":" + std::to_string(s.packets) + ",\"missing_ms\":" + std::to_string(s.missing_ms) +
            ",\"duplicates\":" + std::to_string(s.duplicates) + ",\"reordered\":" + std::to_string(s.reordered) +
            ",\"timestamp_steps\":" + std::to_string(s.timestamp_steps) +
            ",\"markers\":" + std::to_string(s.markers) + ",\"not_pcmu\":" + std::to_string(s.not_pcmu) +
            ",\"ssrc_changes\":" + std::to_string(s.ssrc_changes) + ",\"pauses\":" + std::to_string(s.pauses) +
            ",\"longest_pause_ms\":" + Number(s.longest_pause_ms) + ",\"max_late_ms\":" + Number(s.max_late_ms) +
            ",\"clock_slips\":[";
    for (size_t i = 0; i < s.slips.size(); ++i) {
      json += std::string(i > 0 ? "," : "") + "{\"at_ms\":" + Number(s.slips[i].at_ms) +
              ",\"lost_ms\":" + Number(s.slips[i].lost_ms) + "}";
    }
    json += "]}";
  }
  json += "},\"earshotd_legs\":[";
  for (size_t i = 0; i < report.legs.size(); ++i) {
    const LegCounters& leg = report.legs[i];
    json += std::string(i > 0 ? "," : "") + "{\"leg\":" + Quoted(leg.leg) +
            ",\"rx_packets\":" + std::to_string(leg.rx_packets) + ",\"tx_packets\":" + std::to_string(leg.tx_packets) +
            ",\"lost\":" + std::to_string(leg.lost) + ",\"late\":" + std::to_string(leg.late) +
            ",\"concealed_frames\":" + std::to_string(leg.concealed_frames) + ",\"jitter_ms\":" +
            Number(leg.jitter_ms) + ",\"buffered_ms\":" + std::to_string(leg.buffered_ms) + ",\"dropped\":{";
    bool first = true;
    for (const auto& [reason, count] : leg.dropped) {
      json += (first ? "" : ",") + Quoted(reason) + ":" + std::to_string(count);
      first = false;
    }
    json += "}}";
  }
  json += "],\"late_sends\":" + std::to_string(report.late_sends) + "}\n";
  std::fputs(json.c_str(), out);
}

}  // namespace earshot::demo

#include "mixer/media_session.h"

#include <algorithm>

#include <fmt/format.h>

#include "codecs/check.h"

namespace earshot::mixer {
namespace {

bool SameRow(const GainMatrix& matrix, int a, int b) {
  std::span<const float> row_a = matrix.row(a);
  std::span<const float> row_b = matrix.row(b);
  return std::equal(row_a.begin(), row_a.end(), row_b.begin());
}

bool SameCodec(const LegMedia& a, const LegMedia& b) {
  // An echo canceller's reference is its own leg's mix, fed in by Encode.
  if (a.needs_own_mix() || b.needs_own_mix()) return false;
  CodecInfo info_a = a.encoder().info();
  CodecInfo info_b = b.encoder().info();
  return info_a.name == info_b.name && info_a.sample_rate_hz == info_b.sample_rate_hz &&
         info_a.channels == info_b.channels;
}

}  // namespace

Result<std::unique_ptr<MediaSession>> MediaSession::Create(const SessionOptions& options) {
  if (options.sample_rate_hz != 8000 && options.sample_rate_hz != 16000 &&
      options.sample_rate_hz != 48000) {
    return InvalidArgument(
        fmt::format("session rate {} Hz: expected 8000, 16000 or 48000", options.sample_rate_hz));
  }
  if (options.tick_ms != 10 && options.tick_ms != 20) {
    return InvalidArgument(fmt::format("session tick {} ms: expected 10 or 20", options.tick_ms));
  }
  if (options.max_legs < 2 || options.max_legs > 64) {
    return InvalidArgument(fmt::format("max_legs {}: expected 2..64", options.max_legs));
  }
  if (options.ramp_ms < 0 || options.ramp_ms > options.tick_ms) {
    return InvalidArgument(
        fmt::format("ramp {} ms: expected 0..{} (one tick)", options.ramp_ms, options.tick_ms));
  }
  return std::unique_ptr<MediaSession>(new MediaSession(options));
}

MediaSession::MediaSession(const SessionOptions& options)
    : options_(options),
      tick_samples_(options.sample_rate_hz * options.tick_ms / 1000),
      ramp_samples_(std::max(1, options.sample_rate_hz * options.ramp_ms / 1000)),
      slots_(static_cast<size_t>(options.max_legs)),
      current_(options.max_legs),
      target_(options.max_legs),
      scratch_(options.max_legs),
      leader_(static_cast<size_t>(options.max_legs), 0),
      sources_(static_cast<size_t>(options.max_legs * options.max_legs), 0),
      source_counts_(static_cast<size_t>(options.max_legs), 0),
      roles_(static_cast<size_t>(options.max_legs)),
      inputs_(static_cast<size_t>(options.max_legs * tick_samples_), 0.0f),
      mix_(static_cast<size_t>(tick_samples_), 0.0f),
      pcm_(static_cast<size_t>(tick_samples_), 0),
      ringback_(options.ringback, options.sample_rate_hz),
      ringback_active_(GeneratesTone(options.ringback.plan)),
      ringback_tick_(static_cast<size_t>(tick_samples_), 0.0f) {
  beeps_.reserve(slots_.size());
  limiters_.reserve(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    beeps_.emplace_back(options.beep, options.sample_rate_hz);
    limiters_.emplace_back(options.sample_rate_hz / 10);  // 100 ms release
  }
}

std::span<float> MediaSession::input(int slot) {
  return std::span<float>(inputs_).subspan(static_cast<size_t>(slot * tick_samples_),
                                           static_cast<size_t>(tick_samples_));
}

Result<void> MediaSession::CheckSlot(int slot, bool must_be_used) const {
  if (slot < 0 || slot >= capacity()) {
    return InvalidArgument(fmt::format("leg slot {} is outside 0..{}", slot, capacity() - 1));
  }
  bool used = roles_[static_cast<size_t>(slot)].in_use;
  if (must_be_used && !used) {
    return MakeError(ErrorCode::kNotFound, fmt::format("leg slot {} is empty", slot));
  }
  if (!must_be_used && used) {
    return MakeError(ErrorCode::kAlreadyExists, fmt::format("leg slot {} is in use", slot));
  }
  return {};
}

const LegMedia* MediaSession::leg(int slot) const {
  if (slot < 0 || slot >= capacity()) return nullptr;
  return slots_[static_cast<size_t>(slot)].get();
}

Result<void> MediaSession::AddLeg(int slot, Role role, SupervisorMode mode, bool beep,
                                  std::unique_ptr<LegMedia> media) {
  if (Result<void> free = CheckSlot(slot, false); !free) return free;
  if (media == nullptr) return InvalidArgument("a leg needs its media");
  slots_[static_cast<size_t>(slot)] = std::move(media);
  roles_[static_cast<size_t>(slot)] = SlotRole{true, role, mode};
  limiters_[static_cast<size_t>(slot)].Reset();
  if (custom_matrix_) {
    sharing_dirty_ = true;  // the new leg is silent until the next custom matrix
  } else {
    RebuildPresetMatrix(beep ? std::optional<int>(slot) : std::nullopt);
  }
  return {};
}

Result<std::unique_ptr<LegMedia>> MediaSession::RemoveLeg(int slot) {
  if (Result<void> used = CheckSlot(slot, true); !used) return tl::unexpected(used.error());
  std::unique_ptr<LegMedia> media = std::move(slots_[static_cast<size_t>(slot)]);
  roles_[static_cast<size_t>(slot)] = SlotRole{};
  std::span<float> silent = input(slot);
  std::fill(silent.begin(), silent.end(), 0.0f);
  if (custom_matrix_) {
    scratch_.Assign(target_);
    for (int other = 0; other < capacity(); ++other) {
      scratch_.set_gain(slot, other, 0.0f);
      scratch_.set_gain(other, slot, 0.0f);
    }
    ChangeMatrix(std::nullopt);
  } else {
    RebuildPresetMatrix(std::nullopt);
  }
  return media;
}

Result<void> MediaSession::SetMode(int slot, SupervisorMode mode, bool beep) {
  if (Result<void> used = CheckSlot(slot, true); !used) return used;
  SlotRole& role = roles_[static_cast<size_t>(slot)];
  if (role.role != Role::kSupervisor) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("leg slot {} has role {}, not supervisor", slot, RoleName(role.role)));
  }
  role.mode = mode;
  custom_matrix_ = false;
  RebuildPresetMatrix(beep ? std::optional<int>(slot) : std::nullopt);
  return {};
}

Result<void> MediaSession::SetMatrix(const GainMatrix& matrix) {
  if (auto valid = ValidateMatrix(matrix, capacity()); !valid) {
    return InvalidArgument(valid.error().message);
  }
  custom_matrix_ = true;
  scratch_.Assign(matrix);
  ChangeMatrix(std::nullopt);
  return {};
}

void MediaSession::RebuildPresetMatrix(std::optional<int> beep_for) {
  FillPresetMatrix(roles_, scratch_);
  ChangeMatrix(beep_for);
}

void MediaSession::ChangeMatrix(std::optional<int> beep_for) {
  if (beep_for) {
    const int source = *beep_for;
    bool beeped = false;
    for (int dst = 0; dst < capacity(); ++dst) {
      if (dst != source && scratch_.Hears(dst, source) && !target_.Hears(dst, source)) {
        beeps_[static_cast<size_t>(dst)].Start();
        beeped = true;
      }
    }
    // Nobody will hear a silent monitor; its beep tells the call's parties.
    const SlotRole& role = roles_[static_cast<size_t>(source)];
    if (!beeped && role.role == Role::kSupervisor && role.mode == SupervisorMode::kListen) {
      for (int dst = 0; dst < capacity(); ++dst) {
        const SlotRole& party = roles_[static_cast<size_t>(dst)];
        if (party.in_use && party.role != Role::kSupervisor) beeps_[static_cast<size_t>(dst)].Start();
      }
    }
  }
  if (scratch_ == target_ && !beep_for) return;
  target_.Assign(scratch_);
  ramping_ = true;
  sharing_dirty_ = true;
  ++counters_.matrix_changes;
}

void MediaSession::StopRingback() {
  if (!ringback_active_) return;
  ringback_active_ = false;
  sharing_dirty_ = true;
}

std::optional<InsertResult> MediaSession::Receive(int slot, const PacketIn& packet,
                                                   int64_t arrival_ns) {
  if (slot < 0 || slot >= capacity() || slots_[static_cast<size_t>(slot)] == nullptr) {
    return std::nullopt;
  }
  return slots_[static_cast<size_t>(slot)]->Receive(packet, arrival_ns);
}

void MediaSession::ComputeSharing() {
  for (int dst = 0; dst < capacity(); ++dst) {
    leader_[static_cast<size_t>(dst)] = dst;
    if (!roles_[static_cast<size_t>(dst)].in_use || beeps_[static_cast<size_t>(dst)].active()) {
      continue;
    }
    for (int other = 0; other < dst; ++other) {
      if (leader_[static_cast<size_t>(other)] != other || !roles_[static_cast<size_t>(other)].in_use ||
          beeps_[static_cast<size_t>(other)].active()) {
        continue;
      }
      // While ringing, a party (who hears the ringback) and a supervisor differ.
      if (ringback_active_ && (roles_[static_cast<size_t>(dst)].role == Role::kSupervisor) !=
                                  (roles_[static_cast<size_t>(other)].role == Role::kSupervisor)) {
        continue;
      }
      if (SameRow(current_, dst, other) && (!ramping_ || SameRow(target_, dst, other)) &&
          SameCodec(*slots_[static_cast<size_t>(dst)], *slots_[static_cast<size_t>(other)])) {
        leader_[static_cast<size_t>(dst)] = other;
        break;
      }
    }
  }
  sharing_dirty_ = false;
}

void MediaSession::ComputeSources() {
  for (int dst = 0; dst < capacity(); ++dst) {
    int count = 0;
    for (int src = 0; src < capacity(); ++src) {
      if (target_.gain(dst, src) != 0.0f || (ramping_ && current_.gain(dst, src) != 0.0f)) {
        sources_[static_cast<size_t>(dst * capacity() + count++)] = src;
      }
    }
    source_counts_[static_cast<size_t>(dst)] = count;
  }
}

void MediaSession::MixOutput(int dst) {
  const size_t n = mix_.size();
  float* __restrict mix = mix_.data();
  const size_t ramp = std::min(n, static_cast<size_t>(ramp_samples_));
  const std::span<const int> heard = sources(dst);
  if (heard.empty()) std::fill(mix_.begin(), mix_.end(), 0.0f);
  for (size_t k = 0; k < heard.size(); ++k) {
    const int src = heard[k];
    const float to = target_.gain(dst, src);
    const float from = ramping_ ? current_.gain(dst, src) : to;
    const float* __restrict in = inputs_.data() + static_cast<size_t>(src * tick_samples_);
    if (k == 0 && from == to) {
      // The first source sets the mix instead of adding to zeros (the same
      // sums, but for the sign of a zero, which rounding to int16 does not see).
      if (to == 1.0f) {
        std::copy_n(in, n, mix);
      } else {
        for (size_t i = 0; i < n; ++i) mix[i] = to * in[i];
      }
      continue;
    }
    if (k == 0) std::fill(mix_.begin(), mix_.end(), 0.0f);
    size_t start = 0;
    if (from != to) {
      const float step = (to - from) / static_cast<float>(ramp);
      for (; start < ramp; ++start) {
        mix[start] += (from + step * static_cast<float>(start + 1)) * in[start];
      }
    }
    if (to == 1.0f) {
      for (size_t i = start; i < n; ++i) mix[i] += in[i];
    } else if (to != 0.0f) {
      for (size_t i = start; i < n; ++i) mix[i] += to * in[i];
    }
  }
  beeps_[static_cast<size_t>(dst)].MixInto(mix_);
  if (ringback_active_ && roles_[static_cast<size_t>(dst)].role != Role::kSupervisor) {
    for (size_t i = 0; i < n; ++i) mix[i] += ringback_tick_[i];
  }
  limiters_[static_cast<size_t>(dst)].Process(mix_, pcm_);
}

void MediaSession::PrefetchTick() const {
  for (const std::unique_ptr<LegMedia>& media : slots_) {
    if (media != nullptr) media->PrefetchPlayout();
  }
}

void MediaSession::Tick(std::span<LegOutput> outputs) {
  EARSHOT_DCHECK(outputs.size() == slots_.size());
  ++counters_.ticks;
  PrefetchTick();
  for (int slot = 0; slot < capacity(); ++slot) {
    if (slots_[static_cast<size_t>(slot)] != nullptr) {
      slots_[static_cast<size_t>(slot)]->Playout(input(slot));
    }
  }
  if (sharing_dirty_) {
    ComputeSharing();
    ComputeSources();
  }
  if (ringback_active_) ringback_.Generate(ringback_tick_);

  bool beep_ended = false;
  for (int dst = 0; dst < capacity(); ++dst) {
    LegOutput& output = outputs[static_cast<size_t>(dst)];
    LegMedia* media = slots_[static_cast<size_t>(dst)].get();
    if (media == nullptr) {
      output = LegOutput{};
      continue;
    }
    const int leader = leader_[static_cast<size_t>(dst)];
    if (leader != dst) {
      // Leaders come first (leader < dst), so their payload is ready.
      output = LegOutput{true, outputs[static_cast<size_t>(leader)].payload, leader};
      ++counters_.shared_outputs;
      continue;
    }
    const bool beeping = beeps_[static_cast<size_t>(dst)].active();
    MixOutput(dst);
    beep_ended |= beeping && !beeps_[static_cast<size_t>(dst)].active();
    ++counters_.mixes;
    ++counters_.encodes;
    output = LegOutput{true, media->Encode(pcm_), dst};
  }
  if (ramping_) {
    current_.Assign(target_);
    ramping_ = false;
    sharing_dirty_ = true;
  }
  if (beep_ended) sharing_dirty_ = true;
}

}  // namespace earshot::mixer

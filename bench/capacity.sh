#!/usr/bin/env bash
# Capacity of one earshotd (issue 9): starts earshotd with W workers on kernel
# sockets pinned to CPU 0, runs earshot-load pinned to CPU 1 at increasing N,
# samples earshotd's CPU (utime+stime from /proc/PID/stat) and RSS over the
# steady part of each run, and prints per N: CPU us per party per second of
# call, packets/s, loss, semantic errors, p99 mouth-to-ear latency, earshotd's
# tick overruns and the tool's own p99 lateness. The knee is the largest N with
# zero loss, zero semantic errors and p99 latency under 40 ms (latency is
# mouth-to-ear through the mixer, jitter buffer included).
#
#   bench/capacity.sh [BUILD_DIR] [-- earshot-load flags...]
# Environment: WORKERS (1), MODE (barge), SUPERVISORS (1), DURATION (20 s),
# CPS (200), STEPS ("100 300 600 900 1200 1500 1800 2100"), CODEC (PCMU: every
# leg's --codec, e.g. opus/48000), LOAD_FLAGS (more earshot-load flags, e.g.
# "--agent-codec opus/16000 --supervisor-codec opus/48000" for mixed codecs),
# EARSHOTD (BUILD_DIR/control/earshotd), DAEMON_CPUS (0), LOAD_CPUS (1),
# CHURN_CPS (0: none) and CHURN_HOLD (2 s): call churn while the N calls stay
# up (earshot-load --churn-cps/--churn-hold). With churn, CPU is sampled only
# while the churn pool is full (from HOLD + 0.5 s after the ramp to HOLD + 0.5 s
# before the end: DURATION - 2 x HOLD - 1 s, at least 1 s), and the party-seconds
# count the churn calls up in that window (earshot-load's up_samples), so the
# figure compares with N + CHURN_CPS x CHURN_HOLD steady calls.
# Scenarios of issue 9:
#   G.711 barge:          STEPS="50 100" DURATION=10 bench/capacity.sh build
#   Opus 48 kHz barge:    CODEC=opus/48000 STEPS="50 100" DURATION=10 bench/capacity.sh build
#   mixed codecs whisper: MODE=whisper LOAD_FLAGS="--agent-codec opus/16000 --supervisor-codec opus/48000" \
#                         STEPS="50 100" DURATION=10 bench/capacity.sh build
#   call churn:           CHURN_CPS=50 STEPS=200 DURATION=10 bench/capacity.sh build
#                         (compare: STEPS="200 300" DURATION=10 bench/capacity.sh build)
set -euo pipefail
build=${1:-build}
shift || true
[ "${1:-}" = "--" ] && shift
read -r -a load_flags <<<"${LOAD_FLAGS:-}"
extra=("${load_flags[@]}" "$@")
earshotd=${EARSHOTD:-$build/control/earshotd}
load=$build/tools/load/earshot-load
for binary in "$earshotd" "$load"; do
  [ -x "$binary" ] || { echo "missing $binary (build earshotd and earshot-load first)" >&2; exit 2; }
done
workers=${WORKERS:-1}
mode=${MODE:-barge}
supervisors=${SUPERVISORS:-1}
duration=${DURATION:-20}
cps=${CPS:-200}
steps=${STEPS:-"100 300 600 900 1200 1500 1800 2100"}
codec=${CODEC:-PCMU}
daemon_cpus=${DAEMON_CPUS:-0}
load_cpus=${LOAD_CPUS:-1}
churn_cps=${CHURN_CPS:-0}
churn_hold=${CHURN_HOLD:-2}
churn=$(awk -v c="$churn_cps" 'BEGIN { print (c > 0) ? 1 : 0 }')
churn_flags=()
[ "$churn" = 1 ] && churn_flags=(--churn-cps "$churn_cps" --churn-hold "$churn_hold")
parties=$((2 + supervisors))
ticks_per_s=$(getconf CLK_TCK)
page_kb=$(($(getconf PAGESIZE) / 1024))

source "$(dirname "${BASH_SOURCE[0]}")/../tools/lib/earshotd.sh"
work=$(mktemp -d)
cleanup() {
  stop_earshotd
  rm -rf "$work"
}
trap cleanup EXIT

start_earshotd "$work/earshotd.log" taskset -c "$daemon_cpus" "$earshotd" --workers "$workers" \
  --pin-workers false --dataplane kernel --rtp-ports 30000-39999 || exit 1

# utime+stime in clock ticks of earshotd (all threads).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$daemon/stat"; }
rss_kb() { awk -v page="$page_kb" '{print $2 * page}' "/proc/$daemon/statm"; }

echo "# $(date -u +%FT%TZ) $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# earshotd --workers $workers on CPU $daemon_cpus; earshot-load on CPU $load_cpus; mode $mode," \
     "$supervisors supervisor(s), --codec $codec ${extra[*]}, ${duration}s per step"
if [ "$churn" = 1 ]; then
  echo "# call churn: --churn-cps $churn_cps --churn-hold $churn_hold (about" \
       "$(awk -v c="$churn_cps" -v h="$churn_hold" 'BEGIN { print c * h }') churn calls up on top of N);" \
       "parties and us/party-s count them; churn_up is their mean in the CPU window"
fi
printf '%6s %8s %10s %10s %8s %8s %9s %9s %9s %10s %8s %8s %9s %s\n' N parties us/party-s pkts/s lost sem_err \
  p99_ms overruns rss_MB tool_p99ms tool_cpu churn_up churn/s verdict
knee=0
for n in $steps; do
  ramp=$(awk -v n="$n" -v c="$cps" 'BEGIN { printf "%.1f", n / c }')
  taskset -c "$load_cpus" "$load" --addr "$address" --calls "$n" --cps "$cps" --duration "$duration" \
    --mode "$mode" --supervisors "$supervisors" --codec "$codec" --json --quiet "${churn_flags[@]}" "${extra[@]}" \
    >"$work/report-$n.json" 2>"$work/load-$n.log" &
  runner=$!
  # The steady part: from 1 s after the ramp to 1 s before the end; with churn,
  # while its pool is full (see the top).
  if [ "$churn" = 1 ]; then
    lead=$(awk -v r="$ramp" -v h="$churn_hold" 'BEGIN { print r + h + 0.5 }')
    steady=$(awk -v d="$duration" -v h="$churn_hold" 'BEGIN { s = int(d - 2 * h - 1); print (s < 1) ? 1 : s }')
  else
    lead=$(awk -v r="$ramp" 'BEGIN { print r + 1.5 }')
    steady=$((duration - 2))
  fi
  sleep "$lead"
  t0=$(date +%s.%N)
  c0=$(cpu_ticks)
  rss_max=0
  for _ in $(seq "$steady"); do
    sleep 1
    rss=$(rss_kb)
    [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  done
  c1=$(cpu_ticks)
  t1=$(date +%s.%N)
  load_status=0
  wait "$runner" || load_status=$?
  if [ "$load_status" -ge 2 ] || [ ! -s "$work/report-$n.json" ]; then
    echo "earshot-load failed at N=$n (exit $load_status):" >&2
    cat "$work/load-$n.log" >&2
    exit 1
  fi
  python3 - "$work/report-$n.json" "$n" "$parties" "$c0" "$c1" "$t0" "$t1" "$ticks_per_s" "$rss_max" \
    >"$work/row-$n.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
n, parties = int(sys.argv[2]), int(sys.argv[3])
c0, c1, t0, t1, hz = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8])
rss_mb = int(sys.argv[9]) / 1024
wall = t1 - t0
cpu_s = (c1 - c0) / hz
up = r["calls"]["up"]
# Churn calls up during [t0, t1] (sampled every 100 ms on the same clock).
c = r.get("churn")
in_window = [n_up for at, n_up in (c["up_samples"] if c else []) if t0 <= at <= t1]
churn_up = sum(in_window) / len(in_window) if in_window else 0.0
churn_rate = c["achieved_cps"] if c else 0.0
churn_ok = c is None or (c["failed"] == 0 and c["missed"] == 0)
party_calls = up + churn_up
us_per_party_s = 1e6 * cpu_s / (party_calls * parties * wall) if party_calls and wall > 0 else 0
pkts = (r["packets"]["sent"] + r["packets"]["received"]) / max(r["tool"]["wall_s"], 1e-9)
# Lost on the way, plus ticks earshotd skipped (timestamp gaps): both are audio nobody heard.
lost = r["packets"]["lost"] + r["packets"].get("not_sent", 0)
sem = r["semantic"]["errors"]
p99 = r["latency"]["p99_ms"]
overruns = r.get("earshotd", {}).get("tick_overruns", -1)
tool_p99 = r["tool"]["lateness"]["p99_ms"]
ok = lost == 0 and sem == 0 and p99 < 40 and up == n and r["rpc"]["failed"] == 0 and churn_ok
verdict = "ok" if ok else "over"
if r["tool"]["bottleneck"]: verdict += " (tool bottleneck)"
print(f'{n:6d} {party_calls * parties:8.0f} {us_per_party_s:10.1f} {pkts:10.0f} {lost:8d} {sem:8d} {p99:9.1f} '
      f'{overruns:9d} {rss_mb:9.1f} {tool_p99:10.2f} {r["tool"]["cpu_percent"]:7.0f}% {churn_up:8.1f} '
      f'{churn_rate:9.1f} {verdict}')
PY
  cat "$work/row-$n.txt"
  if python3 - "$work/report-$n.json" "$n" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ok = (r["packets"]["lost"] == 0 and r["packets"].get("not_sent", 0) == 0 and r["semantic"]["errors"] == 0 and r["latency"]["p99_ms"] < 40
      and r["calls"]["up"] == int(sys.argv[2]) and r["rpc"]["failed"] == 0
      and r.get("churn", {}).get("failed", 0) == 0 and r.get("churn", {}).get("missed", 0) == 0)
sys.exit(0 if ok else 1)
PY
  then knee=$n; fi
  sleep 2  # sessions deleted, sockets closed
done
echo "knee: N=$knee calls (largest N with zero loss or skipped packets, zero semantic errors, p99 latency < 40 ms)"

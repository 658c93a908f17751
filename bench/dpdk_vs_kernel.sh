#!/usr/bin/env bash
# earshotd's CPU per packet on the DPDK path (net_af_packet) against the kernel
# path at the same load on the same veth pair (issue 10), as root. Runs
# dataplane/dpdk/earshotd_veth_load_bench for both paths, alternating, ROUNDS
# times, at each N of STEPS (two-party PCMU calls, 100 packets/s per call each
# way through earshotd), and prints the rows and, per N, the median ns/packet
# of each path and their ratio. earshot-load cannot drive this comparison: its
# legs are bound to 127.0.0.1, which a DPDK port cannot reach.
#
#   bench/dpdk_vs_kernel.sh [BUILD_DIR]
# Environment: STEPS ("100 300 600"), DURATION (8 s per step), ROUNDS (2),
# RPS (1: the kernel's receive work at both veth ends on CPU 1, i.e. the peers'
# IP/UDP stack is not counted as earshotd's; empty: off), DPDK_FLAGS (more
# earshotd flags for the DPDK runs, e.g. "--dpdk-idle-sleep-us 400").
# Do not run it beside a build: earshotd is pinned to CPU 0, the phones to CPU 1.
set -euo pipefail
build=${1:-build}
bench=$build/dataplane/dpdk/dpdk_earshotd_veth_load_bench
earshotd=$build/control/earshotd
for binary in "$bench" "$earshotd"; do
  [ -x "$binary" ] || { echo "missing $binary (build dpdk_earshotd_veth_load_bench)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "needs root (veth, network namespace, af_packet)" >&2; exit 2; }
steps=${STEPS:-"100 300 600"}
duration=${DURATION:-8}
rounds=${ROUNDS:-2}
read -r -a dpdk_flags <<<"${DPDK_FLAGS:-}"
if [ -n "${RPS-1}" ]; then export EARSHOT_BENCH_RPS_CPU=${RPS:-1}; else unset EARSHOT_BENCH_RPS_CPU; fi
list=$(echo "$steps" | tr ' ' ',')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# $(date -u +%FT%TZ) $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
  for mode in kernel dpdk; do
    flags=()
    [ "$mode" = dpdk ] && flags=(-- "${dpdk_flags[@]}")
    "$bench" "$earshotd" "$mode" "$list" "$duration" "${flags[@]}" | tee "$work/$mode-$round.txt"
  done
done
python3 - "$work" "$rounds" <<'PY'
import glob, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
rows = {}  # (mode, calls) -> [(pps, ns, verdict)]
for path in glob.glob(f"{work}/*.txt"):
    mode = path.rsplit("/", 1)[1].split("-")[0]
    for line in open(path):
        f = line.split()
        if not f or not f[0].isdigit():
            continue
        rows.setdefault((mode, int(f[0])), []).append((float(f[1]), float(f[3]), f[-1]))
print(f"{'calls':>6} {'pkts/s':>8} {'kernel_ns':>10} {'dpdk_ns':>8} {'ratio':>6}  verdicts (kernel / dpdk)")
for calls in sorted({c for _, c in rows}):
    k, d = rows.get(("kernel", calls), []), rows.get(("dpdk", calls), [])
    if not k or not d:
        continue
    kn, dn = statistics.median(r[1] for r in k), statistics.median(r[1] for r in d)
    pps = statistics.median(r[0] for r in k + d)
    print(f"{calls:6d} {pps:8.0f} {kn:10.0f} {dn:8.0f} {dn / kn:6.2f}  "
          f"{','.join(r[2] for r in k)} / {','.join(r[2] for r in d)}")
PY

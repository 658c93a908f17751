#!/usr/bin/env bash
# ctest's earshot_load.* runs: starts earshotd on a free gRPC port and runs CALLS
# mixed-mode calls (listen, whisper, barge) for 3 s through it, with any further
# earshot-load flags (codecs, churn); passes when the JSON report shows zero
# semantic errors, zero loss and no failed RPC (with --churn-cps: churn calls
# set up at about the asked rate, none failed, every one torn down), and
# earshotd then stops cleanly. A --duration among the flags replaces the 3 s.
#   load_test.sh EARSHOTD EARSHOT_LOAD RTP_PORTS LOCAL_PORTS CALLS [EARSHOT_LOAD_FLAGS...]
# RTP_PORTS (earshotd's) and LOCAL_PORTS (the phones') are LOW-HIGH ranges, one
# pair per test so that the tests can run in parallel.
set -uo pipefail
earshotd=$1
load=$2
rtp_ports=$3
local_ports=$4
calls=$5
shift 5
extra=("$@")
duration=(--duration 3)
for flag in "${extra[@]}"; do [ "$flag" = --duration ] && duration=(); done

source "$(dirname "${BASH_SOURCE[0]}")/../lib/earshotd.sh"
work=$(mktemp -d)
cleanup() {
  stop_earshotd
  rm -rf "$work"
}
trap cleanup EXIT

# Port ranges chosen apart from the other earshotd tests (43000-47999); with
# churn, LOCAL_PORTS must hold the churn slots' legs too (load_churn.h).
start_earshotd "$work/earshotd.log" "$earshotd" --rtp-ports "$rtp_ports" || exit 1

status=0
"$load" --addr "$address" --calls "$calls" --cps 50 "${duration[@]}" --mode mix --json \
  --local-ports "$local_ports" "${extra[@]}" >"$work/report.json" || status=$?
cat "$work/report.json"
if [ ! -s "$work/report.json" ]; then
  echo "FAIL: earshot-load printed no report (exit $status)"
  status=1
else
  check=$(python3 - "$work/report.json" "$calls" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
calls = int(sys.argv[2])
problems = []
if r["calls"]["up"] != calls: problems.append(f'calls up {r["calls"]["up"]} != {calls}')
if r["semantic"]["errors"] != 0: problems.append(f'semantic errors {r["semantic"]["errors"]}')
# At least 1 s of every leg judged (Opus calls are judged from 1.2 s on, see load_media.h).
if r["semantic"]["windows"] < calls * 3 * 5: problems.append(f'only {r["semantic"]["windows"]} windows judged')
if r["packets"]["malformed"] != 0: problems.append(f'malformed {r["packets"]["malformed"]}')
if r["packets"]["lost"] != 0: problems.append(f'lost {r["packets"]["lost"]}')
if r["packets"]["not_sent"] != 0: problems.append(f'not sent by earshotd {r["packets"]["not_sent"]}')
if r["packets"]["streams_without_packets"] != 0: problems.append('silent streams')
if r["rpc"]["failed"] != 0: problems.append(f'failed RPCs {r["rpc"]["failures"]}')
if r["latency"]["count"] == 0: problems.append('no mouth-to-ear sample')
c = r.get("churn")
if c is not None:
    if c["setups"] == 0: problems.append('no churn call set up')
    if c["failed"] != 0: problems.append(f'churn set-ups failed {c["failed"]}')
    if c["teardowns"] != c["setups"]: problems.append(f'churn torn down {c["teardowns"]} of {c["setups"]}')
    if c["achieved_cps"] < 0.8 * c["cps"]: problems.append(f'churn at {c["achieved_cps"]:.1f}/s of {c["cps"]}')
print("; ".join(problems))
PY
)
  if [ -n "$check" ]; then
    echo "FAIL: $check (earshot-load exit $status)"
    status=1
  elif [ "$status" -ne 0 ]; then
    echo "FAIL: earshot-load exited with $status"
  fi
fi

kill -TERM "$daemon"
daemon_status=0
wait "$daemon" || daemon_status=$?
daemon=
if [ "$daemon_status" -ne 0 ]; then
  echo "FAIL: earshotd exited with $daemon_status"
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "--- earshotd log (tail)"
  tail -n 40 "$work/earshotd.log"
fi
exit "$status"

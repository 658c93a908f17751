#!/usr/bin/env bash
# ctest's earshot_demo.supervised_call: starts earshotd on a free gRPC port, runs
# earshot-demo against it with 3 s phases, and passes when the measured
# who-heard-whom table matches PRODUCT.md (exit 0) and earshotd then stops
# cleanly. Exits 77 (skipped) when the speech recordings are missing.
#
# On a busy machine earshotd's worker can stall for a second, which garbles
# the audio of that phase. A mismatch that comes with such a stall (pauses in
# earshotd's stream, or the phones themselves late) gets one more run; a
# mismatch on an undisturbed call fails at once.
#   demo_test.sh EARSHOTD EARSHOT_DEMO MEDIA_DIR
set -uo pipefail
earshotd=$1
demo=$2
media=$3

if [ ! -f "$media/customer_8k.wav" ]; then
  echo "SKIP: no speech recordings in $media"
  exit 77
fi

source "$(dirname "${BASH_SOURCE[0]}")/../lib/earshotd.sh"
work=$(mktemp -d)
cleanup() {
  stop_earshotd
  rm -rf "$work"
}
trap cleanup EXIT

start_earshotd "$work/earshotd.log" "$earshotd" --rtp-ports 47000-47999 || exit 1

run_demo() {
  status=0
  "$demo" --addr "$address" --media "$media" --out "$work/out" --phase-seconds 3 | tee "$work/table.txt" ||
    status=${PIPESTATUS[0]}
}
run_demo
if [ "$status" -eq 1 ] && grep -Eq "pauses|stream lost|left the phones" "$work/table.txt"; then
  echo "== the call was disturbed (see above): one more run"
  run_demo
fi
for party in customer agent supervisor; do
  [ -s "$work/out/${party}_heard.wav" ] || { echo "FAIL: no $work/out/${party}_heard.wav"; status=1; }
done

kill -TERM "$daemon"
daemon_status=0
wait "$daemon" || daemon_status=$?
daemon=
if [ "$daemon_status" -ne 0 ]; then
  echo "FAIL: earshotd exited with $daemon_status after the demo"
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "--- earshotd log"
  cat "$work/earshotd.log"
fi
exit "$status"

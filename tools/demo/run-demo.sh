#!/usr/bin/env bash
# Plays a supervised call through the earshotd that `tools/setup.sh run` started
# (README "Hear a supervised call"): builds earshot-demo if needed, then runs it.
#   tools/demo/run-demo.sh [earshot-demo flags...]
# e.g. --addr 127.0.0.1:50051 --phase-seconds 8 --out demo-out --json; --help lists them.
# Exit code: earshot-demo's (0 the table matches PRODUCT.md, 1 it does not,
# 2 the demo could not run).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${EARSHOT_BUILD_DIR:-$root/build}
jobs=${EARSHOT_JOBS:-2}
demo=$build/tools/demo/earshot-demo

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The same configuration as tools/setup.sh, so that both share one build.
if [ ! -f "$build/CMakeCache.txt" ] || [ ! -x "$demo" ]; then
  echo "== configuring $build" >&2
  if ! cmake -S "$root" -B "$build" -G Ninja -DEARSHOT_WERROR=ON >"$log" 2>&1; then
    cat "$log" >&2
    exit 2
  fi
fi
echo "== building earshot-demo in $build" >&2
if ! cmake --build "$build" -j "$jobs" --target earshot-demo >"$log" 2>&1; then
  cat "$log" >&2
  exit 2
fi
exec "$demo" "$@"

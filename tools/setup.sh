#!/usr/bin/env bash
# Earshot's two set-up commands (README.md):
#   tools/setup.sh run [earshotd flags...]  install what is missing, build, start earshotd
#   tools/setup.sh test                     install what is missing, build, run every test
# Idempotent and non-interactive; uses sudo for apt-get when not root.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=${EARSHOT_JOBS:-2}

# Build and run dependencies, all Debian 12 packages.
build_packages=(
  cmake ninja-build g++ pkg-config
  libexpected-dev libfmt-dev libspdlog-dev libyaml-cpp-dev libcli11-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libgtest-dev libgmock-dev libbenchmark-dev libsndfile1-dev nlohmann-json3-dev liburing-dev
  libdpdk-dev libopus-dev libspeexdsp-dev libsrtp2-dev libcpp-httplib-dev
  libssl-dev
)
# What only the test command needs: clang with its sanitizer and libFuzzer runtimes,
# and the real peers the integration tests talk to.
test_packages=(clang libclang-rt-14-dev openssl iproute2 ffmpeg tshark gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)

say() { printf '== %s\n' "$*" >&2; }

install_missing() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# build DIR [cmake options...]
build() {
  local dir=$1
  shift
  say "building in $dir"
  cmake -S . -B "$dir" -G Ninja -DEARSHOT_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

# Runs ctest in DIR and keeps its totals for the closing line.
passed=0
failed=0
skipped=0
run_ctest() {
  local dir=$1 log
  log=$(mktemp)
  say "testing in $dir"
  local status=0
  ctest --test-dir "$dir" -j "$jobs" --output-on-failure --timeout 600 | tee "$log" || status=$?
  local line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
  local skips
  skips=$(grep -c '(Skipped)$' "$log" || true)
  if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    failed=$((failed + BASH_REMATCH[1]))
    passed=$((passed + BASH_REMATCH[2] - BASH_REMATCH[1] - skips))
    skipped=$((skipped + skips))
  else
    failed=$((failed + 1))  # ctest itself did not finish
  fi
  rm -f "$log"
  return $status
}

case "${1:-}" in
  run)
    shift
    install_missing "${build_packages[@]}"
    build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    say "starting earshotd (stop with Ctrl-C)"
    exec build/control/earshotd "$@"
    ;;
  test)
    install_missing "${build_packages[@]}" "${test_packages[@]}"
    status=0
    # 1. The release build: unit, end-to-end and DPDK tests, and the benches build.
    build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
    run_ctest build || status=1
    # 2. The same tests under AddressSanitizer and UndefinedBehaviorSanitizer, with
    #    clang, plus each libFuzzer target for a bounded time.
    build build-sanitize -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
      -DCMAKE_CXX_COMPILER=clang++ -DEARSHOT_SANITIZE=ON -DEARSHOT_FUZZ=ON \
      -DEARSHOT_BENCH=OFF -DEARSHOT_DPDK=OFF
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      run_ctest build-sanitize || status=1
    # What each fuzz target got through (ctest keeps passing tests' output here).
    awk '/Testing: fuzz\./ { target = $3 } /^Done [0-9]+ runs/ && target { print "== " target ": " $2 " executions in " $5 " s"; target = "" }' \
      build-sanitize/Testing/Temporary/LastTest.log >&2 || true
    printf 'earshot: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
    exit $status
    ;;
  *)
    echo "usage: tools/setup.sh run [earshotd flags...] | tools/setup.sh test" >&2
    exit 2
    ;;
esac

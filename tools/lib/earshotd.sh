# Sourced by the scripts that run an earshotd of their own (tests, demo, benches).
#
# start_earshotd LOG COMMAND... runs COMMAND (earshotd and its flags, possibly
# behind taskset) in the background with gRPC and metrics on free loopback
# ports, its log in LOG; sets $daemon (the pid) and $address (gRPC HOST:PORT).
# Returns 1, with the log on stderr, when earshotd did not say where it listens.
# stop_earshotd stops it with SIGTERM (a graceful drain) and waits.

start_earshotd() {
  local log=$1
  shift
  "$@" --grpc-listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 2>"$log" &
  daemon=$!
  address=
  for _ in $(seq 100); do
    address=$(grep -o 'listening grpc=127\.0\.0\.1:[0-9]*' "$log" | head -n 1 | cut -d= -f2 || true)
    [ -n "$address" ] && return 0
    kill -0 "$daemon" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: earshotd did not log 'listening grpc=...':" >&2
  cat "$log" >&2
  return 1
}

stop_earshotd() {
  if [ -n "${daemon:-}" ]; then kill -TERM "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null; fi
  daemon=
}

# Sourced (not run) by the scripts that test a real server (node-sdk/serve-and-run.sh,
# oauth-integrator.sh, browser/run.sh): starts
# `hilo serve` on a fresh SQLite file and an ephemeral port and reads its banner.
#
#   . tests/hilo-serve.sh
#   hilo_serve_start [EXTRA `hilo serve` OPTIONS…]
#
# hilo_serve_start sets, in the sourcing shell:
#   hilo          the binary: $HILO_BIN if set (a release build, say), else `cargo build`'s debug one
#   hilo_work     a temporary directory (the database, the banner and the server's log)
#   database_url  sqlite://$hilo_work/hilo.db, for `hilo admin --database`
#   base_url      e.g. http://127.0.0.1:41193, from the banner
#   location_id   the demo location, from the banner
#   token         its private integration token (pit-…), from the banner
# and installs an EXIT trap that stops the server (SIGTERM) and removes the directory.

hilo_serve_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
hilo_server_pid=""
hilo_work=""

hilo_serve_stop() {
  if [ -n "$hilo_server_pid" ]; then
    kill -TERM "$hilo_server_pid" 2>/dev/null || true
    wait "$hilo_server_pid" 2>/dev/null || true
    hilo_server_pid=""
  fi
  if [ -n "$hilo_work" ]; then
    rm -rf "$hilo_work"
    hilo_work=""
  fi
}

hilo_serve_start() {
  hilo="${HILO_BIN:-}"
  if [ -z "$hilo" ]; then
    (cd "$hilo_serve_root" && cargo build --locked --quiet --bin hilo)
    hilo="${CARGO_TARGET_DIR:-$hilo_serve_root/target}/debug/hilo"
  elif [[ "$hilo" == */* && "$hilo" != /* ]]; then
    hilo="$PWD/$hilo" # a relative HILO_BIN keeps working after a cd
  fi

  hilo_work="$(mktemp -d)"
  trap hilo_serve_stop EXIT
  database_url="sqlite://$hilo_work/hilo.db"

  # The banner exists before the server opens it, so the first read below cannot fail.
  : >"$hilo_work/banner"
  "$hilo" serve --listen 127.0.0.1:0 --database "$database_url" "$@" \
    >"$hilo_work/banner" 2>"$hilo_work/log" &
  hilo_server_pid=$!

  base_url=""
  local _
  for _ in $(seq 1 100); do
    base_url="$(sed -n 's/^hilo is ready at //p' "$hilo_work/banner")"
    [ -n "$base_url" ] && grep -q '^  token:' "$hilo_work/banner" && break
    if ! kill -0 "$hilo_server_pid" 2>/dev/null; then
      echo "hilo serve exited before printing its banner:" >&2
      cat "$hilo_work/log" >&2
      return 1
    fi
    sleep 0.1
  done
  if [ -z "$base_url" ] || ! grep -q '^  token:' "$hilo_work/banner"; then
    echo "hilo serve did not print its banner" >&2
    cat "$hilo_work/log" >&2
    return 1
  fi
  location_id="$(sed -n 's/^  location id: *//p' "$hilo_work/banner")"
  token="$(sed -n 's/^  token: *//p' "$hilo_work/banner")"
  if [ -z "$location_id" ] || [ -z "$token" ]; then
    echo "hilo serve's banner has no location id or token:" >&2
    cat "$hilo_work/banner" >&2
    return 1
  fi

  curl -fsS --retry 20 --retry-delay 0 --retry-connrefused "$base_url/healthz" >/dev/null
}

#!/usr/bin/env bash
# Starts `hilo serve` on a fresh SQLite file and an ephemeral port, reads the base URL, location
# id and token from its banner, runs the official Node SDK against it, then stops the server.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

# HILO_BIN runs an already built binary (a release build, say) instead of the debug one.
hilo="${HILO_BIN:-}"
if [ -z "$hilo" ]; then
  cargo build --locked --quiet --bin hilo
  hilo="${CARGO_TARGET_DIR:-$root/target}/debug/hilo"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

"$hilo" serve --listen 127.0.0.1:0 --database "sqlite://$work/hilo.db" >"$work/banner" 2>"$work/log" &
server_pid=$!

base_url=""
for _ in $(seq 1 100); do
  base_url="$(sed -n 's/^hilo is ready at //p' "$work/banner")"
  [ -n "$base_url" ] && grep -q '^  token:' "$work/banner" && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
  sleep 0.1
done
if [ -z "$base_url" ]; then
  echo "hilo serve did not print its banner" >&2
  cat "$work/log" >&2
  exit 1
fi
location_id="$(sed -n 's/^  location id: //p' "$work/banner")"
token="$(sed -n 's/^  token: *//p' "$work/banner")"

curl -fsS --retry 20 --retry-delay 0 --retry-connrefused "$base_url/healthz" >/dev/null

HILO_BASE_URL="$base_url" HILO_TOKEN="$token" HILO_LOCATION_ID="$location_id" \
  "$root/tests/node-sdk/run.sh"

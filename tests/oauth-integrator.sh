#!/usr/bin/env bash
# Starts `hilo serve` on a fresh SQLite file and an ephemeral port (hilo-serve.sh), runs
# examples/oauth-integrator.sh against it (a headless OAuth install, code exchange, API calls,
# refresh, agency install and location token, all with curl and jq), then stops the server.
# HILO_BIN runs an already built binary instead of the debug one.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. tests/hilo-serve.sh

hilo_serve_start

HILO_BASE_URL="$base_url" HILO_DATABASE_URL="$database_url" HILO_BIN="$hilo" \
  HILO_LOCATION_ID="$location_id" examples/oauth-integrator.sh

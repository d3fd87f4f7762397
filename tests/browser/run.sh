#!/usr/bin/env bash
# Runs hilo's pages in headless Chromium against a real `hilo serve` on a fresh SQLite file
# (../hilo-serve.sh). Needs Debian's chromium (.ci/run installs it) and npm. HILO_BIN runs an
# already built binary; SCREENSHOTS=DIR keeps a PNG of each page.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
. tests/hilo-serve.sh

hilo_serve_start

(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
HILO_BASE_URL="$base_url" HILO_DATABASE_URL="$database_url" HILO_BIN="$hilo" \
  HILO_LOCATION_ID="$location_id" node tests/browser/consent.mjs

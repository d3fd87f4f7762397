#!/usr/bin/env bash
# Installs the pinned official SDK and runs the flows against HILO_BASE_URL / HILO_TOKEN /
# HILO_LOCATION_ID, then, when HILO_OAUTH_CLIENT_ID is set, the OAuth flows (oauth-flows.mjs
# lists what they need; see README.md here). Runs both and fails if either failed.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
status=0
node sdk-flows.mjs || status=1
if [ -n "${HILO_OAUTH_CLIENT_ID:-}" ]; then
  echo "# OAuth helpers (oauth-flows.mjs)"
  node oauth-flows.mjs || status=1
fi
exit "$status"

#!/usr/bin/env bash
# Installs the pinned official SDK and runs the flows against HILO_BASE_URL / HILO_TOKEN /
# HILO_LOCATION_ID (see README.md here).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
node sdk-flows.mjs

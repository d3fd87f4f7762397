#!/usr/bin/env bash
# Installs the pinned official SDK and runs the flows against HILO_BASE_URL / HILO_TOKEN /
# HILO_LOCATION_ID, then, when HILO_OAUTH_CLIENT_ID is set, the OAuth flows (oauth-flows.mjs
# lists what they need; see README.md here), and when HILO_CAMPAIGN_ID is set the advanced contact
# flows (contacts-advanced-flows.mjs lists what they need), and when HILO_WEBHOOK_CLIENT_ID is set
# the webhook flows (webhook-flows.mjs). Runs them all and fails if any failed.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
status=0
node sdk-flows.mjs || status=1
if [ -n "${HILO_OAUTH_CLIENT_ID:-}" ]; then
  echo "# OAuth helpers (oauth-flows.mjs)"
  node oauth-flows.mjs || status=1
fi
if [ -n "${HILO_WEBHOOK_CLIENT_ID:-}" ]; then
  echo "# Webhook deliveries verified with the SDK's webhook helper (webhook-flows.mjs)"
  node webhook-flows.mjs || status=1
fi
if [ -n "${HILO_CAMPAIGN_ID:-}" ]; then
  echo "# Search, duplicates, upsert, followers, campaigns, workflows (contacts-advanced-flows.mjs)"
  node contacts-advanced-flows.mjs || status=1
fi
exit "$status"

#!/usr/bin/env bash
# Starts `hilo serve` on a fresh SQLite file and an ephemeral port (../hilo-serve.sh), creates an
# OAuth app with two headless installs (`hilo admin`), runs the official Node SDK against the
# server (run.sh: sdk-flows.mjs with the banner's token, oauth-flows.mjs with the app), then
# stops the server. HILO_BIN runs an already built binary instead of the debug one.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
. tests/hilo-serve.sh

hilo_serve_start

# json EXPR [ARG]: evaluates EXPR on the JSON read from stdin (`o`; `arg` is ARG), e.g. `o.code`.
json() {
  node -e '
    const o = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const arg = process.argv[2];
    const v = eval(process.argv[1]);
    if (v === undefined || v === null || v === "") process.exit(1);
    console.log(v);' "$@"
}

admin() { "$hilo" admin --database "$database_url" --json "$@"; }

redirect_uri="https://sdk-test.example/oauth/callback"
company_id="$(admin location list | json 'o.find((l) => l.id === arg).companyId' "$location_id")"
app="$(admin app create --name "Node SDK OAuth" --redirect-uri "$redirect_uri" --distribution agency \
  --scopes "contacts.readonly contacts.write oauth.readonly oauth.write locations.readonly")"
client_id="$(json o.clientId <<<"$app")"
client_secret="$(json o.clientSecret <<<"$app")"
location_code="$(admin oauth authorize --client-id "$client_id" --location "$location_id" | json o.code)"
company_code="$(admin oauth authorize --client-id "$client_id" --agency "$company_id" | json o.code)"

HILO_BASE_URL="$base_url" HILO_TOKEN="$token" HILO_LOCATION_ID="$location_id" \
  HILO_COMPANY_ID="$company_id" HILO_OAUTH_CLIENT_ID="$client_id" \
  HILO_OAUTH_CLIENT_SECRET="$client_secret" HILO_OAUTH_REDIRECT_URI="$redirect_uri" \
  HILO_OAUTH_LOCATION_CODE="$location_code" HILO_OAUTH_COMPANY_CODE="$company_code" \
  "$root/tests/node-sdk/run.sh"

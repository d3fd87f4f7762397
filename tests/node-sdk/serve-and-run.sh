#!/usr/bin/env bash
# Starts `hilo serve` on a fresh SQLite file and an ephemeral port (../hilo-serve.sh), creates an
# OAuth app with two headless installs (`hilo admin`), runs the official Node SDK against the
# server (run.sh: sdk-flows.mjs with the banner's token, oauth-flows.mjs with the app,
# contacts-advanced-flows.mjs with two location users, a campaign, a workflow and a second,
# phone-first location; webhook-flows.mjs with an app whose webhook URL it listens on), then
# stops the server. HILO_BIN runs an already built binary instead
# of the debug one.
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

# For contacts-advanced-flows.mjs: followers, enrolments, and a location that looks contacts up
# by phone before email.
follower_1="$(admin user create --location "$location_id" --email follower.one@sdk-test.example \
  --name "Follower One" | json o.id)"
follower_2="$(admin user create --location "$location_id" --email follower.two@sdk-test.example \
  --name "Follower Two" | json o.id)"
campaign_id="$(admin campaign create --location "$location_id" --name "Node SDK campaign" | json o.id)"
workflow_id="$(admin workflow create --location "$location_id" --name "Node SDK workflow" | json o.id)"
phone_first_location="$(admin location create --agency "$company_id" --name "Node SDK phone first" \
  | json o.id)"
admin location settings --location "$phone_first_location" \
  --contact-unique-identifiers phone,email >/dev/null
phone_first_token="$(admin token create --location "$phone_first_location" \
  --scopes "contacts.readonly contacts.write" | json o.token)"

# For webhook-flows.mjs: an app whose webhook URL is a port the script listens on.
webhook_port="$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
  console.log(s.address().port); s.close(); });')"
webhook_app="$(admin app create --name "Node SDK webhooks" --redirect-uri "$redirect_uri" \
  --scopes "contacts.readonly" --webhook-url "http://127.0.0.1:$webhook_port/hook")"
webhook_client_id="$(json o.clientId <<<"$webhook_app")"
admin oauth authorize --client-id "$webhook_client_id" --location "$location_id" >/dev/null

HILO_BASE_URL="$base_url" HILO_TOKEN="$token" HILO_LOCATION_ID="$location_id" \
  HILO_COMPANY_ID="$company_id" HILO_OAUTH_CLIENT_ID="$client_id" \
  HILO_OAUTH_CLIENT_SECRET="$client_secret" HILO_OAUTH_REDIRECT_URI="$redirect_uri" \
  HILO_OAUTH_LOCATION_CODE="$location_code" HILO_OAUTH_COMPANY_CODE="$company_code" \
  HILO_FOLLOWER_USER_IDS="$follower_1,$follower_2" HILO_CAMPAIGN_ID="$campaign_id" \
  HILO_WORKFLOW_ID="$workflow_id" HILO_PHONE_FIRST_LOCATION_ID="$phone_first_location" \
  HILO_PHONE_FIRST_TOKEN="$phone_first_token" \
  HILO_WEBHOOK_PORT="$webhook_port" HILO_WEBHOOK_CLIENT_ID="$webhook_client_id" \
  "$root/tests/node-sdk/run.sh"

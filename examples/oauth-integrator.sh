#!/usr/bin/env bash
# What a HighLevel marketplace integrator scripts against hilo, with no browser: create an app,
# install it headlessly on a location, exchange the code, call the API, refresh (and see the old
# refresh token refused), then install it on the agency and turn the Company token into a
# Location token. Every answer is checked; the first wrong one stops the script with a message
# and exit code 1. One line per step.
#
# Environment:
#   HILO_BASE_URL      the running server, e.g. http://127.0.0.1:8080 (required)
#   HILO_DATABASE_URL  that server's database, e.g. sqlite://hilo.db (required; `hilo admin`
#                      works on it directly)
#   HILO_BIN           the hilo binary (default: `hilo` on PATH)
#   HILO_LOCATION_ID   the location to install on (default: the first of `hilo admin location list`)
#   HILO_REDIRECT_URI  the app's redirect URI (default: https://integrator.example/oauth/callback)
#
# Needs bash, curl and jq. Example, next to a `hilo serve` on the default database:
#   HILO_BASE_URL=http://127.0.0.1:8080 HILO_DATABASE_URL=sqlite://hilo.db examples/oauth-integrator.sh
# CI runs it against a fresh server with tests/oauth-integrator.sh.
set -euo pipefail

base_url="${HILO_BASE_URL:?HILO_BASE_URL must be set (the running hilo server)}"
base_url="${base_url%/}"
export HILO_DATABASE_URL="${HILO_DATABASE_URL:?HILO_DATABASE_URL must be set (the database of that server)}"
hilo="${HILO_BIN:-hilo}"
redirect_uri="${HILO_REDIRECT_URI:-https://integrator.example/oauth/callback}"
scopes="contacts.readonly contacts.write oauth.readonly oauth.write locations.readonly"
api_version="2021-07-28"

for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "oauth-integrator: $tool is required" >&2; exit 2; }
done
command -v "$hilo" >/dev/null || { echo "oauth-integrator: no hilo binary at '$hilo' (set HILO_BIN)" >&2; exit 2; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

step_no=0
step_name=""

# step NAME: starts a step (its number and name head the ok/FAIL line).
step() {
  step_no=$((step_no + 1))
  step_name="$1"
}

# ok DETAIL: the current step passed.
ok() {
  echo "ok $step_no - $step_name: $1"
}

# fail MESSAGE: the current step failed; prints what was expected and the last answer, exits 1.
fail() {
  echo "FAIL $step_no - $step_name: $1" >&2
  if [ -n "${status:-}" ]; then
    echo "  last response: HTTP $status $(cat "$tmp/body" 2>/dev/null)" >&2
  elif [ -s "$tmp/body" ]; then
    echo "  last output: $(cat "$tmp/body")" >&2
  fi
  exit 1
}

# admin ARGS…: `hilo admin … --json`, its JSON output in $body; fails the step on an error.
admin() {
  status=""
  : >"$tmp/body"
  if ! body="$("$hilo" admin --json "$@" 2>"$tmp/admin-err")"; then
    fail "hilo admin $* failed: $(head -n 6 "$tmp/admin-err")"
  fi
  printf '%s' "$body" >"$tmp/body"
}

# http METHOD PATH [CURL ARGS…]: the answer's status in $status and body in $body.
http() {
  local method="$1" path="$2"
  shift 2
  : >"$tmp/body"
  if ! status="$(curl -sS -o "$tmp/body" -w '%{http_code}' -X "$method" "$base_url$path" "$@" 2>"$tmp/curl-err")"; then
    status=""
    fail "$method $path: no answer from $base_url ($(cat "$tmp/curl-err"))"
  fi
  body="$(cat "$tmp/body")"
}

# expect_status CODE: the last answer had this HTTP status.
expect_status() {
  [ "$status" = "$1" ] || fail "expected HTTP $1, got $status"
}

# expect JQ_CONDITION [--arg NAME VALUE…]: the condition holds on the last answer's JSON body.
expect() {
  local condition="$1"
  shift
  jq -e "$@" "$condition" <<<"$body" >/dev/null 2>&1 || fail "expected $condition $*"
}

# field JQ_PATH: a string field of the last answer's body (fails when missing or empty).
field() {
  local value
  value="$(jq -r "$1 // empty" <<<"$body" 2>/dev/null)" || fail "the answer is not JSON"
  [ -n "$value" ] || fail "the answer has no $1"
  printf '%s' "$value"
}

# token_request FORM_FIELDS…: POST /oauth/token, form-encoded as HighLevel's docs send it.
token_request() {
  local args=() kv
  for kv in "$@"; do args+=(--data-urlencode "$kv"); done
  http POST /oauth/token -H 'Accept: application/json' "${args[@]}"
}

# expect_token USER_TYPE: the last answer is a successful token response of that user type.
expect_token() {
  expect_status 200
  expect '.access_token | type == "string" and length > 0'
  expect '.token_type == "Bearer"'
  expect '.expires_in == 86399'
  expect '.refresh_token | type == "string" and length > 0'
  expect '.scope == $s' --arg s "$scopes"
  expect '.userType == $t' --arg t "$1"
  expect '.companyId == $c' --arg c "$company_id"
  expect '.userId | type == "string" and length > 0'
}

# ---------------------------------------------------------------------------------------------

step "the server answers"
http GET /healthz
expect_status 200
ok "GET $base_url/healthz answers 200"

step "find the location and its agency"
admin location list
if [ -n "${HILO_LOCATION_ID:-}" ]; then
  location_id="$HILO_LOCATION_ID"
else
  location_id="$(field '.[0].id')"
fi
company_id="$(jq -r --arg l "$location_id" '.[] | select(.id == $l) | .companyId // empty' <<<"$body")"
[ -n "$company_id" ] || fail "location $location_id is not in hilo admin location list"
ok "location $location_id, agency $company_id"

step "create the marketplace app"
admin app create --name "Integrator example $(date +%s)" --redirect-uri "$redirect_uri" \
  --scopes "$scopes" --distribution agency
client_id="$(field .clientId)"
client_secret="$(field .clientSecret)"
expect '.distribution == "agency"'
expect '.redirectUris == [$r]' --arg r "$redirect_uri"
expect '(.scopes | join(" ")) == $s' --arg s "$scopes"
ok "clientId $client_id"

step "headless install on the location"
admin oauth authorize --client-id "$client_id" --location "$location_id"
code="$(field .code)"
expect '.redirect_url == ($r + "?code=" + .code)' --arg r "$redirect_uri"
ok "code ${code:0:12}…, redirect_url $redirect_uri?code=…"

step "exchange the code (user_type=Location)"
token_request grant_type=authorization_code "client_id=$client_id" "client_secret=$client_secret" \
  "code=$code" user_type=Location "redirect_uri=$redirect_uri"
expect_token Location
expect '.locationId == $l' --arg l "$location_id"
access_token="$(field .access_token)"
refresh_token="$(field .refresh_token)"
user_id="$(field .userId)"
ok "Location token for $location_id (userId $user_id), expires_in 86399"

step "create a contact with the access token"
email="ada.$(date +%s).$RANDOM@integrator.example"
http POST /contacts/ -H "Authorization: Bearer $access_token" -H "Version: $api_version" \
  -H 'Content-Type: application/json' \
  -d "$(jq -nc --arg l "$location_id" --arg e "$email" \
    '{locationId: $l, firstName: "Ada", lastName: "Lovelace", email: $e}')"
expect_status 201
contact_id="$(field .contact.id)"
expect '.contact.locationId == $l' --arg l "$location_id"
expect '.contact.email == $e' --arg e "$email"
ok "contact $contact_id ($email)"

# get_contact TOKEN: GET /contacts/{id} with TOKEN answers the contact created above.
get_contact() {
  http GET "/contacts/$contact_id" -H "Authorization: Bearer $1" -H "Version: $api_version"
  expect_status 200
  expect '.contact.id == $i' --arg i "$contact_id"
  expect '.contact.locationId == $l' --arg l "$location_id"
  expect '.contact.firstName == "Ada" and .contact.lastName == "Lovelace"'
  expect '.contact.email == $e' --arg e "$email"
}

step "read the contact back"
get_contact "$access_token"
ok "GET /contacts/$contact_id answers Ada Lovelace, $email"

step "refresh the token"
token_request grant_type=refresh_token "client_id=$client_id" "client_secret=$client_secret" \
  "refresh_token=$refresh_token" user_type=Location
expect_token Location
expect '.locationId == $l' --arg l "$location_id"
expect '.refresh_token != $old' --arg old "$refresh_token"
old_refresh_token="$refresh_token"
access_token="$(field .access_token)"
refresh_token="$(field .refresh_token)"
ok "new access token and a new refresh token"

step "the refreshed access token works"
get_contact "$access_token"
ok "GET /contacts/$contact_id with it answers the contact"

step "the old refresh token is refused"
token_request grant_type=refresh_token "client_id=$client_id" "client_secret=$client_secret" \
  "refresh_token=$old_refresh_token" user_type=Location
expect_status 400
expect '.error == "invalid_grant"'
ok "400 invalid_grant"

step "headless install on the agency"
admin oauth authorize --client-id "$client_id" --agency "$company_id"
company_code="$(field .code)"
ok "code ${company_code:0:12}…"

step "exchange the code (user_type=Company)"
token_request grant_type=authorization_code "client_id=$client_id" "client_secret=$client_secret" \
  "code=$company_code" user_type=Company "redirect_uri=$redirect_uri"
expect_token Company
expect '.approvedLocations | index($l) != null' --arg l "$location_id"
company_token="$(field .access_token)"
ok "Company token for $company_id, approvedLocations $(jq -c .approvedLocations <<<"$body")"

step "the Company token is not a Sub-Account token"
http GET "/contacts/$contact_id" -H "Authorization: Bearer $company_token" -H "Version: $api_version"
expect_status 401
ok "GET /contacts/$contact_id with it answers 401"

step "a Location token from the Company token"
http POST /oauth/locationToken -H "Authorization: Bearer $company_token" -H "Version: $api_version" \
  -H 'Accept: application/json' --data-urlencode "companyId=$company_id" \
  --data-urlencode "locationId=$location_id"
expect_status 200
expect '.token_type == "Bearer"'
expect '.locationId == $l' --arg l "$location_id"
expect '.expires_in | type == "number" and . > 0'
location_token="$(field .access_token)"
ok "POST /oauth/locationToken answers a Location token for $location_id"

step "the Location token reads the contact"
get_contact "$location_token"
ok "GET /contacts/$contact_id with it answers the contact"

echo "all $step_no steps passed"

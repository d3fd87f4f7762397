#!/usr/bin/env bash
# The flows CLI from the outside, as docs/flows.md teaches it: `hilo serve`, `hilo login`,
# then `hilo flows validate`, `test`, `run` (a lead posted to its webhook becomes a contact
# with two tasks), `history`, and a graceful stop. Needs curl and jq.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. tests/hilo-serve.sh

hilo_serve_start
export HILO_CONFIG="$hilo_work/config.toml" HILO_FLOWS_DATABASE="sqlite://$hilo_work/flows.db"
export HILO_LOCATION_ID="$location_id" DIGEST_URL="http://127.0.0.1:9/digest"
fail() { echo "flows-cli: $*" >&2; exit 1; }

echo "$token" | "$hilo" login --token - --base-url "$base_url" 2>/dev/null
"$hilo" flows validate examples/flows/*.toml

"$hilo" api POST /contacts/ --data "{\"locationId\":\"$location_id\",\"firstName\":\"Ada\"}" >/dev/null
dry="$("$hilo" flows test examples/flows/contact-digest.toml)"
grep -q "post: would send POST $DIGEST_URL" <<<"$dry" || fail "dry run: $dry"

runner_log="$hilo_work/flows.log"
"$hilo" flows run examples/flows/new-lead.toml --listen 127.0.0.1:0 2>"$runner_log" &
runner_pid=$!
hooks=""
for _ in $(seq 1 100); do
  hooks="$(sed -n "s|^webhooks at http://||p" "$runner_log")"
  [ -n "$hooks" ] && break
  sleep 0.1
done
[ -n "$hooks" ] || fail "the runner took no webhooks: $(cat "$runner_log")"

lead='{"firstName":"Grace","email":"grace@example.com","source":"webinar","webhookId":"lead-1"}'
for _ in 1 2; do # a redelivery is kept once
  curl -fsS -X POST "http://$hooks/hooks/leads" -H 'Content-Type: application/json' -d "$lead" >/dev/null
done

contact=""
for _ in $(seq 1 100); do
  contact="$("$hilo" api GET "/contacts/search/duplicate?locationId=$location_id&email=grace@example.com" |
    jq -r '.contact.id // empty')"
  tasks="$([ -n "$contact" ] && "$hilo" api GET "/contacts/$contact/tasks" | jq '.tasks | length' || echo 0)"
  [ "$tasks" = 2 ] && break
  sleep 0.1
done
[ "$tasks" = 2 ] || fail "the lead made contact '$contact' with $tasks task(s)"

kill -TERM "$runner_pid"
wait "$runner_pid" || fail "the runner did not stop cleanly: $(cat "$runner_log")"

history="$("$hilo" flows history --flow new-lead)"
[ "$(grep -c '^[0-9].* new-lead .* done ' <<<"$history")" = 1 ] || fail "history: $history"
grep -q 'follow-up .* done .* tries 1' <<<"$history" || fail "history: $history"
echo "flows-cli: ok"

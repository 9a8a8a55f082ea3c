#!/usr/bin/env bash
# The README's curl examples of the REST API, run as written against a real
# server (embedded simulator, temp database, loopback ports), with their
# answers checked; and each example checked to appear verbatim in README.md,
# so the README shows only commands that work.
# usage: rest_curl_test.sh <build dir>
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)

# shellcheck source=tests/interop/smsgw_server.sh
source "$root/tests/interop/smsgw_server.sh"
# Webhook targets on loopback addresses (the receiver below) need
# SMSGW_WEBHOOK_ALLOW_PRIVATE; nothing else the examples show depends on it.
start_smsgw "$build" --webhook_allow_private=true

SMSGW="http://$http"
checks=0
examples=()
# example <command>: runs one README example as written (eval), keeps its
# output in $out; an assignment (TOKEN=$(...)) runs in this shell.
example() {
  examples+=("$1")
  if [[ $1 =~ ^[A-Z]+=\$\( ]]; then
    eval "$1"
    out=
  else
    out=$(eval "$1")
  fi
}
expect() {  # expect <description> <pattern>: $out matches the pattern
  if grep -q -- "$2" <<<"$out"; then
    echo "ok: $1"; checks=$((checks + 1))
  else
    echo "FAILED: $1: expected /$2/ in:"; echo "$out"; exit 1
  fi
}

example "curl -s -X POST \$SMSGW/v1/auth:signUp -H 'Content-Type: application/json' -d '{\"username\": \"rita\", \"password\": \"correct horse\"}'"
expect "sign-up answers an access token" '"accessToken":"ey'
example "TOKEN=\$(curl -s -X POST \$SMSGW/v1/auth:login -H 'Content-Type: application/json' -d '{\"username\": \"rita\", \"password\": \"correct horse\"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"accessToken\"])')"
[[ -n $TOKEN ]] || { echo "FAILED: login gave no token"; exit 1; }
example "curl -s \$SMSGW/v1/me -H \"Authorization: Bearer \$TOKEN\""
expect "GET /v1/me with the token" '"username":"rita"'
example "curl -s -X POST \$SMSGW/v1/messages -H \"Authorization: Bearer \$TOKEN\" -H 'Content-Type: application/json' -H 'Idempotency-Key: order-1042' -d '{\"to\": \"+14155550100\", \"body\": \"Your order shipped\"}'"
expect "SendMessage over REST is queued" '"status":"MESSAGE_STATUS_QUEUED"'
ID=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["message"]["id"])' <<<"$out")
example "curl -s -X POST \$SMSGW/v1/messages -H \"Authorization: Bearer \$TOKEN\" -H 'Content-Type: application/json' -H 'Idempotency-Key: order-1042' -d '{\"to\": \"+14155550100\", \"body\": \"Your order shipped\"}'"
expect "the same Idempotency-Key replays the first message" "\"id\":\"$ID\".*\"idempotentReplay\":true"
sleep 1.5  # the simulator's status callbacks: sending, sent, delivered
example "curl -s \"\$SMSGW/v1/messages/\$ID?includeEvents=true\" -H \"Authorization: Bearer \$TOKEN\""
expect "GetMessage shows it delivered" '"status":"MESSAGE_STATUS_DELIVERED"'
expect "GetMessage lists the provider's events" '"providerStatus":"delivered"'
example "curl -s \"\$SMSGW/v1/messages?pageSize=10&statuses=MESSAGE_STATUS_DELIVERED\" -H \"Authorization: Bearer \$TOKEN\""
expect "ListMessages filters by status" "\"id\":\"$ID\""
example "curl -s \$SMSGW/v1/stats -H \"Authorization: Bearer \$TOKEN\""
expect "GetMessageStats counts it" '"outboundCount":"1"'
example "KEY=\$(curl -s -X POST \$SMSGW/v1/apiKeys -H \"Authorization: Bearer \$TOKEN\" -H 'Content-Type: application/json' -d '{\"name\": \"shop backend\", \"scopes\": [\"messages:send\"]}' | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"secret\"])')"
[[ $KEY == sk_* ]] || { echo "FAILED: CreateApiKey gave no sk_ secret"; exit 1; }
example "curl -s -X POST \$SMSGW/v1/messages -H \"Authorization: Bearer \$KEY\" -H 'Content-Type: application/json' -d '{\"to\": \"+14155550100\", \"body\": \"Sent with an API key\"}'"
expect "an API key sends as its user" '"ownerUsername":"rita"'
example "curl -s \$SMSGW/v1/messages -H \"Authorization: Bearer \$KEY\""
expect "beyond its scopes the key is PERMISSION_DENIED" '"code":7,"message":'
example "curl -s -m 2 -N \"\$SMSGW/v1/messages:watch?afterCursor=0\" -H \"Authorization: Bearer \$TOKEN\" || true"
expect "the SSE stream replays events with id: lines" '^id: 1$'
expect "each event is JSON on a data: line" '^data: {"event":{"cursor":"1","type":"MESSAGE_EVENT_TYPE_CREATED"'
example "curl -s \$SMSGW/v1/messages -H 'Authorization: Bearer not-a-token'"
expect "a bad token is google.rpc.Status JSON" '"code":16,"message":'
example "curl -s -o /dev/null -w '%{http_code}\n' \$SMSGW/v1/openapi.json"
expect "the OpenAPI document is served" '^200$'

# The event webhook examples, with HOOK_URL a receiver on a loopback port
# that answers 200 (killed at the end; `timeout` bounds it if the test dies).
timeout 120 python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200); self.end_headers()
    def log_message(self, *args): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_port))
s.serve_forever()' "$tmp/hook_port" &
hook_pid=$!
for _ in $(seq 50); do [[ -s $tmp/hook_port ]] && break; sleep 0.1; done
HOOK_URL=http://127.0.0.1:$(cat "$tmp/hook_port")/smsgw-events
example "curl -s -X POST \$SMSGW/v1/webhooks -H \"Authorization: Bearer \$TOKEN\" -H 'Content-Type: application/json' -d \"{\\\"url\\\": \\\"\$HOOK_URL\\\", \\\"eventTypes\\\": [\\\"message.created\\\", \\\"message.status_changed\\\", \\\"message.received\\\"]}\""
expect "creating a webhook shows its secret once" '"secret":"whsec_'
expect "the new webhook is enabled" '"enabled":true'
# An event after the endpoint exists: the worker delivers it.
curl -s -X POST "$SMSGW/v1/messages" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"to": "+14155550100", "body": "hook me"}' >/dev/null
for _ in $(seq 100); do
  curl -s "$SMSGW/v1/webhooks/1/deliveries" -H "Authorization: Bearer $TOKEN" |
    grep -q '"httpStatus":200' && break
  sleep 0.1
done
example "curl -s \$SMSGW/v1/webhooks/1/deliveries -H \"Authorization: Bearer \$TOKEN\""
expect "the receiver's 200 is in the delivery log" '"eventType":"message.created".*"httpStatus":200'
expect "each delivery has its webhook-id" '"webhookId":"msg_1_'
kill "$hook_pid" 2>/dev/null || true

for e in "${examples[@]}"; do
  if ! grep -qF -- "$e" "$root/README.md"; then
    echo "FAILED: README.md lacks the tested example: $e"; exit 1
  fi
done
echo "ok: all ${#examples[@]} examples appear in README.md"
echo "rest curl: $((checks + 1)) passed, 0 failed"

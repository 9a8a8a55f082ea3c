#!/usr/bin/env bash
# The README's event-webhook receivers, run as written: the Node one (with
# the standardwebhooks npm library) and the Python one (standard library)
# are cut out of README.md, started on loopback ports and registered as
# webhook endpoints of a real smsgw-server (embedded simulator, temp
# database, SMSGW_WEBHOOK_ALLOW_PRIVATE for the loopback URLs). Each must
# print the events of a message sent over REST, created through delivered,
# and refuse a forged, a stale and an unsigned delivery with 400.
# usage: webhook_receivers_test.sh <build dir>
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)

# shellcheck source=tests/interop/smsgw_server.sh
source "$root/tests/interop/smsgw_server.sh"
start_smsgw "$build" --webhook_allow_private=true
receivers=()
trap '[[ ${#receivers[@]} -gt 0 ]] && kill "${receivers[@]}" 2>/dev/null; [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

checks=0
ok() { echo "ok: $1"; checks=$((checks + 1)); }
fail() { echo "FAILED: $1"; for f in "$tmp"/*.out "$tmp"/*.err; do echo "--- $f"; cat "$f"; done; exit 1; }

# The fenced block after the README line "<!-- webhook receiver: $1 -->".
extract() {
  python3 - "$root/README.md" "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"<!-- webhook receiver: %s -->\s*```\w*\n(.*?)```" % re.escape(sys.argv[2]), text, re.S)
if not m:
    sys.exit(f"README.md has no block after <!-- webhook receiver: {sys.argv[2]} -->")
sys.stdout.write(m.group(1))
PY
}
extract node > "$tmp/receiver.js"
extract python > "$tmp/receiver.py"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }

api="http://$http"
token=$(curl -s -X POST "$api/v1/auth:signUp" -H 'Content-Type: application/json' \
  -d '{"username": "hook", "password": "correct horse"}' | json '["accessToken"]')
declare -A port secret
for lang in node python; do
  port[$lang]=$(free_port)
  created=$(curl -s -X POST "$api/v1/webhooks" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d "{\"url\": \"http://127.0.0.1:${port[$lang]}/smsgw\"}")
  secret[$lang]=$(json '["secret"]' <<<"$created") || fail "CreateWebhook: $created"
  [[ ${secret[$lang]} == whsec_* ]] || fail "no whsec_ secret: $created"
done
ok "two endpoints registered, each with its whsec_ secret"

PORT=${port[node]} SMSGW_WEBHOOK_SECRET=${secret[node]} \
  NODE_PATH="$root/tests/interop/node/node_modules" \
  node "$tmp/receiver.js" >"$tmp/node.out" 2>"$tmp/node.err" &
receivers+=($!)
PORT=${port[python]} SMSGW_WEBHOOK_SECRET=${secret[python]} \
  python3 "$tmp/receiver.py" >"$tmp/python.out" 2>"$tmp/python.err" &
receivers+=($!)
for lang in node python; do
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:${port[$lang]}/" && break
    sleep 0.1
  done
done

# Refused by both: no signature, a forged one, a correct one that is stale.
sign() {  # sign <secret> <id> <timestamp> <body>
  python3 -c 'import base64, hashlib, hmac, sys
key = base64.b64decode(sys.argv[1].removeprefix("whsec_"))
mac = hmac.new(key, f"{sys.argv[2]}.{sys.argv[3]}.{sys.argv[4]}".encode(), hashlib.sha256)
print("v1," + base64.b64encode(mac.digest()).decode())' "$@"
}
body='{"type":"message.created","timestamp":"2026-01-01T00:00:00Z","data":{"message":{"id":"forged","status":"MESSAGE_STATUS_QUEUED"},"cursor":"1"}}'
now=$(date +%s)
for lang in node python; do
  url="http://127.0.0.1:${port[$lang]}/smsgw"
  post() { curl -s -o /dev/null -w '%{http_code}' -X POST "$url" -H 'Content-Type: application/json' "$@" -d "$body"; }
  [[ $(post -H 'webhook-id: msg_x' -H "webhook-timestamp: $now") == 400 ]] || fail "$lang took an unsigned delivery"
  [[ $(post -H 'webhook-id: msg_x' -H "webhook-timestamp: $now" \
        -H "webhook-signature: $(sign whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA msg_x "$now" "$body")") == 400 ]] ||
    fail "$lang took a delivery signed with another secret"
  stale=$((now - 600))
  [[ $(post -H 'webhook-id: msg_x' -H "webhook-timestamp: $stale" \
        -H "webhook-signature: $(sign "${secret[$lang]}" msg_x "$stale" "$body")") == 400 ]] ||
    fail "$lang took a 10-minute-old delivery"
  [[ $(post -H 'webhook-id: msg_ok' -H "webhook-timestamp: $now" \
        -H "webhook-signature: $(sign "${secret[$lang]}" msg_ok "$now" "$body")") == 204 ]] ||
    fail "$lang refused a correctly signed delivery"
done
ok "both receivers refuse unsigned, forged and stale deliveries (400) and take a signed one (204)"

sent=$(curl -s -X POST "$api/v1/messages" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d '{"to": "+14155550100", "body": "hello, webhooks"}')
id=$(json '["message"]["id"]' <<<"$sent") || fail "SendMessage: $sent"
for lang in node python; do
  for _ in $(seq 150); do
    grep -q "message.status_changed $id MESSAGE_STATUS_DELIVERED" "$tmp/$lang.out" && break
    sleep 0.1
  done
  grep -q "^message.created $id " "$tmp/$lang.out" || fail "$lang receiver printed no message.created for $id"
  grep -q "^message.status_changed $id MESSAGE_STATUS_DELIVERED" "$tmp/$lang.out" ||
    fail "$lang receiver printed no delivered status for $id"
  ok "the $lang receiver verified and printed $id from created to delivered"
done
echo "webhook receivers: $checks passed, 0 failed"

#!/usr/bin/env bash
# docs/compose.yaml without Docker (no engine runs here): the topology it
# declares, run from the build tree with the settings it gives, so that the
# compose file says only what works.
#   1. The file is read (python3-yaml): the replicas (services built from
#      the Dockerfile), their environment, the container ports they map,
#      `restart: always`, and PostgreSQL's user, password and database.
#      The container ports must be the ones the Dockerfile binds.
#   2. A throwaway PostgreSQL 15 gets that user, password and database; its
#      unix socket stands in for the `postgres` host.
#   3. One smsgw-server per replica, with the replica's environment (the
#      database URL pointed at the socket) and loopback ephemeral ports, each
#      with its built-in simulator as in the compose file. Exactly one holds
#      the dispatch lease.
#   4. A user signed up on one replica sends on another (REST), and a third
#      shows the message delivered (the holder's simulator posted the
#      callbacks). Then the holder is killed (-9) and restarted, as
#      `restart: always` would: another replica takes the lease and a new
#      send is delivered too.
# usage: compose_topology_test.sh <build dir>
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
compose=$root/docs/compose.yaml
pgbin=/usr/lib/postgresql/15/bin
tmp=$(mktemp -d /tmp/smsgw-compose.XXXXXX)
declare -a pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  if [[ -f $tmp/pg/data/postmaster.pid ]]; then
    as_postgres "$pgbin/pg_ctl" -D "$tmp/pg/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAILED: $*"; for f in "$tmp"/replica-*.log; do echo "== $f"; tail -20 "$f"; done; exit 1; }
ok() { echo "ok: $*"; }
as_postgres() {  # initdb refuses root
  if [[ $(id -u) == 0 ]]; then /usr/sbin/runuser -u postgres -- "$@"; else "$@"; fi
}

# --- 1. What the compose file declares ---
python3 - "$compose" "$root/Dockerfile" >"$tmp/compose.env" <<'EOF'
import re, shlex, sys, urllib.parse
import yaml
compose = yaml.safe_load(open(sys.argv[1]))
dockerfile = open(sys.argv[2]).read()
services = compose["services"]
replicas = sorted(n for n, s in services.items() if "build" in s)
pg = next(s for s in services.values() if str(s.get("image", "")).startswith("postgres:15"))
def die(msg):
    sys.exit(f"compose.yaml: {msg}")
if len(replicas) < 2: die(f"expected several replicas, found {replicas}")
# The ports the image binds (Dockerfile ENV) are the container side of
# every replica's port mappings.
bound = {int(m) for m in re.findall(r"SMSGW_(?:GRPC|HTTP)_ADDR=0\.0\.0\.0:(\d+)", dockerfile)}
if len(bound) != 2: die(f"the Dockerfile binds {bound}, expected a gRPC and an HTTP port")
envs = []
for name in replicas:
    s = services[name]
    if s.get("restart") != "always": die(f"{name} must restart: always (a replica that loses the lease exits 75)")
    mapped = {int(str(p).split(":")[-1]) for p in s.get("ports", [])}
    if mapped != bound: die(f"{name} maps container ports {mapped}, the image binds {bound}")
    if "postgres" not in s.get("depends_on", {}): die(f"{name} does not wait for postgres")
    envs.append(s["environment"])
if any(e != envs[0] for e in envs): die("the replicas' environments differ")
env = dict(envs[0])
url = urllib.parse.urlsplit(env["SMSGW_DB_URL"])
pe = pg["environment"]
if (url.username, url.password, url.path.lstrip("/")) != (pe["POSTGRES_USER"], pe["POSTGRES_PASSWORD"], pe["POSTGRES_DB"]):
    die("SMSGW_DB_URL's user, password and database are not postgres's")
if url.hostname != "postgres": die("SMSGW_DB_URL does not name the postgres service")
print(f"replicas={len(replicas)}")
print(f"pg_user={shlex.quote(url.username)}")
print(f"pg_password={shlex.quote(url.password)}")
print(f"pg_db={shlex.quote(url.path.lstrip('/'))}")
for k, v in env.items():
    if k != "SMSGW_DB_URL": print(f"extra_env+=({shlex.quote(f'{k}={v}')})")
EOF
declare -a extra_env=()
# shellcheck disable=SC1091
source "$tmp/compose.env"
ok "compose.yaml: $replicas replicas on the image's ports, restart: always, one database URL"

# --- 2. PostgreSQL with the compose file's user, password and database ---
chmod 755 "$tmp"  # the postgres user reaches its dir inside
mkdir -p "$tmp/pg"
echo "$pg_password" >"$tmp/pg/pwfile"
if [[ $(id -u) == 0 ]]; then chown -R postgres: "$tmp/pg"; fi
as_postgres "$pgbin/initdb" -D "$tmp/pg/data" -U "$pg_user" --pwfile="$tmp/pg/pwfile" \
  --auth=scram-sha-256 --encoding=UTF8 --locale=C -N >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$tmp/pg/data" -l "$tmp/pg/server.log" -w -t 30 \
  -o "-c listen_addresses='' -c unix_socket_directories='$tmp/pg'" start >/dev/null
PGPASSWORD=$pg_password "$pgbin/psql" -h "$tmp/pg" -U "$pg_user" -d postgres -qc \
  "CREATE DATABASE \"$pg_db\"" >/dev/null
db_url="postgresql://$pg_user:$pg_password@/$pg_db?host=$tmp/pg"

# --- 3. The replicas ---
# start_replica N: replica N on loopback ephemeral ports, in the background.
start_replica() {
  local n=$1
  rm -f "$tmp/ports-$n"
  (
    for v in $(compgen -e | grep -E '^(TWILIO_|SMSGW_|JWT_)' || true); do unset "$v"; done
    export SMSGW_DB_URL=$db_url
    for kv in "${extra_env[@]}"; do export "${kv?}"; done
    exec "$build/smsgw-server" --grpc_addr=127.0.0.1:0 --http_addr=127.0.0.1:0 \
      --metrics_addr=127.0.0.1:0 --simulator_port=0 --port_file="$tmp/ports-$n"
  ) >>"$tmp/replica-$n.log" 2>&1 &
  pids[n]=$!
  for _ in $(seq 300); do [[ -s $tmp/ports-$n ]] && break; sleep 0.1; done
  http[n]=$(sed -n 's/^http=//p' "$tmp/ports-$n")
  metrics[n]=$(sed -n 's/^metrics=//p' "$tmp/ports-$n")
  [[ -n ${http[n]} && -n ${metrics[n]} ]] || fail "replica $n did not start"
}
declare -a http=() metrics=()
for n in $(seq 1 "$replicas"); do start_replica "$n"; done
# holder: the replica whose smsgw_dispatch_lease_held is 1 (waits up to 10 s
# for exactly one, skipping replica $1 when given).
holder() {
  local skip=${1:-0} found
  for _ in $(seq 100); do
    found=()
    for n in $(seq 1 "$replicas"); do
      [[ $n == "$skip" ]] && continue
      if curl -sf "http://${metrics[n]}/metrics" | grep -q '^smsgw_dispatch_lease_held 1'; then
        found+=("$n")
      fi
    done
    if [[ ${#found[@]} == 1 ]]; then echo "${found[0]}"; return; fi
    sleep 0.1
  done
  fail "expected one lease holder, found ${found[*]:-none}"
}
first=$(holder)
ok "$replicas replicas up on one database; replica $first holds the dispatch lease"

# --- 4. Sends on one replica, delivered, seen on another ---
rest() {  # rest <replica> <method> <path> [json]
  curl -sf -X "$2" "http://${http[$1]}$3" -H "Authorization: Bearer ${token:-}" \
    -H 'Content-Type: application/json' ${4:+-d "$4"}
}
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
a=$((first % replicas + 1))
b=$((a % replicas + 1))
token=$(rest "$a" POST /v1/auth:signUp '{"username": "compose", "password": "correct horse"}' | json '["accessToken"]')
# delivered <id> <replica>: waits up to 15 s for DELIVERED as <replica> sees it.
delivered() {
  for _ in $(seq 150); do
    if rest "$2" GET "/v1/messages/$1" | grep -q '"status":"MESSAGE_STATUS_DELIVERED"'; then return; fi
    sleep 0.1
  done
  fail "message $1 not delivered as replica $2 sees it: $(rest "$2" GET "/v1/messages/$1")"
}
id=$(rest "$b" POST /v1/messages '{"to": "+14155550100", "body": "hello from compose"}' | json '["message"]["id"]')
delivered "$id" "$first"
ok "signed up on replica $a, sent on replica $b, delivered as replica $first sees it"

kill -9 "${pids[first]}"
wait "${pids[first]}" 2>/dev/null || true
second=$(holder "$first")
start_replica "$first"  # restart: always
[[ $(holder) == "$second" ]] || fail "the restarted replica took the lease back"
id=$(rest "$first" POST /v1/messages '{"to": "+14155550101", "body": "after the takeover"}' | json '["message"]["id"]')
delivered "$id" "$a"
ok "replica $first killed and restarted: replica $second took the lease, a send on $first was delivered"

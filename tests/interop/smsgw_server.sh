# Sourced by the shell interop tests: start_smsgw <build dir> [flags...]
# starts one smsgw-server (temp database, loopback ephemeral ports, embedded
# Twilio simulator, no metrics listener), sets $tmp (its temp dir, removed at
# exit), $server_pid, $grpc and $http (host:port), and stops it by PID when
# the test exits. exec keeps the PID; a TWILIO_* account in the caller's
# environment must not turn a test into real sends.
start_smsgw() {
  local build=$1
  shift
  tmp=$(mktemp -d)
  server_pid=
  trap '[[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
  (
    for v in $(compgen -e | grep -E '^(TWILIO_|SMSGW_|JWT_)' || true); do unset "$v"; done
    exec "$build/smsgw-server" --db_path="$tmp/smsgw.db" --grpc_addr=127.0.0.1:0 \
      --http_addr=127.0.0.1:0 --metrics_addr= --simulator_port=0 \
      --port_file="$tmp/ports" "$@"
  ) 2>"$tmp/server.log" &
  server_pid=$!
  for _ in $(seq 100); do [[ -s $tmp/ports ]] && break; sleep 0.1; done
  grpc=$(sed -n 's/^grpc=//p' "$tmp/ports")
  http=$(sed -n 's/^http=//p' "$tmp/ports")
  [[ -n $grpc && -n $http ]] || { cat "$tmp/server.log"; exit 1; }
}

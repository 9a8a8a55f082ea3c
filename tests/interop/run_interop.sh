#!/usr/bin/env bash
# Runs the cross-language client suites against the real smsgw-server of a
# build: Python (Debian's python3-grpcio, stubs generated from protos/ at run
# time) and Node.js (@grpc/grpc-js + @grpc/proto-loader reading protos/).
# Each suite starts and stops its own servers (127.0.0.1, ephemeral ports,
# embedded Twilio simulator, temporary database): one plaintext, and one with
# SMSGW_TLS_CERT/SMSGW_TLS_KEY set to a self-signed certificate the suite makes
# with the openssl CLI. This script starts nothing.
# usage: run_interop.sh <build dir> [python] [node]   (default: both)
# Exit status: 0 when every suite passed; 1 otherwise; 2 when a prerequisite
# (smsgw-server, openssl, python3-grpcio, node_modules) is missing.
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: $0 <build dir> [python] [node]" >&2; exit 2; }
build=$(cd "$1" && pwd)
shift
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
suites=("$@")
[[ ${#suites[@]} -gt 0 ]] || suites=(python node)

[[ -x $build/smsgw-server ]] || { echo "no $build/smsgw-server: build it first" >&2; exit 2; }
command -v openssl >/dev/null || { echo "the TLS cases need the openssl CLI (apt-get install openssl)" >&2; exit 2; }

failed=0
for suite in "${suites[@]}"; do
  case $suite in
    python)
      # Debian's interpreter: a pyenv/venv python3 first on PATH lacks grpcio.
      if ! /usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null; then
        echo "python interop: needs python3-grpcio and python3-protobuf" \
             "(apt-get install python3-grpcio python3-protobuf protobuf-compiler-grpc)" >&2
        exit 2
      fi
      echo "== python interop"
      /usr/bin/python3 "$root/tests/interop/python/test_smsgw.py" "$build" || failed=1
      ;;
    node)
      node_dir="$root/tests/interop/node"
      if [[ ! -d $node_dir/node_modules/@grpc/grpc-js ]]; then
        echo "node interop: node_modules missing: run scripts/buf-lint.sh" \
             "(or npm ci in tests/interop/node) first" >&2
        exit 2
      fi
      echo "== node interop"
      (cd "$node_dir" && SMSGW_BUILD_DIR="$build" npm test --silent) || failed=1
      ;;
    *)
      echo "unknown suite '$suite' (python or node)" >&2
      exit 2
      ;;
  esac
done
exit "$failed"

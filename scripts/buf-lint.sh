#!/usr/bin/env bash
# Lints protos/ with buf (rules in protos/buf.yaml). buf comes from the npm
# registry as @bufbuild/buf (pinned in tests/interop/node/package-lock.json,
# with its platform binary @bufbuild/buf-linux-x64), so the node tools are
# installed first when missing or older than the lock file.
# Exit status: 0 and "buf lint: ok" when clean; non-zero with buf's findings
# (file:line:col: message) otherwise.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node_dir="${root}/tests/interop/node"
buf="${node_dir}/node_modules/.bin/buf"

if ! command -v npm >/dev/null 2>&1; then
  echo "buf-lint: npm not found; install Node.js and npm (Debian: apt-get install nodejs npm)" >&2
  exit 2
fi

# npm ci writes node_modules/.package-lock.json; comparing it with the lock
# file catches both a missing install and an updated lock.
stamp="${node_dir}/node_modules/.package-lock.json"
if [[ ! -x "${buf}" || ! -f "${stamp}" || "${node_dir}/package-lock.json" -nt "${stamp}" ]]; then
  echo "buf-lint: installing node tools (npm ci) in tests/interop/node" >&2
  (cd "${node_dir}" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi

cd "${root}/protos"
"${buf}" lint
echo "buf lint: ok"

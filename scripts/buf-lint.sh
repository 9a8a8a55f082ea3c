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

# The protos import google/api/annotations.proto (the REST routes), which is
# not in this module and which buf cannot fetch here: buf lints an image that
# protoc builds with the import path of Debian's grpc-gateway package, and
# only our files of it (--path), under protos/buf.yaml's rules.
googleapis=/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis
[[ -f ${googleapis}/google/api/annotations.proto ]] || {
  echo "buf-lint: ${googleapis} missing: run scripts/install-deps.sh" >&2
  exit 2
}
image=$(mktemp --suffix=.binpb)
trap 'rm -f "${image}"' EXIT
cd "${root}/protos"
protoc -I. -I"${googleapis}" --include_imports --include_source_info \
  -o "${image}" smsgw/v1/*.proto grpc/health/v1/health.proto
"${buf}" lint "${image}" --config buf.yaml --path smsgw --path grpc
echo "buf lint: ok"

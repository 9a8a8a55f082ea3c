#!/usr/bin/env bash
# Installs the Debian 12 packages smsgw needs to build, test and run.
# Calls apt-get only for packages that are missing, so a second run takes a second.
# Used by both README Quick start commands, by .ci/run and by the Dockerfile.
set -euo pipefail

BUILD_PKGS=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libsqlite3-dev libssl-dev libcurl4-openssl-dev libcpp-httplib-dev
  libphonenumber-dev nlohmann-json3-dev libsodium-dev libjwt-dev uuid-dev
  libpq-dev  # the PostgreSQL engine (storage/postgres/)
  # Quiet hours: the number -> time zone table is generated from
  # python3-phonenumbers at build time; tzdata is the zoneinfo Abseil reads.
  python3 python3-phonenumbers tzdata
  # The REST routes: google/api/annotations.proto (and google/rpc/status.proto)
  # from the grpc-gateway sources, and protoc-gen-swagger for the OpenAPI
  # document, both read by protoc at build time.
  golang-github-grpc-ecosystem-grpc-gateway-dev golang-grpc-gateway
  python3-protobuf  # scripts/strip_proto3_optional.py, for protoc-gen-swagger
)
TEST_PKGS=(
  googletest libgtest-dev libgmock-dev openssl
  postgresql-15  # throwaway test servers (tests/testing/postgres_server.h)
  python3 python3-grpcio python3-protobuf python3-requests
  python3-yaml  # tests/interop/compose_topology_test.sh reads docs/compose.yaml
  # Sanitizer builds and fuzzers (scripts/test.sh, scripts/fuzz.sh): clang,
  # its sanitizer and libFuzzer runtimes, llvm-symbolizer for readable stacks.
  clang libclang-rt-14-dev llvm
)
RUNTIME_PKGS=(
  libgrpc++1.51 libprotobuf32 libsqlite3-0 libcurl4 libphonenumber8 libsodium23
  libcpp-httplib0.11 libjwt0 libuuid1 libpq5 ca-certificates tzdata
)

usage() {
  echo "usage: $0 [build|test|runtime]..." >&2
  exit 2
}

want=()
[[ $# -eq 0 ]] && set -- build
for what in "$@"; do
  case "$what" in
    build) want+=("${BUILD_PKGS[@]}") ;;
    test) want+=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}") ;;
    runtime) want+=("${RUNTIME_PKGS[@]}") ;;
    *) usage ;;
  esac
done

missing=()
for pkg in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

# Node may come from Debian or from another build that bundles npm: ask for the commands.
if [[ " $* " == *" test "* ]] && ! { command -v node && command -v npm; } >/dev/null; then
  missing+=(nodejs npm)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

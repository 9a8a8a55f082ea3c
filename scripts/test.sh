#!/usr/bin/env bash
# README Quick start, command 2 (and CI's only step): installs what is missing,
# builds everything once, and runs every test: the C++ suites through ctest
# (unit, storage, real server on loopback ports, CLI end to end) and buf lint
# on the protos.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
BUILD_DIR=${BUILD_DIR:-build} SMSGW_BUILD_TESTS=ON scripts/build.sh

echo "== buf lint (protos/)"
scripts/buf-lint.sh

echo "== ctest"
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" --timeout 300

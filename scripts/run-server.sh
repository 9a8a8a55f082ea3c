#!/usr/bin/env bash
# README Quick start, command 1: installs what is missing, builds, and starts
# smsgw-server on the defaults of DESIGN.md §8 (gRPC 127.0.0.1:50051, webhooks
# 127.0.0.1:8080, database ./data/smsgw.db, the built-in Twilio simulator).
# Extra arguments go to smsgw-server (e.g. --grpc_addr=0.0.0.0:50051).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
SMSGW_BUILD_TESTS=OFF BUILD_DIR=${BUILD_DIR:-build} scripts/build.sh
exec "${BUILD_DIR:-build}/smsgw-server" "$@"

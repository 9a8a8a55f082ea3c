#!/bin/sh
# Long cluster harness: three smsgw-server replicas on one throwaway
# PostgreSQL 15, the replica holding the dispatch lease SIGKILLed KILLS times
# (default 20) under senders on every replica, against the stand-alone fake
# Twilio; prints the figures as JSON ({"lost":0,"duplicated":0,...}).
# Usage: bench/cluster_harness.sh BUILD_DIR [KILLS]
set -eu
build=${1:?usage: $0 BUILD_DIR [KILLS]}
kills=${2:-20}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
SMSGW_REQUIRE_PG=1 CLUSTER_KILLS=$kills CLUSTER_JSON=$out \
  "$build/app_tests" --gtest_filter='ClusterTest.ThreeReplicas*' >&2 || status=$?
cat "$out"
exit ${status:-0}

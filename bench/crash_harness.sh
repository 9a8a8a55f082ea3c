#!/bin/sh
# Long crash harness: 20 SIGKILLs of smsgw-server under concurrent senders,
# against the stand-alone fake Twilio; prints the figures as JSON
# ({"lost":0,"duplicated":0,...}). Usage: bench/crash_harness.sh BUILD_DIR [KILLS]
set -eu
build=${1:?usage: $0 BUILD_DIR [KILLS]}
kills=${2:-20}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
CRASH_HARNESS_KILLS=$kills CRASH_HARNESS_JSON=$out \
  "$build/app_tests" --gtest_filter='DurableDispatchCrashTest.*' >&2 || status=$?
cat "$out"
exit ${status:-0}

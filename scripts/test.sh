#!/usr/bin/env bash
# README Quick start, command 2 (and CI's only step): installs what is missing
# and runs every test, in four phases:
#   1. build (gcc) and ctest: unit, storage, real server on loopback ports,
#      CLI end to end, interop; buf lint on the protos;
#   2. the same whole ctest suite again under AddressSanitizer +
#      UndefinedBehaviorSanitizer (clang, build-asan), which also builds the
#      libFuzzer targets of tests/fuzz and fuzzes each for a few seconds
#      (ctest entries fuzz.<target>; SMSGW_FUZZ_SMOKE_SECONDS, default 5);
#   3. the suites with threads under ThreadSanitizer (clang, build-tsan):
#      TSAN_SUITES below, app_tests included (it drives a TSan-built server);
#   4. any sanitizer report fails the run, also one written by a server or
#      CLI process a test started and whose exit status nobody checks:
#      reports go to files under <build>/sanitizer-logs and are printed.
# Suppressions (third-party frames only, each with its reason) live in
# tests/sanitizers/. Phase timings are printed at the end.
#
# SMSGW_SANITIZERS=0 skips phases 2-4 for quick local iteration; it is
# ignored when CI is set, so CI always runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Binaries run under ThreadSanitizer: everything that starts threads (the
# executor, dispatcher, watch hub, SQLite readers, simulator and fake Twilio
# HTTP servers, REST client) and app_tests, whose TSan-built server runs
# gRPC, the executor, dispatcher, webhooks and watch streams concurrently.
# Left out: client_tests and e2e_tests (single-threaded CLI code; the server
# they start is the one app_tests covers).
# The PostgreSQL tests start their own throwaway server; install-deps.sh
# installs it, so here a missing server is a failure, never a skip.
export SMSGW_REQUIRE_PG=1

TSAN_SUITES=(common_tests domain_tests storage_tests postgres_tests dispatch_tests
             twilio_tests simulator_tests webhooks_tests app_tests)

# Tests that are about time, not memory or threads (a several-minute provider
# outage): run in the gcc build only.
LONG_TESTS='^OutageTest\.SendsAcceptedDuringAThreeMinuteOutage'

declare -a timings=()
phase_start=$SECONDS
phase_done() {
  timings+=("$(printf '%-28s %5d s' "$1" $((SECONDS - phase_start)))")
  phase_start=$SECONDS
}
print_timings() {
  echo "== timings"
  printf '  %s\n' "${timings[@]}"
  printf '  %-28s %5d s\n' "total" "$SECONDS"
}
trap print_timings EXIT

scripts/install-deps.sh test
phase_done "install-deps"

BUILD_DIR=${BUILD_DIR:-build} SMSGW_BUILD_TESTS=ON scripts/build.sh
phase_done "build (gcc)"

echo "== buf lint (protos/)"
scripts/buf-lint.sh
phase_done "buf lint"

echo "== ctest"
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j "$(nproc)" --timeout 300)
phase_done "ctest"

if [[ "${SMSGW_SANITIZERS:-1}" == 0 && -z "${CI:-}" ]]; then
  echo "== sanitizer builds skipped (SMSGW_SANITIZERS=0)"
  exit 0
fi

# Clang for both sanitizer trees: libFuzzer needs it, and it builds them
# faster than gcc. -O1 and line tables keep builds short and stacks exact.
san_cmake=(-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
           "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only"
           "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only")
supp=$root/tests/sanitizers

# The absolute path of build directory $1 (given relative to the repo or not).
abs_dir() { case $1 in /*) echo "$1" ;; *) echo "$root/$1" ;; esac; }

# Prints every report file under $1 and fails if there is one.
check_reports() {
  local logs=$1 found=0 f
  for f in "$logs"/*; do
    [[ -e "$f" ]] || continue
    found=1
    echo "---- sanitizer report $f" >&2
    cat "$f" >&2
  done
  if [[ $found == 1 ]]; then
    echo "test.sh: sanitizer reports above (in $logs)" >&2
    return 1
  fi
}

# --- AddressSanitizer + UndefinedBehaviorSanitizer, and the fuzz smoke runs
asan_dir=${ASAN_BUILD_DIR:-build-asan}
asan_logs=$(abs_dir "$asan_dir")/sanitizer-logs
rm -rf "$asan_logs" && mkdir -p "$asan_logs"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1:log_path=$asan_logs/asan"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp:log_path=$asan_logs/ubsan"
echo "== build ($asan_dir: clang, address,undefined, libFuzzer)"
BUILD_DIR=$asan_dir scripts/build.sh "${san_cmake[@]}" \
  -DSMSGW_SANITIZE=address,undefined -DSMSGW_FUZZ=ON \
  -DSMSGW_FUZZ_SMOKE_SECONDS="${SMSGW_FUZZ_SMOKE_SECONDS:-5}"
phase_done "build (asan+ubsan)"
echo "== ctest ($asan_dir: whole suite + fuzz smoke)"
rc=0
(cd "$asan_dir" && ctest --output-on-failure -j "$(nproc)" --timeout 600 \
   -E "$LONG_TESTS") || rc=$?
check_reports "$asan_logs" || rc=1
[[ $rc == 0 ]] || exit "$rc"
phase_done "ctest (asan+ubsan)"
unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS

# --- ThreadSanitizer
tsan_dir=${TSAN_BUILD_DIR:-build-tsan}
tsan_logs=$(abs_dir "$tsan_dir")/sanitizer-logs
rm -rf "$tsan_logs" && mkdir -p "$tsan_logs"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp:log_path=$tsan_logs/tsan"
echo "== build ($tsan_dir: clang, thread; ${TSAN_SUITES[*]})"
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}  # as scripts/build.sh
cmake -S . -B "$tsan_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSMSGW_BUILD_TESTS=ON "${san_cmake[@]}" -DSMSGW_SANITIZE=thread >/dev/null
cmake --build "$tsan_dir" -j "$(nproc)" --target "${TSAN_SUITES[@]}"
phase_done "build (tsan)"
echo "== ctest ($tsan_dir: ${TSAN_SUITES[*]})"
labels=$(IFS='|'; echo "${TSAN_SUITES[*]}")
rc=0
# DurableDispatchCrashTest kills and restarts servers dozens of times, and
# ClusterTest's kill test runs three servers through thousands of sends: both
# test durability, not threading (the dispatch lease's threads are covered by
# ClusterTest's lease test and PostgresServerTest); under TSan the crash
# harness outlasts its 300 s limit, and three TSan servers would be as slow.
(cd "$tsan_dir" && ctest --output-on-failure -j "$(nproc)" --timeout 900 \
   -L "^(${labels})\$" \
   -E "^DurableDispatchCrashTest\.|^ClusterTest\.ThreeReplicas|$LONG_TESTS") \
   || rc=$?
check_reports "$tsan_logs" || rc=1
[[ $rc == 0 ]] || exit "$rc"
phase_done "ctest (tsan)"
echo "== all tests passed, with and without sanitizers"

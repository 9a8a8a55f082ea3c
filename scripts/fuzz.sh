#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz for a set time each and prints the
# executions per target (a table, and JSON in <build>/fuzz-results.json).
#
# usage: scripts/fuzz.sh [seconds-per-target] [target...]
#   seconds: default 60; targets: names without the fuzz_ prefix
#   (form_encoding, rpc_messaging, ...), default all.
# env: FUZZ_BUILD_DIR (default build-asan, the ASan+UBSan tree test.sh
#      builds), FUZZ_PARALLEL (targets run at once, default 1),
#      FUZZ_RSS_MB (default 3072), FUZZ_ARGS (extra libFuzzer flags).
# New inputs go to <build>/tests/fuzz/corpus/<target>/ (kept between runs,
# never written into the source corpus); crashes to
# <build>/tests/fuzz/artifacts/<target>-crash-*. Exit status 1 if any target
# crashed. To keep a crash as a regression input, copy it to
# tests/fuzz/corpus/<target>/crash-<what> (every build replays the corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-60}
[[ $# -gt 0 ]] && shift
build=${FUZZ_BUILD_DIR:-build-asan}
parallel=${FUZZ_PARALLEL:-1}

if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  targets=()
  for f in tests/fuzz/*_fuzzer.cc; do
    f=${f##*/}
    targets+=("${f%_fuzzer.cc}")
  done
fi

export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
if [[ ! -f "$build/CMakeCache.txt" ]] || ! grep -q '^SMSGW_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
    -DSMSGW_SANITIZE=address,undefined -DSMSGW_FUZZ=ON >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

supp=$root/tests/sanitizers
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp"

out=$build/tests/fuzz
logs=$out/logs
mkdir -p "$logs" "$out/artifacts"

run_one() {
  local t=$1 work=$out/corpus/$1
  mkdir -p "$work"
  local rc=0 extra=""
  # rpc_*: a whole server; see tests/fuzz/CMakeLists.txt for why no
  # per-input leak check.
  [[ $t == rpc_* ]] && extra="-detect_leaks=0"
  # shellcheck disable=SC2086
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=25 \
    -rss_limit_mb="${FUZZ_RSS_MB:-3072}" -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$t-" $extra ${FUZZ_ARGS:-} \
    "$work" "tests/fuzz/corpus/$t" >"$logs/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$logs/$t.rc"
}

running=0
for t in "${targets[@]}"; do
  echo "fuzz.sh: $t for ${seconds}s (log $logs/$t.log)" >&2
  run_one "$t" &
  running=$((running + 1))
  if [[ $running -ge $parallel ]]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

stat() {  # stat <log> <name>: the last value libFuzzer printed for stat::<name>
  grep -a "^stat::$2:" "$1" | tail -1 | awk '{print $2}'
}
failed=0
json="["
printf '%-18s %14s %10s %8s %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
  log=$logs/$t.log
  rc=$(cat "$logs/$t.rc")
  execs=$(stat "$log" number_of_executed_units)
  if [[ -z "$execs" ]]; then  # killed before the final stats: last status line
    execs=$(grep -aoE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  fi
  rate=$(stat "$log" average_exec_per_sec)
  corpus=$(find "$out/corpus/$t" -type f | wc -l)
  result=ok
  if [[ $rc != 0 ]]; then
    result="CRASH (exit $rc): $(grep -aoE 'Test unit written to \S+' "$log" | tail -1 | cut -d' ' -f5)"
    failed=1
  fi
  printf '%-18s %14s %10s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "$result"
  json+=$(printf '%s{"target":"%s","seconds":%s,"executions":%s,"exec_per_sec":%s,"corpus":%s,"exit":%s}' \
    "$([[ $json == "[" ]] || echo ,)" "$t" "$seconds" "${execs:-null}" "${rate:-null}" "$corpus" "$rc")
done
json+="]"
echo "$json" >"$build/fuzz-results.json"
echo "fuzz.sh: results in $build/fuzz-results.json" >&2
exit "$failed"

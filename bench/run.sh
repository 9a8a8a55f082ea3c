#!/bin/sh
# Runs smsgw-bench REPEATS times (default 3) and prints a table of the medians
# per scenario, then one JSON document {"medians": ..., "runs": [...]}.
# Usage: bench/run.sh BUILD_DIR [smsgw-bench flags...]
#   env REPEATS=N to change the number of repeats.
set -eu
build=${1:?usage: $0 BUILD_DIR [smsgw-bench flags...]}
shift
repeats=${REPEATS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=1
while [ "$i" -le "$repeats" ]; do
  echo "run.sh: run $i of $repeats" >&2
  "$build/bench/smsgw-bench" "$@" > "$tmp/run$i.json"
  i=$((i + 1))
done
python3 - "$tmp" "$repeats" <<'PY'
import json, statistics, sys
d, n = sys.argv[1], int(sys.argv[2])
runs = [json.load(open(f"{d}/run{i}.json")) for i in range(1, n + 1)]
names = [s["scenario"] for s in runs[0]["scenarios"]]
def pick(s, key):
    if key.startswith("latency_us."):
        return s["latency_us"][key.split(".", 1)[1]]
    return s.get(key)
keys = ["qps", "ratio_to_noop", "latency_us.p50", "latency_us.p90",
        "latency_us.p99", "latency_us.p99.9", "client_cpu_cores",
        "server_cpu_cores", "server_peak_rss_kb"]
medians = {}
for name in names:
    per = [next(s for s in r["scenarios"] if s["scenario"] == name) for r in runs]
    m = {}
    for k in keys:
        vals = [pick(s, k) for s in per if pick(s, k) is not None]
        if vals:
            m[k] = statistics.median(vals)
    m["errors"] = sum(sum(s["errors"].values()) for s in per)
    medians[name] = m
m0 = runs[0]["machine"]
c0 = runs[0]["config"]
print(f"# {n} runs, medians; machine: {m0['nproc']} cores, {m0['cpu_model']}; "
      f"concurrency {c0['concurrency']} over {c0['channels']} channels, "
      f"{c0['warmup_s']} s warm-up, {c0['duration_s']} s window")
hdr = ["scenario", "QPS", "ratio_to_noop", "p50 µs", "p90 µs", "p99 µs",
       "p99.9 µs", "client cores", "server cores", "server RSS peak MB", "errors"]
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * len(hdr))
def f(v, fmt):
    return "-" if v is None else format(v, fmt)
for name in names:
    m = medians[name]
    rss = m.get("server_peak_rss_kb")
    print("| " + " | ".join([
        name, f(m.get("qps"), ".0f"), f(m.get("ratio_to_noop"), ".3f"),
        f(m.get("latency_us.p50"), ".0f"), f(m.get("latency_us.p90"), ".0f"),
        f(m.get("latency_us.p99"), ".0f"), f(m.get("latency_us.p99.9"), ".0f"),
        f(m.get("client_cpu_cores"), ".2f"), f(m.get("server_cpu_cores"), ".2f"),
        f(None if rss is None else rss / 1024, ".1f"), str(m["errors"])]) + " |")
print(json.dumps({"medians": medians, "runs": runs}, indent=1))
PY

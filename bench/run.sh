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
  # A scenario that could not run makes smsgw-bench exit 1; the others'
  # figures are still in its JSON.
  "$build/bench/smsgw-bench" "$@" > "$tmp/run$i.json" ||
    echo "run.sh: run $i exited with status $?" >&2
  i=$((i + 1))
done
python3 - "$tmp" "$repeats" <<'PY'
import json, statistics, sys
d, n = sys.argv[1], int(sys.argv[2])
runs = [json.load(open(f"{d}/run{i}.json")) for i in range(1, n + 1)]
names = []
for r in runs:
    for s in r["scenarios"]:
        if s["scenario"] not in names:
            names.append(s["scenario"])
def pick(s, path):
    for k in path:
        if not isinstance(s, dict) or k not in s:
            return None
        s = s[k]
    return s if isinstance(s, (int, float)) and not isinstance(s, bool) else None
# Figures whose median is reported: (label, path in a scenario's JSON).
keys = [("qps", ["qps"]), ("ratio_to_noop", ["ratio_to_noop"]),
        ("p50", ["latency_us", "p50"]), ("p90", ["latency_us", "p90"]),
        ("p99", ["latency_us", "p99"]), ("p99.9", ["latency_us", "p99.9"]),
        ("client_cpu_cores", ["client_cpu_cores"]),
        ("server_cpu_cores", ["server_cpu_cores"]),
        ("server_peak_rss_kb", ["server_peak_rss_kb"]),
        ("ratio_to_send_message", ["ratio_to_send_message"]),
        ("ratio_to_http_hello", ["ratio_to_http_hello"]),
        ("avg_messages_per_page", ["avg_messages_per_page"]),
        ("unloaded_p50_us", ["unloaded", "latency_us", "p50"]),
        ("unloaded_p99_us", ["unloaded", "latency_us", "p99"]),
        ("event_p50_us", ["event_latency_us", "p50"]),
        ("event_p99_us", ["event_latency_us", "p99"]),
        ("event_p99.9_us", ["event_latency_us", "p99.9"]),
        ("events_per_s", ["events_per_s"]),
        ("server_rss_streams_open_kb", ["server_rss_streams_open_kb"]),
        ("fanout_all_ms", ["all_handed_to_twilio_ms", "median"]),
        ("fanout_all_max_ms", ["all_handed_to_twilio_ms", "max"]),
        ("fanout_call_return_ms", ["call_return_ms", "median"]),
        ("fanout_deliveries", ["deliveries_per_post"]),
        ("callbacks_per_s", ["status_callbacks_per_s"])]
medians = {}
for name in names:
    per = [s for r in runs for s in r["scenarios"] if s["scenario"] == name]
    m = {"runs": len(per)}
    for label, path in keys:
        vals = [pick(s, path) for s in per if pick(s, path) is not None]
        if vals:
            m[label] = statistics.median(vals)
    m["errors"] = sum(sum(v for v in s.get("errors", {}).values()
                          if isinstance(v, (int, float))) for s in per)
    medians[name] = m
m0 = runs[0]["machine"]
c0 = runs[0]["config"]
print(f"# {n} runs, medians; machine: {m0['nproc']} cores, {m0['cpu_model']}; "
      f"concurrency {c0['concurrency']} over {c0['channels']} channels, "
      f"{c0['warmup_s']} s warm-up, {c0['duration_s']} s window")
hdr = ["scenario", "QPS", "ratio_to_noop", "p50 µs", "p90 µs", "p99 µs",
       "p99.9 µs", "client cores", "server cores", "server RSS peak MB",
       "errors", "other (medians)"]
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * len(hdr))
def f(v, fmt):
    return "-" if v is None else format(v, fmt)
for name in names:
    m = medians[name]
    rss = m.get("server_peak_rss_kb")
    other = []
    if "ratio_to_send_message" in m:
        other.append(f"ratio_to_send_message {m['ratio_to_send_message']:.3f}")
    if "ratio_to_http_hello" in m and name != "http_hello":
        other.append(f"ratio_to_http_hello {m['ratio_to_http_hello']:.3f}")
    if "avg_messages_per_page" in m:
        other.append(f"{m['avg_messages_per_page']:.1f} msgs/page")
    if "unloaded_p99_us" in m:
        other.append(f"1 in flight: p50 {m['unloaded_p50_us']/1000:.2f} ms,"
                     f" p99 {m['unloaded_p99_us']/1000:.2f} ms")
    if "event_p99_us" in m:
        other.append(f"event latency p50/p99/p99.9 {m['event_p50_us']/1000:.1f}/"
                     f"{m['event_p99_us']/1000:.1f}/{m['event_p99.9_us']/1000:.1f} ms"
                     f" ({m.get('events_per_s', 0):.0f} events/s)")
    if "callbacks_per_s" in m:
        other.append(f"status callbacks {m['callbacks_per_s']:.0f}/s")
    if "server_rss_streams_open_kb" in m:
        other.append(f"RSS with streams open {m['server_rss_streams_open_kb']/1024:.0f} MB")
    if "fanout_all_ms" in m:
        other.append(f"{m.get('fanout_deliveries', 0):.0f} deliveries all handed to "
                     f"Twilio {m['fanout_all_ms']:.0f} ms (max {m['fanout_all_max_ms']:.0f})"
                     f", call returned {m['fanout_call_return_ms']:.0f} ms")
    print("| " + " | ".join([
        name, f(m.get("qps"), ".0f"), f(m.get("ratio_to_noop"), ".3f"),
        f(m.get("p50"), ".0f"), f(m.get("p90"), ".0f"),
        f(m.get("p99"), ".0f"), f(m.get("p99.9"), ".0f"),
        f(m.get("client_cpu_cores"), ".2f"), f(m.get("server_cpu_cores"), ".2f"),
        f(None if rss is None else rss / 1024, ".1f"), f"{m['errors']:.0f}",
        "; ".join(other)]) + " |")
# Issue 14's targets, each from the medians above (a ratio from the same
# runs, never a timed test): (target, scenario, figure, wanted, comparison).
targets = [
    ("1. default: 0 errors at 64 in flight", "send_message_default",
     "errors", 0, "=="),
    ("1. default: >= 0.10 of no-op at 64 in flight", "send_message_default",
     "ratio_to_noop", 0.10, ">="),
    ("1. default: p50 < 5 ms at 1 in flight", "send_message_default",
     "unloaded_p50_us", 5000, "<"),
    ("2. send_message: >= 0.26 of no-op", "send_message",
     "ratio_to_noop", 0.26, ">="),
    ("2. send_message: p99 < 20 ms", "send_message", "p99", 20000, "<"),
    ("3. send_message_slow: >= 0.8 of send_message", "send_message_slow",
     "ratio_to_send_message", 0.8, ">="),
    ("4. get_message: >= 0.5 of no-op", "get_message", "ratio_to_noop", 0.5,
     ">="),
    ("4. list_messages_1m: p99 < 5 ms at 1 in flight", "list_messages_1m",
     "unloaded_p99_us", 5000, "<"),
    ("4. list_messages_search_1m: p99 < 10 ms at 1 in flight",
     "list_messages_search_1m", "unloaded_p99_us", 10000, "<"),
    ("4. list_messages_search_1m: >= 0.03 of no-op at 64",
     "list_messages_search_1m", "ratio_to_noop", 0.03, ">="),
    ("5. webhook_status: >= 0.3 of http_hello", "webhook_status",
     "ratio_to_http_hello", 0.3, ">="),
    ("6. RSS < 200 MB, 1 M messages, 1000 streams", "watch_streams",
     "server_peak_rss_kb", 200 * 1024, "<"),
]
compare = {"==": lambda a, b: a == b, ">=": lambda a, b: a >= b,
           "<": lambda a, b: a < b}
target_rows = []
print()
print("| target (issue 14) | measured | met |")
print("|---|---|---|")
for label, scenario, key, wanted, op in targets:
    value = medians.get(scenario, {}).get(key)
    met = None if value is None else compare[op](value, wanted)
    target_rows.append({"target": label, "scenario": scenario, "figure": key,
                        "measured": value, "wanted": f"{op} {wanted}",
                        "met": met})
    if value is None:
        shown = "not run"
    elif key.endswith("_us") or key == "p99":
        shown = f"{value / 1000:.2f} ms"
    elif key.endswith("_kb"):
        shown = f"{value / 1024:.0f} MB"
    elif key == "errors":
        shown = f"{value:.0f}"
    else:
        shown = f"{value:.3f}"
    print(f"| {label} | {shown} | "
          f"{'-' if met is None else ('yes' if met else 'no')} |")
print(json.dumps({"medians": medians, "targets": target_rows, "runs": runs},
                 indent=1))
PY

// File: load_generator.h
//
// A closed-loop gRPC load generator on the callback client API: `concurrency`
// calls are kept in flight, spread round-robin over `channels` channels (each
// with its own TCP connection); as soon as a call completes the next one is
// started in its slot. Calls completing during the warm-up are not counted;
// the measurement window is the `duration` that follows it.
#ifndef SMSGW_BENCH_LOAD_GENERATOR_H_
#define SMSGW_BENCH_LOAD_GENERATOR_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"

namespace smsgw::bench {

// Shape of one closed-loop run.
struct LoadOptions {
  int concurrency = 64;        // calls in flight
  int channels = 4;            // distinct channels (connections)
  double warmup_s = 2.0;       // seconds excluded before the window
  double duration_s = 10.0;    // seconds of the measurement window
  double call_timeout_s = 30;  // per-call deadline
  // Metadata added to every call, e.g. {"authorization", "Bearer ..."}.
  std::vector<std::pair<std::string, std::string>> metadata;
  pid_t server_pid = -1;  // when > 0: server CPU and peak RSS are sampled
  // When set, called before each call with the call's sequence number (the
  // one `fill` gets) to add per-call metadata, e.g. one user's token.
  std::function<void(uint64_t, grpc::ClientContext&)> decorate;
};

// Figures of one run (window only). Latencies in microseconds.
struct LoadResult {
  uint64_t calls = 0;             // completions in the window, any status
  uint64_t ok = 0;                // of which OK
  std::array<uint64_t, 17> errors_by_code{};  // grpc::StatusCode -> count
  std::string first_error;        // message of the first non-OK call seen
  // Errors outside gRPC codes (HTTP statuses, transport errors), by name.
  std::map<std::string, uint64_t> named_errors;
  double qps = 0;                 // ok / duration
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
  double client_cpu_s = 0;        // user+sys of this process in the window
  double server_cpu_s = -1;       // user+sys of server_pid in the window
  long server_peak_rss_kb = -1;   // VmHWM of server_pid after the run
  double duration_s = 0;
};

// Channels to `target`, none sharing a subchannel with another.
std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(
    const std::string& target, int count);

// Results of closed loops that ran at the same time against different
// servers (the replicas of one cluster) as one: calls, OK calls, QPS, errors
// and server CPU are summed; latency percentiles, client CPU, peak RSS and
// duration are the largest of the runs (the worst replica's latency).
LoadResult CombineConcurrentRuns(const std::vector<LoadResult>& runs);

// Process CPU (user+sys) in seconds: getrusage for self, /proc/<pid>/stat
// for another process (-1 when unreadable).
double SelfCpuSeconds();
double ProcessCpuSeconds(pid_t pid);
// VmHWM (peak resident set) of `pid` in kB from /proc/<pid>/status; -1 when
// unreadable. ResetPeakRss writes 5 to /proc/<pid>/clear_refs so the next
// reading covers only what follows (Linux >= 4.0).
long PeakRssKb(pid_t pid);
void ResetPeakRss(pid_t pid);

// Sleeps until `window_start`, then until `window_end`, and sets the
// window's client CPU seconds, and (when server_pid > 0) the server's CPU
// seconds and peak RSS, in `result`: the measurement common to every load.
void MeasureWindow(pid_t server_pid,
                   std::chrono::steady_clock::time_point window_start,
                   std::chrono::steady_clock::time_point window_end,
                   LoadResult& result);

// Percentiles and counters; latencies_us is sorted in place.
void Summarise(std::vector<double>& latencies_us, LoadResult& result);

// {"calls":..,"qps":..,"latency_us":{"p50":..},"errors":{"UNAVAILABLE":n},..}
nlohmann::json ToJson(const LoadResult& result);

// Runs the closed loop. `start(stub, ctx, req, resp, done)` starts one call
// with the callback API; `fill(seq, req)` prepares the request of call number
// `seq` (unique across slots); `observe(resp)` sees every OK response (from
// gRPC's threads, concurrently).
template <typename Stub, typename Req, typename Resp>
LoadResult RunClosedLoop(
    const LoadOptions& options, const std::vector<std::unique_ptr<Stub>>& stubs,
    std::function<void(Stub*, grpc::ClientContext*, const Req*, Resp*,
                       std::function<void(grpc::Status)>)>
        start,
    std::function<void(uint64_t, Req&)> fill,
    std::function<void(const Resp&)> observe = nullptr) {
  using Clock = std::chrono::steady_clock;
  struct Slot {
    Stub* stub = nullptr;
    std::unique_ptr<grpc::ClientContext> ctx;
    Req req;
    Resp resp;
    Clock::time_point started;
    std::vector<double> latencies_us;
    std::array<uint64_t, 17> codes{};
    std::string first_error;
  };
  const Clock::time_point t0 = Clock::now();
  const auto to_dur = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(s));
  };
  const Clock::time_point window_start = t0 + to_dur(options.warmup_s);
  const Clock::time_point window_end = window_start + to_dur(options.duration_s);

  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < options.concurrency; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->stub = stubs[i % stubs.size()].get();
    slot->latencies_us.reserve(
        std::max(1024, (1 << 22) / std::max(1, options.concurrency)));
    slots.push_back(std::move(slot));
  }
  std::atomic<uint64_t> seq{0};
  absl::Mutex mu;
  int in_flight = 0;  // slots whose loop has not ended, guarded by mu

  std::function<void(Slot*)> issue = [&](Slot* slot) {
    slot->ctx = std::make_unique<grpc::ClientContext>();
    slot->ctx->set_deadline(std::chrono::system_clock::now() +
                            std::chrono::milliseconds(static_cast<int64_t>(
                                options.call_timeout_s * 1000)));
    for (const auto& [key, value] : options.metadata) {
      slot->ctx->AddMetadata(key, value);
    }
    slot->req.Clear();
    slot->resp.Clear();
    const uint64_t call_seq = seq.fetch_add(1, std::memory_order_relaxed);
    if (options.decorate) options.decorate(call_seq, *slot->ctx);
    fill(call_seq, slot->req);
    slot->started = Clock::now();
    start(slot->stub, slot->ctx.get(), &slot->req, &slot->resp,
          [&, slot](grpc::Status status) {
            const Clock::time_point done = Clock::now();
            if (done >= window_start && done < window_end) {
              const int code = static_cast<int>(status.error_code());
              slot->codes[code < 17 ? code : 2]++;
              if (status.ok()) {
                slot->latencies_us.push_back(
                    std::chrono::duration<double, std::micro>(done -
                                                              slot->started)
                        .count());
              }
            }
            if (!status.ok() && slot->first_error.empty()) {
              slot->first_error = status.error_message();
            }
            if (status.ok() && observe) observe(slot->resp);
            if (done < window_end) {
              issue(slot);
            } else {
              absl::MutexLock lock(&mu);
              --in_flight;
            }
          });
  };

  {
    absl::MutexLock lock(&mu);
    in_flight = options.concurrency;
  }
  for (auto& slot : slots) issue(slot.get());

  LoadResult result;
  MeasureWindow(options.server_pid, window_start, window_end, result);
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &in_flight));
  }
  result.duration_s = options.duration_s;
  std::vector<double> all;
  for (auto& slot : slots) {
    all.insert(all.end(), slot->latencies_us.begin(),
               slot->latencies_us.end());
    for (int c = 0; c < 17; ++c) {
      result.calls += slot->codes[c];
      if (c != 0) result.errors_by_code[c] += slot->codes[c];
    }
    result.ok += slot->codes[0];
    if (result.first_error.empty()) result.first_error = slot->first_error;
  }
  Summarise(all, result);
  return result;
}

}  // namespace smsgw::bench

#endif  // SMSGW_BENCH_LOAD_GENERATOR_H_

#include "bench/load_generator.h"

#include <thread>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace smsgw::bench {

std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(
    const std::string& target, int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    // A per-channel pool and a distinct argument: one connection each.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("smsgw.bench.channel", i);
    channels.push_back(grpc::CreateCustomChannel(
        target, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto sec = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return sec(usage.ru_utime) + sec(usage.ru_stime);
}

double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  // Fields after the parenthesised command name; utime and stime are the
  // 14th and 15th fields of the whole line (proc(5)).
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::vector<std::string> fields =
      absl::StrSplit(text.substr(close + 2), ' ', absl::SkipEmpty());
  if (fields.size() < 13) return -1;
  double utime = 0, stime = 0;
  if (!absl::SimpleAtod(fields[11], &utime) ||
      !absl::SimpleAtod(fields[12], &stime)) {
    return -1;
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long PeakRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "VmHWM:")) {
      std::string digits;
      for (char c : line) {
        if (c >= '0' && c <= '9') digits += c;
      }
      long kb = -1;
      return absl::SimpleAtoi(digits, &kb) ? kb : -1;
    }
  }
  return -1;
}

void MeasureWindow(pid_t server_pid,
                   std::chrono::steady_clock::time_point window_start,
                   std::chrono::steady_clock::time_point window_end,
                   LoadResult& result) {
  std::this_thread::sleep_until(window_start);
  const double client_cpu0 = SelfCpuSeconds();
  double server_cpu0 = 0;
  if (server_pid > 0) {
    server_cpu0 = ProcessCpuSeconds(server_pid);
    ResetPeakRss(server_pid);
  }
  std::this_thread::sleep_until(window_end);
  result.client_cpu_s = SelfCpuSeconds() - client_cpu0;
  if (server_pid > 0) {
    result.server_cpu_s = ProcessCpuSeconds(server_pid) - server_cpu0;
    result.server_peak_rss_kb = PeakRssKb(server_pid);
  }
}

void ResetPeakRss(pid_t pid) {
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";
}

void Summarise(std::vector<double>& latencies_us, LoadResult& result) {
  result.qps = result.duration_s > 0 ? result.ok / result.duration_s : 0;
  if (latencies_us.empty()) return;
  std::sort(latencies_us.begin(), latencies_us.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * latencies_us.size()));
    if (i > 0) --i;
    return latencies_us[std::min(i, latencies_us.size() - 1)];
  };
  result.p50_us = at(0.50);
  result.p90_us = at(0.90);
  result.p99_us = at(0.99);
  result.p999_us = at(0.999);
  result.max_us = latencies_us.back();
}

namespace {
const char* CodeName(int code) {
  static const char* const kNames[] = {
      "OK",          "CANCELLED",         "UNKNOWN",
      "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE",
      "DATA_LOSS", "UNAUTHENTICATED"};
  return code >= 0 && code < 17 ? kNames[code] : "UNKNOWN";
}
double Round1(double v) { return std::round(v * 10) / 10; }
}  // namespace

nlohmann::json ToJson(const LoadResult& r) {
  nlohmann::json errors = nlohmann::json::object();
  for (int c = 1; c < 17; ++c) {
    if (r.errors_by_code[c] > 0) errors[CodeName(c)] = r.errors_by_code[c];
  }
  for (const auto& [name, count] : r.named_errors) errors[name] = count;
  nlohmann::json out = {
      {"calls", r.calls},
      {"ok", r.ok},
      {"errors", errors},
      {"qps", Round1(r.qps)},
      {"latency_us",
       {{"p50", Round1(r.p50_us)},
        {"p90", Round1(r.p90_us)},
        {"p99", Round1(r.p99_us)},
        {"p99.9", Round1(r.p999_us)},
        {"max", Round1(r.max_us)}}},
      {"duration_s", r.duration_s},
      {"client_cpu_s", Round1(r.client_cpu_s * 100) / 100},
      {"client_cpu_cores", Round1(r.client_cpu_s / r.duration_s * 100) / 100},
  };
  if (r.server_cpu_s >= 0) {
    out["server_cpu_s"] = Round1(r.server_cpu_s * 100) / 100;
    out["server_cpu_cores"] =
        Round1(r.server_cpu_s / r.duration_s * 100) / 100;
  }
  if (r.server_peak_rss_kb >= 0) out["server_peak_rss_kb"] = r.server_peak_rss_kb;
  if (!r.first_error.empty()) out["first_error"] = r.first_error;
  return out;
}

LoadResult CombineConcurrentRuns(const std::vector<LoadResult>& runs) {
  LoadResult sum;
  for (const LoadResult& r : runs) {
    sum.calls += r.calls;
    sum.ok += r.ok;
    sum.qps += r.qps;
    for (size_t c = 0; c < r.errors_by_code.size(); ++c) {
      sum.errors_by_code[c] += r.errors_by_code[c];
    }
    for (const auto& [error, count] : r.named_errors) {
      sum.named_errors[error] += count;
    }
    if (sum.first_error.empty()) sum.first_error = r.first_error;
    sum.p50_us = std::max(sum.p50_us, r.p50_us);
    sum.p90_us = std::max(sum.p90_us, r.p90_us);
    sum.p99_us = std::max(sum.p99_us, r.p99_us);
    sum.p999_us = std::max(sum.p999_us, r.p999_us);
    sum.max_us = std::max(sum.max_us, r.max_us);
    sum.client_cpu_s = std::max(sum.client_cpu_s, r.client_cpu_s);
    if (r.server_cpu_s >= 0) {
      sum.server_cpu_s = std::max(sum.server_cpu_s, 0.0) + r.server_cpu_s;
    }
    sum.server_peak_rss_kb =
        std::max(sum.server_peak_rss_kb, r.server_peak_rss_kb);
    sum.duration_s = std::max(sum.duration_s, r.duration_s);
  }
  return sum;
}

}  // namespace smsgw::bench

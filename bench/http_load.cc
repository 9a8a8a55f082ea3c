#include "bench/http_load.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/serve_modes.h"

namespace smsgw::bench {

LoadResult RunHttpClosedLoop(
    const HttpLoadOptions& options,
    const std::function<void(uint64_t, HttpRequest&)>& fill) {
  using Clock = std::chrono::steady_clock;
  const auto to_dur = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(s));
  };
  const Clock::time_point t0 = Clock::now();
  const Clock::time_point window_start = t0 + to_dur(options.warmup_s);
  const Clock::time_point window_end = window_start + to_dur(options.duration_s);

  struct Worker {
    std::vector<double> latencies_us;
    uint64_t calls = 0, ok = 0;
    std::map<std::string, uint64_t> errors;
    std::string first_error;
  };
  std::vector<Worker> workers(options.connections);
  std::atomic<uint64_t> seq{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < options.connections; ++w) {
    threads.emplace_back([&, w] {
      Worker& me = workers[w];
      me.latencies_us.reserve(1 << 16);
      httplib::Client client(options.host, options.port);
      client.set_keep_alive(true);
      // Without it the client's separate header and body writes meet
      // Nagle's algorithm and the server's delayed ACK: ~40 ms per request.
      client.set_tcp_nodelay(true);
      client.set_connection_timeout(std::chrono::seconds(10));
      client.set_read_timeout(std::chrono::seconds(30));
      HttpRequest request;
      while (true) {
        request.body.clear();
        request.headers.clear();
        fill(seq.fetch_add(1, std::memory_order_relaxed), request);
        httplib::Headers headers;
        for (const auto& [k, v] : request.headers) headers.emplace(k, v);
        const Clock::time_point started = Clock::now();
        httplib::Result res =
            client.Post(options.path.c_str(), headers, request.body,
                        options.content_type.c_str());
        const Clock::time_point done = Clock::now();
        std::string error;
        if (!res) {
          error = absl::StrCat("transport ", httplib::to_string(res.error()));
        } else if (res->status < 200 || res->status > 299) {
          error = absl::StrCat("HTTP ", res->status);
        }
        if (done >= window_start && done < window_end) {
          ++me.calls;
          if (error.empty()) {
            ++me.ok;
            me.latencies_us.push_back(
                std::chrono::duration<double, std::micro>(done - started)
                    .count());
          } else {
            me.errors[error]++;
          }
        }
        if (!error.empty() && me.first_error.empty()) {
          me.first_error = res ? absl::StrCat(error, ": ", res->body) : error;
        }
        if (done >= window_end) break;
      }
    });
  }
  LoadResult result;
  MeasureWindow(options.server_pid, window_start, window_end, result);
  for (std::thread& t : threads) t.join();
  result.duration_s = options.duration_s;
  std::vector<double> all;
  for (Worker& w : workers) {
    all.insert(all.end(), w.latencies_us.begin(), w.latencies_us.end());
    result.calls += w.calls;
    result.ok += w.ok;
    for (const auto& [k, n] : w.errors) result.named_errors[k] += n;
    if (result.first_error.empty()) result.first_error = w.first_error;
  }
  Summarise(all, result);
  return result;
}

int RunHttpHello(const std::string& port_file, const std::string& path) {
  httplib::Server server;
  // The ceiling of the library: with its default (Nagle on), a keep-alive
  // client waits ~40 ms per answer for the delayed ACK of the header write.
  server.set_tcp_nodelay(true);
  server.Post(path, [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) return 1;
  WritePortFile(port_file, port);
  return server.listen_after_bind() ? 0 : 1;
}

}  // namespace smsgw::bench

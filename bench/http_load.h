// File: http_load.h
//
// The closed-loop HTTP load generator of the webhook scenarios: `connections`
// threads, each with its own cpp-httplib client on a keep-alive connection
// (re-opened by the client when the server closes it), each keeping one POST
// in flight. Same window rules as RunClosedLoop (load_generator.h): calls
// completing during the warm-up are not counted. A call counts as OK when the
// answer is 2xx; others are counted by HTTP status ("HTTP 403") or transport
// error ("transport Read") in LoadResult::named_errors.
#ifndef SMSGW_BENCH_HTTP_LOAD_H_
#define SMSGW_BENCH_HTTP_LOAD_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "bench/load_generator.h"

namespace smsgw::bench {

struct HttpLoadOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path;      // e.g. "/twilio/sms/status"
  std::string content_type = "application/x-www-form-urlencoded";
  int connections = 16;  // requests in flight, one per connection
  double warmup_s = 2.0;
  double duration_s = 10.0;
  pid_t server_pid = -1;  // when > 0: server CPU and peak RSS are sampled
};

// One request: `body` (of HttpLoadOptions::content_type) and extra headers
// (e.g. X-Twilio-Signature, Authorization).
struct HttpRequest {
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Runs the closed loop; `fill(seq, request)` prepares call number `seq`
// (unique across connections; called concurrently from the client threads).
LoadResult RunHttpClosedLoop(
    const HttpLoadOptions& options,
    const std::function<void(uint64_t, HttpRequest&)>& fill);

// The "http_hello" baseline child: a cpp-httplib server with library
// defaults and one handler (POST `path`) answering 200 "ok". Returns the
// process exit code (1 when it cannot listen).
int RunHttpHello(const std::string& port_file, const std::string& path);

}  // namespace smsgw::bench

#endif  // SMSGW_BENCH_HTTP_LOAD_H_

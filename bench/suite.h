// File: suite.h
//
// What the scenarios of one smsgw-bench invocation share: paths, the
// same-run baselines' rates (for the ratios) and the JSON results.
#ifndef SMSGW_BENCH_SUITE_H_
#define SMSGW_BENCH_SUITE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/child_process.h"
#include "bench/http_load.h"
#include "bench/load_generator.h"
#include "nlohmann/json.hpp"
#include "smsgw/v1/messaging.grpc.pb.h"

namespace smsgw::bench {

struct Suite {
  std::string self;        // this executable (child modes re-exec it)
  std::string server_bin;  // smsgw-server
  std::string dir;         // temp dir of this invocation (DBs, logs)
  std::string data_dir;    // cache of generated databases
  std::string account_sid;
  std::vector<std::string> scenarios;  // canonical names, in order asked
  // Same-run rates (OK calls per second), 0 when not measured.
  double noop_qps = 0;
  double send_qps = 0;
  double pg_send_qps = 0;  // send_message_pg: one replica on PostgreSQL
  double http_hello_qps = 0;
  double pg_webhook_qps = 0;  // webhook_status_pg (1 replica)
  double pg_watch_events_per_s = 0;  // watch_streams_pg (1 replica)
  nlohmann::json results = nlohmann::json::array();

  bool Wants(const std::string& name) const;
  // Records one scenario: ToJson(r) + {"scenario": name} + ratio_to_noop
  // (when `grpc` and the no-op ran) + `extra`; logs it to stderr.
  void Add(const std::string& name, const LoadResult& r, nlohmann::json extra,
           bool grpc = true);
  // Records a scenario that is not a closed loop (no QPS): name + `fields`.
  void AddRaw(const std::string& name, nlohmann::json fields);
};

// The closed-loop shape from the command line (--concurrency, --channels,
// --warmup_s, --duration_s).
LoadOptions BaseOptions();

// One stub per channel of MakeChannels(target, channels), each connected.
template <typename Service>
std::vector<std::unique_ptr<typename Service::Stub>> Stubs(
    const std::string& target, int channels) {
  std::vector<std::unique_ptr<typename Service::Stub>> stubs;
  for (auto& channel : MakeChannels(target, channels)) {
    channel->WaitForConnected(std::chrono::system_clock::now() +
                              std::chrono::seconds(10));
    stubs.push_back(Service::NewStub(channel));
  }
  return stubs;
}

// A running smsgw-server (temp ports) and the fast fake Twilio it sends to
// (no fake when the server uses its built-in simulator).
struct ServerSet {
  std::unique_ptr<Child> twilio;
  std::unique_ptr<Child> server;
  std::string grpc_target;  // host:port
  std::string http_host;    // webhook listener
  int http_port = 0;
  int metrics_port = 0;  // GET /metrics (SMSGW_METRICS_ADDR)
  int twilio_port = 0;
  // Creates the fake Twilio has answered so far (0 when unreachable).
  uint64_t Creates() const;
};

// Starts an smsgw-server on `db_path` with ephemeral gRPC, webhook and
// simulator ports, the suite's --server_log_level and `env` added to the
// environment (Child first clears the Twilio and pacing settings a shell may
// have set), logging to <suite.dir>/<tag>-server.log; fills out.server,
// grpc_target, http_host and http_port. Returns false (after logging) when
// it did not start.
bool StartSmsgwServer(const Suite& suite, const std::string& tag,
                      const std::string& db_path,
                      const std::map<std::string, std::string>& env,
                      ServerSet& out);

// Starts the fake Twilio (answering after `twilio_latency_ms`) and an
// smsgw-server on `db_path` sending to it, both logging to
// <suite.dir>/<tag>-*.log; `extra_env` is added to the server's environment.
// Returns false (after logging) when either did not start.
bool StartServerSet(const Suite& suite, const std::string& tag,
                    const std::string& db_path, int twilio_latency_ms,
                    const std::map<std::string, std::string>& extra_env,
                    ServerSet& out);

// AuthService.Login (or SignUp when `sign_up`) on `target`; the access token.
absl::StatusOr<std::string> GetToken(const std::string& target,
                                     const std::string& username,
                                     const std::string& password,
                                     bool sign_up);

// The access tokens of users username_of(0..n-1), all with `password`,
// signed up (`sign_up`) or logged in on `target` from 4 threads; an empty
// vector (after logging) when one failed.
std::vector<std::string> GetTokens(
    const std::string& target, int n,
    const std::function<std::string(int)>& username_of,
    const std::string& password, bool sign_up);

// The auth token every bench server is configured with (TWILIO_AUTH_TOKEN),
// which signs the webhooks.
inline constexpr char kBenchAuthToken[] = "bench-auth-token";
// The server's only sender / pool number.
inline constexpr char kBenchNumber[] = "+15005550006";
// Where Twilio posts status callbacks on the server's webhook port.
inline constexpr char kStatusPath[] = "/twilio/sms/status";

// Fills `request` with a "delivered" status callback for `sid` (sent from
// kBenchNumber to `peer`, an E.164 string), form-encoded and signed with
// kBenchAuthToken for `url` (the full callback URL the server sees, which
// X-Twilio-Signature covers); returns the body.
std::string SignedStatusBody(const std::string& account_sid,
                             const std::string& url, const std::string& sid,
                             const std::string& peer, HttpRequest& request);

// SendMessage closed loop (the token comes from options.decorate), unique
// bodies "bench <nonce> message <n>", one recipient; OK responses are
// counted in `sent_ok` and, when `ids` is set, their message ids are kept
// there (under `ids_mu`).
LoadResult RunSend(
    const LoadOptions& options,
    const std::vector<std::unique_ptr<smsgw::v1::MessagingService::Stub>>&
        stubs,
    const std::string& nonce, std::atomic<uint64_t>& sent_ok,
    std::mutex* ids_mu, std::vector<std::string>* ids);

// GetMessage closed loop (the token comes from options.decorate) for the id
// `id_for` names for each call's sequence number.
LoadResult RunGet(
    const LoadOptions& options,
    const std::vector<std::unique_ptr<smsgw::v1::MessagingService::Stub>>&
        stubs,
    const std::function<std::string(uint64_t seq)>& id_for);

// Ratio a/b rounded to 3 decimals; null when b is 0.
nlohmann::json Ratio(double a, double b);

// {"count", "p50", "p90", "p99", "p99.9", "max"} of `us` (microseconds,
// rounded to 0.1; sorts `us`).
nlohmann::json Percentiles(std::vector<double>& us);

// Waits (up to 120 s) until the fake Twilio of `set` has answered `target`
// creates; returns the seconds waited.
double Drain(const ServerSet& set, uint64_t target);

// What a SendMessage scenario needs of its server: a new user's token in
// the options (with the server's pid and --concurrency), stubs on `channels`
// channels, and the nonce that keeps the run's bodies unique.
struct SendSetup {
  std::string nonce;
  std::vector<std::unique_ptr<smsgw::v1::MessagingService::Stub>> stubs;
  LoadOptions options;
};

// Signs up user <user_prefix><nonce> on `set`. False (after logging) when
// SignUp failed.
bool SetUpSend(const ServerSet& set, const std::string& user_prefix,
               int channels, std::mt19937_64& rng, SendSetup& out);

// The name of PostgreSQL scenario `base` ("send_message_pg", ...) with
// `replicas` servers: `base` for 1, else <base>_<replicas>replicas.
std::string PostgresScenario(const std::string& base, int replicas);

// Whether suite.scenarios holds a PostgreSQL scenario with `replicas`
// servers (send_message_pg, webhook_status_pg, watch_streams_pg and their
// _2replicas / _3replicas forms).
bool WantsPostgres(const Suite& suite, int replicas);

// The PostgreSQL scenarios with `replicas` smsgw-servers on one throwaway
// durable PostgreSQL 15 (bench/postgres_scenarios.cc; built with the tests,
// whose harness starts the server): send_message_pg, then
// webhook_status_pg and watch_streams_pg on the same servers, those of
// suite.scenarios. False (after logging) when a server did not start.
bool RunPostgresScenarios(Suite& suite, std::mt19937_64& rng, int replicas);

// The scenarios run on the generated 1 M-message database: get_message_1m,
// list_messages_1m, list_messages_search_1m, http_hello, webhook_status,
// watch_streams, group_fanout (those of suite.scenarios). Returns false (after
// logging why) when a server or the generator failed.
bool RunLargeDbScenarios(Suite& suite);

}  // namespace smsgw::bench

#endif  // SMSGW_BENCH_SUITE_H_

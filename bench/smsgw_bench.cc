// smsgw-bench: the benchmark suite of issue 8. In one invocation it measures,
// with the same closed-loop generators (bench/README.md has the list):
//   noop                    the no-op gRPC callback server (same-run ceiling)
//   send_message            SendMessage end to end, fake Twilio at 0 ms
//   get_message             GetMessage on the messages `send_message` stored
//   rest_send_message       send_message through the REST API (POST
//                           /v1/messages, JSON) on the same server
//   send_message_slow       SendMessage, fake Twilio at 200 ms, 2000 in flight
//   send_message_default    SendMessage on the defaults of run-server.sh: the
//                           built-in simulator and its status callbacks
//   send_message_pg         send_message with the server on a throwaway
//                           PostgreSQL 15 (SMSGW_DB_URL)
//   send_message_pg_2replicas, send_message_pg_3replicas
//                           the same with 2 or 3 servers on that database,
//                           the load spread over them
//   webhook_status_pg, watch_streams_pg (and _2replicas, _3replicas)
//                           status callbacks, and watch streams open while
//                           SendMessage runs, on those servers
//   http_hello              cpp-httplib hello world (the HTTP ceiling)
//   get_message_1m, list_messages_1m, list_messages_search_1m,
//   webhook_status, watch_streams, group_fanout
//                           on the generated 1 M-message database
// and prints one JSON document.
//
//   smsgw-bench [--scenarios=...] [--duration_s=10] [--warmup_s=2]
//               [--concurrency=64] [--channels=4] [--server_bin=PATH]
//   smsgw-bench --generate=PATH   only write a generated database to PATH
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/db_generator.h"
#include "bench/http_load.h"
#include "bench/load_generator.h"
#include "bench/serve_modes.h"
#include "bench/suite.h"
#include "httplib.h"
#include "noop.grpc.pb.h"
#include "smsgw/v1/auth.grpc.pb.h"
#include "smsgw/v1/messaging.grpc.pb.h"

ABSL_DECLARE_FLAG(int, http_connections);  // large_db_scenarios.cc
ABSL_FLAG(std::string, serve, "",
          "internal: run as a child server: noop, fake_twilio or http_hello");
ABSL_FLAG(std::string, port_file, "", "internal: port file of --serve");
ABSL_FLAG(int, latency_ms, 0, "internal: --serve=fake_twilio answer delay");
ABSL_FLAG(int, fake_threads, 256,
          "threads of the fake Twilio (connections it serves at once)");
ABSL_FLAG(std::string, account_sid, "AC0123456789abcdef0123456789abcdef",
          "Twilio account SID the fake answers for");
ABSL_FLAG(std::string, scenarios,
          "noop,send_message,get_message,send_message_slow,"
          "send_message_default,http_hello,get_message_1m,list_messages_1m,"
          "list_messages_search_1m,webhook_status,watch_streams,group_fanout",
          "comma-separated scenarios (aliases: send, get, slow, default); "
          "they run in the order of the default list, whatever the order "
          "given");
ABSL_FLAG(double, duration_s, 10, "measurement window per scenario, seconds");
ABSL_FLAG(double, warmup_s, 2, "warm-up excluded before each window, seconds");
ABSL_FLAG(int, concurrency, 64, "calls in flight");
ABSL_FLAG(int, channels, 4, "gRPC channels (connections) the calls share");
ABSL_FLAG(int, slow_latency_ms, 200,
          "send_message_slow: fake Twilio answer delay, ms");
ABSL_FLAG(int, slow_concurrency, 2000, "send_message_slow: calls in flight");
ABSL_FLAG(int, slow_channels, 20,
          "send_message_slow: channels (100 calls in flight each)");
ABSL_FLAG(std::string, server_bin, "",
          "smsgw-server binary; default: next to smsgw-bench, else one dir up");
ABSL_FLAG(std::string, server_log_level, "info", "smsgw-server --log_level");
ABSL_FLAG(std::string, data_dir, "",
          "cache of generated databases; default <build dir>/bench-data");
ABSL_FLAG(std::string, generate, "",
          "only generate the 1 M-message database into this path and exit");
ABSL_FLAG(bool, keep_dir, false, "keep the temp dir (DB, logs) after the run");

namespace smsgw::bench {

const std::vector<std::string>& AllScenarios() {
  static const auto* all = new std::vector<std::string>{
      "noop",           "send_message",     "get_message",
      "rest_send_message",
      "send_message_slow", "send_message_default", "send_message_pg",
      "send_message_pg_2replicas", "send_message_pg_3replicas",
      "webhook_status_pg", "webhook_status_pg_2replicas",
      "webhook_status_pg_3replicas", "watch_streams_pg",
      "watch_streams_pg_2replicas", "watch_streams_pg_3replicas",
      "http_hello",
      "get_message_1m",
      "list_messages_1m", "list_messages_search_1m", "webhook_status",
      "watch_streams",  "group_fanout"};
  return *all;
}

bool Suite::Wants(const std::string& name) const {
  return std::find(scenarios.begin(), scenarios.end(), name) !=
         scenarios.end();
}

nlohmann::json Ratio(double a, double b) {
  if (b <= 0) return nullptr;
  return std::round(a / b * 1000) / 1000;
}

nlohmann::json Percentiles(std::vector<double>& us) {
  LoadResult r;
  r.duration_s = 1;
  Summarise(us, r);
  auto round1 = [](double v) { return std::round(v * 10) / 10; };
  return {{"count", us.size()},
          {"p50", round1(r.p50_us)},
          {"p90", round1(r.p90_us)},
          {"p99", round1(r.p99_us)},
          {"p99.9", round1(r.p999_us)},
          {"max", round1(r.max_us)}};
}

std::string PostgresScenario(const std::string& base, int replicas) {
  return replicas == 1 ? base : absl::StrCat(base, "_", replicas, "replicas");
}

bool WantsPostgres(const Suite& suite, int replicas) {
  for (const char* base :
       {"send_message_pg", "webhook_status_pg", "watch_streams_pg"}) {
    if (suite.Wants(PostgresScenario(base, replicas))) return true;
  }
  return false;
}

void Suite::Add(const std::string& name, const LoadResult& r,
                nlohmann::json extra, bool grpc) {
  nlohmann::json j = ToJson(r);
  j["scenario"] = name;
  if (grpc && noop_qps > 0) j["ratio_to_noop"] = Ratio(r.qps, noop_qps);
  for (auto& [k, v] : extra.items()) j[k] = v;
  results.push_back(j);
  std::cerr << "smsgw-bench: " << name << ": " << j.dump() << std::endl;
}

void Suite::AddRaw(const std::string& name, nlohmann::json fields) {
  fields["scenario"] = name;
  results.push_back(fields);
  std::cerr << "smsgw-bench: " << name << ": " << fields.dump() << std::endl;
}

LoadOptions BaseOptions() {
  LoadOptions o;
  o.concurrency = absl::GetFlag(FLAGS_concurrency);
  o.channels = absl::GetFlag(FLAGS_channels);
  o.warmup_s = absl::GetFlag(FLAGS_warmup_s);
  o.duration_s = absl::GetFlag(FLAGS_duration_s);
  return o;
}

uint64_t ServerSet::Creates() const {
  httplib::Client client("127.0.0.1", twilio_port);
  auto res = client.Get("/count");
  uint64_t n = 0;
  if (res && res->status == 200) (void)absl::SimpleAtoi(res->body, &n);
  return n;
}

bool StartServerSet(const Suite& suite, const std::string& tag,
                    const std::string& db_path, int twilio_latency_ms,
                    const std::map<std::string, std::string>& extra_env,
                    ServerSet& out) {
  const std::string twilio_port_file = suite.dir + "/" + tag + "-twilio.port";
  out.twilio = std::make_unique<Child>(
      std::vector<std::string>{
          suite.self, "--serve=fake_twilio", "--port_file=" + twilio_port_file,
          "--account_sid=" + suite.account_sid,
          absl::StrCat("--latency_ms=", twilio_latency_ms),
          // A sleeping answer holds a fake thread (httplib serves a
          // connection per thread): with latency, one per call in flight.
          absl::StrCat("--fake_threads=",
                       twilio_latency_ms > 0
                           ? std::max(absl::GetFlag(FLAGS_fake_threads),
                                      absl::GetFlag(FLAGS_slow_concurrency) +
                                          64)
                           : absl::GetFlag(FLAGS_fake_threads))},
      std::map<std::string, std::string>{},
      suite.dir + "/" + tag + "-twilio.log");
  auto tports = WaitForPortFile(twilio_port_file, "port", *out.twilio);
  if (tports.empty()) {
    std::cerr << "smsgw-bench: fake Twilio did not start" << std::endl;
    return false;
  }
  out.twilio_port = std::stoi(tports["port"]);
  std::map<std::string, std::string> env = {
      {"TWILIO_ACCOUNT_SID", suite.account_sid},
      {"TWILIO_AUTH_TOKEN", kBenchAuthToken},
      {"TWILIO_API_BASE", absl::StrCat("http://127.0.0.1:", out.twilio_port)},
      {"TWILIO_PHONE_NUMBERS", kBenchNumber},
      {"SMSGW_SENDER_RATES", absl::StrCat(kBenchNumber, "=10000")}};
  for (const auto& [k, v] : extra_env) env[k] = v;
  return StartSmsgwServer(suite, tag, db_path, env, out);
}

bool StartSmsgwServer(const Suite& suite, const std::string& tag,
                      const std::string& db_path,
                      const std::map<std::string, std::string>& env,
                      ServerSet& out) {
  const std::string server_port_file = suite.dir + "/" + tag + "-server.port";
  out.server = std::make_unique<Child>(
      std::vector<std::string>{
          suite.server_bin, "--grpc_addr=127.0.0.1:0",
          "--http_addr=127.0.0.1:0", "--metrics_addr=127.0.0.1:0",
          "--db_path=" + db_path,
          "--port_file=" + server_port_file, "--simulator_port=0",
          // Thousands of sign-ups and codes from 127.0.0.1: the abuse
          // limits (issue 18) would refuse them.
          "--signup_peer_max=1000000", "--signup_max=1000000",
          "--verify_max_per_prefix_per_hour=1000000",
          "--verify_max_per_country_per_hour=1000000",
          "--verify_max_per_hour=1000000",
          "--log_level=" + absl::GetFlag(FLAGS_server_log_level)},
      env, suite.dir + "/" + tag + "-server.log");
  auto sports = WaitForPortFile(server_port_file, "grpc", *out.server);
  if (sports.empty()) {
    std::cerr << "smsgw-bench: smsgw-server did not start; see " << suite.dir
              << "/" << tag << "-server.log" << std::endl;
    return false;
  }
  out.grpc_target = sports["grpc"];
  const std::string http = sports["http"];
  const size_t colon = http.rfind(':');
  out.http_host = http.substr(0, colon);
  out.http_port = std::stoi(http.substr(colon + 1));
  const std::string metrics = sports["metrics"];
  out.metrics_port = std::stoi(metrics.substr(metrics.rfind(':') + 1));
  return true;
}

absl::StatusOr<std::string> GetToken(const std::string& target,
                                     const std::string& username,
                                     const std::string& password,
                                     bool sign_up) {
  auto channel =
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto auth = smsgw::v1::AuthService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::seconds(60));
  grpc::Status st;
  std::string token;
  if (sign_up) {
    smsgw::v1::SignUpRequest req;
    req.set_username(username);
    req.set_password(password);
    smsgw::v1::SignUpResponse resp;
    st = auth->SignUp(&ctx, req, &resp);
    token = resp.access_token();
  } else {
    smsgw::v1::LoginRequest req;
    req.set_username(username);
    req.set_password(password);
    smsgw::v1::LoginResponse resp;
    st = auth->Login(&ctx, req, &resp);
    token = resp.access_token();
  }
  if (!st.ok()) {
    return absl::UnavailableError(absl::StrCat(
        sign_up ? "SignUp " : "Login ", username, ": ", st.error_message()));
  }
  return token;
}

std::vector<std::string> GetTokens(
    const std::string& target, int n,
    const std::function<std::string(int)>& username_of,
    const std::string& password, bool sign_up) {
  std::vector<std::string> tokens(n);
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = next++; i < n && !failed; i = next++) {
        absl::StatusOr<std::string> token =
            GetToken(target, username_of(i), password, sign_up);
        if (!token.ok()) {
          std::cerr << "smsgw-bench: " << token.status() << std::endl;
          failed = true;
          return;
        }
        tokens[i] = *token;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  if (failed) tokens.clear();
  return tokens;
}

LoadResult RunSend(const LoadOptions& options,
                   const std::vector<std::unique_ptr<smsgw::v1::MessagingService::Stub>>&
                       stubs,
                   const std::string& nonce, std::atomic<uint64_t>& sent_ok,
                   std::mutex* ids_mu, std::vector<std::string>* ids) {
  return RunClosedLoop<smsgw::v1::MessagingService::Stub, smsgw::v1::SendMessageRequest,
                       smsgw::v1::SendMessageResponse>(
      options, stubs,
      [](smsgw::v1::MessagingService::Stub* stub, grpc::ClientContext* ctx,
         const smsgw::v1::SendMessageRequest* req,
         smsgw::v1::SendMessageResponse* resp,
         std::function<void(grpc::Status)> done) {
        stub->async()->SendMessage(ctx, req, resp, std::move(done));
      },
      [&](uint64_t seq, smsgw::v1::SendMessageRequest& req) {
        req.set_to("+14155550100");
        req.set_body(absl::StrCat("bench ", nonce, " message ", seq));
      },
      [&](const smsgw::v1::SendMessageResponse& resp) {
        sent_ok.fetch_add(1, std::memory_order_relaxed);
        if (ids == nullptr) return;
        std::lock_guard<std::mutex> lock(*ids_mu);
        if (ids->size() < 1000000) ids->push_back(resp.message().id());
      });
}

LoadResult RunGet(
    const LoadOptions& options,
    const std::vector<std::unique_ptr<smsgw::v1::MessagingService::Stub>>&
        stubs,
    const std::function<std::string(uint64_t seq)>& id_for) {
  return RunClosedLoop<smsgw::v1::MessagingService::Stub,
                       smsgw::v1::GetMessageRequest,
                       smsgw::v1::GetMessageResponse>(
      options, stubs,
      [](smsgw::v1::MessagingService::Stub* stub, grpc::ClientContext* ctx,
         const smsgw::v1::GetMessageRequest* req,
         smsgw::v1::GetMessageResponse* resp,
         std::function<void(grpc::Status)> done) {
        stub->async()->GetMessage(ctx, req, resp, std::move(done));
      },
      [&id_for](uint64_t seq, smsgw::v1::GetMessageRequest& req) {
        req.set_id(id_for(seq));
      });
}

double Drain(const ServerSet& set, uint64_t target) {
  const absl::Time start = absl::Now();
  while (set.Creates() < target && absl::Now() - start < absl::Seconds(120)) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::ToDoubleSeconds(absl::Now() - start);
}

bool SetUpSend(const ServerSet& set, const std::string& user_prefix,
               int channels, std::mt19937_64& rng, SendSetup& out) {
  out.nonce = absl::StrCat(rng() % 1000000000);
  absl::StatusOr<std::string> token =
      GetToken(set.grpc_target, user_prefix + out.nonce,
               "bench-password-" + out.nonce, /*sign_up=*/true);
  if (!token.ok()) {
    std::cerr << "smsgw-bench: " << token.status() << std::endl;
    return false;
  }
  out.stubs = Stubs<smsgw::v1::MessagingService>(set.grpc_target, channels);
  out.options = BaseOptions();
  out.options.channels = channels;
  out.options.server_pid = set.server->pid();
  out.options.metadata = {{"authorization", "Bearer " + *token}};
  return true;
}

namespace {

std::string MachineJsonModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "model name")) {
      return std::string(absl::StripLeadingAsciiWhitespace(
          line.substr(line.find(':') + 1)));
    }
  }
  return "unknown";
}

int Fail(const std::string& message) {
  std::cerr << "smsgw-bench: " << message << std::endl;
  return 1;
}

using smsgw::v1::MessagingService;

void RunNoop(Suite& suite) {
  Child noop({suite.self, "--serve=noop", "--port_file=" + suite.dir + "/noop.port"},
             {}, suite.dir + "/noop.log");
  auto ports = WaitForPortFile(suite.dir + "/noop.port", "port", noop);
  if (ports.empty()) {
    std::cerr << "smsgw-bench: no-op server did not start" << std::endl;
    return;
  }
  auto stubs = Stubs<NoopService>("127.0.0.1:" + ports["port"],
                                  absl::GetFlag(FLAGS_channels));
  LoadOptions options = BaseOptions();
  options.server_pid = noop.pid();
  LoadResult r = RunClosedLoop<NoopService::Stub, NoopRequest, NoopResponse>(
      options, stubs,
      [](NoopService::Stub* stub, grpc::ClientContext* ctx,
         const NoopRequest* req, NoopResponse* resp,
         std::function<void(grpc::Status)> done) {
        stub->async()->Noop(ctx, req, resp, std::move(done));
      },
      [](uint64_t, NoopRequest&) {});
  suite.noop_qps = r.qps;
  suite.Add("noop", r, {{"ratio_to_noop", 1.0}});
}

bool RunSendAndGet(Suite& suite, std::mt19937_64& rng) {
  ServerSet set;
  SendSetup send;
  if (!StartServerSet(suite, "send", suite.dir + "/send.db", 0, {}, set) ||
      !SetUpSend(set, "bench", absl::GetFlag(FLAGS_channels), rng, send)) {
    return false;
  }
  const std::string& nonce = send.nonce;
  const auto& stubs = send.stubs;
  const LoadOptions& options = send.options;
  std::mutex ids_mu;
  std::vector<std::string> ids;
  std::atomic<uint64_t> sent_ok{0};
  if (suite.Wants("send_message")) {
    const uint64_t creates_before = set.Creates();
    LoadResult r = RunSend(options, stubs, nonce, sent_ok, &ids_mu, &ids);
    const uint64_t creates_at_end = set.Creates();
    // Let the dispatcher hand every accepted message to the fake before the
    // next scenario, so that scenario does not pay for this one.
    const double drain = Drain(set, sent_ok.load());
    suite.send_qps = r.qps;
    suite.Add("send_message", r,
              {{"fake_twilio_creates_during_run",
                creates_at_end - creates_before},
               {"accepted_total", sent_ok.load()},
               {"dispatch_drain_s", drain},
               {"fake_twilio_creates_total", set.Creates()}});
  }
  if (suite.Wants("get_message")) {
    if (ids.empty()) {
      // send_message was not asked for: store messages first, unmeasured.
      LoadOptions fill = options;
      fill.warmup_s = 0;
      fill.duration_s = 3;
      fill.server_pid = -1;
      (void)RunSend(fill, stubs, nonce, sent_ok, &ids_mu, &ids);
    }
    std::vector<std::string> get_ids;
    {
      std::lock_guard<std::mutex> lock(ids_mu);
      get_ids = ids;
    }
    std::shuffle(get_ids.begin(), get_ids.end(), rng);
    LoadResult r = RunGet(options, stubs, [&](uint64_t seq) {
      return get_ids[seq % get_ids.size()];
    });
    suite.Add("get_message", r,
              {{"db_messages", sent_ok.load()},
               {"distinct_ids_read", get_ids.size()}});
  }
  if (suite.Wants("rest_send_message")) {
    // The same SendMessage through the REST gateway: JSON in, the in-process
    // gRPC call, JSON out. One request in flight per keep-alive connection,
    // and no more connections than the server's HTTP threads (32 by
    // default), which each hold one.
    HttpLoadOptions http;
    http.host = set.http_host;
    http.port = set.http_port;
    http.path = "/v1/messages";
    http.content_type = "application/json";
    http.connections = std::min(options.concurrency, 32);
    http.warmup_s = options.warmup_s;
    http.duration_s = options.duration_s;
    http.server_pid = set.server->pid();
    const std::string auth = options.metadata.front().second;
    LoadResult r = RunHttpClosedLoop(http, [&](uint64_t seq, HttpRequest& req) {
      req.body = absl::StrCat(R"({"to": "+14155550100", "body": "bench rest )",
                              nonce, " message ", seq, R"("})");
      req.headers.emplace_back("Authorization", auth);
    });
    suite.Add("rest_send_message", r,
              {{"connections", http.connections},
               {"ratio_to_send_message", Ratio(r.qps, suite.send_qps)}});
  }
  set.server->Stop();
  return true;
}

// Scenario (2): SendMessage with the fake Twilio answering after 200 ms and
// 2000 calls in flight, on a server of its own (fresh DB).
bool RunSendSlow(Suite& suite, std::mt19937_64& rng) {
  ServerSet set;
  const int latency_ms = absl::GetFlag(FLAGS_slow_latency_ms);
  // The upstream concurrency must cover the calls in flight: at 200 ms per
  // create, sends/s = in-flight / 0.2 (Twilio accounts need their API
  // concurrency limit raised alike).
  if (!StartServerSet(
          suite, "slow", suite.dir + "/slow.db", latency_ms,
          {{"SMSGW_TWILIO_MAX_IN_FLIGHT",
            absl::StrCat(absl::GetFlag(FLAGS_slow_concurrency))}},
          set)) {
    return false;
  }
  SendSetup send;
  if (!SetUpSend(set, "slow", absl::GetFlag(FLAGS_slow_channels), rng,
                 send)) {
    return false;
  }
  LoadOptions& options = send.options;
  options.concurrency = absl::GetFlag(FLAGS_slow_concurrency);
  std::atomic<uint64_t> sent_ok{0};
  const uint64_t creates_before = set.Creates();
  LoadResult r =
      RunSend(options, send.stubs, send.nonce, sent_ok, nullptr, nullptr);
  const uint64_t creates_at_end = set.Creates();
  const double drain = Drain(set, sent_ok.load());
  suite.Add("send_message_slow", r,
            {{"ratio_to_send_message", Ratio(r.qps, suite.send_qps)},
             {"twilio_latency_ms", latency_ms},
             {"concurrency", options.concurrency},
             {"channels", options.channels},
             {"fake_twilio_creates_during_run", creates_at_end - creates_before},
             {"accepted_total", sent_ok.load()},
             {"dispatch_drain_s", drain}});
  set.server->Stop();
  return true;
}

// The samples of a GET /metrics answer, keyed by name{labels}; empty when
// the server did not answer.
std::map<std::string, double> ScrapeMetrics(const ServerSet& set) {
  std::map<std::string, double> samples;
  httplib::Client client(set.http_host, set.metrics_port);
  auto res = client.Get("/metrics");
  if (!res || res->status != 200) return samples;
  for (absl::string_view line : absl::StrSplit(res->body, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    if (space == absl::string_view::npos ||
        !absl::SimpleAtod(line.substr(space + 1), &value)) {
      continue;
    }
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

// What the server did between two scrapes: status callbacks ingested (by
// HTTP answer), status changes committed (by status entered) and the mean
// group-commit batch.
nlohmann::json MetricsDelta(const std::map<std::string, double>& before,
                            const std::map<std::string, double>& after) {
  auto delta = [&](const std::string& key) {
    auto b = before.find(key);
    auto a = after.find(key);
    return (a == after.end() ? 0 : a->second) -
           (b == before.end() ? 0 : b->second);
  };
  // The value of `label` in a key `name{a="x",label="y"}`.
  auto label = [](const std::string& key, const std::string& name) {
    const std::string open = name + "=\"";
    const size_t start = key.find(open) + open.size();
    return key.substr(start, key.find('"', start) - start);
  };
  nlohmann::json callbacks = nlohmann::json::object();
  nlohmann::json changes = nlohmann::json::object();
  for (const auto& [key, value] : after) {
    if (absl::StartsWith(key, "smsgw_http_requests_total{") &&
        absl::StrContains(key, "path=\"/twilio/sms/status\"")) {
      callbacks[label(key, "code")] = delta(key);
    } else if (absl::StartsWith(key, "smsgw_message_events_total{") &&
               absl::StrContains(key, "event=\"status_changed\"")) {
      changes[label(key, "status")] = delta(key);
    }
  }
  const double commits = delta("smsgw_db_commits_total");
  return {{"status_callbacks_by_http_code", callbacks},
          {"status_changes_by_status", changes},
          {"db_writes_per_commit",
           commits > 0 ? Ratio(delta("smsgw_db_writes_total"), commits)
                       : nlohmann::json(nullptr)}};
}

// SendMessage against smsgw-server started as scripts/run-server.sh starts
// it: no Twilio settings, so the built-in simulator answers the REST client
// and posts every message's status callbacks back to the webhook port. Only
// the ports (ephemeral) and the database (fresh, in the temp dir) differ.
// One call in flight first (`unloaded`, on the fresh server, before any
// backlog of callbacks), then --concurrency.
bool RunSendDefault(Suite& suite, std::mt19937_64& rng) {
  ServerSet set;
  SendSetup send;
  if (!StartSmsgwServer(suite, "default", suite.dir + "/default.db", {},
                        set) ||
      !SetUpSend(set, "default", absl::GetFlag(FLAGS_channels), rng, send)) {
    return false;
  }
  std::atomic<uint64_t> sent_ok{0};
  LoadOptions unloaded = send.options;
  unloaded.concurrency = 1;
  const LoadResult u =
      RunSend(unloaded, send.stubs, send.nonce, sent_ok, nullptr, nullptr);
  const std::map<std::string, double> before = ScrapeMetrics(set);
  const absl::Time start = absl::Now();
  const LoadResult r = RunSend(send.options, send.stubs, send.nonce, sent_ok,
                               nullptr, nullptr);
  const double run_s = absl::ToDoubleSeconds(absl::Now() - start);
  const nlohmann::json during = MetricsDelta(before, ScrapeMetrics(set));
  double callbacks = 0;
  for (const auto& [code, n] : during["status_callbacks_by_http_code"].items()) {
    callbacks += n.get<double>();
  }
  nlohmann::json extra = {
      {"twilio", "built-in simulator (no TWILIO_* settings)"},
      {"target_ratio_to_noop", 0.10},
      {"target_unloaded_p50_us", 5000},
      {"accepted_total", sent_ok.load()},
      {"server_during_run", during},
      {"run_s_with_warmup", std::round(run_s * 10) / 10},
      // Three callbacks per message (sending, sent, delivered): below 3 x
      // qps the simulator's posters fall behind.
      {"status_callbacks_per_s", std::round(callbacks / run_s)}};
  extra["unloaded"] = ToJson(u);
  extra["unloaded"]["concurrency"] = 1;
  suite.Add("send_message_default", r, extra);
  set.server->Stop();
  return true;
}


std::string Canonical(const std::string& name) {
  if (name == "send") return "send_message";
  if (name == "get") return "get_message";
  if (name == "slow") return "send_message_slow";
  if (name == "default") return "send_message_default";
  return name;
}

int RunSuite() {
  Suite suite;
  std::vector<std::string> asked;
  for (absl::string_view s : absl::StrSplit(absl::GetFlag(FLAGS_scenarios),
                                            ',', absl::SkipEmpty())) {
    const std::string name = Canonical(std::string(s));
    if (std::find(AllScenarios().begin(), AllScenarios().end(), name) ==
        AllScenarios().end()) {
      return Fail("unknown scenario " + name + "; known: " +
                  absl::StrJoin(AllScenarios(), ","));
    }
    asked.push_back(name);
  }
  for (const std::string& name : AllScenarios()) {
    if (std::find(asked.begin(), asked.end(), name) != asked.end()) {
      suite.scenarios.push_back(name);
    }
  }
  char tmpl[] = "/tmp/smsgw-bench-XXXXXX";
  suite.dir = mkdtemp(tmpl);
  suite.self = SelfExe();
  suite.server_bin = absl::GetFlag(FLAGS_server_bin);
  const std::filesystem::path here =
      std::filesystem::path(suite.self).parent_path();
  if (suite.server_bin.empty()) {
    // The build tree puts smsgw-bench in bench/ and the server one up.
    suite.server_bin = std::filesystem::exists(here / "smsgw-server")
                           ? (here / "smsgw-server").string()
                           : (here.parent_path() / "smsgw-server").string();
  }
  suite.data_dir = absl::GetFlag(FLAGS_data_dir);
  if (suite.data_dir.empty()) {
    suite.data_dir = (here.parent_path() / "bench-data").string();
  }
  suite.account_sid = absl::GetFlag(FLAGS_account_sid);
  std::mt19937_64 rng{std::random_device{}()};

  nlohmann::json out;
  out["machine"] = {{"nproc", std::thread::hardware_concurrency()},
                    {"cpu_model", MachineJsonModel()}};
  out["config"] = {{"concurrency", absl::GetFlag(FLAGS_concurrency)},
                   {"channels", absl::GetFlag(FLAGS_channels)},
                   {"warmup_s", absl::GetFlag(FLAGS_warmup_s)},
                   {"duration_s", absl::GetFlag(FLAGS_duration_s)},
                   {"server_log_level", absl::GetFlag(FLAGS_server_log_level)}};
  bool ok = true;
  if (suite.Wants("noop")) RunNoop(suite);
  if (suite.Wants("send_message") || suite.Wants("get_message") ||
      suite.Wants("rest_send_message")) {
    ok = RunSendAndGet(suite, rng) && ok;
  }
  if (suite.Wants("send_message_slow")) ok = RunSendSlow(suite, rng) && ok;
  if (suite.Wants("send_message_default")) {
    ok = RunSendDefault(suite, rng) && ok;
  }
  for (int replicas = 1; replicas <= 3; ++replicas) {
    if (!WantsPostgres(suite, replicas)) continue;
#ifdef SMSGW_BENCH_HAS_POSTGRES
    ok = RunPostgresScenarios(suite, rng, replicas) && ok;
#else
    std::cerr << "smsgw-bench: the PostgreSQL scenarios need the tests' "
                 "PostgreSQL harness: configure with SMSGW_BUILD_TESTS=ON"
              << std::endl;
    ok = false;
#endif
  }
  ok = RunLargeDbScenarios(suite) && ok;

  out["scenarios"] = suite.results;
  std::cout << out.dump(2) << std::endl;
  if (!absl::GetFlag(FLAGS_keep_dir)) {
    std::error_code ec;
    std::filesystem::remove_all(suite.dir, ec);
  } else {
    std::cerr << "smsgw-bench: kept " << suite.dir << std::endl;
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace smsgw::bench

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  // As smsgw-server does (server/main.cc): Debian's Abseil runs absl::Mutex's
  // deadlock detector on every lock, which would slow the baselines (the
  // no-op server, http_hello) and the load generators themselves.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::string serve = absl::GetFlag(FLAGS_serve);
  if (serve == "noop") {
    return smsgw::bench::RunNoopServer(absl::GetFlag(FLAGS_port_file));
  }
  if (serve == "fake_twilio") {
    return smsgw::bench::RunFakeTwilio(
        absl::GetFlag(FLAGS_port_file), absl::GetFlag(FLAGS_account_sid),
        absl::GetFlag(FLAGS_latency_ms), absl::GetFlag(FLAGS_fake_threads));
  }
  if (serve == "http_hello") {
    return smsgw::bench::RunHttpHello(absl::GetFlag(FLAGS_port_file),
                                      "/twilio/sms/status");
  }
  if (!serve.empty()) return smsgw::bench::Fail("unknown --serve " + serve);
  const std::string generate = absl::GetFlag(FLAGS_generate);
  if (!generate.empty()) {
    absl::Status st =
        smsgw::bench::GenerateBenchDb(generate, smsgw::bench::GeneratorOptions());
    if (!st.ok()) return smsgw::bench::Fail(std::string(st.message()));
    return 0;
  }
  return smsgw::bench::RunSuite();
}

// The scenarios on the generated 1 M-message database (suite.h):
// reads (3), webhook ingest (4) with its HTTP hello-world baseline, watch
// streams (5) and group fan-out (6). They share one smsgw-server started on a
// per-run copy of the cached database, and the tokens of the first
// --login_users generated users (logged in over gRPC: real Argon2 checks).
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/db_generator.h"
#include "bench/http_load.h"
#include "bench/suite.h"
#include "bench/watch_stream.h"
#include "server/twilio/form_encoding.h"
#include "server/twilio/twilio_signature.h"
#include "smsgw/v1/groups.grpc.pb.h"
#include "smsgw/v1/messaging.grpc.pb.h"

ABSL_DECLARE_FLAG(int, concurrency);
ABSL_DECLARE_FLAG(int, channels);

ABSL_FLAG(int, login_users, 100,
          "generated users the 1M scenarios log in as (reads, watch senders)");
ABSL_FLAG(int, http_connections, 8,
          "webhook_status / http_hello: requests in flight, one per "
          "keep-alive connection (cpp-httplib serves 8 connections at once "
          "by default on this machine)");
ABSL_FLAG(int, watch_streams, 1000, "watch_streams: open WatchMessages streams");
ABSL_FLAG(int, watch_channels, 10, "watch_streams: channels of the streams");
ABSL_FLAG(int, fanout_posts, 5, "group_fanout: posts measured");

namespace smsgw::bench {
namespace {

using smsgw::v1::GroupService;
using smsgw::v1::MessagingService;

struct Sample {
  std::vector<std::pair<std::string, int>> ids;  // (message id, user index)
  std::vector<std::pair<std::string, std::string>> sent;  // (sid, peer)
};

// Reads, before the server opens the copy, messages of the first `users`
// users (for GetMessage) and SENT outbound messages (for status callbacks).
bool SampleDb(const std::string& path, int users, Sample& out) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(db);
    return false;
  }
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT id, owner_id FROM messages WHERE owner_id <= ?"
                     " AND seq % 5 = 0",
                     -1, &stmt, nullptr);
  sqlite3_bind_int(stmt, 1, users);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    out.ids.emplace_back(
        reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
        sqlite3_column_int(stmt, 1) - 1);
  }
  sqlite3_finalize(stmt);
  sqlite3_prepare_v2(db,
                     "SELECT provider_sid, peer_number FROM messages"
                     " WHERE status = 5 AND direction = 1 LIMIT 300000",
                     -1, &stmt, nullptr);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    out.sent.emplace_back(
        reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
        reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return !out.ids.empty() && !out.sent.empty();
}

void RunHttpHelloScenario(Suite& suite, const Sample* sample) {
  Child hello({suite.self, "--serve=http_hello",
               "--port_file=" + suite.dir + "/hello.port"},
              {}, suite.dir + "/hello.log");
  auto ports = WaitForPortFile(suite.dir + "/hello.port", "port", hello);
  if (ports.empty()) {
    std::cerr << "smsgw-bench: http_hello did not start" << std::endl;
    return;
  }
  HttpLoadOptions options;
  const LoadOptions base = BaseOptions();
  options.port = std::stoi(ports["port"]);
  options.path = kStatusPath;
  options.connections = absl::GetFlag(FLAGS_http_connections);
  options.warmup_s = base.warmup_s;
  options.duration_s = base.duration_s;
  options.server_pid = hello.pid();
  const std::string url =
      absl::StrCat("http://127.0.0.1:", options.port, kStatusPath);
  // The same signed requests as webhook_status, so the client pays alike.
  LoadResult r = RunHttpClosedLoop(options, [&](uint64_t seq, HttpRequest& req) {
    const std::string sid =
        sample != nullptr && !sample->sent.empty()
            ? sample->sent[seq % sample->sent.size()].first
            : absl::StrCat("SM", seq);
    SignedStatusBody(suite.account_sid, url, sid, "+16503000000", req);
  });
  suite.http_hello_qps = r.qps;
  suite.Add("http_hello", r,
            {{"ratio_to_http_hello", 1.0},
             {"connections", options.connections}},
            /*grpc=*/false);
}

}  // namespace

std::string SignedStatusBody(const std::string& account_sid,
                             const std::string& url, const std::string& sid,
                             const std::string& peer, HttpRequest& request) {
  const twilio::FormParams params = {
      {"AccountSid", account_sid}, {"ApiVersion", "2010-04-01"},
      {"From", kBenchNumber},      {"MessageSid", sid},
      {"MessageStatus", "delivered"}, {"SmsSid", sid},
      {"SmsStatus", "delivered"},  {"To", peer}};
  request.body = twilio::EncodeForm(params);
  request.headers = {
      {"X-Twilio-Signature",
       twilio::ComputeTwilioSignature(kBenchAuthToken, url, params)}};
  return request.body;
}

bool RunLargeDbScenarios(Suite& suite) {
  const bool needs_db =
      suite.Wants("get_message_1m") || suite.Wants("list_messages_1m") ||
      suite.Wants("list_messages_search_1m") ||
      suite.Wants("webhook_status") || suite.Wants("watch_streams") ||
      suite.Wants("group_fanout");
  if (!needs_db) {
    if (suite.Wants("http_hello")) RunHttpHelloScenario(suite, nullptr);
    return true;
  }
  GeneratorOptions gen;
  const absl::Time gen_start = absl::Now();
  absl::StatusOr<std::string> cached = EnsureBenchDb(suite.data_dir, gen);
  if (!cached.ok()) {
    std::cerr << "smsgw-bench: generator: " << cached.status() << std::endl;
    return false;
  }
  const double ensure_s = absl::ToDoubleSeconds(absl::Now() - gen_start);
  // Runs write (status callbacks, sends, fan-out): each gets its own copy.
  const std::string db_path = suite.dir + "/large.db";
  const absl::Time copy_start = absl::Now();
  std::error_code ec;
  std::filesystem::copy_file(*cached, db_path, ec);
  if (ec) {
    std::cerr << "smsgw-bench: copy " << *cached << ": " << ec.message()
              << std::endl;
    return false;
  }
  const double copy_s = absl::ToDoubleSeconds(absl::Now() - copy_start);
  const int login_users = absl::GetFlag(FLAGS_login_users);
  Sample sample;
  if (!SampleDb(db_path, login_users, sample)) {
    std::cerr << "smsgw-bench: cannot sample " << db_path << std::endl;
    return false;
  }
  std::mt19937_64 rng{std::random_device{}()};
  std::shuffle(sample.ids.begin(), sample.ids.end(), rng);
  std::shuffle(sample.sent.begin(), sample.sent.end(), rng);
  const nlohmann::json db_info = {
      {"db_messages", gen.messages},
      {"db_users", gen.users},
      {"db_file_mb",
       std::round(std::filesystem::file_size(*cached) / 1048576.0)},
      {"db_ensure_s", std::round(ensure_s * 10) / 10},
      {"db_copy_s", std::round(copy_s * 10) / 10}};
  std::cerr << "smsgw-bench: 1M database " << db_info.dump() << std::endl;

  if (suite.Wants("http_hello")) RunHttpHelloScenario(suite, &sample);

  ServerSet set;
  if (!StartServerSet(suite, "large", db_path, 0,
                      {{"SMSGW_WATCH_MAX_STREAMS", "64"}}, set)) {
    return false;
  }
  const pid_t server_pid = set.server->pid();
  const absl::Time login_start = absl::Now();
  const std::vector<std::string> tokens =
      GetTokens(set.grpc_target, login_users, BenchUsername,
                GeneratorOptions().password, /*sign_up=*/false);
  if (tokens.empty()) return false;
  std::cerr << "smsgw-bench: logged in " << login_users << " users in "
            << absl::ToDoubleSeconds(absl::Now() - login_start) << " s"
            << std::endl;
  auto stubs = Stubs<MessagingService>(set.grpc_target,
                                       absl::GetFlag(FLAGS_channels));

  // (3) GetMessage by id: random messages of the logged-in users, each read
  // with its owner's token.
  if (suite.Wants("get_message_1m")) {
    LoadOptions options = BaseOptions();
    options.server_pid = server_pid;
    options.decorate = [&](uint64_t seq, grpc::ClientContext& ctx) {
      ctx.AddMetadata(
          "authorization",
          "Bearer " + tokens[sample.ids[seq % sample.ids.size()].second]);
    };
    LoadResult r = RunGet(options, stubs, [&](uint64_t seq) {
      return sample.ids[seq % sample.ids.size()].first;
    });
    nlohmann::json extra = db_info;
    extra["distinct_ids"] = sample.ids.size();
    suite.Add("get_message_1m", r, extra);
  }

  // (3) ListMessages, page 50, newest first: a user's whole history, with
  // and without a full-text query.
  for (const bool search : {false, true}) {
    const std::string name =
        search ? "list_messages_search_1m" : "list_messages_1m";
    if (!suite.Wants(name)) continue;
    std::atomic<uint64_t> returned{0}, pages{0};
    auto run_list = [&](LoadOptions options) {
      options.decorate = [&](uint64_t seq, grpc::ClientContext& ctx) {
        ctx.AddMetadata("authorization",
                        "Bearer " + tokens[seq % tokens.size()]);
      };
      return RunClosedLoop<MessagingService::Stub,
                           smsgw::v1::ListMessagesRequest,
                           smsgw::v1::ListMessagesResponse>(
          options, stubs,
          [](MessagingService::Stub* stub, grpc::ClientContext* ctx,
             const smsgw::v1::ListMessagesRequest* req,
             smsgw::v1::ListMessagesResponse* resp,
             std::function<void(grpc::Status)> done) {
            stub->async()->ListMessages(ctx, req, resp, std::move(done));
          },
          [&](uint64_t, smsgw::v1::ListMessagesRequest& req) {
            req.set_page_size(50);
            if (search) req.set_query(kSearchWord);
          },
          [&](const smsgw::v1::ListMessagesResponse& resp) {
            returned.fetch_add(resp.messages_size(),
                               std::memory_order_relaxed);
            pages.fetch_add(1, std::memory_order_relaxed);
          });
    };
    LoadOptions options = BaseOptions();
    options.server_pid = server_pid;
    const LoadResult r = run_list(options);
    // The p99 target is about one call's cost, not queueing behind 63
    // others on 2 cores: a second window with one call in flight.
    LoadOptions unloaded = options;
    unloaded.concurrency = 1;
    const LoadResult u = run_list(unloaded);
    nlohmann::json extra = db_info;
    extra["page_size"] = 50;
    extra["avg_messages_per_page"] =
        pages.load() > 0
            ? std::round(10.0 * returned.load() / pages.load()) / 10
            : 0.0;
    if (search) extra["query"] = kSearchWord;
    extra["target_p99_us"] = 5000;
    extra["unloaded"] = ToJson(u);
    extra["unloaded"]["concurrency"] = 1;
    suite.Add(name, r, extra);
  }

  // (4) Status callbacks for messages the DB holds as SENT, signed as
  // Twilio signs them.
  if (suite.Wants("webhook_status")) {
    HttpLoadOptions options;
    const LoadOptions base = BaseOptions();
    options.host = set.http_host;
    options.port = set.http_port;
    options.path = kStatusPath;
    options.connections = absl::GetFlag(FLAGS_http_connections);
    options.warmup_s = base.warmup_s;
    options.duration_s = base.duration_s;
    options.server_pid = server_pid;
    // The server's public URL defaults to http://<bound http addr>.
    const std::string url =
        absl::StrCat("http://", set.http_host, ":", set.http_port, kStatusPath);
    LoadResult r =
        RunHttpClosedLoop(options, [&](uint64_t seq, HttpRequest& req) {
          const auto& [sid, peer] = sample.sent[seq % sample.sent.size()];
          SignedStatusBody(suite.account_sid, url, sid, peer, req);
        });
    suite.Add("webhook_status", r,
              {{"ratio_to_http_hello", Ratio(r.qps, suite.http_hello_qps)},
               {"connections", options.connections},
               {"distinct_sids", sample.sent.size()},
               {"db_messages", gen.messages}},
              /*grpc=*/false);
  }

  // (5) Streams open while SendMessage runs from the streams' users.
  if (suite.Wants("watch_streams")) {
    const int n_streams = absl::GetFlag(FLAGS_watch_streams);
    auto watch_stubs = Stubs<MessagingService>(
        set.grpc_target, absl::GetFlag(FLAGS_watch_channels));
    std::atomic<bool> recording{false};
    std::vector<std::unique_ptr<WatchStream>> streams;
    for (int i = 0; i < n_streams; ++i) {
      streams.push_back(std::make_unique<WatchStream>(
          watch_stubs[i % watch_stubs.size()].get(), tokens[i % tokens.size()],
          &recording));
    }
    absl::SleepFor(absl::Seconds(2));  // let every stream register
    int ended_early = 0;
    for (auto& s : streams) ended_early += s->Finished() ? 1 : 0;
    const long rss_streams_open_kb = PeakRssKb(server_pid);

    LoadOptions options = BaseOptions();
    options.server_pid = server_pid;
    options.decorate = [&](uint64_t seq, grpc::ClientContext& ctx) {
      ctx.AddMetadata("authorization", "Bearer " + tokens[seq % tokens.size()]);
    };
    std::atomic<uint64_t> sent{0};
    const std::string nonce = absl::StrCat(rng() % 1000000000);
    // Record only inside the load's window.
    std::thread window =
        RecordDuring(recording, options.warmup_s, options.duration_s);
    LoadResult r = RunSend(options, stubs, "watch-" + nonce, sent,
                           nullptr, nullptr);
    window.join();
    absl::SleepFor(absl::Milliseconds(500));  // events still in flight
    int stream_errors = 0;
    std::map<std::string, int> end_codes;
    for (auto& s : streams) {
      if (s->Finished()) {
        ++stream_errors;
        end_codes[absl::StrCat(static_cast<int>(s->Wait().error_code()))]++;
      }
      s->Cancel();
    }
    std::vector<double> latencies;
    std::array<uint64_t, 5> by_type{};
    for (auto& s : streams) {
      s->Wait();
      latencies.insert(latencies.end(), s->latencies_us.begin(),
                       s->latencies_us.end());
      for (int t = 0; t < 5; ++t) by_type[t] += s->events_by_type[t];
    }
    const uint64_t events = latencies.size();
    nlohmann::json event_latency = Percentiles(latencies);
    nlohmann::json extra = {
        {"streams", n_streams},
        {"stream_users", tokens.size()},
        {"streams_ended_early", ended_early},
        {"streams_ended_before_cancel", stream_errors},
        {"stream_end_codes", end_codes},
        {"events_received", events},
        {"events_per_s", std::round(events / options.duration_s)},
        {"events_by_type", EventsByType(by_type)},
        {"event_latency_us", event_latency},
        {"server_rss_streams_open_kb", rss_streams_open_kb},
        {"target_event_p99_us", 50000},
        {"target_rss_kb", 200 * 1024},
        {"db_messages", gen.messages}};
    streams.clear();
    suite.Add("watch_streams", r, extra);
  }

  // (6) One member of a 500-member group posts; the time until the fake
  // Twilio has received a create for every other member.
  if (suite.Wants("group_fanout")) {
    auto channel = grpc::CreateChannel(set.grpc_target,
                                       grpc::InsecureChannelCredentials());
    auto groups = GroupService::NewStub(channel);
    const int posts = absl::GetFlag(FLAGS_fanout_posts);
    // Anything still being dispatched from earlier scenarios first.
    absl::SleepFor(absl::Seconds(1));
    std::vector<double> return_ms, all_ms, half_ms;
    std::map<std::string, int> errors;
    int deliveries = 0, skipped = 0;
    ResetPeakRss(server_pid);
    const double cpu0 = ProcessCpuSeconds(server_pid);
    const absl::Time t_begin = absl::Now();
    for (int p = 0; p < posts; ++p) {
      uint64_t before = set.Creates();
      // Settle: wait until nothing else reaches the fake.
      for (int i = 0; i < 100; ++i) {
        absl::SleepFor(absl::Milliseconds(50));
        const uint64_t now = set.Creates();
        if (now == before) break;
        before = now;
      }
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + tokens[0]);
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
      smsgw::v1::SendGroupMessageRequest req;
      req.set_name(gen.group_name);
      req.set_body(absl::StrCat("fan-out post ", p, " of bench ", rng() % 1000000));
      smsgw::v1::SendGroupMessageResponse resp;
      // Every other member gets one delivery; a poller started before the
      // call notes when half and all of them have reached the fake (the call
      // itself may wait for the provider's answers).
      const uint64_t expected = static_cast<uint64_t>(
          std::min(gen.group_members, gen.users) - 1);
      using SteadyClock = std::chrono::steady_clock;
      const SteadyClock::time_point t0 = SteadyClock::now();
      SteadyClock::time_point t_half = t0, t_all = t0;
      std::atomic<bool> stop_polling{false};
      std::thread poller([&] {
        const auto deadline = t0 + std::chrono::seconds(60);
        while (!stop_polling && SteadyClock::now() < deadline) {
          const uint64_t got = set.Creates() - before;
          const auto now = SteadyClock::now();
          if (t_half == t0 && got * 2 >= expected) t_half = now;
          if (got >= expected) {
            t_all = now;
            return;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      });
      grpc::Status st = groups->SendGroupMessage(&ctx, req, &resp);
      const SteadyClock::time_point t_ret = SteadyClock::now();
      if (!st.ok()) stop_polling = true;
      poller.join();
      if (!st.ok()) {
        errors[absl::StrCat(static_cast<int>(st.error_code()), " ",
                            st.error_message())]++;
        continue;
      }
      int sent_to = 0;
      for (const auto& d : resp.deliveries()) {
        if (d.skipped()) {
          ++skipped;
        } else {
          ++sent_to;
        }
      }
      deliveries = sent_to;
      auto ms = [&](SteadyClock::time_point t) {
        return std::chrono::duration<double, std::milli>(t - t0).count();
      };
      return_ms.push_back(ms(t_ret));
      if (t_all == t0) {
        errors["timeout waiting for the fake's creates"]++;
        continue;
      }
      half_ms.push_back(ms(t_half));
      all_ms.push_back(ms(t_all));
    }
    const double wall = absl::ToDoubleSeconds(absl::Now() - t_begin);
    auto stats = [](std::vector<double> v) -> nlohmann::json {
      if (v.empty()) return nullptr;
      std::sort(v.begin(), v.end());
      return {{"median", std::round(v[v.size() / 2] * 10) / 10},
              {"min", std::round(v.front() * 10) / 10},
              {"max", std::round(v.back() * 10) / 10}};
    };
    suite.AddRaw(
        "group_fanout",
        {{"group_members", gen.group_members},
         {"posts", posts},
         {"deliveries_per_post", deliveries},
         {"skipped", skipped},
         {"call_return_ms", stats(return_ms)},
         {"half_handed_to_twilio_ms", stats(half_ms)},
         {"all_handed_to_twilio_ms", stats(all_ms)},
         {"target_all_ms", 1000},
         {"errors", errors},
         {"server_cpu_cores",
          std::round((ProcessCpuSeconds(server_pid) - cpu0) / wall * 100) /
              100},
         {"server_peak_rss_kb", PeakRssKb(server_pid)},
         {"db_messages", gen.messages}});
  }
  set.server->Stop();
  return true;
}

}  // namespace smsgw::bench

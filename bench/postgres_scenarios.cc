// The PostgreSQL scenarios of smsgw-bench (issue 13): `replicas` (1, 2 or
// 3) smsgw-servers on one throwaway PostgreSQL 15, durable as SQLite's
// send_message is (fsync, synchronous_commit, full_page_writes on), the
// fast fake Twilio behind them, and the load spread over them as a
// round_robin client or a load balancer spreads it (README "Several
// replicas"). On the same servers, in this order:
//   send_message_pg      SendMessage; ratios to SQLite's send_message and
//                        to one replica (same run)
//   webhook_status_pg    signed "delivered" callbacks to every replica
//   watch_streams_pg     WatchMessages streams on every replica while
//                        SendMessage runs on every replica
// Each reports the CPU of every replica and of PostgreSQL's processes by
// backend (each replica's connections carry application_name
// smsgw-replica-N), and the statements that took PostgreSQL the most time
// (pg_stat_statements).
#include <sys/types.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/http_load.h"
#include "bench/load_generator.h"
#include "bench/suite.h"
#include "bench/watch_stream.h"
#include "storage/postgres/pg_database.h"
#include "tests/testing/postgres_server.h"

ABSL_DECLARE_FLAG(int, channels);
ABSL_DECLARE_FLAG(int, http_connections);  // large_db_scenarios.cc
ABSL_DECLARE_FLAG(int, watch_streams);     // large_db_scenarios.cc
ABSL_DECLARE_FLAG(int, watch_channels);    // large_db_scenarios.cc
ABSL_DECLARE_FLAG(int, login_users);       // large_db_scenarios.cc

namespace smsgw::bench {
namespace {

using ::smsgw::storage::postgres::PgConnection;
using ::smsgw::storage::postgres::PgResult;
using ::smsgw::v1::MessagingService;

// The postmaster and every process it forked (the backends serving each
// replica's pool, its LISTEN session, the dispatch lease's session, the WAL
// writer, ...): pid -> CPU seconds (user+sys) and a label. The label is the
// backend's application_name when it has one (the bench names each
// replica's connections smsgw-replica-N; the lease session names itself
// smsgw-dispatch-lease), else its backend_type from pg_stat_activity.
struct PgProcess {
  double cpu_s = 0;
  std::string label;
};
std::map<pid_t, PgProcess> PostgresProcesses(pid_t postmaster,
                                             PgConnection* conn) {
  std::map<pid_t, std::string> labels;
  absl::StatusOr<PgResult> activity = conn->Execute(
      "SELECT pid, CASE WHEN application_name <> '' THEN application_name "
      "ELSE backend_type END FROM pg_stat_activity");
  if (activity.ok()) {
    for (int row = 0; row < activity->rows(); ++row) {
      labels[static_cast<pid_t>(activity->Int(row, 0))] =
          activity->Text(row, 1);
    }
  }
  std::map<pid_t, PgProcess> out;
  out[postmaster] = {ProcessCpuSeconds(postmaster), "postmaster"};
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    pid_t pid = 0;
    if (!absl::SimpleAtoi(name, &pid)) continue;
    std::ifstream in(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    const size_t close = text.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> fields =
        absl::StrSplit(text.substr(close + 2), ' ', absl::SkipEmpty());
    pid_t ppid = 0;
    if (fields.size() < 2 || !absl::SimpleAtoi(fields[1], &ppid) ||
        ppid != postmaster || pid == conn->BackendPid()) {
      continue;
    }
    const double cpu = ProcessCpuSeconds(pid);
    if (cpu < 0) continue;
    auto label = labels.find(pid);
    out[pid] = {cpu, label != labels.end() ? label->second : "other"};
  }
  return out;
}

// The CPU between two snapshots, as cores over `run_s`, per label:
// {"smsgw-replica-0": {"cores": 0.61, "processes": 12}, "walwriter": ...}.
// A process that started during the window counts from 0; one that ended
// during it is missing (the pools keep their connections, so that is rare).
nlohmann::json PostgresCpuByLabel(const std::map<pid_t, PgProcess>& before,
                                  const std::map<pid_t, PgProcess>& after,
                                  double run_s, double* total_cores) {
  std::map<std::string, std::pair<double, int>> by_label;
  double total = 0;
  for (const auto& [pid, process] : after) {
    auto was = before.find(pid);
    const double used =
        process.cpu_s - (was != before.end() ? was->second.cpu_s : 0);
    by_label[process.label].first += used;
    by_label[process.label].second += 1;
    total += used;
  }
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [label, usage] : by_label) {
    out[label] = {{"cores", std::round(usage.first / run_s * 1000) / 1000},
                  {"processes", usage.second}};
  }
  if (total_cores != nullptr) *total_cores = std::round(total / run_s * 100) / 100;
  return out;
}

// What the PostgreSQL scenarios run on (PostgresServer::Start(true, true)).
constexpr char kDurablePostgres[] =
    "PostgreSQL 15 (throwaway, local socket; fsync, synchronous_commit and "
    "full_page_writes on)";

// Starts pg_stat_statements' counts afresh (creating the extension first);
// a line on stderr when the extension is not loaded.
void ResetStatements(PgConnection* observer) {
  absl::Status made =
      observer->Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  if (made.ok()) {
    made = observer->Exec("SELECT pg_stat_statements_reset()");
  }
  if (!made.ok()) {
    std::cerr << "smsgw-bench: pg_stat_statements: " << made << std::endl;
  }
}

// The statements that took the most PostgreSQL time since the last
// ResetStatements, most first: calls, total and mean ms, rows, and the first
// 160 characters of the normalized text. An empty array (and a line on
// stderr) when the extension is not loaded.
nlohmann::json TopStatements(PgConnection* observer,
                             int limit) {
  nlohmann::json out = nlohmann::json::array();
  absl::StatusOr<PgResult> rows = observer->Execute(
      "SELECT calls, round(total_exec_time::numeric, 1)::text, "
      "round((total_exec_time / greatest(calls, 1))::numeric, 3)::text, "
      "rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) "
      "FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' "
      "ORDER BY total_exec_time DESC LIMIT $1",
      {std::to_string(limit)});
  if (!rows.ok()) {
    std::cerr << "smsgw-bench: pg_stat_statements: " << rows.status()
              << std::endl;
    return out;
  }
  for (int row = 0; row < rows->rows(); ++row) {
    double total_ms = 0, mean_ms = 0;
    (void)absl::SimpleAtod(rows->Text(row, 1), &total_ms);
    (void)absl::SimpleAtod(rows->Text(row, 2), &mean_ms);
    out.push_back({{"calls", rows->Int(row, 0)},
                   {"total_ms", total_ms},
                   {"mean_ms", mean_ms},
                   {"rows", rows->Int(row, 3)},
                   {"query", rows->Text(row, 4)}});
  }
  return out;
}


// What the replicas (by pid) and PostgreSQL's processes used between
// construction and Report(), and the statements that took PostgreSQL the
// most time meanwhile (pg_stat_statements is reset at construction).
class ClusterWindow {
 public:
  ClusterWindow(std::vector<pid_t> replicas, pid_t postmaster,
                PgConnection* observer)
      : replicas_(std::move(replicas)),
        postmaster_(postmaster),
        observer_(observer) {
    for (pid_t pid : replicas_) cpu0_.push_back(ProcessCpuSeconds(pid));
    start_ = absl::Now();
    ResetStatements(observer_);
    pg0_ = PostgresProcesses(postmaster_, observer_);
  }

  // {replica_cpu_cores: [cores per replica], postgres_cpu_cores,
  // postgres_processes, postgres_cpu_by_backend, postgres_top_statements
  // (the 8 that took the most time)}, `suffix` appended to each key.
  nlohmann::json Report(const std::string& suffix = "") const {
    const std::map<pid_t, PgProcess> pg1 =
        PostgresProcesses(postmaster_, observer_);
    const nlohmann::json top = TopStatements(observer_, 8);
    const double run_s = absl::ToDoubleSeconds(absl::Now() - start_);
    double pg_cores = 0;
    const nlohmann::json by_label =
        PostgresCpuByLabel(pg0_, pg1, run_s, &pg_cores);
    nlohmann::json replica_cpu = nlohmann::json::array();
    for (size_t i = 0; i < replicas_.size(); ++i) {
      replica_cpu.push_back(
          std::round((ProcessCpuSeconds(replicas_[i]) - cpu0_[i]) / run_s *
                     100) /
          100);
    }
    return {{"replica_cpu_cores" + suffix, replica_cpu},
            {"postgres_cpu_cores" + suffix, pg_cores},
            {"postgres_processes" + suffix, pg1.size()},
            {"postgres_cpu_by_backend" + suffix, by_label},
            {"postgres_top_statements" + suffix, top}};
  }

 private:
  std::vector<pid_t> replicas_;
  pid_t postmaster_;
  PgConnection* observer_;
  std::vector<double> cpu0_;
  absl::Time start_;
  std::map<pid_t, PgProcess> pg0_;
};

// webhook_status on PostgreSQL with the replicas of `servers` (issue 13):
// "delivered" status callbacks, signed as Twilio signs them, for the
// messages the send run just stored (their SIDs from the database), posted
// to every replica's webhook port at once (--http_connections spread over
// them), as Twilio's callbacks land on whichever replica the load balancer
// picks. QPS and calls are the sum over the replicas; the latency figures
// are the worst replica's, and `per_replica` has each one's.
void RunWebhookStatusPostgres(
    Suite& suite, const std::string& name,
    const std::vector<const ServerSet*>& servers,
    const std::vector<pid_t>& pids, pid_t postmaster, PgConnection* observer) {
  absl::StatusOr<PgResult> rows =
      observer->Execute(
          "SELECT provider_sid, peer_number FROM messages "
          "WHERE direction = 1 AND provider_sid IS NOT NULL");
  if (!rows.ok() || rows->rows() == 0) {
    std::cerr << "smsgw-bench: " << name << ": no sent messages ("
              << (rows.ok() ? absl::OkStatus() : rows.status()) << ")"
              << std::endl;
    return;
  }
  std::vector<std::pair<std::string, std::string>> sent;
  for (int row = 0; row < rows->rows(); ++row) {
    sent.emplace_back(rows->Text(row, 0), rows->Text(row, 1));
  }
  std::shuffle(sent.begin(), sent.end(), std::mt19937_64{42});
  const int total_connections = absl::GetFlag(FLAGS_http_connections);
  const int n = static_cast<int>(servers.size());
  const LoadOptions base = BaseOptions();
  std::vector<LoadResult> results(n);
  const ClusterWindow window(pids, postmaster, observer);
  std::vector<std::thread> loops;
  std::atomic<uint64_t> next{0};
  for (int i = 0; i < n; ++i) {
    loops.emplace_back([&, i] {
      HttpLoadOptions options;
      options.host = servers[i]->http_host;
      options.port = servers[i]->http_port;
      options.path = kStatusPath;
      options.connections =
          std::max(1, total_connections / n + (i < total_connections % n));
      options.warmup_s = base.warmup_s;
      options.duration_s = base.duration_s;
      options.server_pid = pids[i];
      // Each replica's public URL defaults to http://<its bound http addr>.
      const std::string url = absl::StrCat("http://", options.host, ":",
                                           options.port, kStatusPath);
      results[i] = RunHttpClosedLoop(options, [&](uint64_t, HttpRequest& req) {
        const auto& [sid, peer] = sent[next.fetch_add(1) % sent.size()];
        SignedStatusBody(suite.account_sid, url, sid, peer, req);
      });
    });
  }
  for (std::thread& loop : loops) loop.join();
  // The closed loops' own CPU figures leave out the warm-up; the window's
  // include it, hence the suffix.
  const nlohmann::json cluster = window.Report("_with_warmup");
  nlohmann::json per_replica = nlohmann::json::array();
  nlohmann::json replica_cpu = nlohmann::json::array();
  for (const LoadResult& r : results) {
    per_replica.push_back({{"qps", std::round(r.qps)},
                           {"p50_us", r.p50_us},
                           {"p99_us", r.p99_us},
                           {"calls", r.calls}});
    replica_cpu.push_back(
        r.duration_s > 0 ? std::round(r.server_cpu_s / r.duration_s * 100) / 100
                         : -1);
  }
  const LoadResult sum = CombineConcurrentRuns(results);
  nlohmann::json extra = {
      {"engine", kDurablePostgres},
      {"replicas", n},
      {"connections", total_connections},
      {"distinct_sids", sent.size()},
      {"latency", "the worst replica's; per_replica has each"},
      {"per_replica", per_replica},
      {"replica_cpu_cores", replica_cpu}};
  extra.update(cluster);
  if (n == 1) {
    suite.pg_webhook_qps = sum.qps;
  } else if (suite.pg_webhook_qps > 0) {
    extra["ratio_to_one_replica"] = Ratio(sum.qps, suite.pg_webhook_qps);
  }
  suite.Add(name, sum, extra, /*grpc=*/false);
}


// watch_streams_pg with the replicas of `servers` (issue 13: WatchMessages
// on any replica sees the changes made on every replica). The shape of
// watch_streams on SQLite: --watch_streams streams over --login_users new
// users, each user's streams spread over the replicas, opened first; then
// SendMessage as those users, the calls spread over `send_stubs` (channels
// to every replica). Records each event's latency (its receive time minus
// its event_time, stamped by whichever replica made the change), overall
// and by the stream's replica. After the load, once the fake has every
// create and the streams are quiet, every stream of one user must hold the
// same cursor sequence, whichever replica served it: streams_disagreeing
// counts those that do not (the contract says 0).
void RunWatchStreamsPostgres(
    Suite& suite, const std::string& name,
    const std::vector<const ServerSet*>& servers,
    const std::vector<std::unique_ptr<MessagingService::Stub>>& send_stubs,
    const std::vector<pid_t>& pids, pid_t postmaster, PgConnection* observer,
    double send_qps, std::mt19937_64& rng) {
  const int n = static_cast<int>(servers.size());
  const int n_streams = absl::GetFlag(FLAGS_watch_streams);
  const std::string nonce = absl::StrCat(rng() % 1000000000);
  const std::string prefix = "pgwatch" + nonce + "-";
  const std::vector<std::string> tokens = GetTokens(
      servers[0]->grpc_target, absl::GetFlag(FLAGS_login_users),
      [&prefix](int i) { return absl::StrCat(prefix, i); },
      "bench-password-" + nonce, /*sign_up=*/true);
  if (tokens.empty()) return;
  const int n_users = static_cast<int>(tokens.size());
  // Stream i is user i % n_users's (i / n_users)-th, on replica
  // replica_of(i): each user's streams go round the replicas, so the
  // comparison below is across replicas.
  auto replica_of = [n, n_users](int i) { return (i / n_users) % n; };
  std::vector<int> on_replica(n, 0);
  for (int i = 0; i < n_streams; ++i) ++on_replica[replica_of(i)];
  // --watch_channels spread over the replicas, and never more than 100
  // streams on one channel: smsgw-server allows 100 concurrent calls per
  // connection (SMSGW_GRPC_MAX_STREAMS), and a stream beyond that waits at
  // the client and reads nothing (the cursor check below caught that twice:
  // 1000 streams on 3 channels per replica, then on unevenly filled ones).
  const int busiest = *std::max_element(on_replica.begin(), on_replica.end());
  const int channels_per_replica =
      std::max((absl::GetFlag(FLAGS_watch_channels) + n - 1) / n,
               (busiest + 99) / 100);
  std::vector<std::vector<std::unique_ptr<MessagingService::Stub>>> watch_stubs;
  for (const ServerSet* server : servers) {
    watch_stubs.push_back(
        Stubs<MessagingService>(server->grpc_target, channels_per_replica));
  }
  std::atomic<bool> recording{false};
  std::vector<std::vector<std::string>> cursors(n_streams);
  std::vector<std::unique_ptr<WatchStream>> streams;
  std::vector<int> placed(n, 0);
  for (int i = 0; i < n_streams; ++i) {
    const int r = replica_of(i);
    const auto& stubs = watch_stubs[r];
    // Round the replica's channels, so that each holds at most 100.
    streams.push_back(std::make_unique<WatchStream>(
        stubs[placed[r]++ % stubs.size()].get(), tokens[i % n_users],
        &recording, &cursors[i]));
  }
  absl::SleepFor(absl::Seconds(2));  // let every stream register
  int ended_early = 0;
  for (const auto& s : streams) ended_early += s->Finished() ? 1 : 0;

  LoadOptions options = BaseOptions();
  options.server_pid = pids[0];
  options.decorate = [&](uint64_t seq, grpc::ClientContext& ctx) {
    ctx.AddMetadata("authorization", "Bearer " + tokens[seq % n_users]);
  };
  const uint64_t creates_before = servers[0]->Creates();
  std::atomic<uint64_t> sent{0};
  const ClusterWindow window(pids, postmaster, observer);
  // Record only inside the load's window.
  std::thread timer =
      RecordDuring(recording, options.warmup_s, options.duration_s);
  const LoadResult r =
      RunSend(options, send_stubs, "pgwatch-" + nonce, sent, nullptr, nullptr);
  timer.join();
  const nlohmann::json cluster = window.Report();
  // Every accepted send handed to the fake (so its status events are out),
  // then no stream reads anything for a second (up to 30 s).
  const double drain = Drain(*servers[0], creates_before + sent.load());
  uint64_t seen = 0;
  for (absl::Time until = absl::Now() + absl::Seconds(30);
       absl::Now() < until;) {
    uint64_t now_seen = 0;
    for (const auto& s : streams) now_seen += s->EventsSeen();
    if (now_seen == seen) break;
    seen = now_seen;
    absl::SleepFor(absl::Seconds(1));
  }
  int ended_before_cancel = 0;
  for (auto& s : streams) {
    ended_before_cancel += s->Finished() ? 1 : 0;
    s->Cancel();
  }
  std::vector<double> latencies;
  std::vector<std::vector<double>> by_replica(n);
  std::array<uint64_t, 5> by_type{};
  for (int i = 0; i < n_streams; ++i) {
    streams[i]->Wait();
    const std::vector<double>& mine = streams[i]->latencies_us;
    latencies.insert(latencies.end(), mine.begin(), mine.end());
    std::vector<double>& theirs = by_replica[replica_of(i)];
    theirs.insert(theirs.end(), mine.begin(), mine.end());
    for (int t = 0; t < 5; ++t) by_type[t] += streams[i]->events_by_type[t];
  }
  // One user's streams against the user's first: the same cursors in the
  // same order, whichever replica served each.
  int disagreeing = 0;
  size_t min_events = SIZE_MAX, max_events = 0;
  for (int i = 0; i < n_streams; ++i) {
    min_events = std::min(min_events, cursors[i].size());
    max_events = std::max(max_events, cursors[i].size());
    if (i >= n_users && cursors[i] != cursors[i % n_users]) {
      ++disagreeing;
      std::cerr << "smsgw-bench: " << name << ": stream " << i
                << " (replica " << replica_of(i) << ", user " << i % n_users
                << ") read " << cursors[i].size() << " events, stream "
                << i % n_users << " (replica 0) "
                << cursors[i % n_users].size() << std::endl;
    }
  }
  const uint64_t events = latencies.size();
  nlohmann::json latency_by_replica = nlohmann::json::array();
  for (std::vector<double>& l : by_replica) {
    latency_by_replica.push_back(Percentiles(l));
  }
  const double events_per_s = std::round(events / options.duration_s);
  nlohmann::json extra = {
      {"engine", kDurablePostgres},
      {"replicas", n},
      {"streams", n_streams},
      {"stream_users", n_users},
      {"stream_channels_per_replica", channels_per_replica},
      {"streams_ended_early", ended_early},
      {"streams_ended_before_cancel", ended_before_cancel},
      {"streams_disagreeing", disagreeing},
      {"events_per_stream_min", min_events},
      {"events_per_stream_max", max_events},
      {"events_received", events},
      {"events_per_s", events_per_s},
      {"events_by_type", EventsByType(by_type)},
      {"event_latency_us", Percentiles(latencies)},
      {"event_latency_us_by_stream_replica", latency_by_replica},
      {"accepted_total", sent.load()},
      {"dispatch_drain_s", drain},
      {"send_ratio_to_send_message_pg_same_replicas", Ratio(r.qps, send_qps)}};
  extra.update(cluster);
  if (n == 1) {
    suite.pg_watch_events_per_s = events_per_s;
  } else if (suite.pg_watch_events_per_s > 0) {
    extra["events_ratio_to_one_replica"] =
        Ratio(events_per_s, suite.pg_watch_events_per_s);
  }
  streams.clear();
  suite.Add(name, r, extra);
}

}  // namespace

bool RunPostgresScenarios(Suite& suite, std::mt19937_64& rng, int replicas) {
  const std::string name = PostgresScenario("send_message_pg", replicas);
  absl::StatusOr<std::unique_ptr<::smsgw::testing::PostgresServer>> pg =
      ::smsgw::testing::PostgresServer::Start(/*durable=*/true,
                                              /*track_statements=*/true);
  if (!pg.ok()) {
    std::cerr << "smsgw-bench: " << name << ": " << pg.status() << std::endl;
    return false;
  }
  pid_t postmaster = 0;
  {
    std::ifstream pid_file((*pg)->dir() + "/data/postmaster.pid");
    std::string line;
    std::getline(pid_file, line);
    if (!absl::SimpleAtoi(line, &postmaster)) {
      std::cerr << "smsgw-bench: no postmaster.pid" << std::endl;
      return false;
    }
  }
  const std::string url = (*pg)->conninfo("postgres");
  // Each replica's connections carry its name, so that pg_stat_activity
  // tells whose backend is whose.
  auto replica_url = [&url](int r) {
    return absl::StrCat(url, " application_name=smsgw-replica-", r);
  };
  absl::StatusOr<std::unique_ptr<PgConnection>> observer =
      PgConnection::Connect(absl::StrCat(url, " application_name=smsgw-bench"));
  if (!observer.ok()) {
    std::cerr << "smsgw-bench: " << name << ": " << observer.status()
              << std::endl;
    return false;
  }
  const std::string tag = absl::StrCat("pg", replicas);
  ServerSet set;
  SendSetup send;
  if (!StartServerSet(suite, tag, suite.dir + "/" + tag + ".db", 0,
                      {{"SMSGW_DB_URL", replica_url(0)}}, set) ||
      !SetUpSend(set, tag, absl::GetFlag(FLAGS_channels), rng, send)) {
    return false;
  }
  // The other replicas: the same database and fake Twilio. The token from
  // the first works on them (one JWT key, kept in the database).
  std::vector<ServerSet> others(replicas - 1);
  for (int r = 1; r < replicas; ++r) {
    const std::map<std::string, std::string> env = {
        {"SMSGW_DB_URL", replica_url(r)},
        {"TWILIO_ACCOUNT_SID", suite.account_sid},
        {"TWILIO_AUTH_TOKEN", kBenchAuthToken},
        {"TWILIO_API_BASE", absl::StrCat("http://127.0.0.1:", set.twilio_port)},
        {"TWILIO_PHONE_NUMBERS", kBenchNumber},
        {"SMSGW_SENDER_RATES", absl::StrCat(kBenchNumber, "=10000")}};
    if (!StartSmsgwServer(suite, absl::StrCat(tag, "-", r),
                          suite.dir + "/" + tag + "-" + std::to_string(r) +
                              ".db",
                          env, others[r - 1])) {
      return false;
    }
    // Channels are spread over the replicas, as a round_robin client does.
    auto more = Stubs<MessagingService>(others[r - 1].grpc_target,
                                        absl::GetFlag(FLAGS_channels));
    for (auto& stub : more) send.stubs.push_back(std::move(stub));
  }
  std::vector<pid_t> pids = {set.server->pid()};
  std::vector<const ServerSet*> all = {&set};
  for (const ServerSet& o : others) {
    pids.push_back(o.server->pid());
    all.push_back(&o);
  }
  std::atomic<uint64_t> sent_ok{0};
  const ClusterWindow window(pids, postmaster, observer->get());
  const LoadResult r = RunSend(send.options, send.stubs, send.nonce, sent_ok,
                               nullptr, nullptr);
  const nlohmann::json cluster = window.Report();
  const double drain = Drain(set, sent_ok.load());
  nlohmann::json extra = {{"engine", kDurablePostgres},
                          {"replicas", replicas},
                          {"accepted_total", sent_ok.load()},
                          {"dispatch_drain_s", drain}};
  extra.update(cluster);
  if (suite.send_qps > 0) {
    extra["ratio_to_send_message"] = Ratio(r.qps, suite.send_qps);
  }
  if (replicas == 1) {
    suite.pg_send_qps = r.qps;
  } else if (suite.pg_send_qps > 0) {
    extra["ratio_to_one_replica"] = Ratio(r.qps, suite.pg_send_qps);
  }
  if (suite.Wants(name)) suite.Add(name, r, extra);

  const std::string webhook_name =
      PostgresScenario("webhook_status_pg", replicas);
  if (suite.Wants(webhook_name)) {
    RunWebhookStatusPostgres(suite, webhook_name, all, pids, postmaster,
                             observer->get());
  }
  const std::string watch_name = PostgresScenario("watch_streams_pg", replicas);
  if (suite.Wants(watch_name)) {
    RunWatchStreamsPostgres(suite, watch_name, all, send.stubs, pids,
                            postmaster, observer->get(), r.qps, rng);
  }
  for (ServerSet& o : others) o.server->Stop();
  set.server->Stop();
  return true;
}

}  // namespace smsgw::bench

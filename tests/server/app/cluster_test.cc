// Several smsgw-server replicas on one PostgreSQL database (issue 13 §3,
// §4): three real servers on a fresh database of the throwaway PostgreSQL
// 15 server, an external fake Twilio with latency (its own process, so it
// outlives kills), concurrent senders spread over the replicas (some
// scheduled, some with one idempotency key sent to two replicas at once),
// a watcher on every replica, and `kill -9` of the replica that dispatches,
// mid-flight. At the end every accepted send was created at the fake
// exactly once, everything the fake created is in the database, every
// watcher saw the same gap-free, commit-ordered events (the killed
// replica's watcher resumed its cursor on another replica), and the
// sender's rate held across the takeover.
//
// CLUSTER_KILLS (default 1) sets how many times the dispatching replica is
// killed and restarted; CLUSTER_JSON names a file for the figures.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/smsgw_client.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "storage/postgres/pg_database.h"
#include "tests/testing/fake_twilio_process.h"
#include "tests/testing/pg_test_db.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw {
namespace {

using ::smsgw::client::SmsgwClient;
using ::smsgw::testing::ServerProcess;
using Json = nlohmann::json;

constexpr const char* kAccountSid = testing::FakeTwilioProcess::kAccountSid;
constexpr char kPassword[] = "correct horse";
constexpr char kUser[] = "cluster";
constexpr char kSender[] = "+15005550006";
constexpr int kReplicas = 3;
// The sender's rate (SMSGW_SENDER_RATES), per second.
constexpr int kRate = 60;


// One event as a watcher saw it.
struct Seen {
  int64_t cursor = 0;
  std::string id;
  int type = 0;
  int status = 0;
  bool operator==(const Seen& o) const {
    // Not the status: an event carries the message as it is when read.
    return cursor == o.cursor && id == o.id && type == o.type;
  }
};

// A WatchMessages stream of kUser, from `after` (0: from the first
// event), read on its own thread until Stop() or the stream ends; `prior`
// are the events a stream it resumes had seen.
class Watcher {
 public:
  Watcher(const std::string& target, const std::string& token, int64_t after,
          std::vector<Seen> prior = {})
      : after_(after), events_(std::move(prior)) {
    SmsgwClient::Options options;
    options.target = target;
    client_ = *SmsgwClient::Create(options);
    client_->set_access_token(token);
    context_ = client_->NewContext();
    context_->set_deadline(
        absl::ToChronoTime(absl::Now() + absl::Minutes(10)));
    v1::WatchMessagesRequest request;
    request.set_after_cursor(absl::StrCat(after));
    reader_ = client_->messaging()->WatchMessages(context_.get(), request);
    thread_ = std::thread([this] {
      v1::WatchMessagesResponse response;
      while (reader_->Read(&response)) {
        Seen seen;
        (void)absl::SimpleAtoi(response.event().cursor(), &seen.cursor);
        seen.id = response.event().message().id();
        seen.type = response.event().type();
        seen.status = response.event().message().status();
        absl::MutexLock lock(&mu_);
        events_.push_back(seen);
      }
      (void)reader_->Finish();
    });
  }
  ~Watcher() { Stop(); }

  void Stop() {
    if (!thread_.joinable()) return;
    context_->TryCancel();
    thread_.join();
  }
  std::vector<Seen> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  int64_t last_cursor() {
    absl::MutexLock lock(&mu_);
    return events_.empty() ? after_ : events_.back().cursor;
  }
  // Waits (up to `timeout`) until an event with cursor >= `cursor` came.
  bool AwaitCursor(int64_t cursor, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      if (last_cursor() >= cursor) return true;
      absl::SleepFor(absl::Milliseconds(50));
    }
    return false;
  }

 private:
  const int64_t after_;
  std::unique_ptr<SmsgwClient> client_;
  std::unique_ptr<::grpc::ClientContext> context_;
  std::unique_ptr<::grpc::ClientReader<v1::WatchMessagesResponse>> reader_;
  absl::Mutex mu_;
  std::vector<Seen> events_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

// The database as the test reads it directly.
struct DbView {
  std::map<std::string, std::string> sid_by_body;  // outbound
  std::map<std::string, int> rows_by_body;
  int unfinished = 0;  // PENDING or SCHEDULED
  int64_t feed_head = 0;
};

DbView ReadDb(const std::string& conninfo) {
  DbView view;
  auto c = storage::postgres::PgConnection::Connect(conninfo);
  if (!c.ok()) {
    view.unfinished = -1;
    return view;
  }
  auto rows = (*c)->Execute(
      "SELECT body, COALESCE(provider_sid, ''), status FROM messages"
      " WHERE direction = 1");
  if (!rows.ok()) {
    view.unfinished = -1;
    return view;
  }
  for (int i = 0; i < rows->rows(); ++i) {
    const std::string body = rows->Text(i, 0);
    view.sid_by_body[body] = rows->Text(i, 1);
    ++view.rows_by_body[body];
    const int64_t status = rows->Int(i, 2);
    if (status == 1 || status == 2) ++view.unfinished;
  }
  auto head = (*c)->Execute("SELECT last_cursor FROM feed_head");
  if (head.ok() && head->rows() > 0) view.feed_head = head->Int(0, 0);
  return view;
}

int64_t ParseRfc2822Second(const std::string& text) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%a, %d %b %Y %H:%M:%S %z", text, &t, &err)) return 0;
  return absl::ToUnixSeconds(t);
}

TEST(ClusterTest, ThreeReplicasSendEveryAcceptedMessageOnceThroughAKill) {
  testing::PgTestDatabase db;
  SMSGW_REQUIRE_DATABASE(db.status());
  const int kills = testing::IntFromEnv("CLUSTER_KILLS", 1);
  smsgw::testing::TempDir dir;
  std::filesystem::create_directories(dir.File("logs"));
  testing::FakeTwilioProcess twilio(dir.File("logs"), /*create_delay_ms=*/120);
  ASSERT_TRUE(twilio.Start());

  std::vector<std::unique_ptr<ServerProcess>> replicas(kReplicas);
  std::vector<std::string> logs;
  int starts = 0;
  auto start_replica = [&](int r) {
    ServerProcess::Options options;
    // Each replica its own directory: nothing but the database is shared.
    options.db_path = dir.File(absl::StrCat("r", r, "/unused.db"));
    options.log_path = dir.File(absl::StrCat("logs/replica-", r, "-",
                                             starts++, ".log"));
    logs.push_back(options.log_path);
    options.env = {{"SMSGW_DB_URL", db.conninfo()},
                   {"TWILIO_ACCOUNT_SID", kAccountSid},
                   {"TWILIO_AUTH_TOKEN", "secret-token"},
                   {"TWILIO_API_BASE", twilio.base_url()},
                   {"TWILIO_PHONE_NUMBERS", kSender},
                   {"SMSGW_SENDER_RATES",
                    absl::StrCat(kSender, "=", kRate)}};
    options.args = {"--min_schedule_ahead=1s"};
    replicas[r] = std::make_unique<ServerProcess>(options);
    return replicas[r]->Start();
  };
  for (int r = 0; r < kReplicas; ++r) {
    ASSERT_THAT(start_replica(r), testing::IsOk());
  }
  // Which replica dispatches: the one whose log says it took the lease.
  auto dispatching = [&]() -> int {
    for (int attempt = 0; attempt < 100; ++attempt) {
      for (int r = 0; r < kReplicas; ++r) {
        if (replicas[r] != nullptr && replicas[r]->running() &&
            replicas[r]->ReadLog().find("dispatch lease taken") !=
                std::string::npos) {
          return r;
        }
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return -1;
  };

  // One account, signed up on one replica; its token works on every other
  // (one JWT key, kept in the database).
  std::string token;
  {
    SmsgwClient::Options options;
    options.target = replicas[0]->grpc_address();
    auto client = *SmsgwClient::Create(options);
    ASSERT_THAT(client->SignUp(kUser, kPassword, ""), testing::IsOk());
    auto login = client->Login(kUser, kPassword);
    ASSERT_THAT(login, testing::IsOk());
    token = login->access_token();
  }
  auto client_on = [&](int r) {
    SmsgwClient::Options options;
    options.target = replicas[r]->grpc_address();
    options.timeout = absl::Seconds(5);
    auto client = *SmsgwClient::Create(options);
    client->set_access_token(token);
    return client;
  };

  // Watcher w starts on replica w; watched_on[w] is where it reads now.
  std::vector<std::unique_ptr<Watcher>> watchers(kReplicas);
  std::vector<int> watched_on(kReplicas);
  for (int r = 0; r < kReplicas; ++r) {
    watchers[r] =
        std::make_unique<Watcher>(replicas[r]->grpc_address(), token, 0);
    watched_on[r] = r;
  }

  absl::Mutex mu;
  std::set<std::string> accepted;  // bodies SendMessage answered OK
  int unanswered = 0;
  int idempotent_pairs = 0;
  int idempotent_split = 0;  // a pair answered with two different ids
  int scheduled = 0;
  std::atomic<int> next_n{0};
  std::mt19937 rng(std::random_device{}());

  for (int cycle = 0; cycle <= kills; ++cycle) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> senders;
    for (int r = 0; r < kReplicas; ++r) {
      senders.emplace_back([&, r, cycle] {
        std::unique_ptr<SmsgwClient> client = client_on(r);
        std::unique_ptr<SmsgwClient> other =
            client_on((r + 1) % kReplicas);
        while (!stop.load()) {
          const int n = next_n++;
          const std::string body = absl::StrCat("cluster c", cycle, " r", r,
                                                " n", n);
          v1::SendMessageRequest request;
          // A hundred recipients (the fictional 555-01xx range): a
          // reconciliation lists one recipient's messages, as many as a
          // busy recipient has.
          request.set_to(absl::StrCat("+14155550", 100 + n % 100));
          request.set_body(body);
          if (n % 7 == 0) {  // scheduled a moment ahead
            request.mutable_send_at()->set_seconds(
                absl::ToUnixSeconds(absl::Now()) + 2);
          }
          if (n % 5 == 0) {
            // The same key on two replicas at the same moment.
            request.set_idempotency_key(absl::StrCat("pair-", n));
            absl::StatusOr<v1::SendMessageResponse> there =
                absl::UnknownError("unset");
            std::thread twin(
                [&] { there = other->SendMessage(request); });
            auto here = client->SendMessage(request);
            twin.join();
            absl::MutexLock lock(&mu);
            ++idempotent_pairs;
            if (here.ok() || there.ok()) accepted.insert(body);
            if (here.ok() && there.ok() &&
                here->message().id() != there->message().id()) {
              ++idempotent_split;
            }
            if (!here.ok()) ++unanswered;
            if (!there.ok()) ++unanswered;
            continue;
          }
          auto sent = client->SendMessage(request);
          absl::MutexLock lock(&mu);
          if (sent.ok()) {
            accepted.insert(body);
            if (request.has_send_at()) ++scheduled;
          } else {
            ++unanswered;
          }
        }
      });
    }
    absl::SleepFor(absl::Milliseconds(
        std::uniform_int_distribution<int>(2500, 4000)(rng)));
    if (cycle < kills) {
      // Kill the dispatching replica mid-flight; the others keep serving
      // and one of them takes the lease over.
      const int victim = dispatching();
      ASSERT_GE(victim, 0) << "no replica took the dispatch lease";
      replicas[victim]->Stop(SIGKILL);
      // Its watchers resume their cursors on another replica.
      const int survivor = (victim + 1) % kReplicas;
      for (int w = 0; w < kReplicas; ++w) {
        if (watched_on[w] != victim) continue;
        watchers[w]->Stop();
        watchers[w] = std::make_unique<Watcher>(
            replicas[survivor]->grpc_address(), token,
            watchers[w]->last_cursor(), watchers[w]->events());
        watched_on[w] = survivor;
      }
      // Keep sending through the takeover, then bring the replica back
      // (it rejoins as a standby).
      absl::SleepFor(absl::Seconds(2));
      stop.store(true);
      for (std::thread& t : senders) t.join();
      ASSERT_THAT(start_replica(victim), testing::IsOk());
    } else {
      stop.store(true);
      for (std::thread& t : senders) t.join();
    }
  }

  // Everything accepted is dispatched: a takeover reconciles the dead
  // dispatcher's in-flight messages after its wait (30 s).
  DbView view;
  // The backlog goes out at kRate, plus the takeover waits.
  const absl::Time deadline =
      absl::Now() + absl::Seconds(90) +
      absl::Seconds(2.0 * static_cast<double>(accepted.size()) / kRate);
  do {
    absl::SleepFor(absl::Milliseconds(250));
    view = ReadDb(db.conninfo());
  } while (view.unfinished != 0 && absl::Now() < deadline);
  EXPECT_EQ(view.unfinished, 0);
  // Every watcher catches up with the feed.
  for (int r = 0; r < kReplicas; ++r) {
    EXPECT_TRUE(watchers[r]->AwaitCursor(view.feed_head, absl::Seconds(10)))
        << "watcher " << r << " stopped at " << watchers[r]->last_cursor()
        << " of " << view.feed_head;
  }

  // Exactly once at the fake; nothing there missing from the database.
  const Json messages = twilio.Messages();
  const testing::ExactlyOnceAudit audit =
      testing::AuditExactlyOnce(accepted, messages, view.sid_by_body);
  const int lost = audit.lost;
  const int duplicated = audit.duplicated;
  const int missing_in_db = audit.missing_in_db;
  int duplicate_rows = 0;
  for (const auto& [body, n] : view.rows_by_body) {
    if (n > 1) ++duplicate_rows;
  }
  std::map<int64_t, int> per_second;
  for (const Json& m : messages) {
    ++per_second[ParseRfc2822Second(m.value("date_created", ""))];
  }
  // The busiest ten seconds at the fake. Ten, not one: the fake stamps a
  // create when it gets to it, and while it builds a long List for a
  // reconciliation the creates queued behind it are stamped together.
  int busiest_ten_seconds = 0;
  int64_t busiest_from = 0;
  for (const auto& [second, n] : per_second) {
    int sum = 0;
    for (auto it = per_second.find(second);
         it != per_second.end() && it->first < second + 10; ++it) {
      sum += it->second;
    }
    if (sum > busiest_ten_seconds) {
      busiest_ten_seconds = sum;
      busiest_from = second;
    }
  }
  std::cout << "busiest ten seconds at the fake from "
            << absl::FormatTime(absl::FromUnixSeconds(busiest_from)) << ": "
            << busiest_ten_seconds << " creates\n";
  int takeovers = 0;
  for (const std::string& path : logs) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("dispatch lease taken") != std::string::npos) {
        ++takeovers;
        std::cout << "takeover: " << line << "\n";
      }
    }
  }

  // The watchers: one gap-free sequence, the same on every replica.
  std::vector<std::vector<Seen>> seen(kReplicas);
  for (int r = 0; r < kReplicas; ++r) {
    watchers[r]->Stop();
    seen[r] = watchers[r]->events();
  }
  for (int r = 0; r < kReplicas; ++r) {
    for (size_t i = 0; i < seen[r].size(); ++i) {
      ASSERT_EQ(seen[r][i].cursor, static_cast<int64_t>(i + 1))
          << "watcher " << r << ": a gap or a reordering at " << i;
    }
    EXPECT_TRUE(seen[r] == seen[0]) << "watcher " << r << " differs";
  }

  const Json figures = {{"replicas", kReplicas},
                        {"kills", kills},
                        {"takeovers", takeovers},
                        {"accepted", accepted.size()},
                        {"scheduled", scheduled},
                        {"idempotent_pairs", idempotent_pairs},
                        {"unanswered_calls", unanswered},
                        {"created_at_fake", messages.size()},
                        {"lost", lost},
                        {"duplicated", duplicated},
                        {"duplicate_rows", duplicate_rows},
                        {"missing_in_db", missing_in_db},
                        {"feed_events", view.feed_head},
                        {"busiest_ten_seconds", busiest_ten_seconds},
                        {"rate", kRate}};
  std::cout << "cluster: " << figures.dump() << "\n";
  if (const char* out = std::getenv("CLUSTER_JSON")) {
    std::ofstream(out) << figures.dump() << "\n";
  }
  EXPECT_GT(accepted.size(), 100u);
  EXPECT_GT(scheduled, 0);
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(duplicate_rows, 0);
  EXPECT_EQ(missing_in_db, 0);
  EXPECT_EQ(idempotent_split, 0);
  EXPECT_EQ(takeovers, kills + 1);
  // Only the lease holder calls Twilio, at the sender's rate: ten seconds
  // hold ten seconds' worth, plus one second's burst (a bucket idle for a
  // second is full) and one for the window's edges. A new holder starts with
  // empty buckets (RateLimiter::EmptyBuckets), so a takeover adds no burst;
  // with full ones, kills 5-7 s apart put two more in a window. Unpaced, the
  // senders' ~350/s would put several thousand there.
  EXPECT_LE(busiest_ten_seconds, 12 * kRate);
}

// A replica that can no longer confirm it holds the dispatch lease exits
// (kExitLeaseLost), and a standby takes the lease over.
TEST(ClusterTest, AReplicaWhoseLeaseSessionEndsExitsAndAStandbyTakesOver) {
  testing::PgTestDatabase db;
  SMSGW_REQUIRE_DATABASE(db.status());
  smsgw::testing::TempDir dir;
  auto start = [&](const std::string& name) {
    ServerProcess::Options options;
    options.db_path = dir.File(name + "/unused.db");
    options.env = {{"SMSGW_DB_URL", db.conninfo()}};
    auto server = std::make_unique<ServerProcess>(options);
    EXPECT_THAT(server->Start(), testing::IsOk());
    return server;
  };
  std::unique_ptr<ServerProcess> first = start("a");
  std::unique_ptr<ServerProcess> second = start("b");
  auto await_log = [](ServerProcess& s, const std::string& text) {
    for (int i = 0; i < 100; ++i) {
      if (s.ReadLog().find(text) != std::string::npos) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  };
  ASSERT_TRUE(await_log(*first, "dispatch lease taken"));
  ASSERT_TRUE(await_log(*second, "dispatch lease held by another replica"));
  // The server ends the holder's lease session (as a database restart or
  // a network cut would).
  auto admin = storage::postgres::PgConnection::Connect(db.conninfo());
  ASSERT_THAT(admin, testing::IsOk());
  ASSERT_THAT((*admin)->Execute(
                  "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                  " WHERE application_name = 'smsgw-dispatch-lease'"
                  " AND pid IN (SELECT pid FROM pg_locks"
                  " WHERE locktype = 'advisory' AND granted)"),
              testing::IsOk());
  const int status = first->WaitForExit(absl::Seconds(15));
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 75);
  EXPECT_NE(first->ReadLog().find("dispatch lease lost"), std::string::npos);
  EXPECT_TRUE(await_log(*second, "dispatch lease taken"));
}

}  // namespace
}  // namespace smsgw

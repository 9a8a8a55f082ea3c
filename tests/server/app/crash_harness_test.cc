// Crash harness for durable dispatch: the real smsgw-server sends through a
// fake Twilio that runs as its own process (tests/fake_twilio), concurrent
// senders keep calling SendMessage, and the server is SIGKILLed at random
// moments and restarted. At the end every SendMessage that answered OK was
// created exactly once at the fake, nothing the fake created is missing from
// the database, and nothing was created twice.
//
// CRASH_HARNESS_KILLS (default 5) sets the number of kills;
// CRASH_HARNESS_JSON names a file for the figures (bench/crash_harness.sh).
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/smsgw_client.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/fake_twilio_process.h"
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
constexpr char kUser[] = "crash";


// body -> provider_sid ('' while none) of every outbound message, and the
// number still PENDING.
struct DbView {
  std::map<std::string, std::string> sid_by_body;
  int pending = 0;
};

DbView ReadDb(const std::string& path) {
  DbView view;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(db);
    view.pending = -1;
    return view;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT body, COALESCE(provider_sid, ''), status"
                     " FROM messages WHERE direction = 1",
                     -1, &stmt, nullptr);
  while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
    const std::string body =
        reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    view.sid_by_body[body] =
        reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1));
    if (sqlite3_column_int(stmt, 2) == 1) ++view.pending;
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return view;
}

TEST(DurableDispatchCrashTest, AcceptedSendsAreCreatedExactlyOnceAcrossKills) {
  const int kills = testing::IntFromEnv("CRASH_HARNESS_KILLS", 5);
  constexpr int kSenders = 4;
  smsgw::testing::TempDir dir;
  const std::string db_path = dir.File("data/smsgw.db");
  std::filesystem::create_directories(dir.File("logs"));
  testing::FakeTwilioProcess twilio(dir.File("logs"));
  ASSERT_TRUE(twilio.Start());

  std::unique_ptr<ServerProcess> server;
  std::vector<std::string> logs;
  auto start_server = [&](int cycle) {
    ServerProcess::Options options;
    options.db_path = db_path;
    options.log_path = dir.File(absl::StrCat("logs/server-", cycle, ".log"));
    logs.push_back(options.log_path);
    options.env = {{"TWILIO_ACCOUNT_SID", kAccountSid},
                   {"TWILIO_AUTH_TOKEN", "secret-token"},
                   {"TWILIO_API_BASE", twilio.base_url()},
                   {"TWILIO_PHONE_NUMBERS", "+15005550006"},
                 // Carrier pacing is not under test here.
                 {"SMSGW_SENDER_RATES", "+15005550006=1000"}};
    server = std::make_unique<ServerProcess>(options);
    return server->Start();
  };
  auto client_for = [&]() -> std::unique_ptr<SmsgwClient> {
    SmsgwClient::Options options;
    options.target = server->grpc_address();
    options.timeout = absl::Seconds(5);
    auto client = *SmsgwClient::Create(options);
    auto login = client->Login(kUser, kPassword);
    if (!login.ok()) return nullptr;
    client->set_access_token(login->access_token());
    return client;
  };

  absl::Mutex mu;
  std::set<std::string> accepted;  // SendMessage answered OK
  int unanswered = 0;              // errors: outcome unknown to the caller
  std::vector<int> next_n(kSenders, 0);
  std::mt19937 rng(std::random_device{}());

  for (int cycle = 0; cycle <= kills; ++cycle) {
    ASSERT_THAT(start_server(cycle), testing::IsOk());
    if (cycle == 0) {
      SmsgwClient::Options options;
      options.target = server->grpc_address();
      auto client = *SmsgwClient::Create(options);
      ASSERT_THAT(client->SignUp(kUser, kPassword, ""), testing::IsOk());
    }
    if (cycle == kills) break;  // the last start only drains
    std::atomic<bool> stop{false};
    std::vector<std::thread> senders;
    for (int s = 0; s < kSenders; ++s) {
      senders.emplace_back([&, s, cycle] {
        std::unique_ptr<SmsgwClient> client = client_for();
        if (client == nullptr) return;
        while (!stop.load()) {
          v1::SendMessageRequest request;
          request.set_to(absl::StrCat("+1415555010", s));
          const std::string body =
              absl::StrCat("crash c", cycle, " s", s, " n", next_n[s]++);
          request.set_body(body);
          auto sent = client->SendMessage(request);
          absl::MutexLock lock(&mu);
          if (sent.ok()) {
            accepted.insert(body);
          } else {
            ++unanswered;
          }
        }
      });
    }
    const int pause_ms = std::uniform_int_distribution<int>(300, 2500)(rng);
    absl::SleepFor(absl::Milliseconds(pause_ms));
    server->Stop(SIGKILL);
    stop.store(true);
    for (std::thread& t : senders) t.join();
  }

  // The last start reconciles and sends what was left: wait for the drain.
  DbView view;
  const absl::Time deadline = absl::Now() + absl::Seconds(90);
  do {
    absl::SleepFor(absl::Milliseconds(200));
    view = ReadDb(db_path);
  } while (view.pending != 0 && absl::Now() < deadline);
  EXPECT_EQ(view.pending, 0);
  server->Stop(SIGTERM);

  const Json messages = twilio.Messages();
  const testing::ExactlyOnceAudit audit =
      testing::AuditExactlyOnce(accepted, messages, view.sid_by_body);
  const int lost = audit.lost;
  const int duplicated = audit.duplicated;
  const int missing_in_db = audit.missing_in_db;
  int possible_duplicates = 0;
  int reconciled_found = 0;
  for (const std::string& path : logs) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("possible duplicate") != std::string::npos) {
        ++possible_duplicates;
      }
      if (line.find("reconciled: provider has the message") !=
          std::string::npos) {
        ++reconciled_found;
      }
    }
  }
  const Json figures = {{"kills", kills},
                        {"senders", kSenders},
                        {"accepted", accepted.size()},
                        {"unanswered_calls", unanswered},
                        {"stored_outbound", view.sid_by_body.size()},
                        {"created_at_fake", messages.size()},
                        {"reconciled_found", reconciled_found},
                        {"possible_duplicates", possible_duplicates},
                        {"lost", lost},
                        {"duplicated", duplicated},
                        {"missing_in_db", missing_in_db}};
  std::cout << "crash harness: " << figures.dump() << "\n";
  if (const char* out = std::getenv("CRASH_HARNESS_JSON")) {
    std::ofstream(out) << figures.dump() << "\n";
  }
  EXPECT_GT(accepted.size(), 0u);
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(missing_in_db, 0);
}

}  // namespace
}  // namespace smsgw

// The PostgreSQL engine's base (storage/postgres/pg_database.h): the
// SQLSTATE mapping and conninfo redaction in process, then connections,
// errors, the pool, transactions and migrations against a real throwaway
// PostgreSQL 15 server (tests/testing/postgres_server.h).
#include "storage/postgres/pg_database.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::storage::postgres {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// --- in process ---

TEST(SqlStateToStatusTest, MapsTheClassesTheStoresRelyOn) {
  const std::vector<std::pair<std::string, absl::StatusCode>> table = {
      {"23505", absl::StatusCode::kAlreadyExists},
      {"23503", absl::StatusCode::kFailedPrecondition},
      {"23514", absl::StatusCode::kFailedPrecondition},
      {"23502", absl::StatusCode::kInvalidArgument},
      {"22012", absl::StatusCode::kInvalidArgument},
      {"22P02", absl::StatusCode::kInvalidArgument},
      {"40001", absl::StatusCode::kAborted},
      {"40P01", absl::StatusCode::kAborted},
      {"55P03", absl::StatusCode::kAborted},
      {"25P02", absl::StatusCode::kAborted},
      {"57014", absl::StatusCode::kDeadlineExceeded},
      {"08006", absl::StatusCode::kUnavailable},
      {"57P01", absl::StatusCode::kUnavailable},
      {"57P03", absl::StatusCode::kUnavailable},
      {"53300", absl::StatusCode::kUnavailable},
      {"53100", absl::StatusCode::kResourceExhausted},
      {"28P01", absl::StatusCode::kPermissionDenied},
      {"42P01", absl::StatusCode::kFailedPrecondition},
      {"42703", absl::StatusCode::kFailedPrecondition},
      {"42601", absl::StatusCode::kInternal},
      {"XX000", absl::StatusCode::kInternal},
      {"", absl::StatusCode::kInternal},
      {"2350", absl::StatusCode::kInternal},
  };
  for (const auto& [state, code] : table) {
    absl::Status s = SqlStateToStatus(state, "insert failed");
    EXPECT_EQ(s.code(), code) << state;
    EXPECT_THAT(std::string(s.message()), HasSubstr("insert failed")) << state;
  }
}

TEST(RedactConninfoTest, HidesThePasswordInUrisAndDsns) {
  SMSGW_ASSERT_OK_AND_ASSIGN(
      std::string uri,
      RedactConninfo("postgresql://smsgw:s3cr3t-pw@db.example:5433/smsgw"));
  EXPECT_THAT(uri, HasSubstr("password=***"));
  EXPECT_THAT(uri, HasSubstr("host=db.example"));
  EXPECT_THAT(uri, Not(HasSubstr("s3cr3t-pw")));
  SMSGW_ASSERT_OK_AND_ASSIGN(
      std::string dsn, RedactConninfo("host=/tmp user=a password='x y z'"));
  EXPECT_THAT(dsn, Not(HasSubstr("x y z")));
  EXPECT_THAT(dsn, HasSubstr("user=a"));
  for (const char* bad : {"postgresql://a:pw@[::1", "host='unterminated",
                          "nonsense_keyword=1 password=leak"}) {
    absl::StatusOr<std::string> r = RedactConninfo(bad);
    ASSERT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
    EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr("pw")));
    EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr("leak")));
  }
}

TEST(LooksLikeConninfoTest, TellsUrlsAndDsnsFromFilePaths) {
  EXPECT_TRUE(LooksLikeConninfo("postgresql://u@h/db"));
  EXPECT_TRUE(LooksLikeConninfo("postgres://u@h/db"));
  EXPECT_TRUE(LooksLikeConninfo("host=/tmp/x dbname=smsgw"));
  EXPECT_FALSE(LooksLikeConninfo("./data/smsgw.db"));
  EXPECT_FALSE(LooksLikeConninfo("/var/lib/smsgw/smsgw.db"));
}

// --- against a real server ---

class PgDatabaseTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<testing::PostgresServer>> started =
        testing::PostgresServer::Start();
    if (started.ok()) {
      server_ = started->release();
    } else {
      start_error_ = new absl::Status(started.status());
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (server_ == nullptr) {
      if (testing::PostgresRequired()) {
        FAIL() << "SMSGW_REQUIRE_PG=1 and no PostgreSQL: " << *start_error_;
      }
      GTEST_SKIP() << "no PostgreSQL server: " << *start_error_;
    }
  }

  std::unique_ptr<PgPool> Pool(int size = 2,
                               absl::Duration wait = absl::Seconds(5)) {
    PgPoolOptions options;
    options.conninfo = server_->conninfo();
    options.size = size;
    options.acquire_timeout = wait;
    absl::StatusOr<std::unique_ptr<PgPool>> pool = PgPool::Create(options);
    EXPECT_THAT(pool, IsOk());
    return pool.ok() ? *std::move(pool) : nullptr;
  }

  // A fresh database per test, so tests share the server but not tables.
  std::string NewDatabase(const std::string& name) {
    auto admin = Pool(1);
    EXPECT_THAT(admin->WithConnection([&](PgConnection& c) {
      return c.Exec("CREATE DATABASE " + name);
    }), IsOk());
    return server_->conninfo(name);
  }

  static testing::PostgresServer* server_;
  static absl::Status* start_error_;
};

testing::PostgresServer* PgDatabaseTest::server_ = nullptr;
absl::Status* PgDatabaseTest::start_error_ = nullptr;

TEST_F(PgDatabaseTest, ExecutesWithTextParametersAndReadsRows) {
  auto pool = Pool();
  ASSERT_THAT(pool->WithConnection([](PgConnection& c) -> absl::Status {
    SMSGW_RETURN_IF_ERROR(
        c.Exec("CREATE TEMP TABLE t (id BIGINT PRIMARY KEY, body TEXT)"));
    for (int i = 0; i < 2; ++i) {  // the second run uses the cached statement
      SMSGW_RETURN_IF_ERROR(
          c.Execute("INSERT INTO t VALUES ($1, $2)",
                    {absl::StrCat(i + 1), i == 0 ? std::optional<std::string>(
                                                       "x'); DROP TABLE t;--")
                                                 : std::nullopt})
              .status());
    }
    SMSGW_ASSIGN_OR_RETURN(PgResult r,
                           c.Execute("SELECT id, body FROM t ORDER BY id"));
    EXPECT_EQ(r.rows(), 2);
    EXPECT_EQ(r.Int(0, 0), 1);
    EXPECT_EQ(r.Text(0, 1), "x'); DROP TABLE t;--");
    EXPECT_TRUE(r.IsNull(1, 1));
    SMSGW_ASSIGN_OR_RETURN(PgResult u,
                           c.Execute("UPDATE t SET body = 'y' WHERE id > $1",
                                     {std::string("0")}));
    EXPECT_EQ(u.affected(), 2);
    EXPECT_THAT(c.Execute("SELECT $1::text", {std::string("a\0b", 3)}),
                StatusIs(absl::StatusCode::kInvalidArgument));
    return absl::OkStatus();
  }), IsOk());
}

TEST_F(PgDatabaseTest, ServerErrorsMapToStatusCodes) {
  auto pool = Pool();
  ASSERT_THAT(pool->WithConnection([](PgConnection& c) -> absl::Status {
    SMSGW_RETURN_IF_ERROR(c.Exec("CREATE TEMP TABLE u (k TEXT PRIMARY KEY)"));
    SMSGW_RETURN_IF_ERROR(
        c.Execute("INSERT INTO u VALUES ($1)", {std::string("a")}).status());
    EXPECT_THAT(c.Execute("INSERT INTO u VALUES ($1)", {std::string("a")}),
                StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("23505")));
    EXPECT_THAT(c.Execute("SELECT 1 / 0"),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(c.Execute("SELECT * FROM no_such_table"),
                StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_THAT(c.Exec("SELEC 1"), StatusIs(absl::StatusCode::kInternal));
    SMSGW_RETURN_IF_ERROR(c.Exec("SET statement_timeout = '50ms'"));
    EXPECT_THAT(c.Execute("SELECT pg_sleep(2)"),
                StatusIs(absl::StatusCode::kDeadlineExceeded));
    return c.Exec("RESET statement_timeout");
  }), IsOk());
}

TEST_F(PgDatabaseTest, BadTargetsFailAtCreateWithoutThePassword) {
  PgPoolOptions options;
  options.conninfo =
      "host=" + server_->dir() + "/nowhere user=smsgw password=hunter2-xyz";
  absl::StatusOr<std::unique_ptr<PgPool>> pool = PgPool::Create(options);
  ASSERT_THAT(pool, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(std::string(pool.status().message()), Not(HasSubstr("hunter2")));
  EXPECT_THAT(std::string(pool.status().message()), HasSubstr("password=***"));

  options.conninfo = server_->conninfo("no_such_db");
  EXPECT_THAT(PgPool::Create(options), StatusIs(absl::StatusCode::kUnavailable,
                                                HasSubstr("no_such_db")));
  options.conninfo = "postgresql://[";
  EXPECT_THAT(PgPool::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument));
  options.conninfo = server_->conninfo();
  options.size = 0;
  EXPECT_THAT(PgPool::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(PgDatabaseTest, TransactionsCommitOrRollBack) {
  auto pool = Pool();
  ASSERT_THAT(pool->WithConnection([](PgConnection& c) {
    return c.Exec("CREATE TABLE tx_t (v INT)");
  }), IsOk());
  ASSERT_THAT(pool->Transaction([](PgConnection& c) {
    return c.Exec("INSERT INTO tx_t VALUES (1)");
  }), IsOk());
  EXPECT_THAT(pool->Transaction([](PgConnection& c) -> absl::Status {
    SMSGW_RETURN_IF_ERROR(c.Exec("INSERT INTO tx_t VALUES (2)"));
    return absl::InvalidArgumentError("caller gave up");
  }), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(pool->WithConnection([](PgConnection& c) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(PgResult r, c.Execute("SELECT COUNT(*) FROM tx_t"));
    EXPECT_EQ(r.Int(0, 0), 1);
    return c.Exec("DROP TABLE tx_t");
  }), IsOk());
  // An Aborted failure is retried: the second attempt commits.
  int attempts = 0;
  EXPECT_THAT(pool->Transaction([&](PgConnection& c) -> absl::Status {
    if (++attempts == 1) return absl::AbortedError("serialization failure");
    return c.Exec("SELECT 1");
  }), IsOk());
  EXPECT_EQ(attempts, 2);
}

TEST_F(PgDatabaseTest, ThePoolIsBoundedAndTimesOut) {
  auto pool = Pool(/*size=*/1, /*wait=*/absl::Milliseconds(200));
  absl::Notification holding, release;
  std::thread holder([&] {
    EXPECT_THAT(pool->WithConnection([&](PgConnection&) {
      holding.Notify();
      release.WaitForNotification();
      return absl::OkStatus();
    }), IsOk());
  });
  holding.WaitForNotification();
  EXPECT_THAT(pool->WithConnection([](PgConnection&) {
    return absl::OkStatus();
  }), StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("busy")));
  release.Notify();
  holder.join();
  EXPECT_THAT(pool->WithConnection([](PgConnection&) {
    return absl::OkStatus();
  }), IsOk());
  EXPECT_EQ(pool->open_connections(), 1);
}

TEST_F(PgDatabaseTest, ABrokenConnectionIsDroppedAndReplaced) {
  auto pool = Pool(2);
  int first_pid = 0;
  ASSERT_THAT(pool->WithConnection([&](PgConnection& c) {
    first_pid = c.BackendPid();
    return absl::OkStatus();
  }), IsOk());
  // Another session ends our idle backend, as a server restart would.
  auto killer = Pool(1);
  ASSERT_THAT(killer->WithConnection([&](PgConnection& c) {
    return c.Execute("SELECT pg_terminate_backend($1)",
                     {absl::StrCat(first_pid)}).status();
  }), IsOk());
  absl::Status broken = pool->WithConnection([](PgConnection& c) {
    return c.Execute("SELECT 1").status();
  });
  EXPECT_THAT(broken, StatusIs(absl::StatusCode::kUnavailable));
  int second_pid = 0;
  ASSERT_THAT(pool->WithConnection([&](PgConnection& c) -> absl::Status {
    second_pid = c.BackendPid();
    return c.Execute("SELECT 1").status();
  }), IsOk());
  EXPECT_NE(second_pid, first_pid);
}

TEST_F(PgDatabaseTest, ReplicasStartingTogetherApplyEachMigrationOnce) {
  const std::string db = NewDatabase("migrations_race");
  const std::vector<Migration> migrations = {
      {1, "one", "CREATE TABLE a (x INT); SELECT pg_sleep(0.2);"},
      {2, "two", "CREATE TABLE b (y INT)"},
  };
  std::vector<std::thread> replicas;
  std::atomic<int> ok{0};
  for (int i = 0; i < 3; ++i) {
    replicas.emplace_back([&] {
      PgPoolOptions options;
      options.conninfo = db;
      options.size = 1;
      absl::StatusOr<std::unique_ptr<PgPool>> pool = PgPool::Create(options);
      if (!pool.ok()) return;
      absl::StatusOr<int> version = ApplyPgMigrations(**pool, migrations);
      EXPECT_THAT(version, IsOk());
      if (version.ok() && *version == 2) ok.fetch_add(1);
    });
  }
  for (std::thread& t : replicas) t.join();
  EXPECT_EQ(ok.load(), 3);

  PgPoolOptions options;
  options.conninfo = db;
  SMSGW_ASSERT_OK_AND_ASSIGN(std::unique_ptr<PgPool> pool,
                             PgPool::Create(options));
  ASSERT_THAT(pool->WithConnection([](PgConnection& c) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute("SELECT version FROM schema_migrations ORDER BY version"));
    EXPECT_EQ(r.rows(), 2);
    return absl::OkStatus();
  }), IsOk());
  // A server that knows fewer migrations refuses the newer schema.
  EXPECT_THAT(ApplyPgMigrations(*pool, {migrations[0]}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("newer than this smsgw-server knows")));
  // A failing migration is rolled back and named.
  std::vector<Migration> broken = migrations;
  broken.push_back({3, "three", "CREATE TABLE c (z INT); SELEC 1;"});
  EXPECT_THAT(ApplyPgMigrations(*pool, broken),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("migration 3 (three) failed")));
  ASSERT_THAT(pool->WithConnection([](PgConnection& c) -> absl::Status {
    EXPECT_THAT(c.Execute("SELECT * FROM c"),
                StatusIs(absl::StatusCode::kFailedPrecondition));
    return absl::OkStatus();
  }), IsOk());
}

}  // namespace
}  // namespace smsgw::storage::postgres

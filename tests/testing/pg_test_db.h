// File: pg_test_db.h
//
// A migrated PostgreSQL database for the store tests (issue 13): one
// throwaway server per test process (postgres_server.h), started on first
// use and stopped at exit, and a fresh database per call, so tests never
// see each other's rows. Header-only: smsgw_testing does not link
// smsgw_storage_postgres; the test binaries that include this do.
#ifndef SMSGW_TESTS_TESTING_PG_TEST_DB_H_
#define SMSGW_TESTS_TESTING_PG_TEST_DB_H_

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "storage/postgres/pg_database.h"
#include "storage/postgres/pg_migrations.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_server.h"

namespace smsgw::testing {

// This process's server, or the reason there is none.
inline absl::StatusOr<PostgresServer*> SharedPostgresServer() {
  static auto* server =
      new absl::StatusOr<std::unique_ptr<PostgresServer>>(PostgresServer::Start());
  // Stopped at exit: a leaked postmaster would outlive the test.
  static const int stopper = std::atexit([] { delete server; });
  (void)stopper;
  if (!server->ok()) return server->status();
  return server->value().get();
}

// A new database on this process's server, migrated to AllPgMigrations(),
// for one test: pools on it stand for replicas sharing it.
class PgTestDatabase {
 public:
  PgTestDatabase() {
    absl::StatusOr<PostgresServer*> server = SharedPostgresServer();
    if (!server.ok()) {
      status_ = server.status();
      return;
    }
    static std::atomic<int> next{0};
    conninfo_ = (*server)->conninfo(absl::StrCat("t", ::getpid(), "_", next++));
    status_ = Create(**server);
  }

  // OK, or why there is no database (no server, a failing migration).
  const absl::Status& status() const { return status_; }
  // The database's libpq key=value conninfo (socket dir, user, dbname).
  const std::string& conninfo() const { return conninfo_; }
  // The first pool, on which the migrations ran.
  storage::postgres::PgPool* pool() { return pool_.get(); }
  // Another pool on the same database: a second replica.
  absl::StatusOr<std::unique_ptr<storage::postgres::PgPool>> NewPool(
      int size = 4) const {
    storage::postgres::PgPoolOptions options;
    options.conninfo = conninfo_;
    options.size = size;
    return storage::postgres::PgPool::Create(options);
  }

 private:
  absl::Status Create(const PostgresServer& server) {
    storage::postgres::PgPoolOptions admin;
    admin.conninfo = server.conninfo();
    admin.size = 1;
    absl::StatusOr<std::unique_ptr<storage::postgres::PgPool>> root =
        storage::postgres::PgPool::Create(admin);
    if (!root.ok()) return root.status();
    const std::string name = conninfo_.substr(conninfo_.rfind('=') + 1);
    absl::Status created = (*root)->WithConnection(
        [&](storage::postgres::PgConnection& c) {
          return c.Exec("CREATE DATABASE " + name);
        });
    if (!created.ok()) return created;
    absl::StatusOr<std::unique_ptr<storage::postgres::PgPool>> pool = NewPool();
    if (!pool.ok()) return pool.status();
    pool_ = *std::move(pool);
    return storage::postgres::ApplyPgMigrations(
               *pool_, storage::postgres::AllPgMigrations())
        .status();
  }

  absl::Status status_;
  std::string conninfo_;
  std::unique_ptr<storage::postgres::PgPool> pool_;
};

// In a test's SetUp(): without a database, fails the test when
// SMSGW_REQUIRE_PG=1 (the test command), else skips it.
#define SMSGW_REQUIRE_DATABASE(status)                        \
  do {                                                        \
    if (const absl::Status s_ = (status); !s_.ok()) {         \
      if (::smsgw::testing::PostgresRequired()) FAIL() << s_; \
      GTEST_SKIP() << s_;                                     \
    }                                                         \
  } while (false)

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_PG_TEST_DB_H_

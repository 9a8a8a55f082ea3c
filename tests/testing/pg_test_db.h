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

// A pool on a new database migrated to AllPgMigrations(); the error says
// why there is none (no server, or a failing migration).
inline absl::StatusOr<std::unique_ptr<storage::postgres::PgPool>>
OpenTestPgDatabase(int pool_size = 4) {
  absl::StatusOr<PostgresServer*> server = SharedPostgresServer();
  if (!server.ok()) return server.status();
  static std::atomic<int> next{0};
  const std::string name = absl::StrCat("t", ::getpid(), "_", next++);
  storage::postgres::PgPoolOptions admin;
  admin.conninfo = (*server)->conninfo();
  admin.size = 1;
  absl::StatusOr<std::unique_ptr<storage::postgres::PgPool>> root =
      storage::postgres::PgPool::Create(admin);
  if (!root.ok()) return root.status();
  absl::Status created = (*root)->WithConnection(
      [&](storage::postgres::PgConnection& c) {
        return c.Exec("CREATE DATABASE " + name);
      });
  if (!created.ok()) return created;
  storage::postgres::PgPoolOptions options;
  options.conninfo = (*server)->conninfo(name);
  options.size = pool_size;
  absl::StatusOr<std::unique_ptr<storage::postgres::PgPool>> pool =
      storage::postgres::PgPool::Create(options);
  if (!pool.ok()) return pool.status();
  absl::StatusOr<int> migrated = storage::postgres::ApplyPgMigrations(
      **pool, storage::postgres::AllPgMigrations());
  if (!migrated.ok()) return migrated.status();
  return pool;
}

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_PG_TEST_DB_H_

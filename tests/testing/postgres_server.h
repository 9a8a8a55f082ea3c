// File: postgres_server.h
//
// A throwaway PostgreSQL 15 server for tests (issue 13): initdb and pg_ctl
// from Debian's postgresql-15 in a fresh temp dir, its socket in that dir,
// no TCP listener (listen_addresses=''), so nothing clashes with another
// server or test; stopped and removed by the destructor. initdb refuses to
// run as root, so as root both run as the `postgres` user (runuser) the
// package created. Durability settings are off unless asked for: test
// servers hold test data only, while the benchmark measures the durable
// set-up a production server runs.
#ifndef SMSGW_TESTS_TESTING_POSTGRES_SERVER_H_
#define SMSGW_TESTS_TESTING_POSTGRES_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace smsgw::testing {

// Whether a test that cannot start a server must fail instead of skip:
// SMSGW_REQUIRE_PG=1, which scripts/test.sh (the README's test command,
// CI's) sets, because install-deps.sh installs the server.
bool PostgresRequired();

class PostgresServer {
 public:
  // Starts a server (about 1-2 s). Unavailable, naming what is missing,
  // when the binaries are not installed or the server does not start (its
  // log is in the message). `durable`: fsync, synchronous_commit and
  // full_page_writes on (PostgreSQL's defaults), so that a commit is on disk
  // before it returns; off (the tests' default) they are all off.
  // `track_statements`: loads pg_stat_statements (the database still needs
  // CREATE EXTENSION pg_stat_statements), for the benchmark's profile.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(
      bool durable = false, bool track_statements = false);

  // pg_ctl stop -m immediate, then removes the directory.
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A key=value DSN for database `dbname` as the superuser "smsgw".
  std::string conninfo(const std::string& dbname = "postgres") const;

  // pg_ctl restart -m fast: every open connection breaks.
  absl::Status Restart();

  const std::string& dir() const { return dir_; }

 private:
  explicit PostgresServer(std::string dir) : dir_(std::move(dir)) {}
  absl::Status PgCtl(const std::vector<std::string>& args) const;

  std::string dir_;
};

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_POSTGRES_SERVER_H_

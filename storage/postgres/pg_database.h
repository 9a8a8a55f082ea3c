// File: pg_database.h
//
// The PostgreSQL engine's base (issue 13, part 2), on libpq 15 directly (no
// ORM, no exceptions): a connection with a per-connection cache of prepared
// statements, results, a bounded connection pool, transactions, and the one
// mapping from SQLSTATE to absl::Status. The stores of storage/postgres/ are
// built on it, as storage/sqlite/'s are on database.h.
//
//   SMSGW_ASSIGN_OR_RETURN(std::unique_ptr<PgPool> pool,
//                          PgPool::Create({.conninfo = url, .size = 8}));
//   SMSGW_RETURN_IF_ERROR(pool->Transaction([&](PgConnection& c) {
//     return c.Execute("INSERT INTO t(a) VALUES ($1)", {"x"}).status();
//   }));
//
// Parameters travel as text in libpq's own $n placeholders, never spliced
// into SQL. A connection is used by one thread at a time (the pool's lease).
// Durability: the server's synchronous_commit is left at its default (on),
// so a committed Transaction() is on the server's disk when it returns.
#ifndef SMSGW_STORAGE_POSTGRES_PG_DATABASE_H_
#define SMSGW_STORAGE_POSTGRES_PG_DATABASE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/schema_migrations.h"

// libpq's types, kept out of this header's users.
struct pg_conn;
struct pg_result;

namespace smsgw::storage::postgres {

// Maps a five-character SQLSTATE (PostgreSQL manual, Appendix A) to a
// status code, with `message` as the status message. The one mapping of the
// engine:
//   23505 unique_violation                         -> AlreadyExists
//   23503 foreign_key_violation, 23514 check,
//   55000 object_not_in_prerequisite_state        -> FailedPrecondition
//   22xxx data exception, 23502 not_null           -> InvalidArgument
//   40001 serialization_failure, 40P01 deadlock,
//   55P03 lock_not_available, 25P02 aborted tx     -> Aborted (retry the tx)
//   57014 query_canceled (statement_timeout)       -> DeadlineExceeded
//   08xxx connection, 57P01-57P03 shutdown/starting,
//   53300 too_many_connections                     -> Unavailable
//   53xxx other insufficient resources             -> ResourceExhausted
//   28xxx invalid authorization                    -> PermissionDenied
//   42P01 undefined_table, 42703 undefined_column  -> FailedPrecondition
//                                                     (schema not migrated)
//   anything else (42601 syntax, XX000 internal)   -> Internal
// An empty or malformed SQLSTATE is Internal.
absl::Status SqlStateToStatus(absl::string_view sqlstate,
                              absl::string_view message);

// `conninfo` (a libpq URI "postgresql://user:pw@host/db?..." or key=value
// DSN) with any password replaced by "***", fit for logs and error
// messages. InvalidArgument (naming the problem, never echoing the input)
// when libpq cannot parse it.
absl::StatusOr<std::string> RedactConninfo(absl::string_view conninfo);

// Whether `target` names a PostgreSQL database rather than an SQLite file:
// a "postgresql://" or "postgres://" URI, or a key=value DSN.
bool LooksLikeConninfo(absl::string_view target);

// The parameters of PgConnection::Execute(): text values for $1, $2, ...;
// nullopt is NULL.
using PgParams = std::vector<std::optional<std::string>>;

// `t` as a parameter in the schema's time representation: BIGINT
// microseconds since the Unix epoch (no timestamptz: the same integer both
// engines store, so times round-trip exactly; pg_migrations.cc).
std::string PgTime(absl::Time t);

// `t` as PgTime(), or NULL when unset.
std::optional<std::string> PgOptTime(std::optional<absl::Time> t);

// `b` as a BOOLEAN parameter ("true" / "false").
std::string PgBool(bool b);

// An integer parameter (ids, counts, enum numbers) as decimal text.
std::string PgInt(int64_t n);

// One query's result rows. Move-only; frees the libpq result.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* result);
  ~PgResult();
  PgResult(PgResult&& other) noexcept;
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const;
  int columns() const;
  // Rows changed by an INSERT/UPDATE/DELETE (PQcmdTuples); 0 otherwise.
  int64_t affected() const;
  bool IsNull(int row, int col) const;
  // The value as text ("" for NULL).
  std::string Text(int row, int col) const;
  // The value as an integer; 0 for NULL or a non-integer.
  int64_t Int(int row, int col) const;
  // A BOOLEAN column: true for 't'; false for 'f' and NULL.
  bool Bool(int row, int col) const;
  // A time column as the schema stores times (BIGINT microseconds since the
  // Unix epoch; see PgTime); the epoch for NULL.
  absl::Time Time(int row, int col) const;

 private:
  pg_result* result_ = nullptr;
};

// One libpq connection. Not thread-safe: one user at a time (PgPool).
class PgConnection {
 public:
  // Connects to `conninfo`. InvalidArgument for a malformed conninfo;
  // Unavailable when the server cannot be reached or refuses (the message
  // has libpq's reason and the redacted conninfo, never the password).
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(
      absl::string_view conninfo);

  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs `sql` (one or more statements, no parameters): DDL, BEGIN, ...
  // Errors by SqlStateToStatus().
  absl::Status Exec(absl::string_view sql);

  // Runs one statement with text parameters ($1, $2, ...; nullopt = NULL),
  // prepared once per connection and cached by its text. Errors by
  // SqlStateToStatus(); Unavailable when the connection broke.
  absl::StatusOr<PgResult> Execute(
      absl::string_view sql,
      const std::vector<std::optional<std::string>>& params = {});

  // Whether the connection is still usable (libpq CONNECTION_OK and not
  // inside a failed transaction).
  bool Healthy() const;

  // The server's backend process id (pg_backend_pid()), for tests and logs.
  int BackendPid() const;

  // After LISTEN on this connection: waits up to `timeout` for a NOTIFY
  // and consumes every one that arrived. True when at least one did, false
  // on timeout. Unavailable when the connection broke (open a new one and
  // LISTEN again: notifications sent meanwhile are lost, so callers must
  // not rely on them alone).
  absl::StatusOr<bool> AwaitNotification(absl::Duration timeout);

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  absl::Status ResultStatus(pg_result* result, absl::string_view what) const;

  pg_conn* conn_;
  // SQL text -> prepared statement name.
  absl::flat_hash_map<std::string, std::string> prepared_;
};

struct PgPoolOptions {
  // libpq URI or key=value DSN. Required.
  std::string conninfo;
  // Connections at most, opened on demand; at least 1.
  int size = 8;
  // How long Acquire() waits for a free connection before giving up.
  absl::Duration acquire_timeout = absl::Seconds(5);
};

// A bounded pool of connections, shared by every store of one server.
// Thread-safe.
class PgPool {
 public:
  // Opens one connection at once, so that a bad conninfo, an unreachable
  // server or bad credentials fail here, at start-up, with one sentence.
  // InvalidArgument for a size < 1 or a malformed conninfo; Unavailable /
  // PermissionDenied from the first connection.
  static absl::StatusOr<std::unique_ptr<PgPool>> Create(PgPoolOptions options);

  ~PgPool();

  // Runs `work` on a leased connection. ResourceExhausted when no
  // connection frees up within acquire_timeout; Unavailable when a new one
  // cannot be opened. A connection that broke or was left inside a
  // transaction is closed, not returned to the pool.
  absl::Status WithConnection(
      const std::function<absl::Status(PgConnection&)>& work);

  // Runs `work` inside BEGIN ... COMMIT on a leased connection: committed
  // when it returns OK, rolled back otherwise (and when COMMIT fails). A
  // serialization failure or deadlock (Aborted) is retried up to `retries`
  // more times with the work run again from the start, so `work` must have
  // no effect outside the transaction.
  absl::Status Transaction(
      const std::function<absl::Status(PgConnection&)>& work, int retries = 3);

  // The conninfo with its password redacted.
  const std::string& redacted_conninfo() const { return redacted_; }
  // A new connection outside the pool, on the same conninfo: for a
  // session that lives as long as its owner (LISTEN). PgConnection::Connect
  // errors.
  absl::StatusOr<std::unique_ptr<PgConnection>> ConnectUnpooled() const;
  // Open connections (leased or idle).
  int open_connections() const;

 private:
  PgPool(PgPoolOptions options, std::string redacted);
  absl::StatusOr<std::unique_ptr<PgConnection>> Lease();
  void Return(std::unique_ptr<PgConnection> conn);

  const PgPoolOptions options_;
  const std::string redacted_;
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

// Applies the `migrations` newer than the database's schema_migrations
// version, each in its own transaction, under a session advisory lock
// (pg_advisory_lock on hashtext(current_database() || ':smsgw')), so that
// replicas starting together apply each migration once: the others wait,
// then find nothing to do. Returns the version afterwards.
// FailedPrecondition when the database is newer than `migrations` know (a
// newer server ran on it) or a migration fails (rolled back, named).
absl::StatusOr<int> ApplyPgMigrations(PgPool& pool,
                                      const std::vector<Migration>& migrations);

}  // namespace smsgw::storage::postgres

#endif  // SMSGW_STORAGE_POSTGRES_PG_DATABASE_H_

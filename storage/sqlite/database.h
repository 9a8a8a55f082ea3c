// File: database.h
//
// RAII wrapper over one SQLite database file: a single writer connection and a
// small pool of reader connections (WAL mode lets readers run beside the
// writer), prepared statements cached per connection, and transactions.
//
// Error codes (STYLE.md): SQLITE_CONSTRAINT_UNIQUE / PRIMARYKEY -> AlreadyExists;
// no row -> NotFound (by the stores); SQLITE_BUSY / LOCKED -> Unavailable;
// SQLITE_CORRUPT / NOTADB -> DataLoss; SQLITE_FULL -> ResourceExhausted;
// anything else -> Internal.
//
// Durability guarantee (issue "Durable dispatch"): the database runs in WAL
// mode with synchronous=FULL, so Write() returns only after the WAL frames of
// the transaction were fsync()ed. Hence a SendMessage that answered OK
// (PENDING or QUEUED) was committed before the answer left the server and
// survives kill -9 of the server (the WAL is replayed at the next open) and
// power loss or an OS crash (the WAL is on stable storage, given a disk that
// honours fsync). synchronous=NORMAL would keep the database consistent after
// power loss but could lose the last transactions, i.e. accepted messages.
// The dispatcher relies on the same guarantee for its in-flight marker
// (messages.dispatch_started_time), committed before each provider call.
//
// Group commit (issue "Performance"): an fsync costs far more than the
// statements of a typical write, and the writer connection is one. So Write()
// callers that arrive while a transaction is committing queue up, and the
// next of them (the leader) runs the whole queue in ONE transaction, each
// caller's function inside its own SAVEPOINT, then commits once: one fsync
// for the batch, every caller still returns only after its writes are on
// disk, and a caller whose function fails is rolled back to its savepoint
// without touching the others. Durability is unchanged; only the number of
// fsyncs per write drops as concurrency rises.
#ifndef SMSGW_STORAGE_SQLITE_DATABASE_H_
#define SMSGW_STORAGE_SQLITE_DATABASE_H_

#include <sqlite3.h>

#include <cstdint>
#include <deque>
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

namespace smsgw::storage::sqlite {

// Maps an SQLite result code (extended codes included) to an absl::Status
// with `context` and SQLite's message. SQLITE_OK/ROW/DONE map to OK.
absl::Status SqliteError(int code, absl::string_view context,
                         absl::string_view detail);

// Converts between absl::Time and the INTEGER microseconds since the Unix
// epoch that every time column holds.
int64_t ToMicros(absl::Time t);
absl::Time FromMicros(int64_t micros);

class Connection;

// A prepared statement, reset and with its bindings cleared when the handle
// is destroyed, so the owning Connection can reuse it. Not thread-safe; lives
// within one Connection use.
class Statement {
 public:
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds by 1-based index. Chainable; a bind error surfaces from Step().
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, int value) { return Bind(index, int64_t{value}); }
  Statement& Bind(int index, bool value) { return Bind(index, int64_t{value}); }
  Statement& Bind(int index, double value);
  Statement& Bind(int index, absl::string_view value);
  Statement& Bind(int index, const std::string& value) {
    return Bind(index, absl::string_view(value));
  }
  Statement& Bind(int index, const char* value) {
    return Bind(index, absl::string_view(value));
  }
  Statement& Bind(int index, absl::Time value) {
    return Bind(index, ToMicros(value));
  }
  // Binds NULL when `value` is empty.
  template <typename T>
  Statement& Bind(int index, const std::optional<T>& value) {
    if (!value.has_value()) return BindNull(index);
    return Bind(index, *value);
  }
  Statement& BindNull(int index);

  // Advances. Returns true when a row is available, false when done; an
  // error status as mapped by SqliteError().
  absl::StatusOr<bool> Step();
  // Runs to completion, ignoring rows. Returns the mapped error, if any.
  absl::Status Run();

  // Column accessors for the current row (0-based).
  bool IsNull(int col) const;
  int64_t Int(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;
  std::optional<std::string> OptText(int col) const;
  std::optional<int64_t> OptInt(int col) const;
  absl::Time Time(int col) const { return FromMicros(Int(col)); }
  std::optional<absl::Time> OptTime(int col) const;

 private:
  sqlite3_stmt* stmt_;
  sqlite3* db_;
  int bind_error_ = SQLITE_OK;
};

// One sqlite3 connection with its statement cache. Not thread-safe: a
// Connection is used by one thread at a time (Database hands them out).
class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Returns the cached prepared statement for `sql`, preparing it on first
  // use. Internal (with SQLite's message) when `sql` does not compile.
  absl::StatusOr<Statement> Prepare(absl::string_view sql);
  // Runs one or more statements without results (DDL, pragmas).
  absl::Status Exec(absl::string_view sql);
  // Rows changed by the last INSERT/UPDATE/DELETE.
  int64_t Changes() const;
  int64_t LastInsertRowId() const;
  sqlite3* raw() const { return db_; }

 private:
  friend class Database;
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  absl::flat_hash_map<std::string, sqlite3_stmt*> cache_;
};

// An open database file. Thread-safe: writes are serialised on the writer
// connection (one writer at a time, as SQLite allows), reads use pooled
// reader connections.
class Database {
 public:
  struct Options {
    std::string path;  // file path, or ":memory:"-style paths are refused
    int reader_connections = 4;
    absl::Duration busy_timeout = absl::Seconds(5);
    // synchronous=FULL: a committed transaction survives power loss, which
    // is what "accepted" means for a message (DESIGN.md §5).
    bool synchronous_full = true;
  };

  // Opens (creating if needed) the file, parent directory included, sets WAL
  // mode, foreign keys, busy timeout, and applies pending migrations.
  // Returns InvalidArgument for an empty path, Unavailable when the file
  // cannot be opened or is locked, DataLoss when it is not a database, and
  // FailedPrecondition when a migration fails (the file is left as it was)
  // or the file's schema is newer than this binary.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const Options& options);

  ~Database();

  // Runs `fn` in a transaction on the writer connection and returns after it
  // was committed (synced to disk). Concurrent calls share one transaction
  // and one commit (group commit, above); `fn` then runs inside its own
  // SAVEPOINT and sees the writes of the callers batched before it, as if
  // they had committed just before. When `fn` returns an error its writes
  // are rolled back and that error is returned unchanged; the others in the
  // batch are unaffected. When the COMMIT itself fails, or an error makes
  // SQLite abandon the whole transaction (SQLITE_FULL, I/O errors), every
  // caller of the batch whose writes were lost gets that error (mapped as in
  // SqliteError). `fn` runs on whichever caller's thread leads the batch and
  // must not call Write() or Read() itself.
  absl::Status Write(const std::function<absl::Status(Connection&)>& fn);

  // Transactions committed and Write() calls served since Open(): their
  // ratio is the mean group-commit batch size (for benchmarks and metrics).
  struct WriteStats {
    int64_t transactions = 0;
    int64_t writes = 0;
  };
  WriteStats write_stats() const;

  // Runs `fn` on a reader connection (a consistent snapshot for its
  // duration when it opens a transaction itself; single statements are
  // atomic anyway).
  absl::Status Read(const std::function<absl::Status(Connection&)>& fn);

  // The schema version after migrations.
  int schema_version() const { return schema_version_; }
  const std::string& path() const { return options_.path; }

 private:
  explicit Database(Options options) : options_(std::move(options)) {}
  absl::StatusOr<std::unique_ptr<Connection>> OpenConnection(bool writer);

  const Options options_;
  int schema_version_ = 0;

  // One queued Write() call.
  struct PendingWrite {
    const std::function<absl::Status(Connection&)>* fn;
    absl::Status status;
    bool done = false;
  };
  // Runs `batch` in one transaction on writer_ and sets each status.
  void CommitBatch(const std::vector<PendingWrite*>& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // Guards the queue of writers; the front one leads the next batch.
  mutable absl::Mutex queue_mu_;
  std::deque<PendingWrite*> write_queue_ ABSL_GUARDED_BY(queue_mu_);
  bool batch_running_ ABSL_GUARDED_BY(queue_mu_) = false;
  WriteStats write_stats_ ABSL_GUARDED_BY(queue_mu_);

  // Held by the leader while it runs a batch (and by Open/destructor).
  absl::Mutex write_mu_ ABSL_ACQUIRED_AFTER(queue_mu_);
  std::unique_ptr<Connection> writer_ ABSL_GUARDED_BY(write_mu_);

  absl::Mutex read_mu_;
  std::vector<std::unique_ptr<Connection>> idle_readers_
      ABSL_GUARDED_BY(read_mu_);
};

}  // namespace smsgw::storage::sqlite

#endif  // SMSGW_STORAGE_SQLITE_DATABASE_H_

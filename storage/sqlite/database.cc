#include "storage/sqlite/database.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "storage/sqlite/migrations.h"

namespace smsgw::storage::sqlite {

absl::Status SqliteError(int code, absl::string_view context,
                         absl::string_view detail) {
  if (code == SQLITE_OK || code == SQLITE_ROW || code == SQLITE_DONE) {
    return absl::OkStatus();
  }
  std::string message = absl::StrCat(context, ": ", sqlite3_errstr(code));
  if (!detail.empty() && detail != sqlite3_errstr(code)) {
    absl::StrAppend(&message, " (", detail, ")");
  }
  switch (code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return absl::AlreadyExistsError(message);
    default:
      break;
  }
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    case SQLITE_CANTOPEN:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

int64_t ToMicros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromMicros(int64_t micros) { return absl::FromUnixMicros(micros); }

// --- Statement ----------------------------------------------------------------

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)),
      db_(other.db_),
      bind_error_(other.bind_error_) {}

Statement& Statement::Bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::Bind(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::Bind(int index, absl::string_view value) {
  const int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(),
                                     SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

Statement& Statement::BindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  return *this;
}

absl::StatusOr<bool> Statement::Step() {
  if (bind_error_ != SQLITE_OK) {
    return SqliteError(bind_error_, "bind", sqlite3_sql(stmt_));
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(sqlite3_extended_errcode(db_), "step",
                     sqlite3_errmsg(db_));
}

absl::Status Statement::Run() {
  while (true) {
    SMSGW_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return absl::OkStatus();
  }
}

bool Statement::IsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}
int64_t Statement::Int(int col) const {
  return sqlite3_column_int64(stmt_, col);
}
double Statement::Double(int col) const {
  return sqlite3_column_double(stmt_, col);
}
std::string Statement::Text(int col) const {
  const auto* text =
      reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (text == nullptr) return std::string();
  return std::string(text, sqlite3_column_bytes(stmt_, col));
}
std::optional<std::string> Statement::OptText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}
std::optional<int64_t> Statement::OptInt(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Int(col);
}
std::optional<absl::Time> Statement::OptTime(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Time(col);
}

// --- Connection ---------------------------------------------------------------

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

absl::StatusOr<Statement> Connection::Prepare(absl::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), sql.size(),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      return absl::InternalError(
          absl::StrCat("prepare: ", sqlite3_errmsg(db_), " in: ", sql));
    }
    it = cache_.emplace(std::string(sql), stmt).first;
  }
  return Statement(it->second, db_);
}

absl::Status Connection::Exec(absl::string_view sql) {
  char* error = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  std::string detail = error != nullptr ? error : "";
  sqlite3_free(error);
  if (rc != SQLITE_OK) {
    return SqliteError(sqlite3_extended_errcode(db_), "exec", detail);
  }
  return absl::OkStatus();
}

int64_t Connection::Changes() const { return sqlite3_changes64(db_); }
int64_t Connection::LastInsertRowId() const {
  return sqlite3_last_insert_rowid(db_);
}

// --- Database -----------------------------------------------------------------

absl::StatusOr<std::unique_ptr<Connection>> Database::OpenConnection(
    bool writer) {
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  const int rc = sqlite3_open_v2(options_.path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = SqliteError(
        rc, absl::StrCat("open database ", options_.path),
        db != nullptr ? sqlite3_errmsg(db) : "");
    sqlite3_close_v2(db);
    return status;
  }
  auto conn = std::unique_ptr<Connection>(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(absl::ToInt64Milliseconds(
                               options_.busy_timeout)));
  // temp_store=MEMORY: statement journals and sorters would otherwise be
  // temp files, created and unlinked per statement that needs one. (No
  // mmap: it showed no gain in the send benchmark, and every connection's
  // mapping of a large file counts in the process's RSS again.)
  std::string pragmas = "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;";
  if (writer) {
    absl::StrAppend(&pragmas, "PRAGMA journal_mode=WAL;",
                    options_.synchronous_full ? "PRAGMA synchronous=FULL;"
                                              : "PRAGMA synchronous=NORMAL;");
  }
  absl::Status status = conn->Exec(pragmas);
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("configure database ", options_.path, ": ",
                                     status.message()));
  }
  return conn;
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(
    const Options& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("database path is empty");
  }
  std::filesystem::path parent =
      std::filesystem::path(options.path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat(
          "cannot create directory ", parent.string(), ": ", ec.message()));
    }
  }
  auto database = std::unique_ptr<Database>(new Database(options));
  SMSGW_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer,
                         database->OpenConnection(/*writer=*/true));
  SMSGW_ASSIGN_OR_RETURN(database->schema_version_, ApplyMigrations(*writer));
  {
    absl::MutexLock lock(&database->write_mu_);
    database->writer_ = std::move(writer);
  }
  for (int i = 0; i < std::max(1, options.reader_connections); ++i) {
    SMSGW_ASSIGN_OR_RETURN(std::unique_ptr<Connection> reader,
                           database->OpenConnection(/*writer=*/false));
    absl::MutexLock lock(&database->read_mu_);
    database->idle_readers_.push_back(std::move(reader));
  }
  return database;
}

Database::~Database() {
  {
    absl::MutexLock lock(&queue_mu_);
    if (write_stats_.transactions > 0) {
      SMSGW_LOG(kInfo) << "database closed path=" << options_.path
                       << " writes=" << write_stats_.writes
                       << " transactions=" << write_stats_.transactions;
    }
  }
  absl::MutexLock wlock(&write_mu_);
  if (writer_ != nullptr) {
    // Fold the WAL back into the main file so a clean shutdown leaves one file.
    (void)writer_->Exec("PRAGMA wal_checkpoint(TRUNCATE);");
  }
}

namespace {

// Most writes queued behind one commit that join its successor; bounds how
// long one transaction (and the leader's caller) can grow.
constexpr size_t kMaxBatch = 512;

}  // namespace

absl::Status Database::Write(
    const std::function<absl::Status(Connection&)>& fn) {
  PendingWrite self{&fn};
  std::vector<PendingWrite*> batch;
  {
    absl::MutexLock lock(&queue_mu_);
    write_queue_.push_back(&self);
    auto can_go = [this, &self]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
      return self.done || (!batch_running_ && write_queue_.front() == &self);
    };
    queue_mu_.Await(absl::Condition(&can_go));
    if (self.done) return self.status;  // a leader committed it for us
    batch_running_ = true;
    const size_t n = std::min(write_queue_.size(), kMaxBatch);
    batch.assign(write_queue_.begin(), write_queue_.begin() + n);
  }
  {
    absl::MutexLock lock(&write_mu_);
    CommitBatch(batch);
  }
  absl::MutexLock lock(&queue_mu_);
  for (PendingWrite* w : batch) {
    w->done = true;
    write_queue_.pop_front();  // the batch is the front of the queue
  }
  batch_running_ = false;
  write_stats_.transactions += 1;
  write_stats_.writes += static_cast<int64_t>(batch.size());
  return self.status;
}

Database::WriteStats Database::write_stats() const {
  absl::MutexLock lock(&queue_mu_);
  return write_stats_;
}

void Database::CommitBatch(const std::vector<PendingWrite*>& batch) {
  Connection& conn = *writer_;
  auto fail_all = [&batch](const absl::Status& status) {
    for (PendingWrite* w : batch) {
      if (w->status.ok()) w->status = status;
    }
  };
  auto run = [&conn](absl::string_view sql) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(Statement statement, conn.Prepare(sql));
    return statement.Run();
  };
  absl::Status begun = run("BEGIN IMMEDIATE");
  if (!begun.ok()) {
    fail_all(begun);
    return;
  }
  // Writers whose savepoint was released into the transaction: they share
  // its fate at COMMIT.
  std::vector<PendingWrite*> kept;
  kept.reserve(batch.size());
  for (PendingWrite* w : batch) {
    absl::Status status = run("SAVEPOINT group_commit");
    if (status.ok()) status = (*w->fn)(conn);
    if (sqlite3_get_autocommit(conn.raw())) {
      // SQLite abandoned the whole transaction (e.g. SQLITE_FULL): the
      // writes kept so far are gone too. Start afresh for the rest.
      if (status.ok()) {
        status = absl::InternalError("transaction ended inside a write");
      }
      w->status = status;
      for (PendingWrite* k : kept) k->status = status;
      kept.clear();
      absl::Status again = run("BEGIN IMMEDIATE");
      if (!again.ok()) {
        fail_all(again);  // the writes not yet run cannot run
        return;
      }
      continue;
    }
    if (status.ok()) {
      status = run("RELEASE group_commit");
      if (status.ok()) {
        kept.push_back(w);
        continue;
      }
    }
    w->status = status;
    absl::Status undone = run("ROLLBACK TO group_commit");
    if (undone.ok()) undone = run("RELEASE group_commit");
    if (!undone.ok()) {
      SMSGW_LOG(kError) << "rollback to savepoint failed: " << undone;
    }
  }
  absl::Status committed = run("COMMIT");
  if (committed.ok()) return;
  for (PendingWrite* k : kept) k->status = committed;
  if (!sqlite3_get_autocommit(conn.raw())) {
    absl::Status rolled_back = run("ROLLBACK");
    if (!rolled_back.ok()) {
      SMSGW_LOG(kError) << "rollback failed: " << rolled_back;
    }
  }
}

absl::Status Database::Read(
    const std::function<absl::Status(Connection&)>& fn) {
  std::unique_ptr<Connection> conn;
  {
    absl::MutexLock lock(&read_mu_);
    read_mu_.Await(absl::Condition(
        +[](std::vector<std::unique_ptr<Connection>>* idle) {
          return !idle->empty();
        },
        &idle_readers_));
    conn = std::move(idle_readers_.back());
    idle_readers_.pop_back();
  }
  absl::Status status = fn(*conn);
  if (!sqlite3_get_autocommit(conn->raw())) {
    // A reader left a transaction open (an error path): end it so the
    // connection does not pin an old WAL snapshot.
    (void)conn->Exec("ROLLBACK");
  }
  absl::MutexLock lock(&read_mu_);
  idle_readers_.push_back(std::move(conn));
  return status;
}

}  // namespace smsgw::storage::sqlite

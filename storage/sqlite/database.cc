#include "storage/sqlite/database.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
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
  std::string pragmas = "PRAGMA foreign_keys=ON;";
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
  absl::MutexLock wlock(&write_mu_);
  if (writer_ != nullptr) {
    // Fold the WAL back into the main file so a clean shutdown leaves one file.
    (void)writer_->Exec("PRAGMA wal_checkpoint(TRUNCATE);");
  }
}

absl::Status Database::Write(
    const std::function<absl::Status(Connection&)>& fn) {
  absl::MutexLock lock(&write_mu_);
  Connection& conn = *writer_;
  SMSGW_ASSIGN_OR_RETURN(Statement begin, conn.Prepare("BEGIN IMMEDIATE"));
  SMSGW_RETURN_IF_ERROR(begin.Run());
  absl::Status status = fn(conn);
  if (status.ok()) {
    absl::StatusOr<Statement> commit = conn.Prepare("COMMIT");
    status = commit.ok() ? commit->Run() : commit.status();
    if (status.ok()) return status;
  }
  absl::StatusOr<Statement> rollback = conn.Prepare("ROLLBACK");
  if (rollback.ok()) {
    absl::Status rollback_status = rollback->Run();
    if (!rollback_status.ok()) {
      SMSGW_LOG(kError) << "rollback failed: " << rollback_status;
    }
  }
  return status;
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

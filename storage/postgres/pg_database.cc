#include "storage/postgres/pg_database.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/status_macros.h"

namespace smsgw::storage::postgres {
namespace {

// libpq's messages end in a newline; statuses read better without it.
std::string Trimmed(const char* message) {
  return std::string(
      absl::StripTrailingAsciiWhitespace(message != nullptr ? message : ""));
}

}  // namespace

absl::Status SqlStateToStatus(absl::string_view sqlstate,
                              absl::string_view message) {
  const std::string text = absl::StrCat(message, " (SQLSTATE ", sqlstate, ")");
  if (sqlstate.size() != 5) {
    return absl::InternalError(
        absl::StrCat(message, " (no SQLSTATE: the connection may be lost)"));
  }
  const absl::string_view cls = sqlstate.substr(0, 2);
  if (sqlstate == "23505") return absl::AlreadyExistsError(text);
  if (sqlstate == "23503" || sqlstate == "23514" || sqlstate == "55000" ||
      sqlstate == "42P01" || sqlstate == "42703") {
    return absl::FailedPreconditionError(text);
  }
  if (sqlstate == "23502" || cls == "22") {
    return absl::InvalidArgumentError(text);
  }
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03" ||
      sqlstate == "25P02") {
    return absl::AbortedError(text);
  }
  if (sqlstate == "57014") return absl::DeadlineExceededError(text);
  if (cls == "08" || sqlstate == "57P01" || sqlstate == "57P02" ||
      sqlstate == "57P03" || sqlstate == "53300") {
    return absl::UnavailableError(text);
  }
  if (cls == "53") return absl::ResourceExhaustedError(text);
  if (cls == "28") return absl::PermissionDeniedError(text);
  return absl::InternalError(text);
}

absl::StatusOr<std::string> RedactConninfo(absl::string_view conninfo) {
  char* error = nullptr;
  PQconninfoOption* options =
      PQconninfoParse(std::string(conninfo).c_str(), &error);
  if (options == nullptr) {
    // libpq's message may quote the input (and so a password): not used.
    if (error != nullptr) PQfreemem(error);
    return absl::InvalidArgumentError(
        "the PostgreSQL connection string (SMSGW_DB_URL) is malformed: use "
        "postgresql://user@host/dbname?... or key=value pairs");
  }
  std::vector<std::string> parts;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const bool secret = absl::string_view(o->keyword) == "password";
    parts.push_back(absl::StrCat(o->keyword, "=", secret ? "***" : o->val));
  }
  PQconninfoFree(options);
  return absl::StrJoin(parts, " ");
}

bool LooksLikeConninfo(absl::string_view target) {
  return absl::StartsWith(target, "postgresql://") ||
         absl::StartsWith(target, "postgres://") ||
         (absl::StrContains(target, '=') && !absl::StrContains(target, '/')) ||
         absl::StrContains(target, "host=") ||
         absl::StrContains(target, "dbname=");
}

// --- PgResult ---

PgResult::PgResult(pg_result* result) : result_(result) {}
PgResult::~PgResult() {
  if (result_ != nullptr) PQclear(result_);
}
PgResult::PgResult(PgResult&& other) noexcept
    : result_(std::exchange(other.result_, nullptr)) {}
PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}
int PgResult::rows() const {
  return result_ == nullptr ? 0 : PQntuples(result_);
}
int PgResult::columns() const {
  return result_ == nullptr ? 0 : PQnfields(result_);
}
int64_t PgResult::affected() const {
  int64_t n = 0;
  if (result_ != nullptr) (void)absl::SimpleAtoi(PQcmdTuples(result_), &n);
  return n;
}
bool PgResult::IsNull(int row, int col) const {
  return result_ == nullptr || PQgetisnull(result_, row, col) != 0;
}
std::string PgResult::Text(int row, int col) const {
  if (IsNull(row, col)) return "";
  return std::string(PQgetvalue(result_, row, col),
                     PQgetlength(result_, row, col));
}
int64_t PgResult::Int(int row, int col) const {
  int64_t n = 0;
  if (!IsNull(row, col)) (void)absl::SimpleAtoi(Text(row, col), &n);
  return n;
}

bool PgResult::Bool(int row, int col) const { return Text(row, col) == "t"; }

absl::Time PgResult::Time(int row, int col) const {
  return absl::FromUnixMicros(Int(row, col));
}

std::string PgTime(absl::Time t) { return absl::StrCat(absl::ToUnixMicros(t)); }

std::optional<std::string> PgOptTime(std::optional<absl::Time> t) {
  if (!t.has_value()) return std::nullopt;
  return PgTime(*t);
}

std::string PgBool(bool b) { return b ? "true" : "false"; }

std::string PgInt(int64_t n) { return absl::StrCat(n); }

// --- PgConnection ---

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(
    absl::string_view conninfo) {
  SMSGW_ASSIGN_OR_RETURN(std::string redacted, RedactConninfo(conninfo));
  pg_conn* conn = PQconnectdb(std::string(conninfo).c_str());
  if (conn == nullptr) {
    return absl::ResourceExhaustedError("libpq could not allocate a connection");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string reason = Trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    const bool auth = absl::StrContains(reason, "authentication failed") ||
                      absl::StrContains(reason, "password");
    const std::string text = absl::StrCat(
        "cannot connect to PostgreSQL at ", redacted, ": ", reason);
    return auth ? absl::PermissionDeniedError(text)
                : absl::UnavailableError(text);
  }
  // Server NOTICEs ("relation already exists, skipping") are not errors and
  // must not reach stderr: dropped.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

absl::Status PgConnection::ResultStatus(pg_result* result,
                                        absl::string_view what) const {
  if (result == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        what, ": no result from PostgreSQL: ", Trimmed(PQerrorMessage(conn_))));
  }
  const ExecStatusType status = PQresultStatus(result);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    return absl::OkStatus();
  }
  if (PQstatus(conn_) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat(
        what, ": the PostgreSQL connection broke: ",
        Trimmed(PQerrorMessage(conn_))));
  }
  const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  return SqlStateToStatus(sqlstate != nullptr ? sqlstate : "",
                          absl::StrCat(what, ": ",
                                       Trimmed(PQresultErrorMessage(result))));
}

absl::StatusOr<bool> PgConnection::AwaitNotification(absl::Duration timeout) {
  auto drain = [this]() -> absl::StatusOr<bool> {
    if (PQconsumeInput(conn_) == 0) {
      return absl::UnavailableError(absl::StrCat(
          "PostgreSQL connection broke: ", PQerrorMessage(conn_)));
    }
    bool any = false;
    while (PGnotify* n = PQnotifies(conn_)) {
      any = true;
      PQfreemem(n);
    }
    return any;
  };
  SMSGW_ASSIGN_OR_RETURN(bool already, drain());
  if (already) return true;
  const int fd = PQsocket(conn_);
  if (fd < 0) return absl::UnavailableError("PostgreSQL connection is closed");
  pollfd p{fd, POLLIN, 0};
  const int ms = static_cast<int>(
      std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout)));
  const int ready = poll(&p, 1, ms);
  if (ready < 0) {
    if (errno == EINTR) return false;
    return absl::UnavailableError(absl::StrCat("poll: ", strerror(errno)));
  }
  if (ready == 0) return false;
  return drain();
}

absl::Status PgConnection::Exec(absl::string_view sql) {
  pg_result* raw = PQexec(conn_, std::string(sql).c_str());
  absl::Status status = ResultStatus(raw, "statement failed");
  if (raw != nullptr) PQclear(raw);
  return status;
}

absl::StatusOr<PgResult> PgConnection::Execute(
    absl::string_view sql,
    const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const std::optional<std::string>& p : params) {
    if (p.has_value() && p->find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          "a text value contains a NUL byte, which PostgreSQL cannot store");
    }
    values.push_back(p.has_value() ? p->c_str() : nullptr);
  }
  const std::string text(sql);
  auto it = prepared_.find(text);
  if (it == prepared_.end()) {
    const std::string name = absl::StrCat("smsgw_", prepared_.size() + 1);
    pg_result* prepared =
        PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr);
    absl::Status status = ResultStatus(prepared, "preparing a statement");
    if (prepared != nullptr) PQclear(prepared);
    SMSGW_RETURN_IF_ERROR(status);
    it = prepared_.emplace(text, name).first;
  }
  pg_result* raw = PQexecPrepared(conn_, it->second.c_str(),
                                  static_cast<int>(values.size()),
                                  values.data(), nullptr, nullptr, 0);
  absl::Status status = ResultStatus(raw, "statement failed");
  if (!status.ok()) {
    if (raw != nullptr) PQclear(raw);
    return status;
  }
  return PgResult(raw);
}

bool PgConnection::Healthy() const {
  return PQstatus(conn_) == CONNECTION_OK &&
         PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

int PgConnection::BackendPid() const { return PQbackendPID(conn_); }

// --- PgPool ---

PgPool::PgPool(PgPoolOptions options, std::string redacted)
    : options_(std::move(options)), redacted_(std::move(redacted)) {}

PgPool::~PgPool() = default;

absl::StatusOr<std::unique_ptr<PgPool>> PgPool::Create(PgPoolOptions options) {
  if (options.size < 1) {
    return absl::InvalidArgumentError("the connection pool needs size >= 1");
  }
  SMSGW_ASSIGN_OR_RETURN(std::string redacted,
                         RedactConninfo(options.conninfo));
  std::unique_ptr<PgPool> pool(new PgPool(std::move(options), redacted));
  SMSGW_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> first,
                         PgConnection::Connect(pool->options_.conninfo));
  {
    absl::MutexLock lock(&pool->mu_);
    pool->open_ = 1;
    pool->idle_.push_back(std::move(first));
  }
  return pool;
}

int PgPool::open_connections() const {
  absl::MutexLock lock(&mu_);
  return open_;
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgPool::ConnectUnpooled() const {
  return PgConnection::Connect(options_.conninfo);
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgPool::Lease() {
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.size;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&available),
                              options_.acquire_timeout)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "all ", options_.size, " PostgreSQL connections stayed busy for ",
          absl::FormatDuration(options_.acquire_timeout)));
    }
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    ++open_;  // reserved; opened below, outside the lock
  }
  absl::StatusOr<std::unique_ptr<PgConnection>> conn =
      PgConnection::Connect(options_.conninfo);
  if (!conn.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
  }
  return conn;
}

void PgPool::Return(std::unique_ptr<PgConnection> conn) {
  const bool keep = conn->Healthy();
  if (!keep) conn.reset();  // closed outside the lock
  absl::MutexLock lock(&mu_);
  if (keep) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
}

absl::Status PgPool::WithConnection(
    const std::function<absl::Status(PgConnection&)>& work) {
  SMSGW_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, Lease());
  absl::Status status = work(*conn);
  Return(std::move(conn));
  return status;
}

absl::Status PgPool::Transaction(
    const std::function<absl::Status(PgConnection&)>& work, int retries) {
  absl::Status status;
  for (int attempt = 0; attempt <= retries; ++attempt) {
    status = WithConnection([&](PgConnection& conn) -> absl::Status {
      SMSGW_RETURN_IF_ERROR(conn.Exec("BEGIN"));
      absl::Status done = work(conn);
      if (done.ok()) done = conn.Exec("COMMIT");
      if (!done.ok()) (void)conn.Exec("ROLLBACK");
      return done;
    });
    if (!absl::IsAborted(status)) return status;
  }
  return status;
}

// --- Migrations ---

absl::StatusOr<int> ApplyPgMigrations(
    PgPool& pool, const std::vector<Migration>& migrations) {
  absl::StatusOr<int> version;
  SMSGW_RETURN_IF_ERROR(pool.WithConnection([&](PgConnection& conn)
                                                -> absl::Status {
    constexpr char kLockKey[] = "hashtext(current_database() || ':smsgw')";
    SMSGW_RETURN_IF_ERROR(
        conn.Exec(absl::StrCat("SELECT pg_advisory_lock(", kLockKey, ")")));
    version = [&]() -> absl::StatusOr<int> {
      SMSGW_RETURN_IF_ERROR(conn.Exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
          " applied_time TIMESTAMPTZ NOT NULL DEFAULT now())"));
      SMSGW_ASSIGN_OR_RETURN(
          PgResult row,
          conn.Execute("SELECT COALESCE(MAX(version), 0) FROM "
                       "schema_migrations"));
      return ApplyNewerMigrations(
          static_cast<int>(row.Int(0, 0)), migrations,
          [&conn](const Migration& m) -> absl::Status {
            absl::Status step = conn.Exec("BEGIN");
            // DDL waits for table locks; a replica stuck behind a long
            // transaction fails the start-up rather than hanging it.
            if (step.ok()) step = conn.Exec("SET LOCAL lock_timeout = '5s'");
            if (step.ok()) step = conn.Exec(m.sql);
            if (step.ok()) {
              step = conn.Execute(
                             "INSERT INTO schema_migrations(version, name) "
                             "VALUES ($1, $2)",
                             {absl::StrCat(m.version), std::string(m.name)})
                         .status();
            }
            if (step.ok()) step = conn.Exec("COMMIT");
            if (!step.ok()) (void)conn.Exec("ROLLBACK");
            return step;
          });
    }();
    return conn.Exec(absl::StrCat("SELECT pg_advisory_unlock(", kLockKey, ")"));
  }));
  return version;
}

}  // namespace smsgw::storage::postgres

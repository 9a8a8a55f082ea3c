#include "server/app/dispatch_lease.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace smsgw::app {

namespace {

using storage::postgres::PgConnection;
using storage::postgres::PgResult;

// One lock per database and schema, so that test schemas do not share it.
constexpr char kTryLock[] =
    "SELECT pg_try_advisory_lock(hashtextextended(current_database() || '.' "
    "|| current_schema() || ':smsgw-dispatch-lease', 0))";

// Opens the lease's session. Over TCP the server probes it every few
// seconds, so that a holder cut off by the network loses the lease in
// about 11 s, not after the kernel's two hours; a unix socket ends with the
// process anyway.
absl::StatusOr<std::unique_ptr<PgConnection>> OpenSession(
    const std::string& conninfo) {
  SMSGW_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> session,
                         PgConnection::Connect(conninfo));
  SMSGW_RETURN_IF_ERROR(
      session->Exec("SET application_name = 'smsgw-dispatch-lease'; "
                    "SET tcp_keepalives_idle = 5; "
                    "SET tcp_keepalives_interval = 2; "
                    "SET tcp_keepalives_count = 3; "
                    "SET statement_timeout = '5s'"));
  return session;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DispatchLease>> DispatchLease::Create(
    Options options) {
  SMSGW_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> session,
                         OpenSession(options.conninfo));
  SMSGW_ASSIGN_OR_RETURN(PgResult id,
                         session->Execute("SELECT nextval('smsgw_replica_ids')"));
  const int64_t replica_id = id.Int(0, 0);
  return std::unique_ptr<DispatchLease>(
      new DispatchLease(std::move(options), std::move(session), replica_id));
}

DispatchLease::DispatchLease(Options options,
                             std::unique_ptr<PgConnection> session,
                             int64_t replica_id)
    : options_(std::move(options)),
      session_(std::move(session)),
      replica_id_(replica_id) {}

DispatchLease::~DispatchLease() { Shutdown(); }

void DispatchLease::Start() {
  runner_ = std::thread([this] { Run(); });
  watchdog_ = std::thread([this] { Watch(); });
}

bool DispatchLease::held() const {
  absl::MutexLock lock(&mu_);
  return held_;
}

void DispatchLease::Shutdown() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (runner_.joinable()) runner_.join();
  if (watchdog_.joinable()) watchdog_.join();
  if (starter_.joinable()) starter_.join();
  session_.reset();  // the server releases the lock with the session
}

absl::StatusOr<bool> DispatchLease::TryAcquire() {
  if (session_ == nullptr || !session_->Healthy()) {
    session_.reset();
    SMSGW_ASSIGN_OR_RETURN(session_, OpenSession(options_.conninfo));
  }
  SMSGW_ASSIGN_OR_RETURN(PgResult locked, session_->Execute(kTryLock));
  return locked.Bool(0, 0);
}

void DispatchLease::Run() {
  bool warned = false;
  bool announced_standby = false;
  bool first = true;
  while (true) {
    bool held = false;
    {
      absl::MutexLock lock(&mu_);
      held = held_;
      const absl::Duration wait = held ? options_.check : options_.poll;
      // The first try goes at once; later ones wait their interval.
      if (!first) mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait);
      first = false;
      if (stopping_ || lost_) return;
    }
    if (!held) {
      absl::StatusOr<bool> acquired = TryAcquire();
      if (!acquired.ok()) {
        if (!warned) {
          SMSGW_LOG(kWarning) << "dispatch lease: cannot reach "
                              << options_.redacted << ", trying again: "
                              << acquired.status();
          warned = true;
        }
        continue;
      }
      warned = false;
      if (!*acquired) {  // another replica dispatches
        if (!announced_standby) {
          SMSGW_LOG(kInfo) << "dispatch lease held by another replica: "
                              "replica="
                           << replica_id_
                           << " serves the API and takes over dispatching "
                              "when the lease is free";
          announced_standby = true;
        }
        continue;
      }
      {
        absl::MutexLock lock(&mu_);
        held_ = true;
        confirmed_ = absl::Now();
      }
      SMSGW_LOG(kInfo) << "dispatch lease taken replica=" << replica_id_
                       << ": this replica dispatches";
      // On a thread of its own: the first claim of a large backlog may take
      // longer than lost_after, and the session checks must go on meanwhile.
      if (options_.on_acquired) starter_ = std::thread(options_.on_acquired);
      continue;
    }
    absl::StatusOr<PgResult> alive = session_->Execute("SELECT 1");
    if (!alive.ok()) {
      Lost(absl::UnavailableError(absl::StrCat(
          "the session holding the dispatch lease failed: ",
          alive.status().message())));
      return;
    }
    absl::MutexLock lock(&mu_);
    confirmed_ = absl::Now();
  }
}

void DispatchLease::Watch() {
  absl::MutexLock lock(&mu_);
  while (!stopping_ && !lost_) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.check);
    if (stopping_ || lost_ || !held_) continue;
    const absl::Duration since = absl::Now() - confirmed_;
    if (since > options_.lost_after) {
      mu_.Unlock();
      Lost(absl::DeadlineExceededError(absl::StrCat(
          "the session holding the dispatch lease has not answered for ",
          absl::FormatDuration(since))));
      mu_.Lock();
    }
  }
}

void DispatchLease::Lost(const absl::Status& why) {
  {
    absl::MutexLock lock(&mu_);
    if (lost_ || stopping_) return;
    lost_ = true;
  }
  SMSGW_LOG(kError) << "dispatch lease lost replica=" << replica_id_ << ": "
                    << why;
  if (options_.on_lost) options_.on_lost(why);
}

}  // namespace smsgw::app

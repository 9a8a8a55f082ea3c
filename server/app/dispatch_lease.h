// File: dispatch_lease.h
//
// Which of several smsgw-server replicas on one PostgreSQL database
// dispatches (issue 13 §3). Every replica serves the API, status callbacks,
// inbound webhooks and watches; one at a time, the holder of this lease,
// runs the work that calls Twilio or drains queues: the dispatcher (PENDING
// sends, retries, scheduled releases, crash reconciliation), the status
// reconciler and the event-webhook worker. Its messages are claimed in the
// store (DispatchQueueStore::ClaimUndispatched), so the messages a standby
// accepted, and a dead holder's, are taken over by the next holder.
//
// The lease is a session advisory lock: the server releases it the moment
// the holder's session ends (the process died, or its connection broke),
// and a standby trying every `poll` takes it over. A holder that cannot
// confirm its session for `lost_after` calls `on_lost`, and the server
// exits: it can no longer be sure it is the only dispatcher. Fencing does
// not rest on that alone: MarkDispatchStarted() refuses a message claimed
// by another replica, and a message taken over with an in-flight marker is
// reconciled only after Dispatcher::Options::takeover_wait.
#ifndef SMSGW_SERVER_APP_DISPATCH_LEASE_H_
#define SMSGW_SERVER_APP_DISPATCH_LEASE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/postgres/pg_database.h"

namespace smsgw::app {

// The exit status of a server that lost the dispatch lease or could not
// start dispatching after taking it (EX_TEMPFAIL: restart it; it rejoins
// as a standby).
inline constexpr int kExitLeaseLost = 75;

// Thread-safe.
class DispatchLease {
 public:
  struct Options {
    // libpq URI or key=value DSN of the shared database. Required.
    std::string conninfo;
    // The same text with the password removed, for log lines.
    std::string redacted;
    // A standby tries to take the lease this often.
    absl::Duration poll = absl::Seconds(1);
    // The holder checks its session this often, and gives the lease up as
    // lost when no check has succeeded for `lost_after`.
    absl::Duration check = absl::Seconds(1);
    absl::Duration lost_after = absl::Seconds(10);
    // Called once, on a thread of its own, when this replica takes the
    // lease; it may block (the dispatcher's first claim runs there) while
    // the session checks go on. Shutdown() waits for it.
    std::function<void()> on_acquired;
    // Called once, on the lease's threads, when the holder can no longer
    // be sure it holds the lease, with the reason. The server exits.
    std::function<void(const absl::Status&)> on_lost;
  };

  // Opens the lease's own session and takes this replica's id (the next
  // value of smsgw_replica_ids: new at every start). Needs the schema
  // (migration 6). Unavailable / InvalidArgument from the connection.
  static absl::StatusOr<std::unique_ptr<DispatchLease>> Create(
      Options options);
  ~DispatchLease();
  DispatchLease(const DispatchLease&) = delete;
  DispatchLease& operator=(const DispatchLease&) = delete;

  // This replica's id (> 0): the claimant of the messages it dispatches.
  int64_t replica_id() const { return replica_id_; }

  // Starts trying to take the lease (the first try at once).
  void Start();

  // Whether this replica holds the lease now.
  bool held() const;

  // Stops the threads and closes the session, which releases the lease at
  // once for a standby to take. Idempotent.
  void Shutdown();

 private:
  DispatchLease(Options options,
                std::unique_ptr<storage::postgres::PgConnection> session,
                int64_t replica_id);
  void Run();
  void Watch();
  // Takes the lease if free; true when held afterwards.
  absl::StatusOr<bool> TryAcquire();
  void Lost(const absl::Status& why);

  const Options options_;
  std::unique_ptr<storage::postgres::PgConnection> session_;  // Run() only
  const int64_t replica_id_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  bool lost_ ABSL_GUARDED_BY(mu_) = false;
  // When the holder last confirmed its session.
  absl::Time confirmed_ ABSL_GUARDED_BY(mu_);
  std::thread runner_;
  std::thread watchdog_;
  std::thread starter_;  // runs on_acquired; set by runner_, joined after it
};

}  // namespace smsgw::app

#endif  // SMSGW_SERVER_APP_DISPATCH_LEASE_H_

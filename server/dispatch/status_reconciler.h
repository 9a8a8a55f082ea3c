// File: status_reconciler.h
//
// Lost status callbacks (issue 17). Twilio does not retry a status callback
// that failed, and one fails whenever smsgw is down, restarting, out of disk
// or unreachable at that moment; without help such a message would stay
// QUEUED or SENT for good. The reconciler asks Twilio instead: an outbound
// message still short of a final status `first_check_after` after the
// provider accepted it is fetched (SmsProvider::Fetch) and the answer applied
// through StatusStore::ApplyStatus() as a PROVIDER_RESPONSE report, so the
// forward-only rules hold and the answer is kept in the message's history.
// It is fetched again at doubling intervals (2x, 4x … first_check_after, at
// most `max_interval`) until it is final or `give_up_after` has passed since
// acceptance; then it stays at its last status and the reconciler stops
// asking (logged once). Some carriers never report past `sent`: those
// messages end that way. A failed fetch (provider down, 429, timeout) is
// rescheduled on the same backoff; Twilio 20404 (the provider does not know
// the SID) stops the checks of that message.
//
// The schedule lives in the store (ListDueStatusChecks / RecordStatusCheck),
// so it survives restarts. A Timer (common/timer.h) looks at the store
// every `poll` and hands at most `batch` due messages to `max_in_flight` fetch threads;
// it takes the next batch only when the last one is done, so no message is
// fetched twice at once and no more than `max_in_flight` fetches are on the
// wire.
#ifndef SMSGW_SERVER_DISPATCH_STATUS_RECONCILER_H_
#define SMSGW_SERVER_DISPATCH_STATUS_RECONCILER_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/metrics.h"
#include "common/timer.h"
#include "server/twilio/sms_provider.h"
#include "storage/status_store.h"

namespace smsgw::dispatch {

// Thread-safe. `messages`, `provider` and `clock` are not owned and must
// outlive the reconciler; call Shutdown() before destroying the provider.
class StatusReconciler {
 public:
  struct Options {
    // SMSGW_STATUS_RECONCILE_AFTER: how long after the provider accepted a
    // message (its send_time) the first fetch comes, when no final status
    // arrived by then. Must be positive.
    absl::Duration first_check_after = absl::Minutes(10);
    // The longest wait between two fetches of one message; at least
    // first_check_after.
    absl::Duration max_interval = absl::Hours(4);
    // No fetch is scheduled later than this after acceptance; past it the
    // checks stop. Must exceed first_check_after.
    absl::Duration give_up_after = absl::Hours(72);
    // Fetches on the wire at once, within the account's API concurrency
    // (Twilio answers 429 beyond it); at least 1.
    int max_in_flight = 4;
    // Due messages taken from the store per pass; at least 1.
    int batch = 64;
    // Real time between two looks at the store while nothing is due, or
    // less than a batch was; positive. Store errors stretch it (doubling,
    // at most 5 minutes), so a failing disk is not polled hot.
    absl::Duration poll = absl::Seconds(1);
    // When set, counts every fetch by its outcome:
    //   smsgw_status_reconcile_total{outcome}: "updated" (the status moved
    //   forward), "unchanged", "error" (the fetch or the store failed; asked
    //   again later), "not_found" (Twilio 20404; no more checks);
    // and smsgw_status_reconcile_given_up_total: messages whose checks
    // stopped `give_up_after` past acceptance without a final status.
    // Must outlive the reconciler.
    metrics::Registry* metrics = nullptr;
  };

  StatusReconciler(storage::StatusStore* messages,
                   twilio::SmsProvider* provider, Clock* clock,
                   Options options);
  ~StatusReconciler();  // Shutdown()
  StatusReconciler(const StatusReconciler&) = delete;
  StatusReconciler& operator=(const StatusReconciler&) = delete;

  // Starts the timer and the fetch threads. InvalidArgument naming the
  // option when `options` breaks a rule above (nothing is started);
  // FailedPrecondition when called twice or after Shutdown().
  absl::Status Start();

  // Stops taking work and waits for the fetches on the wire (each at most
  // the provider's own timeout); due messages not fetched yet stay due in
  // the store for the next start. Idempotent.
  void Shutdown();

  // When the next fetch of a message accepted at `accepted` is due after
  // its check number `checks` (1 = the first) was made at `now`:
  // `now` + min(first_check_after * 2^checks, max_interval), no later than
  // `accepted` + give_up_after; nullopt when `now` is already that late
  // (stop asking).
  std::optional<absl::Time> NextCheck(absl::Time accepted, int checks,
                                      absl::Time now) const;

  // Passes completed: looks at the store whose due messages (if any) were
  // all handled. Lets tests wait for the timer instead of sleeping.
  int64_t passes() const;

 private:
  // One look at the store, on the timer; returns when to look next.
  absl::Time Poll();
  // Lists due messages and runs them on the fetch threads; returns once all
  // are handled. False when the store could not be read or written.
  bool RunPass(bool* full_batch);
  // Fetches one message and stores the answer and its next check. False on
  // a store error.
  bool Check(const storage::StatusCheck& due);
  void Count(const char* outcome);

  storage::StatusStore* messages_;
  twilio::SmsProvider* provider_;
  Clock* clock_;
  const Options options_;
  std::unique_ptr<Executor> fetchers_;  // created by Start()
  std::unique_ptr<Timer> timer_;        // created by Start()
  metrics::CounterFamily* outcomes_ = nullptr;
  metrics::CounterFamily* given_up_ = nullptr;

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Messages of the running pass not handled yet, and whether any of them
  // hit a store error.
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  bool pass_store_error_ ABSL_GUARDED_BY(mu_) = false;
  int64_t passes_ ABSL_GUARDED_BY(mu_) = 0;
  // Store errors in a row (stretch the poll interval); on the timer only.
  int store_failures_ = 0;
};

}  // namespace smsgw::dispatch

#endif  // SMSGW_SERVER_DISPATCH_STATUS_RECONCILER_H_

// File: crash_reconciler.h
//
// Crash safety (issue "Durable dispatch"): before each create call the
// dispatcher commits an in-flight marker (MessageStore::MarkDispatchStarted);
// the stored answer clears it. A message found with the marker set (after a
// crash, or after a failure whose outcome is unknown: no HTTP answer or 5xx)
// is reconciled here before any resend: the provider's list of messages
// To/From the same numbers is searched for the same body created since the
// attempt started (minus `clock_skew`). Found: its SID and status are stored
// and nothing is resent. Not found, with the list answered: the dispatcher
// sends it (or ends it EXPIRED when its time is up). List failed: it is
// asked again with backoff; only after `give_up_after` since the attempt is
// the message resent without proof, logged as WARNING "possible duplicate"
// and counted. A message with the marker set is never declared EXPIRED
// before the provider has been asked.
//
// The reconciler asks and stores; what follows (the breaker's bookkeeping,
// the next attempt) is the dispatcher's, from the Outcome.
#ifndef SMSGW_SERVER_DISPATCH_CRASH_RECONCILER_H_
#define SMSGW_SERVER_DISPATCH_CRASH_RECONCILER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "server/twilio/sms_provider.h"
#include "storage/message_store.h"

namespace smsgw::dispatch {

// The store update for a message the provider has (its create answer, or the
// message reconciliation found); `http_status` is the answer's.
storage::StatusUpdate AcceptedUpdate(const twilio::ProviderMessage& pm,
                                     absl::Time now, int http_status);

// Thread-safe. `messages`, `provider` and `clock` are not owned and must
// outlive the reconciler.
class CrashReconciler {
 public:
  struct Options {
    // How long after the attempt started to keep asking before resending
    // without proof.
    absl::Duration give_up_after = absl::Minutes(10);
    // How much earlier than our marker the provider's date_created may be.
    absl::Duration clock_skew = absl::Minutes(5);
    // How many listed messages to search first (the page size, 1..1000).
    // A full list that does not reach back to the attempt (minus
    // clock_skew) is read ten times deeper, up to 20000 messages; one that
    // still does not is treated as a failed List (asked again later), never
    // as "not found".
    int list_limit = 200;
  };

  // Told about every List() call: "ok" or "error", and how long it took.
  using ListRecorder =
      std::function<void(const char* outcome, absl::Duration took)>;

  // What the reconciliation of one message came to.
  struct Outcome {
    enum class Kind {
      // Deleted, or answered meanwhile: only the wait for it ends.
      kGone,
      // Send `message` now: its marker is gone, the provider does not have
      // it, or asking gave up (a possible duplicate).
      kSend,
      // The provider has it; its SID and status are stored.
      kFound,
      // The list failed: ask again, after `failures` failed lists in a row.
      kAskAgain,
      // The provider has it but the store could not take the answer: ask
      // again after the first backoff.
      kStoreFailed,
    };
    // Whether the provider was asked, and whether it answered (for the
    // circuit breaker).
    enum class Provider { kNotAsked, kAnswered, kFailed };

    Kind kind = Kind::kGone;
    Provider provider = Provider::kNotAsked;
    storage::Message message;  // kSend: the message as stored
    int failures = 0;          // kAskAgain
    absl::Time now;            // the clock after the provider's answer
  };

  CrashReconciler(storage::MessageStore* messages,
                  twilio::SmsProvider* provider, Clock* clock, Options options,
                  ListRecorder record_list);

  // Reconciles message `id` (blocks on the store and on the provider's
  // List(): call it on a worker).
  Outcome Reconcile(const std::string& id);

  // Messages resent after asking gave up (possible duplicates), and
  // messages whose unknown outcome was found at the provider.
  int64_t possible_duplicates() const;
  int64_t found() const;

 private:
  storage::MessageStore* messages_;
  twilio::SmsProvider* provider_;
  Clock* clock_;
  const Options options_;
  const ListRecorder record_list_;

  mutable absl::Mutex mu_;
  // Failed List() calls per message being reconciled (for the backoff).
  absl::flat_hash_map<std::string, int> failures_ ABSL_GUARDED_BY(mu_);
  int64_t possible_duplicates_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t found_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace smsgw::dispatch

#endif  // SMSGW_SERVER_DISPATCH_CRASH_RECONCILER_H_

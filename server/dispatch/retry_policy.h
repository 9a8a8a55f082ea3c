// File: retry_policy.h
//
// When a failed provider call is tried again, and when a message is given up
// (issue "Sending policy", item 5). Retryable failures (HTTP 429, 5xx,
// timeouts, connection errors, and a 2xx whose body cannot be read) are
// retried with exponential backoff and full jitter, capped at `backoff_cap`,
// for as long as the message is worth sending: until its validity period
// ends (Message::expire_time), and at the latest until `retry_horizon` after
// it was accepted (or due, when scheduled). Then it ends EXPIRED with the
// last provider error kept (ExpiryReason()). While the circuit breaker is
// open a failing message does not wait on a backoff of its own: it waits in
// its sender's queue for the breaker's probe.
//
// The rules need no store and no thread: the dispatcher asks, with the time
// of its clock, and acts on the answer.
#ifndef SMSGW_SERVER_DISPATCH_RETRY_POLICY_H_
#define SMSGW_SERVER_DISPATCH_RETRY_POLICY_H_

#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/twilio/sms_provider.h"
#include "storage/message_store.h"

namespace smsgw::dispatch {

// Thread-safe (the jitter's random source has its own lock).
class RetryPolicy {
 public:
  struct Options {
    // Retry delays: full jitter in [0, min(cap, base * 2^(n-1))].
    absl::Duration backoff_base = absl::Seconds(1);
    absl::Duration backoff_cap = absl::Minutes(2);
    // SMSGW_RETRY_HORIZON: how long after acceptance (or the due time)
    // retryable failures are retried at most.
    absl::Duration retry_horizon = absl::Hours(4);
  };

  // The last provider error of a message being retried, kept on EXPIRED.
  struct LastError {
    int code = 0;
    int http_status = 0;
    std::string message;
  };

  // What to do after a retryable create failure.
  struct Decision {
    // True: end the message EXPIRED now (the create was refused and its
    // time is up). False: attempt again at `next`.
    bool expire = false;
    absl::Time next;
  };

  explicit RetryPolicy(Options options) : options_(options) {}

  // Whether a failed create is worth another attempt: what the provider
  // client marks retryable (429, 5xx, timeouts, connection errors), and a
  // 2xx whose body we cannot read (the message probably exists; the retry
  // reconciles first instead of failing a message that was sent).
  static bool IsRetryable(const twilio::ProviderError& error);

  // The upper end of the delay before retry number `attempt` (1 = the first
  // retry): min(cap, base * 2^(attempt-1)).
  absl::Duration BackoffCeiling(int attempt) const;
  // The delay before retry number `attempt`: uniform in
  // [0, BackoffCeiling(attempt)] ("full jitter").
  absl::Duration Backoff(int attempt);

  // When `message`, having failed at least once, stops being retried: the
  // earlier of its expire_time and the retry horizon after its creation (or
  // due time, when scheduled).
  std::optional<absl::Time> RetryDeadline(
      const storage::Message& message) const;

  // Whether `message` must end EXPIRED at `now` instead of being attempted:
  // its validity period ended, or it failed before and its retry deadline
  // passed. (A message whose last call may have reached the provider is
  // reconciled first; the caller asks only once that is done.)
  bool GiveUpBeforeCall(const storage::Message& message, absl::Time now) const;

  // After retryable failure number `attempts` at `now` of a message whose
  // retry deadline is `retry_deadline`: `refused` when the provider answered
  // 4xx (429: the create surely did not happen), `breaker_closed` whether
  // the circuit breaker still lets calls go. A refused create past the
  // deadline expires; any other is retried at now + Backoff(attempts) (at
  // once with the breaker open: the message then waits in its queue), never
  // later than the deadline. A call that may have reached the provider is
  // retried even past the deadline, because only reconciliation may end it.
  Decision AfterRetryableFailure(int attempts, bool refused,
                                 std::optional<absl::Time> retry_deadline,
                                 bool breaker_closed, absl::Time now);

  // The error_message of an EXPIRED message at `now` after `attempts`
  // provider calls, naming the rule that ended it and the last error.
  std::string ExpiryReason(const storage::Message& message, absl::Time now,
                           int attempts, const LastError& last) const;

 private:
  const Options options_;
  absl::Mutex rng_mu_;
  absl::BitGen rng_ ABSL_GUARDED_BY(rng_mu_);
};

}  // namespace smsgw::dispatch

#endif  // SMSGW_SERVER_DISPATCH_RETRY_POLICY_H_

// File: dispatcher.h
//
// The outbox dispatcher: owns every provider call for outbound messages that
// are stored PENDING. Provider calls are asynchronous (SmsProvider::SendAsync),
// so a slow provider holds no thread per message; answers are written to the
// MessageStore on the dispatcher's own workers. At start-up every message
// still PENDING is queued again.
//
// The Dispatcher is the coordinator of focused units, each with its rules
// in its own header:
//   retry_policy.h          backoff, retry horizon, validity expiry
//   crash_reconciler.h      in-flight markers: ask the provider before any
//                           resend (after a crash or an unknown outcome)
//   first_answer_waiters.h  SendMessage's wait for the first provider answer
//   schedule_poller.h       SCHEDULED -> PENDING when due
//   circuit_breaker.h, send_queue.h, rate_limiter.h  (below)
// and one Timer (common/timer.h) that runs the pacing pass and the poller.
//
// Sender queues (send_queue.h): a message that cannot go at once (its
// sender's rate, or the provider is failing) waits in its sender's queue,
// HIGH before NORMAL before BULK and in store order within a level; the
// timer hands the head of each queue to the provider as the sender's tokens
// allow. The store is the record, so the order survives restarts. A message
// whose validity period ends while it waits is never sent. Twilio is told
// the time left as ValidityPeriod.
//
// Circuit breaker (circuit_breaker.h): after `breaker.failure_threshold`
// retryable failures in a row the dispatcher stops calling the provider as a
// whole; failing messages wait in their queues instead of each on a timer.
// One probe (the first message of the queues) goes when the breaker's time
// is up; when the provider answers again, the queues drain in priority and
// queue order at the senders' rates.
//
// Pacing (dispatcher_pacing.cc): every provider call, first or retry, takes
// its segments from a RateLimiter bucket, never waiting on a thread;
// CheckBacklog() refuses new messages when a sender's PENDING backlog
// (counted in the store) would exceed `max_backlog` at that sender's rate.
#ifndef SMSGW_SERVER_DISPATCH_DISPATCHER_H_
#define SMSGW_SERVER_DISPATCH_DISPATCHER_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/executor.h"
#include "common/metrics.h"
#include "common/timer.h"
#include "server/dispatch/circuit_breaker.h"
#include "server/dispatch/crash_reconciler.h"
#include "server/dispatch/first_answer_waiters.h"
#include "server/dispatch/rate_limiter.h"
#include "server/dispatch/retry_policy.h"
#include "server/dispatch/schedule_poller.h"
#include "server/dispatch/send_queue.h"
#include "server/domain/outbound_queue.h"
#include "server/twilio/sms_provider.h"
#include "storage/message_store.h"

namespace smsgw::dispatch {

// Thread-safe. `messages`, `provider` and `clock` are not owned and must
// outlive the dispatcher; call Shutdown() before destroying the provider.
class Dispatcher final : public domain::OutboundQueue {
 public:
  struct Options {
    // Absolute URL of our status webhook, sent as Twilio's StatusCallback;
    // empty sends none.
    std::string status_callback_url;
    // Retry delays: full jitter in [0, min(cap, base * 2^(n-1))].
    absl::Duration backoff_base = absl::Seconds(1);
    absl::Duration backoff_cap = absl::Minutes(2);
    // SMSGW_RETRY_HORIZON: how long after a message was accepted (or due)
    // retryable failures are retried when it has no validity period (and at
    // most, when it has one).
    absl::Duration retry_horizon = absl::Hours(4);
    // When the dispatcher as a whole stops calling a failing provider.
    CircuitBreaker::Options breaker;
    // Threads that store provider answers and run due messages. They mostly
    // wait on the store's group commit, so more of them means bigger batches.
    int workers = 8;
    // When set, provider calls are counted and timed there:
    //   smsgw_provider_requests_total{operation, outcome}
    //   smsgw_provider_request_seconds{operation, outcome}
    // operation "create" | "list"; outcome "accepted" (create answered 2xx
    // with a message), "rejected" (a final Twilio error, e.g. 21211),
    // "retryable" (429, 5xx, timeouts, connection errors), "ok"/"error"
    // (list). Must outlive the dispatcher.
    metrics::Registry* metrics = nullptr;
    // Reconciliation of calls whose outcome is unknown (see the file
    // comment): how long to keep asking the provider before resending
    // without proof, how much earlier than our marker the provider's
    // date_created may be, and how many listed messages to search.
    absl::Duration reconcile_give_up_after = absl::Minutes(10);
    absl::Duration reconcile_clock_skew = absl::Minutes(5);
    int reconcile_list_limit = 200;
    // Paces provider calls per sender; null = no pacing. Not owned.
    RateLimiter* rate_limiter = nullptr;
    // SMSGW_MAX_BACKLOG: CheckBacklog() refuses a message when its sender's
    // PENDING segments would exceed this long at the sender's rate (Twilio
    // keeps a queue for 10 hours, then fails it with 30001). Zero = no
    // bound; needs `rate_limiter`.
    absl::Duration max_backlog = absl::Hours(10);
    // How often the timer looks for due SCHEDULED messages in the store;
    // zero = never (scheduled sends off).
    absl::Duration schedule_poll = absl::Seconds(1);
    // Several replicas on one database (issue 13 §3): this replica's id
    // (> 0), which Start() makes the store's claimant, and how often the
    // dispatcher claims PENDING messages that other replicas created or a
    // dead dispatcher left. Zero (the default) is the one-server set-up:
    // Start() lists every PENDING message and Enqueue() takes every one.
    int64_t replica_id = 0;
    absl::Duration claim_sweep = absl::ZeroDuration();
    // A claimed message carrying another dispatcher's in-flight marker is
    // reconciled with the provider only this long after the claim, when no
    // create call of that dispatcher can still be under way: its calls end
    // within the Twilio client's total timeout (15 s), and a dispatcher
    // that lost its lease exits within 10 s (server/app/dispatch_lease.h).
    absl::Duration takeover_wait = absl::Seconds(30);
  };

  Dispatcher(storage::MessageStore* messages, twilio::SmsProvider* provider,
             Clock* clock, Options options);
  ~Dispatcher() override;

  // Dispatches every message still PENDING in the store (after a restart)
  // and starts the retry timer. Returns the store's error if it cannot list.
  // With `claim_sweep` set: empties the rate limiter's buckets
  // (RateLimiter::EmptyBuckets), makes `replica_id` the store's claimant,
  // claims every PENDING message, and claims again every `claim_sweep`. Before
  // Start() (a replica that does not hold the dispatch lease) Enqueue()
  // leaves messages in the store and ReserveImmediate() answers false.
  absl::Status Start();

  // Stops taking work, waits up to `grace` for provider answers in flight
  // (messages without an answer stay PENDING and are dispatched again at the
  // next start), and stops the timer and workers. Idempotent.
  void Shutdown(absl::Duration grace);

  void Enqueue(const storage::Message& message) override;
  bool ReserveImmediate(const storage::Message& message) override;
  void EnqueueReserved(const storage::Message& message) override;
  void AwaitFirstAnswer(absl::string_view id, absl::Time deadline) override;
  void NotifyOnFirstAnswer(absl::string_view id, absl::Time deadline,
                           AnswerCallback done) override;
  // Fetches the message on a worker and stores Twilio's price and segment
  // count (a delivery report with source PROVIDER_RESPONSE). Best effort: a
  // failure is logged, the message keeps its local figures.
  void RefreshFromProvider(absl::string_view provider_sid) override;

  // The delay before retry number `attempt` (1 = the first retry): uniform
  // in [0, min(cap, base * 2^(attempt-1))] ("full jitter").
  absl::Duration Backoff(int attempt);

  // Messages resent after reconciliation gave up (possible duplicates), and
  // messages whose unknown outcome reconciliation found at the provider.
  int64_t possible_duplicates() const;
  int64_t reconciled_found() const;
  // Provider create calls under way (answers not yet stored).
  int in_flight() const;
  // The circuit breaker's state (metrics: smsgw_provider_circuit_state).
  CircuitBreaker::State breaker_state() const;
  // Messages waiting in the sender queues, by priority (metrics:
  // smsgw_dispatch_queued_messages).
  int64_t QueuedAt(storage::MessagePriority priority) const;
  // See OutboundQueue: counts the sender's PENDING segments in the store.
  absl::Status CheckBacklog(const storage::Message& message) override;
  // See OutboundQueue: the sender's PENDING segments over its rate.
  absl::StatusOr<absl::Duration> Backlog(absl::string_view sender) override;

 private:
  // A paced or retried message that is due, handed from the timer to the
  // workers.
  struct DueMessage {
    enum class Kind {
      kSend,    // released from its queue, tokens booked: attempt at once
      kRetry,   // its retry time came: back into its sender's queue
      kExpire,  // its deadline passed while it waited
    };
    std::string id;
    Kind kind = Kind::kSend;
  };

  // --- the provider-call path (dispatcher.cc) ---
  // Reconciles first when the message carries an in-flight marker.
  void Attempt(const storage::Message& message);
  // On a worker: asks the crash reconciler whether an unanswered create
  // happened, and acts on its outcome.
  void Reconcile(const std::string& id);
  // Commits the in-flight marker, then calls the provider.
  void StartCall(const storage::Message& message);
  // The provider create call itself, for a message whose in-flight marker is
  // committed (by StartCall, or with the row after ReserveImmediate()).
  void CallProvider(const storage::Message& message);
  // Stores a create answer. `retry_deadline`: when a retryable failure is
  // no longer retried (validity period or retry horizon).
  void OnResult(const std::string& id, int attempts_before,
                std::optional<absl::Time> retry_deadline,
                twilio::SendResult result);
  // Ends a PENDING message EXPIRED (never sent), keeping the last provider
  // error; `attempts` provider calls were made.
  void Expire(const storage::Message& message, int attempts);
  // The provider answered (breaker bookkeeping; drains the queues when this
  // closed the breaker).
  void ProviderAnswered(const std::string& id);
  // A retryable provider failure at `now` (breaker bookkeeping). Returns
  // whether the breaker is closed afterwards.
  bool ProviderFailed(const std::string& id, absl::Time now);
  // The wait for `id`'s first answer ends (`answered`: the message as the
  // answer was stored, when at hand); an unfinished probe lets the next go.
  void MarkAnswered(const std::string& id,
                    const storage::Message* answered = nullptr);
  // Counts and times one provider call (no-op without options_.metrics).
  void RecordProviderCall(const char* operation, const char* outcome,
                          absl::Duration took);

  // --- pacing and the timer (dispatcher_pacing.cc) ---
  // Attempts the message now when the breaker is closed, nothing waits ahead
  // of it and its sender has tokens; otherwise queues it in `queue_` for the
  // timer.
  void Pace(const storage::Message& message);
  // The queue entry for `message` (its deadline unless its outcome is
  // unknown).
  SendQueue::Entry EntryFor(const storage::Message& message) const;
  // One pass of the timer: hands due retries, expired queue entries and the
  // queue heads that may go now to the workers. Returns when it is due next.
  absl::Time Tick();
  // Makes the timer pass run no later than `at` (a paced message is often
  // due within a millisecond; a state change needs a pass at once).
  void KickLocked(absl::Time at) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Attempts `id` again at `at` (on the timer, through its sender's queue).
  void RetryAtLocked(absl::Time at, const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // On the timer: takes the heads of the sender queues that may go now
  // (tokens booked; one probe when the breaker allows it) into `due`, and
  // sets release_wake_ to when the next head could go.
  void ReleaseQueuedLocked(absl::Time now, std::vector<DueMessage>* due)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends `due` to due_ and makes sure one worker drains it: in order, so
  // a sender's paced messages reach the provider in the order they were
  // booked, and off the timer thread, which must keep time.
  void HandDue(std::vector<DueMessage> due);
  // A scheduled message the poller just released; false when stopping.
  bool ReleaseScheduled(const storage::Message& released);

  // --- claims (dispatcher.cc) ---
  // Whether this dispatcher claims its work (options_.claim_sweep).
  bool claiming() const {
    return options_.claim_sweep > absl::ZeroDuration();
  }
  // Claims PENDING messages in pages and takes each up (Adopt); the store's
  // error if a claim fails.
  absl::Status ClaimAll();
  // A message this dispatcher just claimed: paced at once, or, when another
  // dispatcher's marker is on it, reconciled after options_.takeover_wait.
  void Adopt(const storage::Message& message);

  storage::MessageStore* messages_;
  twilio::SmsProvider* provider_;
  Clock* clock_;
  const Options options_;
  RetryPolicy retry_;
  FirstAnswerWaiters waiters_;
  CrashReconciler reconciler_;
  SchedulePoller poller_;
  Executor workers_;
  metrics::CounterFamily* provider_requests_ = nullptr;
  metrics::HistogramFamily* provider_seconds_ = nullptr;

  // The sending state the provider-call path and the timer share.
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;  // Shutdown() completed
  bool started_ ABSL_GUARDED_BY(mu_) = false;  // Start() ran
  bool sweeping_ ABSL_GUARDED_BY(mu_) = false;  // a claim sweep is queued
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;     // provider calls under way
  // Messages waiting for their retry time.
  std::multimap<absl::Time, std::string> retries_ ABSL_GUARDED_BY(mu_);
  // Messages waiting for their sender's tokens or for the breaker.
  SendQueue queue_ ABSL_GUARDED_BY(mu_);
  CircuitBreaker breaker_ ABSL_GUARDED_BY(mu_);
  // The message sent as the breaker's probe, while its answer is out.
  std::string probe_id_ ABSL_GUARDED_BY(mu_);
  // When the first queued head could get its sender's tokens.
  absl::Time release_wake_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  // The last provider error of messages being retried (kept on EXPIRED).
  absl::flat_hash_map<std::string, RetryPolicy::LastError> last_errors_
      ABSL_GUARDED_BY(mu_);
  std::deque<DueMessage> due_ ABSL_GUARDED_BY(mu_);
  bool due_draining_ ABSL_GUARDED_BY(mu_) = false;
  // The timer pass (Tick) and when it is due next.
  Timer::Id tick_ ABSL_GUARDED_BY(mu_) = Timer::kNoTimer;
  absl::Time tick_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Last: its thread runs Tick() and the poller, so it stops first.
  Timer timer_;
};

}  // namespace smsgw::dispatch

#endif  // SMSGW_SERVER_DISPATCH_DISPATCHER_H_

#include "server/dispatch/dispatcher.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "common/logging.h"
#include "common/status_macros.h"
#include "server/domain/message_status.h"

namespace smsgw::dispatch {

using storage::MessageStatus;

Dispatcher::Dispatcher(storage::MessageStore* messages,
                       twilio::SmsProvider* provider, Clock* clock,
                       Options options)
    : messages_(messages),
      provider_(provider),
      clock_(clock),
      options_(std::move(options)),
      retry_(RetryPolicy::Options{options_.backoff_base, options_.backoff_cap,
                                  options_.retry_horizon}),
      reconciler_(messages_, provider_, clock_,
                  CrashReconciler::Options{options_.reconcile_give_up_after,
                                           options_.reconcile_clock_skew,
                                           options_.reconcile_list_limit},
                  [this](const char* outcome, absl::Duration took) {
                    RecordProviderCall("list", outcome, took);
                  }),
      poller_(messages_, clock_, options_.schedule_poll,
              [this](const storage::Message& released) {
                return ReleaseScheduled(released);
              }),
      workers_("dispatch", options_.workers, /*max_queue=*/1 << 20),
      breaker_(options_.breaker),
      timer_("dispatch-timer", clock_) {
  if (options_.metrics != nullptr) {
    provider_requests_ = options_.metrics->AddCounter(
        "smsgw_provider_requests_total",
        "Calls to the SMS provider (Twilio) by operation and outcome.",
        {"operation", "outcome"});
    provider_seconds_ = options_.metrics->AddHistogram(
        "smsgw_provider_request_seconds",
        "Latency of calls to the SMS provider, by operation and outcome.",
        {"operation", "outcome"}, metrics::LatencyBuckets());
  }
}

Dispatcher::~Dispatcher() { Shutdown(absl::ZeroDuration()); }

absl::Status Dispatcher::Start() {
  // A replica taking over cannot see what the last dispatcher sent in its
  // final second: it starts with empty buckets, so that a takeover adds no
  // burst to the cluster's per-sender and global rates.
  if (claiming() && options_.rate_limiter != nullptr) {
    options_.rate_limiter->EmptyBuckets();
  }
  {
    absl::MutexLock lock(&mu_);
    started_ = true;
    // In the same critical section as started_: a message stamped with
    // this claimant reaches Enqueue() after it, so Enqueue() takes it, and
    // one created unclaimed before is left to ClaimAll().
    if (claiming()) messages_->SetClaimant(options_.replica_id);
    tick_at_ = clock_->Now();
    tick_ = timer_.RunRepeatedly(tick_at_, [this] { return Tick(); });
  }
  poller_.Start(&timer_);
  if (claiming()) {
    SMSGW_RETURN_IF_ERROR(ClaimAll());
    // The sweep blocks on the store, so the timer only hands it to a
    // worker, one at a time.
    timer_.RunRepeatedly(clock_->Now() + options_.claim_sweep, [this] {
      bool queue = false;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return absl::InfiniteFuture();
        queue = !sweeping_;
        sweeping_ = true;
      }
      if (queue && !workers_.TrySchedule([this] {
            absl::Status claimed = ClaimAll();
            if (!claimed.ok()) {
              SMSGW_LOG(kWarning) << "claim sweep failed, trying again: "
                                  << claimed;
            }
            absl::MutexLock lock(&mu_);
            sweeping_ = false;
          })) {
        absl::MutexLock lock(&mu_);
        sweeping_ = false;
      }
      return clock_->Now() + options_.claim_sweep;
    });
    return absl::OkStatus();
  }
  // Page through the backlog; Enqueue() never blocks on the provider.
  absl::StatusOr<std::vector<storage::Message>> pending =
      messages_->ListUndispatched(100000);
  if (!pending.ok()) return pending.status();
  if (!pending->empty()) {
    SMSGW_LOG(kInfo) << "dispatching messages left pending count="
                     << pending->size();
  }
  for (const storage::Message& message : *pending) Enqueue(message);
  return absl::OkStatus();
}

absl::Status Dispatcher::ClaimAll() {
  constexpr int kPage = 1000;
  while (true) {
    absl::StatusOr<std::vector<storage::Message>> claimed =
        messages_->ClaimUndispatched(kPage);
    if (!claimed.ok()) return claimed.status();
    if (!claimed->empty()) {
      SMSGW_LOG(kInfo) << "claimed pending messages count=" << claimed->size()
                       << " replica=" << options_.replica_id;
    }
    for (const storage::Message& message : *claimed) Adopt(message);
    if (static_cast<int>(claimed->size()) < kPage) return absl::OkStatus();
  }
}

void Dispatcher::Adopt(const storage::Message& message) {
  if (!message.dispatch_started_time.has_value()) {
    Pace(message);  // nobody waits for its first answer here
    return;
  }
  // Another dispatcher may still have a create call for it under way: only
  // after that call has ended does the provider's list tell the truth.
  absl::MutexLock lock(&mu_);
  if (!stopping_) {
    RetryAtLocked(clock_->Now() + options_.takeover_wait, message.id);
  }
}

void Dispatcher::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopping_ = true;
    const absl::Time deadline = absl::Now() + grace;
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return in_flight_ == 0;
    };
    mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
    if (in_flight_ > 0) {
      SMSGW_LOG(kWarning) << "shutdown with provider calls in flight count="
                          << in_flight_
                          << "; those messages stay PENDING for the next start";
    }
  }
  timer_.Shutdown();
  waiters_.Shutdown();  // callers get the message as it stands
  workers_.Shutdown();
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

absl::Duration Dispatcher::Backoff(int attempt) {
  return retry_.Backoff(attempt);
}

void Dispatcher::Enqueue(const storage::Message& message) {
  // Claimed by another replica, or by none: the claimant dispatches it.
  if (claiming() && message.claimed_by != options_.replica_id) return;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;  // stays PENDING; dispatched at the next start
  }
  waiters_.Expect(message.id);
  Pace(message);
}

void Dispatcher::EnqueueReserved(const storage::Message& message) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;  // stays PENDING; reconciled at the next start
  }
  waiters_.Expect(message.id);
  // ReserveImmediate() booked its tokens and the marker was committed with
  // the row: straight to the provider.
  CallProvider(message);
}

bool Dispatcher::ReserveImmediate(const storage::Message& message) {
  {
    absl::MutexLock lock(&mu_);
    // Only when nothing would be overtaken and the provider is answering,
    // and (with claims) this replica dispatches.
    if (stopping_ || (claiming() && !started_) || !breaker_.Closed() ||
        queue_.Head(message.our_number) != nullptr) {
      return false;
    }
  }
  if (options_.rate_limiter == nullptr) return true;
  return options_.rate_limiter->TryReserveNow(message.our_number,
                                              message.num_segments);
}

int64_t Dispatcher::possible_duplicates() const {
  return reconciler_.possible_duplicates();
}

int64_t Dispatcher::reconciled_found() const { return reconciler_.found(); }

int Dispatcher::in_flight() const {
  absl::MutexLock lock(&mu_);
  return in_flight_;
}

CircuitBreaker::State Dispatcher::breaker_state() const {
  absl::MutexLock lock(&mu_);
  return breaker_.state();
}

int64_t Dispatcher::QueuedAt(storage::MessagePriority priority) const {
  absl::MutexLock lock(&mu_);
  return queue_.CountAt(priority);
}

void Dispatcher::ProviderAnswered(const std::string& id) {
  absl::MutexLock lock(&mu_);
  if (probe_id_ == id) probe_id_.clear();
  if (breaker_.OnProviderAnswered()) {
    SMSGW_LOG(kInfo) << "provider answering again: circuit closed, draining "
                     << queue_.size() << " queued message(s)";
    KickLocked(absl::InfinitePast());
  }
}

bool Dispatcher::ProviderFailed(const std::string& id, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (probe_id_ == id) probe_id_.clear();
  const CircuitBreaker::State before = breaker_.state();
  breaker_.OnRetryableFailure(now);
  if (breaker_.state() == CircuitBreaker::State::kOpen &&
      before != CircuitBreaker::State::kOpen) {
    SMSGW_LOG(kWarning) << "provider failing: circuit open until "
                        << absl::FormatTime(breaker_.ReopenTime())
                        << "; sends wait in their queues (" << queue_.size()
                        << " queued)";
    KickLocked(absl::InfinitePast());
  }
  return breaker_.Closed();
}

void Dispatcher::RecordProviderCall(const char* operation, const char* outcome,
                                    absl::Duration took) {
  if (provider_requests_ == nullptr) return;
  provider_requests_->Increment({operation, outcome});
  provider_seconds_->Observe({operation, outcome}, absl::ToDoubleSeconds(took));
}

void Dispatcher::Attempt(const storage::Message& message) {
  if (!message.dispatch_started_time.has_value()) {
    StartCall(message);
    return;
  }
  // A create may have reached the provider: ask it before sending again.
  // List() blocks, so it runs on a worker.
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;  // the marker stays; the next start reconciles
    ++in_flight_;
  }
  const std::string id = message.id;
  if (!workers_.TrySchedule([this, id] {
        Reconcile(id);
        absl::MutexLock lock(&mu_);
        --in_flight_;
      })) {
    absl::MutexLock lock(&mu_);
    --in_flight_;
  }
}

void Dispatcher::Reconcile(const std::string& id) {
  using Outcome = CrashReconciler::Outcome;
  Outcome outcome = reconciler_.Reconcile(id);
  bool closed = true;
  if (outcome.provider == Outcome::Provider::kFailed) {
    closed = ProviderFailed(id, outcome.now);
  } else if (outcome.provider == Outcome::Provider::kAnswered) {
    ProviderAnswered(id);
  }
  switch (outcome.kind) {
    case Outcome::Kind::kGone:
    case Outcome::Kind::kFound:
      MarkAnswered(id);
      return;
    case Outcome::Kind::kSend:
      StartCall(outcome.message);
      return;
    case Outcome::Kind::kAskAgain: {
      // With the breaker open the message waits in its queue for the probe
      // instead of on a timer of its own.
      const absl::Time next =
          closed ? outcome.now + retry_.Backoff(outcome.failures) : outcome.now;
      absl::MutexLock lock(&mu_);
      if (!stopping_) RetryAtLocked(next, id);
      return;
    }
    case Outcome::Kind::kStoreFailed: {
      const absl::Time next = outcome.now + retry_.Backoff(1);
      absl::MutexLock lock(&mu_);
      if (!stopping_) RetryAtLocked(next, id);
      return;
    }
  }
}

void Dispatcher::StartCall(const storage::Message& message) {
  if (retry_.GiveUpBeforeCall(message, clock_->Now())) {
    Expire(message, message.attempts);
    return;
  }
  // Committed before the call: after a crash the marker says "maybe sent".
  absl::Status marked =
      messages_->MarkDispatchStarted(message.id, clock_->Now());
  if (absl::IsNotFound(marked) || absl::IsFailedPrecondition(marked)) {
    MarkAnswered(message.id);  // deleted, or answered meanwhile
    return;
  }
  if (!marked.ok()) {
    SMSGW_LOG(kError) << "cannot record dispatch start id=" << message.id
                      << ", will retry: " << marked;
    const absl::Time next = clock_->Now() + retry_.Backoff(1);
    absl::MutexLock lock(&mu_);
    if (!stopping_) RetryAtLocked(next, message.id);
    return;
  }
  CallProvider(message);
}

void Dispatcher::CallProvider(const storage::Message& message) {
  twilio::OutboundSms sms;
  sms.to = message.to;
  sms.from = message.from;
  sms.messaging_service_sid = message.messaging_service_sid;
  sms.body = message.body;
  sms.media_urls = message.media_urls;
  sms.status_callback = options_.status_callback_url;
  if (message.expire_time.has_value()) {
    // Twilio's own queue honours what is left of the validity period
    // (ValidityPeriod, whole seconds, 1..36000).
    const absl::Duration left = *message.expire_time - clock_->Now();
    sms.validity_period_s = static_cast<int>(std::clamp<int64_t>(
        absl::ToInt64Seconds(absl::Ceil(left, absl::Seconds(1))), 1, 36000));
  }
  {
    absl::MutexLock lock(&mu_);
    ++in_flight_;
  }
  const std::string id = message.id;
  const int attempts_before = message.attempts;
  const std::optional<absl::Time> retry_deadline =
      retry_.RetryDeadline(message);
  const absl::Time call_start = absl::Now();
  provider_->SendAsync(std::move(sms), [this, id, attempts_before,
                                        retry_deadline,
                                        call_start](twilio::SendResult result) {
    RecordProviderCall("create",
                       result.accepted                          ? "accepted"
                       : RetryPolicy::IsRetryable(result.error) ? "retryable"
                                                                : "rejected",
                       absl::Now() - call_start);
    // On the provider's I/O thread: hand the (blocking) store write to our
    // workers. The queue is effectively unbounded so no answer is dropped.
    auto shared = std::make_shared<twilio::SendResult>(std::move(result));
    if (!workers_.TrySchedule(
            [this, id, attempts_before, retry_deadline, shared] {
              OnResult(id, attempts_before, retry_deadline, std::move(*shared));
            })) {
      SMSGW_LOG(kWarning) << "dropping provider answer during shutdown id="
                          << id << "; the message stays PENDING";
      absl::MutexLock lock(&mu_);
      --in_flight_;
    }
  });
}

void Dispatcher::MarkAnswered(const std::string& id,
                              const storage::Message* answered) {
  {
    absl::MutexLock lock(&mu_);
    last_errors_.erase(id);
    if (probe_id_ == id) {
      // The probe ended without a provider verdict (deleted, expired, or
      // answered meanwhile): let the next one go.
      probe_id_.clear();
      breaker_.ProbeAbandoned(clock_->Now());
      KickLocked(absl::InfinitePast());
    }
  }
  waiters_.Answered(id, answered);
}

void Dispatcher::NotifyOnFirstAnswer(absl::string_view id, absl::Time deadline,
                                     AnswerCallback done) {
  bool stopping = false;
  {
    absl::MutexLock lock(&mu_);
    stopping = stopping_;
  }
  if (stopping || !waiters_.Notify(id, deadline, done)) done(nullptr);
}

void Dispatcher::AwaitFirstAnswer(absl::string_view id, absl::Time deadline) {
  waiters_.Await(id, deadline);
}

void Dispatcher::OnResult(const std::string& id, int attempts_before,
                          std::optional<absl::Time> retry_deadline,
                          twilio::SendResult result) {
  const absl::Time now = clock_->Now();
  storage::StatusUpdate update;
  update.event_time = now;
  absl::Status stored;
  std::optional<storage::Message> answered;  // as stored, for the waiters
  bool expired = false;
  if (result.accepted) {
    ProviderAnswered(id);
    const twilio::ProviderMessage& pm = result.message;
    update = AcceptedUpdate(pm, now, 201);
    absl::StatusOr<storage::Message> accepted =
        messages_->ApplyStatus(id, update);
    stored = accepted.status();
    if (accepted.ok()) answered = *std::move(accepted);
    SMSGW_LOG(kInfo) << "provider accepted id=" << id << " sid=" << pm.sid
                     << " status=" << pm.status;
  } else {
    twilio::ProviderError& error = result.error;
    error.retryable = RetryPolicy::IsRetryable(error);
    update.error_code =
        error.code != 0 ? std::optional<int>(error.code) : std::nullopt;
    update.error_message = error.message;
    update.http_status = error.http_status;
    const int attempts = attempts_before + 1;
    if (!error.retryable) {
      // A final refusal still shows the provider is up.
      ProviderAnswered(id);
      update.status = MessageStatus::kFailed;
      update.source = storage::ReportSource::kProviderResponse;
      absl::StatusOr<storage::Message> failed =
          messages_->ApplyStatus(id, update);
      stored = failed.status();
      if (failed.ok()) answered = *failed;
      // Twilio 21610: the recipient replied STOP to this sender at Twilio;
      // remember it so the next send is refused before reaching Twilio.
      if (failed.ok() && error.code == 21610) {
        stored =
            messages_->SetOptOut(failed->to, failed->our_number, "21610", now);
      }
      SMSGW_LOG(kInfo) << "provider refused id=" << id
                       << " http=" << error.http_status
                       << " code=" << error.code << " error=\"" << error.message
                       << "\"";
    } else {
      const bool closed = ProviderFailed(id, now);
      bool stopping = false;
      {
        absl::MutexLock lock(&mu_);
        stopping = stopping_;
        last_errors_[id] = RetryPolicy::LastError{error.code, error.http_status,
                                                  error.message};
      }
      update.status = MessageStatus::kPending;
      update.source = storage::ReportSource::kDispatchAttempt;
      // A 4xx answer (429) proves the create was refused; without an answer,
      // or with a 5xx, the provider may have the message, and only
      // reconciliation (on the next attempt) may end it.
      const bool refused = error.http_status >= 400 && error.http_status <= 499;
      const RetryPolicy::Decision decision =
          stopping ? RetryPolicy::Decision{}
                   : retry_.AfterRetryableFailure(attempts, refused,
                                                  retry_deadline, closed, now);
      if (stopping) {
        // Leave it PENDING: the next start dispatches it again.
        stored = messages_->RecordRetry(id, update, now);
      } else if (decision.expire) {
        stored = messages_->RecordRetry(id, update, now);
        absl::StatusOr<storage::Message> current = messages_->Get(id);
        if (stored.ok() && current.ok()) {
          Expire(*current, attempts);
          expired = true;
        }
      } else {
        // With the breaker open, the message waits in its queue for the
        // probe rather than on a timer of its own.
        stored = messages_->RecordRetry(id, update, decision.next);
        if (stored.ok()) {
          absl::MutexLock lock(&mu_);
          RetryAtLocked(decision.next, id);
        }
        SMSGW_LOG(kWarning)
            << "provider call failed, will retry id=" << id
            << " attempt=" << attempts << " http=" << error.http_status
            << " code=" << error.code << " error=\"" << error.message << "\"";
      }
    }
  }
  if (!stored.ok()) {
    SMSGW_LOG(kError) << "cannot store provider answer id=" << id << ": "
                      << stored;
  }
  if (!expired) MarkAnswered(id, answered.has_value() ? &*answered : nullptr);
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

void Dispatcher::Expire(const storage::Message& message, int attempts) {
  const absl::Time now = clock_->Now();
  RetryPolicy::LastError last;
  {
    absl::MutexLock lock(&mu_);
    auto it = last_errors_.find(message.id);
    if (it != last_errors_.end()) last = it->second;
  }
  if (last.http_status == 0 && last.message.empty() && attempts > 0) {
    // After a restart the last error is in the delivery reports only.
    absl::StatusOr<std::vector<storage::DeliveryReport>> reports =
        messages_->ListReports(message.id);
    if (reports.ok()) {
      for (auto r = reports->rbegin(); r != reports->rend(); ++r) {
        if (r->source != storage::ReportSource::kDispatchAttempt) continue;
        last = RetryPolicy::LastError{r->error_code.value_or(0), r->http_status,
                                      r->error_message};
        break;
      }
    }
  }
  storage::StatusUpdate update;
  update.status = MessageStatus::kExpired;
  update.event_time = now;
  update.source = storage::ReportSource::kDispatchAttempt;
  update.http_status = last.http_status;
  if (last.code != 0) update.error_code = last.code;
  const std::string why = retry_.ExpiryReason(message, now, attempts, last);
  update.error_message = why;
  absl::StatusOr<storage::Message> stored =
      messages_->ApplyStatus(message.id, update);
  if (!stored.ok()) {
    SMSGW_LOG(kError) << "cannot store expiry id=" << message.id << ": "
                      << stored.status();
  } else {
    SMSGW_LOG(kInfo) << "message expired id=" << message.id << ": " << why;
  }
  MarkAnswered(message.id, stored.ok() ? &*stored : nullptr);
}

void Dispatcher::RefreshFromProvider(absl::string_view provider_sid) {
  std::string sid(provider_sid);
  (void)workers_.TrySchedule([this, sid] {
    absl::StatusOr<twilio::ProviderMessage> fetched = provider_->Fetch(sid);
    if (!fetched.ok()) {
      SMSGW_LOG(kWarning) << "cannot fetch final figures sid=" << sid << ": "
                          << fetched.status();
      return;
    }
    const storage::StatusUpdate update = domain::ProviderStatusUpdate(
        *fetched, clock_->Now(), /*http_status=*/200);
    if (update.status == MessageStatus::kUnspecified) return;
    absl::Status stored = messages_->ApplyStatusBySid(sid, update).status();
    if (!stored.ok()) {
      SMSGW_LOG(kWarning) << "cannot store final figures sid=" << sid << ": "
                          << stored;
    }
  });
}

}  // namespace smsgw::dispatch

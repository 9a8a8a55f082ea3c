#include "server/dispatch/dispatcher.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
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
      workers_("dispatch", options_.workers, /*max_queue=*/1 << 20),
      breaker_(options_.breaker) {
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
  timer_ = std::thread([this] { TimerLoop(); });
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

void Dispatcher::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && !timer_.joinable()) return;
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
  if (timer_.joinable()) timer_.join();
  FireExpiredWaiters(/*all=*/true);  // callers get the message as it stands
  workers_.Shutdown();
}

absl::Duration Dispatcher::Backoff(int attempt) {
  absl::Duration ceiling = options_.backoff_base;
  for (int i = 1; i < attempt && ceiling < options_.backoff_cap; ++i) {
    ceiling *= 2;
  }
  ceiling = std::min(ceiling, options_.backoff_cap);
  absl::MutexLock lock(&mu_);
  return absl::Microseconds(absl::Uniform<int64_t>(
      rng_, 0, absl::ToInt64Microseconds(ceiling) + 1));
}

void Dispatcher::Enqueue(const storage::Message& message) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;  // stays PENDING; dispatched at the next start
    awaiting_first_.insert(message.id);
  }
  Pace(message);
}

void Dispatcher::EnqueueReserved(const storage::Message& message) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;  // stays PENDING; reconciled at the next start
    awaiting_first_.insert(message.id);
  }
  // ReserveImmediate() booked its tokens and the marker was committed with
  // the row: straight to the provider.
  CallProvider(message);
}

bool Dispatcher::ReserveImmediate(const storage::Message& message) {
  {
    absl::MutexLock lock(&mu_);
    // Only when nothing would be overtaken and the provider is answering.
    if (stopping_ || !breaker_.Closed() ||
        queue_.Head(message.our_number) != nullptr) {
      return false;
    }
  }
  if (options_.rate_limiter == nullptr) return true;
  return options_.rate_limiter->TryReserveNow(message.our_number,
                                              message.num_segments);
}

namespace {

// The store update for a message the provider has (its create answer, or the
// message reconciliation found).
storage::StatusUpdate AcceptedUpdate(const twilio::ProviderMessage& pm,
                                     absl::Time now, int http_status) {
  storage::StatusUpdate update = domain::ProviderStatusUpdate(pm, now,
                                                              http_status);
  // The provider has it, whatever word it used.
  if (update.status == MessageStatus::kUnspecified) {
    update.status = MessageStatus::kQueued;
  }
  return update;
}

// Whether a failed create is worth another attempt. Besides what the
// provider client marks retryable (429, 5xx, timeouts, connection errors): a
// 2xx whose body we cannot read. The message probably exists; retrying
// reconciles first (the marker stays: RecordRetry keeps it for anything but
// a 4xx) instead of failing a message that was sent.
bool IsRetryable(const twilio::ProviderError& error) {
  return error.retryable ||
         (error.http_status >= 200 && error.http_status <= 299);
}

}  // namespace

int64_t Dispatcher::possible_duplicates() const {
  absl::MutexLock lock(&mu_);
  return possible_duplicates_;
}

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

std::optional<absl::Time> Dispatcher::RetryDeadline(
    const storage::Message& message) const {
  const absl::Time horizon =
      message.scheduled_time.value_or(message.create_time) +
      options_.retry_horizon;
  return message.expire_time.has_value() ? std::min(*message.expire_time, horizon)
                                         : horizon;
}

void Dispatcher::ProviderAnswered(const std::string& id) {
  absl::MutexLock lock(&mu_);
  if (probe_id_ == id) probe_id_.clear();
  if (breaker_.OnProviderAnswered()) {
    SMSGW_LOG(kInfo) << "provider answering again: circuit closed, draining "
                     << queue_.size() << " queued message(s)";
    timer_kicked_ = true;
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
                        << "; sends wait in their queues ("
                        << queue_.size() << " queued)";
    timer_kicked_ = true;
  }
  return breaker_.Closed();
}

void Dispatcher::RecordProviderCall(const char* operation, const char* outcome,
                                    absl::Duration took) {
  if (provider_requests_ == nullptr) return;
  provider_requests_->Increment({operation, outcome});
  provider_seconds_->Observe({operation, outcome}, absl::ToDoubleSeconds(took));
}

int64_t Dispatcher::reconciled_found() const {
  absl::MutexLock lock(&mu_);
  return reconciled_found_;
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
  absl::StatusOr<storage::Message> message = messages_->Get(id);
  if (!message.ok() || message->status != MessageStatus::kPending) {
    MarkAnswered(id);  // deleted, or answered meanwhile
    return;
  }
  if (!message->dispatch_started_time.has_value()) {
    StartCall(*message);
    return;
  }
  const absl::Time started = *message->dispatch_started_time;
  twilio::ListFilter filter;
  filter.to = message->to;
  // With a Messaging Service the provider picks the sender: match on To only.
  if (message->messaging_service_sid.empty()) filter.from = message->from;
  // No DateSent filter on purpose: date_sent stays null until the carrier
  // takes the message, and Twilio's DateSent filter is day-granular; the
  // date_created check below is the time window.
  filter.page_size = std::clamp(options_.reconcile_list_limit, 1, 1000);
  const absl::Time list_start = absl::Now();
  absl::StatusOr<std::vector<twilio::ProviderMessage>> listed =
      provider_->List(filter, options_.reconcile_list_limit);
  RecordProviderCall("list", listed.ok() ? "ok" : "error",
                     absl::Now() - list_start);
  const absl::Time now = clock_->Now();
  if (!listed.ok()) {
    const bool closed = ProviderFailed(id, now);
    int failures = 0;
    {
      absl::MutexLock lock(&mu_);
      failures = ++reconcile_failures_[id];
    }
    if (now - started < options_.reconcile_give_up_after) {
      // With the breaker open the message waits in its queue for the probe
      // instead of on a timer of its own.
      const absl::Time next = closed ? now + Backoff(failures) : now;
      SMSGW_LOG(kWarning) << "cannot reconcile unanswered send, will ask again"
                          << " id=" << id << " failures=" << failures << ": "
                          << listed.status();
      absl::MutexLock lock(&mu_);
      if (!stopping_) AddTimedLocked(retries_, next, id);
      return;
    }
    SMSGW_LOG(kWarning) << "possible duplicate: provider could not tell for "
                        << absl::FormatDuration(now - started)
                        << " whether it has the message; sending again id="
                        << id << " last_error=\"" << listed.status().message()
                        << "\"";
    {
      absl::MutexLock lock(&mu_);
      ++possible_duplicates_;
      reconcile_failures_.erase(id);
    }
    StartCall(*message);
    return;
  }
  ProviderAnswered(id);
  {
    absl::MutexLock lock(&mu_);
    reconcile_failures_.erase(id);
  }
  for (const twilio::ProviderMessage& pm : *listed) {
    if (pm.body != message->body || pm.sid.empty()) continue;
    if (pm.date_created < started - options_.reconcile_clock_skew) continue;
    absl::StatusOr<storage::Message> stored =
        messages_->ApplyStatus(id, AcceptedUpdate(pm, now, 200));
    // AlreadyExists: that SID is another message's (same body, same
    // numbers); keep looking.
    if (absl::IsAlreadyExists(stored.status())) continue;
    if (!stored.ok()) {
      SMSGW_LOG(kError) << "cannot store reconciled answer id=" << id << ": "
                        << stored.status();
      absl::MutexLock lock(&mu_);
      if (!stopping_) AddTimedLocked(retries_, now + Backoff(1), id);
      return;
    }
    SMSGW_LOG(kInfo) << "reconciled: provider has the message, not resending"
                     << " id=" << id << " sid=" << pm.sid
                     << " status=" << pm.status;
    {
      absl::MutexLock lock(&mu_);
      ++reconciled_found_;
    }
    MarkAnswered(id);
    return;
  }
  SMSGW_LOG(kInfo) << "reconciled: provider does not have the message,"
                   << " sending id=" << id;
  StartCall(*message);
}

void Dispatcher::StartCall(const storage::Message& message) {
  const absl::Time now = clock_->Now();
  if ((message.expire_time.has_value() && now >= *message.expire_time) ||
      (message.attempts > 0 && now >= *RetryDeadline(message))) {
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
    const absl::Time next = clock_->Now() + Backoff(1);
    absl::MutexLock lock(&mu_);
    if (!stopping_) AddTimedLocked(retries_, next, message.id);
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
  const std::optional<absl::Time> retry_deadline = RetryDeadline(message);
  const absl::Time call_start = absl::Now();
  provider_->SendAsync(std::move(sms), [this, id, attempts_before,
                                        retry_deadline, call_start](
                                           twilio::SendResult result) {
    RecordProviderCall("create",
                       result.accepted               ? "accepted"
                       : IsRetryable(result.error) ? "retryable"
                                                     : "rejected",
                       absl::Now() - call_start);
    // On the provider's I/O thread: hand the (blocking) store write to our
    // workers. The queue is effectively unbounded so no answer is dropped.
    auto shared = std::make_shared<twilio::SendResult>(std::move(result));
    if (!workers_.TrySchedule([this, id, attempts_before, retry_deadline,
                               shared] {
          OnResult(id, attempts_before, retry_deadline, std::move(*shared));
        })) {
      SMSGW_LOG(kWarning) << "dropping provider answer during shutdown id="
                          << id << "; the message stays PENDING";
      absl::MutexLock lock(&mu_);
      --in_flight_;
    }
  });
}

std::vector<Dispatcher::AnswerCallback> Dispatcher::EraseAwaitingLocked(
    const std::string& id) {
  awaiting_first_.erase(id);
  std::vector<AnswerCallback> ready;
  auto it = answer_waiters_.find(id);
  if (it != answer_waiters_.end()) {
    for (AnswerWaiter& w : it->second) ready.push_back(std::move(w.done));
    answer_waiters_.erase(it);
  }
  return ready;
}

void Dispatcher::MarkAnswered(const std::string& id,
                              const storage::Message* answered) {
  std::vector<AnswerCallback> ready;
  {
    absl::MutexLock lock(&mu_);
    ready = EraseAwaitingLocked(id);
    last_errors_.erase(id);
    if (probe_id_ == id) {
      // The probe ended without a provider verdict (deleted, expired, or
      // answered meanwhile): let the next one go.
      probe_id_.clear();
      breaker_.ProbeAbandoned(clock_->Now());
      timer_kicked_ = true;
    }
  }
  for (auto& done : ready) done(answered);
}

void Dispatcher::NotifyOnFirstAnswer(absl::string_view id, absl::Time deadline,
                                     AnswerCallback done) {
  {
    absl::MutexLock lock(&mu_);
    const std::string key(id);
    if (!stopping_ && awaiting_first_.contains(key) && deadline > absl::Now()) {
      answer_waiters_[key].push_back(AnswerWaiter{deadline, std::move(done)});
      return;
    }
  }
  done(nullptr);
}

void Dispatcher::FireExpiredWaiters(bool all) {
  std::vector<AnswerCallback> ready;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    for (auto it = answer_waiters_.begin(); it != answer_waiters_.end();) {
      std::vector<AnswerWaiter>& waiters = it->second;
      for (auto w = waiters.begin(); w != waiters.end();) {
        if (all || w->deadline <= now) {
          ready.push_back(std::move(w->done));
          w = waiters.erase(w);
        } else {
          ++w;
        }
      }
      if (waiters.empty()) {
        answer_waiters_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  for (auto& done : ready) done(nullptr);
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
    error.retryable = IsRetryable(error);
    update.error_code = error.code != 0 ? std::optional<int>(error.code)
                                        : std::nullopt;
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
        stored = messages_->SetOptOut(failed->to, failed->our_number, "21610",
                                      now);
      }
      SMSGW_LOG(kInfo) << "provider refused id=" << id << " http="
                       << error.http_status << " code=" << error.code
                       << " error=\"" << error.message << "\"";
    } else {
      const bool closed = ProviderFailed(id, now);
      bool stopping = false;
      {
        absl::MutexLock lock(&mu_);
        stopping = stopping_;
        last_errors_[id] = LastError{error.code, error.http_status,
                                     error.message};
      }
      update.status = MessageStatus::kPending;
      update.source = storage::ReportSource::kDispatchAttempt;
      // A 4xx answer (429) proves the create was refused; without an answer,
      // or with a 5xx, the provider may have the message, and only
      // reconciliation (on the next attempt) may end it.
      const bool refused =
          error.http_status >= 400 && error.http_status <= 499;
      if (stopping) {
        // Leave it PENDING: the next start dispatches it again.
        stored = messages_->RecordRetry(id, update, now);
      } else if (refused && retry_deadline.has_value() &&
                 now >= *retry_deadline) {
        stored = messages_->RecordRetry(id, update, now);
        absl::StatusOr<storage::Message> current = messages_->Get(id);
        if (stored.ok() && current.ok()) {
          Expire(*current, attempts);
          expired = true;
        }
      } else {
        // With the breaker open, the message waits in its queue for the
        // probe rather than on a timer of its own.
        absl::Time next = closed ? now + Backoff(attempts) : now;
        if (retry_deadline.has_value()) next = std::min(next, *retry_deadline);
        stored = messages_->RecordRetry(id, update, next);
        if (stored.ok()) {
          absl::MutexLock lock(&mu_);
          AddTimedLocked(retries_, next, id);
        }
        SMSGW_LOG(kWarning) << "provider call failed, will retry id=" << id
                            << " attempt=" << attempts << " http="
                            << error.http_status << " code=" << error.code
                            << " error=\"" << error.message << "\"";
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
  LastError last;
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
        last = LastError{r->error_code.value_or(0), r->http_status,
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
  const bool validity_ended =
      message.expire_time.has_value() && now >= *message.expire_time;
  std::string why =
      validity_ended
          ? absl::StrCat("not sent: its validity period ended at ",
                         absl::FormatTime(absl::RFC3339_sec,
                                          *message.expire_time,
                                          absl::UTCTimeZone()))
          : absl::StrCat("not sent: the provider still failed when the retry "
                         "horizon (SMSGW_RETRY_HORIZON, ",
                         absl::FormatDuration(options_.retry_horizon),
                         ") ended");
  absl::StrAppend(&why, " after ", attempts, " attempt(s)");
  if (last.http_status != 0 || !last.message.empty()) {
    absl::StrAppend(&why, "; last provider error: HTTP ", last.http_status,
                    last.message.empty() ? "" : " ", last.message);
  }
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

void Dispatcher::AwaitFirstAnswer(absl::string_view id, absl::Time deadline) {
  const std::string key(id);
  absl::MutexLock lock(&mu_);
  auto answered = [this, &key]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !awaiting_first_.contains(key);
  };
  mu_.AwaitWithDeadline(absl::Condition(&answered), deadline);
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

void Dispatcher::AddTimedLocked(std::multimap<absl::Time, std::string>& queue,
                                absl::Time at, const std::string& id) {
  queue.emplace(at, id);
  if (at < timer_wake_) timer_kicked_ = true;
}

void Dispatcher::HandDue(std::vector<DueMessage> due) {
  {
    absl::MutexLock lock(&mu_);
    for (DueMessage& d : due) due_.push_back(std::move(d));
    if (due_draining_) return;  // the running drain takes them, in order
    due_draining_ = true;
  }
  const bool queued = workers_.TrySchedule([this] {
    while (true) {
      DueMessage next;
      {
        absl::MutexLock lock(&mu_);
        if (due_.empty() || stopping_) {
          due_draining_ = false;  // what is left stays PENDING in the store
          return;
        }
        next = std::move(due_.front());
        due_.pop_front();
      }
      absl::StatusOr<storage::Message> message = messages_->Get(next.id);
      if (!message.ok() || message->status != MessageStatus::kPending) {
        MarkAnswered(next.id);  // deleted, canceled or answered meanwhile
        continue;
      }
      switch (next.kind) {
        case DueMessage::Kind::kSend:  // released with its tokens
          Attempt(*message);
          break;
        case DueMessage::Kind::kRetry:  // waits for tokens like a first try
          Pace(*message);
          break;
        case DueMessage::Kind::kExpire:
          if (message->dispatch_started_time.has_value()) {
            // Its outcome is unknown: only the provider can end it.
            Pace(*message);
          } else {
            Expire(*message, message->attempts);
          }
          break;
      }
    }
  });
  if (!queued) {
    // The workers are shutting down: the messages stay PENDING in the store
    // and the next start dispatches them.
    absl::MutexLock lock(&mu_);
    due_draining_ = false;
  }
}

void Dispatcher::TimerLoop() {
  {
    absl::MutexLock lock(&mu_);
    // The first look for due scheduled messages waits one poll interval, so
    // that it does not race Start()'s dispatch of the PENDING backlog.
    if (options_.schedule_poll > absl::ZeroDuration()) {
      next_schedule_poll_ = clock_->Now() + options_.schedule_poll;
    }
  }
  while (true) {
    // Deadlines of NotifyOnFirstAnswer() callers are real (gRPC) times; the
    // loop wakes at least every 200 ms, which bounds how late they fire.
    FireExpiredWaiters(/*all=*/false);
    // Due messages go to the workers in one pass: Get() and the in-flight
    // marker block on the store, and the timer must keep time meanwhile.
    std::vector<DueMessage> due;
    bool poll_scheduled = false;
    {
      absl::MutexLock lock(&mu_);
      auto next_due = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        absl::Time next = next_schedule_poll_;
        if (!retries_.empty()) next = std::min(next, retries_.begin()->first);
        next = std::min(next, release_wake_);
        next = std::min(next, queue_.NextDeadline());
        // An open breaker matters only when something waits for it (else
        // the timer would spin on a reopen time in the past).
        if (!queue_.empty()) next = std::min(next, breaker_.ReopenTime());
        return next;
      };
      auto ready = [this, &next_due]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || timer_kicked_ || next_due() <= clock_->Now();
      };
      // Wake at the earliest due time, or poll: the clock may be a fake.
      const absl::Duration sleep =
          std::min(absl::Milliseconds(200), next_due() - clock_->Now());
      timer_wake_ = clock_->Now() + sleep;
      timer_kicked_ = false;
      mu_.AwaitWithDeadline(absl::Condition(&ready), absl::Now() + sleep);
      timer_kicked_ = false;
      timer_wake_ = absl::InfinitePast();  // awake: nothing to kick
      if (stopping_) return;
      const absl::Time now = clock_->Now();
      while (!retries_.empty() && retries_.begin()->first <= now) {
        due.push_back({retries_.begin()->second, DueMessage::Kind::kRetry});
        retries_.erase(retries_.begin());
      }
      for (SendQueue::Entry& e : queue_.PopExpired(now)) {
        due.push_back({std::move(e.id), DueMessage::Kind::kExpire});
      }
      ReleaseQueuedLocked(now, &due);
      if (next_schedule_poll_ <= now) {
        next_schedule_poll_ = now + options_.schedule_poll;
        poll_scheduled = true;
      }
    }
    if (!due.empty()) HandDue(std::move(due));
    if (poll_scheduled) ReleaseDueScheduled();
  }
}

}  // namespace smsgw::dispatch

#include "server/dispatch/dispatcher.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
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
      workers_("dispatch", options_.workers, /*max_queue=*/1 << 20) {
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
    if (stopping_) return false;
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
  storage::StatusUpdate update;
  update.event_time = now;
  update.status = domain::FromTwilioStatus(pm.status);
  if (update.status == MessageStatus::kUnspecified) {
    update.status = MessageStatus::kQueued;
  }
  update.provider_status = pm.status;
  update.provider_sid = pm.sid;
  update.num_segments = pm.num_segments;
  update.price = pm.price.value_or("");
  update.price_unit = pm.price_unit;
  update.error_code = pm.error_code;
  update.error_message = pm.error_message;
  update.source = storage::ReportSource::kProviderResponse;
  update.http_status = http_status;
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
    int failures = 0;
    {
      absl::MutexLock lock(&mu_);
      failures = ++reconcile_failures_[id];
    }
    if (now - started < options_.reconcile_give_up_after) {
      const absl::Time next = now + Backoff(failures);
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
  {
    absl::MutexLock lock(&mu_);
    ++in_flight_;
  }
  const std::string id = message.id;
  const int attempts_before = message.attempts;
  const absl::Time call_start = absl::Now();
  provider_->SendAsync(std::move(sms), [this, id, attempts_before, call_start](
                                           twilio::SendResult result) {
    RecordProviderCall("create",
                       result.accepted               ? "accepted"
                       : IsRetryable(result.error) ? "retryable"
                                                     : "rejected",
                       absl::Now() - call_start);
    // On the provider's I/O thread: hand the (blocking) store write to our
    // workers. The queue is effectively unbounded so no answer is dropped.
    auto shared = std::make_shared<twilio::SendResult>(std::move(result));
    if (!workers_.TrySchedule([this, id, attempts_before, shared] {
          OnResult(id, attempts_before, std::move(*shared));
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
                          twilio::SendResult result) {
  const absl::Time now = clock_->Now();
  storage::StatusUpdate update;
  update.event_time = now;
  absl::Status stored;
  std::optional<storage::Message> answered;  // as stored, for the waiters
  if (result.accepted) {
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
    bool stopping = false;
    {
      absl::MutexLock lock(&mu_);
      stopping = stopping_;
    }
    if (error.retryable && attempts < options_.max_attempts && !stopping) {
      const absl::Time next = now + Backoff(attempts);
      update.status = MessageStatus::kPending;
      update.source = storage::ReportSource::kDispatchAttempt;
      stored = messages_->RecordRetry(id, update, next);
      if (stored.ok()) {
        absl::MutexLock lock(&mu_);
        AddTimedLocked(retries_, next, id);
      }
      SMSGW_LOG(kWarning) << "provider call failed, will retry id=" << id
                          << " attempt=" << attempts << " http="
                          << error.http_status << " code=" << error.code
                          << " error=\"" << error.message << "\"";
    } else if (error.retryable && stopping) {
      // Leave it PENDING: the next start dispatches it again.
      update.status = MessageStatus::kPending;
      update.source = storage::ReportSource::kDispatchAttempt;
      stored = messages_->RecordRetry(id, update, now);
    } else {
      update.status = MessageStatus::kFailed;
      update.source = error.retryable ? storage::ReportSource::kDispatchAttempt
                                      : storage::ReportSource::kProviderResponse;
      if (error.retryable) {
        update.error_message = absl::StrCat("gave up after ", attempts,
                                            " attempts: ", error.message);
      }
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
    }
  }
  if (!stored.ok()) {
    SMSGW_LOG(kError) << "cannot store provider answer id=" << id << ": "
                      << stored;
  }
  MarkAnswered(id, answered.has_value() ? &*answered : nullptr);
  absl::MutexLock lock(&mu_);
  --in_flight_;
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
    storage::StatusUpdate update;
    update.status = domain::FromTwilioStatus(fetched->status);
    if (update.status == MessageStatus::kUnspecified) return;
    update.provider_status = fetched->status;
    update.num_segments = fetched->num_segments;
    update.price = fetched->price.value_or("");
    update.price_unit = fetched->price_unit;
    update.source = storage::ReportSource::kProviderResponse;
    update.http_status = 200;
    update.event_time = clock_->Now();
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
        continue;
      }
      // A retry books tokens like a first attempt; a paced one has them.
      if (next.paced) {
        Attempt(*message);
      } else {
        Pace(*message);
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
        if (!paced_.empty()) next = std::min(next, paced_.begin()->first);
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
      while (!paced_.empty() && paced_.begin()->first <= now) {
        due.push_back({paced_.begin()->second, /*paced=*/true});
        paced_.erase(paced_.begin());
      }
      while (!retries_.empty() && retries_.begin()->first <= now) {
        due.push_back({retries_.begin()->second, /*paced=*/false});
        retries_.erase(retries_.begin());
      }
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

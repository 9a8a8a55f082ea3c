// The dispatcher's pacing (issue "Durable dispatch"): per-sender rate limits,
// the sender queues, the timer pass that releases them, and the backlog
// bound. Kept apart from dispatcher.cc, which owns the provider-call path.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "server/dispatch/dispatcher.h"

namespace smsgw::dispatch {

using storage::MessageStatus;

namespace {

// A message queued further out than this does not keep SendMessage waiting:
// it answers PENDING at once and the client follows the message.
constexpr absl::Duration kMaxPacedWait = absl::Seconds(2);

// The timer pass runs at least this often (clock time) even when nothing is
// due, so that a state change it was not told about waits no longer.
constexpr absl::Duration kMaxTickInterval = absl::Milliseconds(200);

}  // namespace

SendQueue::Entry Dispatcher::EntryFor(const storage::Message& message) const {
  SendQueue::Entry entry;
  entry.id = message.id;
  entry.sender = message.our_number;
  entry.priority = message.priority;
  entry.seq = message.seq;
  entry.segments = std::max(message.num_segments, 1);
  // A message whose last attempt may have reached the provider is never
  // expired from the queue: it is reconciled first (StartCall decides).
  if (!message.dispatch_started_time.has_value()) {
    entry.deadline = message.expire_time;
    if (message.attempts > 0) entry.deadline = retry_.RetryDeadline(message);
  }
  return entry;
}

void Dispatcher::Pace(const storage::Message& message) {
  bool send_now = false;
  bool long_wait = false;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;  // stays PENDING; dispatched at the next start
    if (queue_.Contains(message.id)) return;
    RateLimiter* limiter = options_.rate_limiter;
    if (breaker_.Closed() && queue_.Head(message.our_number) == nullptr &&
        (limiter == nullptr ||
         limiter->TryReserveNow(message.our_number, message.num_segments))) {
      send_now = true;
    } else {
      if (probe_id_ == message.id) {
        // The probe is back without a provider verdict (its marker could
        // not be stored): another probe may go.
        probe_id_.clear();
        breaker_.ProbeAbandoned(clock_->Now());
      }
      queue_.Push(EntryFor(message));
      KickLocked(absl::InfinitePast());  // recompute when a head can go
      // A long wait does not keep SendMessage waiting: it answers PENDING
      // at once and the client follows the message.
      long_wait = !breaker_.Closed();
      if (!long_wait && limiter != nullptr) {
        const int64_t ahead = queue_.SegmentsOf(message.our_number);
        long_wait = limiter->EarliestAt(message.our_number,
                                        static_cast<int>(ahead)) -
                        clock_->Now() >
                    kMaxPacedWait;
      }
    }
  }
  if (long_wait) waiters_.Answered(message.id);
  if (send_now) Attempt(message);
}

void Dispatcher::ReleaseQueuedLocked(absl::Time now,
                                     std::vector<DueMessage>* due) {
  release_wake_ = absl::InfiniteFuture();
  RateLimiter* limiter = options_.rate_limiter;
  // Takes `sender`'s head if its tokens are there; else notes when they
  // will be.
  auto take_head = [&](const std::string& sender) {
    const SendQueue::Entry* head = queue_.Head(sender);
    if (head == nullptr) return false;
    if (limiter != nullptr &&
        !limiter->TryReserveNow(sender, head->segments)) {
      release_wake_ = std::min(release_wake_,
                               limiter->EarliestAt(sender, head->segments));
      return false;
    }
    due->push_back({queue_.PopHead(sender).id, DueMessage::Kind::kSend});
    return true;
  };
  if (breaker_.Closed()) {
    for (const std::string& sender : queue_.Senders()) {
      while (take_head(sender)) {
      }
    }
    return;
  }
  if (!breaker_.ProbeDue(now) || !probe_id_.empty()) return;
  // One probe: the message that would go first of all.
  std::optional<std::string> sender = queue_.FirstSender();
  if (!sender.has_value()) return;
  const std::string probe = queue_.Head(*sender)->id;
  if (take_head(*sender)) {
    probe_id_ = probe;
    breaker_.ProbeStarted();
    SMSGW_LOG(kInfo) << "circuit half open: probing the provider with id="
                     << probe;
  }
}

bool Dispatcher::ReleaseScheduled(const storage::Message& released) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;  // PENDING now: the next start dispatches it
  }
  // Nobody waits for its first answer: no waiters_.Expect().
  Pace(released);
  return true;
}

void Dispatcher::KickLocked(absl::Time at) {
  if (at >= tick_at_) return;  // the pass comes by then anyway
  tick_at_ = at;
  timer_.Wake(tick_, at);
}

void Dispatcher::RetryAtLocked(absl::Time at, const std::string& id) {
  retries_.emplace(at, id);
  KickLocked(at);
}

absl::Time Dispatcher::Tick() {
  // Due messages go to the workers in one pass: Get() and the in-flight
  // marker block on the store, and the timer must keep time meanwhile.
  std::vector<DueMessage> due;
  absl::Time next;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::InfiniteFuture();
    const absl::Time now = clock_->Now();
    while (!retries_.empty() && retries_.begin()->first <= now) {
      due.push_back({retries_.begin()->second, DueMessage::Kind::kRetry});
      retries_.erase(retries_.begin());
    }
    for (SendQueue::Entry& e : queue_.PopExpired(now)) {
      due.push_back({std::move(e.id), DueMessage::Kind::kExpire});
    }
    ReleaseQueuedLocked(now, &due);
    next = now + kMaxTickInterval;
    if (!retries_.empty()) next = std::min(next, retries_.begin()->first);
    next = std::min(next, release_wake_);
    next = std::min(next, queue_.NextDeadline());
    // An open breaker matters only when something waits for it (else the
    // timer would spin on a reopen time in the past).
    if (!queue_.empty()) next = std::min(next, breaker_.ReopenTime());
    tick_at_ = next;
  }
  if (!due.empty()) HandDue(std::move(due));
  return next;
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

absl::Status Dispatcher::CheckBacklog(const storage::Message& message) {
  if (options_.rate_limiter == nullptr ||
      options_.max_backlog <= absl::ZeroDuration()) {
    return absl::OkStatus();
  }
  const double rate = options_.rate_limiter->RateFor(message.our_number);
  const double bound = rate * absl::ToDoubleSeconds(options_.max_backlog);
  absl::StatusOr<int64_t> queued = messages_->PendingSegments(message.our_number);
  if (!queued.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot count the backlog of ", message.our_number, ": ",
        queued.status().message(), "; retry"));
  }
  const int segments = std::max(message.num_segments, 1);
  if (static_cast<double>(*queued + segments) <= bound) {
    return absl::OkStatus();
  }
  const double hours = static_cast<double>(*queued) / rate / 3600.0;
  return absl::ResourceExhaustedError(absl::StrFormat(
      "sender %s has %d segments queued (about %.1f hours at %g/s; the bound "
      "is %.1f hours, SMSGW_MAX_BACKLOG); retry later or add numbers",
      message.our_number, *queued, hours, rate,
      absl::ToDoubleHours(options_.max_backlog)));
}

absl::StatusOr<absl::Duration> Dispatcher::Backlog(absl::string_view sender) {
  if (options_.rate_limiter == nullptr) return absl::ZeroDuration();
  absl::StatusOr<int64_t> queued = messages_->PendingSegments(sender);
  if (!queued.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot count the backlog of ", sender, ": ",
        queued.status().message(), "; retry"));
  }
  return absl::Seconds(static_cast<double>(*queued) /
                       options_.rate_limiter->RateFor(sender));
}

}  // namespace smsgw::dispatch

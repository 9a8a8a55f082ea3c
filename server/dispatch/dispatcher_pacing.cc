// The dispatcher's pacing and scheduling hooks (issue "Durable dispatch"):
// per-sender rate limits, the backlog bound and the release of scheduled
// sends. Kept apart from dispatcher.cc, which owns the provider-call path.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/logging.h"
#include "server/dispatch/dispatcher.h"

namespace smsgw::dispatch {
namespace {

// A message queued further out than this does not keep SendMessage waiting:
// it answers PENDING at once and the client follows the message.
constexpr absl::Duration kMaxPacedWait = absl::Seconds(2);

// Due scheduled messages released per timer pass; the next pass takes more.
constexpr int kReleaseBatch = 200;

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
    if (message.attempts > 0) entry.deadline = RetryDeadline(message);
  }
  return entry;
}

void Dispatcher::Pace(const storage::Message& message) {
  bool send_now = false;
  std::vector<AnswerCallback> ready;
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
      timer_kicked_ = true;  // the timer recomputes when a head can go
      // A long wait does not keep SendMessage waiting: it answers PENDING
      // at once and the client follows the message.
      bool long_wait = !breaker_.Closed();
      if (!long_wait && limiter != nullptr) {
        const int64_t ahead = queue_.SegmentsOf(message.our_number);
        long_wait = limiter->EarliestAt(message.our_number,
                                        static_cast<int>(ahead)) -
                        clock_->Now() >
                    kMaxPacedWait;
      }
      if (long_wait) ready = EraseAwaitingLocked(message.id);
    }
  }
  for (auto& done : ready) done(nullptr);
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

void Dispatcher::ReleaseDueScheduled() {
  absl::StatusOr<std::vector<storage::Message>> due =
      messages_->ListDueScheduled(clock_->Now(), kReleaseBatch);
  if (!due.ok()) {
    SMSGW_LOG(kError) << "cannot list due scheduled messages: "
                      << due.status();
    return;
  }
  for (const storage::Message& scheduled : *due) {
    absl::StatusOr<std::optional<storage::Message>> released =
        messages_->ReleaseScheduled(scheduled.id, clock_->Now());
    if (!released.ok()) {
      SMSGW_LOG(kError) << "cannot release scheduled message id="
                        << scheduled.id << ": " << released.status();
      continue;
    }
    if (!released->has_value()) continue;  // canceled meanwhile
    SMSGW_LOG(kInfo) << "scheduled message due id=" << scheduled.id;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;  // PENDING now: the next start dispatches it
    }
    // Nobody waits for its first answer: no awaiting_first_ entry.
    Pace(**released);
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

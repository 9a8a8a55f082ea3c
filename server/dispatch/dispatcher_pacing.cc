// The dispatcher's pacing and scheduling hooks (issue "Durable dispatch"):
// per-sender rate limits, the backlog bound and the release of scheduled
// sends. Kept apart from dispatcher.cc, which owns the provider-call path.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/common/logging.h"
#include "server/dispatch/dispatcher.h"

namespace smsgw::dispatch {
namespace {

// A message paced further out than this does not keep SendMessage waiting:
// it answers PENDING at once and the client follows the message.
constexpr absl::Duration kMaxPacedWait = absl::Seconds(2);

// Due scheduled messages released per timer pass; the next pass takes more.
constexpr int kReleaseBatch = 200;

}  // namespace

void Dispatcher::Pace(const storage::Message& message) {
  if (options_.rate_limiter == nullptr) {
    Attempt(message);
    return;
  }
  const absl::Time now = clock_->Now();
  const absl::Time at =
      options_.rate_limiter->Reserve(message.our_number, message.num_segments);
  if (at <= now) {
    Attempt(message);
    return;
  }
  std::vector<AnswerCallback> ready;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;  // stays PENDING; dispatched at the next start
    AddTimedLocked(paced_, at, message.id);
    if (at - now > kMaxPacedWait) ready = EraseAwaitingLocked(message.id);
  }
  for (auto& done : ready) done(nullptr);  // long wait: answer PENDING at once
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

}  // namespace smsgw::dispatch

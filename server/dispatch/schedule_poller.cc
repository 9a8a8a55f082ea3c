#include "server/dispatch/schedule_poller.h"

#include <optional>
#include <utility>
#include <vector>

#include "common/logging.h"

namespace smsgw::dispatch {

SchedulePoller::SchedulePoller(storage::DispatchQueueStore* messages, Clock* clock,
                               absl::Duration poll, Release release)
    : messages_(messages),
      clock_(clock),
      poll_(poll),
      release_(std::move(release)) {}

void SchedulePoller::Start(Timer* timer) {
  if (poll_ <= absl::ZeroDuration()) return;
  timer->RunRepeatedly(clock_->Now() + poll_, [this] {
    const absl::Time next = clock_->Now() + poll_;
    ReleaseDue();
    return next;
  });
}

void SchedulePoller::ReleaseDue() {
  absl::StatusOr<std::vector<storage::Message>> due =
      messages_->ListDueScheduled(clock_->Now(), kReleaseBatch);
  if (!due.ok()) {
    SMSGW_LOG(kError) << "cannot list due scheduled messages: " << due.status();
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
    if (!release_(**released)) return;  // PENDING now: the next start sends it
  }
}

}  // namespace smsgw::dispatch

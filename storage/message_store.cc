#include "storage/message_store.h"

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"

namespace smsgw::storage {

int StatusRank(MessageStatus status) {
  switch (status) {
    case MessageStatus::kUnspecified:
      return 0;
    case MessageStatus::kPending:
    case MessageStatus::kScheduled:
      return 1;
    case MessageStatus::kQueued:
      return 2;
    case MessageStatus::kSending:
      return 3;
    case MessageStatus::kSent:
      return 4;
    case MessageStatus::kDelivered:
    case MessageStatus::kUndelivered:
    case MessageStatus::kFailed:
    case MessageStatus::kCanceled:
    case MessageStatus::kReceived:
    case MessageStatus::kExpired:
      return 5;
  }
  return 0;
}

bool IsTerminal(MessageStatus status) { return StatusRank(status) == 5; }

absl::Status QuotaExceededError(const QuotaUsage& usage, int64_t segments) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "daily quota of ", usage.quota, " segments reached: ", usage.used,
      " used today, this send needs ", segments, "; the quota resets at ",
      absl::FormatTime(absl::RFC3339_sec, usage.reset_time,
                       absl::UTCTimeZone()),
      " (SMSGW_DAILY_SEGMENTS_PER_USER, or the user's own quota)"));
}

absl::Time UtcDayStart(absl::Time t) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  return absl::FromCivil(absl::ToCivilDay(t, utc), utc);
}

}  // namespace smsgw::storage

#include "storage/sqlite/sqlite_rate_limit_store.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace smsgw::storage::sqlite {
namespace {

constexpr size_t kMaxKeyBytes = 200;
constexpr absl::Duration kMaxWindow = absl::Hours(24 * 31);
// Expired events of other keys deleted per call, so that keys never seen
// again (one-off client addresses) do not stay forever, while no call pays
// for a large backlog at once.
constexpr int kPruneBatch = 64;

absl::Status Validate(const std::vector<RateLimit>& limits) {
  if (limits.empty()) {
    return absl::InvalidArgumentError("rate limit: no limits given");
  }
  for (const RateLimit& limit : limits) {
    if (limit.key.empty() || limit.key.size() > kMaxKeyBytes) {
      return absl::InvalidArgumentError(
          "rate limit: key must be 1 to 200 bytes");
    }
    if (limit.max_events < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rate limit ", limit.key, ": max_events must be at least 1"));
    }
    if (limit.window <= absl::ZeroDuration() || limit.window > kMaxWindow) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rate limit ", limit.key, ": window must be within (0, 31 days]"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Admission> SqliteRateLimitStore::Admit(
    const std::vector<RateLimit>& limits, absl::Time now) {
  SMSGW_RETURN_IF_ERROR(Validate(limits));
  Admission admission;
  SMSGW_RETURN_IF_ERROR(db_->Write([&](Connection& conn) -> absl::Status {
    admission = Admission();
    admission.admitted = true;
    {
      SMSGW_ASSIGN_OR_RETURN(
          Statement prune,
          conn.Prepare("DELETE FROM rate_events WHERE rowid IN (SELECT rowid"
                       " FROM rate_events WHERE expire_time <= ? LIMIT ?)"));
      SMSGW_RETURN_IF_ERROR(prune.Bind(1, now).Bind(2, kPruneBatch).Run());
    }
    for (size_t i = 0; i < limits.size(); ++i) {
      const RateLimit& limit = limits[i];
      SMSGW_ASSIGN_OR_RETURN(
          Statement count,
          conn.Prepare("SELECT COUNT(*) FROM rate_events WHERE key = ? AND"
                       " event_time > ?"));
      count.Bind(1, limit.key).Bind(2, now - limit.window);
      SMSGW_ASSIGN_OR_RETURN(bool row, count.Step());
      const int64_t events = row ? count.Int(0) : 0;
      if (events < limit.max_events) continue;
      // Room comes back when the newest max_events - 1 are all that is
      // left in the window: when the max_events-th newest leaves it.
      SMSGW_ASSIGN_OR_RETURN(
          Statement nth,
          conn.Prepare("SELECT event_time FROM rate_events WHERE key = ? AND"
                       " event_time > ? ORDER BY event_time DESC LIMIT 1"
                       " OFFSET ?"));
      nth.Bind(1, limit.key)
          .Bind(2, now - limit.window)
          .Bind(3, limit.max_events - 1);
      SMSGW_ASSIGN_OR_RETURN(bool found, nth.Step());
      const absl::Time retry = (found ? nth.Time(0) : now) + limit.window;
      if (admission.admitted || retry > admission.retry_time) {
        admission.limit_index = i;
        admission.retry_time = retry;
      }
      admission.admitted = false;
    }
    if (!admission.admitted) return absl::OkStatus();
    for (const RateLimit& limit : limits) {
      SMSGW_ASSIGN_OR_RETURN(
          Statement insert,
          conn.Prepare("INSERT INTO rate_events(key, event_time, expire_time)"
                       " VALUES (?, ?, ?)"));
      SMSGW_RETURN_IF_ERROR(insert.Bind(1, limit.key)
                                .Bind(2, now)
                                .Bind(3, now + limit.window)
                                .Run());
    }
    return absl::OkStatus();
  }));
  return admission;
}

}  // namespace smsgw::storage::sqlite

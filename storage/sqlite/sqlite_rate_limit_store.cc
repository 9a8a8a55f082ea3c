#include "storage/sqlite/sqlite_rate_limit_store.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace smsgw::storage::sqlite {

absl::StatusOr<Admission> SqliteRateLimitStore::Admit(
    const std::vector<RateLimit>& limits, absl::Time now) {
  return Count(limits, now, /*record=*/true);
}

absl::StatusOr<Admission> SqliteRateLimitStore::Check(
    const std::vector<RateLimit>& limits, absl::Time now) {
  return Count(limits, now, /*record=*/false);
}

absl::Status SqliteRateLimitStore::Forget(absl::string_view key) {
  SMSGW_RETURN_IF_ERROR(ValidateRateLimitKey(key));
  return db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt, conn.Prepare("DELETE FROM rate_events WHERE key = ?"));
    return stmt.Bind(1, key).Run();
  });
}

absl::Status SqliteRateLimitStore::ForgetNewest(absl::string_view key) {
  SMSGW_RETURN_IF_ERROR(ValidateRateLimitKey(key));
  return db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("DELETE FROM rate_events WHERE rowid = (SELECT rowid"
                     " FROM rate_events WHERE key = ?"
                     " ORDER BY event_time DESC, rowid DESC LIMIT 1)"));
    return stmt.Bind(1, key).Run();
  });
}

absl::StatusOr<Admission> SqliteRateLimitStore::Count(
    const std::vector<RateLimit>& limits, absl::Time now, bool record) {
  SMSGW_RETURN_IF_ERROR(ValidateRateLimits(limits));
  Admission admission;
  SMSGW_RETURN_IF_ERROR(db_->Write([&](Connection& conn) -> absl::Status {
    admission = Admission();
    admission.admitted = true;
    admission.counts.assign(limits.size(), 0);
    if (record) {
      SMSGW_ASSIGN_OR_RETURN(
          Statement prune,
          conn.Prepare("DELETE FROM rate_events WHERE rowid IN (SELECT rowid"
                       " FROM rate_events WHERE expire_time <= ? LIMIT ?)"));
      SMSGW_RETURN_IF_ERROR(prune.Bind(1, now).Bind(2, kRateEventPruneBatch).Run());
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
      admission.counts[i] = events;
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
      NoteFullLimit(i, retry, &admission);
    }
    if (!admission.admitted || !record) return absl::OkStatus();
    for (int64_t& count : admission.counts) ++count;
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

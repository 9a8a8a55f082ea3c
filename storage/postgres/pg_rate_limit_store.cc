#include "storage/postgres/pg_rate_limit_store.h"

#include <optional>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace smsgw::storage::postgres {
namespace {

using Params = PgParams;


}  // namespace

absl::StatusOr<Admission> PgRateLimitStore::Admit(
    const std::vector<RateLimit>& limits, absl::Time now) {
  return Count(limits, now, /*record=*/true);
}

absl::StatusOr<Admission> PgRateLimitStore::Check(
    const std::vector<RateLimit>& limits, absl::Time now) {
  return Count(limits, now, /*record=*/false);
}

absl::Status PgRateLimitStore::Forget(absl::string_view key) {
  SMSGW_RETURN_IF_ERROR(ValidateRateLimitKey(key));
  return pool_->Transaction([&](PgConnection& c) -> absl::Status {
    return c.Execute("DELETE FROM rate_events WHERE key = $1",
                     Params{std::string(key)})
        .status();
  });
}

absl::Status PgRateLimitStore::ForgetNewest(absl::string_view key) {
  SMSGW_RETURN_IF_ERROR(ValidateRateLimitKey(key));
  return pool_->Transaction([&](PgConnection& c) -> absl::Status {
    // The key's lock, as Admit() takes it: the newest is the newest.
    SMSGW_RETURN_IF_ERROR(
        c.Execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                  Params{std::string(key)})
            .status());
    return c
        .Execute("DELETE FROM rate_events WHERE ctid = (SELECT ctid FROM"
                 " rate_events WHERE key = $1 ORDER BY event_time DESC"
                 " LIMIT 1)",
                 Params{std::string(key)})
        .status();
  });
}

absl::StatusOr<Admission> PgRateLimitStore::Count(
    const std::vector<RateLimit>& limits, absl::Time now, bool record) {
  SMSGW_RETURN_IF_ERROR(ValidateRateLimits(limits));
  std::set<std::string> keys;
  for (const RateLimit& limit : limits) keys.insert(limit.key);
  Admission admission;
  SMSGW_RETURN_IF_ERROR(pool_->Transaction([&](PgConnection& c)
                                               -> absl::Status {
    admission = Admission();
    admission.admitted = true;
    admission.counts.assign(limits.size(), 0);
    for (const std::string& key : keys) {  // std::set: in key order
      SMSGW_RETURN_IF_ERROR(
          c.Execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                    Params{key})
              .status());
    }
    if (record) {
      SMSGW_RETURN_IF_ERROR(
          c.Execute("DELETE FROM rate_events WHERE ctid IN (SELECT ctid FROM"
                    " rate_events WHERE expire_time <= $1 LIMIT $2)",
                    Params{PgTime(now), absl::StrCat(kRateEventPruneBatch)})
              .status());
    }
    for (size_t i = 0; i < limits.size(); ++i) {
      const RateLimit& limit = limits[i];
      const std::string since = PgTime(now - limit.window);
      SMSGW_ASSIGN_OR_RETURN(
          PgResult count,
          c.Execute("SELECT COUNT(*) FROM rate_events WHERE key = $1 AND"
                    " event_time > $2",
                    Params{limit.key, since}));
      admission.counts[i] = count.Int(0, 0);
      if (count.Int(0, 0) < limit.max_events) continue;
      // Room comes back when the max_events-th newest leaves the window.
      SMSGW_ASSIGN_OR_RETURN(
          PgResult nth,
          c.Execute("SELECT event_time FROM rate_events WHERE key = $1 AND"
                    " event_time > $2 ORDER BY event_time DESC LIMIT 1"
                    " OFFSET $3",
                    Params{limit.key, since,
                           absl::StrCat(limit.max_events - 1)}));
      const absl::Time retry =
          (nth.rows() > 0 ? nth.Time(0, 0) : now) +
          limit.window;
      NoteFullLimit(i, retry, &admission);
    }
    if (!admission.admitted || !record) return absl::OkStatus();
    for (int64_t& count : admission.counts) ++count;
    for (const RateLimit& limit : limits) {
      SMSGW_RETURN_IF_ERROR(
          c.Execute("INSERT INTO rate_events(key, event_time, expire_time)"
                    " VALUES ($1, $2, $3)",
                    Params{limit.key, PgTime(now), PgTime(now + limit.window)})
              .status());
    }
    return absl::OkStatus();
  }));
  return admission;
}

}  // namespace smsgw::storage::postgres

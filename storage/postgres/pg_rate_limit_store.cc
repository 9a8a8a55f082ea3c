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
  SMSGW_RETURN_IF_ERROR(ValidateRateLimits(limits));
  std::set<std::string> keys;
  for (const RateLimit& limit : limits) keys.insert(limit.key);
  Admission admission;
  SMSGW_RETURN_IF_ERROR(pool_->Transaction([&](PgConnection& c)
                                               -> absl::Status {
    admission = Admission();
    admission.admitted = true;
    for (const std::string& key : keys) {  // std::set: in key order
      SMSGW_RETURN_IF_ERROR(
          c.Execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                    Params{key})
              .status());
    }
    SMSGW_RETURN_IF_ERROR(
        c.Execute("DELETE FROM rate_events WHERE ctid IN (SELECT ctid FROM"
                  " rate_events WHERE expire_time <= $1 LIMIT $2)",
                  Params{PgTime(now), absl::StrCat(kRateEventPruneBatch)})
            .status());
    for (size_t i = 0; i < limits.size(); ++i) {
      const RateLimit& limit = limits[i];
      const std::string since = PgTime(now - limit.window);
      SMSGW_ASSIGN_OR_RETURN(
          PgResult count,
          c.Execute("SELECT COUNT(*) FROM rate_events WHERE key = $1 AND"
                    " event_time > $2",
                    Params{limit.key, since}));
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
    if (!admission.admitted) return absl::OkStatus();
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

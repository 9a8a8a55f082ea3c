// File: pg_rate_limit_store.h
#ifndef SMSGW_STORAGE_POSTGRES_PG_RATE_LIMIT_STORE_H_
#define SMSGW_STORAGE_POSTGRES_PG_RATE_LIMIT_STORE_H_

#include <vector>

#include "storage/postgres/pg_database.h"
#include "storage/rate_limit_store.h"

namespace smsgw::storage::postgres {

// RateLimitStore on PostgreSQL (table rate_events, one row per event), for
// limits that hold across every replica on the database. Admit() takes a
// transaction-scoped advisory lock per key (pg_advisory_xact_lock on
// hashtextextended(key, 0), in key order so that two calls cannot
// deadlock) before counting, so concurrent calls on any replicas cannot
// both take the last slot. `pool` is not owned and must outlive the store.
// Thread-safe.
class PgRateLimitStore final : public RateLimitStore {
 public:
  explicit PgRateLimitStore(PgPool* pool) : pool_(pool) {}

  absl::StatusOr<Admission> Admit(const std::vector<RateLimit>& limits,
                                  absl::Time now) override;
  absl::StatusOr<Admission> Check(const std::vector<RateLimit>& limits,
                                  absl::Time now) override;
  absl::Status Forget(absl::string_view key) override;
  absl::Status ForgetNewest(absl::string_view key) override;

 private:
  // Admit() (`record`) and Check().
  absl::StatusOr<Admission> Count(const std::vector<RateLimit>& limits,
                                  absl::Time now, bool record);

  PgPool* pool_;
};

}  // namespace smsgw::storage::postgres

#endif  // SMSGW_STORAGE_POSTGRES_PG_RATE_LIMIT_STORE_H_

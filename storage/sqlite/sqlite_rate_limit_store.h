// File: sqlite_rate_limit_store.h
#ifndef SMSGW_STORAGE_SQLITE_SQLITE_RATE_LIMIT_STORE_H_
#define SMSGW_STORAGE_SQLITE_SQLITE_RATE_LIMIT_STORE_H_

#include <vector>

#include "storage/rate_limit_store.h"
#include "storage/sqlite/database.h"

namespace smsgw::storage::sqlite {

// RateLimitStore on SQLite (table rate_events, one row per event). `db` is
// not owned and must outlive the store. Thread-safe.
class SqliteRateLimitStore final : public RateLimitStore {
 public:
  explicit SqliteRateLimitStore(Database* db) : db_(db) {}

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

  Database* db_;
};

}  // namespace smsgw::storage::sqlite

#endif  // SMSGW_STORAGE_SQLITE_SQLITE_RATE_LIMIT_STORE_H_

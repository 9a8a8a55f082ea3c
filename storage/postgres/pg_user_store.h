// File: pg_user_store.h
#ifndef SMSGW_STORAGE_POSTGRES_PG_USER_STORE_H_
#define SMSGW_STORAGE_POSTGRES_PG_USER_STORE_H_

#include <string>
#include <vector>

#include "storage/postgres/pg_database.h"
#include "storage/user_store.h"

namespace smsgw::storage::postgres {

// UserStore on PostgreSQL (schema: pg_migrations.h, version 1). `pool` is
// not owned and must outlive the store. Thread-safe. Text with a NUL byte
// (which PostgreSQL cannot store) is refused with InvalidArgument; the
// domain's username and key-name rules never produce one.
class PgUserStore final : public UserStore {
 public:
  explicit PgUserStore(PgPool* pool) : pool_(pool) {}

  absl::StatusOr<User> Insert(const User& user) override;
  absl::StatusOr<User> FindByUsername(absl::string_view username) override;
  absl::StatusOr<User> FindById(int64_t id) override;
  absl::StatusOr<User> FindByVerifiedPhone(absl::string_view phone) override;
  absl::Status UpdatePasswordHash(int64_t id,
                                  absl::string_view password_hash) override;
  absl::Status SetAdmin(int64_t id, bool admin) override;
  absl::Status SetDailySegmentQuota(int64_t id, int64_t segments) override;
  absl::StatusOr<ApiKey> InsertApiKey(const ApiKey& key,
                                      int max_per_user) override;
  absl::StatusOr<std::vector<ApiKey>> ListApiKeys(int64_t user_id) override;
  absl::StatusOr<ApiKey> FindApiKeyBySecretHash(
      absl::string_view secret_hash) override;
  absl::Status DeleteApiKey(int64_t user_id, absl::string_view id) override;
  absl::Status TouchApiKey(absl::string_view id, absl::Time time) override;

 private:
  absl::StatusOr<User> FindOne(absl::string_view where_sql,
                               const std::string& value,
                               absl::string_view what);
  absl::Status UpdateOne(int64_t id, absl::string_view set_sql,
                         std::optional<std::string> value);

  PgPool* pool_;
};

}  // namespace smsgw::storage::postgres

#endif  // SMSGW_STORAGE_POSTGRES_PG_USER_STORE_H_

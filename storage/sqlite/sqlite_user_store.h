// File: sqlite_user_store.h
#ifndef SMSGW_STORAGE_SQLITE_SQLITE_USER_STORE_H_
#define SMSGW_STORAGE_SQLITE_SQLITE_USER_STORE_H_

#include <functional>

#include "storage/sqlite/database.h"
#include "storage/user_store.h"

namespace smsgw::storage::sqlite {

// UserStore on SQLite. `db` is not owned and must outlive the store.
// Thread-safe.
class SqliteUserStore final : public UserStore {
 public:
  explicit SqliteUserStore(Database* db) : db_(db) {}

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
                               const std::function<void(Statement&)>& bind,
                               absl::string_view what);
  absl::Status UpdateOne(int64_t id, absl::string_view set_sql,
                         const std::function<void(Statement&)>& bind);

  Database* db_;
};

}  // namespace smsgw::storage::sqlite

#endif  // SMSGW_STORAGE_SQLITE_SQLITE_USER_STORE_H_

// File: sqlite_group_store.h
#ifndef SMSGW_STORAGE_SQLITE_SQLITE_GROUP_STORE_H_
#define SMSGW_STORAGE_SQLITE_SQLITE_GROUP_STORE_H_

#include "storage/group_store.h"
#include "storage/sqlite/database.h"

namespace smsgw::storage::sqlite {

// GroupStore on SQLite (tables groups, group_members). `db` is not owned and
// must outlive the store. Thread-safe.
class SqliteGroupStore final : public GroupStore {
 public:
  explicit SqliteGroupStore(Database* db) : db_(db) {}

  absl::StatusOr<Membership> CreateWithMember(
      absl::string_view name, absl::string_view description, int64_t user_id,
      const std::vector<std::string>& pool, absl::Time now) override;
  absl::StatusOr<Membership> Join(absl::string_view name, int64_t user_id,
                                  const std::vector<std::string>& pool,
                                  absl::Time now) override;
  absl::StatusOr<bool> Leave(absl::string_view name, int64_t user_id) override;
  absl::StatusOr<GroupRecord> FindByName(absl::string_view name) override;
  absl::StatusOr<std::vector<GroupMemberRecord>> ListMembers(
      int64_t group_id) override;
  absl::StatusOr<std::vector<Membership>> ListForUser(
      int64_t user_id, absl::string_view after_name, int limit) override;
  absl::StatusOr<std::optional<GroupMemberRecord>> FindByPhoneAndProxy(
      absl::string_view phone, absl::string_view proxy_number) override;

 private:
  Database* db_;
};

// PhoneVerificationStore on SQLite (phone_verifications, users). `db` is not
// owned and must outlive the store. Thread-safe.
class SqlitePhoneVerificationStore final : public PhoneVerificationStore {
 public:
  explicit SqlitePhoneVerificationStore(Database* db) : db_(db) {}

  absl::Status SetPhone(int64_t user_id, absl::string_view phone,
                        absl::Time now) override;
  absl::StatusOr<PhoneVerificationRecord> InsertLimited(
      const PhoneVerificationRecord& record, absl::Duration window,
      int max_per_window, absl::Time now) override;
  absl::StatusOr<std::optional<PhoneVerificationRecord>> FindPending(
      int64_t user_id) override;
  absl::Status AddAttempt(int64_t id) override;
  absl::Status MarkVerified(int64_t id, int64_t user_id,
                            absl::string_view phone, absl::Time now) override;

 private:
  Database* db_;
};

}  // namespace smsgw::storage::sqlite

#endif  // SMSGW_STORAGE_SQLITE_SQLITE_GROUP_STORE_H_

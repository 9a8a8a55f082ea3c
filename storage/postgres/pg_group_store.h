// File: pg_group_store.h
#ifndef SMSGW_STORAGE_POSTGRES_PG_GROUP_STORE_H_
#define SMSGW_STORAGE_POSTGRES_PG_GROUP_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "storage/group_store.h"
#include "storage/postgres/pg_database.h"

namespace smsgw::storage::postgres {

// GroupStore on PostgreSQL (groups, group_members: pg_migrations.cc,
// version 3). `pool` is not owned and must outlive the store. Thread-safe,
// and safe across replicas on one database: a membership change locks the
// user's row (FOR UPDATE), so two replicas choosing a proxy number for one
// user take turns and never pick the same one; Join holds the group's row
// FOR SHARE and Leave FOR UPDATE, so a join cannot land in a group that its
// last member's Leave is deleting.
class PgGroupStore final : public GroupStore {
 public:
  explicit PgGroupStore(PgPool* pool) : pool_(pool) {}

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
  PgPool* pool_;
};

// PhoneVerificationStore on PostgreSQL (phone_verifications, users).
// `pool` is not owned and must outlive the store. Thread-safe; InsertLimited
// locks the user's row, so the per-user limit holds across replicas.
class PgPhoneVerificationStore final : public PhoneVerificationStore {
 public:
  explicit PgPhoneVerificationStore(PgPool* pool) : pool_(pool) {}

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
  PgPool* pool_;
};

}  // namespace smsgw::storage::postgres

#endif  // SMSGW_STORAGE_POSTGRES_PG_GROUP_STORE_H_

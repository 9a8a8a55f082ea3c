#include "storage/postgres/pg_group_store.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace smsgw::storage::postgres {
namespace {

using Params = PgParams;


// SQLite's `COLLATE NOCASE`: ASCII-only case folding (pg_migrations.cc).
constexpr char kNameKey[] = "lower(g.name COLLATE \"C\")";

constexpr char kGroupColumns[] =
    "g.id, g.name, g.description, g.create_time,"
    " (SELECT COUNT(*) FROM group_members c WHERE c.group_id = g.id)";

GroupRecord ReadGroup(const PgResult& r, int row) {
  GroupRecord g;
  g.id = r.Int(row, 0);
  g.name = r.Text(row, 1);
  g.description = r.Text(row, 2);
  g.create_time = r.Time(row, 3);
  g.member_count = static_cast<int>(r.Int(row, 4));
  return g;
}

absl::StatusOr<std::optional<GroupRecord>> FindGroup(PgConnection& c,
                                                     absl::string_view name) {
  SMSGW_ASSIGN_OR_RETURN(
      PgResult r,
      c.Execute(absl::StrCat("SELECT ", kGroupColumns, " FROM groups g WHERE ",
                             kNameKey, " = lower($1::text COLLATE \"C\")"),
                Params{std::string(name)}));
  if (r.rows() == 0) return std::optional<GroupRecord>();
  return std::optional<GroupRecord>(ReadGroup(r, 0));
}

// Locks the group named `name` (`mode`: "SHARE" or "UPDATE") and reads it;
// nullopt when there is none (or it was deleted while we waited).
absl::StatusOr<std::optional<GroupRecord>> LockGroup(PgConnection& c,
                                                     absl::string_view name,
                                                     absl::string_view mode) {
  SMSGW_ASSIGN_OR_RETURN(
      PgResult locked,
      c.Execute(absl::StrCat("SELECT g.id FROM groups g WHERE ", kNameKey,
                             " = lower($1::text COLLATE \"C\") FOR ", mode),
                Params{std::string(name)}));
  if (locked.rows() == 0) return std::optional<GroupRecord>();
  return FindGroup(c, name);
}

// Locks user `user_id`'s row: the membership changes of one user take
// turns, on every replica.
absl::Status LockUser(PgConnection& c, int64_t user_id) {
  return c.Execute("SELECT id FROM users WHERE id = $1 FOR UPDATE",
                   Params{PgInt(user_id)})
      .status();
}

// Picks the first pool number the user's memberships leave free and inserts
// the membership; inside the caller's transaction, the user's row locked.
absl::StatusOr<std::string> AddMember(PgConnection& c, int64_t group_id,
                                      int64_t user_id,
                                      const std::vector<std::string>& pool,
                                      absl::Time now) {
  SMSGW_RETURN_IF_ERROR(LockUser(c, user_id));
  SMSGW_ASSIGN_OR_RETURN(
      PgResult taken,
      c.Execute("SELECT proxy_number FROM group_members WHERE user_id = $1",
                Params{PgInt(user_id)}));
  std::vector<std::string> used;
  for (int i = 0; i < taken.rows(); ++i) used.push_back(taken.Text(i, 0));
  SMSGW_ASSIGN_OR_RETURN(std::string number, FirstFreeProxyNumber(pool, used));
  SMSGW_RETURN_IF_ERROR(
      c.Execute("INSERT INTO group_members(group_id, user_id, proxy_number,"
                " join_time) VALUES ($1, $2, $3, $4)",
                Params{PgInt(group_id), PgInt(user_id), number, PgTime(now)})
          .status());
  return number;
}

constexpr char kMemberSelect[] =
    "SELECT gm.group_id, gm.user_id, u.username, COALESCE(u.phone_number, ''),"
    " u.phone_verified, gm.proxy_number, gm.join_time"
    " FROM group_members gm JOIN users u ON u.id = gm.user_id ";

GroupMemberRecord ReadMember(const PgResult& r, int row) {
  GroupMemberRecord m;
  m.group_id = r.Int(row, 0);
  m.user_id = r.Int(row, 1);
  m.username = r.Text(row, 2);
  m.phone_number = r.Text(row, 3);
  m.phone_verified = r.Bool(row, 4);
  m.proxy_number = r.Text(row, 5);
  m.join_time = r.Time(row, 6);
  return m;
}

}  // namespace

absl::StatusOr<Membership> PgGroupStore::CreateWithMember(
    absl::string_view name, absl::string_view description, int64_t user_id,
    const std::vector<std::string>& pool, absl::Time now) {
  Membership result;
  SMSGW_RETURN_IF_ERROR(pool_->Transaction([&](PgConnection& c)
                                               -> absl::Status {
    absl::StatusOr<PgResult> inserted = c.Execute(
        "INSERT INTO groups(name, description, create_time)"
        " VALUES ($1, $2, $3) RETURNING id",
        Params{std::string(name), std::string(description), PgTime(now)});
    if (absl::IsAlreadyExists(inserted.status())) {
      return absl::AlreadyExistsError(
          absl::StrCat("a group named \"", name, "\" already exists"));
    }
    SMSGW_RETURN_IF_ERROR(inserted.status());
    const int64_t id = inserted->Int(0, 0);
    SMSGW_ASSIGN_OR_RETURN(result.proxy_number,
                           AddMember(c, id, user_id, pool, now));
    result.group = GroupRecord{id, std::string(name), std::string(description),
                               now, 1};
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<Membership> PgGroupStore::Join(
    absl::string_view name, int64_t user_id,
    const std::vector<std::string>& pool, absl::Time now) {
  Membership result;
  SMSGW_RETURN_IF_ERROR(pool_->Transaction([&](PgConnection& c)
                                               -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(std::optional<GroupRecord> group,
                           LockGroup(c, name, "SHARE"));
    if (!group.has_value()) return NoSuchGroupError(name);
    SMSGW_ASSIGN_OR_RETURN(
        PgResult member,
        c.Execute("SELECT 1 FROM group_members WHERE group_id = $1 AND"
                  " user_id = $2",
                  Params{PgInt(group->id), PgInt(user_id)}));
    if (member.rows() > 0) {
      return absl::AlreadyExistsError(
          absl::StrCat("you are already a member of \"", group->name, "\""));
    }
    absl::StatusOr<std::string> number =
        AddMember(c, group->id, user_id, pool, now);
    if (absl::IsAlreadyExists(number.status())) {
      // Only a concurrent join of this very group can get here (the user's
      // row is locked, so no other number choice raced ours).
      return absl::AlreadyExistsError(
          absl::StrCat("you are already a member of \"", group->name, "\""));
    }
    SMSGW_RETURN_IF_ERROR(number.status());
    result.proxy_number = *std::move(number);
    group->member_count += 1;
    result.group = *std::move(group);
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<bool> PgGroupStore::Leave(absl::string_view name,
                                         int64_t user_id) {
  bool deleted = false;
  SMSGW_RETURN_IF_ERROR(pool_->Transaction([&](PgConnection& c)
                                               -> absl::Status {
    deleted = false;
    SMSGW_ASSIGN_OR_RETURN(std::optional<GroupRecord> group,
                           LockGroup(c, name, "UPDATE"));
    if (!group.has_value()) return NoSuchGroupError(name);
    SMSGW_ASSIGN_OR_RETURN(
        PgResult removed,
        c.Execute("DELETE FROM group_members WHERE group_id = $1 AND"
                  " user_id = $2",
                  Params{PgInt(group->id), PgInt(user_id)}));
    if (removed.affected() == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("you are not a member of \"", group->name, "\""));
    }
    // Counted under the group's lock: no join can add a member meanwhile.
    SMSGW_ASSIGN_OR_RETURN(
        PgResult left,
        c.Execute("SELECT COUNT(*) FROM group_members WHERE group_id = $1",
                  Params{PgInt(group->id)}));
    if (left.Int(0, 0) == 0) {
      SMSGW_RETURN_IF_ERROR(c.Execute("DELETE FROM groups WHERE id = $1",
                                      Params{PgInt(group->id)})
                                .status());
      deleted = true;
    }
    return absl::OkStatus();
  }));
  return deleted;
}

absl::StatusOr<GroupRecord> PgGroupStore::FindByName(absl::string_view name) {
  std::optional<GroupRecord> found;
  SMSGW_RETURN_IF_ERROR(pool_->WithConnection([&](PgConnection& c)
                                                  -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(found, FindGroup(c, name));
    return absl::OkStatus();
  }));
  if (!found.has_value()) return NoSuchGroupError(name);
  return *std::move(found);
}

absl::StatusOr<std::vector<GroupMemberRecord>> PgGroupStore::ListMembers(
    int64_t group_id) {
  std::vector<GroupMemberRecord> members;
  SMSGW_RETURN_IF_ERROR(pool_->WithConnection([&](PgConnection& c)
                                                  -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute(absl::StrCat(kMemberSelect,
                               "WHERE gm.group_id = $1 ORDER BY gm.join_time,"
                               " gm.seq"),
                  Params{PgInt(group_id)}));
    for (int i = 0; i < r.rows(); ++i) members.push_back(ReadMember(r, i));
    return absl::OkStatus();
  }));
  return members;
}

absl::StatusOr<std::vector<Membership>> PgGroupStore::ListForUser(
    int64_t user_id, absl::string_view after_name, int limit) {
  std::vector<Membership> out;
  SMSGW_RETURN_IF_ERROR(pool_->WithConnection([&](PgConnection& c)
                                                  -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute(absl::StrCat(
                      "SELECT ", kGroupColumns,
                      ", gm.proxy_number FROM group_members gm JOIN groups g"
                      " ON g.id = gm.group_id WHERE gm.user_id = $1 AND"
                      " ($2 = '' OR ", kNameKey,
                      " > lower($2::text COLLATE \"C\")) ORDER BY ", kNameKey,
                      " LIMIT $3"),
                  Params{PgInt(user_id), std::string(after_name),
                         absl::StrCat(limit)}));
    for (int i = 0; i < r.rows(); ++i) {
      out.push_back(Membership{ReadGroup(r, i), r.Text(i, 5)});
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::optional<GroupMemberRecord>>
PgGroupStore::FindByPhoneAndProxy(absl::string_view phone,
                                  absl::string_view proxy_number) {
  std::optional<GroupMemberRecord> found;
  SMSGW_RETURN_IF_ERROR(pool_->WithConnection([&](PgConnection& c)
                                                  -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute(absl::StrCat(kMemberSelect,
                               "WHERE u.phone_number = $1 AND"
                               " u.phone_verified AND gm.proxy_number = $2"),
                  Params{std::string(phone), std::string(proxy_number)}));
    if (r.rows() > 0) found = ReadMember(r, 0);
    return absl::OkStatus();
  }));
  return found;
}

// --- Phone verification ---

absl::Status PgPhoneVerificationStore::SetPhone(int64_t user_id,
                                                absl::string_view phone,
                                                absl::Time now) {
  return pool_->WithConnection([&](PgConnection& c) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute("UPDATE users SET phone_verified = CASE WHEN phone_number"
                  " IS NOT DISTINCT FROM NULLIF($1, '') THEN phone_verified"
                  " ELSE false END, phone_number = NULLIF($1, ''),"
                  " update_time = $2 WHERE id = $3",
                  Params{std::string(phone), PgTime(now), PgInt(user_id)}));
    if (r.affected() == 0) {
      return absl::NotFoundError(absl::StrCat("no user with id ", user_id));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<PhoneVerificationRecord> PgPhoneVerificationStore::InsertLimited(
    const PhoneVerificationRecord& record, absl::Duration window,
    int max_per_window, absl::Time now) {
  PhoneVerificationRecord stored = record;
  SMSGW_RETURN_IF_ERROR(pool_->Transaction([&](PgConnection& c)
                                               -> absl::Status {
    // The user's row, locked: two replicas cannot both count 4 and insert.
    SMSGW_RETURN_IF_ERROR(LockUser(c, record.user_id));
    SMSGW_ASSIGN_OR_RETURN(
        PgResult count,
        c.Execute("SELECT COUNT(*) FROM phone_verifications WHERE user_id = $1"
                  " AND create_time > $2",
                  Params{PgInt(record.user_id), PgTime(now - window)}));
    if (count.Int(0, 0) >= max_per_window) {
      // Only the `max_per_window` newest count, so the window frees up when
      // the oldest of them leaves it.
      SMSGW_ASSIGN_OR_RETURN(
          PgResult oldest,
          c.Execute("SELECT create_time FROM phone_verifications WHERE"
                    " user_id = $1 ORDER BY create_time DESC LIMIT 1"
                    " OFFSET $2",
                    Params{PgInt(record.user_id), absl::StrCat(max_per_window - 1)}));
      return TooManyVerificationCodesError(
          max_per_window,
          (oldest.rows() > 0 ? oldest.Time(0, 0) : now) + window, now);
    }
    SMSGW_RETURN_IF_ERROR(
        c.Execute("UPDATE phone_verifications SET used = true WHERE"
                  " user_id = $1 AND NOT used",
                  Params{PgInt(record.user_id)})
            .status());
    SMSGW_ASSIGN_OR_RETURN(
        PgResult inserted,
        c.Execute("INSERT INTO phone_verifications(user_id, phone_number,"
                  " code_hash, attempts, used, create_time, expire_time)"
                  " VALUES ($1, $2, $3, 0, false, $4, $5) RETURNING id",
                  Params{PgInt(record.user_id), record.phone_number,
                         record.code_hash, PgTime(record.create_time),
                         PgTime(record.expire_time)}));
    stored.id = inserted.Int(0, 0);
    return absl::OkStatus();
  }));
  return stored;
}

absl::StatusOr<std::optional<PhoneVerificationRecord>>
PgPhoneVerificationStore::FindPending(int64_t user_id) {
  std::optional<PhoneVerificationRecord> found;
  SMSGW_RETURN_IF_ERROR(pool_->WithConnection([&](PgConnection& c)
                                                  -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute("SELECT id, user_id, phone_number, code_hash, attempts,"
                  " used, create_time, expire_time FROM phone_verifications"
                  " WHERE user_id = $1 AND NOT used ORDER BY id DESC LIMIT 1",
                  Params{PgInt(user_id)}));
    if (r.rows() > 0) {
      PhoneVerificationRecord v;
      v.id = r.Int(0, 0);
      v.user_id = r.Int(0, 1);
      v.phone_number = r.Text(0, 2);
      v.code_hash = r.Text(0, 3);
      v.attempts = static_cast<int>(r.Int(0, 4));
      v.used = r.Bool(0, 5);
      v.create_time = r.Time(0, 6);
      v.expire_time = r.Time(0, 7);
      found = std::move(v);
    }
    return absl::OkStatus();
  }));
  return found;
}

absl::Status PgPhoneVerificationStore::AddAttempt(int64_t id) {
  return pool_->WithConnection([&](PgConnection& c) -> absl::Status {
    return c.Execute("UPDATE phone_verifications SET attempts = attempts + 1"
                     " WHERE id = $1",
                     Params{PgInt(id)})
        .status();
  });
}

absl::Status PgPhoneVerificationStore::MarkVerified(int64_t id, int64_t user_id,
                                                    absl::string_view phone,
                                                    absl::Time now) {
  return pool_->Transaction([&](PgConnection& c) -> absl::Status {
    SMSGW_RETURN_IF_ERROR(
        c.Execute("UPDATE phone_verifications SET used = true WHERE id = $1",
                  Params{PgInt(id)})
            .status());
    absl::StatusOr<PgResult> r =
        c.Execute("UPDATE users SET phone_verified = true, update_time = $1"
                  " WHERE id = $2 AND phone_number = $3",
                  Params{PgTime(now), PgInt(user_id), std::string(phone)});
    if (absl::IsAlreadyExists(r.status())) {
      return absl::AlreadyExistsError(absl::StrCat(
          "phone number ", phone, " is already verified by another user"));
    }
    SMSGW_RETURN_IF_ERROR(r.status());
    if (r->affected() == 0) {
      return absl::FailedPreconditionError(
          "your phone number changed since the code was sent; call "
          "StartPhoneVerification again");
    }
    return absl::OkStatus();
  });
}

}  // namespace smsgw::storage::postgres

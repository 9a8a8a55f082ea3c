#include "storage/sqlite/sqlite_group_store.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace smsgw::storage::sqlite {
namespace {

constexpr char kGroupColumns[] =
    "g.id, g.name, g.description, g.create_time,"
    " (SELECT COUNT(*) FROM group_members c WHERE c.group_id = g.id)";

GroupRecord ReadGroup(const Statement& row, int first) {
  GroupRecord g;
  g.id = row.Int(first);
  g.name = row.Text(first + 1);
  g.description = row.Text(first + 2);
  g.create_time = row.Time(first + 3);
  g.member_count = static_cast<int>(row.Int(first + 4));
  return g;
}

absl::StatusOr<std::optional<GroupRecord>> FindGroup(Connection& conn,
                                                     absl::string_view name) {
  SMSGW_ASSIGN_OR_RETURN(
      Statement stmt,
      conn.Prepare(absl::StrCat("SELECT ", kGroupColumns,
                                " FROM groups g WHERE g.name = ? COLLATE NOCASE")));
  stmt.Bind(1, name);
  SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<GroupRecord>();
  return std::optional<GroupRecord>(ReadGroup(stmt, 0));
}

// Picks the first pool number the user's memberships do not use and inserts
// the membership; runs inside the caller's write transaction.
absl::StatusOr<std::string> AddMember(Connection& conn, int64_t group_id,
                                      int64_t user_id,
                                      const std::vector<std::string>& pool,
                                      absl::Time now) {
  std::vector<std::string> used;
  {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT proxy_number FROM group_members WHERE user_id = ?"));
    stmt.Bind(1, user_id);
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      used.push_back(stmt.Text(0));
    }
  }
  SMSGW_ASSIGN_OR_RETURN(std::string number, FirstFreeProxyNumber(pool, used));
  SMSGW_ASSIGN_OR_RETURN(
      Statement insert,
      conn.Prepare("INSERT INTO group_members(group_id, user_id, proxy_number,"
                   " join_time) VALUES (?, ?, ?, ?)"));
  SMSGW_RETURN_IF_ERROR(
      insert.Bind(1, group_id).Bind(2, user_id).Bind(3, number).Bind(4, now).Run());
  return number;
}

GroupMemberRecord ReadMember(const Statement& row) {
  GroupMemberRecord m;
  m.group_id = row.Int(0);
  m.user_id = row.Int(1);
  m.username = row.Text(2);
  m.phone_number = row.Text(3);
  m.phone_verified = row.Int(4) != 0;
  m.proxy_number = row.Text(5);
  m.join_time = row.Time(6);
  return m;
}

constexpr char kMemberSelect[] =
    "SELECT gm.group_id, gm.user_id, u.username, COALESCE(u.phone_number, ''),"
    " u.phone_verified, gm.proxy_number, gm.join_time"
    " FROM group_members gm JOIN users u ON u.id = gm.user_id ";

}  // namespace

absl::StatusOr<Membership> SqliteGroupStore::CreateWithMember(
    absl::string_view name, absl::string_view description, int64_t user_id,
    const std::vector<std::string>& pool, absl::Time now) {
  Membership result;
  SMSGW_RETURN_IF_ERROR(db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("INSERT INTO groups(name, description, create_time)"
                     " VALUES (?, ?, ?)"));
    absl::Status run = stmt.Bind(1, name).Bind(2, description).Bind(3, now).Run();
    if (absl::IsAlreadyExists(run)) {
      return absl::AlreadyExistsError(
          absl::StrCat("a group named \"", name, "\" already exists"));
    }
    SMSGW_RETURN_IF_ERROR(run);
    const int64_t id = conn.LastInsertRowId();
    SMSGW_ASSIGN_OR_RETURN(result.proxy_number,
                           AddMember(conn, id, user_id, pool, now));
    result.group = GroupRecord{id, std::string(name), std::string(description),
                               now, 1};
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<Membership> SqliteGroupStore::Join(
    absl::string_view name, int64_t user_id,
    const std::vector<std::string>& pool, absl::Time now) {
  Membership result;
  SMSGW_RETURN_IF_ERROR(db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(std::optional<GroupRecord> group,
                           FindGroup(conn, name));
    if (!group.has_value()) return NoSuchGroupError(name);
    {
      SMSGW_ASSIGN_OR_RETURN(
          Statement stmt,
          conn.Prepare("SELECT 1 FROM group_members WHERE group_id = ? AND"
                       " user_id = ?"));
      stmt.Bind(1, group->id).Bind(2, user_id);
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (row) {
        return absl::AlreadyExistsError(absl::StrCat(
            "you are already a member of \"", group->name, "\""));
      }
    }
    SMSGW_ASSIGN_OR_RETURN(result.proxy_number,
                           AddMember(conn, group->id, user_id, pool, now));
    group->member_count += 1;
    result.group = *std::move(group);
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<bool> SqliteGroupStore::Leave(absl::string_view name,
                                             int64_t user_id) {
  bool deleted = false;
  SMSGW_RETURN_IF_ERROR(db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(std::optional<GroupRecord> group,
                           FindGroup(conn, name));
    if (!group.has_value()) return NoSuchGroupError(name);
    SMSGW_ASSIGN_OR_RETURN(
        Statement del,
        conn.Prepare("DELETE FROM group_members WHERE group_id = ? AND"
                     " user_id = ?"));
    SMSGW_RETURN_IF_ERROR(del.Bind(1, group->id).Bind(2, user_id).Run());
    if (conn.Changes() == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("you are not a member of \"", group->name, "\""));
    }
    if (group->member_count <= 1) {
      SMSGW_ASSIGN_OR_RETURN(Statement drop,
                             conn.Prepare("DELETE FROM groups WHERE id = ?"));
      SMSGW_RETURN_IF_ERROR(drop.Bind(1, group->id).Run());
      deleted = true;
    }
    return absl::OkStatus();
  }));
  return deleted;
}

absl::StatusOr<GroupRecord> SqliteGroupStore::FindByName(
    absl::string_view name) {
  std::optional<GroupRecord> found;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(found, FindGroup(conn, name));
    return absl::OkStatus();
  }));
  if (!found.has_value()) return NoSuchGroupError(name);
  return *std::move(found);
}

absl::StatusOr<std::vector<GroupMemberRecord>> SqliteGroupStore::ListMembers(
    int64_t group_id) {
  std::vector<GroupMemberRecord> members;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(absl::StrCat(kMemberSelect,
                                  "WHERE gm.group_id = ? ORDER BY gm.join_time,"
                                  " gm.rowid")));
    stmt.Bind(1, group_id);
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      members.push_back(ReadMember(stmt));
    }
    return absl::OkStatus();
  }));
  return members;
}

absl::StatusOr<std::vector<Membership>> SqliteGroupStore::ListForUser(
    int64_t user_id, absl::string_view after_name, int limit) {
  std::vector<Membership> out;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(absl::StrCat(
            "SELECT ", kGroupColumns,
            ", gm.proxy_number FROM group_members gm JOIN groups g ON"
            " g.id = gm.group_id WHERE gm.user_id = ? AND"
            " (? = '' OR g.name > ? COLLATE NOCASE)"
            " ORDER BY g.name COLLATE NOCASE LIMIT ?")));
    stmt.Bind(1, user_id).Bind(2, after_name).Bind(3, after_name).Bind(4, limit);
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      out.push_back(Membership{ReadGroup(stmt, 0), stmt.Text(5)});
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::optional<GroupMemberRecord>>
SqliteGroupStore::FindByPhoneAndProxy(absl::string_view phone,
                                      absl::string_view proxy_number) {
  std::optional<GroupMemberRecord> found;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(absl::StrCat(kMemberSelect,
                                  "WHERE u.phone_number = ? AND"
                                  " u.phone_verified = 1 AND"
                                  " gm.proxy_number = ?")));
    stmt.Bind(1, phone).Bind(2, proxy_number);
    SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) found = ReadMember(stmt);
    return absl::OkStatus();
  }));
  return found;
}

// --- Phone verification ---

absl::Status SqlitePhoneVerificationStore::SetPhone(int64_t user_id,
                                                    absl::string_view phone,
                                                    absl::Time now) {
  return db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("UPDATE users SET phone_verified = CASE WHEN"
                     " phone_number IS ? THEN phone_verified ELSE 0 END,"
                     " phone_number = ?, update_time = ? WHERE id = ?"));
    SMSGW_RETURN_IF_ERROR(
        stmt.Bind(1, phone).Bind(2, phone).Bind(3, now).Bind(4, user_id).Run());
    if (conn.Changes() == 0) {
      return absl::NotFoundError(absl::StrCat("no user with id ", user_id));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<PhoneVerificationRecord>
SqlitePhoneVerificationStore::InsertLimited(
    const PhoneVerificationRecord& record, absl::Duration window,
    int max_per_window, absl::Time now) {
  PhoneVerificationRecord stored = record;
  SMSGW_RETURN_IF_ERROR(db_->Write([&](Connection& conn) -> absl::Status {
    {
      SMSGW_ASSIGN_OR_RETURN(
          Statement stmt,
          conn.Prepare("SELECT COUNT(*), MIN(create_time) FROM"
                       " phone_verifications WHERE user_id = ? AND"
                       " create_time > ?"));
      stmt.Bind(1, record.user_id).Bind(2, now - window);
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (row && stmt.Int(0) >= max_per_window) {
        // Only the `max_per_window` newest count, so the window frees up
        // when the oldest of them leaves it.
        SMSGW_ASSIGN_OR_RETURN(
            Statement oldest,
            conn.Prepare("SELECT create_time FROM phone_verifications WHERE"
                         " user_id = ? ORDER BY create_time DESC LIMIT 1"
                         " OFFSET ?"));
        oldest.Bind(1, record.user_id).Bind(2, max_per_window - 1);
        SMSGW_ASSIGN_OR_RETURN(bool found, oldest.Step());
        return TooManyVerificationCodesError(
            max_per_window, (found ? oldest.Time(0) : now) + window, now);
      }
    }
    SMSGW_ASSIGN_OR_RETURN(
        Statement expire,
        conn.Prepare("UPDATE phone_verifications SET used = 1 WHERE"
                     " user_id = ? AND used = 0"));
    SMSGW_RETURN_IF_ERROR(expire.Bind(1, record.user_id).Run());
    SMSGW_ASSIGN_OR_RETURN(
        Statement insert,
        conn.Prepare("INSERT INTO phone_verifications(user_id, phone_number,"
                     " code_hash, attempts, used, create_time, expire_time)"
                     " VALUES (?, ?, ?, 0, 0, ?, ?)"));
    SMSGW_RETURN_IF_ERROR(insert.Bind(1, record.user_id)
                              .Bind(2, record.phone_number)
                              .Bind(3, record.code_hash)
                              .Bind(4, record.create_time)
                              .Bind(5, record.expire_time)
                              .Run());
    stored.id = conn.LastInsertRowId();
    return absl::OkStatus();
  }));
  return stored;
}

absl::StatusOr<std::optional<PhoneVerificationRecord>>
SqlitePhoneVerificationStore::FindPending(int64_t user_id) {
  std::optional<PhoneVerificationRecord> found;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT id, user_id, phone_number, code_hash, attempts,"
                     " used, create_time, expire_time FROM phone_verifications"
                     " WHERE user_id = ? AND used = 0 ORDER BY id DESC"
                     " LIMIT 1"));
    stmt.Bind(1, user_id);
    SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) {
      PhoneVerificationRecord r;
      r.id = stmt.Int(0);
      r.user_id = stmt.Int(1);
      r.phone_number = stmt.Text(2);
      r.code_hash = stmt.Text(3);
      r.attempts = static_cast<int>(stmt.Int(4));
      r.used = stmt.Int(5) != 0;
      r.create_time = stmt.Time(6);
      r.expire_time = stmt.Time(7);
      found = std::move(r);
    }
    return absl::OkStatus();
  }));
  return found;
}

absl::Status SqlitePhoneVerificationStore::AddAttempt(int64_t id) {
  return db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("UPDATE phone_verifications SET attempts = attempts + 1"
                     " WHERE id = ?"));
    return stmt.Bind(1, id).Run();
  });
}

absl::Status SqlitePhoneVerificationStore::MarkVerified(
    int64_t id, int64_t user_id, absl::string_view phone, absl::Time now) {
  return db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement used,
        conn.Prepare("UPDATE phone_verifications SET used = 1 WHERE id = ?"));
    SMSGW_RETURN_IF_ERROR(used.Bind(1, id).Run());
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("UPDATE users SET phone_verified = 1, update_time = ?"
                     " WHERE id = ? AND phone_number = ?"));
    absl::Status run = stmt.Bind(1, now).Bind(2, user_id).Bind(3, phone).Run();
    if (absl::IsAlreadyExists(run)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "phone number ", phone, " is already verified by another user"));
    }
    SMSGW_RETURN_IF_ERROR(run);
    if (conn.Changes() == 0) {
      return absl::FailedPreconditionError(
          "your phone number changed since the code was sent; call "
          "StartPhoneVerification again");
    }
    return absl::OkStatus();
  });
}

}  // namespace smsgw::storage::sqlite

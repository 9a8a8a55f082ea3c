#include "storage/sqlite/sqlite_user_store.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace smsgw::storage::sqlite {
namespace {

constexpr char kUserColumns[] =
    "id, username, password_hash, COALESCE(phone_number, ''), phone_verified, "
    "is_admin, create_time, update_time, COALESCE(daily_segment_quota, 0)";

User ReadUser(const Statement& row) {
  User user;
  user.id = row.Int(0);
  user.username = row.Text(1);
  user.password_hash = row.Text(2);
  user.phone_number = row.Text(3);
  user.phone_verified = row.Int(4) != 0;
  user.admin = row.Int(5) != 0;
  user.create_time = row.Time(6);
  user.update_time = row.Time(7);
  user.daily_segment_quota = row.Int(8);
  return user;
}

}  // namespace

absl::StatusOr<User> SqliteUserStore::Insert(const User& user) {
  User stored = user;
  absl::Status status = db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("INSERT INTO users(username, password_hash, phone_number,"
                     " phone_verified, is_admin, create_time, update_time)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?)"));
    stmt.Bind(1, user.username)
        .Bind(2, user.password_hash)
        .Bind(5, user.admin)
        .Bind(4, user.phone_verified)
        .Bind(6, user.create_time)
        .Bind(7, user.update_time);
    if (user.phone_number.empty()) {
      stmt.BindNull(3);
    } else {
      stmt.Bind(3, user.phone_number);
    }
    absl::Status run = stmt.Run();
    if (absl::IsAlreadyExists(run)) {
      return absl::AlreadyExistsError(
          absl::StrCat("username \"", user.username, "\" is already taken"));
    }
    SMSGW_RETURN_IF_ERROR(run);
    stored.id = conn.LastInsertRowId();
    return absl::OkStatus();
  });
  SMSGW_RETURN_IF_ERROR(status);
  return stored;
}

absl::StatusOr<User> SqliteUserStore::FindOne(
    absl::string_view where_sql, const std::function<void(Statement&)>& bind,
    absl::string_view what) {
  std::optional<User> found;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(absl::StrCat("SELECT ", kUserColumns, " FROM users WHERE ",
                                  where_sql)));
    bind(stmt);
    SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) found = ReadUser(stmt);
    return absl::OkStatus();
  }));
  if (!found.has_value()) {
    return absl::NotFoundError(absl::StrCat("no user ", what));
  }
  return *std::move(found);
}

absl::StatusOr<User> SqliteUserStore::FindByUsername(
    absl::string_view username) {
  return FindOne(
      "username = ?", [&](Statement& s) { s.Bind(1, username); },
      absl::StrCat("named \"", username, "\""));
}

absl::StatusOr<User> SqliteUserStore::FindById(int64_t id) {
  return FindOne(
      "id = ?", [&](Statement& s) { s.Bind(1, id); },
      absl::StrCat("with id ", id));
}

absl::StatusOr<User> SqliteUserStore::FindByVerifiedPhone(
    absl::string_view phone) {
  return FindOne(
      "phone_number = ? AND phone_verified = 1",
      [&](Statement& s) { s.Bind(1, phone); }, "with that verified phone");
}

absl::Status SqliteUserStore::UpdateOne(
    int64_t id, absl::string_view set_sql,
    const std::function<void(Statement&)>& bind) {
  return db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(absl::StrCat("UPDATE users SET ", set_sql,
                                  ", update_time = ? WHERE id = ?")));
    bind(stmt);
    SMSGW_RETURN_IF_ERROR(stmt.Run());
    if (conn.Changes() == 0) {
      return absl::NotFoundError(absl::StrCat("no user with id ", id));
    }
    return absl::OkStatus();
  });
}

absl::Status SqliteUserStore::UpdatePasswordHash(
    int64_t id, absl::string_view password_hash) {
  return UpdateOne(id, "password_hash = ?", [&](Statement& s) {
    s.Bind(1, password_hash).Bind(2, absl::Now()).Bind(3, id);
  });
}

absl::Status SqliteUserStore::SetAdmin(int64_t id, bool admin) {
  return UpdateOne(id, "is_admin = ?", [&](Statement& s) {
    s.Bind(1, admin).Bind(2, absl::Now()).Bind(3, id);
  });
}

absl::Status SqliteUserStore::SetDailySegmentQuota(int64_t id,
                                                   int64_t segments) {
  if (segments < 0) {
    return absl::InvalidArgumentError(
        "daily segment quota must be 0 (the server's default) or positive");
  }
  return UpdateOne(id, "daily_segment_quota = ?", [&](Statement& s) {
    if (segments == 0) {
      s.BindNull(1);
    } else {
      s.Bind(1, segments);
    }
    s.Bind(2, absl::Now()).Bind(3, id);
  });
}

}  // namespace smsgw::storage::sqlite

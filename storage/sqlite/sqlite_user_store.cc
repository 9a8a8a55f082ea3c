#include "storage/sqlite/sqlite_user_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
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

constexpr char kApiKeyColumns[] =
    "id, user_id, name, scopes, secret_hash, create_time, last_use_time";

ApiKey ReadApiKey(const Statement& row) {
  ApiKey key;
  key.id = row.Text(0);
  key.user_id = row.Int(1);
  key.name = row.Text(2);
  key.scopes = absl::StrSplit(row.Text(3), ' ', absl::SkipEmpty());
  key.secret_hash = row.Text(4);
  key.create_time = row.Time(5);
  key.last_use_time = row.OptTime(6);
  return key;
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

absl::StatusOr<ApiKey> SqliteUserStore::InsertApiKey(const ApiKey& key,
                                                     int max_per_user) {
  SMSGW_RETURN_IF_ERROR(db_->Write([&](Connection& conn) -> absl::Status {
    {
      SMSGW_ASSIGN_OR_RETURN(
          Statement count,
          conn.Prepare("SELECT (SELECT COUNT(*) FROM users WHERE id = ?1),"
                       " (SELECT COUNT(*) FROM api_keys WHERE user_id = ?1)"));
      count.Bind(1, key.user_id);
      SMSGW_ASSIGN_OR_RETURN(bool row, count.Step());
      if (!row || count.Int(0) == 0) {
        return absl::NotFoundError(
            absl::StrCat("no user with id ", key.user_id));
      }
      if (count.Int(1) >= max_per_user) {
        return absl::ResourceExhaustedError(
            absl::StrCat("a user may have at most ", max_per_user,
                         " API keys; delete one first"));
      }
    }
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(absl::StrCat("INSERT INTO api_keys(", kApiKeyColumns,
                                  ") VALUES (?, ?, ?, ?, ?, ?, ?)")));
    stmt.Bind(1, key.id)
        .Bind(2, key.user_id)
        .Bind(3, key.name)
        .Bind(4, absl::StrJoin(key.scopes, " "))
        .Bind(5, key.secret_hash)
        .Bind(6, key.create_time)
        .Bind(7, key.last_use_time);
    absl::Status run = stmt.Run();
    if (absl::IsAlreadyExists(run)) {
      return absl::AlreadyExistsError(
          absl::StrCat("an API key named \"", key.name, "\" already exists"));
    }
    return run;
  }));
  return key;
}

absl::StatusOr<std::vector<ApiKey>> SqliteUserStore::ListApiKeys(
    int64_t user_id) {
  std::vector<ApiKey> keys;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(absl::StrCat("SELECT ", kApiKeyColumns,
                                  " FROM api_keys WHERE user_id = ?"
                                  " ORDER BY create_time, id")));
    stmt.Bind(1, user_id);
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      keys.push_back(ReadApiKey(stmt));
    }
    return absl::OkStatus();
  }));
  return keys;
}

absl::StatusOr<ApiKey> SqliteUserStore::FindApiKeyBySecretHash(
    absl::string_view secret_hash) {
  std::optional<ApiKey> found;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(absl::StrCat("SELECT ", kApiKeyColumns,
                                  " FROM api_keys WHERE secret_hash = ?")));
    stmt.Bind(1, secret_hash);
    SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) found = ReadApiKey(stmt);
    return absl::OkStatus();
  }));
  if (!found.has_value()) return absl::NotFoundError("no such API key");
  return *std::move(found);
}

absl::Status SqliteUserStore::DeleteApiKey(int64_t user_id,
                                           absl::string_view id) {
  return db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("DELETE FROM api_keys WHERE id = ? AND user_id = ?"));
    SMSGW_RETURN_IF_ERROR(stmt.Bind(1, id).Bind(2, user_id).Run());
    if (conn.Changes() == 0) {
      return absl::NotFoundError(absl::StrCat("no API key \"", id, "\""));
    }
    return absl::OkStatus();
  });
}

absl::Status SqliteUserStore::TouchApiKey(absl::string_view id,
                                          absl::Time time) {
  return db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("UPDATE api_keys SET last_use_time = ? WHERE id = ?"));
    return stmt.Bind(1, time).Bind(2, id).Run();
  });
}

}  // namespace smsgw::storage::sqlite

#include "storage/postgres/pg_user_store.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace smsgw::storage::postgres {
namespace {

using Params = PgParams;

constexpr char kUserColumns[] =
    "id, username, password_hash, COALESCE(phone_number, ''), phone_verified,"
    " is_admin, create_time, update_time, COALESCE(daily_segment_quota, 0)";
constexpr char kApiKeyColumns[] =
    "id, user_id, name, scopes, secret_hash, create_time, last_use_time";


User ReadUser(const PgResult& r, int row) {
  User user;
  user.id = r.Int(row, 0);
  user.username = r.Text(row, 1);
  user.password_hash = r.Text(row, 2);
  user.phone_number = r.Text(row, 3);
  user.phone_verified = r.Bool(row, 4);
  user.admin = r.Bool(row, 5);
  user.create_time = r.Time(row, 6);
  user.update_time = r.Time(row, 7);
  user.daily_segment_quota = r.Int(row, 8);
  return user;
}

ApiKey ReadApiKey(const PgResult& r, int row) {
  ApiKey key;
  key.id = r.Text(row, 0);
  key.user_id = r.Int(row, 1);
  key.name = r.Text(row, 2);
  key.scopes = absl::StrSplit(r.Text(row, 3), ' ', absl::SkipEmpty());
  key.secret_hash = r.Text(row, 4);
  key.create_time = r.Time(row, 5);
  if (!r.IsNull(row, 6)) key.last_use_time = r.Time(row, 6);
  return key;
}

}  // namespace

absl::StatusOr<User> PgUserStore::Insert(const User& user) {
  User stored = user;
  absl::Status status = pool_->WithConnection([&](PgConnection& c)
                                                  -> absl::Status {
    absl::StatusOr<PgResult> r = c.Execute(
        "INSERT INTO users(username, password_hash, phone_number,"
        " phone_verified, is_admin, create_time, update_time)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        Params{user.username, user.password_hash,
               user.phone_number.empty()
                   ? std::nullopt
                   : std::optional<std::string>(user.phone_number),
               PgBool(user.phone_verified), PgBool(user.admin),
               PgTime(user.create_time), PgTime(user.update_time)});
    if (absl::IsAlreadyExists(r.status())) {
      return absl::AlreadyExistsError(
          absl::StrCat("username \"", user.username, "\" is already taken"));
    }
    SMSGW_RETURN_IF_ERROR(r.status());
    stored.id = r->Int(0, 0);
    return absl::OkStatus();
  });
  SMSGW_RETURN_IF_ERROR(status);
  return stored;
}

absl::StatusOr<User> PgUserStore::FindOne(absl::string_view where_sql,
                                          const std::string& value,
                                          absl::string_view what) {
  std::optional<User> found;
  SMSGW_RETURN_IF_ERROR(pool_->WithConnection([&](PgConnection& c)
                                                  -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute(absl::StrCat("SELECT ", kUserColumns, " FROM users WHERE ",
                               where_sql),
                  Params{value}));
    if (r.rows() > 0) found = ReadUser(r, 0);
    return absl::OkStatus();
  }));
  if (!found.has_value()) {
    return absl::NotFoundError(absl::StrCat("no user ", what));
  }
  return *std::move(found);
}

absl::StatusOr<User> PgUserStore::FindByUsername(absl::string_view username) {
  return FindOne("username = $1", std::string(username),
                 absl::StrCat("named \"", username, "\""));
}

absl::StatusOr<User> PgUserStore::FindById(int64_t id) {
  return FindOne("id = $1", absl::StrCat(id), absl::StrCat("with id ", id));
}

absl::StatusOr<User> PgUserStore::FindByVerifiedPhone(absl::string_view phone) {
  return FindOne("phone_number = $1 AND phone_verified", std::string(phone),
                 "with that verified phone");
}

absl::Status PgUserStore::UpdateOne(int64_t id, absl::string_view set_sql,
                                    std::optional<std::string> value) {
  return pool_->WithConnection([&](PgConnection& c) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute(absl::StrCat("UPDATE users SET ", set_sql,
                               ", update_time = $2 WHERE id = $3"),
                  Params{std::move(value), PgTime(absl::Now()),
                         absl::StrCat(id)}));
    if (r.affected() == 0) {
      return absl::NotFoundError(absl::StrCat("no user with id ", id));
    }
    return absl::OkStatus();
  });
}

absl::Status PgUserStore::UpdatePasswordHash(int64_t id,
                                             absl::string_view password_hash) {
  return UpdateOne(id, "password_hash = $1", std::string(password_hash));
}

absl::Status PgUserStore::SetAdmin(int64_t id, bool admin) {
  return UpdateOne(id, "is_admin = $1", PgBool(admin));
}

absl::Status PgUserStore::SetDailySegmentQuota(int64_t id, int64_t segments) {
  if (segments < 0) {
    return absl::InvalidArgumentError(
        "daily segment quota must be 0 (the server's default) or positive");
  }
  return UpdateOne(id, "daily_segment_quota = $1::bigint",
                   segments == 0 ? std::nullopt
                                 : std::optional<std::string>(
                                       absl::StrCat(segments)));
}

absl::StatusOr<ApiKey> PgUserStore::InsertApiKey(const ApiKey& key,
                                                 int max_per_user) {
  SMSGW_RETURN_IF_ERROR(pool_->Transaction([&](PgConnection& c)
                                               -> absl::Status {
    // The user's row, locked: concurrent inserts for one user take turns,
    // so the count below cannot be overtaken (no phantom past the cap).
    SMSGW_ASSIGN_OR_RETURN(
        PgResult user, c.Execute("SELECT id FROM users WHERE id = $1 FOR UPDATE",
                                 Params{absl::StrCat(key.user_id)}));
    if (user.rows() == 0) {
      return absl::NotFoundError(absl::StrCat("no user with id ", key.user_id));
    }
    SMSGW_ASSIGN_OR_RETURN(
        PgResult count, c.Execute("SELECT COUNT(*) FROM api_keys WHERE user_id = $1",
                                  Params{absl::StrCat(key.user_id)}));
    if (count.Int(0, 0) >= max_per_user) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "a user may have at most ", max_per_user,
          " API keys; delete one first"));
    }
    absl::StatusOr<PgResult> inserted = c.Execute(
        absl::StrCat("INSERT INTO api_keys(", kApiKeyColumns,
                     ") VALUES ($1, $2, $3, $4, $5, $6, $7)"),
        Params{key.id, absl::StrCat(key.user_id), key.name,
               absl::StrJoin(key.scopes, " "), key.secret_hash,
               PgTime(key.create_time),
               key.last_use_time.has_value()
                   ? std::optional<std::string>(PgTime(*key.last_use_time))
                   : std::nullopt});
    if (absl::IsAlreadyExists(inserted.status())) {
      return absl::AlreadyExistsError(
          absl::StrCat("an API key named \"", key.name, "\" already exists"));
    }
    return inserted.status();
  }));
  return key;
}

absl::StatusOr<std::vector<ApiKey>> PgUserStore::ListApiKeys(int64_t user_id) {
  std::vector<ApiKey> keys;
  SMSGW_RETURN_IF_ERROR(pool_->WithConnection([&](PgConnection& c)
                                                  -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r, c.Execute(absl::StrCat("SELECT ", kApiKeyColumns,
                                           " FROM api_keys WHERE user_id = $1"
                                           " ORDER BY create_time, id"),
                              Params{absl::StrCat(user_id)}));
    for (int i = 0; i < r.rows(); ++i) keys.push_back(ReadApiKey(r, i));
    return absl::OkStatus();
  }));
  return keys;
}

absl::StatusOr<ApiKey> PgUserStore::FindApiKeyBySecretHash(
    absl::string_view secret_hash) {
  std::optional<ApiKey> found;
  SMSGW_RETURN_IF_ERROR(pool_->WithConnection([&](PgConnection& c)
                                                  -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r, c.Execute(absl::StrCat("SELECT ", kApiKeyColumns,
                                           " FROM api_keys WHERE secret_hash = $1"),
                              Params{std::string(secret_hash)}));
    if (r.rows() > 0) found = ReadApiKey(r, 0);
    return absl::OkStatus();
  }));
  if (!found.has_value()) return absl::NotFoundError("no such API key");
  return *std::move(found);
}

absl::Status PgUserStore::DeleteApiKey(int64_t user_id, absl::string_view id) {
  return pool_->WithConnection([&](PgConnection& c) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute("DELETE FROM api_keys WHERE id = $1 AND user_id = $2",
                  Params{std::string(id), absl::StrCat(user_id)}));
    if (r.affected() == 0) {
      return absl::NotFoundError(absl::StrCat("no API key \"", id, "\""));
    }
    return absl::OkStatus();
  });
}

absl::Status PgUserStore::TouchApiKey(absl::string_view id, absl::Time time) {
  return pool_->WithConnection([&](PgConnection& c) -> absl::Status {
    return c.Execute("UPDATE api_keys SET last_use_time = $1 WHERE id = $2",
                     Params{PgTime(time), std::string(id)})
        .status();
  });
}

}  // namespace smsgw::storage::postgres

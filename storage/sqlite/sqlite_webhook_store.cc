#include "storage/sqlite/sqlite_webhook_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace smsgw::storage::sqlite {
namespace {

constexpr char kColumns[] =
    "id, owner_id, url, event_types, description, secret, previous_secret,"
    " previous_secret_expire_time, enabled, disabled_reason, delivered_cursor,"
    " attempts, next_attempt_time, first_failure_time, create_time";

WebhookEndpoint ReadEndpoint(const Statement& s) {
  WebhookEndpoint e;
  e.id = s.Int(0);
  e.owner_id = s.Int(1);
  e.url = s.Text(2);
  const std::string types = s.Text(3);
  for (absl::string_view t : absl::StrSplit(types, ',', absl::SkipEmpty())) {
    e.event_types.emplace_back(t);
  }
  e.description = s.Text(4);
  e.secret = s.Text(5);
  e.previous_secret = s.Text(6);
  e.previous_secret_expire_time = s.OptTime(7);
  e.enabled = s.Int(8) != 0;
  e.disabled_reason = s.Text(9);
  e.delivered_cursor = s.Int(10);
  e.attempts = static_cast<int>(s.Int(11));
  e.next_attempt_time = s.OptTime(12);
  e.first_failure_time = s.OptTime(13);
  e.create_time = s.Time(14);
  return e;
}

absl::StatusOr<WebhookEndpoint> GetOn(Connection& conn, int64_t owner_id,
                                      int64_t id) {
  SMSGW_ASSIGN_OR_RETURN(
      Statement s,
      conn.Prepare(absl::StrCat("SELECT ", kColumns,
                                " FROM webhook_endpoints WHERE id = ? AND"
                                " owner_id = ?")));
  s.Bind(1, id).Bind(2, owner_id);
  SMSGW_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no webhook ", id));
  return ReadEndpoint(s);
}

absl::Status Changed(Connection& conn, int64_t id) {
  if (conn.Changes() == 0) {
    return absl::NotFoundError(absl::StrCat("no webhook ", id));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WebhookEndpoint> SqliteWebhookStore::Create(
    const WebhookEndpoint& endpoint, int max_per_owner) {
  WebhookEndpoint out;
  SMSGW_RETURN_IF_ERROR(db_->Write([&](Connection& conn) -> absl::Status {
    {
      SMSGW_ASSIGN_OR_RETURN(
          Statement user, conn.Prepare("SELECT 1 FROM users WHERE id = ?"));
      user.Bind(1, endpoint.owner_id);
      SMSGW_ASSIGN_OR_RETURN(bool found, user.Step());
      if (!found) return absl::NotFoundError("no such user");
    }
    {
      SMSGW_ASSIGN_OR_RETURN(
          Statement count,
          conn.Prepare("SELECT COUNT(*) FROM webhook_endpoints WHERE owner_id = ?"));
      count.Bind(1, endpoint.owner_id);
      SMSGW_ASSIGN_OR_RETURN(bool row, count.Step());
      if (row && count.Int(0) >= max_per_owner) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "at most ", max_per_owner, " webhook endpoints per user"));
      }
    }
    SMSGW_ASSIGN_OR_RETURN(
        Statement insert,
        conn.Prepare("INSERT INTO webhook_endpoints(owner_id, url, event_types,"
                     " description, secret, enabled, delivered_cursor,"
                     " create_time) VALUES (?, ?, ?, ?, ?, 1, ?, ?)"));
    SMSGW_RETURN_IF_ERROR(insert.Bind(1, endpoint.owner_id)
                              .Bind(2, endpoint.url)
                              .Bind(3, absl::StrJoin(endpoint.event_types, ","))
                              .Bind(4, endpoint.description)
                              .Bind(5, endpoint.secret)
                              .Bind(6, endpoint.delivered_cursor)
                              .Bind(7, endpoint.create_time)
                              .Run());
    SMSGW_ASSIGN_OR_RETURN(out, GetOn(conn, endpoint.owner_id,
                                      conn.LastInsertRowId()));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<WebhookEndpoint> SqliteWebhookStore::Get(int64_t owner_id,
                                                        int64_t id) {
  WebhookEndpoint out;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(out, GetOn(conn, owner_id, id));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<WebhookEndpoint>> SqliteWebhookStore::ListByOwner(
    int64_t owner_id) {
  return ListWhere("owner_id = ?", owner_id);
}

absl::StatusOr<std::vector<WebhookEndpoint>> SqliteWebhookStore::ListEnabled() {
  return ListWhere("enabled = ?", 1);
}

absl::StatusOr<std::vector<WebhookEndpoint>> SqliteWebhookStore::ListWhere(
    absl::string_view condition, int64_t value) {
  std::vector<WebhookEndpoint> out;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement s,
        conn.Prepare(absl::StrCat("SELECT ", kColumns,
                                  " FROM webhook_endpoints WHERE ", condition,
                                  " ORDER BY id")));
    s.Bind(1, value);
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(ReadEndpoint(s));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::Status SqliteWebhookStore::Delete(int64_t owner_id, int64_t id) {
  return db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement s,
        conn.Prepare("DELETE FROM webhook_endpoints WHERE id = ? AND owner_id = ?"));
    SMSGW_RETURN_IF_ERROR(s.Bind(1, id).Bind(2, owner_id).Run());
    return Changed(conn, id);
  });
}

absl::StatusOr<WebhookEndpoint> SqliteWebhookStore::RotateSecret(
    int64_t owner_id, int64_t id, absl::string_view secret,
    absl::Time previous_expire_time) {
  WebhookEndpoint out;
  SMSGW_RETURN_IF_ERROR(db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement s,
        conn.Prepare("UPDATE webhook_endpoints SET previous_secret = secret,"
                     " previous_secret_expire_time = ?, secret = ?"
                     " WHERE id = ? AND owner_id = ?"));
    SMSGW_RETURN_IF_ERROR(s.Bind(1, previous_expire_time)
                              .Bind(2, secret)
                              .Bind(3, id)
                              .Bind(4, owner_id)
                              .Run());
    SMSGW_RETURN_IF_ERROR(Changed(conn, id));
    SMSGW_ASSIGN_OR_RETURN(out, GetOn(conn, owner_id, id));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<WebhookEndpoint> SqliteWebhookStore::Enable(int64_t owner_id,
                                                           int64_t id) {
  WebhookEndpoint out;
  SMSGW_RETURN_IF_ERROR(db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement s,
        conn.Prepare("UPDATE webhook_endpoints SET enabled = 1,"
                     " disabled_reason = '', attempts = 0,"
                     " next_attempt_time = NULL, first_failure_time = NULL"
                     " WHERE id = ? AND owner_id = ? AND enabled = 0"));
    SMSGW_RETURN_IF_ERROR(s.Bind(1, id).Bind(2, owner_id).Run());
    SMSGW_ASSIGN_OR_RETURN(out, GetOn(conn, owner_id, id));
    return absl::OkStatus();
  }));
  return out;
}

absl::Status SqliteWebhookStore::RecordAttempt(const WebhookDeliveryRecord& r,
                                               const AttemptOutcome& outcome) {
  return db_->Write([&](Connection& conn) -> absl::Status {
    if (r.success && !outcome.advance) {
      SMSGW_ASSIGN_OR_RETURN(
          Statement s,
          conn.Prepare("UPDATE webhook_endpoints SET id = id WHERE id = ?"));
      SMSGW_RETURN_IF_ERROR(s.Bind(1, r.endpoint_id).Run());
    } else if (r.success) {
      SMSGW_ASSIGN_OR_RETURN(
          Statement s,
          conn.Prepare("UPDATE webhook_endpoints SET delivered_cursor ="
                       " MAX(delivered_cursor, ?), attempts = 0,"
                       " next_attempt_time = NULL, first_failure_time = NULL"
                       " WHERE id = ?"));
      SMSGW_RETURN_IF_ERROR(s.Bind(1, r.cursor).Bind(2, r.endpoint_id).Run());
    } else {
      SMSGW_ASSIGN_OR_RETURN(
          Statement s,
          conn.Prepare("UPDATE webhook_endpoints SET attempts = ?,"
                       " next_attempt_time = ?, first_failure_time = ?,"
                       " enabled = CASE WHEN ? THEN 0 ELSE enabled END,"
                       " disabled_reason = CASE WHEN ? THEN ? ELSE"
                       " disabled_reason END WHERE id = ?"));
      const bool disable = outcome.disable_reason.has_value();
      SMSGW_RETURN_IF_ERROR(s.Bind(1, outcome.attempts)
                                .Bind(2, outcome.next_attempt_time)
                                .Bind(3, outcome.first_failure_time)
                                .Bind(4, disable)
                                .Bind(5, disable)
                                .Bind(6, outcome.disable_reason.value_or(""))
                                .Bind(7, r.endpoint_id)
                                .Run());
    }
    SMSGW_RETURN_IF_ERROR(Changed(conn, r.endpoint_id));
    {
      SMSGW_ASSIGN_OR_RETURN(
          Statement s,
          conn.Prepare("INSERT INTO webhook_deliveries(endpoint_id, webhook_id,"
                       " event_type, cursor, attempt, http_status, error,"
                       " success, duration_us, attempt_time)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
      SMSGW_RETURN_IF_ERROR(
          s.Bind(1, r.endpoint_id)
              .Bind(2, r.webhook_id)
              .Bind(3, r.event_type)
              .Bind(4, r.cursor)
              .Bind(5, r.attempt)
              .Bind(6, r.http_status)
              .Bind(7, r.error)
              .Bind(8, r.success)
              .Bind(9, absl::ToInt64Microseconds(r.duration))
              .Bind(10, r.attempt_time)
              .Run());
    }
    SMSGW_ASSIGN_OR_RETURN(
        Statement prune,
        conn.Prepare("DELETE FROM webhook_deliveries WHERE endpoint_id = ? AND"
                     " id <= (SELECT id FROM webhook_deliveries WHERE"
                     " endpoint_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)"));
    return prune.Bind(1, r.endpoint_id)
        .Bind(2, r.endpoint_id)
        .Bind(3, kDeliveryLogSize)
        .Run();
  });
}

absl::Status SqliteWebhookStore::AdvanceCursor(int64_t id, int64_t cursor) {
  return db_->Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement s,
        conn.Prepare("UPDATE webhook_endpoints SET delivered_cursor ="
                     " MAX(delivered_cursor, ?) WHERE id = ?"));
    SMSGW_RETURN_IF_ERROR(s.Bind(1, cursor).Bind(2, id).Run());
    return Changed(conn, id);
  });
}

absl::StatusOr<std::vector<WebhookDeliveryRecord>>
SqliteWebhookStore::ListDeliveries(int64_t id, int limit) {
  if (limit < 1) return absl::InvalidArgumentError("limit must be at least 1");
  std::vector<WebhookDeliveryRecord> out;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement s,
        conn.Prepare("SELECT endpoint_id, webhook_id, event_type, cursor,"
                     " attempt, http_status, error, success, duration_us,"
                     " attempt_time FROM webhook_deliveries WHERE"
                     " endpoint_id = ? ORDER BY id DESC LIMIT ?"));
    s.Bind(1, id).Bind(2, limit);
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      WebhookDeliveryRecord r;
      r.endpoint_id = s.Int(0);
      r.webhook_id = s.Text(1);
      r.event_type = s.Text(2);
      r.cursor = s.Int(3);
      r.attempt = static_cast<int>(s.Int(4));
      r.http_status = static_cast<int>(s.Int(5));
      r.error = s.Text(6);
      r.success = s.Int(7) != 0;
      r.duration = absl::Microseconds(s.Int(8));
      r.attempt_time = s.Time(9);
      out.push_back(std::move(r));
    }
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace smsgw::storage::sqlite

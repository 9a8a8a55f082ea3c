#include "storage/postgres/pg_webhook_store.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace smsgw::storage::postgres {
namespace {

using Params = PgParams;


constexpr char kColumns[] =
    "id, owner_id, url, event_types, description, secret, previous_secret,"
    " previous_secret_expire_time, enabled, disabled_reason, delivered_cursor,"
    " attempts, next_attempt_time, first_failure_time, create_time";

WebhookEndpoint ReadEndpoint(const PgResult& r, int i) {
  WebhookEndpoint e;
  e.id = r.Int(i, 0);
  e.owner_id = r.Int(i, 1);
  e.url = r.Text(i, 2);
  for (absl::string_view t :
       absl::StrSplit(r.Text(i, 3), ',', absl::SkipEmpty())) {
    e.event_types.emplace_back(t);
  }
  e.description = r.Text(i, 4);
  e.secret = r.Text(i, 5);
  e.previous_secret = r.Text(i, 6);
  if (!r.IsNull(i, 7)) e.previous_secret_expire_time = r.Time(i, 7);
  e.enabled = r.Bool(i, 8);
  e.disabled_reason = r.Text(i, 9);
  e.delivered_cursor = r.Int(i, 10);
  e.attempts = static_cast<int>(r.Int(i, 11));
  if (!r.IsNull(i, 12)) e.next_attempt_time = r.Time(i, 12);
  if (!r.IsNull(i, 13)) e.first_failure_time = r.Time(i, 13);
  e.create_time = r.Time(i, 14);
  return e;
}

absl::Status NoSuchWebhook(int64_t id) {
  return absl::NotFoundError(absl::StrCat("no webhook ", id));
}

absl::StatusOr<WebhookEndpoint> GetOn(PgConnection& c, int64_t owner_id,
                                      int64_t id) {
  SMSGW_ASSIGN_OR_RETURN(
      PgResult r, c.Execute(absl::StrCat("SELECT ", kColumns,
                                         " FROM webhook_endpoints WHERE"
                                         " id = $1 AND owner_id = $2"),
                            Params{PgInt(id), PgInt(owner_id)}));
  if (r.rows() == 0) return NoSuchWebhook(id);
  return ReadEndpoint(r, 0);
}

}  // namespace

absl::StatusOr<WebhookEndpoint> PgWebhookStore::Create(
    const WebhookEndpoint& endpoint, int max_per_owner) {
  WebhookEndpoint out;
  SMSGW_RETURN_IF_ERROR(pool_->Transaction([&](PgConnection& c)
                                               -> absl::Status {
    // The owner's row, locked: concurrent creates of one owner take turns,
    // so the count cannot be overtaken.
    SMSGW_ASSIGN_OR_RETURN(
        PgResult user, c.Execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE",
                                 Params{PgInt(endpoint.owner_id)}));
    if (user.rows() == 0) return absl::NotFoundError("no such user");
    SMSGW_ASSIGN_OR_RETURN(
        PgResult count,
        c.Execute("SELECT COUNT(*) FROM webhook_endpoints WHERE owner_id = $1",
                  Params{PgInt(endpoint.owner_id)}));
    if (count.Int(0, 0) >= max_per_owner) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "at most ", max_per_owner, " webhook endpoints per user"));
    }
    SMSGW_ASSIGN_OR_RETURN(
        PgResult inserted,
        c.Execute("INSERT INTO webhook_endpoints(owner_id, url, event_types,"
                  " description, secret, enabled, delivered_cursor,"
                  " create_time) VALUES ($1, $2, $3, $4, $5, true, $6, $7)"
                  " RETURNING id",
                  Params{PgInt(endpoint.owner_id), endpoint.url,
                         absl::StrJoin(endpoint.event_types, ","),
                         endpoint.description, endpoint.secret,
                         PgInt(endpoint.delivered_cursor),
                         PgTime(endpoint.create_time)}));
    SMSGW_ASSIGN_OR_RETURN(out, GetOn(c, endpoint.owner_id, inserted.Int(0, 0)));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<WebhookEndpoint> PgWebhookStore::Get(int64_t owner_id,
                                                    int64_t id) {
  WebhookEndpoint out;
  SMSGW_RETURN_IF_ERROR(pool_->WithConnection([&](PgConnection& c)
                                                  -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(out, GetOn(c, owner_id, id));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<WebhookEndpoint>> PgWebhookStore::ListByOwner(
    int64_t owner_id) {
  return ListWhere("owner_id = $1", PgInt(owner_id));
}

absl::StatusOr<std::vector<WebhookEndpoint>> PgWebhookStore::ListEnabled() {
  return ListWhere("enabled = $1", "true");
}

absl::StatusOr<std::vector<WebhookEndpoint>> PgWebhookStore::ListWhere(
    absl::string_view condition, const std::string& value) {
  std::vector<WebhookEndpoint> out;
  SMSGW_RETURN_IF_ERROR(pool_->WithConnection([&](PgConnection& c)
                                                  -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute(absl::StrCat("SELECT ", kColumns,
                               " FROM webhook_endpoints WHERE ", condition,
                               " ORDER BY id"),
                  Params{value}));
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadEndpoint(r, i));
    return absl::OkStatus();
  }));
  return out;
}

absl::Status PgWebhookStore::Delete(int64_t owner_id, int64_t id) {
  return pool_->WithConnection([&](PgConnection& c) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute("DELETE FROM webhook_endpoints WHERE id = $1 AND"
                  " owner_id = $2",
                  Params{PgInt(id), PgInt(owner_id)}));
    return r.affected() == 0 ? NoSuchWebhook(id) : absl::OkStatus();
  });
}

absl::StatusOr<WebhookEndpoint> PgWebhookStore::RotateSecret(
    int64_t owner_id, int64_t id, absl::string_view secret,
    absl::Time previous_expire_time) {
  WebhookEndpoint out;
  SMSGW_RETURN_IF_ERROR(pool_->Transaction([&](PgConnection& c)
                                               -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute("UPDATE webhook_endpoints SET previous_secret = secret,"
                  " previous_secret_expire_time = $1, secret = $2"
                  " WHERE id = $3 AND owner_id = $4",
                  Params{PgTime(previous_expire_time), std::string(secret),
                         PgInt(id), PgInt(owner_id)}));
    if (r.affected() == 0) return NoSuchWebhook(id);
    SMSGW_ASSIGN_OR_RETURN(out, GetOn(c, owner_id, id));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<WebhookEndpoint> PgWebhookStore::Enable(int64_t owner_id,
                                                       int64_t id) {
  WebhookEndpoint out;
  SMSGW_RETURN_IF_ERROR(pool_->Transaction([&](PgConnection& c)
                                               -> absl::Status {
    SMSGW_RETURN_IF_ERROR(
        c.Execute("UPDATE webhook_endpoints SET enabled = true,"
                  " disabled_reason = '', attempts = 0,"
                  " next_attempt_time = NULL, first_failure_time = NULL"
                  " WHERE id = $1 AND owner_id = $2 AND NOT enabled",
                  Params{PgInt(id), PgInt(owner_id)})
            .status());
    SMSGW_ASSIGN_OR_RETURN(out, GetOn(c, owner_id, id));
    return absl::OkStatus();
  }));
  return out;
}

absl::Status PgWebhookStore::RecordAttempt(const WebhookDeliveryRecord& r,
                                           const AttemptOutcome& outcome) {
  return pool_->Transaction([&](PgConnection& c) -> absl::Status {
    absl::StatusOr<PgResult> updated;
    if (r.success && !outcome.advance) {
      updated = c.Execute("SELECT 1 FROM webhook_endpoints WHERE id = $1"
                          " FOR UPDATE",
                          Params{PgInt(r.endpoint_id)});
    } else if (r.success) {
      updated = c.Execute(
          "UPDATE webhook_endpoints SET delivered_cursor ="
          " GREATEST(delivered_cursor, $1), attempts = 0,"
          " next_attempt_time = NULL, first_failure_time = NULL"
          " WHERE id = $2 RETURNING 1",
          Params{PgInt(r.cursor), PgInt(r.endpoint_id)});
    } else {
      const bool disable = outcome.disable_reason.has_value();
      updated = c.Execute(
          "UPDATE webhook_endpoints SET attempts = $1,"
          " next_attempt_time = $2, first_failure_time = $3,"
          " enabled = CASE WHEN $4 THEN false ELSE enabled END,"
          " disabled_reason = CASE WHEN $4 THEN $5 ELSE disabled_reason END"
          " WHERE id = $6 RETURNING 1",
          Params{absl::StrCat(outcome.attempts),
                 PgOptTime(outcome.next_attempt_time),
                 PgOptTime(outcome.first_failure_time), PgBool(disable),
                 outcome.disable_reason.value_or(""), PgInt(r.endpoint_id)});
    }
    SMSGW_RETURN_IF_ERROR(updated.status());
    if (updated->rows() == 0) return NoSuchWebhook(r.endpoint_id);
    SMSGW_RETURN_IF_ERROR(
        c.Execute("INSERT INTO webhook_deliveries(endpoint_id, webhook_id,"
                  " event_type, cursor, attempt, http_status, error, success,"
                  " duration_us, attempt_time)"
                  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                  Params{PgInt(r.endpoint_id), r.webhook_id, r.event_type,
                         PgInt(r.cursor), absl::StrCat(r.attempt),
                         absl::StrCat(r.http_status), r.error,
                         PgBool(r.success),
                         PgInt(absl::ToInt64Microseconds(r.duration)),
                         PgTime(r.attempt_time)})
            .status());
    return c.Execute("DELETE FROM webhook_deliveries WHERE endpoint_id = $1"
                     " AND id <= (SELECT id FROM webhook_deliveries WHERE"
                     " endpoint_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
                     Params{PgInt(r.endpoint_id), absl::StrCat(kDeliveryLogSize)})
        .status();
  });
}

absl::Status PgWebhookStore::AdvanceCursor(int64_t id, int64_t cursor) {
  return pool_->WithConnection([&](PgConnection& c) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute("UPDATE webhook_endpoints SET delivered_cursor ="
                  " GREATEST(delivered_cursor, $1) WHERE id = $2",
                  Params{PgInt(cursor), PgInt(id)}));
    return r.affected() == 0 ? NoSuchWebhook(id) : absl::OkStatus();
  });
}

absl::StatusOr<std::vector<WebhookDeliveryRecord>>
PgWebhookStore::ListDeliveries(int64_t id, int limit) {
  if (limit < 1) return absl::InvalidArgumentError("limit must be at least 1");
  std::vector<WebhookDeliveryRecord> out;
  SMSGW_RETURN_IF_ERROR(pool_->WithConnection([&](PgConnection& c)
                                                  -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute("SELECT endpoint_id, webhook_id, event_type, cursor,"
                  " attempt, http_status, error, success, duration_us,"
                  " attempt_time FROM webhook_deliveries WHERE"
                  " endpoint_id = $1 ORDER BY id DESC LIMIT $2",
                  Params{PgInt(id), absl::StrCat(limit)}));
    for (int i = 0; i < r.rows(); ++i) {
      WebhookDeliveryRecord d;
      d.endpoint_id = r.Int(i, 0);
      d.webhook_id = r.Text(i, 1);
      d.event_type = r.Text(i, 2);
      d.cursor = r.Int(i, 3);
      d.attempt = static_cast<int>(r.Int(i, 4));
      d.http_status = static_cast<int>(r.Int(i, 5));
      d.error = r.Text(i, 6);
      d.success = r.Bool(i, 7);
      d.duration = absl::Microseconds(r.Int(i, 8));
      d.attempt_time = r.Time(i, 9);
      out.push_back(std::move(d));
    }
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace smsgw::storage::postgres

// File: pg_webhook_store.h
#ifndef SMSGW_STORAGE_POSTGRES_PG_WEBHOOK_STORE_H_
#define SMSGW_STORAGE_POSTGRES_PG_WEBHOOK_STORE_H_

#include <string>
#include <vector>

#include "storage/postgres/pg_database.h"
#include "storage/webhook_store.h"

namespace smsgw::storage::postgres {

// WebhookStore on PostgreSQL (webhook_endpoints, webhook_deliveries:
// pg_migrations.cc version 5). `pool` is not owned and must outlive the
// store. Thread-safe; Create() locks the owner's row, so the per-owner cap
// holds across replicas.
class PgWebhookStore final : public WebhookStore {
 public:
  explicit PgWebhookStore(PgPool* pool) : pool_(pool) {}

  absl::StatusOr<WebhookEndpoint> Create(const WebhookEndpoint& endpoint,
                                         int max_per_owner) override;
  absl::StatusOr<WebhookEndpoint> Get(int64_t owner_id, int64_t id) override;
  absl::StatusOr<std::vector<WebhookEndpoint>> ListByOwner(
      int64_t owner_id) override;
  absl::StatusOr<std::vector<WebhookEndpoint>> ListEnabled() override;
  absl::Status Delete(int64_t owner_id, int64_t id) override;
  absl::StatusOr<WebhookEndpoint> RotateSecret(
      int64_t owner_id, int64_t id, absl::string_view secret,
      absl::Time previous_expire_time) override;
  absl::StatusOr<WebhookEndpoint> Enable(int64_t owner_id, int64_t id) override;
  absl::Status RecordAttempt(const WebhookDeliveryRecord& record,
                             const AttemptOutcome& outcome) override;
  absl::Status AdvanceCursor(int64_t id, int64_t cursor) override;
  absl::StatusOr<std::vector<WebhookDeliveryRecord>> ListDeliveries(
      int64_t id, int limit) override;

 private:
  // The endpoints WHERE `condition` (one $1 parameter, `value`), by id.
  absl::StatusOr<std::vector<WebhookEndpoint>> ListWhere(
      absl::string_view condition, const std::string& value);

  PgPool* pool_;
};

}  // namespace smsgw::storage::postgres

#endif  // SMSGW_STORAGE_POSTGRES_PG_WEBHOOK_STORE_H_

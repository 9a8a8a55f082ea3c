// File: sqlite_webhook_store.h
#ifndef SMSGW_STORAGE_SQLITE_SQLITE_WEBHOOK_STORE_H_
#define SMSGW_STORAGE_SQLITE_SQLITE_WEBHOOK_STORE_H_

#include <string>
#include <vector>

#include "storage/sqlite/database.h"
#include "storage/webhook_store.h"

namespace smsgw::storage::sqlite {

// WebhookStore on SQLite (tables webhook_endpoints and webhook_deliveries,
// migration 10). `db` is not owned and must outlive the store. Thread-safe.
class SqliteWebhookStore final : public WebhookStore {
 public:
  explicit SqliteWebhookStore(Database* db) : db_(db) {}

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
  // The endpoints matching `condition` (an SQL condition with one ?
  // parameter, bound to `value`), by id.
  absl::StatusOr<std::vector<WebhookEndpoint>> ListWhere(
      absl::string_view condition, int64_t value);

  Database* db_;
};

}  // namespace smsgw::storage::sqlite

#endif  // SMSGW_STORAGE_SQLITE_SQLITE_WEBHOOK_STORE_H_

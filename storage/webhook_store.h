// File: webhook_store.h
//
// The storage port of outbound event webhooks: the endpoints each user
// registered, the delivery position of each (its cursor in the message
// feed, storage/message_store.h, which is the durable queue), its retry
// state, and a bounded log of recent delivery attempts.
#ifndef SMSGW_STORAGE_WEBHOOK_STORE_H_
#define SMSGW_STORAGE_WEBHOOK_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace smsgw::storage {

// One registered endpoint. Times are UTC instants.
struct WebhookEndpoint {
  int64_t id = 0;  // assigned by the store
  int64_t owner_id = 0;
  std::string url;
  std::vector<std::string> event_types;  // empty: all
  std::string description;
  std::string secret;           // "whsec_<base64>"
  std::string previous_secret;  // empty when none
  std::optional<absl::Time> previous_secret_expire_time;
  bool enabled = true;
  std::string disabled_reason;
  // Feed cursor of the last event acknowledged (2xx); the next delivery is
  // the owner's first matching feed row above it.
  int64_t delivered_cursor = 0;
  // Retry state of the head event (the first one above delivered_cursor):
  // attempts made so far, when to try next (nullopt: now), when its first
  // failure was (nullopt: it has not failed).
  int attempts = 0;
  std::optional<absl::Time> next_attempt_time;
  std::optional<absl::Time> first_failure_time;
  absl::Time create_time;
};

// One delivery attempt, as kept in the endpoint's log.
struct WebhookDeliveryRecord {
  int64_t endpoint_id = 0;
  std::string webhook_id;
  std::string event_type;
  int64_t cursor = 0;
  int attempt = 0;
  int http_status = 0;  // 0: no answer
  std::string error;    // empty on success
  bool success = false;
  absl::Duration duration;
  absl::Time attempt_time;
};

// Persists webhook endpoints and their delivery logs. Implementations are
// thread-safe; every method is one transaction.
class WebhookStore {
 public:
  // Attempts kept per endpoint; older ones are deleted as new ones come.
  static constexpr int kDeliveryLogSize = 100;

  virtual ~WebhookStore() = default;

  // Stores `endpoint` (its id is ignored) and returns it with its id, unless
  // its owner already has `max_per_owner` endpoints: ResourceExhausted then,
  // nothing stored. NotFound when the owner does not exist.
  virtual absl::StatusOr<WebhookEndpoint> Create(const WebhookEndpoint& endpoint,
                                                 int max_per_owner) = 0;

  // The endpoint `id` of `owner_id`, or NotFound (also for another owner's).
  virtual absl::StatusOr<WebhookEndpoint> Get(int64_t owner_id, int64_t id) = 0;

  // `owner_id`'s endpoints, by id.
  virtual absl::StatusOr<std::vector<WebhookEndpoint>> ListByOwner(
      int64_t owner_id) = 0;

  // Every enabled endpoint of every owner, by id (the delivery worker's
  // scan).
  virtual absl::StatusOr<std::vector<WebhookEndpoint>> ListEnabled() = 0;

  // Deletes the endpoint and its log. NotFound when `owner_id` has no such
  // endpoint.
  virtual absl::Status Delete(int64_t owner_id, int64_t id) = 0;

  // Replaces the secret; the old one stays valid as previous_secret until
  // `previous_expire_time`. NotFound as Get().
  virtual absl::StatusOr<WebhookEndpoint> RotateSecret(
      int64_t owner_id, int64_t id, absl::string_view secret,
      absl::Time previous_expire_time) = 0;

  // Enables the endpoint and clears its reason and retry state (attempts,
  // next and first-failure time), keeping its cursor. NotFound as Get().
  virtual absl::StatusOr<WebhookEndpoint> Enable(int64_t owner_id,
                                                 int64_t id) = 0;

  // What an attempt does to its endpoint (RecordAttempt()).
  struct AttemptOutcome {
    // Success that completes the head feed row: delivered_cursor becomes the
    // record's cursor and the retry state is cleared. A success that does
    // not complete the row (another event of the same row is next) only
    // logs.
    bool advance = false;
    // On failure, the new retry state; `disable_reason` set disables the
    // endpoint with it (the cursor stays).
    int attempts = 0;
    std::optional<absl::Time> next_attempt_time;
    std::optional<absl::Time> first_failure_time;
    std::optional<std::string> disable_reason;
  };

  // Records one attempt in the log (pruned to kDeliveryLogSize per
  // endpoint) and applies `outcome`, in one transaction. NotFound when the
  // endpoint is gone (deleted meanwhile): nothing is written.
  virtual absl::Status RecordAttempt(const WebhookDeliveryRecord& record,
                                     const AttemptOutcome& outcome) = 0;

  // Moves delivered_cursor forward to `cursor` without an attempt (the
  // endpoint's type filter skipped the events in between). Never moves it
  // back. NotFound when the endpoint is gone.
  virtual absl::Status AdvanceCursor(int64_t id, int64_t cursor) = 0;

  // The endpoint's log, newest first, at most `limit` rows.
  virtual absl::StatusOr<std::vector<WebhookDeliveryRecord>> ListDeliveries(
      int64_t id, int limit) = 0;
};

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_WEBHOOK_STORE_H_

#include "server/events/webhook_registry.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/events/webhook_rules.h"
#include "server/events/webhook_url.h"

namespace smsgw::events {
namespace {

constexpr size_t kMaxDescription = 256;

absl::StatusOr<int64_t> ParseId(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("id is required");
  int64_t value = 0;
  if (!absl::SimpleAtoi(id, &value) || value < 1) {
    // Not an id we issue: no endpoint has it.
    return absl::NotFoundError(
        absl::StrCat("no webhook \"", id.substr(0, 32), "\""));
  }
  return value;
}

}  // namespace

absl::StatusOr<CreatedWebhook> WebhookRegistry::Create(
    const storage::User& user, absl::string_view url,
    const std::vector<std::string>& event_types,
    absl::string_view description) {
  SMSGW_ASSIGN_OR_RETURN(WebhookTarget target,
                         CheckWebhookUrl(url, options_.allow_private));
  SMSGW_RETURN_IF_ERROR(ValidateEventTypes(event_types));
  if (description.size() > kMaxDescription) {
    return absl::InvalidArgumentError(
        "description is longer than 256 characters");
  }
  storage::WebhookEndpoint endpoint;
  endpoint.owner_id = user.id;
  endpoint.url = target.url;
  endpoint.event_types = event_types;
  endpoint.description = std::string(description);
  endpoint.secret = NewSecret();
  SMSGW_ASSIGN_OR_RETURN(endpoint.delivered_cursor,
                         messages_->LatestFeedCursor());
  endpoint.create_time = clock_->Now();
  CreatedWebhook out;
  SMSGW_ASSIGN_OR_RETURN(out.endpoint,
                         store_->Create(endpoint, options_.max_per_owner));
  out.secret = out.endpoint.secret;
  if (options_.on_change) options_.on_change();
  return out;
}

absl::StatusOr<std::vector<storage::WebhookEndpoint>> WebhookRegistry::List(
    const storage::User& user) {
  return store_->ListByOwner(user.id);
}

absl::Status WebhookRegistry::Delete(const storage::User& user,
                                     absl::string_view id) {
  SMSGW_ASSIGN_OR_RETURN(int64_t value, ParseId(id));
  return store_->Delete(user.id, value);
}

absl::StatusOr<std::vector<storage::WebhookDeliveryRecord>>
WebhookRegistry::Deliveries(const storage::User& user, absl::string_view id,
                            int limit) {
  if (limit < 0) return absl::InvalidArgumentError("page_size is negative");
  SMSGW_ASSIGN_OR_RETURN(int64_t value, ParseId(id));
  SMSGW_RETURN_IF_ERROR(store_->Get(user.id, value).status());
  if (limit == 0 || limit > storage::WebhookStore::kDeliveryLogSize) {
    limit = storage::WebhookStore::kDeliveryLogSize;
  }
  return store_->ListDeliveries(value, limit);
}

absl::StatusOr<CreatedWebhook> WebhookRegistry::RotateSecret(
    const storage::User& user, absl::string_view id) {
  SMSGW_ASSIGN_OR_RETURN(int64_t value, ParseId(id));
  CreatedWebhook out;
  out.secret = NewSecret();
  SMSGW_ASSIGN_OR_RETURN(
      out.endpoint,
      store_->RotateSecret(user.id, value, out.secret,
                           clock_->Now() + options_.previous_secret_ttl));
  return out;
}

absl::StatusOr<storage::WebhookEndpoint> WebhookRegistry::Enable(
    const storage::User& user, absl::string_view id) {
  SMSGW_ASSIGN_OR_RETURN(int64_t value, ParseId(id));
  SMSGW_ASSIGN_OR_RETURN(storage::WebhookEndpoint endpoint,
                         store_->Enable(user.id, value));
  if (options_.on_change) options_.on_change();
  return endpoint;
}

}  // namespace smsgw::events

// File: webhook_registry.h
//
// What WebhookService's RPCs do: the rules for registering, listing,
// deleting, re-enabling endpoints and rotating their secrets, over the
// WebhookStore port. Delivery is WebhookWorker's (webhook_worker.h).
#ifndef SMSGW_SERVER_EVENTS_WEBHOOK_REGISTRY_H_
#define SMSGW_SERVER_EVENTS_WEBHOOK_REGISTRY_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "storage/message_store.h"
#include "storage/user_store.h"
#include "storage/webhook_store.h"

namespace smsgw::events {

// An endpoint with the secret shown once (Create, RotateSecret).
struct CreatedWebhook {
  storage::WebhookEndpoint endpoint;
  std::string secret;
};

// Not owned: `store`, `messages` and `clock` must outlive the registry.
// Thread-safe.
class WebhookRegistry {
 public:
  struct Options {
    // SMSGW_WEBHOOK_ALLOW_PRIVATE: http and non-public addresses allowed.
    bool allow_private = false;
    int max_per_owner = 20;
    // How long the previous secret still signs after a rotation.
    absl::Duration previous_secret_ttl = absl::Hours(24);
    // Called after a change that may give the worker something to do
    // (create, enable); may be empty.
    std::function<void()> on_change;
  };

  WebhookRegistry(storage::WebhookStore* store, storage::MessageStore* messages,
                  Clock* clock, Options options)
      : store_(store), messages_(messages), clock_(clock),
        options_(std::move(options)) {}

  // Registers an endpoint for `user`, positioned at the feed's latest
  // cursor (no history replay), with a new secret. InvalidArgument (the URL
  // rules of webhook_url.h, an unknown or repeated event type, description
  // over 256 characters); ResourceExhausted (max_per_owner reached).
  absl::StatusOr<CreatedWebhook> Create(const storage::User& user,
                                        absl::string_view url,
                                        const std::vector<std::string>& event_types,
                                        absl::string_view description);

  // `user`'s endpoints, oldest first, secrets included (the edge drops
  // them).
  absl::StatusOr<std::vector<storage::WebhookEndpoint>> List(
      const storage::User& user);

  // InvalidArgument when `id` is not a decimal id; NotFound when `user`
  // has no such endpoint.
  absl::Status Delete(const storage::User& user, absl::string_view id);

  // The endpoint's most recent attempts, newest first, at most `limit`
  // (0: 100; capped at 100). Errors as Delete(), and InvalidArgument when
  // `limit` is negative.
  absl::StatusOr<std::vector<storage::WebhookDeliveryRecord>> Deliveries(
      const storage::User& user, absl::string_view id, int limit);

  // A new secret; the old one keeps signing for previous_secret_ttl.
  // Errors as Delete().
  absl::StatusOr<CreatedWebhook> RotateSecret(const storage::User& user,
                                              absl::string_view id);

  // Re-enables the endpoint where it stopped. Errors as Delete().
  absl::StatusOr<storage::WebhookEndpoint> Enable(const storage::User& user,
                                                  absl::string_view id);

 private:
  storage::WebhookStore* store_;
  storage::MessageStore* messages_;
  Clock* clock_;
  const Options options_;
};

}  // namespace smsgw::events

#endif  // SMSGW_SERVER_EVENTS_WEBHOOK_REGISTRY_H_

// File: webhook_rules.h
//
// The rules of outbound event webhooks that need no network: event type
// names and which feed rows they cover, the deterministic `webhook-id`,
// secrets and signatures (Standard Webhooks v1,
// https://www.standardwebhooks.com: "whsec_" secrets, `v1,<base64
// HMAC-SHA256 of "id.timestamp.body">`), and the retry schedule.
#ifndef SMSGW_SERVER_EVENTS_WEBHOOK_RULES_H_
#define SMSGW_SERVER_EVENTS_WEBHOOK_RULES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/message_store.h"

namespace smsgw::events {

// The event type names (smsgw.v1.Webhook.event_types).
inline constexpr char kMessageCreated[] = "message.created";
inline constexpr char kMessageStatusChanged[] = "message.status_changed";
inline constexpr char kMessageReceived[] = "message.received";
inline constexpr char kMessageDeleted[] = "message.deleted";
inline constexpr char kOptOutChanged[] = "opt_out.changed";

// All of them, in the order above.
const std::vector<std::string>& AllEventTypes();

// InvalidArgument naming the first unknown or repeated type in `types`
// (empty = all, valid).
absl::Status ValidateEventTypes(const std::vector<std::string>& types);

// The webhook events one feed row carries, in delivery order: its message
// event, then "opt_out.changed" when it is an inbound message whose body is
// an opt-out or opt-in keyword (server/domain/opt_out.h: the store records
// the opt-out in the same transaction as that inbound row, so the feed row
// is the opt-out's commit).
std::vector<std::string> EventTypesOf(const storage::FeedEvent& event);

// Whether an endpoint subscribed to `subscribed` (empty = all) wants `type`.
bool Subscribed(const std::vector<std::string>& subscribed,
                absl::string_view type);

// The `webhook-id` of event `type` of the feed row `cursor` for endpoint
// `endpoint_id`: "msg_<endpoint>_<cursor>", with "_opt_out" appended for the
// derived opt_out.changed event. The same on every attempt and after a
// restart, so receivers can deduplicate.
std::string WebhookId(int64_t endpoint_id, int64_t cursor,
                      absl::string_view type);

// A new secret: "whsec_" + standard base64 of 24 random bytes (libsodium's
// CSPRNG).
std::string NewSecret();

// The signing key of `secret`: the base64 after "whsec_" decoded.
// InvalidArgument when the prefix is missing, the base64 is malformed or
// the key is shorter than 16 bytes.
absl::StatusOr<std::string> DecodeSecret(absl::string_view secret);

// One signature, "v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." +
// body)>", with `timestamp` in Unix seconds. Errors as DecodeSecret().
absl::StatusOr<std::string> Sign(absl::string_view secret,
                                 absl::string_view webhook_id,
                                 int64_t timestamp, absl::string_view body);

// The delay before attempt `attempt` + 1 after `attempt` failures (1, 2,
// ...): full jitter over an exponential cap (AWS Architecture Blog,
// "Exponential Backoff And Jitter"): uniform in [0, min(max, base *
// 2^(attempt-1))], given `unit` uniform in [0, 1). Never below 1 s, so a
// receiver that always fails is not hammered.
struct Backoff {
  absl::Duration base = absl::Seconds(5);
  absl::Duration max = absl::Hours(1);
};
absl::Duration RetryDelay(const Backoff& backoff, int attempt, double unit);

// The JSON body of one delivery (Standard Webhooks: type, timestamp, data):
// {"type": `type`, "timestamp": RFC 3339 of `event_time`, "data":
// {"message": <`message_json` parsed>, "cursor": "<cursor>"}}, plus
// data.opt_out ({"phone_number", "our_number", "opted_out", "keyword"}) for
// opt_out.changed. InvalidArgument when `message_json` is not a JSON object.
absl::StatusOr<std::string> EventBody(absl::string_view type,
                                      const storage::FeedEvent& event,
                                      absl::string_view message_json);

}  // namespace smsgw::events

#endif  // SMSGW_SERVER_EVENTS_WEBHOOK_RULES_H_

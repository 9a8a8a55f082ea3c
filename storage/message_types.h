// File: message_types.h
//
// The value types of the message store's ports: messages, delivery reports,
// conversations, idempotency keys, quota charges, feed events, status
// updates, and the lifecycle order (StatusRank).
//
// Enumerations use the numbers of the smsgw.v1 proto enums, so storage, the
// API and the database agree without a table.
#ifndef SMSGW_STORAGE_MESSAGE_TYPES_H_
#define SMSGW_STORAGE_MESSAGE_TYPES_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace smsgw::storage {

// smsgw.v1.MessageStatus numbers. Rank (for "only forward") is
// StatusRank(), not the number.
enum class MessageStatus : int {
  kUnspecified = 0,
  kPending = 1,
  kScheduled = 2,
  kQueued = 3,
  kSending = 4,
  kSent = 5,
  kDelivered = 6,
  kUndelivered = 7,
  kFailed = 8,
  kCanceled = 9,
  kReceived = 10,
  kExpired = 11,
};

// smsgw.v1.MessagePriority numbers: the order in which one sender's queue
// hands messages to the provider (HIGH, then NORMAL, then BULK; FIFO within a
// level). kUnspecified is never stored: it means kNormal.
enum class MessagePriority : int {
  kUnspecified = 0,
  kBulk = 1,
  kNormal = 2,
  kHigh = 3,
};

// smsgw.v1.MessageDirection numbers.
enum class Direction : int { kUnspecified = 0, kOutbound = 1, kInbound = 2 };

// smsgw.v1.MessageEncoding numbers.
enum class Encoding : int { kUnspecified = 0, kGsm7 = 1, kUcs2 = 2 };

// smsgw.v1.DeliveryReportSource numbers.
enum class ReportSource : int {
  kUnspecified = 0,
  kProviderResponse = 1,
  kStatusCallback = 2,
  kDispatchAttempt = 3,
  kLocal = 4,
};

// smsgw.v1.MessageEventType numbers (the watch feed).
enum class FeedEventType : int {
  kUnspecified = 0,
  kCreated = 1,
  kInbound = 2,
  kStatusChanged = 3,
  kDeleted = 4,
};

// One SMS/MMS as stored. Times are UTC instants.
struct Message {
  int64_t seq = 0;              // storage order; assigned by the store
  std::string id;               // UUID, assigned by the caller
  int64_t owner_id = 0;         // 0 = no owner (unrouted inbound)
  std::string owner_username;   // filled on reads
  std::string conversation_id;  // the owner's thread label
  int64_t group_id = 0;         // 0 = not a group message
  std::string group_name;
  Direction direction = Direction::kOutbound;
  std::string from;         // E.164 or alphanumeric sender ID
  std::string to;           // E.164
  std::string peer_number;  // the other party: `to` outbound, `from` inbound
  std::string our_number;   // our side: `from` outbound, `to` inbound
  std::string messaging_service_sid;
  std::string body;
  std::vector<std::string> media_urls;
  std::vector<std::string> media_content_types;
  MessageStatus status = MessageStatus::kPending;
  std::string provider_sid;  // "SM…", empty until the provider accepts
  std::optional<int> error_code;
  std::string error_message;
  int num_segments = 0;
  Encoding encoding = Encoding::kUnspecified;
  std::string price;  // decimal string as Twilio reports it
  std::string price_unit;
  std::string idempotency_key;
  int attempts = 0;  // provider calls made so far
  std::optional<absl::Time> next_attempt_time;
  absl::Time create_time;
  std::optional<absl::Time> scheduled_time;
  std::optional<absl::Time> send_time;
  std::optional<absl::Time> deliver_time;
  absl::Time update_time;
  // When the latest provider create call started, while its answer is not
  // stored yet (MarkDispatchStarted()); nullopt otherwise. Set after a crash
  // means the provider may or may not have created the message.
  std::optional<absl::Time> dispatch_started_time;
  // Outbound only: the lane of the sender's queue this message waits in.
  MessagePriority priority = MessagePriority::kNormal;
  // Outbound only: the end of the validity period (SendMessage's
  // validity_period from the time it was accepted or its send_at). A message
  // not handed to the provider by then is never sent and ends EXPIRED.
  // nullopt = no validity period.
  std::optional<absl::Time> expire_time;
  // Outbound PENDING only: the replica whose dispatcher owns the provider
  // calls for this message (DispatchQueueStore::SetClaimant(), issue 13 §3);
  // 0 = unclaimed: a one-server set-up, or created on a replica that is not
  // dispatching, for the dispatching one to claim.
  int64_t claimed_by = 0;
};

// One status event: a provider answer, a status callback or a dispatch
// attempt. Kept even when it changes nothing (`applied` false).
struct DeliveryReport {
  int64_t id = 0;
  MessageStatus status = MessageStatus::kUnspecified;
  std::string provider_status;  // Twilio's lowercase status, if any
  std::optional<int> error_code;
  std::string error_message;
  std::string raw_dlr_done_date;
  ReportSource source = ReportSource::kUnspecified;
  bool applied = false;
  int http_status = 0;
  absl::Time event_time;
};

// A thread of one owner with one peer.
struct Conversation {
  std::string id;
  std::string peer_number;
  std::string our_number;
  int64_t message_count = 0;
  absl::Time update_time;
  std::optional<Message> last_message;
};

// How long an idempotency key is remembered (per owner): within it the same
// key returns the original message; after it the key is forgotten.
inline constexpr absl::Duration kIdempotencyKeyTtl = absl::Hours(24);

// The idempotency record that goes with a new outbound message.
struct IdempotencyKey {
  std::string key;           // the client's key, 1-255 printable ASCII
  std::string request_hash;  // hex digest of the request's content
};

// Segments a new outbound send charges to a user's daily quota (issue 18).
// The store charges them in the same transaction that stores the messages,
// after the idempotency check: a replay is not charged again, and a send the
// quota refuses stores nothing.
struct QuotaCharge {
  int64_t user_id = 0;   // who pays: the caller, or a group message's sender
  int64_t segments = 0;  // of the whole send (a fan-out: all deliveries)
  // SMSGW_DAILY_SEGMENTS_PER_USER for users without their own quota
  // (User::daily_segment_quota); 0 = none.
  int64_t default_quota = 0;
  absl::Time day_start;  // 00:00 UTC of the day charged
};

// A user's segments charged today against their effective quota.
struct QuotaUsage {
  int64_t used = 0;
  int64_t quota = 0;      // 0 = none
  absl::Time reset_time;  // the next 00:00 UTC
};

// ResourceExhausted for a send of `segments` that does not fit `usage`:
// names the quota, the use, the need and the reset time (UTC).
absl::Status QuotaExceededError(const QuotaUsage& usage, int64_t segments);

// The 00:00 UTC that starts the day of `t`: the day a quota charge counts in.
absl::Time UtcDayStart(absl::Time t);

// Who owns a conversation, for routing an inbound reply.
struct ConversationRef {
  int64_t owner_id = 0;
  std::string conversation_id;
  std::string owner_username;
};

// Which of our numbers are in conversation with one peer, seen from one
// owner (the sender pool's facts, server/domain/sender_pool.h).
struct PeerNumbers {
  // our_number of the owner's most recently updated conversation with the
  // peer; empty when the owner has none.
  std::string owner_last;
  // The distinct our_numbers of other owners' conversations with the peer,
  // ascending.
  std::vector<std::string> other_owners;
};

// The result of CreateOutbound().
struct CreateResult {
  Message message;
  // True when `key` was seen before with the same request hash: `message` is
  // the original, and nothing was written.
  bool replayed = false;
};

// Filters of ListMessages(). Unset fields do not filter.
struct MessageQuery {
  std::optional<int64_t> owner_id;  // required unless `unrouted` or group_id
  bool unrouted = false;            // owner_id IS NULL (admins)
  std::string conversation_id;
  std::string peer_number;
  Direction direction = Direction::kUnspecified;
  std::vector<MessageStatus> statuses;
  std::optional<absl::Time> start_time;  // create_time >= start
  std::optional<absl::Time> end_time;    // create_time < end
  std::string fts_query;                 // storage/search_query.h syntax
  std::optional<int64_t> group_id;
  std::optional<int64_t> before_seq;  // paging: only seq < before_seq
  int limit = 50;
};

// One row of the watch feed (ListFeed()).
struct FeedEvent {
  int64_t cursor = 0;  // increasing in commit order
  int64_t owner_id = 0;
  std::string message_id;
  FeedEventType type = FeedEventType::kUnspecified;
  absl::Time event_time;
  // Kept in the row so that a DELETED event still names them after the
  // message is gone: the conversation, and the status right after the event.
  std::string conversation_id;
  MessageStatus status = MessageStatus::kUnspecified;
  // The message as it stands now (status aside), when it still exists.
  std::optional<Message> message;
};

// What a provider answer or callback does to a message.
struct StatusUpdate {
  MessageStatus status = MessageStatus::kUnspecified;
  std::string provider_status;
  std::string provider_sid;  // set on the first acceptance
  std::optional<int> error_code;
  std::string error_message;
  std::string raw_dlr_done_date;
  std::optional<int> num_segments;  // the provider's count replaces ours
  std::string price;
  std::string price_unit;
  ReportSource source = ReportSource::kUnspecified;
  int http_status = 0;
  absl::Time event_time;
};

// An outbound message whose status the provider may have moved without
// telling us (a lost status callback), as ListDueStatusChecks() returns it.
struct StatusCheck {
  std::string message_id;
  std::string provider_sid;
  MessageStatus status = MessageStatus::kUnspecified;  // QUEUED/SENDING/SENT
  // When the provider accepted the message: its send_time (create_time for
  // a row that has none).
  absl::Time accepted_time;
  // Checks recorded so far by RecordStatusCheck(); 0 = never checked.
  int checks = 0;
  // When this check fell due.
  absl::Time due_time;
};

// The lifecycle order: PENDING/SCHEDULED < QUEUED < SENDING < SENT <
// terminal (DELIVERED, UNDELIVERED, FAILED, CANCELED, RECEIVED, EXPIRED).
// A message moves only to a higher rank (DESIGN.md §5).
int StatusRank(MessageStatus status);
bool IsTerminal(MessageStatus status);

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_MESSAGE_TYPES_H_

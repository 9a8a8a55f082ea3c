// File: message_store.h
//
// Messages, their status history (delivery reports), conversations,
// idempotency keys, opt-outs and the watch feed: everything MessagingService
// stores. One interface because its writes must share transactions (a message
// and its idempotency key; a status change, its report and its feed event).
//
// Enumerations use the numbers of the smsgw.v1 proto enums, so storage, the
// API and the database agree without a table.
#ifndef SMSGW_STORAGE_MESSAGE_STORE_H_
#define SMSGW_STORAGE_MESSAGE_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/message_stats.h"

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
  int64_t quota = 0;  // 0 = none
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
  std::string fts_query;                 // SQLite FTS5 MATCH syntax
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

// Stores messages. Implementations are thread-safe. The methods are grouped
// by concern (the headings below): the seams along which issue 13 splits
// this interface into focused ports.
class MessageStore {
 public:
  virtual ~MessageStore() = default;

  // --- Creating outbound messages ---
  // A new outbound message is stored with its idempotency key, its
  // conversation and a CREATED feed event, in one transaction.

  // In one transaction: when `key` is given and was stored for the owner
  // less than kIdempotencyKeyTtl before `message.create_time`, returns the
  // original message (replayed) if its request hash matches, or
  // AlreadyExists if not (an older key is forgotten); otherwise inserts `message` (status
  // PENDING or SCHEDULED), creates or updates its conversation, stores `key`,
  // and appends a CREATED feed event. A set dispatch_started_time is stored
  // too: the in-flight marker committed with the row, for a message that
  // goes to the provider right after (saves the marker's own commit). InvalidArgument when the conversation
  // id is already used by the owner with another peer.
  // With `charge`, also charges its segments to its user's day in the same
  // transaction (not for a replay); ResourceExhausted naming the quota and
  // its reset time, with nothing stored, when they do not fit.
  virtual absl::StatusOr<CreateResult> CreateOutbound(
      const Message& message, const std::optional<IdempotencyKey>& key,
      const std::optional<QuotaCharge>& charge) = 0;
  absl::StatusOr<CreateResult> CreateOutbound(
      const Message& message, const std::optional<IdempotencyKey>& key) {
    return CreateOutbound(message, key, std::nullopt);
  }

  // CreateOutbound() for a message whose sender the pool chose because no
  // other owner was in conversation with `message.peer_number` on
  // `message.our_number`: in the same transaction, after the idempotency
  // check (a replay returns the original whatever its number), returns
  // Aborted and writes nothing when another owner has such a conversation
  // by now (two sends raced for the number; the caller chooses again).
  // Otherwise, and with the same errors, exactly CreateOutbound().
  virtual absl::StatusOr<CreateResult> CreateOutboundOnFreeNumber(
      const Message& message, const std::optional<IdempotencyKey>& key,
      const std::optional<QuotaCharge>& charge) = 0;
  absl::StatusOr<CreateResult> CreateOutboundOnFreeNumber(
      const Message& message, const std::optional<IdempotencyKey>& key) {
    return CreateOutboundOnFreeNumber(message, key, std::nullopt);
  }

  // The facts the sender pool decides on for `owner_id` writing to `peer`
  // (E.164), from one snapshot. Conversations without an owner (unrouted
  // inbound) do not count. InvalidArgument when `owner_id` < 1 or `peer` is
  // empty; an unknown owner or peer just has no conversations.
  virtual absl::StatusOr<PeerNumbers> FindPeerNumbers(
      int64_t owner_id, absl::string_view peer) = 0;

  // CreateOutbound() for many messages without idempotency keys (a group
  // fan-out) in ONE transaction: all are stored or none. Returns them as
  // stored, in order. The errors of CreateOutbound(), for the first message
  // that fails, naming its id.
  // With `charge` (the whole batch's segments), as CreateOutbound().
  virtual absl::StatusOr<std::vector<Message>> CreateOutboundBatch(
      const std::vector<Message>& messages,
      const std::optional<QuotaCharge>& charge) = 0;
  absl::StatusOr<std::vector<Message>> CreateOutboundBatch(
      const std::vector<Message>& messages) {
    return CreateOutboundBatch(messages, std::nullopt);
  }

  // The segments charged to `user_id` on the UTC day starting `day_start`,
  // and their effective quota (their own, else `default_quota`; 0 = none).
  // NotFound for an unknown user.
  virtual absl::StatusOr<QuotaUsage> GetQuotaUsage(int64_t user_id,
                                                   int64_t default_quota,
                                                   absl::Time day_start) = 0;

  // --- Status updates and delivery reports ---
  // Provider answers and status callbacks: the lifecycle rule (StatusRank,
  // only forward), with a delivery report for every update. What each
  // update does is decided by storage/message_lifecycle.h
  // (DecideStatusUpdate, ClearsDispatchMarker, DisposeCallback); an engine
  // persists that decision in one transaction and decides nothing itself.

  // Applies `update` to the message with `id`: always records a delivery
  // report; moves the status only forward (StatusRank); sets provider_sid,
  // error, segments, price and send/deliver times as given; appends a
  // STATUS_CHANGED feed event when the status moved. Returns the message as
  // it stands afterwards. Clears dispatch_started_time once the message is
  // no longer PENDING. NotFound if no such message; AlreadyExists if
  // `provider_sid` belongs to another message.
  virtual absl::StatusOr<Message> ApplyStatus(absl::string_view id,
                                              const StatusUpdate& update) = 0;

  // Applies a status callback to the message whose provider SID is
  // `provider_sid`, as ApplyStatus() does, and returns it. When no message has
  // that SID yet (the callback overtook the create response), the report is
  // parked and nullopt returned; ApplyStatus() applies parked reports, in
  // arrival order, in the transaction that first stores the SID.
  virtual absl::StatusOr<std::optional<Message>> ApplyStatusBySid(
      absl::string_view provider_sid, const StatusUpdate& update) = 0;

  // --- The dispatch queue ---
  // PENDING outbound messages waiting for the provider, their in-flight
  // markers (crash recovery) and retries.

  // Outbound messages still waiting for the provider (PENDING), oldest
  // first: the dispatcher's work after a restart.
  virtual absl::StatusOr<std::vector<Message>> ListUndispatched(int limit) = 0;

  // Records, in its own committed transaction, that a provider create call
  // for the PENDING message `id` starts now (`time`): sets
  // dispatch_started_time. Must commit before the call is made, so that a
  // crash during the call leaves the marker for reconciliation. NotFound if
  // no such message; FailedPrecondition if it is no longer PENDING.
  virtual absl::Status MarkDispatchStarted(absl::string_view id,
                                           absl::Time time) = 0;

  // Clears dispatch_started_time without any other change: the provider was
  // asked (List) and does not have the message, or the dispatcher gave up
  // reconciling. NotFound if no such message.
  virtual absl::Status ClearDispatchStarted(absl::string_view id) = 0;

  // Records a failed provider call that will be retried: attempts + 1,
  // next_attempt_time, and a DISPATCH_ATTEMPT report. Clears
  // dispatch_started_time when the provider's answer proves nothing was
  // created (an HTTP 4xx answer, 429 included); keeps it when the outcome is
  // unknown (no HTTP answer: http_status 0, or 5xx), so the retry reconciles
  // first. NotFound if none.
  virtual absl::Status RecordRetry(absl::string_view id,
                                   const StatusUpdate& attempt,
                                   absl::Time next_attempt_time) = 0;

  // Sum of num_segments (at least 1 per message) of the outbound PENDING
  // messages sent from `our_number`: the backlog the dispatcher still has to
  // pace out for that sender.
  virtual absl::StatusOr<int64_t> PendingSegments(
      absl::string_view our_number) = 0;

  // --- Scheduled sends (issue "Durable dispatch") ---
  // A SCHEDULED message keeps its due time in both scheduled_time and
  // next_attempt_time, so that the messages_dispatch index serves the due
  // query.

  // Outbound SCHEDULED messages due at `now` (next_attempt_time <= now),
  // earliest first, at most `limit`. InvalidArgument when `limit` < 1.
  virtual absl::StatusOr<std::vector<Message>> ListDueScheduled(
      absl::Time now, int limit) = 0;

  // In one transaction, only if `id` is still SCHEDULED: moves it to PENDING
  // (next_attempt_time = now), records a LOCAL report and a STATUS_CHANGED
  // feed event, and returns it. nullopt when it is no longer SCHEDULED
  // (canceled meanwhile, or already released). NotFound if no such message.
  virtual absl::StatusOr<std::optional<Message>> ReleaseScheduled(
      absl::string_view id, absl::Time now) = 0;

  // In one transaction, only if `id` is still SCHEDULED (a conditional
  // UPDATE, so it cannot race the release): moves it to CANCELED, records a
  // LOCAL report and a STATUS_CHANGED feed event, and returns it.
  // FailedPrecondition naming the status when it is not SCHEDULED (already
  // handed to the dispatcher, sent, or canceled); NotFound if none.
  virtual absl::StatusOr<Message> CancelScheduled(absl::string_view id,
                                                  absl::Time now) = 0;

  // --- Status checks (issue 17: lost status callbacks) ---
  // Twilio does not retry a status callback that failed, so the status of
  // an outbound message that stays short of final is fetched from the
  // provider on a schedule kept here, which survives restarts.

  // Outbound messages with a provider SID whose status is QUEUED, SENDING or
  // SENT and whose status check is due at `now`: those never checked whose
  // accepted time (send_time) is at or before `now - first_check_after`, and
  // those whose next check, set by RecordStatusCheck(), is at or before
  // `now`. Earliest due first, at most `limit`. A message leaves the list
  // for good when its status becomes final or its checks are stopped.
  // InvalidArgument when `limit` < 1 or `first_check_after` is negative.
  virtual absl::StatusOr<std::vector<StatusCheck>> ListDueStatusChecks(
      absl::Time now, absl::Duration first_check_after, int limit) = 0;

  // Records one status check of message `id` (its result is stored apart,
  // through ApplyStatus()): checks + 1, and the next check due at
  // `next_check_time`, or none ever again when it is nullopt. Changes
  // nothing else about the message (no report, no feed event). NotFound if
  // no such message.
  virtual absl::Status RecordStatusCheck(
      absl::string_view id, std::optional<absl::Time> next_check_time) = 0;

  // --- Inbound messages and opt-outs ---
  // Replies from peers, the conversation they are routed to, and STOP.

  // Stores an inbound message (owner 0 = unrouted), its conversation, a
  // RECEIVED report and an INBOUND feed event, in one transaction. Idempotent
  // on provider_sid: when the SID is already stored, returns that message
  // with `replayed` true and writes nothing (Twilio retries webhooks).
  virtual absl::StatusOr<CreateResult> InsertInbound(const Message& message) = 0;

  // The most recently updated conversation with `peer` on `our_number`, of
  // any owner; nullopt when there is none (DESIGN.md §6 rule 2).
  virtual absl::StatusOr<std::optional<ConversationRef>> FindLatestConversation(
      absl::string_view peer, absl::string_view our_number) = 0;

  // Records or lifts an opt-out of `peer` from `our_number`. `keyword` is what
  // caused it (e.g. "STOP", or "21610" when Twilio refused a send).
  virtual absl::Status SetOptOut(absl::string_view peer,
                                 absl::string_view our_number,
                                 absl::string_view keyword,
                                 absl::Time time) = 0;
  virtual absl::Status ClearOptOut(absl::string_view peer,
                                   absl::string_view our_number) = 0;

  // Whether `peer` has opted out of messages from `our_number` (STOP).
  virtual absl::StatusOr<bool> IsOptedOut(absl::string_view peer,
                                          absl::string_view our_number) = 0;

  // --- History ---
  // Reads of messages, their reports and conversations; deletes.

  // The message with `id`, whoever owns it (callers check ownership), or
  // NotFound.
  virtual absl::StatusOr<Message> Get(absl::string_view id) = 0;

  // The delivery reports of a message, oldest first. NotFound if no message.
  virtual absl::StatusOr<std::vector<DeliveryReport>> ListReports(
      absl::string_view id) = 0;

  // Messages matching `query`, newest first (seq descending), at most
  // `query.limit`. InvalidArgument when `fts_query` is not valid FTS5.
  virtual absl::StatusOr<std::vector<Message>> List(
      const MessageQuery& query) = 0;

  // The owner's conversations, most recently updated first; paging by
  // (update_time, id) strictly before `before`.
  virtual absl::StatusOr<std::vector<Conversation>> ListConversations(
      int64_t owner_id,
      const std::optional<std::pair<absl::Time, std::string>>& before,
      int limit) = 0;

  // Deletes one message (and its reports), updating its conversation and
  // appending a DELETED feed event. NotFound if none.
  virtual absl::Status Delete(absl::string_view id) = 0;

  // Deletes all of `owner_id`'s messages, or those of one conversation when
  // `conversation_id` is set. Returns how many were deleted.
  virtual absl::StatusOr<int64_t> DeleteAll(
      int64_t owner_id, const std::optional<std::string>& conversation_id) = 0;

  // --- Watch feed ---
  // Every change above appends feed rows in its own transaction, so the feed
  // is the commit-ordered history WatchMessages replays. A cursor is the
  // row's AUTOINCREMENT number: increasing, never reused.

  // Feed rows of `owner_id` with cursor > `after_cursor`, oldest first, at
  // most `limit`. InvalidArgument when `limit` < 1.
  virtual absl::StatusOr<std::vector<FeedEvent>> ListFeed(int64_t owner_id,
                                                          int64_t after_cursor,
                                                          int limit) = 0;

  // The highest cursor ever appended (any owner); 0 for an empty feed.
  virtual absl::StatusOr<int64_t> LatestFeedCursor() = 0;

  // Feed rows of every owner with cursor > `after_cursor`, counted by event
  // type and the status right after the event (the metrics' "messages by
  // status transition"), and the highest cursor counted (`after_cursor` when
  // none). Reads the feed's primary key range only.
  struct FeedCounts {
    int64_t latest_cursor = 0;
    std::map<std::pair<FeedEventType, MessageStatus>, int64_t> counts;
  };
  virtual absl::StatusOr<FeedCounts> CountFeedSince(int64_t after_cursor) = 0;

  // Installs `listener` (empty: none), replacing any other. The store calls
  // it after each committed write transaction that appended feed rows —
  // never inside the transaction, never for a rolled-back one — with the
  // latest cursor that transaction saw and the owners (ascending, distinct;
  // 0 for unrouted inbound) whose feed got rows, so that only their watches
  // wake. Calls may come from any writing thread, concurrently, and slightly
  // out of order (a call with a lower cursor after one with a higher):
  // listeners must keep the maximum and must not block or call back into
  // the store's writes.
  using FeedListener = std::function<void(
      int64_t latest_cursor, const std::vector<int64_t>& owner_ids)>;
  virtual void SetFeedListener(FeedListener listener) = 0;

  // --- Stats ---

  // `owner_id`'s messages (both directions) with create_time in
  // [start, end), counted by current status, by UTC day of create_time and
  // by direction, with the outbound messages' segments and the provider's
  // prices summed per price_unit (messages without a price are left out of
  // the sums). All figures come from one consistent snapshot, so they agree
  // with each other even while status callbacks are being applied.
  // absl::InfinitePast() / InfiniteFuture() are open bounds.
  // InvalidArgument when start > end; an empty window (start == end) counts
  // nothing.
  virtual absl::StatusOr<MessageStats> Stats(int64_t owner_id, absl::Time start,
                                             absl::Time end) = 0;
};

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_MESSAGE_STORE_H_

// File: sqlite_message_store.h
//
// MessageStore (storage/message_store.h) on SQLite: the messages,
// message_events, message_feed, conversations, idempotency_keys and opt_outs
// tables of storage/sqlite/migrations.cc.
//
// Storage choices a caller can observe:
// - `media_urls` and `media_content_types` are stored newline-joined in one
//   TEXT column. A URL cannot contain a raw newline (RFC 3986), and a content
//   type cannot either (RFC 9110), so CreateOutbound() refuses elements that
//   are empty or contain '\n' (an empty element would not survive the round
//   trip) with InvalidArgument.
// - `owner_id` 0, `group_id` 0 and an empty `provider_sid` are stored as NULL
//   (they reference users/groups, and provider_sid is UNIQUE).
// - A conversation's `update_time` is the create_time of its last message
//   (the one with the highest seq); deleting messages moves it back.
// - Feed events of messages without an owner carry owner_id 0.
// - A feed row copies the message's conversation_id and status as they were
//   right after the event; ListFeed() joins the message as it is now.
//
// The implementation is split by concern over sqlite_message_store*.cc; the
// map of which method lives where is in sqlite_message_store_internal.h.
#ifndef SMSGW_STORAGE_SQLITE_SQLITE_MESSAGE_STORE_H_
#define SMSGW_STORAGE_SQLITE_SQLITE_MESSAGE_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "storage/feed_listeners.h"
#include "storage/message_store.h"
#include "storage/sqlite/database.h"

namespace smsgw::storage::sqlite {

// MessageStore on SQLite. `db` and `clock` are not owned and must outlive the
// store; `clock` stamps what no caller time is given for (DELETED feed
// events). Thread-safe: writes are serialised by Database::Write, reads run on
// pooled reader connections.
//
// Beyond the MessageStore contract:
// - CreateOutbound() returns InvalidArgument when `message` is not outbound,
//   its status is not PENDING/SCHEDULED, it has no owner, or a media element
//   is empty or contains a newline; FailedPrecondition when the owner (or
//   group) does not exist; AlreadyExists when `message.id` is taken;
//   and AlreadyExists when the idempotency key's original message has since
//   been deleted (the key stays used, so a retried request cannot send twice).
//   A message with an empty `conversation_id` belongs to no conversation.
// - ApplyStatus() returns InvalidArgument for status UNSPECIFIED. Per update:
//   the status moves only to a higher StatusRank (so among terminal statuses
//   the first one wins); `provider_sid` is stored when the message has none
//   (an SID differing from a stored one is kept in the report only);
//   error_code/error_message are stored when the status moves to
//   UNDELIVERED, FAILED or EXPIRED; send_time is stamped (event_time) when
//   the status first moves to one the provider accepted (QUEUED, SENDING,
//   SENT, DELIVERED, UNDELIVERED); deliver_time when it moves to DELIVERED;
//   `num_segments`, `price` and `price_unit` replace ours whenever given,
//   whatever the rank (the provider's figures win). The message's
//   update_time moves to event_time (never backwards) only when the message
//   row changed.
// - RecordRetry()'s report has `attempt.status`, or the message's current
//   status when that is UNSPECIFIED, and applied = false.
// - List() returns InvalidArgument when neither `owner_id` nor `unrouted` is
//   set, when both are, when `limit` < 1, and when `fts_query` is not valid
//   FTS5 ("query is not valid full-text syntax: …").
// - ListConversations() and ListUndispatched() return InvalidArgument when
//   `limit` < 1. ListUndispatched() orders by seq (insertion order).
// - DeleteAll() appends one DELETED feed event per deleted message.
class SqliteMessageStore final : public MessageStore {
 public:
  explicit SqliteMessageStore(Database* db, Clock* clock = Clock::Real())
      : db_(db), clock_(clock) {}

  // --- Creating outbound messages (sqlite_message_store_outbound.cc) ---
  // The overloads without a quota charge, beside the overrides.
  using MessageStore::CreateOutbound;
  using MessageStore::CreateOutboundBatch;
  using MessageStore::CreateOutboundOnFreeNumber;
  absl::StatusOr<CreateResult> CreateOutbound(
      const Message& message, const std::optional<IdempotencyKey>& key,
      const std::optional<QuotaCharge>& charge) override;
  absl::StatusOr<CreateResult> CreateOutboundOnFreeNumber(
      const Message& message, const std::optional<IdempotencyKey>& key,
      const std::optional<QuotaCharge>& charge) override;
  absl::StatusOr<PeerNumbers> FindPeerNumbers(int64_t owner_id,
                                              absl::string_view peer) override;
  absl::StatusOr<std::vector<Message>> CreateOutboundBatch(
      const std::vector<Message>& messages,
      const std::optional<QuotaCharge>& charge) override;
  absl::StatusOr<QuotaUsage> GetQuotaUsage(int64_t user_id,
                                           int64_t default_quota,
                                           absl::Time day_start) override;

  // --- Status updates (sqlite_message_store_status.cc) ---
  absl::StatusOr<Message> ApplyStatus(absl::string_view id,
                                      const StatusUpdate& update) override;
  absl::StatusOr<std::optional<Message>> ApplyStatusBySid(
      absl::string_view provider_sid, const StatusUpdate& update) override;

  // --- The dispatch queue (sqlite_message_store_outbound.cc) ---
  absl::StatusOr<std::vector<Message>> ListUndispatched(int limit) override;
  void SetClaimant(int64_t replica) override;
  absl::StatusOr<std::vector<Message>> ClaimUndispatched(int limit) override;
  absl::Status MarkDispatchStarted(absl::string_view id,
                                   absl::Time time) override;
  absl::Status ClearDispatchStarted(absl::string_view id) override;
  absl::Status RecordRetry(absl::string_view id, const StatusUpdate& attempt,
                           absl::Time next_attempt_time) override;
  absl::StatusOr<int64_t> PendingSegments(
      absl::string_view our_number) override;

  // --- Scheduled sends (sqlite_message_store_outbound.cc) ---
  absl::StatusOr<std::vector<Message>> ListDueScheduled(absl::Time now,
                                                        int limit) override;
  absl::StatusOr<std::optional<Message>> ReleaseScheduled(
      absl::string_view id, absl::Time now) override;
  absl::StatusOr<Message> CancelScheduled(absl::string_view id,
                                          absl::Time now) override;

  // --- Status checks (sqlite_message_store_status.cc) ---
  // Two reads in one snapshot, each ordered by the messages_status_check
  // index (never-checked by send_time, scheduled by next check), merged.
  absl::StatusOr<std::vector<StatusCheck>> ListDueStatusChecks(
      absl::Time now, absl::Duration first_check_after, int limit) override;
  absl::Status RecordStatusCheck(
      absl::string_view id,
      std::optional<absl::Time> next_check_time) override;

  // --- Inbound messages and opt-outs (sqlite_message_store_inbound.cc) ---
  absl::StatusOr<CreateResult> InsertInbound(const Message& message) override;
  absl::StatusOr<std::optional<ConversationRef>> FindLatestConversation(
      absl::string_view peer, absl::string_view our_number) override;
  absl::Status SetOptOut(absl::string_view peer, absl::string_view our_number,
                         absl::string_view keyword, absl::Time time) override;
  absl::Status ClearOptOut(absl::string_view peer,
                           absl::string_view our_number) override;
  absl::StatusOr<bool> IsOptedOut(absl::string_view peer,
                                  absl::string_view our_number) override;

  // --- History (sqlite_message_store_history.cc) ---
  absl::StatusOr<Message> Get(absl::string_view id) override;
  absl::StatusOr<std::vector<DeliveryReport>> ListReports(
      absl::string_view id) override;
  absl::StatusOr<std::vector<Message>> List(const MessageQuery& query) override;
  absl::StatusOr<std::vector<Conversation>> ListConversations(
      int64_t owner_id,
      const std::optional<std::pair<absl::Time, std::string>>& before,
      int limit) override;
  absl::Status Delete(absl::string_view id) override;
  absl::StatusOr<int64_t> DeleteAll(
      int64_t owner_id,
      const std::optional<std::string>& conversation_id) override;

  // --- Watch feed (sqlite_message_store_feed.cc; the listener in
  // sqlite_message_store.cc) ---
  absl::StatusOr<std::vector<FeedEvent>> ListFeed(int64_t owner_id,
                                                  int64_t after_cursor,
                                                  int limit) override;
  absl::StatusOr<int64_t> LatestFeedCursor() override;
  absl::StatusOr<FeedCounts> CountFeedSince(int64_t after_cursor) override;
  void SetFeedListener(FeedListener listener) override;
  int AddFeedListener(FeedListener listener) override;
  void RemoveFeedListener(int handle) override;

  // --- Stats (sqlite_message_store_feed.cc) ---
  // One SELECT … GROUP BY (day, status, direction, price_unit): a single
  // statement reads one WAL snapshot, so the figures agree with each other
  // under concurrent writes. Days are strftime('%Y-%m-%d', create_time /
  // 1000000, 'unixepoch'), i.e. UTC. A price counts when its text is not
  // empty; it is read as REAL and rounded to micro-units per message
  // (exact for Twilio's at most 5-6 decimals), then summed as INTEGER.
  // Internal if a price sum overflows 64 bits (about 9.2e12 units).
  absl::StatusOr<MessageStats> Stats(int64_t owner_id, absl::Time start,
                                     absl::Time end) override;

 private:
  // Database::Write plus the feed listener: after a commit whose feed
  // sequence moved past what was last announced, calls the listener. Every
  // write of this store must go through it (never db_->Write directly), so
  // that no change that appends feed rows can forget to wake watchers.
  absl::Status Write(const std::function<absl::Status(Connection&)>& fn);
  // CreateOutbound()'s writes inside the caller's transaction; with
  // `require_free_number`, CreateOutboundOnFreeNumber()'s check too.
  absl::Status CreateOutboundIn(Connection& conn, const Message& message,
                                const std::optional<IdempotencyKey>& key,
                                const std::optional<QuotaCharge>& charge,
                                CreateResult* result,
                                bool require_free_number = false);

  Database* db_;
  Clock* clock_;
  FeedListeners listeners_;
  std::atomic<int64_t> claimant_{0};  // SetClaimant()
};

}  // namespace smsgw::storage::sqlite

#endif  // SMSGW_STORAGE_SQLITE_SQLITE_MESSAGE_STORE_H_

// File: pg_message_store.h
//
// MessageStore (storage/message_store.h) on PostgreSQL: the tables of
// pg_migrations.cc version 4. It keeps SqliteMessageStore's contract and its
// observable storage choices (sqlite_message_store.h: newline-joined media
// lists, NULL for owner 0 / group 0 / no SID, conversation update_time,
// feed rows copying conversation and status) and persists the decisions of
// storage/message_lifecycle.h, as SQLite does.
//
// What SQLite's single writer gave for free is made explicit here, so that
// several replicas (connections) on one database keep the contract:
// - an idempotency key is inserted first (ON CONFLICT DO NOTHING): of two
//   requests with one key, the second waits for the first's commit and then
//   replays it; never two messages;
// - a status update locks its message row (FOR UPDATE), and a callback by
//   SID, or an update that first stores a SID, takes a per-SID advisory
//   lock, so a callback cannot be parked while the create response that
//   stores its SID reads the parked reports (the callback-before-SID race);
// - a send on a free pool number locks (peer, our number) with an advisory
//   lock for the check and the insert;
// - a quota charge is one upsert that returns the new total (row lock).
// - the watch feed: writers append to feed_outbox; after each commit the
//   writer runs a sequencer step (SequenceFeed) that numbers committed
//   outbox rows gap-free under an advisory lock, and then tells the
//   listeners. Each step that moves rows sends one NOTIFY smsgw_feed; a
//   background thread LISTENs on a session of its own and announces at once,
//   so watchers on one replica hear another's changes within milliseconds.
//   The same thread also runs a step and an announcement every
//   `poll_interval`: the fallback for a lost notification (its session
//   broke) and for rows of a writer that died between its commit and its
//   step. The feed table stays the source of truth.
#ifndef SMSGW_STORAGE_POSTGRES_PG_MESSAGE_STORE_H_
#define SMSGW_STORAGE_POSTGRES_PG_MESSAGE_STORE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "storage/feed_listeners.h"
#include "storage/message_store.h"
#include "storage/postgres/pg_database.h"

namespace smsgw::storage::postgres {

// MessageStore on PostgreSQL. `pool` and `clock` are not owned and must
// outlive the store; `clock` stamps DELETED feed events. Thread-safe.
// Errors beyond the contract are SqliteMessageStore's (sqlite_message_store.h)
// and the pool's (Unavailable, ResourceExhausted when no connection frees
// up). Search takes the syntax of storage/search_query.h.
class PgMessageStore final : public MessageStore {
 public:
  struct Options {
    // How often the background thread sequences the feed and announces new
    // rows even without a notification. Zero: no thread, no LISTEN (tests
    // drive PollFeedOnce()).
    absl::Duration poll_interval = absl::Milliseconds(200);
  };

  PgMessageStore(PgPool* pool, Clock* clock, Options options);
  PgMessageStore(PgPool* pool, Clock* clock)
      : PgMessageStore(pool, clock, Options()) {}
  ~PgMessageStore() override;
  PgMessageStore(const PgMessageStore&) = delete;
  PgMessageStore& operator=(const PgMessageStore&) = delete;

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

  absl::StatusOr<Message> ApplyStatus(absl::string_view id,
                                      const StatusUpdate& update) override;
  absl::StatusOr<std::optional<Message>> ApplyStatusBySid(
      absl::string_view provider_sid, const StatusUpdate& update) override;
  absl::StatusOr<std::vector<StatusCheck>> ListDueStatusChecks(
      absl::Time now, absl::Duration first_check_after, int limit) override;
  absl::Status RecordStatusCheck(
      absl::string_view id,
      std::optional<absl::Time> next_check_time) override;

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
  absl::StatusOr<std::vector<Message>> ListDueScheduled(absl::Time now,
                                                        int limit) override;
  absl::StatusOr<std::optional<Message>> ReleaseScheduled(
      absl::string_view id, absl::Time now) override;
  absl::StatusOr<Message> CancelScheduled(absl::string_view id,
                                          absl::Time now) override;

  absl::StatusOr<CreateResult> InsertInbound(const Message& message) override;
  absl::StatusOr<std::optional<ConversationRef>> FindLatestConversation(
      absl::string_view peer, absl::string_view our_number) override;
  absl::Status SetOptOut(absl::string_view peer, absl::string_view our_number,
                         absl::string_view keyword, absl::Time time) override;
  absl::Status ClearOptOut(absl::string_view peer,
                           absl::string_view our_number) override;
  absl::StatusOr<bool> IsOptedOut(absl::string_view peer,
                                  absl::string_view our_number) override;

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

  absl::StatusOr<std::vector<FeedEvent>> ListFeed(int64_t owner_id,
                                                  int64_t after_cursor,
                                                  int limit) override;
  absl::StatusOr<int64_t> LatestFeedCursor() override;
  absl::StatusOr<FeedCounts> CountFeedSince(int64_t after_cursor) override;
  void SetFeedListener(FeedListener listener) override;
  int AddFeedListener(FeedListener listener) override;
  void RemoveFeedListener(int handle) override;

  absl::StatusOr<MessageStats> Stats(int64_t owner_id, absl::Time start,
                                     absl::Time end) override;

  // One sequencer step and announcement, as the background thread runs
  // them: numbers every committed outbox row, then tells the listeners of
  // the feed rows past what they were last told. For tests and shutdown.
  absl::Status PollFeedOnce();

 private:
  // pool_->Transaction(fn) and, when `fn` appended feed rows (AppendFeed
  // or NoteFeedAppended() noted it), the feed's sequencer step and
  // announcement after the commit. Every write of this store goes through
  // it, so no write that appends feed rows can forget to wake watchers.
  absl::Status Write(const std::function<absl::Status(PgConnection&)>& fn);
  // Moves committed feed_outbox rows into message_feed with the next
  // cursors, in batches, one step at a time across replicas.
  absl::Status SequenceFeed();
  // Calls the listeners for feed rows in (announced_, head].
  absl::Status AnnounceFeed();
  // CreateOutbound()'s writes inside the caller's transaction.
  absl::Status CreateOutboundIn(PgConnection& c, const Message& message,
                                const std::optional<IdempotencyKey>& key,
                                const std::optional<QuotaCharge>& charge,
                                CreateResult* result, bool require_free_number);
  void PollLoop();

  PgPool* const pool_;
  Clock* const clock_;
  const Options options_;
  FeedListeners listeners_;
  std::atomic<int64_t> claimant_{0};  // SetClaimant()

  absl::Mutex announce_mu_;
  int64_t announced_ ABSL_GUARDED_BY(announce_mu_) = -1;  // -1: not read yet

  absl::Mutex poll_mu_;
  bool stopping_ ABSL_GUARDED_BY(poll_mu_) = false;
  std::thread poller_;
};

}  // namespace smsgw::storage::postgres

#endif  // SMSGW_STORAGE_POSTGRES_PG_MESSAGE_STORE_H_

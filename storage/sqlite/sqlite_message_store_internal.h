// File: sqlite_message_store_internal.h
//
// Private to SqliteMessageStore: the row readers, row writers and statement
// text its .cc files share. Include it from storage/sqlite/
// sqlite_message_store*.cc only; nothing here is part of the MessageStore
// contract, and its names may change with the split of issue 13.
//
// Where SqliteMessageStore's methods live:
//   sqlite_message_store.cc           Write() (the feed listener), these
//                                     helpers, the idempotency lookup
//   sqlite_message_store_outbound.cc  creating outbound messages; the
//                                     dispatch queue (in-flight markers,
//                                     retries, scheduled releases, backlog)
//   sqlite_message_store_status.cc    status updates, parked callbacks,
//                                     leaving SCHEDULED, status checks: the
//                                     lifecycle rules
//   sqlite_message_store_inbound.cc   inbound messages, inbound routing,
//                                     opt-outs
//   sqlite_message_store_history.cc   Get, reports, List (search),
//                                     conversations, deletes
//   sqlite_message_store_feed.cc      the watch feed's reads, stats
#ifndef SMSGW_STORAGE_SQLITE_SQLITE_MESSAGE_STORE_INTERNAL_H_
#define SMSGW_STORAGE_SQLITE_SQLITE_MESSAGE_STORE_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/message_store.h"
#include "storage/message_store_common.h"
#include "storage/sqlite/database.h"

namespace smsgw::storage::sqlite::message_store_internal {

// The column list and the checks both engines share.
using common::CheckLimit;
using common::CheckMediaList;
using common::kMessageColumns;

// "SELECT <kMessageColumns> FROM messages m LEFT JOIN users u … " followed by
// `where_and_order`.
std::string SelectMessagesSql(absl::string_view where_and_order);

// The message whose kMessageColumns start at column `base` of `row`.
Message ReadMessage(const Statement& row, int base = 0);

// The message with `id`, or nullopt when there is none.
absl::StatusOr<std::optional<Message>> LoadMessageById(Connection& conn,
                                                       absl::string_view id);

// LoadMessageById(), with NotFound when there is no such message.
absl::StatusOr<Message> MustLoadMessage(Connection& conn,
                                        absl::string_view id);

// Tells the running SqliteMessageStore::Write() that `owner_id`'s feed got
// rows, so that its listener wakes that owner's watches after the commit.
// AppendFeed() calls it; a statement that inserts feed rows itself must too.
void NoteFeedOwner(int64_t owner_id);

// The highest feed cursor ever appended (message_feed's AUTOINCREMENT
// counter in sqlite_sequence), in `conn`'s snapshot; 0 for an empty feed.
absl::StatusOr<int64_t> LatestFeedSeq(Connection& conn);

// Appends one watch-feed event. Messages without an owner (unrouted inbound)
// go to owner 0, which only admins watch. The row copies the message's
// conversation and current status, so call it while the message row still
// exists (before a DELETE).
absl::Status AppendFeed(Connection& conn, int64_t owner_id,
                        absl::string_view message_id, FeedEventType type,
                        absl::Time event_time);

// Inserts one delivery report (message_events row) of `status` from
// `update`'s provider fields. `message_seq` 0 stores it parked (message_seq
// NULL): a callback whose SID no message has yet.
absl::Status InsertReport(Connection& conn, int64_t message_seq,
                          absl::string_view provider_sid, MessageStatus status,
                          const StatusUpdate& update, ReportSource source,
                          bool applied);

// Inserts one message row, claimed by `claimed_by` (0: unclaimed, NULL);
// returns its seq. AlreadyExists for a taken id or provider SID;
// FailedPrecondition for a missing owner or group.
absl::StatusOr<int64_t> InsertMessageRow(Connection& conn,
                                         const Message& message,
                                         absl::string_view idempotency_key,
                                         int64_t claimed_by = 0);

// Adds `message` (stored as `seq`) to its owner's conversation.
absl::Status UpsertConversation(Connection& conn, const Message& message,
                                int64_t seq);

// The idempotency check of CreateOutbound(): forgets `key` when it is older
// than kIdempotencyKeyTtl before `create_time`; then, when `owner_id` still
// has it, returns the original message (a replay), or AlreadyExists when the
// request hash differs or the original has since been deleted. nullopt: the
// key is free.
absl::StatusOr<std::optional<Message>> FindIdempotentOriginal(
    Connection& conn, int64_t owner_id, const IdempotencyKey& key,
    absl::Time create_time);

// Stores `key` for `owner_id`'s new message `message_id`.
absl::Status StoreIdempotencyKey(Connection& conn, int64_t owner_id,
                                 const IdempotencyKey& key,
                                 absl::string_view message_id,
                                 absl::Time create_time);

// Moves `message` from SCHEDULED to `to` (PENDING or CANCELED) with a
// conditional UPDATE, and on success records a LOCAL report saying `note`
// and a STATUS_CHANGED feed event. Returns whether the row was SCHEDULED
// (false: nothing written). Defined in sqlite_message_store_status.cc.
absl::StatusOr<bool> LeaveScheduled(Connection& conn, const Message& message,
                                    MessageStatus to, absl::Time now,
                                    absl::string_view note);

}  // namespace smsgw::storage::sqlite::message_store_internal

#endif  // SMSGW_STORAGE_SQLITE_SQLITE_MESSAGE_STORE_INTERNAL_H_

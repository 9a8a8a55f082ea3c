// File: sqlite_message_store.cc
//
// SqliteMessageStore's transaction wrapper (Write() and the feed listener)
// and the helpers its other files share (sqlite_message_store_internal.h):
// reading message rows, inserting message, report, feed and conversation
// rows, and the idempotency lookup. The methods live by concern in
// sqlite_message_store_{outbound,status,inbound,history,feed}.cc.
#include "storage/sqlite/sqlite_message_store.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/status_macros.h"
#include "storage/sqlite/sqlite_message_store_internal.h"

namespace smsgw::storage::sqlite {
namespace {

// The owners whose feed rows the running write appended: set by
// SqliteMessageStore::Write() around its function, which runs wholly on one
// thread (the group commit's leader), so a thread-local collects them.
thread_local std::vector<int64_t>* t_feed_owners = nullptr;

}  // namespace

namespace message_store_internal {

std::string SelectMessagesSql(absl::string_view where_and_order) {
  return absl::StrCat("SELECT ", kMessageColumns, common::kMessageFrom, " ",
                      where_and_order);
}

Message ReadMessage(const Statement& row, int base) {
  return common::ReadMessageRow(row, base);
}

absl::StatusOr<std::optional<Message>> LoadMessageById(Connection& conn,
                                                       absl::string_view id) {
  SMSGW_ASSIGN_OR_RETURN(Statement stmt,
                         conn.Prepare(SelectMessagesSql("WHERE m.id = ?")));
  stmt.Bind(1, id);
  SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::nullopt;
  return ReadMessage(stmt);
}

absl::StatusOr<Message> MustLoadMessage(Connection& conn,
                                        absl::string_view id) {
  SMSGW_ASSIGN_OR_RETURN(std::optional<Message> message,
                         LoadMessageById(conn, id));
  if (!message.has_value()) {
    return absl::NotFoundError(absl::StrCat("no message with id ", id));
  }
  return *std::move(message);
}

void NoteFeedOwner(int64_t owner_id) {
  if (t_feed_owners != nullptr) t_feed_owners->push_back(owner_id);
}

absl::StatusOr<int64_t> LatestFeedSeq(Connection& conn) {
  SMSGW_ASSIGN_OR_RETURN(Statement stmt,
                         conn.Prepare("SELECT seq FROM sqlite_sequence"
                                      " WHERE name = 'message_feed'"));
  SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.Int(0) : int64_t{0};
}

absl::Status AppendFeed(Connection& conn, int64_t owner_id,
                        absl::string_view message_id, FeedEventType type,
                        absl::Time event_time) {
  NoteFeedOwner(owner_id);
  SMSGW_ASSIGN_OR_RETURN(
      Statement stmt,
      conn.Prepare("INSERT INTO message_feed(owner_id, message_id, type,"
                   " event_time, conversation_id, status) SELECT ?1, ?2, ?3,"
                   " ?4, COALESCE(m.conversation_id, ''), COALESCE(m.status, 0)"
                   " FROM (SELECT 1) LEFT JOIN messages m ON m.id = ?2"));
  return stmt.Bind(1, owner_id)
      .Bind(2, message_id)
      .Bind(3, static_cast<int>(type))
      .Bind(4, event_time)
      .Run();
}

absl::Status InsertReport(Connection& conn, int64_t message_seq,
                          absl::string_view provider_sid, MessageStatus status,
                          const StatusUpdate& update, ReportSource source,
                          bool applied) {
  SMSGW_ASSIGN_OR_RETURN(
      Statement stmt,
      conn.Prepare("INSERT INTO message_events(message_seq, provider_sid,"
                   " status, provider_status, error_code, error_message,"
                   " raw_dlr_done_date, source, applied, http_status,"
                   " event_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  if (message_seq > 0) {
    stmt.Bind(1, message_seq);
  } else {
    stmt.BindNull(1);  // parked: the SID is not known yet
  }
  return stmt.Bind(2, provider_sid)
      .Bind(3, static_cast<int>(status))
      .Bind(4, update.provider_status)
      .Bind(5, update.error_code)
      .Bind(6, update.error_message)
      .Bind(7, update.raw_dlr_done_date)
      .Bind(8, static_cast<int>(source))
      .Bind(9, applied)
      .Bind(10, update.http_status)
      .Bind(11, update.event_time)
      .Run();
}

absl::StatusOr<int64_t> InsertMessageRow(Connection& conn,
                                         const Message& message,
                                         absl::string_view idempotency_key,
                                         int64_t claimed_by) {
  SMSGW_ASSIGN_OR_RETURN(
      Statement stmt,
      conn.Prepare(absl::StrCat(
          "INSERT INTO messages(", common::kMessageInsertColumns,
          ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
          " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")));
  stmt.Bind(1, message.id)
      .Bind(2, message.owner_id)
      .Bind(3, message.conversation_id)
      .Bind(5, message.group_name)
      .Bind(6, static_cast<int>(message.direction))
      .Bind(7, message.from)
      .Bind(8, message.to)
      .Bind(9, message.peer_number)
      .Bind(10, message.our_number)
      .Bind(11, message.messaging_service_sid)
      .Bind(12, message.body)
      .Bind(13, absl::StrJoin(message.media_urls, "\n"))
      .Bind(14, absl::StrJoin(message.media_content_types, "\n"))
      .Bind(15, static_cast<int>(message.status))
      .Bind(17, message.error_code)
      .Bind(18, message.error_message)
      .Bind(19, message.num_segments)
      .Bind(20, static_cast<int>(message.encoding))
      .Bind(21, message.price)
      .Bind(22, message.price_unit)
      .Bind(23, idempotency_key)
      .Bind(24, message.attempts)
      .Bind(25, message.next_attempt_time)
      .Bind(26, message.create_time)
      .Bind(27, message.scheduled_time)
      .Bind(28, message.send_time)
      .Bind(29, message.deliver_time)
      .Bind(30, message.update_time)
      .Bind(31, message.dispatch_started_time)
      .Bind(32,
            static_cast<int>(message.priority == MessagePriority::kUnspecified
                                 ? MessagePriority::kNormal
                                 : message.priority))
      .Bind(33, message.expire_time);
  if (claimed_by != 0) {
    stmt.Bind(34, claimed_by);
  } else {
    stmt.BindNull(34);
  }
  if (message.group_id != 0) {
    stmt.Bind(4, message.group_id);
  } else {
    stmt.BindNull(4);
  }
  if (!message.provider_sid.empty()) {
    stmt.Bind(16, message.provider_sid);
  } else {
    stmt.BindNull(16);
  }
  if (message.owner_id == 0) stmt.BindNull(2);  // unrouted inbound
  absl::Status run = stmt.Run();
  if (absl::IsAlreadyExists(run)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "message id ", message.id, " or provider sid is already stored"));
  }
  if (!run.ok() &&
      sqlite3_extended_errcode(conn.raw()) == SQLITE_CONSTRAINT_FOREIGNKEY) {
    return absl::FailedPreconditionError(
        absl::StrCat("owner ", message.owner_id, " or group ", message.group_id,
                     " does not exist"));
  }
  SMSGW_RETURN_IF_ERROR(run);
  return conn.LastInsertRowId();
}

absl::Status UpsertConversation(Connection& conn, const Message& message,
                                int64_t seq) {
  SMSGW_ASSIGN_OR_RETURN(
      Statement stmt,
      conn.Prepare("INSERT INTO conversations(owner_id, conversation_id,"
                   " peer_number, our_number, last_message_seq, message_count,"
                   " update_time) VALUES (?, ?, ?, ?, ?, 1, ?)"
                   " ON CONFLICT(owner_id, conversation_id) DO UPDATE SET"
                   " message_count = message_count + 1,"
                   " last_message_seq = excluded.last_message_seq,"
                   " our_number = excluded.our_number,"
                   " update_time = excluded.update_time"));
  return stmt.Bind(1, message.owner_id)
      .Bind(2, message.conversation_id)
      .Bind(3, message.peer_number)
      .Bind(4, message.our_number)
      .Bind(5, seq)
      .Bind(6, message.create_time)
      .Run();
}

absl::StatusOr<std::optional<Message>> FindIdempotentOriginal(
    Connection& conn, int64_t owner_id, const IdempotencyKey& key,
    absl::Time create_time) {
  std::optional<std::pair<std::string, std::string>> stored;
  {
    // Keys are kept for kIdempotencyKeyTtl (24 h): an older one is
    // forgotten, so the key may name a new request.
    SMSGW_ASSIGN_OR_RETURN(
        Statement expire,
        conn.Prepare("DELETE FROM idempotency_keys WHERE owner_id = ? AND"
                     " key = ? AND create_time < ?"));
    SMSGW_RETURN_IF_ERROR(expire.Bind(1, owner_id)
                              .Bind(2, key.key)
                              .Bind(3, create_time - kIdempotencyKeyTtl)
                              .Run());
  }
  {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT request_hash, message_id FROM idempotency_keys"
                     " WHERE owner_id = ? AND key = ?"));
    stmt.Bind(1, owner_id).Bind(2, key.key);
    SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) stored.emplace(stmt.Text(0), stmt.Text(1));
  }
  if (!stored.has_value()) return std::nullopt;
  if (stored->first != key.request_hash) {
    return absl::AlreadyExistsError(
        absl::StrCat("idempotency key \"", key.key,
                     "\" was already used for a different request"));
  }
  SMSGW_ASSIGN_OR_RETURN(std::optional<Message> original,
                         LoadMessageById(conn, stored->second));
  if (!original.has_value()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "idempotency key \"", key.key, "\" was already used for message ",
        stored->second, ", which has since been deleted"));
  }
  return original;
}

absl::Status StoreIdempotencyKey(Connection& conn, int64_t owner_id,
                                 const IdempotencyKey& key,
                                 absl::string_view message_id,
                                 absl::Time create_time) {
  SMSGW_ASSIGN_OR_RETURN(
      Statement stmt, conn.Prepare("INSERT INTO idempotency_keys(owner_id, key,"
                                   " request_hash, message_id, create_time)"
                                   " VALUES (?, ?, ?, ?, ?)"));
  return stmt.Bind(1, owner_id)
      .Bind(2, key.key)
      .Bind(3, key.request_hash)
      .Bind(4, message_id)
      .Bind(5, create_time)
      .Run();
}

}  // namespace message_store_internal

// --- Transactions and the feed listener ---

absl::Status SqliteMessageStore::Write(
    const std::function<absl::Status(Connection&)>& fn) {
  int64_t feed_cursor = 0;
  std::vector<int64_t> owners;
  SMSGW_RETURN_IF_ERROR(db_->Write([&](Connection& conn) -> absl::Status {
    owners.clear();
    std::vector<int64_t>* outer = t_feed_owners;
    t_feed_owners = &owners;
    absl::Status status = fn(conn);
    t_feed_owners = outer;
    SMSGW_RETURN_IF_ERROR(status);
    if (owners.empty()) return absl::OkStatus();  // no feed rows: no read
    SMSGW_ASSIGN_OR_RETURN(feed_cursor,
                           message_store_internal::LatestFeedSeq(conn));
    return absl::OkStatus();
  }));
  if (owners.empty()) return absl::OkStatus();
  listeners_.Notify(feed_cursor, std::move(owners));
  return absl::OkStatus();
}

int SqliteMessageStore::AddFeedListener(FeedListener listener) {
  return listeners_.Add(std::move(listener));
}

void SqliteMessageStore::RemoveFeedListener(int handle) {
  listeners_.Remove(handle);
}

void SqliteMessageStore::SetFeedListener(FeedListener listener) {
  listeners_.Set(std::move(listener));
}

}  // namespace smsgw::storage::sqlite

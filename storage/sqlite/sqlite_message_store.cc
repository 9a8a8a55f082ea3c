#include "storage/sqlite/sqlite_message_store.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace smsgw::storage::sqlite {
namespace {

// The message columns every read selects, in ReadMessage() order. The users
// join fills owner_username; NULL references read as 0 / "".
constexpr char kMessageColumns[] =
    "m.seq, m.id, COALESCE(m.owner_id, 0), COALESCE(u.username, ''), "
    "m.conversation_id, COALESCE(m.group_id, 0), m.group_name, m.direction, "
    "m.from_number, m.to_number, m.peer_number, m.our_number, "
    "m.messaging_service_sid, m.body, m.media_urls, m.media_content_types, "
    "m.status, COALESCE(m.provider_sid, ''), m.error_code, m.error_message, "
    "m.num_segments, m.encoding, m.price, m.price_unit, m.idempotency_key, "
    "m.attempts, m.next_attempt_time, m.create_time, m.scheduled_time, "
    "m.send_time, m.deliver_time, m.update_time, m.dispatch_started_time, "
    "m.priority, m.expire_time";

constexpr char kMessageFrom[] =
    " FROM messages m LEFT JOIN users u ON u.id = m.owner_id";

std::string SelectMessagesSql(absl::string_view where_and_order) {
  return absl::StrCat("SELECT ", kMessageColumns, kMessageFrom, " ",
                      where_and_order);
}

std::vector<std::string> SplitLines(const std::string& joined) {
  if (joined.empty()) return {};
  return absl::StrSplit(joined, '\n');
}

Message ReadMessage(const Statement& row, int base = 0) {
  int c = base;
  Message m;
  m.seq = row.Int(c++);
  m.id = row.Text(c++);
  m.owner_id = row.Int(c++);
  m.owner_username = row.Text(c++);
  m.conversation_id = row.Text(c++);
  m.group_id = row.Int(c++);
  m.group_name = row.Text(c++);
  m.direction = static_cast<Direction>(row.Int(c++));
  m.from = row.Text(c++);
  m.to = row.Text(c++);
  m.peer_number = row.Text(c++);
  m.our_number = row.Text(c++);
  m.messaging_service_sid = row.Text(c++);
  m.body = row.Text(c++);
  m.media_urls = SplitLines(row.Text(c++));
  m.media_content_types = SplitLines(row.Text(c++));
  m.status = static_cast<MessageStatus>(row.Int(c++));
  m.provider_sid = row.Text(c++);
  if (std::optional<int64_t> code = row.OptInt(c++)) {
    m.error_code = static_cast<int>(*code);
  }
  m.error_message = row.Text(c++);
  m.num_segments = static_cast<int>(row.Int(c++));
  m.encoding = static_cast<Encoding>(row.Int(c++));
  m.price = row.Text(c++);
  m.price_unit = row.Text(c++);
  m.idempotency_key = row.Text(c++);
  m.attempts = static_cast<int>(row.Int(c++));
  m.next_attempt_time = row.OptTime(c++);
  m.create_time = row.Time(c++);
  m.scheduled_time = row.OptTime(c++);
  m.send_time = row.OptTime(c++);
  m.deliver_time = row.OptTime(c++);
  m.update_time = row.Time(c++);
  m.dispatch_started_time = row.OptTime(c++);
  m.priority = static_cast<MessagePriority>(row.Int(c++));
  m.expire_time = row.OptTime(c++);
  return m;
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

absl::Status CheckMediaList(const std::vector<std::string>& items,
                            absl::string_view what) {
  for (const std::string& item : items) {
    if (item.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " has an empty entry"));
    }
    if (absl::StrContains(item, '\n')) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " entry contains a newline"));
    }
  }
  return absl::OkStatus();
}

// The owners whose feed rows the running write appended: set by
// SqliteMessageStore::Write() around its function, which runs wholly on one
// thread (the group commit's leader), so a thread-local collects them.
thread_local std::vector<int64_t>* t_feed_owners = nullptr;

void NoteFeedOwner(int64_t owner_id) {
  if (t_feed_owners != nullptr) t_feed_owners->push_back(owner_id);
}

// Appends one watch-feed event. Messages without an owner (unrouted inbound)
// go to owner 0, which only admins watch. The row copies the message's
// conversation and current status, so call it while the message row still
// exists (before a DELETE).
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

// Recomputes a conversation from the messages left in it after deletions:
// count, last message and update_time (the last message's create_time); an
// emptied conversation is removed.
absl::Status RefreshConversation(Connection& conn, int64_t owner_id,
                                 absl::string_view conversation_id) {
  {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("UPDATE conversations SET"
                     " message_count = (SELECT COUNT(*) FROM messages"
                     "   WHERE owner_id = ?1 AND conversation_id = ?2),"
                     " last_message_seq = (SELECT MAX(seq) FROM messages"
                     "   WHERE owner_id = ?1 AND conversation_id = ?2),"
                     " update_time = COALESCE((SELECT create_time FROM messages"
                     "   WHERE owner_id = ?1 AND conversation_id = ?2"
                     "   ORDER BY seq DESC LIMIT 1), update_time)"
                     " WHERE owner_id = ?1 AND conversation_id = ?2"));
    SMSGW_RETURN_IF_ERROR(
        stmt.Bind(1, owner_id).Bind(2, conversation_id).Run());
  }
  SMSGW_ASSIGN_OR_RETURN(
      Statement stmt,
      conn.Prepare("DELETE FROM conversations WHERE owner_id = ? AND"
                   " conversation_id = ? AND message_count = 0"));
  return stmt.Bind(1, owner_id).Bind(2, conversation_id).Run();
}

// Whether a status means the provider took the message (send_time).
bool ProviderAccepted(MessageStatus status) {
  switch (status) {
    case MessageStatus::kQueued:
    case MessageStatus::kSending:
    case MessageStatus::kSent:
    case MessageStatus::kDelivered:
    case MessageStatus::kUndelivered:
      return true;
    default:
      return false;
  }
}

// Inserts one message row; returns its seq. AlreadyExists for a taken id or
// provider SID; FailedPrecondition for a missing owner or group.
absl::StatusOr<int64_t> InsertMessageRow(Connection& conn,
                                         const Message& message,
                                         absl::string_view idempotency_key) {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(
            "INSERT INTO messages(id, owner_id, conversation_id, group_id,"
            " group_name, direction, from_number, to_number, peer_number,"
            " our_number, messaging_service_sid, body, media_urls,"
            " media_content_types, status, provider_sid, error_code,"
            " error_message, num_segments, encoding, price, price_unit,"
            " idempotency_key, attempts, next_attempt_time, create_time,"
            " scheduled_time, send_time, deliver_time, update_time,"
            " dispatch_started_time, priority, expire_time)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
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
        .Bind(32, static_cast<int>(
                      message.priority == MessagePriority::kUnspecified
                          ? MessagePriority::kNormal
                          : message.priority))
        .Bind(33, message.expire_time);
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
    if (!run.ok() && sqlite3_extended_errcode(conn.raw()) ==
                         SQLITE_CONSTRAINT_FOREIGNKEY) {
      return absl::FailedPreconditionError(
          absl::StrCat("owner ", message.owner_id, " or group ",
                       message.group_id, " does not exist"));
    }
    SMSGW_RETURN_IF_ERROR(run);
    return conn.LastInsertRowId();
}

// Adds `message` (stored as `seq`) to its owner's conversation.
absl::Status UpsertConversation(Connection& conn, const Message& message,
                                int64_t seq) {
  SMSGW_ASSIGN_OR_RETURN(
      Statement stmt,
      conn.Prepare(
          "INSERT INTO conversations(owner_id, conversation_id,"
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

// Applies `update` to `before` inside the caller's write transaction: moves
// the status only forward, records the report (or attaches the parked one
// `parked_report_id`), appends a feed event when the status moved, and
// returns the message as stored afterwards.
absl::StatusOr<Message> ApplyStatusInTx(
    Connection& conn, const Message& before, const StatusUpdate& update,
    std::optional<int64_t> parked_report_id = std::nullopt) {
  const bool applied = StatusRank(update.status) > StatusRank(before.status);

  Message next = before;
  if (applied) {
    next.status = update.status;
    if (update.status == MessageStatus::kUndelivered ||
        update.status == MessageStatus::kFailed ||
        update.status == MessageStatus::kExpired) {
      next.error_code = update.error_code;
      next.error_message = update.error_message;
    }
    if (ProviderAccepted(update.status) && !next.send_time.has_value()) {
      next.send_time = update.event_time;
    }
    if (update.status == MessageStatus::kDelivered) {
      next.deliver_time = update.event_time;
    }
  }
  if (next.provider_sid.empty() && !update.provider_sid.empty()) {
    next.provider_sid = update.provider_sid;
  }
  if (update.num_segments.has_value()) {
    next.num_segments = *update.num_segments;
  }
  if (!update.price.empty()) next.price = update.price;
  if (!update.price_unit.empty()) next.price_unit = update.price_unit;

  const bool changed = applied || next.provider_sid != before.provider_sid ||
                       next.num_segments != before.num_segments ||
                       next.price != before.price ||
                       next.price_unit != before.price_unit;
  if (changed) {
    next.update_time = std::max(before.update_time, update.event_time);
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("UPDATE messages SET status = ?, provider_sid = ?,"
                     " error_code = ?, error_message = ?, num_segments = ?,"
                     " price = ?, price_unit = ?, send_time = ?,"
                     " deliver_time = ?, update_time = ? WHERE seq = ?"));
    stmt.Bind(1, static_cast<int>(next.status))
        .Bind(3, next.error_code)
        .Bind(4, next.error_message)
        .Bind(5, next.num_segments)
        .Bind(6, next.price)
        .Bind(7, next.price_unit)
        .Bind(8, next.send_time)
        .Bind(9, next.deliver_time)
        .Bind(10, next.update_time)
        .Bind(11, before.seq);
    if (next.provider_sid.empty()) {
      stmt.BindNull(2);
    } else {
      stmt.Bind(2, next.provider_sid);
    }
    absl::Status run = stmt.Run();
    if (absl::IsAlreadyExists(run)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "provider sid ", next.provider_sid, " belongs to another message"));
    }
    SMSGW_RETURN_IF_ERROR(run);
  }

  if (parked_report_id.has_value()) {
    // A callback that arrived before its SID was known: attach its report.
    SMSGW_ASSIGN_OR_RETURN(
        Statement attach,
        conn.Prepare("UPDATE message_events SET message_seq = ?, applied = ?"
                     " WHERE id = ?"));
    SMSGW_RETURN_IF_ERROR(
        attach.Bind(1, before.seq).Bind(2, applied).Bind(3, *parked_report_id)
            .Run());
  } else {
    SMSGW_RETURN_IF_ERROR(InsertReport(
        conn, before.seq,
        update.provider_sid.empty() ? next.provider_sid : update.provider_sid,
        update.status, update, update.source, applied));
  }
  if (applied) {
    SMSGW_RETURN_IF_ERROR(AppendFeed(conn, before.owner_id, before.id,
                                     FeedEventType::kStatusChanged,
                                     update.event_time));
  }
  return MustLoadMessage(conn, before.id);
}

// Applies, in arrival order, the status callbacks that were parked for
// `message`'s provider SID before the SID was stored.
absl::StatusOr<Message> ApplyParkedReports(Connection& conn, Message message) {
  if (message.provider_sid.empty()) return message;
  struct Parked {
    int64_t id;
    StatusUpdate update;
  };
  std::vector<Parked> parked;
  {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT id, status, provider_status, error_code,"
                     " error_message, raw_dlr_done_date, source, http_status,"
                     " event_time FROM message_events"
                     " WHERE message_seq IS NULL AND provider_sid = ?"
                     " ORDER BY id"));
    stmt.Bind(1, message.provider_sid);
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      Parked p;
      p.id = stmt.Int(0);
      p.update.status = static_cast<MessageStatus>(stmt.Int(1));
      p.update.provider_status = stmt.Text(2);
      if (std::optional<int64_t> code = stmt.OptInt(3)) {
        p.update.error_code = static_cast<int>(*code);
      }
      p.update.error_message = stmt.Text(4);
      p.update.raw_dlr_done_date = stmt.Text(5);
      p.update.source = static_cast<ReportSource>(stmt.Int(6));
      p.update.http_status = static_cast<int>(stmt.Int(7));
      p.update.event_time = stmt.Time(8);
      parked.push_back(std::move(p));
    }
  }
  for (const Parked& p : parked) {
    SMSGW_ASSIGN_OR_RETURN(message,
                           ApplyStatusInTx(conn, message, p.update, p.id));
  }
  return message;
}

absl::Status CheckLimit(int limit) {
  if (limit < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit must be at least 1, got ", limit));
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

// What every new outbound message must satisfy before it is stored.
absl::Status ValidateNewOutbound(const Message& message) {
  if (message.direction != Direction::kOutbound) {
    return absl::InvalidArgumentError(
        "CreateOutbound needs an outbound message");
  }
  if (message.status != MessageStatus::kPending &&
      message.status != MessageStatus::kScheduled) {
    return absl::InvalidArgumentError(
        "a new outbound message must be PENDING or SCHEDULED");
  }
  if (message.owner_id <= 0) {
    return absl::InvalidArgumentError("an outbound message needs an owner");
  }
  if (message.id.empty()) {
    return absl::InvalidArgumentError("message id is empty");
  }
  SMSGW_RETURN_IF_ERROR(CheckMediaList(message.media_urls, "media_urls"));
  SMSGW_RETURN_IF_ERROR(
      CheckMediaList(message.media_content_types, "media_content_types"));

  return absl::OkStatus();
}

}  // namespace

absl::Status SqliteMessageStore::CreateOutboundIn(
    Connection& conn, const Message& message,
    const std::optional<IdempotencyKey>& key, CreateResult* result,
    bool require_free_number) {
  if (key.has_value()) {
    std::optional<std::pair<std::string, std::string>> stored;
    {
      // Keys are kept for kIdempotencyKeyTtl (24 h): an older one is
      // forgotten, so the key may name a new request.
      SMSGW_ASSIGN_OR_RETURN(
          Statement expire,
          conn.Prepare("DELETE FROM idempotency_keys WHERE owner_id = ? AND"
                       " key = ? AND create_time < ?"));
      SMSGW_RETURN_IF_ERROR(expire.Bind(1, message.owner_id)
                                .Bind(2, key->key)
                                .Bind(3, message.create_time -
                                             kIdempotencyKeyTtl)
                                .Run());
    }
    {
      SMSGW_ASSIGN_OR_RETURN(
          Statement stmt,
          conn.Prepare("SELECT request_hash, message_id FROM idempotency_keys"
                       " WHERE owner_id = ? AND key = ?"));
      stmt.Bind(1, message.owner_id).Bind(2, key->key);
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (row) stored.emplace(stmt.Text(0), stmt.Text(1));
    }
    if (stored.has_value()) {
      if (stored->first != key->request_hash) {
        return absl::AlreadyExistsError(
            absl::StrCat("idempotency key \"", key->key,
                         "\" was already used for a different request"));
      }
      SMSGW_ASSIGN_OR_RETURN(std::optional<Message> original,
                             LoadMessageById(conn, stored->second));
      if (!original.has_value()) {
        return absl::AlreadyExistsError(
            absl::StrCat("idempotency key \"", key->key,
                         "\" was already used for message ", stored->second,
                         ", which has since been deleted"));
      }
      result->message = *std::move(original);
      result->replayed = true;
      return absl::OkStatus();
    }
  }

  if (require_free_number) {
    // Writes are serialised (Database::Write), so nothing can claim the
    // number between this check and the insert below.
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT owner_id FROM conversations"
                     " WHERE peer_number = ? AND our_number = ?"
                     " AND owner_id <> ? LIMIT 1"));
    stmt.Bind(1, message.peer_number)
        .Bind(2, message.our_number)
        .Bind(3, message.owner_id);
    SMSGW_ASSIGN_OR_RETURN(bool taken, stmt.Step());
    if (taken) {
      return absl::AbortedError(absl::StrCat(
          "another user is now in conversation with this recipient on ",
          message.our_number, "; choose the sender again"));
    }
  }

  if (!message.conversation_id.empty()) {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT peer_number FROM conversations"
                     " WHERE owner_id = ? AND conversation_id = ?"));
    stmt.Bind(1, message.owner_id).Bind(2, message.conversation_id);
    SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row && stmt.Text(0) != message.peer_number) {
      return absl::InvalidArgumentError(
          absl::StrCat("conversation_id \"", message.conversation_id,
                       "\" is already used with another peer number"));
    }
  }

  SMSGW_ASSIGN_OR_RETURN(
      int64_t seq,
      InsertMessageRow(conn, message,
                       key.has_value() ? key->key : message.idempotency_key));

  if (!message.conversation_id.empty()) {
    SMSGW_RETURN_IF_ERROR(UpsertConversation(conn, message, seq));
  }

  if (key.has_value()) {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("INSERT INTO idempotency_keys(owner_id, key,"
                     " request_hash, message_id, create_time)"
                     " VALUES (?, ?, ?, ?, ?)"));
    SMSGW_RETURN_IF_ERROR(stmt.Bind(1, message.owner_id)
                              .Bind(2, key->key)
                              .Bind(3, key->request_hash)
                              .Bind(4, message.id)
                              .Bind(5, message.create_time)
                              .Run());
  }

  SMSGW_RETURN_IF_ERROR(AppendFeed(conn, message.owner_id, message.id,
                                   FeedEventType::kCreated,
                                   message.create_time));
  SMSGW_ASSIGN_OR_RETURN(result->message, MustLoadMessage(conn, message.id));
  return absl::OkStatus();
}

absl::StatusOr<CreateResult> SqliteMessageStore::CreateOutbound(
    const Message& message, const std::optional<IdempotencyKey>& key) {
  SMSGW_RETURN_IF_ERROR(ValidateNewOutbound(message));
  CreateResult result;
  SMSGW_RETURN_IF_ERROR(Write([&](Connection& conn) {
    return CreateOutboundIn(conn, message, key, &result);
  }));
  return result;
}

absl::StatusOr<CreateResult> SqliteMessageStore::CreateOutboundOnFreeNumber(
    const Message& message, const std::optional<IdempotencyKey>& key) {
  SMSGW_RETURN_IF_ERROR(ValidateNewOutbound(message));
  CreateResult result;
  SMSGW_RETURN_IF_ERROR(Write([&](Connection& conn) {
    return CreateOutboundIn(conn, message, key, &result,
                            /*require_free_number=*/true);
  }));
  return result;
}

absl::StatusOr<PeerNumbers> SqliteMessageStore::FindPeerNumbers(
    int64_t owner_id, absl::string_view peer) {
  if (owner_id < 1) {
    return absl::InvalidArgumentError("FindPeerNumbers needs an owner");
  }
  if (peer.empty()) {
    return absl::InvalidArgumentError("FindPeerNumbers needs a peer number");
  }
  PeerNumbers found;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    // One statement, hence one snapshot for both facts.
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT owner_id = ?1, our_number, MAX(update_time)"
                     " FROM conversations WHERE peer_number = ?2"
                     " GROUP BY owner_id = ?1, our_number"
                     " ORDER BY our_number"));
    stmt.Bind(1, owner_id).Bind(2, peer);
    std::optional<absl::Time> owner_latest;
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      if (stmt.Int(0) == 0) {
        found.other_owners.push_back(stmt.Text(1));
      } else if (!owner_latest.has_value() || stmt.Time(2) > *owner_latest) {
        owner_latest = stmt.Time(2);
        found.owner_last = stmt.Text(1);
      }
    }
    return absl::OkStatus();
  }));
  return found;
}

absl::StatusOr<std::vector<Message>> SqliteMessageStore::CreateOutboundBatch(
    const std::vector<Message>& messages) {
  for (const Message& message : messages) {
    absl::Status valid = ValidateNewOutbound(message);
    if (!valid.ok()) {
      return absl::Status(valid.code(), absl::StrCat("message ", message.id,
                                                     ": ", valid.message()));
    }
  }
  std::vector<Message> stored;
  SMSGW_RETURN_IF_ERROR(Write([&](Connection& conn) -> absl::Status {
    stored.clear();
    stored.reserve(messages.size());
    for (const Message& message : messages) {
      CreateResult result;
      SMSGW_RETURN_IF_ERROR(
          CreateOutboundIn(conn, message, std::nullopt, &result));
      stored.push_back(std::move(result.message));
    }
    return absl::OkStatus();
  }));
  return stored;
}

absl::StatusOr<Message> SqliteMessageStore::ApplyStatus(
    absl::string_view id, const StatusUpdate& update) {
  if (update.status == MessageStatus::kUnspecified) {
    return absl::InvalidArgumentError("status update has no status");
  }
  Message after;
  absl::Status status = Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(Message before, MustLoadMessage(conn, id));
    SMSGW_ASSIGN_OR_RETURN(after, ApplyStatusInTx(conn, before, update));
    if (before.provider_sid.empty() && !after.provider_sid.empty()) {
      SMSGW_ASSIGN_OR_RETURN(after, ApplyParkedReports(conn, after));
    }
    if (after.dispatch_started_time.has_value() &&
        after.status != MessageStatus::kPending) {
      SMSGW_ASSIGN_OR_RETURN(
          Statement clear,
          conn.Prepare("UPDATE messages SET dispatch_started_time = NULL"
                       " WHERE seq = ?"));
      SMSGW_RETURN_IF_ERROR(clear.Bind(1, after.seq).Run());
      after.dispatch_started_time.reset();
    }
    return absl::OkStatus();
  });
  SMSGW_RETURN_IF_ERROR(status);
  return after;
}

absl::Status SqliteMessageStore::MarkDispatchStarted(absl::string_view id,
                                                     absl::Time time) {
  return Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT status FROM messages WHERE id = ?"));
    stmt.Bind(1, id);
    SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) {
      return absl::NotFoundError(absl::StrCat("no message with id ", id));
    }
    if (static_cast<MessageStatus>(stmt.Int(0)) != MessageStatus::kPending) {
      return absl::FailedPreconditionError(
          absl::StrCat("message ", id, " is no longer PENDING"));
    }
    SMSGW_ASSIGN_OR_RETURN(
        Statement update,
        conn.Prepare("UPDATE messages SET dispatch_started_time = ?"
                     " WHERE id = ?"));
    return update.Bind(1, time).Bind(2, id).Run();
  });
}

absl::Status SqliteMessageStore::ClearDispatchStarted(absl::string_view id) {
  return Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement update,
        conn.Prepare("UPDATE messages SET dispatch_started_time = NULL"
                     " WHERE id = ?"));
    SMSGW_RETURN_IF_ERROR(update.Bind(1, id).Run());
    if (conn.Changes() == 0) {
      return absl::NotFoundError(absl::StrCat("no message with id ", id));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<Message>> SqliteMessageStore::ApplyStatusBySid(
    absl::string_view provider_sid, const StatusUpdate& update) {
  if (update.status == MessageStatus::kUnspecified) {
    return absl::InvalidArgumentError("status update has no status");
  }
  if (provider_sid.empty()) {
    return absl::InvalidArgumentError("status update has no provider sid");
  }
  std::optional<Message> after;
  absl::Status status = Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement find,
        conn.Prepare("SELECT id FROM messages WHERE provider_sid = ?"));
    find.Bind(1, provider_sid);
    SMSGW_ASSIGN_OR_RETURN(bool row, find.Step());
    if (!row) {
      // Not known (yet): park the report; ApplyStatus() attaches it when
      // the create response stores this SID.
      return InsertReport(conn, /*message_seq=*/0, provider_sid, update.status,
                          update, update.source, /*applied=*/false);
    }
    const std::string id = find.Text(0);
    SMSGW_ASSIGN_OR_RETURN(Message before, MustLoadMessage(conn, id));
    SMSGW_ASSIGN_OR_RETURN(after, ApplyStatusInTx(conn, before, update));
    return absl::OkStatus();
  });
  SMSGW_RETURN_IF_ERROR(status);
  return after;
}

absl::StatusOr<CreateResult> SqliteMessageStore::InsertInbound(
    const Message& message) {
  if (message.direction != Direction::kInbound || message.id.empty() ||
      message.provider_sid.empty()) {
    return absl::InvalidArgumentError(
        "InsertInbound takes an inbound message with an id and a provider "
        "sid");
  }
  SMSGW_RETURN_IF_ERROR(CheckMediaList(message.media_urls, "media_urls"));
  SMSGW_RETURN_IF_ERROR(
      CheckMediaList(message.media_content_types, "media_content_types"));
  CreateResult result;
  absl::Status status = Write([&](Connection& conn) -> absl::Status {
    {
      SMSGW_ASSIGN_OR_RETURN(
          Statement find,
          conn.Prepare("SELECT id FROM messages WHERE provider_sid = ?"));
      find.Bind(1, message.provider_sid);
      SMSGW_ASSIGN_OR_RETURN(bool row, find.Step());
      if (row) {
        // Twilio retried the webhook: the first delivery already stored it.
        const std::string id = find.Text(0);
        SMSGW_ASSIGN_OR_RETURN(result.message, MustLoadMessage(conn, id));
        result.replayed = true;
        return absl::OkStatus();
      }
    }
    SMSGW_ASSIGN_OR_RETURN(int64_t seq, InsertMessageRow(conn, message, ""));
    if (message.owner_id != 0 && !message.conversation_id.empty()) {
      SMSGW_RETURN_IF_ERROR(UpsertConversation(conn, message, seq));
    }
    StatusUpdate received;
    received.status = message.status;
    received.provider_status = "received";
    received.event_time = message.create_time;
    SMSGW_RETURN_IF_ERROR(InsertReport(conn, seq, message.provider_sid,
                                       message.status, received,
                                       ReportSource::kStatusCallback,
                                       /*applied=*/true));
    SMSGW_RETURN_IF_ERROR(AppendFeed(conn, message.owner_id, message.id,
                                     FeedEventType::kInbound,
                                     message.create_time));
    SMSGW_ASSIGN_OR_RETURN(result.message, MustLoadMessage(conn, message.id));
    return absl::OkStatus();
  });
  SMSGW_RETURN_IF_ERROR(status);
  return result;
}

absl::StatusOr<std::optional<ConversationRef>>
SqliteMessageStore::FindLatestConversation(absl::string_view peer,
                                           absl::string_view our_number) {
  std::optional<ConversationRef> found;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT c.owner_id, c.conversation_id, u.username"
                     " FROM conversations c JOIN users u ON u.id = c.owner_id"
                     " WHERE c.peer_number = ? AND c.our_number = ?"
                     " ORDER BY c.update_time DESC LIMIT 1"));
    stmt.Bind(1, peer).Bind(2, our_number);
    SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) {
      found = ConversationRef{stmt.Int(0), stmt.Text(1), stmt.Text(2)};
    }
    return absl::OkStatus();
  }));
  return found;
}

absl::Status SqliteMessageStore::SetOptOut(absl::string_view peer,
                                           absl::string_view our_number,
                                           absl::string_view keyword,
                                           absl::Time time) {
  return Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("INSERT INTO opt_outs(peer_number, our_number, keyword,"
                     " create_time) VALUES (?, ?, ?, ?)"
                     " ON CONFLICT(peer_number, our_number) DO UPDATE SET"
                     " keyword = excluded.keyword,"
                     " create_time = excluded.create_time"));
    return stmt.Bind(1, peer).Bind(2, our_number).Bind(3, keyword)
        .Bind(4, time).Run();
  });
}

absl::Status SqliteMessageStore::ClearOptOut(absl::string_view peer,
                                             absl::string_view our_number) {
  return Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("DELETE FROM opt_outs WHERE peer_number = ? AND"
                     " our_number = ?"));
    return stmt.Bind(1, peer).Bind(2, our_number).Run();
  });
}

absl::Status SqliteMessageStore::RecordRetry(absl::string_view id,
                                             const StatusUpdate& attempt,
                                             absl::Time next_attempt_time) {
  return Write([&](Connection& conn) -> absl::Status {
    int64_t seq = 0;
    MessageStatus current = MessageStatus::kUnspecified;
    std::string provider_sid;
    {
      SMSGW_ASSIGN_OR_RETURN(
          Statement stmt,
          conn.Prepare("SELECT seq, status, COALESCE(provider_sid, '')"
                       " FROM messages WHERE id = ?"));
      stmt.Bind(1, id);
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row)
        return absl::NotFoundError(absl::StrCat("no message with id ", id));
      seq = stmt.Int(0);
      current = static_cast<MessageStatus>(stmt.Int(1));
      provider_sid = stmt.Text(2);
    }
    {
      SMSGW_ASSIGN_OR_RETURN(
          Statement stmt,
          conn.Prepare("UPDATE messages SET attempts = attempts + 1,"
                       " next_attempt_time = ?,"
                       " update_time = MAX(update_time, ?),"
                       " dispatch_started_time = CASE WHEN ? THEN NULL"
                       " ELSE dispatch_started_time END WHERE seq = ?"));
      // A 4xx answer (429 included) proves the create was refused; without
      // an answer, or with a 5xx, the provider may have created it.
      const bool outcome_known =
          attempt.http_status >= 400 && attempt.http_status <= 499;
      SMSGW_RETURN_IF_ERROR(stmt.Bind(1, next_attempt_time)
                                .Bind(2, attempt.event_time)
                                .Bind(3, outcome_known ? 1 : 0)
                                .Bind(4, seq)
                                .Run());
    }
    const MessageStatus report_status =
        attempt.status == MessageStatus::kUnspecified ? current
                                                      : attempt.status;
    return InsertReport(
        conn, seq,
        attempt.provider_sid.empty() ? provider_sid : attempt.provider_sid,
        report_status, attempt, ReportSource::kDispatchAttempt,
        /*applied=*/false);
  });
}

absl::StatusOr<Message> SqliteMessageStore::Get(absl::string_view id) {
  std::optional<Message> found;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(found, LoadMessageById(conn, id));
    return absl::OkStatus();
  }));
  if (!found.has_value()) {
    return absl::NotFoundError(absl::StrCat("no message with id ", id));
  }
  return *std::move(found);
}

absl::StatusOr<std::vector<DeliveryReport>> SqliteMessageStore::ListReports(
    absl::string_view id) {
  bool message_found = false;
  std::vector<DeliveryReport> reports;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    // One statement, so the message check and its reports are one snapshot.
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT e.id, e.status, e.provider_status, e.error_code,"
                     " e.error_message, e.raw_dlr_done_date, e.source,"
                     " e.applied, e.http_status, e.event_time"
                     " FROM messages m LEFT JOIN message_events e"
                     " ON e.message_seq = m.seq WHERE m.id = ? ORDER BY e.id"));
    stmt.Bind(1, id);
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      message_found = true;
      if (stmt.IsNull(0)) continue;  // a message without reports
      DeliveryReport r;
      r.id = stmt.Int(0);
      r.status = static_cast<MessageStatus>(stmt.Int(1));
      r.provider_status = stmt.Text(2);
      if (std::optional<int64_t> code = stmt.OptInt(3)) {
        r.error_code = static_cast<int>(*code);
      }
      r.error_message = stmt.Text(4);
      r.raw_dlr_done_date = stmt.Text(5);
      r.source = static_cast<ReportSource>(stmt.Int(6));
      r.applied = stmt.Int(7) != 0;
      r.http_status = static_cast<int>(stmt.Int(8));
      r.event_time = stmt.Time(9);
      reports.push_back(std::move(r));
    }
    return absl::OkStatus();
  }));
  if (!message_found) {
    return absl::NotFoundError(absl::StrCat("no message with id ", id));
  }
  return reports;
}

absl::StatusOr<std::vector<Message>> SqliteMessageStore::List(
    const MessageQuery& query) {
  // A group's history (group_id alone) spans its members' messages; the
  // check below requires one of the three scopes.
  if (query.owner_id.has_value() && query.unrouted) {
    return absl::InvalidArgumentError(
        "a message query needs at most one of owner_id and unrouted");
  }
  SMSGW_RETURN_IF_ERROR(CheckLimit(query.limit));

  // The WHERE clause is assembled from fixed fragments only; every value is
  // bound, in the order the fragments are appended.
  struct Arg {
    Arg(int64_t n) : number(n) {}  // NOLINT: implicit on purpose
    Arg(std::string t) : text(std::move(t)), is_text(true) {}  // NOLINT
    int64_t number = 0;
    std::string text;
    bool is_text = false;
  };
  std::vector<std::string> where;
  std::vector<Arg> args;
  if (query.unrouted) {
    where.push_back("m.owner_id IS NULL");
  } else if (query.owner_id.has_value()) {
    where.push_back("m.owner_id = ?");
    args.push_back(*query.owner_id);
  } else if (!query.group_id.has_value()) {
    return absl::InvalidArgumentError(
        "a message query needs an owner, unrouted or a group");
  }
  if (!query.conversation_id.empty()) {
    where.push_back("m.conversation_id = ?");
    args.push_back(query.conversation_id);
  }
  if (!query.peer_number.empty()) {
    where.push_back("m.peer_number = ?");
    args.push_back(query.peer_number);
  }
  if (query.direction != Direction::kUnspecified) {
    where.push_back("m.direction = ?");
    args.push_back(int64_t{static_cast<int>(query.direction)});
  }
  if (!query.statuses.empty()) {
    // A bit set of the wanted status numbers keeps the SQL text fixed
    // whatever the number of statuses (one cached statement).
    int64_t mask = 0;
    for (MessageStatus s : query.statuses) {
      const int n = static_cast<int>(s);
      if (n < 0 || n > 62) {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown message status ", n));
      }
      mask |= int64_t{1} << n;
    }
    where.push_back("((? >> m.status) & 1) = 1");
    args.push_back(mask);
  }
  if (query.start_time.has_value()) {
    where.push_back("m.create_time >= ?");
    args.push_back(ToMicros(*query.start_time));
  }
  if (query.end_time.has_value()) {
    where.push_back("m.create_time < ?");
    args.push_back(ToMicros(*query.end_time));
  }
  if (query.group_id.has_value()) {
    where.push_back("m.group_id = ?");
    args.push_back(*query.group_id);
  }
  if (query.before_seq.has_value()) {
    where.push_back("m.seq < ?");
    args.push_back(*query.before_seq);
  }
  const bool fts = !query.fts_query.empty();
  if (fts) {
    where.push_back(
        "m.seq IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)");
    args.push_back(query.fts_query);
  }
  const std::string sql = SelectMessagesSql(absl::StrCat(
      "WHERE ", absl::StrJoin(where, " AND "), " ORDER BY m.seq DESC LIMIT ?"));
  args.push_back(int64_t{query.limit});

  std::vector<Message> messages;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql));
    for (size_t i = 0; i < args.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      if (args[i].is_text) {
        stmt.Bind(index, args[i].text);
      } else {
        stmt.Bind(index, args[i].number);
      }
    }
    while (true) {
      absl::StatusOr<bool> row = stmt.Step();
      if (!row.ok()) {
        // Our SQL compiled, so a plain SQLITE_ERROR while stepping comes from
        // FTS5 parsing the caller's MATCH expression (syntax, unknown column).
        if (fts &&
            (sqlite3_extended_errcode(conn.raw()) & 0xff) == SQLITE_ERROR) {
          return absl::InvalidArgumentError(
              absl::StrCat("query is not valid full-text syntax: ",
                           sqlite3_errmsg(conn.raw())));
        }
        return row.status();
      }
      if (!*row) break;
      messages.push_back(ReadMessage(stmt));
    }
    return absl::OkStatus();
  }));
  return messages;
}

absl::StatusOr<std::vector<Conversation>> SqliteMessageStore::ListConversations(
    int64_t owner_id,
    const std::optional<std::pair<absl::Time, std::string>>& before,
    int limit) {
  SMSGW_RETURN_IF_ERROR(CheckLimit(limit));
  const std::string sql = absl::StrCat(
      "SELECT c.conversation_id, c.peer_number, c.our_number,"
      " c.message_count, c.update_time, ",
      kMessageColumns,
      " FROM conversations c"
      " LEFT JOIN messages m ON m.seq = c.last_message_seq"
      " LEFT JOIN users u ON u.id = m.owner_id"
      " WHERE c.owner_id = ?1",
      before.has_value() ? " AND (c.update_time < ?3 OR"
                           " (c.update_time = ?3 AND c.conversation_id < ?4))"
                         : "",
      " ORDER BY c.update_time DESC, c.conversation_id DESC LIMIT ?2");
  std::vector<Conversation> conversations;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql));
    stmt.Bind(1, owner_id).Bind(2, limit);
    if (before.has_value()) stmt.Bind(3, before->first).Bind(4, before->second);
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      Conversation c;
      c.id = stmt.Text(0);
      c.peer_number = stmt.Text(1);
      c.our_number = stmt.Text(2);
      c.message_count = stmt.Int(3);
      c.update_time = stmt.Time(4);
      if (!stmt.IsNull(5)) c.last_message = ReadMessage(stmt, 5);
      conversations.push_back(std::move(c));
    }
    return absl::OkStatus();
  }));
  return conversations;
}

absl::Status SqliteMessageStore::Delete(absl::string_view id) {
  const absl::Time now = clock_->Now();
  return Write([&](Connection& conn) -> absl::Status {
    int64_t seq = 0;
    std::optional<int64_t> owner_id;
    std::string conversation_id;
    {
      SMSGW_ASSIGN_OR_RETURN(
          Statement stmt,
          conn.Prepare("SELECT seq, owner_id, conversation_id FROM messages"
                       " WHERE id = ?"));
      stmt.Bind(1, id);
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row)
        return absl::NotFoundError(absl::StrCat("no message with id ", id));
      seq = stmt.Int(0);
      owner_id = stmt.OptInt(1);
      conversation_id = stmt.Text(2);
    }
    SMSGW_RETURN_IF_ERROR(AppendFeed(conn, owner_id.value_or(0), id,
                                     FeedEventType::kDeleted, now));
    {
      // Reports go by ON DELETE CASCADE, the FTS row by trigger.
      SMSGW_ASSIGN_OR_RETURN(
          Statement stmt, conn.Prepare("DELETE FROM messages WHERE seq = ?"));
      SMSGW_RETURN_IF_ERROR(stmt.Bind(1, seq).Run());
    }
    if (owner_id.has_value() && !conversation_id.empty()) {
      SMSGW_RETURN_IF_ERROR(
          RefreshConversation(conn, *owner_id, conversation_id));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> SqliteMessageStore::DeleteAll(
    int64_t owner_id, const std::optional<std::string>& conversation_id) {
  const absl::Time now = clock_->Now();
  const std::string where =
      conversation_id.has_value()
          ? " WHERE owner_id = ?1 AND conversation_id = ?2"
          : " WHERE owner_id = ?1";
  int64_t deleted = 0;
  SMSGW_RETURN_IF_ERROR(Write([&](Connection& conn) -> absl::Status {
    {
      SMSGW_ASSIGN_OR_RETURN(
          Statement stmt,
          conn.Prepare(absl::StrCat(
              "INSERT INTO message_feed(owner_id, message_id, type,"
              " event_time, conversation_id, status)"
              " SELECT owner_id, id, ?3, ?4, conversation_id, status"
              " FROM messages",
              where, " ORDER BY seq")));
      stmt.Bind(1, owner_id)
          .Bind(3, static_cast<int>(FeedEventType::kDeleted))
          .Bind(4, now);
      if (conversation_id.has_value()) stmt.Bind(2, *conversation_id);
      SMSGW_RETURN_IF_ERROR(stmt.Run());
      if (conn.Changes() > 0) NoteFeedOwner(owner_id);
    }
    {
      SMSGW_ASSIGN_OR_RETURN(
          Statement stmt,
          conn.Prepare(absl::StrCat("DELETE FROM messages", where)));
      stmt.Bind(1, owner_id);
      if (conversation_id.has_value()) stmt.Bind(2, *conversation_id);
      SMSGW_RETURN_IF_ERROR(stmt.Run());
      deleted = conn.Changes();
    }
    // Every message of the owner (or of that conversation) is gone, so its
    // conversations are empty.
    SMSGW_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(absl::StrCat(
                                               "DELETE FROM conversations",
                                               conversation_id.has_value()
                                                   ? " WHERE owner_id = ?1 AND"
                                                     " conversation_id = ?2"
                                                   : " WHERE owner_id = ?1")));
    stmt.Bind(1, owner_id);
    if (conversation_id.has_value()) stmt.Bind(2, *conversation_id);
    return stmt.Run();
  }));
  return deleted;
}

absl::StatusOr<std::vector<Message>> SqliteMessageStore::ListUndispatched(
    int limit) {
  SMSGW_RETURN_IF_ERROR(CheckLimit(limit));
  std::vector<Message> messages;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(SelectMessagesSql(
            "WHERE m.direction = ? AND m.status = ? ORDER BY m.seq LIMIT ?")));
    stmt.Bind(1, static_cast<int>(Direction::kOutbound))
        .Bind(2, static_cast<int>(MessageStatus::kPending))
        .Bind(3, limit);
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      messages.push_back(ReadMessage(stmt));
    }
    return absl::OkStatus();
  }));
  return messages;
}

absl::StatusOr<bool> SqliteMessageStore::IsOptedOut(
    absl::string_view peer, absl::string_view our_number) {
  bool opted_out = false;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT 1 FROM opt_outs WHERE peer_number = ? AND"
                     " our_number = ?"));
    stmt.Bind(1, peer).Bind(2, our_number);
    SMSGW_ASSIGN_OR_RETURN(opted_out, stmt.Step());
    return absl::OkStatus();
  }));
  return opted_out;
}

// --- Stats ---

absl::StatusOr<MessageStats> SqliteMessageStore::Stats(int64_t owner_id,
                                                       absl::Time start,
                                                       absl::Time end) {
  if (start > end) {
    return absl::InvalidArgumentError("stats: start is after end");
  }
  // One statement, one snapshot: no figure can see a status change that
  // another one missed.
  constexpr char kSql[] =
      "SELECT strftime('%Y-%m-%d', create_time / 1000000, 'unixepoch') AS day,"
      " status, direction, price_unit, COUNT(*), SUM(num_segments),"
      " COUNT(NULLIF(price, '')),"
      " SUM(CASE WHEN price <> '' THEN"
      "   CAST(ROUND(CAST(price AS REAL) * 1000000) AS INTEGER) ELSE 0 END)"
      " FROM messages"
      " WHERE owner_id = ?1 AND create_time >= ?2 AND create_time < ?3"
      " GROUP BY day, status, direction, price_unit"
      " ORDER BY day";
  MessageStats stats;
  std::map<int, int64_t> totals;           // status -> count
  std::map<int, int64_t> outbound_totals;  // status -> count
  std::map<int, int64_t> day_totals;       // of the current day
  std::map<std::string, PriceSum> prices;  // unit -> sum
  auto close_day = [&] {
    if (stats.days.empty()) return;
    for (const auto& [status, count] : day_totals) {
      stats.days.back().status_counts.push_back(
          {static_cast<MessageStatus>(status), count});
    }
    day_totals.clear();
  };
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(kSql));
    stmt.Bind(1, owner_id).Bind(2, start).Bind(3, end);
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      const std::string day = stmt.Text(0);
      const int status = static_cast<int>(stmt.Int(1));
      const auto direction = static_cast<Direction>(stmt.Int(2));
      const int64_t count = stmt.Int(4);
      const int64_t segments = stmt.Int(5);
      const int64_t priced = stmt.Int(6);
      if (stats.days.empty() || stats.days.back().date != day) {
        close_day();
        stats.days.emplace_back().date = day;
      }
      DailyMessageStats& today = stats.days.back();
      day_totals[status] += count;
      totals[status] += count;
      if (direction == Direction::kOutbound) {
        outbound_totals[status] += count;
        today.outbound_count += count;
        today.total_segments += segments;
        stats.outbound_count += count;
        stats.total_segments += segments;
      } else if (direction == Direction::kInbound) {
        today.inbound_count += count;
        stats.inbound_count += count;
      }
      if (priced > 0) {
        const std::string unit = stmt.Text(3);
        PriceSum& sum = prices[unit];
        sum.unit = unit;
        sum.micros += stmt.Int(7);
        sum.priced_count += priced;
      }
    }
    return absl::OkStatus();
  }));
  close_day();
  for (const auto& [status, count] : totals) {
    stats.status_counts.push_back({static_cast<MessageStatus>(status), count});
  }
  for (const auto& [status, count] : outbound_totals) {
    stats.outbound_status_counts.push_back(
        {static_cast<MessageStatus>(status), count});
  }
  for (auto& [unit, sum] : prices) stats.prices.push_back(std::move(sum));
  // std::map gave unit order; a stable sort keeps it among equal counts.
  std::stable_sort(stats.prices.begin(), stats.prices.end(),
                   [](const PriceSum& a, const PriceSum& b) {
                     return a.priced_count > b.priced_count;
                   });
  return stats;
}

// --- Watch feed ---

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
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT seq FROM sqlite_sequence"
                     " WHERE name = 'message_feed'"));
    SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) feed_cursor = stmt.Int(0);
    return absl::OkStatus();
  }));
  if (owners.empty()) return absl::OkStatus();
  std::sort(owners.begin(), owners.end());
  owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
  FeedListener listener;
  {
    absl::MutexLock lock(&listener_mu_);
    listener = listener_;
  }
  if (listener) listener(feed_cursor, owners);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<FeedEvent>> SqliteMessageStore::ListFeed(
    int64_t owner_id, int64_t after_cursor, int limit) {
  SMSGW_RETURN_IF_ERROR(CheckLimit(limit));
  std::vector<FeedEvent> events;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(absl::StrCat(
            "SELECT f.cursor, f.owner_id, f.message_id, f.type, f.event_time,"
            " f.conversation_id, f.status, ",
            kMessageColumns,
            " FROM message_feed f LEFT JOIN messages m ON m.id = f.message_id"
            " LEFT JOIN users u ON u.id = m.owner_id"
            " WHERE f.owner_id = ? AND f.cursor > ? ORDER BY f.cursor"
            " LIMIT ?")));
    stmt.Bind(1, owner_id).Bind(2, after_cursor).Bind(3, limit);
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      FeedEvent e;
      e.cursor = stmt.Int(0);
      e.owner_id = stmt.Int(1);
      e.message_id = stmt.Text(2);
      e.type = static_cast<FeedEventType>(stmt.Int(3));
      e.event_time = stmt.Time(4);
      e.conversation_id = stmt.Text(5);
      e.status = static_cast<MessageStatus>(stmt.Int(6));
      if (!stmt.IsNull(7)) e.message = ReadMessage(stmt, 7);  // m.seq
      events.push_back(std::move(e));
    }
    return absl::OkStatus();
  }));
  return events;
}

absl::StatusOr<int64_t> SqliteMessageStore::LatestFeedCursor() {
  int64_t cursor = 0;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT seq FROM sqlite_sequence"
                     " WHERE name = 'message_feed'"));
    SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) cursor = stmt.Int(0);
    return absl::OkStatus();
  }));
  return cursor;
}

absl::StatusOr<MessageStore::FeedCounts> SqliteMessageStore::CountFeedSince(
    int64_t after_cursor) {
  FeedCounts result;
  result.latest_cursor = after_cursor;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    // One snapshot for the counts and the cursor they reach.
    SMSGW_RETURN_IF_ERROR(conn.Exec("BEGIN"));
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT type, status, COUNT(*), MAX(cursor)"
                     " FROM message_feed WHERE cursor > ?"
                     " GROUP BY type, status"));
    stmt.Bind(1, after_cursor);
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      result.counts[{static_cast<FeedEventType>(stmt.Int(0)),
                     static_cast<MessageStatus>(stmt.Int(1))}] = stmt.Int(2);
      result.latest_cursor = std::max(result.latest_cursor, stmt.Int(3));
    }
    return conn.Exec("COMMIT");
  }));
  return result;
}

void SqliteMessageStore::SetFeedListener(FeedListener listener) {
  absl::MutexLock lock(&listener_mu_);
  listener_ = std::move(listener);
}


// --- Scheduled sends and backlog ---

namespace {

const char* LifecycleName(MessageStatus status) {
  switch (status) {
    case MessageStatus::kPending: return "PENDING";
    case MessageStatus::kScheduled: return "SCHEDULED";
    case MessageStatus::kQueued: return "QUEUED";
    case MessageStatus::kSending: return "SENDING";
    case MessageStatus::kSent: return "SENT";
    case MessageStatus::kDelivered: return "DELIVERED";
    case MessageStatus::kUndelivered: return "UNDELIVERED";
    case MessageStatus::kFailed: return "FAILED";
    case MessageStatus::kCanceled: return "CANCELED";
    case MessageStatus::kReceived: return "RECEIVED";
    case MessageStatus::kExpired: return "EXPIRED";
    default: return "UNSPECIFIED";
  }
}

// Moves `id` from SCHEDULED to `to` with a conditional UPDATE, and on success
// records a LOCAL report and a STATUS_CHANGED feed event. Returns whether
// the row was SCHEDULED (false: nothing written).
absl::StatusOr<bool> LeaveScheduled(Connection& conn, const Message& message,
                                    MessageStatus to, absl::Time now,
                                    absl::string_view note) {
  {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("UPDATE messages SET status = ?, next_attempt_time = ?,"
                     " update_time = MAX(update_time, ?)"
                     " WHERE seq = ? AND status = ?"));
    stmt.Bind(1, static_cast<int>(to));
    if (to == MessageStatus::kPending) {
      stmt.Bind(2, now);
    } else {
      stmt.BindNull(2);
    }
    SMSGW_RETURN_IF_ERROR(stmt.Bind(3, now)
                              .Bind(4, message.seq)
                              .Bind(5, static_cast<int>(MessageStatus::kScheduled))
                              .Run());
  }
  if (conn.Changes() == 0) return false;
  StatusUpdate report;
  report.status = to;
  report.error_message = std::string(note);
  report.source = ReportSource::kLocal;
  report.event_time = now;
  SMSGW_RETURN_IF_ERROR(InsertReport(conn, message.seq, "", to, report,
                                     ReportSource::kLocal, /*applied=*/true));
  SMSGW_RETURN_IF_ERROR(AppendFeed(conn, message.owner_id, message.id,
                                   FeedEventType::kStatusChanged, now));
  return true;
}

}  // namespace

absl::StatusOr<std::vector<Message>> SqliteMessageStore::ListDueScheduled(
    absl::Time now, int limit) {
  SMSGW_RETURN_IF_ERROR(CheckLimit(limit));
  std::vector<Message> messages;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(SelectMessagesSql(
            "WHERE m.status = ? AND m.next_attempt_time <= ? AND"
            " m.direction = ? ORDER BY m.next_attempt_time, m.seq LIMIT ?")));
    stmt.Bind(1, static_cast<int>(MessageStatus::kScheduled))
        .Bind(2, now)
        .Bind(3, static_cast<int>(Direction::kOutbound))
        .Bind(4, limit);
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      messages.push_back(ReadMessage(stmt));
    }
    return absl::OkStatus();
  }));
  return messages;
}

absl::StatusOr<std::optional<Message>> SqliteMessageStore::ReleaseScheduled(
    absl::string_view id, absl::Time now) {
  std::optional<Message> released;
  SMSGW_RETURN_IF_ERROR(Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(Message message, MustLoadMessage(conn, id));
    SMSGW_ASSIGN_OR_RETURN(
        bool moved, LeaveScheduled(conn, message, MessageStatus::kPending, now,
                                   "scheduled time reached"));
    if (moved) {
      SMSGW_ASSIGN_OR_RETURN(released, MustLoadMessage(conn, id));
    }
    return absl::OkStatus();
  }));
  return released;
}

absl::StatusOr<Message> SqliteMessageStore::CancelScheduled(
    absl::string_view id, absl::Time now) {
  Message result;
  SMSGW_RETURN_IF_ERROR(Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(Message message, MustLoadMessage(conn, id));
    SMSGW_ASSIGN_OR_RETURN(
        bool moved, LeaveScheduled(conn, message, MessageStatus::kCanceled, now,
                                   "canceled before its scheduled time"));
    if (!moved) {
      return absl::FailedPreconditionError(absl::StrCat(
          "message ", id, " is ", LifecycleName(message.status),
          ", not SCHEDULED: only a scheduled message that has not been handed "
          "to the provider can be canceled"));
    }
    SMSGW_ASSIGN_OR_RETURN(result, MustLoadMessage(conn, id));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<int64_t> SqliteMessageStore::PendingSegments(
    absl::string_view our_number) {
  int64_t segments = 0;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        // Literal status and direction: they select the partial index
        // messages_pending_sender (migration 4), which a bound parameter
        // would not.
        conn.Prepare("SELECT COALESCE(SUM(MAX(num_segments, 1)), 0)"
                     " FROM messages WHERE status = 1 AND direction = 1"
                     " AND our_number = ?"));
    static_assert(static_cast<int>(MessageStatus::kPending) == 1);
    static_assert(static_cast<int>(Direction::kOutbound) == 1);
    stmt.Bind(1, our_number);
    SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) segments = stmt.Int(0);
    return absl::OkStatus();
  }));
  return segments;
}

// --- Status checks ---

absl::StatusOr<std::vector<StatusCheck>>
SqliteMessageStore::ListDueStatusChecks(absl::Time now,
                                        absl::Duration first_check_after,
                                        int limit) {
  SMSGW_RETURN_IF_ERROR(CheckLimit(limit));
  if (first_check_after < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "first status check delay must not be negative");
  }
  static_assert(static_cast<int>(MessageStatus::kQueued) == 3);
  static_assert(static_cast<int>(MessageStatus::kSending) == 4);
  static_assert(static_cast<int>(MessageStatus::kSent) == 5);
  static_assert(static_cast<int>(Direction::kOutbound) == 1);
  // Literal values, and the index's WHERE repeated word for word: SQLite
  // uses the partial index messages_status_check (migration 6) only then.
  constexpr char kColumns[] =
      "SELECT id, provider_sid, status, COALESCE(send_time, create_time),"
      " status_checks, ";
  constexpr char kIndexed[] =
      " FROM messages WHERE direction = 1 AND status IN (3, 4, 5) AND"
      " provider_sid IS NOT NULL AND"
      " (next_status_check_time IS NOT NULL OR status_checks = 0) AND ";
  const std::string never_checked = absl::StrCat(
      kColumns, "send_time + ?3", kIndexed,
      "next_status_check_time IS NULL AND status_checks = 0 AND"
      " send_time <= ?1 ORDER BY next_status_check_time, send_time LIMIT ?2");
  const std::string scheduled = absl::StrCat(
      kColumns, "next_status_check_time", kIndexed,
      "next_status_check_time <= ?1 ORDER BY next_status_check_time LIMIT ?2");
  std::vector<StatusCheck> due;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    due.clear();
    // Reads `sql`, whose ?1 is the latest due instant it lists.
    auto read = [&](const std::string& sql, absl::Time latest,
                    bool never) -> absl::Status {
      SMSGW_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(sql));
      stmt.Bind(1, latest).Bind(2, limit);
      if (never) stmt.Bind(3, absl::ToInt64Microseconds(first_check_after));
      while (true) {
        SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) return absl::OkStatus();
        StatusCheck check;
        check.message_id = stmt.Text(0);
        check.provider_sid = stmt.Text(1);
        check.status = static_cast<MessageStatus>(stmt.Int(2));
        check.accepted_time = stmt.Time(3);
        check.checks = static_cast<int>(stmt.Int(4));
        check.due_time = stmt.Time(5);
        due.push_back(std::move(check));
      }
    };
    // One snapshot: a check recorded between the two reads cannot make a
    // message show in neither or both.
    SMSGW_RETURN_IF_ERROR(conn.Exec("BEGIN"));
    SMSGW_RETURN_IF_ERROR(
        read(never_checked, now - first_check_after, /*never=*/true));
    SMSGW_RETURN_IF_ERROR(read(scheduled, now, /*never=*/false));
    return conn.Exec("COMMIT");
  }));
  std::stable_sort(due.begin(), due.end(),
                   [](const StatusCheck& a, const StatusCheck& b) {
                     return a.due_time < b.due_time;
                   });
  if (due.size() > static_cast<size_t>(limit)) due.resize(limit);
  return due;
}

absl::Status SqliteMessageStore::RecordStatusCheck(
    absl::string_view id, std::optional<absl::Time> next_check_time) {
  return Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("UPDATE messages SET status_checks = status_checks + 1,"
                     " next_status_check_time = ? WHERE id = ?"));
    SMSGW_RETURN_IF_ERROR(stmt.Bind(1, next_check_time).Bind(2, id).Run());
    if (conn.Changes() == 0) {
      return absl::NotFoundError(absl::StrCat("no message with id ", id));
    }
    return absl::OkStatus();
  });
}

}  // namespace smsgw::storage::sqlite

// File: sqlite_message_store_history.cc
//
// SqliteMessageStore's history: one message, its reports, List (filters,
// full-text search, seq paging), conversations (update_time paging) and
// deletes.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "storage/search_query.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_message_store_internal.h"

namespace smsgw::storage::sqlite {

using message_store_internal::AppendFeed;
using message_store_internal::CheckLimit;
using message_store_internal::kMessageColumns;
using message_store_internal::LoadMessageById;
using message_store_internal::NoteFeedOwner;
using message_store_internal::ReadMessage;
using message_store_internal::SelectMessagesSql;

namespace {

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

// The FTS5 expression for `query` (already checked by ParseSearchQuery):
// `owner:"<id>" AND body:(<query>)` for a user's search, `body:(<query>)`
// otherwise. Unrouted messages have no owner token, so they take the
// second form with the caller's other filters.
std::string SearchIndexMatch(std::optional<int64_t> owner_id,
                             absl::string_view query) {
  if (!owner_id.has_value()) return absl::StrCat("body:(", query, ")");
  return absl::StrCat("owner:\"", *owner_id, "\" AND body:(", query, ")");
}

}  // namespace

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
    SMSGW_ASSIGN_OR_RETURN(int64_t mask, common::StatusMask(query.statuses));
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
    // The portable syntax (search_query.h) first, so that both engines
    // accept and refuse the same queries; FTS5 then reads it as written.
    SMSGW_RETURN_IF_ERROR(ParseSearchQuery(query.fts_query).status());
    where.push_back(
        "m.seq IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)");
    // The caller's words are confined to the body column (the portable
    // syntax has no column filters, so they cannot leave the parentheses),
    // and a user's search names its owner so that FTS5 returns that user's
    // matches only instead of every user's (migration 12).
    args.push_back(SearchIndexMatch(
        query.unrouted ? std::nullopt : query.owner_id, query.fts_query));
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

}  // namespace smsgw::storage::sqlite

// File: pg_message_store_reads.cc
//
// PgMessageStore's history (one message, its reports, List with search,
// conversations, deletes), the watch feed's reads and Stats; and the
// helpers of pg_message_store_internal.h.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "storage/message_store_common.h"
#include "storage/postgres/pg_message_store.h"
#include "storage/postgres/pg_message_store_internal.h"
#include "storage/search_query.h"

namespace smsgw::storage::postgres {

namespace pg_message_internal {

std::string SelectMessagesSql(absl::string_view where_and_order) {
  return absl::StrCat("SELECT ", common::kMessageColumns, common::kMessageFrom,
                      " ", where_and_order);
}

absl::StatusOr<std::optional<Message>> LoadMessage(PgConnection& c,
                                                   absl::string_view id,
                                                   bool lock) {
  SMSGW_ASSIGN_OR_RETURN(
      PgResult r,
      c.Execute(SelectMessagesSql(lock ? "WHERE m.id = $1 FOR UPDATE OF m"
                                       : "WHERE m.id = $1"),
                Params{std::string(id)}));
  if (r.rows() == 0) return std::optional<Message>();
  return std::optional<Message>(common::ReadMessageRow(PgRow{r, 0}));
}

absl::StatusOr<Message> MustLoadMessage(PgConnection& c, absl::string_view id,
                                        bool lock) {
  SMSGW_ASSIGN_OR_RETURN(std::optional<Message> m, LoadMessage(c, id, lock));
  if (!m.has_value()) {
    return absl::NotFoundError(absl::StrCat("no message with id ", id));
  }
  return *std::move(m);
}

absl::StatusOr<std::vector<Message>> ListMessages(PgPool& pool,
                                                  const std::string& sql,
                                                  const Params& params) {
  std::vector<Message> out;
  SMSGW_RETURN_IF_ERROR(
      pool.WithConnection([&](PgConnection& c) -> absl::Status {
        SMSGW_ASSIGN_OR_RETURN(PgResult r, c.Execute(sql, params));
        for (int i = 0; i < r.rows(); ++i) {
          out.push_back(common::ReadMessageRow(PgRow{r, i}));
        }
        return absl::OkStatus();
      }));
  return out;
}

}  // namespace pg_message_internal

using pg_message_internal::LoadMessage;
using pg_message_internal::Params;
using pg_message_internal::PgRow;
using pg_message_internal::SelectMessagesSql;

namespace {

// A tsquery expression for `node`, its texts appended to `params` ($n).
// Words and phrases are folded by smsgw_fold(), as body_tsv is, and split
// by phraseto_tsquery (a word the tokenizer splits, "e-mail" say, becomes
// the phrase of its parts, as in FTS5); a prefix is its folded word with :*.
std::string RenderTsquery(const SearchNode& node, Params& params) {
  auto param = [&](const std::string& text) {
    params.push_back(text);
    return absl::StrCat("$", params.size());
  };
  switch (node.kind) {
    case SearchNode::Kind::kWord:
    case SearchNode::Kind::kPhrase:
      return absl::StrCat("phraseto_tsquery('simple', smsgw_fold(",
                          param(node.text), "::text))");
    case SearchNode::Kind::kPrefix:
      return absl::StrCat("to_tsquery('simple', quote_literal(smsgw_fold(",
                          param(node.text), "::text)) || ':*')");
    case SearchNode::Kind::kAnd:
    case SearchNode::Kind::kOr: {
      std::vector<std::string> parts;
      for (const auto& child : node.children) {
        parts.push_back(RenderTsquery(*child, params));
      }
      return absl::StrCat(
          "(",
          absl::StrJoin(parts,
                        node.kind == SearchNode::Kind::kAnd ? " && " : " || "),
          ")");
    }
    case SearchNode::Kind::kNot:
      return absl::StrCat("(", RenderTsquery(*node.children[0], params),
                          " && !!", RenderTsquery(*node.children[1], params),
                          ")");
  }
  return "''::tsquery";
}

// Recomputes a conversation after deletions (SQLite's RefreshConversation):
// count, last message and update_time; an emptied conversation goes.
absl::Status RefreshConversation(PgConnection& c, int64_t owner_id,
                                 absl::string_view conversation_id) {
  SMSGW_RETURN_IF_ERROR(
      c.Execute("UPDATE conversations SET"
                " message_count = (SELECT COUNT(*) FROM messages"
                "   WHERE owner_id = $1 AND conversation_id = $2),"
                " last_message_seq = (SELECT MAX(seq) FROM messages"
                "   WHERE owner_id = $1 AND conversation_id = $2),"
                " update_time = COALESCE((SELECT create_time FROM messages"
                "   WHERE owner_id = $1 AND conversation_id = $2"
                "   ORDER BY seq DESC LIMIT 1), update_time)"
                " WHERE owner_id = $1 AND conversation_id = $2",
                Params{PgInt(owner_id), std::string(conversation_id)})
          .status());
  return c
      .Execute(
          "DELETE FROM conversations WHERE owner_id = $1 AND"
          " conversation_id = $2 AND message_count = 0",
          Params{PgInt(owner_id), std::string(conversation_id)})
      .status();
}

}  // namespace

absl::StatusOr<Message> PgMessageStore::Get(absl::string_view id) {
  std::optional<Message> found;
  SMSGW_RETURN_IF_ERROR(
      pool_->WithConnection([&](PgConnection& c) -> absl::Status {
        SMSGW_ASSIGN_OR_RETURN(found, LoadMessage(c, id, /*lock=*/false));
        return absl::OkStatus();
      }));
  if (!found.has_value()) {
    return absl::NotFoundError(absl::StrCat("no message with id ", id));
  }
  return *std::move(found);
}

absl::StatusOr<std::vector<DeliveryReport>> PgMessageStore::ListReports(
    absl::string_view id) {
  bool message_found = false;
  std::vector<DeliveryReport> reports;
  SMSGW_RETURN_IF_ERROR(
      pool_->WithConnection([&](PgConnection& c) -> absl::Status {
        // One statement: the message check and its reports are one snapshot.
        SMSGW_ASSIGN_OR_RETURN(
            PgResult r,
            c.Execute("SELECT e.id, e.status, e.provider_status, e.error_code,"
                      " e.error_message, e.raw_dlr_done_date, e.source,"
                      " e.applied, e.http_status, e.event_time"
                      " FROM messages m LEFT JOIN message_events e"
                      " ON e.message_seq = m.seq WHERE m.id = $1 ORDER BY e.id",
                      Params{std::string(id)}));
        for (int i = 0; i < r.rows(); ++i) {
          message_found = true;
          if (r.IsNull(i, 0)) continue;  // a message without reports
          DeliveryReport d;
          d.id = r.Int(i, 0);
          d.status = static_cast<MessageStatus>(r.Int(i, 1));
          d.provider_status = r.Text(i, 2);
          if (!r.IsNull(i, 3)) d.error_code = static_cast<int>(r.Int(i, 3));
          d.error_message = r.Text(i, 4);
          d.raw_dlr_done_date = r.Text(i, 5);
          d.source = static_cast<ReportSource>(r.Int(i, 6));
          d.applied = r.Bool(i, 7);
          d.http_status = static_cast<int>(r.Int(i, 8));
          d.event_time = r.Time(i, 9);
          reports.push_back(std::move(d));
        }
        return absl::OkStatus();
      }));
  if (!message_found) {
    return absl::NotFoundError(absl::StrCat("no message with id ", id));
  }
  return reports;
}

absl::StatusOr<std::vector<Message>> PgMessageStore::List(
    const MessageQuery& query) {
  if (query.owner_id.has_value() && query.unrouted) {
    return absl::InvalidArgumentError(
        "a message query needs at most one of owner_id and unrouted");
  }
  SMSGW_RETURN_IF_ERROR(common::CheckLimit(query.limit));
  // Fixed fragments only; every value is a parameter, numbered as pushed.
  std::vector<std::string> where;
  Params params;
  auto param = [&](std::string value) {
    params.push_back(std::move(value));
    return absl::StrCat("$", params.size());
  };
  if (query.unrouted) {
    where.push_back("m.owner_id IS NULL");
  } else if (query.owner_id.has_value()) {
    where.push_back(absl::StrCat("m.owner_id = ", param(PgInt(*query.owner_id))));
  } else if (!query.group_id.has_value()) {
    return absl::InvalidArgumentError(
        "a message query needs an owner, unrouted or a group");
  }
  if (!query.conversation_id.empty()) {
    where.push_back(
        absl::StrCat("m.conversation_id = ", param(query.conversation_id)));
  }
  if (!query.peer_number.empty()) {
    where.push_back(absl::StrCat("m.peer_number = ", param(query.peer_number)));
  }
  if (query.direction != Direction::kUnspecified) {
    where.push_back(absl::StrCat(
        "m.direction = ", param(PgInt(static_cast<int>(query.direction)))));
  }
  if (!query.statuses.empty()) {
    SMSGW_ASSIGN_OR_RETURN(int64_t mask, common::StatusMask(query.statuses));
    where.push_back(
        absl::StrCat("((", param(PgInt(mask)), "::bigint >> m.status) & 1) = 1"));
  }
  if (query.start_time.has_value()) {
    where.push_back(
        absl::StrCat("m.create_time >= ", param(PgTime(*query.start_time))));
  }
  if (query.end_time.has_value()) {
    where.push_back(
        absl::StrCat("m.create_time < ", param(PgTime(*query.end_time))));
  }
  if (query.group_id.has_value()) {
    where.push_back(absl::StrCat("m.group_id = ", param(PgInt(*query.group_id))));
  }
  if (query.before_seq.has_value()) {
    where.push_back(absl::StrCat("m.seq < ", param(PgInt(*query.before_seq))));
  }
  if (!query.fts_query.empty()) {
    SMSGW_ASSIGN_OR_RETURN(std::unique_ptr<SearchNode> tree,
                           ParseSearchQuery(query.fts_query));
    where.push_back(
        absl::StrCat("m.body_tsv @@ ", RenderTsquery(*tree, params)));
  }
  const std::string sql = SelectMessagesSql(
      absl::StrCat("WHERE ", absl::StrJoin(where, " AND "),
                   " ORDER BY m.seq DESC LIMIT ", param(PgInt(query.limit))));
  return pg_message_internal::ListMessages(*pool_, sql, params);
}

absl::StatusOr<std::vector<Conversation>> PgMessageStore::ListConversations(
    int64_t owner_id,
    const std::optional<std::pair<absl::Time, std::string>>& before,
    int limit) {
  SMSGW_RETURN_IF_ERROR(common::CheckLimit(limit));
  const std::string sql = absl::StrCat(
      "SELECT c.conversation_id, c.peer_number, c.our_number,"
      " c.message_count, c.update_time, ",
      common::kMessageColumns,
      " FROM conversations c"
      " LEFT JOIN messages m ON m.seq = c.last_message_seq"
      " LEFT JOIN users u ON u.id = m.owner_id"
      " WHERE c.owner_id = $1",
      before.has_value() ? " AND (c.update_time < $3 OR"
                           " (c.update_time = $3 AND c.conversation_id < $4))"
                         : "",
      " ORDER BY c.update_time DESC, c.conversation_id DESC LIMIT $2");
  Params params{PgInt(owner_id), PgInt(limit)};
  if (before.has_value()) {
    params.push_back(PgTime(before->first));
    params.push_back(before->second);
  }
  std::vector<Conversation> out;
  SMSGW_RETURN_IF_ERROR(
      pool_->WithConnection([&](PgConnection& c) -> absl::Status {
        SMSGW_ASSIGN_OR_RETURN(PgResult r, c.Execute(sql, params));
        for (int i = 0; i < r.rows(); ++i) {
          Conversation conv;
          conv.id = r.Text(i, 0);
          conv.peer_number = r.Text(i, 1);
          conv.our_number = r.Text(i, 2);
          conv.message_count = r.Int(i, 3);
          conv.update_time = r.Time(i, 4);
          if (!r.IsNull(i, 5)) {
            conv.last_message = common::ReadMessageRow(PgRow{r, i}, 5);
          }
          out.push_back(std::move(conv));
        }
        return absl::OkStatus();
      }));
  return out;
}

absl::Status PgMessageStore::Delete(absl::string_view id) {
  const absl::Time now = clock_->Now();
  return Write([&](PgConnection& c) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult row,
        c.Execute("SELECT seq, owner_id, conversation_id FROM messages"
                  " WHERE id = $1 FOR UPDATE",
                  Params{std::string(id)}));
    if (row.rows() == 0) {
      return absl::NotFoundError(absl::StrCat("no message with id ", id));
    }
    const int64_t seq = row.Int(0, 0);
    const bool owned = !row.IsNull(0, 1);
    const int64_t owner_id = row.Int(0, 1);
    const std::string conversation_id = row.Text(0, 2);
    // The event copies the row's conversation and status: before the DELETE.
    SMSGW_RETURN_IF_ERROR(
        c.Execute(
             "INSERT INTO feed_outbox(owner_id, message_id, type,"
             " event_time, conversation_id, status) SELECT"
             " COALESCE(owner_id, 0), id, $2, $3, conversation_id, status"
             " FROM messages WHERE seq = $1",
             Params{PgInt(seq), PgInt(static_cast<int>(FeedEventType::kDeleted)),
                    PgTime(now)})
            .status());
    pg_message_internal::NoteFeedAppended();
    // Reports go by ON DELETE CASCADE; body_tsv is the row's own column.
    SMSGW_RETURN_IF_ERROR(
        c.Execute("DELETE FROM messages WHERE seq = $1", Params{PgInt(seq)})
            .status());
    if (owned && !conversation_id.empty()) {
      SMSGW_RETURN_IF_ERROR(RefreshConversation(c, owner_id, conversation_id));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> PgMessageStore::DeleteAll(
    int64_t owner_id, const std::optional<std::string>& conversation_id) {
  const absl::Time now = clock_->Now();
  const std::string where =
      conversation_id.has_value()
          ? " WHERE owner_id = $1 AND conversation_id = $4"
          : " WHERE owner_id = $1";
  int64_t deleted = 0;
  SMSGW_RETURN_IF_ERROR(Write([&](PgConnection& c) -> absl::Status {
    Params params{PgInt(owner_id), PgInt(static_cast<int>(FeedEventType::kDeleted)),
                  PgTime(now)};
    if (conversation_id.has_value()) params.push_back(*conversation_id);
    // One statement, one snapshot: the rows deleted are the rows announced,
    // even with a send committing meanwhile.
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute(absl::StrCat(
                      "WITH d AS (DELETE FROM messages", where,
                      " RETURNING seq, id, conversation_id, status),"
                      " f AS (INSERT INTO feed_outbox(owner_id, message_id,"
                      " type, event_time, conversation_id, status)"
                      " SELECT $1, id, $2, $3, conversation_id, status FROM d"
                      " ORDER BY seq RETURNING 1)"
                      " SELECT (SELECT COUNT(*) FROM d)"),
                  params));
    deleted = r.rows() > 0 ? r.Int(0, 0) : 0;
    if (deleted > 0) pg_message_internal::NoteFeedAppended();
    Params conv{PgInt(owner_id)};
    if (conversation_id.has_value()) conv.push_back(*conversation_id);
    return c
        .Execute(conversation_id.has_value()
                     ? "DELETE FROM conversations WHERE owner_id = $1 AND"
                       " conversation_id = $2"
                     : "DELETE FROM conversations WHERE owner_id = $1",
                 conv)
        .status();
  }));
  return deleted;
}

// --- Watch feed ---

absl::StatusOr<std::vector<FeedEvent>> PgMessageStore::ListFeed(
    int64_t owner_id, int64_t after_cursor, int limit) {
  SMSGW_RETURN_IF_ERROR(common::CheckLimit(limit));
  std::vector<FeedEvent> events;
  SMSGW_RETURN_IF_ERROR(
      pool_->WithConnection([&](PgConnection& c) -> absl::Status {
        SMSGW_ASSIGN_OR_RETURN(
            PgResult r,
            c.Execute(absl::StrCat(
                          "SELECT f.cursor, f.owner_id, f.message_id, f.type,"
                          " f.event_time, f.conversation_id, f.status, ",
                          common::kMessageColumns,
                          " FROM message_feed f LEFT JOIN messages m"
                          " ON m.id = f.message_id LEFT JOIN users u"
                          " ON u.id = m.owner_id WHERE f.owner_id = $1"
                          " AND f.cursor > $2 ORDER BY f.cursor LIMIT $3"),
                      Params{PgInt(owner_id), PgInt(after_cursor), PgInt(limit)}));
        for (int i = 0; i < r.rows(); ++i) {
          FeedEvent e;
          e.cursor = r.Int(i, 0);
          e.owner_id = r.Int(i, 1);
          e.message_id = r.Text(i, 2);
          e.type = static_cast<FeedEventType>(r.Int(i, 3));
          e.event_time = r.Time(i, 4);
          e.conversation_id = r.Text(i, 5);
          e.status = static_cast<MessageStatus>(r.Int(i, 6));
          if (!r.IsNull(i, 7))
            e.message = common::ReadMessageRow(PgRow{r, i}, 7);
          events.push_back(std::move(e));
        }
        return absl::OkStatus();
      }));
  return events;
}

absl::StatusOr<int64_t> PgMessageStore::LatestFeedCursor() {
  int64_t cursor = 0;
  SMSGW_RETURN_IF_ERROR(
      pool_->WithConnection([&](PgConnection& c) -> absl::Status {
        SMSGW_ASSIGN_OR_RETURN(PgResult r,
                               c.Execute("SELECT last_cursor FROM feed_head"));
        cursor = r.rows() > 0 ? r.Int(0, 0) : 0;
        return absl::OkStatus();
      }));
  return cursor;
}

absl::StatusOr<MessageStore::FeedCounts> PgMessageStore::CountFeedSince(
    int64_t after_cursor) {
  FeedCounts result;
  result.latest_cursor = after_cursor;
  SMSGW_RETURN_IF_ERROR(pool_->WithConnection([&](PgConnection& c)
                                                  -> absl::Status {
    // One statement: the counts and the cursor they reach agree.
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute("SELECT type, status, COUNT(*), MAX(cursor)"
                  " FROM message_feed WHERE cursor > $1 GROUP BY type, status",
                  Params{PgInt(after_cursor)}));
    for (int i = 0; i < r.rows(); ++i) {
      result.counts[{static_cast<FeedEventType>(r.Int(i, 0)),
                     static_cast<MessageStatus>(r.Int(i, 1))}] = r.Int(i, 2);
      result.latest_cursor = std::max(result.latest_cursor, r.Int(i, 3));
    }
    return absl::OkStatus();
  }));
  return result;
}

// --- Stats ---

absl::StatusOr<MessageStats> PgMessageStore::Stats(int64_t owner_id,
                                                   absl::Time start,
                                                   absl::Time end) {
  if (start > end) {
    return absl::InvalidArgumentError("stats: start is after end");
  }
  // One statement, one snapshot. Days by integer arithmetic on the µs
  // (UTC); a price that is a decimal number counts its exact micro-units
  // (numeric, not floating point), anything else as 0, as SQLite's CAST.
  constexpr char kSql[] =
      "SELECT to_char(date '1970-01-01' +"
      "   (floor(create_time / 86400000000.0))::int, 'YYYY-MM-DD') AS day,"
      " status, direction, price_unit, COUNT(*), SUM(num_segments),"
      " COUNT(NULLIF(price, '')),"
      " SUM(CASE WHEN price ~ '^\\s*[-+]?[0-9]*\\.?[0-9]+\\s*$' THEN"
      "   round(price::numeric * 1000000)::bigint ELSE 0 END)"
      " FROM messages"
      " WHERE owner_id = $1 AND create_time >= $2 AND create_time < $3"
      " GROUP BY day, status, direction, price_unit ORDER BY day";
  common::StatsBuilder stats;
  SMSGW_RETURN_IF_ERROR(
      pool_->WithConnection([&](PgConnection& c) -> absl::Status {
        SMSGW_ASSIGN_OR_RETURN(
            PgResult r,
            c.Execute(kSql, Params{PgInt(owner_id), PgTime(start), PgTime(end)}));
        for (int i = 0; i < r.rows(); ++i) {
          stats.Add(r.Text(i, 0), static_cast<int>(r.Int(i, 1)),
                    static_cast<Direction>(r.Int(i, 2)), r.Text(i, 3),
                    r.Int(i, 4), r.Int(i, 5), r.Int(i, 6), r.Int(i, 7));
        }
        return absl::OkStatus();
      }));
  return stats.Finish();
}

}  // namespace smsgw::storage::postgres

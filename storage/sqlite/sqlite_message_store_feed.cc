// File: sqlite_message_store_feed.cc
//
// SqliteMessageStore's reads of the watch feed, and Stats. (Feed rows are
// appended by AppendFeed(); Write() wakes the listener.)
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_message_store_internal.h"

namespace smsgw::storage::sqlite {

using message_store_internal::CheckLimit;
using message_store_internal::kMessageColumns;
using message_store_internal::LatestFeedSeq;
using message_store_internal::ReadMessage;

// --- Watch feed ---

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
    SMSGW_ASSIGN_OR_RETURN(cursor, LatestFeedSeq(conn));
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
  common::StatsBuilder stats;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(kSql));
    stmt.Bind(1, owner_id).Bind(2, start).Bind(3, end);
    while (true) {
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      stats.Add(stmt.Text(0), static_cast<int>(stmt.Int(1)),
                static_cast<Direction>(stmt.Int(2)), stmt.Text(3),
                stmt.Int(4), stmt.Int(5), stmt.Int(6), stmt.Int(7));
    }
    return absl::OkStatus();
  }));
  return stats.Finish();
}

}  // namespace smsgw::storage::sqlite

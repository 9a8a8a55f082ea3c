// File: pg_message_store_internal.h
//
// Private to PgMessageStore (pg_message_store*.cc): parameter helpers, the
// row adapter for storage/message_store_common.h's readers, and message
// loads. Not part of any contract.
#ifndef SMSGW_STORAGE_POSTGRES_PG_MESSAGE_STORE_INTERNAL_H_
#define SMSGW_STORAGE_POSTGRES_PG_MESSAGE_STORE_INTERNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/message_store.h"
#include "storage/postgres/pg_database.h"

namespace smsgw::storage::postgres::pg_message_internal {

using Params = PgParams;

inline std::optional<std::string> OptInt(std::optional<int> n) {
  if (!n.has_value()) return std::nullopt;
  return absl::StrCat(*n);
}

// One row of a PgResult with the accessors common::ReadMessageRow() wants.
struct PgRow {
  const PgResult& result;
  int row;
  int64_t Int(int c) const { return result.Int(row, c); }
  std::string Text(int c) const { return result.Text(row, c); }
  std::optional<int64_t> OptInt(int c) const {
    if (result.IsNull(row, c)) return std::nullopt;
    return result.Int(row, c);
  }
  absl::Time Time(int c) const { return result.Time(row, c); }
  std::optional<absl::Time> OptTime(int c) const {
    if (result.IsNull(row, c)) return std::nullopt;
    return result.Time(row, c);
  }
  bool IsNull(int c) const { return result.IsNull(row, c); }
};

// Tells the running PgMessageStore::Write() that its transaction appended
// feed rows (to feed_outbox), so that the feed is sequenced and the
// listeners told after the commit. AppendFeed() calls it; a statement that
// inserts outbox rows itself must too.
void NoteFeedAppended();

// "SELECT <common::kMessageColumns> FROM messages m LEFT JOIN users u ..."
// followed by `where_and_order`.
std::string SelectMessagesSql(absl::string_view where_and_order);

// The message with `id` (nullopt: none); `lock` takes its row FOR UPDATE.
absl::StatusOr<std::optional<Message>> LoadMessage(PgConnection& c,
                                                   absl::string_view id,
                                                   bool lock);

// LoadMessage(), NotFound when there is none.
absl::StatusOr<Message> MustLoadMessage(PgConnection& c, absl::string_view id,
                                        bool lock);

// The messages `sql` (a SelectMessagesSql()) selects with `params`.
absl::StatusOr<std::vector<Message>> ListMessages(PgPool& pool,
                                                  const std::string& sql,
                                                  const Params& params);

}  // namespace smsgw::storage::postgres::pg_message_internal

#endif  // SMSGW_STORAGE_POSTGRES_PG_MESSAGE_STORE_INTERNAL_H_

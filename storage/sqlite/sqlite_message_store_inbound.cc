// File: sqlite_message_store_inbound.cc
//
// SqliteMessageStore: storing inbound messages, finding the conversation an
// inbound message is routed to (DESIGN.md §6), and opt-outs.
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_message_store_internal.h"

namespace smsgw::storage::sqlite {

using message_store_internal::AppendFeed;
using message_store_internal::InsertMessageRow;
using message_store_internal::InsertReport;
using message_store_internal::MustLoadMessage;
using message_store_internal::UpsertConversation;

absl::StatusOr<CreateResult> SqliteMessageStore::InsertInbound(
    const Message& message) {
  SMSGW_RETURN_IF_ERROR(common::ValidateNewInbound(message));
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
    SMSGW_RETURN_IF_ERROR(InsertReport(conn, seq, message.provider_sid,
                                       message.status,
                                       common::InboundReport(message),
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

}  // namespace smsgw::storage::sqlite

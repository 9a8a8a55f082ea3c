// File: sqlite_message_store_outbound.cc
//
// SqliteMessageStore: creating outbound messages (single, on a free number,
// batches; the sender pool's facts) and the dispatch queue: in-flight
// markers, retries, the PENDING backlog and scheduled sends. Leaving
// SCHEDULED itself is a lifecycle rule: LeaveScheduled(), in
// sqlite_message_store_status.cc.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_message_store_internal.h"

namespace smsgw::storage::sqlite {

using message_store_internal::AppendFeed;
using message_store_internal::CheckLimit;
using common::LifecycleName;
using common::ValidateNewOutbound;
using message_store_internal::FindIdempotentOriginal;
using message_store_internal::InsertMessageRow;
using message_store_internal::InsertReport;
using message_store_internal::LeaveScheduled;
using message_store_internal::MustLoadMessage;
using message_store_internal::ReadMessage;
using message_store_internal::SelectMessagesSql;
using message_store_internal::StoreIdempotencyKey;
using message_store_internal::UpsertConversation;

namespace {

// The WHERE of the partial index messages_dispatch (migrations.cc), word for
// word: SQLite uses a partial index only for a query whose WHERE contains
// the index's own terms, and does not infer them from `status = ?`. Without
// it the dispatcher's queries scanned the whole table: on 1 M messages the
// schedule poller's ListDueScheduled took ~190 ms, every pass (issue 14).
constexpr char kDispatchIndexTerm[] = "m.status IN (1, 2)";

// The effective quota of `user_id` and its use on the day of `day_start`,
// inside the caller's transaction.
absl::StatusOr<QuotaUsage> ReadQuotaUsage(Connection& conn, int64_t user_id,
                                          int64_t default_quota,
                                          absl::Time day_start) {
  SMSGW_ASSIGN_OR_RETURN(
      Statement stmt,
      conn.Prepare("SELECT COALESCE(u.daily_segment_quota, ?),"
                   " COALESCE((SELECT segments FROM segment_usage"
                   " WHERE user_id = u.id AND day_start = ?), 0)"
                   " FROM users u WHERE u.id = ?"));
  stmt.Bind(1, default_quota).Bind(2, day_start).Bind(3, user_id);
  SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("no user with id ", user_id));
  QuotaUsage usage;
  usage.quota = stmt.Int(0);
  usage.used = stmt.Int(1);
  usage.reset_time = day_start + absl::Hours(24);
  return usage;
}

// Charges `charge` to its user's day, or ResourceExhausted naming the quota
// when it does not fit (the caller's transaction then rolls back).
absl::Status ChargeQuota(Connection& conn, const QuotaCharge& charge) {
  SMSGW_ASSIGN_OR_RETURN(QuotaUsage usage,
                         ReadQuotaUsage(conn, charge.user_id,
                                        charge.default_quota,
                                        charge.day_start));
  if (usage.quota > 0 && usage.used + charge.segments > usage.quota) {
    return QuotaExceededError(usage, charge.segments);
  }
  SMSGW_ASSIGN_OR_RETURN(
      Statement upsert,
      conn.Prepare("INSERT INTO segment_usage(user_id, day_start, segments)"
                   " VALUES (?, ?, ?) ON CONFLICT(user_id, day_start)"
                   " DO UPDATE SET segments = segments + excluded.segments"));
  return upsert.Bind(1, charge.user_id)
      .Bind(2, charge.day_start)
      .Bind(3, charge.segments)
      .Run();
}

}  // namespace

// --- Creating outbound messages ---

absl::Status SqliteMessageStore::CreateOutboundIn(
    Connection& conn, const Message& message,
    const std::optional<IdempotencyKey>& key,
    const std::optional<QuotaCharge>& charge, CreateResult* result,
    bool require_free_number) {
  if (key.has_value()) {
    SMSGW_ASSIGN_OR_RETURN(
        std::optional<Message> original,
        FindIdempotentOriginal(conn, message.owner_id, *key,
                               message.create_time));
    if (original.has_value()) {
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

  if (charge.has_value()) SMSGW_RETURN_IF_ERROR(ChargeQuota(conn, *charge));

  SMSGW_ASSIGN_OR_RETURN(
      int64_t seq,
      InsertMessageRow(conn, message,
                       key.has_value() ? key->key : message.idempotency_key,
                       common::ClaimOnCreate(message, claimant_.load())));

  if (!message.conversation_id.empty()) {
    SMSGW_RETURN_IF_ERROR(UpsertConversation(conn, message, seq));
  }

  if (key.has_value()) {
    SMSGW_RETURN_IF_ERROR(StoreIdempotencyKey(conn, message.owner_id, *key,
                                              message.id,
                                              message.create_time));
  }

  SMSGW_RETURN_IF_ERROR(AppendFeed(conn, message.owner_id, message.id,
                                   FeedEventType::kCreated,
                                   message.create_time));
  SMSGW_ASSIGN_OR_RETURN(result->message, MustLoadMessage(conn, message.id));
  return absl::OkStatus();
}

absl::StatusOr<CreateResult> SqliteMessageStore::CreateOutbound(
    const Message& message, const std::optional<IdempotencyKey>& key,
    const std::optional<QuotaCharge>& charge) {
  SMSGW_RETURN_IF_ERROR(ValidateNewOutbound(message));
  CreateResult result;
  SMSGW_RETURN_IF_ERROR(Write([&](Connection& conn) {
    return CreateOutboundIn(conn, message, key, charge, &result);
  }));
  return result;
}

absl::StatusOr<CreateResult> SqliteMessageStore::CreateOutboundOnFreeNumber(
    const Message& message, const std::optional<IdempotencyKey>& key,
    const std::optional<QuotaCharge>& charge) {
  SMSGW_RETURN_IF_ERROR(ValidateNewOutbound(message));
  CreateResult result;
  SMSGW_RETURN_IF_ERROR(Write([&](Connection& conn) {
    return CreateOutboundIn(conn, message, key, charge, &result,
                            /*require_free_number=*/true);
  }));
  return result;
}

absl::StatusOr<QuotaUsage> SqliteMessageStore::GetQuotaUsage(
    int64_t user_id, int64_t default_quota, absl::Time day_start) {
  QuotaUsage usage;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(usage, ReadQuotaUsage(conn, user_id, default_quota,
                                                 day_start));
    return absl::OkStatus();
  }));
  return usage;
}

absl::StatusOr<PeerNumbers> SqliteMessageStore::FindPeerNumbers(
    int64_t owner_id, absl::string_view peer) {
  SMSGW_RETURN_IF_ERROR(common::CheckPeerNumbersQuery(owner_id, peer));
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
    const std::vector<Message>& messages,
    const std::optional<QuotaCharge>& charge) {
  SMSGW_RETURN_IF_ERROR(common::ValidateNewOutboundBatch(messages));
  std::vector<Message> stored;
  SMSGW_RETURN_IF_ERROR(Write([&](Connection& conn) -> absl::Status {
    stored.clear();
    stored.reserve(messages.size());
    if (charge.has_value()) SMSGW_RETURN_IF_ERROR(ChargeQuota(conn, *charge));
    for (const Message& message : messages) {
      CreateResult result;
      SMSGW_RETURN_IF_ERROR(CreateOutboundIn(conn, message, std::nullopt,
                                             std::nullopt, &result));
      stored.push_back(std::move(result.message));
    }
    return absl::OkStatus();
  }));
  return stored;
}

// --- The dispatch queue ---

absl::Status SqliteMessageStore::MarkDispatchStarted(absl::string_view id,
                                                     absl::Time time) {
  const int64_t claimant = claimant_.load();
  return Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT status, COALESCE(claimed_by, 0) FROM messages"
                     " WHERE id = ?"));
    stmt.Bind(1, id);
    SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) {
      return absl::NotFoundError(absl::StrCat("no message with id ", id));
    }
    if (static_cast<MessageStatus>(stmt.Int(0)) != MessageStatus::kPending) {
      return absl::FailedPreconditionError(
          absl::StrCat("message ", id, " is no longer PENDING"));
    }
    if (claimant != 0 && stmt.Int(1) != claimant) {
      return absl::FailedPreconditionError(absl::StrCat(
          "message ", id, " is claimed by replica ", stmt.Int(1),
          ", not by this one (", claimant, ")"));
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

absl::StatusOr<std::vector<Message>> SqliteMessageStore::ListUndispatched(
    int limit) {
  SMSGW_RETURN_IF_ERROR(CheckLimit(limit));
  std::vector<Message> messages;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(SelectMessagesSql(absl::StrCat(
            "WHERE ", kDispatchIndexTerm,
            " AND m.direction = ? AND m.status = ? ORDER BY m.seq LIMIT ?"))));
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

void SqliteMessageStore::SetClaimant(int64_t replica) {
  claimant_.store(replica);
}

absl::StatusOr<std::vector<Message>> SqliteMessageStore::ClaimUndispatched(
    int limit) {
  const int64_t claimant = claimant_.load();
  SMSGW_RETURN_IF_ERROR(common::CheckClaim(limit, claimant));
  std::vector<Message> claimed;
  // One writer at a time: the select and the updates are one claim.
  SMSGW_RETURN_IF_ERROR(Write([&](Connection& conn) -> absl::Status {
    claimed.clear();
    {
      SMSGW_ASSIGN_OR_RETURN(
          Statement stmt,
          conn.Prepare(SelectMessagesSql(absl::StrCat(
              "WHERE ", kDispatchIndexTerm,
              " AND m.direction = ? AND m.status = ?"
              " AND (m.claimed_by IS NULL OR m.claimed_by <> ?)"
              " ORDER BY m.seq LIMIT ?"))));
      stmt.Bind(1, static_cast<int>(Direction::kOutbound))
          .Bind(2, static_cast<int>(MessageStatus::kPending))
          .Bind(3, claimant)
          .Bind(4, limit);
      while (true) {
        SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        claimed.push_back(ReadMessage(stmt));
      }
    }
    for (Message& m : claimed) {
      SMSGW_ASSIGN_OR_RETURN(
          Statement update,
          conn.Prepare("UPDATE messages SET claimed_by = ? WHERE seq = ?"));
      SMSGW_RETURN_IF_ERROR(update.Bind(1, claimant).Bind(2, m.seq).Run());
      m.claimed_by = claimant;
    }
    return absl::OkStatus();
  }));
  return claimed;
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

// --- Scheduled sends ---

absl::StatusOr<std::vector<Message>> SqliteMessageStore::ListDueScheduled(
    absl::Time now, int limit) {
  SMSGW_RETURN_IF_ERROR(CheckLimit(limit));
  std::vector<Message> messages;
  SMSGW_RETURN_IF_ERROR(db_->Read([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare(SelectMessagesSql(absl::StrCat(
            "WHERE ", kDispatchIndexTerm,
            " AND m.status = ? AND m.next_attempt_time <= ? AND"
            " m.direction = ? ORDER BY m.next_attempt_time, m.seq LIMIT ?"))));
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
      if (const int64_t claimant = claimant_.load(); claimant != 0) {
        SMSGW_ASSIGN_OR_RETURN(
            Statement claim,
            conn.Prepare("UPDATE messages SET claimed_by = ? WHERE seq = ?"));
        SMSGW_RETURN_IF_ERROR(claim.Bind(1, claimant).Bind(2, message.seq).Run());
      }
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

}  // namespace smsgw::storage::sqlite

// File: sqlite_message_store_status.cc
//
// SqliteMessageStore's persistence of the lifecycle decisions that
// storage/message_lifecycle.h makes: applying a status update
// (ApplyStatusInTx), the callbacks parked before their SID
// (ApplyParkedReports), leaving SCHEDULED (LeaveScheduled); and the
// schedule of status checks for lost callbacks.
#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "storage/message_lifecycle.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_message_store_internal.h"

namespace smsgw::storage::sqlite {

using message_store_internal::AppendFeed;
using message_store_internal::CheckLimit;
using message_store_internal::InsertReport;
using message_store_internal::MustLoadMessage;

namespace {

// Writes the status columns in which `next` differs from `before` (the row
// as stored), and only those. SQLite rewrites the entry of every index on a
// column an UPDATE assigns, changed or not: assigning the unchanged
// provider_sid cost a lookup and a rewrite in its UNIQUE index, on a random
// page of a big table, for every status callback (issue 14: about a third of
// the UPDATE's time on the 1 M-message database). A handful of column sets
// occur, so the statement cache holds a handful of texts.
absl::Status UpdateChangedColumns(Connection& conn, const Message& before,
                                  const Message& next) {
  std::vector<absl::string_view> columns;
  std::vector<std::function<void(Statement&, int)>> binds;
  // `new_value` is a member of `next`, which outlives the binds.
  auto set_if_changed = [&](absl::string_view column, const auto& old_value,
                            const auto& new_value) {
    if (old_value == new_value) return;
    columns.push_back(column);
    binds.push_back(
        [&new_value](Statement& s, int i) { s.Bind(i, new_value); });
  };
  const int old_status = static_cast<int>(before.status);
  const int new_status = static_cast<int>(next.status);
  set_if_changed("status", old_status, new_status);
  if (next.provider_sid != before.provider_sid) {
    columns.push_back("provider_sid");
    binds.push_back([&](Statement& s, int i) {
      if (next.provider_sid.empty()) {
        s.BindNull(i);
      } else {
        s.Bind(i, next.provider_sid);
      }
    });
  }
  set_if_changed("error_code", before.error_code, next.error_code);
  set_if_changed("error_message", before.error_message, next.error_message);
  set_if_changed("num_segments", before.num_segments, next.num_segments);
  set_if_changed("price", before.price, next.price);
  set_if_changed("price_unit", before.price_unit, next.price_unit);
  set_if_changed("send_time", before.send_time, next.send_time);
  set_if_changed("deliver_time", before.deliver_time, next.deliver_time);
  set_if_changed("update_time", before.update_time, next.update_time);
  if (columns.empty()) return absl::OkStatus();
  SMSGW_ASSIGN_OR_RETURN(
      Statement stmt,
      conn.Prepare(absl::StrCat("UPDATE messages SET ",
                                absl::StrJoin(columns, " = ?, "),
                                " = ? WHERE seq = ?")));
  for (size_t i = 0; i < binds.size(); ++i) {
    binds[i](stmt, static_cast<int>(i) + 1);
  }
  stmt.Bind(static_cast<int>(binds.size()) + 1, before.seq);
  absl::Status run = stmt.Run();
  if (absl::IsAlreadyExists(run)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "provider sid ", next.provider_sid, " belongs to another message"));
  }
  return run;
}

// Persists DecideStatusUpdate(before, update) inside the caller's write
// transaction: the row when it changed, exactly one report (the parked one
// `parked_report_id` attached, or a new one), and a STATUS_CHANGED feed
// event when the status moved. Returns the message as stored afterwards;
// `*parked_due` (if not null) tells whether reports parked under the SID
// this update first stored are to be applied next. AlreadyExists when the
// new SID is another message's.
absl::StatusOr<Message> ApplyStatusInTx(
    Connection& conn, const Message& before, const StatusUpdate& update,
    std::optional<int64_t> parked_report_id = std::nullopt,
    bool* parked_due = nullptr) {
  const StatusDecision decision = DecideStatusUpdate(before, update);
  const Message& next = decision.next;
  const bool applied = decision.applied;
  if (parked_due != nullptr) *parked_due = decision.apply_parked_reports;
  if (decision.row_changed) {
    SMSGW_RETURN_IF_ERROR(UpdateChangedColumns(conn, before, next));
  }

  if (parked_report_id.has_value()) {
    // A callback that arrived before its SID was known: attach its report.
    SMSGW_ASSIGN_OR_RETURN(
        Statement attach,
        conn.Prepare("UPDATE message_events SET message_seq = ?, applied = ?"
                     " WHERE id = ?"));
    SMSGW_RETURN_IF_ERROR(attach.Bind(1, before.seq)
                              .Bind(2, applied)
                              .Bind(3, *parked_report_id)
                              .Run());
  } else {
    SMSGW_RETURN_IF_ERROR(InsertReport(conn, before.seq, decision.report_sid,
                                       update.status, update, update.source,
                                       applied));
  }
  if (applied) {
    SMSGW_RETURN_IF_ERROR(AppendFeed(conn, before.owner_id, before.id,
                                     FeedEventType::kStatusChanged,
                                     update.event_time));
  }
  return MustLoadMessage(conn, before.id);
}

// The parked callbacks of DecideStatusUpdate()'s apply_parked_reports: a
// status callback that arrived before the create response stored its SID
// was parked by ApplyStatusBySid() as a report with message_seq NULL and
// applied = false. Every parked report with `message`'s SID is applied,
// in arrival order (report id), through ApplyStatusInTx(), each attaching
// its own report row (message_seq, applied) instead of writing a new one.
// A parked report keeps only what
// message_events has columns for (status, provider_status, error, raw DLR
// date, source, HTTP status, event time): a parked callback's segments and
// price are not applied. Only ApplyStatus() calls it, in the transaction
// whose update first stored the message's SID.
//
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

}  // namespace

namespace message_store_internal {

// Persists DecideLeaveScheduled(): a conditional UPDATE (only while the
// row is still SCHEDULED; update_time = max(update_time, now)), its report
// and its feed event. False when the row had left SCHEDULED already.
absl::StatusOr<bool> LeaveScheduled(Connection& conn, const Message& message,
                                    MessageStatus to, absl::Time now,
                                    absl::string_view note) {
  SMSGW_ASSIGN_OR_RETURN(ScheduledExit exit,
                         DecideLeaveScheduled(to, now, note));
  {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("UPDATE messages SET status = ?, next_attempt_time = ?,"
                     " update_time = MAX(update_time, ?)"
                     " WHERE seq = ? AND status = ?"));
    stmt.Bind(1, static_cast<int>(exit.to)).Bind(2, exit.next_attempt_time);
    SMSGW_RETURN_IF_ERROR(
        stmt.Bind(3, now)
            .Bind(4, message.seq)
            .Bind(5, static_cast<int>(MessageStatus::kScheduled))
            .Run());
  }
  if (conn.Changes() == 0) return false;
  SMSGW_RETURN_IF_ERROR(InsertReport(conn, message.seq, "", exit.to,
                                     exit.report, ReportSource::kLocal,
                                     /*applied=*/true));
  SMSGW_RETURN_IF_ERROR(AppendFeed(conn, message.owner_id, message.id,
                                   FeedEventType::kStatusChanged, now));
  return true;
}

}  // namespace message_store_internal

// --- Status updates ---

absl::StatusOr<Message> SqliteMessageStore::ApplyStatus(
    absl::string_view id, const StatusUpdate& update) {
  if (update.status == MessageStatus::kUnspecified) {
    return absl::InvalidArgumentError("status update has no status");
  }
  Message after;
  absl::Status status = Write([&](Connection& conn) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(Message before, MustLoadMessage(conn, id));
    bool parked_due = false;
    SMSGW_ASSIGN_OR_RETURN(after, ApplyStatusInTx(conn, before, update,
                                                  std::nullopt, &parked_due));
    if (parked_due) {
      SMSGW_ASSIGN_OR_RETURN(after, ApplyParkedReports(conn, after));
    }
    if (ClearsDispatchMarker(after)) {
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
    if (DisposeCallback(row) == CallbackDisposition::kPark) {
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

// --- Status checks ---

absl::StatusOr<std::vector<StatusCheck>>
SqliteMessageStore::ListDueStatusChecks(absl::Time now,
                                        absl::Duration first_check_after,
                                        int limit) {
  SMSGW_RETURN_IF_ERROR(
      common::CheckStatusCheckQuery(limit, first_check_after));
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

// File: pg_message_store.cc
//
// PgMessageStore's transactions, the feed sequencer and announcements, and
// the writes: outbound creation, the dispatch queue, status updates (the
// lifecycle decisions of message_lifecycle.h), inbound messages and
// opt-outs. The reads (history, search, feed, stats) are in
// pg_message_store_reads.cc; the helpers both files use in
// pg_message_store_internal.h.
#include "storage/postgres/pg_message_store.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/status_macros.h"
#include "storage/message_lifecycle.h"
#include "storage/message_store_common.h"
#include "storage/postgres/pg_message_store_internal.h"

namespace smsgw::storage::postgres {

namespace {
thread_local bool* t_feed_appended = nullptr;
}  // namespace

void pg_message_internal::NoteFeedAppended() {
  if (t_feed_appended != nullptr) *t_feed_appended = true;
}

using pg_message_internal::LoadMessage;
using pg_message_internal::MustLoadMessage;
using pg_message_internal::OptInt;
using pg_message_internal::Params;
using pg_message_internal::SelectMessagesSql;

namespace {

// Feed rows a sequencer step moves at most; a full batch runs another step.
constexpr int kSequenceBatch = 5000;

// Appends one watch-feed event to the outbox (owner 0: unrouted inbound),
// copying the message's conversation and current status, so call it while
// the row still exists.
absl::Status AppendFeed(PgConnection& c, int64_t owner_id,
                        absl::string_view message_id, FeedEventType type,
                        absl::Time event_time) {
  pg_message_internal::NoteFeedAppended();
  return c
      .Execute(
          "INSERT INTO feed_outbox(owner_id, message_id, type, event_time,"
          " conversation_id, status) SELECT $1, $2, $3, $4,"
          " COALESCE(m.conversation_id, ''), COALESCE(m.status, 0)"
          " FROM (SELECT 1) AS one LEFT JOIN messages m ON m.id = $2",
          Params{PgInt(owner_id), std::string(message_id),
                 PgInt(static_cast<int>(type)), PgTime(event_time)})
      .status();
}

// Inserts one delivery report of `status`; `message_seq` 0 parks it (NULL).
absl::Status InsertReport(PgConnection& c, int64_t message_seq,
                          absl::string_view provider_sid, MessageStatus status,
                          const StatusUpdate& update, ReportSource source,
                          bool applied) {
  return c
      .Execute(
          "INSERT INTO message_events(message_seq, provider_sid, status,"
          " provider_status, error_code, error_message,"
          " raw_dlr_done_date, source, applied, http_status, event_time)"
          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
          Params{message_seq > 0 ? std::optional<std::string>(PgInt(message_seq))
                                 : std::nullopt,
                 std::string(provider_sid), PgInt(static_cast<int>(status)),
                 update.provider_status, OptInt(update.error_code),
                 update.error_message, update.raw_dlr_done_date,
                 PgInt(static_cast<int>(source)), PgBool(applied),
                 PgInt(update.http_status), PgTime(update.event_time)})
      .status();
}

// Inserts one message row, claimed by `claimed_by` (0: unclaimed, NULL);
// returns its seq. AlreadyExists for a taken id or SID; FailedPrecondition
// for a missing owner or group (23503).
absl::StatusOr<int64_t> InsertMessageRow(PgConnection& c, const Message& m,
                                         absl::string_view idempotency_key,
                                         int64_t claimed_by = 0) {
  absl::StatusOr<PgResult> r = c.Execute(
      absl::StrCat("INSERT INTO messages(", common::kMessageInsertColumns,
                   ")"
                   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                   "$12, $13, $14,"
                   " $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, "
                   "$26, $27, $28,"
                   " $29, $30, $31, $32, $33, $34) RETURNING seq"),
      Params{m.id,
             m.owner_id != 0 ? std::optional<std::string>(PgInt(m.owner_id))
                             : std::nullopt,
             m.conversation_id,
             m.group_id != 0 ? std::optional<std::string>(PgInt(m.group_id))
                             : std::nullopt,
             m.group_name,
             PgInt(static_cast<int>(m.direction)),
             m.from,
             m.to,
             m.peer_number,
             m.our_number,
             m.messaging_service_sid,
             m.body,
             absl::StrJoin(m.media_urls, "\n"),
             absl::StrJoin(m.media_content_types, "\n"),
             PgInt(static_cast<int>(m.status)),
             m.provider_sid.empty()
                 ? std::nullopt
                 : std::optional<std::string>(m.provider_sid),
             OptInt(m.error_code),
             m.error_message,
             PgInt(m.num_segments),
             PgInt(static_cast<int>(m.encoding)),
             m.price,
             m.price_unit,
             std::string(idempotency_key),
             PgInt(m.attempts),
             PgOptTime(m.next_attempt_time),
             PgTime(m.create_time),
             PgOptTime(m.scheduled_time),
             PgOptTime(m.send_time),
             PgOptTime(m.deliver_time),
             PgTime(m.update_time),
             PgOptTime(m.dispatch_started_time),
             PgInt(static_cast<int>(m.priority == MessagePriority::kUnspecified
                                      ? MessagePriority::kNormal
                                      : m.priority)),
             PgOptTime(m.expire_time),
             claimed_by != 0 ? std::optional<std::string>(PgInt(claimed_by))
                             : std::nullopt});
  if (absl::IsAlreadyExists(r.status())) {
    return absl::AlreadyExistsError(absl::StrCat(
        "message id ", m.id, " or provider sid is already stored"));
  }
  if (absl::IsFailedPrecondition(r.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "owner ", m.owner_id, " or group ", m.group_id, " does not exist"));
  }
  SMSGW_RETURN_IF_ERROR(r.status());
  return r->Int(0, 0);
}

// Adds `m` (stored as `seq`) to its owner's conversation. The upsert locks
// the conversation row; its last message is the highest seq, whichever
// replica commits first. InvalidArgument when a concurrent create gave the
// conversation another peer (the pre-check could not see it).
absl::Status UpsertConversation(PgConnection& c, const Message& m,
                                int64_t seq) {
  SMSGW_ASSIGN_OR_RETURN(
      PgResult r,
      c.Execute("INSERT INTO conversations AS cv(owner_id, conversation_id,"
                " peer_number, our_number, last_message_seq, message_count,"
                " update_time) VALUES ($1, $2, $3, $4, $5, 1, $6)"
                " ON CONFLICT (owner_id, conversation_id) DO UPDATE SET"
                " message_count = cv.message_count + 1,"
                " our_number = CASE WHEN excluded.last_message_seq >"
                "   COALESCE(cv.last_message_seq, 0) THEN excluded.our_number"
                "   ELSE cv.our_number END,"
                " update_time = CASE WHEN excluded.last_message_seq >"
                "   COALESCE(cv.last_message_seq, 0) THEN excluded.update_time"
                "   ELSE cv.update_time END,"
                " last_message_seq = GREATEST(cv.last_message_seq,"
                "   excluded.last_message_seq)"
                " RETURNING peer_number",
                Params{PgInt(m.owner_id), m.conversation_id, m.peer_number,
                       m.our_number, PgInt(seq), PgTime(m.create_time)}));
  if (r.rows() > 0 && r.Text(0, 0) != m.peer_number) {
    return absl::InvalidArgumentError(
        absl::StrCat("conversation_id \"", m.conversation_id,
                     "\" is already used with another peer number"));
  }
  return absl::OkStatus();
}

// The idempotency check of CreateOutbound(), key first: forgets an expired
// key, then tries to take the key for `message_id`. Taken by us: nullopt.
// Taken by another request (which may still be committing: the insert
// waits for it): its original message (a replay), or AlreadyExists when the
// request hash differs or the original has since been deleted.
absl::StatusOr<std::optional<Message>> TakeIdempotencyKey(
    PgConnection& c, int64_t owner_id, const IdempotencyKey& key,
    absl::string_view message_id, absl::Time create_time) {
  SMSGW_RETURN_IF_ERROR(
      c.Execute("DELETE FROM idempotency_keys WHERE owner_id = $1 AND"
                " key = $2 AND create_time < $3",
                Params{PgInt(owner_id), key.key,
                       PgTime(create_time - kIdempotencyKeyTtl)})
          .status());
  SMSGW_ASSIGN_OR_RETURN(
      PgResult taken,
      c.Execute("INSERT INTO idempotency_keys(owner_id, key, request_hash,"
                " message_id, create_time) VALUES ($1, $2, $3, $4, $5)"
                " ON CONFLICT (owner_id, key) DO NOTHING RETURNING 1",
                Params{PgInt(owner_id), key.key, key.request_hash,
                       std::string(message_id), PgTime(create_time)}));
  if (taken.rows() > 0) return std::optional<Message>();
  SMSGW_ASSIGN_OR_RETURN(
      PgResult stored,
      c.Execute("SELECT request_hash, message_id FROM idempotency_keys"
                " WHERE owner_id = $1 AND key = $2",
                Params{PgInt(owner_id), key.key}));
  if (stored.rows() == 0) {
    // The holder deleted it meanwhile (expired): let the caller retry.
    return absl::AbortedError("idempotency key changed hands; retry");
  }
  if (stored.Text(0, 0) != key.request_hash) {
    return absl::AlreadyExistsError(
        absl::StrCat("idempotency key \"", key.key,
                     "\" was already used for a different request"));
  }
  const std::string original_id = stored.Text(0, 1);
  SMSGW_ASSIGN_OR_RETURN(std::optional<Message> original,
                         LoadMessage(c, original_id, /*lock=*/false));
  if (!original.has_value()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "idempotency key \"", key.key, "\" was already used for message ",
        original_id, ", which has since been deleted"));
  }
  return original;
}

// The quota of `user_id` and its use on `day_start`'s day.
absl::StatusOr<QuotaUsage> ReadQuotaUsage(PgConnection& c, int64_t user_id,
                                          int64_t default_quota,
                                          absl::Time day_start) {
  SMSGW_ASSIGN_OR_RETURN(
      PgResult r,
      c.Execute("SELECT COALESCE(u.daily_segment_quota, $1),"
                " COALESCE((SELECT segments FROM segment_usage"
                " WHERE user_id = u.id AND day_start = $2), 0)"
                " FROM users u WHERE u.id = $3",
                Params{PgInt(default_quota), PgTime(day_start), PgInt(user_id)}));
  if (r.rows() == 0) {
    return absl::NotFoundError(absl::StrCat("no user with id ", user_id));
  }
  QuotaUsage usage;
  usage.quota = r.Int(0, 0);
  usage.used = r.Int(0, 1);
  usage.reset_time = day_start + absl::Hours(24);
  return usage;
}

// Charges `charge` with one upsert that returns the day's new total (the
// row lock orders concurrent charges); ResourceExhausted, and the caller's
// transaction rolls back, when it exceeds the quota.
absl::Status ChargeQuota(PgConnection& c, const QuotaCharge& charge) {
  SMSGW_ASSIGN_OR_RETURN(
      PgResult quota,
      c.Execute("SELECT COALESCE(daily_segment_quota, $1) FROM users"
                " WHERE id = $2",
                Params{PgInt(charge.default_quota), PgInt(charge.user_id)}));
  if (quota.rows() == 0) {
    return absl::NotFoundError(
        absl::StrCat("no user with id ", charge.user_id));
  }
  SMSGW_ASSIGN_OR_RETURN(
      PgResult total,
      c.Execute("INSERT INTO segment_usage AS s(user_id, day_start, segments)"
                " VALUES ($1, $2, $3) ON CONFLICT (user_id, day_start)"
                " DO UPDATE SET segments = s.segments + excluded.segments"
                " RETURNING segments",
                Params{PgInt(charge.user_id), PgTime(charge.day_start),
                       PgInt(charge.segments)}));
  QuotaUsage usage;
  usage.quota = quota.Int(0, 0);
  usage.used = total.Int(0, 0) - charge.segments;
  usage.reset_time = charge.day_start + absl::Hours(24);
  if (usage.quota > 0 && usage.used + charge.segments > usage.quota) {
    return QuotaExceededError(usage, charge.segments);
  }
  return absl::OkStatus();
}

// Serialises, across replicas, the work on provider SID `sid` (callbacks by
// SID against the update that first stores it), to the transaction's end.
absl::Status LockSid(PgConnection& c, absl::string_view sid) {
  return c
      .Execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
               Params{absl::StrCat("smsgw-sid:", sid)})
      .status();
}

// Persists DecideStatusUpdate(before, update), as SQLite's ApplyStatusInTx:
// the row when it changed, one report (the parked `parked_report_id`
// attached, or a new one), and a STATUS_CHANGED feed event when the status
// moved. `before` must be locked (FOR UPDATE) by the caller.
absl::StatusOr<Message> ApplyStatusInTx(
    PgConnection& c, const Message& before, const StatusUpdate& update,
    std::optional<int64_t> parked_report_id = std::nullopt,
    bool* parked_due = nullptr) {
  const StatusDecision decision = DecideStatusUpdate(before, update);
  const Message& next = decision.next;
  if (parked_due != nullptr) *parked_due = decision.apply_parked_reports;
  if (decision.row_changed) {
    absl::StatusOr<PgResult> r = c.Execute(
        "UPDATE messages SET status = $1, provider_sid = $2, error_code = $3,"
        " error_message = $4, num_segments = $5, price = $6, price_unit = $7,"
        " send_time = $8, deliver_time = $9, update_time = $10"
        " WHERE seq = $11",
        Params{PgInt(static_cast<int>(next.status)),
               next.provider_sid.empty()
                   ? std::nullopt
                   : std::optional<std::string>(next.provider_sid),
               OptInt(next.error_code), next.error_message,
               PgInt(next.num_segments), next.price, next.price_unit,
               PgOptTime(next.send_time), PgOptTime(next.deliver_time),
               PgTime(next.update_time), PgInt(before.seq)});
    if (absl::IsAlreadyExists(r.status())) {
      return absl::AlreadyExistsError(absl::StrCat(
          "provider sid ", next.provider_sid, " belongs to another message"));
    }
    SMSGW_RETURN_IF_ERROR(r.status());
  }
  if (parked_report_id.has_value()) {
    SMSGW_RETURN_IF_ERROR(
        c.Execute("UPDATE message_events SET message_seq = $1, applied = $2"
                  " WHERE id = $3",
                  Params{PgInt(before.seq), PgBool(decision.applied),
                         PgInt(*parked_report_id)})
            .status());
  } else {
    SMSGW_RETURN_IF_ERROR(InsertReport(c, before.seq, decision.report_sid,
                                       update.status, update, update.source,
                                       decision.applied));
  }
  if (decision.applied) {
    SMSGW_RETURN_IF_ERROR(AppendFeed(c, before.owner_id, before.id,
                                     FeedEventType::kStatusChanged,
                                     update.event_time));
  }
  return MustLoadMessage(c, before.id, /*lock=*/false);
}

// The callbacks parked under `message`'s SID, applied in arrival order (see
// SQLite's ApplyParkedReports); the SID's advisory lock is held.
absl::StatusOr<Message> ApplyParkedReports(PgConnection& c, Message message) {
  if (message.provider_sid.empty()) return message;
  SMSGW_ASSIGN_OR_RETURN(
      PgResult r,
      c.Execute("SELECT id, status, provider_status, error_code,"
                " error_message, raw_dlr_done_date, source, http_status,"
                " event_time FROM message_events"
                " WHERE message_seq IS NULL AND provider_sid = $1 ORDER BY id",
                Params{message.provider_sid}));
  for (int i = 0; i < r.rows(); ++i) {
    StatusUpdate u;
    u.status = static_cast<MessageStatus>(r.Int(i, 1));
    u.provider_status = r.Text(i, 2);
    if (!r.IsNull(i, 3)) u.error_code = static_cast<int>(r.Int(i, 3));
    u.error_message = r.Text(i, 4);
    u.raw_dlr_done_date = r.Text(i, 5);
    u.source = static_cast<ReportSource>(r.Int(i, 6));
    u.http_status = static_cast<int>(r.Int(i, 7));
    u.event_time = r.Time(i, 8);
    SMSGW_ASSIGN_OR_RETURN(message,
                           ApplyStatusInTx(c, message, u, r.Int(i, 0)));
  }
  return message;
}

// Persists DecideLeaveScheduled() with a conditional UPDATE (only while
// SCHEDULED), its report and its feed event; false when it had left already.
absl::StatusOr<bool> LeaveScheduled(PgConnection& c, const Message& message,
                                    MessageStatus to, absl::Time now,
                                    absl::string_view note) {
  SMSGW_ASSIGN_OR_RETURN(ScheduledExit exit,
                         DecideLeaveScheduled(to, now, note));
  SMSGW_ASSIGN_OR_RETURN(
      PgResult r,
      c.Execute(
          "UPDATE messages SET status = $1, next_attempt_time = $2,"
          " update_time = GREATEST(update_time, $3)"
          " WHERE seq = $4 AND status = $5",
          Params{PgInt(static_cast<int>(exit.to)),
                 PgOptTime(exit.next_attempt_time), PgTime(now), PgInt(message.seq),
                 PgInt(static_cast<int>(MessageStatus::kScheduled))}));
  if (r.affected() == 0) return false;
  SMSGW_RETURN_IF_ERROR(InsertReport(c, message.seq, "", exit.to, exit.report,
                                     ReportSource::kLocal, /*applied=*/true));
  SMSGW_RETURN_IF_ERROR(AppendFeed(c, message.owner_id, message.id,
                                   FeedEventType::kStatusChanged, now));
  return true;
}

}  // namespace

// --- Transactions and the feed ---

PgMessageStore::PgMessageStore(PgPool* pool, Clock* clock, Options options)
    : pool_(pool), clock_(clock), options_(options) {
  absl::StatusOr<int64_t> head = LatestFeedCursor();
  {
    absl::MutexLock lock(&announce_mu_);
    announced_ = head.ok() ? *head : 0;
  }
  if (options_.poll_interval > absl::ZeroDuration()) {
    poller_ = std::thread([this] { PollLoop(); });
  }
}

PgMessageStore::~PgMessageStore() {
  {
    absl::MutexLock lock(&poll_mu_);
    stopping_ = true;
  }
  if (poller_.joinable()) poller_.join();
}

void PgMessageStore::PollLoop() {
  // A session of its own LISTENs for the sequencer steps of every replica,
  // so watchers here hear another replica's writes at once; the poll every
  // poll_interval stays, for steps whose notification was lost (the
  // session broke) and for rows whose writer died before its step.
  std::unique_ptr<PgConnection> listener;
  bool warned = false;
  absl::Time next_poll = absl::Now() + options_.poll_interval;
  while (true) {
    {
      absl::MutexLock lock(&poll_mu_);
      if (stopping_) return;
    }
    if (listener == nullptr) {
      absl::StatusOr<std::unique_ptr<PgConnection>> opened =
          pool_->ConnectUnpooled();
      absl::Status listening = opened.status();
      if (opened.ok()) listening = (*opened)->Exec("LISTEN smsgw_feed");
      if (listening.ok()) {
        listener = *std::move(opened);
        warned = false;
      } else if (!warned) {
        SMSGW_LOG(kWarning) << "watch feed: cannot LISTEN, polling every "
                            << absl::FormatDuration(options_.poll_interval)
                            << ": " << listening;
        warned = true;
      }
    }
    // Waits in short slices, so that a stopping store is not held up by a
    // quiet feed; runs a step when woken or when the poll is due.
    const absl::Duration slice =
        std::min(options_.poll_interval, absl::Milliseconds(100));
    bool woken = false;
    if (listener != nullptr) {
      absl::StatusOr<bool> notified = listener->AwaitNotification(slice);
      if (notified.ok()) {
        woken = *notified;
      } else {
        listener.reset();  // reconnect, and poll meanwhile
      }
    } else {
      absl::MutexLock lock(&poll_mu_);
      auto stop = [this]() ABSL_SHARED_LOCKS_REQUIRED(poll_mu_) {
        return stopping_;
      };
      if (poll_mu_.AwaitWithTimeout(absl::Condition(&stop), slice)) return;
    }
    const absl::Time now = absl::Now();
    absl::Status polled = absl::OkStatus();
    if (now >= next_poll) {
      // The poll: a step and an announcement, cheap when nothing is new,
      // covering what a lost notification would miss.
      next_poll = now + options_.poll_interval;
      polled = PollFeedOnce();
    } else if (woken) {
      // A step somewhere moved rows: only the announcement is needed.
      polled = AnnounceFeed();
    }
    if (!polled.ok()) {
      SMSGW_LOG(kWarning) << "watch feed: cannot sequence or announce: "
                          << polled;
    }
  }
}

absl::Status PgMessageStore::PollFeedOnce() {
  SMSGW_RETURN_IF_ERROR(SequenceFeed());
  return AnnounceFeed();
}

absl::Status PgMessageStore::Write(
    const std::function<absl::Status(PgConnection&)>& fn) {
  bool appended = false;
  SMSGW_RETURN_IF_ERROR(pool_->Transaction([&](PgConnection& c) {
    appended = false;  // a retried transaction starts over
    bool* outer = t_feed_appended;
    t_feed_appended = &appended;
    absl::Status status = fn(c);
    t_feed_appended = outer;
    return status;
  }));
  if (!appended) return absl::OkStatus();
  // Committed: the rows are in the outbox for good. A failure from here on
  // only delays them until the next step (this replica's poller or any
  // other's), so it is logged, not returned: the write did happen.
  const absl::Status sequenced = PollFeedOnce();
  if (!sequenced.ok()) {
    SMSGW_LOG(kWarning) << "watch feed: sequencing after a commit failed "
                           "(the poller retries): "
                        << sequenced;
  }
  return absl::OkStatus();
}

absl::Status PgMessageStore::SequenceFeed() {
  while (true) {
    int64_t moved = 0;
    SMSGW_RETURN_IF_ERROR(pool_->Transaction([&](PgConnection& c)
                                                 -> absl::Status {
      // One step at a time in the whole database: the lock is held to
      // COMMIT, so each step reads the last one's committed head and
      // assigns the next contiguous range.
      SMSGW_RETURN_IF_ERROR(
          c.Execute("SELECT pg_advisory_xact_lock(hashtextextended("
                    "current_database() || ':smsgw-feed-sequencer', 0))")
              .status());
      SMSGW_ASSIGN_OR_RETURN(
          PgResult r,
          c.Execute(
              "WITH moved AS (DELETE FROM feed_outbox WHERE id IN"
              "   (SELECT id FROM feed_outbox ORDER BY id LIMIT $1)"
              "   RETURNING *),"
              " numbered AS (SELECT h.last_cursor + row_number() OVER"
              "   (ORDER BY m.id) AS cursor, m.* FROM moved m"
              "   CROSS JOIN feed_head h),"
              " ins AS (INSERT INTO message_feed(cursor, owner_id, message_id,"
              "   type, event_time, conversation_id, status)"
              "   SELECT cursor, owner_id, message_id, type, event_time,"
              "   conversation_id, status FROM numbered RETURNING cursor)"
              " UPDATE feed_head SET last_cursor = (SELECT max(cursor) FROM ins)"
              "   WHERE EXISTS (SELECT 1 FROM ins)"
              " RETURNING (SELECT count(*) FROM ins)",
              Params{PgInt(kSequenceBatch)}));
      // An empty step (an earlier one took this writer's rows) updates
      // nothing, so its COMMIT writes no WAL and waits for no flush: the
      // writers queued on the lock behind a step pass through at the cost
      // of a round trip, and one durable step serves them all.
      moved = r.rows() > 0 ? r.Int(0, 0) : 0;
      // One wake-up per step for every replica's listener (LISTEN in
      // PollLoop), sent at COMMIT. Only steps notify, never writers: a
      // NOTIFY serialises the commits that send one.
      if (moved > 0) {
        SMSGW_RETURN_IF_ERROR(
            c.Execute("SELECT pg_notify('smsgw_feed', '')").status());
      }
      return absl::OkStatus();
    }));
    if (moved < kSequenceBatch) return absl::OkStatus();
  }
}

absl::Status PgMessageStore::AnnounceFeed() {
  // Serialised, so announced_ only grows and no range is told twice or
  // skipped.
  absl::MutexLock lock(&announce_mu_);
  int64_t head = 0;
  std::vector<int64_t> owners;
  SMSGW_RETURN_IF_ERROR(
      pool_->WithConnection([&](PgConnection& c) -> absl::Status {
        SMSGW_ASSIGN_OR_RETURN(PgResult h,
                               c.Execute("SELECT last_cursor FROM feed_head"));
        head = h.rows() > 0 ? h.Int(0, 0) : 0;
        if (head <= announced_) return absl::OkStatus();
        SMSGW_ASSIGN_OR_RETURN(
            PgResult r, c.Execute("SELECT DISTINCT owner_id FROM message_feed"
                                  " WHERE cursor > $1 AND cursor <= $2",
                                  Params{PgInt(announced_), PgInt(head)}));
        for (int i = 0; i < r.rows(); ++i) owners.push_back(r.Int(i, 0));
        return absl::OkStatus();
      }));
  if (head <= announced_) return absl::OkStatus();
  announced_ = head;
  listeners_.Notify(head, std::move(owners));
  return absl::OkStatus();
}

void PgMessageStore::SetFeedListener(FeedListener listener) {
  listeners_.Set(std::move(listener));
}

int PgMessageStore::AddFeedListener(FeedListener listener) {
  return listeners_.Add(std::move(listener));
}

void PgMessageStore::RemoveFeedListener(int handle) {
  listeners_.Remove(handle);
}

// --- Creating outbound messages ---

absl::Status PgMessageStore::CreateOutboundIn(
    PgConnection& c, const Message& message,
    const std::optional<IdempotencyKey>& key,
    const std::optional<QuotaCharge>& charge, CreateResult* result,
    bool require_free_number) {
  if (key.has_value()) {
    SMSGW_ASSIGN_OR_RETURN(std::optional<Message> original,
                           TakeIdempotencyKey(c, message.owner_id, *key,
                                              message.id, message.create_time));
    if (original.has_value()) {
      result->message = *std::move(original);
      result->replayed = true;
      return absl::OkStatus();
    }
  }
  if (require_free_number) {
    // Every replica choosing this pair takes the same lock, so nothing
    // claims the number between this check and the insert.
    SMSGW_RETURN_IF_ERROR(
        c.Execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                  Params{absl::StrCat("smsgw-pair:", message.peer_number, "|",
                                      message.our_number)})
            .status());
    SMSGW_ASSIGN_OR_RETURN(
        PgResult taken,
        c.Execute("SELECT owner_id FROM conversations WHERE peer_number = $1"
                  " AND our_number = $2 AND owner_id <> $3 LIMIT 1",
                  Params{message.peer_number, message.our_number,
                         PgInt(message.owner_id)}));
    if (taken.rows() > 0) {
      return absl::AbortedError(absl::StrCat(
          "another user is now in conversation with this recipient on ",
          message.our_number, "; choose the sender again"));
    }
  }
  if (!message.conversation_id.empty()) {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult conv,
        c.Execute("SELECT peer_number FROM conversations WHERE owner_id = $1"
                  " AND conversation_id = $2",
                  Params{PgInt(message.owner_id), message.conversation_id}));
    if (conv.rows() > 0 && conv.Text(0, 0) != message.peer_number) {
      return absl::InvalidArgumentError(
          absl::StrCat("conversation_id \"", message.conversation_id,
                       "\" is already used with another peer number"));
    }
  }
  if (charge.has_value()) SMSGW_RETURN_IF_ERROR(ChargeQuota(c, *charge));
  SMSGW_ASSIGN_OR_RETURN(
      int64_t seq,
      InsertMessageRow(c, message,
                       key.has_value() ? key->key : message.idempotency_key,
                       common::ClaimOnCreate(message, claimant_.load())));
  if (!message.conversation_id.empty()) {
    SMSGW_RETURN_IF_ERROR(UpsertConversation(c, message, seq));
  }
  SMSGW_RETURN_IF_ERROR(AppendFeed(c, message.owner_id, message.id,
                                   FeedEventType::kCreated,
                                   message.create_time));
  SMSGW_ASSIGN_OR_RETURN(result->message,
                         MustLoadMessage(c, message.id, /*lock=*/false));
  return absl::OkStatus();
}

absl::StatusOr<CreateResult> PgMessageStore::CreateOutbound(
    const Message& message, const std::optional<IdempotencyKey>& key,
    const std::optional<QuotaCharge>& charge) {
  SMSGW_RETURN_IF_ERROR(common::ValidateNewOutbound(message));
  CreateResult result;
  SMSGW_RETURN_IF_ERROR(Write([&](PgConnection& c) {
    result = CreateResult();
    return CreateOutboundIn(c, message, key, charge, &result,
                            /*require_free_number=*/false);
  }));
  return result;
}

absl::StatusOr<CreateResult> PgMessageStore::CreateOutboundOnFreeNumber(
    const Message& message, const std::optional<IdempotencyKey>& key,
    const std::optional<QuotaCharge>& charge) {
  SMSGW_RETURN_IF_ERROR(common::ValidateNewOutbound(message));
  CreateResult result;
  SMSGW_RETURN_IF_ERROR(Write([&](PgConnection& c) {
    result = CreateResult();
    return CreateOutboundIn(c, message, key, charge, &result,
                            /*require_free_number=*/true);
  }));
  return result;
}

absl::StatusOr<std::vector<Message>> PgMessageStore::CreateOutboundBatch(
    const std::vector<Message>& messages,
    const std::optional<QuotaCharge>& charge) {
  SMSGW_RETURN_IF_ERROR(common::ValidateNewOutboundBatch(messages));
  std::vector<Message> stored;
  SMSGW_RETURN_IF_ERROR(
      Write([&](PgConnection& c) -> absl::Status {
        stored.clear();
        stored.reserve(messages.size());
        if (charge.has_value()) SMSGW_RETURN_IF_ERROR(ChargeQuota(c, *charge));
        for (const Message& message : messages) {
          CreateResult result;
          SMSGW_RETURN_IF_ERROR(CreateOutboundIn(
              c, message, std::nullopt, std::nullopt, &result, false));
          stored.push_back(std::move(result.message));
        }
        return absl::OkStatus();
      }));
  return stored;
}

absl::StatusOr<QuotaUsage> PgMessageStore::GetQuotaUsage(int64_t user_id,
                                                         int64_t default_quota,
                                                         absl::Time day_start) {
  QuotaUsage usage;
  SMSGW_RETURN_IF_ERROR(
      pool_->WithConnection([&](PgConnection& c) -> absl::Status {
        SMSGW_ASSIGN_OR_RETURN(
            usage, ReadQuotaUsage(c, user_id, default_quota, day_start));
        return absl::OkStatus();
      }));
  return usage;
}

absl::StatusOr<PeerNumbers> PgMessageStore::FindPeerNumbers(
    int64_t owner_id, absl::string_view peer) {
  SMSGW_RETURN_IF_ERROR(common::CheckPeerNumbersQuery(owner_id, peer));
  PeerNumbers found;
  SMSGW_RETURN_IF_ERROR(
      pool_->WithConnection([&](PgConnection& c) -> absl::Status {
        SMSGW_ASSIGN_OR_RETURN(
            PgResult r,
            c.Execute("SELECT owner_id = $1, our_number, MAX(update_time)"
                      " FROM conversations WHERE peer_number = $2"
                      " GROUP BY owner_id = $1, our_number ORDER BY our_number",
                      Params{PgInt(owner_id), std::string(peer)}));
        std::optional<absl::Time> owner_latest;
        for (int i = 0; i < r.rows(); ++i) {
          if (!r.Bool(i, 0)) {
            found.other_owners.push_back(r.Text(i, 1));
          } else if (!owner_latest.has_value() ||
                     r.Time(i, 2) > *owner_latest) {
            owner_latest = r.Time(i, 2);
            found.owner_last = r.Text(i, 1);
          }
        }
        return absl::OkStatus();
      }));
  return found;
}

// --- The dispatch queue ---

absl::StatusOr<std::vector<Message>> PgMessageStore::ListUndispatched(
    int limit) {
  SMSGW_RETURN_IF_ERROR(common::CheckLimit(limit));
  return pg_message_internal::ListMessages(
      *pool_,
      SelectMessagesSql("WHERE m.direction = 1 AND m.status = 1"
                        " ORDER BY m.seq LIMIT $1"),
      Params{PgInt(limit)});
}

void PgMessageStore::SetClaimant(int64_t replica) { claimant_.store(replica); }

absl::StatusOr<std::vector<Message>> PgMessageStore::ClaimUndispatched(
    int limit) {
  const int64_t claimant = claimant_.load();
  SMSGW_RETURN_IF_ERROR(common::CheckClaim(limit, claimant));
  std::vector<Message> claimed;
  SMSGW_RETURN_IF_ERROR(Write([&](PgConnection& c) -> absl::Status {
    claimed.clear();
    // MATERIALIZED: the LIMIT subquery runs once, so the planner cannot
    // re-run it and claim more (design §4.5). SKIP LOCKED: a row another
    // claim or a marker UPDATE holds is left to it; EvalPlanQual re-checks
    // claimed_by for a row claimed meanwhile.
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute("WITH c AS MATERIALIZED (SELECT seq FROM messages"
                  " WHERE status = 1 AND direction = 1"
                  " AND claimed_by IS DISTINCT FROM $1"
                  " ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)"
                  " UPDATE messages m SET claimed_by = $1 FROM c"
                  " WHERE m.seq = c.seq RETURNING m.seq",
                  Params{PgInt(claimant), PgInt(limit)}));
    if (r.rows() == 0) return absl::OkStatus();
    std::vector<std::string> seqs;
    seqs.reserve(r.rows());
    for (int i = 0; i < r.rows(); ++i) seqs.push_back(PgInt(r.Int(i, 0)));
    SMSGW_ASSIGN_OR_RETURN(
        PgResult rows,
        c.Execute(SelectMessagesSql("WHERE m.seq = ANY($1::bigint[])"
                                    " ORDER BY m.seq"),
                  Params{absl::StrCat("{", absl::StrJoin(seqs, ","), "}")}));
    for (int i = 0; i < rows.rows(); ++i) {
      claimed.push_back(
          common::ReadMessageRow(pg_message_internal::PgRow{rows, i}));
    }
    return absl::OkStatus();
  }));
  return claimed;
}

absl::Status PgMessageStore::MarkDispatchStarted(absl::string_view id,
                                                 absl::Time time) {
  const int64_t claimant = claimant_.load();
  return Write([&](PgConnection& c) -> absl::Status {
    // The claim check and the marker are one conditional UPDATE: a claim
    // taken over meanwhile (ClaimUndispatched on another replica) locks the
    // row, and this UPDATE re-checks claimed_by after it commits.
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute("UPDATE messages SET dispatch_started_time = $1"
                  " WHERE id = $2 AND status = $3"
                  " AND ($4 = 0 OR claimed_by = $4)",
                  Params{PgTime(time), std::string(id),
                         PgInt(static_cast<int>(MessageStatus::kPending)),
                         PgInt(claimant)}));
    if (r.affected() > 0) return absl::OkStatus();
    SMSGW_ASSIGN_OR_RETURN(
        PgResult exists,
        c.Execute("SELECT status, COALESCE(claimed_by, 0) FROM messages"
                  " WHERE id = $1",
                  Params{std::string(id)}));
    if (exists.rows() == 0) {
      return absl::NotFoundError(absl::StrCat("no message with id ", id));
    }
    if (exists.Int(0, 0) != static_cast<int>(MessageStatus::kPending)) {
      return absl::FailedPreconditionError(
          absl::StrCat("message ", id, " is no longer PENDING"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("message ", id, " is claimed by replica ",
                     exists.Int(0, 1), ", not by this one (", claimant, ")"));
  });
}

absl::Status PgMessageStore::ClearDispatchStarted(absl::string_view id) {
  return Write([&](PgConnection& c) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r, c.Execute("UPDATE messages SET dispatch_started_time = NULL"
                              " WHERE id = $1",
                              Params{std::string(id)}));
    if (r.affected() == 0) {
      return absl::NotFoundError(absl::StrCat("no message with id ", id));
    }
    return absl::OkStatus();
  });
}

absl::Status PgMessageStore::RecordRetry(absl::string_view id,
                                         const StatusUpdate& attempt,
                                         absl::Time next_attempt_time) {
  return Write([&](PgConnection& c) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult row, c.Execute("SELECT seq, status, COALESCE(provider_sid, '')"
                                " FROM messages WHERE id = $1 FOR UPDATE",
                                Params{std::string(id)}));
    if (row.rows() == 0) {
      return absl::NotFoundError(absl::StrCat("no message with id ", id));
    }
    const int64_t seq = row.Int(0, 0);
    const auto current = static_cast<MessageStatus>(row.Int(0, 1));
    const std::string provider_sid = row.Text(0, 2);
    // A 4xx answer (429 included) proves the create was refused; without
    // an answer, or with a 5xx, the provider may have created it.
    const bool outcome_known =
        attempt.http_status >= 400 && attempt.http_status <= 499;
    SMSGW_RETURN_IF_ERROR(
        c.Execute("UPDATE messages SET attempts = attempts + 1,"
                  " next_attempt_time = $1,"
                  " update_time = GREATEST(update_time, $2),"
                  " dispatch_started_time = CASE WHEN $3 THEN NULL"
                  " ELSE dispatch_started_time END WHERE seq = $4",
                  Params{PgTime(next_attempt_time), PgTime(attempt.event_time),
                         PgBool(outcome_known), PgInt(seq)})
            .status());
    const MessageStatus report_status =
        attempt.status == MessageStatus::kUnspecified ? current
                                                      : attempt.status;
    return InsertReport(
        c, seq,
        attempt.provider_sid.empty() ? provider_sid : attempt.provider_sid,
        report_status, attempt, ReportSource::kDispatchAttempt,
        /*applied=*/false);
  });
}

absl::StatusOr<int64_t> PgMessageStore::PendingSegments(
    absl::string_view our_number) {
  int64_t segments = 0;
  SMSGW_RETURN_IF_ERROR(
      pool_->WithConnection([&](PgConnection& c) -> absl::Status {
        // Literal status and direction: the partial index
        // messages_pending_sender serves them.
        SMSGW_ASSIGN_OR_RETURN(
            PgResult r,
            c.Execute("SELECT COALESCE(SUM(GREATEST(num_segments, 1)), 0)"
                      " FROM messages WHERE status = 1 AND direction = 1"
                      " AND our_number = $1",
                      Params{std::string(our_number)}));
        segments = r.rows() > 0 ? r.Int(0, 0) : 0;
        return absl::OkStatus();
      }));
  return segments;
}

absl::StatusOr<std::vector<Message>> PgMessageStore::ListDueScheduled(
    absl::Time now, int limit) {
  SMSGW_RETURN_IF_ERROR(common::CheckLimit(limit));
  return pg_message_internal::ListMessages(
      *pool_,
      SelectMessagesSql("WHERE m.status = 2 AND m.next_attempt_time <= $1"
                        " AND m.direction = 1"
                        " ORDER BY m.next_attempt_time, m.seq LIMIT $2"),
      Params{PgTime(now), PgInt(limit)});
}

absl::StatusOr<std::optional<Message>> PgMessageStore::ReleaseScheduled(
    absl::string_view id, absl::Time now) {
  std::optional<Message> released;
  SMSGW_RETURN_IF_ERROR(
      Write([&](PgConnection& c) -> absl::Status {
        released.reset();
        SMSGW_ASSIGN_OR_RETURN(Message message,
                               MustLoadMessage(c, id, /*lock=*/true));
        SMSGW_ASSIGN_OR_RETURN(
            bool moved, LeaveScheduled(c, message, MessageStatus::kPending, now,
                                       "scheduled time reached"));
        if (moved) {
          if (const int64_t claimant = claimant_.load(); claimant != 0) {
            SMSGW_RETURN_IF_ERROR(
                c.Execute("UPDATE messages SET claimed_by = $1 WHERE seq = $2",
                          Params{PgInt(claimant), PgInt(message.seq)})
                    .status());
          }
          SMSGW_ASSIGN_OR_RETURN(released, MustLoadMessage(c, id, false));
        }
        return absl::OkStatus();
      }));
  return released;
}

absl::StatusOr<Message> PgMessageStore::CancelScheduled(absl::string_view id,
                                                        absl::Time now) {
  Message result;
  SMSGW_RETURN_IF_ERROR(Write([&](PgConnection& c) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(Message message,
                           MustLoadMessage(c, id, /*lock=*/true));
    SMSGW_ASSIGN_OR_RETURN(
        bool moved, LeaveScheduled(c, message, MessageStatus::kCanceled, now,
                                   "canceled before its scheduled time"));
    if (!moved) {
      return absl::FailedPreconditionError(absl::StrCat(
          "message ", id, " is ", common::LifecycleName(message.status),
          ", not SCHEDULED: only a scheduled message that has not been handed "
          "to the provider can be canceled"));
    }
    SMSGW_ASSIGN_OR_RETURN(result, MustLoadMessage(c, id, false));
    return absl::OkStatus();
  }));
  return result;
}

// --- Status updates ---

absl::StatusOr<Message> PgMessageStore::ApplyStatus(
    absl::string_view id, const StatusUpdate& update) {
  if (update.status == MessageStatus::kUnspecified) {
    return absl::InvalidArgumentError("status update has no status");
  }
  Message after;
  SMSGW_RETURN_IF_ERROR(Write([&](PgConnection& c) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(Message before,
                           MustLoadMessage(c, id, /*lock=*/true));
    if (before.provider_sid.empty() && !update.provider_sid.empty()) {
      // This update may store the SID: hold it against callbacks by SID,
      // so none is parked after we read the parked ones.
      SMSGW_RETURN_IF_ERROR(LockSid(c, update.provider_sid));
    }
    bool parked_due = false;
    SMSGW_ASSIGN_OR_RETURN(
        after, ApplyStatusInTx(c, before, update, std::nullopt, &parked_due));
    if (parked_due) {
      SMSGW_ASSIGN_OR_RETURN(after, ApplyParkedReports(c, after));
    }
    if (ClearsDispatchMarker(after)) {
      SMSGW_RETURN_IF_ERROR(
          c.Execute("UPDATE messages SET dispatch_started_time = NULL"
                    " WHERE seq = $1",
                    Params{PgInt(after.seq)})
              .status());
      after.dispatch_started_time.reset();
    }
    return absl::OkStatus();
  }));
  return after;
}

absl::StatusOr<std::optional<Message>> PgMessageStore::ApplyStatusBySid(
    absl::string_view provider_sid, const StatusUpdate& update) {
  if (update.status == MessageStatus::kUnspecified) {
    return absl::InvalidArgumentError("status update has no status");
  }
  if (provider_sid.empty()) {
    return absl::InvalidArgumentError("status update has no provider sid");
  }
  std::optional<Message> after;
  SMSGW_RETURN_IF_ERROR(
      Write([&](PgConnection& c) -> absl::Status {
        after.reset();
        SMSGW_RETURN_IF_ERROR(LockSid(c, provider_sid));
        SMSGW_ASSIGN_OR_RETURN(PgResult find,
                               c.Execute("SELECT id FROM messages WHERE"
                                         " provider_sid = $1 FOR UPDATE",
                                         Params{std::string(provider_sid)}));
        if (DisposeCallback(find.rows() > 0) == CallbackDisposition::kPark) {
          return InsertReport(c, /*message_seq=*/0, provider_sid, update.status,
                              update, update.source, /*applied=*/false);
        }
        SMSGW_ASSIGN_OR_RETURN(Message before,
                               MustLoadMessage(c, find.Text(0, 0), false));
        SMSGW_ASSIGN_OR_RETURN(after, ApplyStatusInTx(c, before, update));
        return absl::OkStatus();
      }));
  return after;
}

absl::StatusOr<std::vector<StatusCheck>> PgMessageStore::ListDueStatusChecks(
    absl::Time now, absl::Duration first_check_after, int limit) {
  SMSGW_RETURN_IF_ERROR(
      common::CheckStatusCheckQuery(limit, first_check_after));
  // Both lists in one statement, hence one snapshot: a check recorded
  // meanwhile cannot put a message in neither or both. The WHERE repeats
  // the partial index messages_status_check.
  constexpr char kIndexed[] =
      " FROM messages WHERE direction = 1 AND status IN (3, 4, 5) AND"
      " provider_sid IS NOT NULL AND"
      " (next_status_check_time IS NOT NULL OR status_checks = 0) AND ";
  const std::string sql = absl::StrCat(
      "SELECT * FROM ((SELECT id, provider_sid, status,"
      " COALESCE(send_time, create_time) AS accepted, status_checks,"
      " send_time + $3 AS due",
      kIndexed,
      "next_status_check_time IS NULL AND status_checks = 0 AND"
      " send_time <= $1 ORDER BY send_time LIMIT $2)"
      " UNION ALL (SELECT id, provider_sid, status,"
      " COALESCE(send_time, create_time), status_checks,"
      " next_status_check_time",
      kIndexed,
      "next_status_check_time <= $4 ORDER BY next_status_check_time"
      " LIMIT $2)) AS due ORDER BY due LIMIT $2");
  std::vector<StatusCheck> due;
  SMSGW_RETURN_IF_ERROR(
      pool_->WithConnection([&](PgConnection& c) -> absl::Status {
        SMSGW_ASSIGN_OR_RETURN(
            PgResult r,
            c.Execute(sql,
                      Params{PgTime(now - first_check_after), PgInt(limit),
                             PgInt(absl::ToInt64Microseconds(first_check_after)),
                             PgTime(now)}));
        for (int i = 0; i < r.rows(); ++i) {
          StatusCheck check;
          check.message_id = r.Text(i, 0);
          check.provider_sid = r.Text(i, 1);
          check.status = static_cast<MessageStatus>(r.Int(i, 2));
          check.accepted_time = r.Time(i, 3);
          check.checks = static_cast<int>(r.Int(i, 4));
          check.due_time = r.Time(i, 5);
          due.push_back(std::move(check));
        }
        return absl::OkStatus();
      }));
  return due;
}

absl::Status PgMessageStore::RecordStatusCheck(
    absl::string_view id, std::optional<absl::Time> next_check_time) {
  return Write([&](PgConnection& c) -> absl::Status {
    SMSGW_ASSIGN_OR_RETURN(
        PgResult r,
        c.Execute("UPDATE messages SET status_checks = status_checks + 1,"
                  " next_status_check_time = $1 WHERE id = $2",
                  Params{PgOptTime(next_check_time), std::string(id)}));
    if (r.affected() == 0) {
      return absl::NotFoundError(absl::StrCat("no message with id ", id));
    }
    return absl::OkStatus();
  });
}

// --- Inbound messages and opt-outs ---

absl::StatusOr<CreateResult> PgMessageStore::InsertInbound(
    const Message& message) {
  SMSGW_RETURN_IF_ERROR(common::ValidateNewInbound(message));
  CreateResult result;
  SMSGW_RETURN_IF_ERROR(
      Write([&](PgConnection& c) -> absl::Status {
        result = CreateResult();
        // Twilio retries a webhook it did not get a 2xx for, possibly to
        // another replica at the same moment: the SID's lock orders them.
        SMSGW_RETURN_IF_ERROR(LockSid(c, message.provider_sid));
        SMSGW_ASSIGN_OR_RETURN(PgResult find,
                               c.Execute("SELECT id FROM messages WHERE"
                                         " provider_sid = $1",
                                         Params{message.provider_sid}));
        if (find.rows() > 0) {
          SMSGW_ASSIGN_OR_RETURN(result.message,
                                 MustLoadMessage(c, find.Text(0, 0), false));
          result.replayed = true;
          return absl::OkStatus();
        }
        SMSGW_ASSIGN_OR_RETURN(int64_t seq, InsertMessageRow(c, message, ""));
        if (message.owner_id != 0 && !message.conversation_id.empty()) {
          SMSGW_RETURN_IF_ERROR(UpsertConversation(c, message, seq));
        }
        SMSGW_RETURN_IF_ERROR(InsertReport(
            c, seq, message.provider_sid, message.status,
            common::InboundReport(message), ReportSource::kStatusCallback,
            /*applied=*/true));
        SMSGW_RETURN_IF_ERROR(AppendFeed(c, message.owner_id, message.id,
                                         FeedEventType::kInbound,
                                         message.create_time));
        SMSGW_ASSIGN_OR_RETURN(result.message,
                               MustLoadMessage(c, message.id, false));
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<std::optional<ConversationRef>>
PgMessageStore::FindLatestConversation(absl::string_view peer,
                                       absl::string_view our_number) {
  std::optional<ConversationRef> found;
  SMSGW_RETURN_IF_ERROR(
      pool_->WithConnection([&](PgConnection& c) -> absl::Status {
        SMSGW_ASSIGN_OR_RETURN(
            PgResult r,
            c.Execute("SELECT c.owner_id, c.conversation_id, u.username"
                      " FROM conversations c JOIN users u ON u.id = c.owner_id"
                      " WHERE c.peer_number = $1 AND c.our_number = $2"
                      " ORDER BY c.update_time DESC LIMIT 1",
                      Params{std::string(peer), std::string(our_number)}));
        if (r.rows() > 0) {
          found = ConversationRef{r.Int(0, 0), r.Text(0, 1), r.Text(0, 2)};
        }
        return absl::OkStatus();
      }));
  return found;
}

absl::Status PgMessageStore::SetOptOut(absl::string_view peer,
                                       absl::string_view our_number,
                                       absl::string_view keyword,
                                       absl::Time time) {
  return Write([&](PgConnection& c) -> absl::Status {
    return c
        .Execute(
            "INSERT INTO opt_outs(peer_number, our_number, keyword,"
            " create_time) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (peer_number, our_number) DO UPDATE SET"
            " keyword = excluded.keyword,"
            " create_time = excluded.create_time",
            Params{std::string(peer), std::string(our_number),
                   std::string(keyword), PgTime(time)})
        .status();
  });
}

absl::Status PgMessageStore::ClearOptOut(absl::string_view peer,
                                         absl::string_view our_number) {
  return Write([&](PgConnection& c) -> absl::Status {
    return c
        .Execute(
            "DELETE FROM opt_outs WHERE peer_number = $1 AND"
            " our_number = $2",
            Params{std::string(peer), std::string(our_number)})
        .status();
  });
}

absl::StatusOr<bool> PgMessageStore::IsOptedOut(absl::string_view peer,
                                                absl::string_view our_number) {
  bool opted_out = false;
  SMSGW_RETURN_IF_ERROR(
      pool_->WithConnection([&](PgConnection& c) -> absl::Status {
        SMSGW_ASSIGN_OR_RETURN(
            PgResult r,
            c.Execute("SELECT 1 FROM opt_outs WHERE peer_number = $1 AND"
                      " our_number = $2",
                      Params{std::string(peer), std::string(our_number)}));
        opted_out = r.rows() > 0;
        return absl::OkStatus();
      }));
  return opted_out;
}

}  // namespace smsgw::storage::postgres

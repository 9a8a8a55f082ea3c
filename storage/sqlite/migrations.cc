#include "storage/sqlite/migrations.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace smsgw::storage::sqlite {
namespace {

// Times are INTEGER microseconds since the Unix epoch (UTC). Enumerations are
// stored as the small integers of storage/records.h, never reordered.
constexpr char kInitialSchema[] = R"sql(
CREATE TABLE users (
  id             INTEGER PRIMARY KEY,
  username       TEXT NOT NULL UNIQUE,
  password_hash  TEXT NOT NULL,
  phone_number   TEXT,
  phone_verified INTEGER NOT NULL DEFAULT 0,
  is_admin       INTEGER NOT NULL DEFAULT 0,
  create_time    INTEGER NOT NULL,
  update_time    INTEGER NOT NULL
);
-- A phone number is verified by one user at a time.
CREATE UNIQUE INDEX users_verified_phone ON users(phone_number)
  WHERE phone_verified = 1;

CREATE TABLE groups (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
  description TEXT NOT NULL DEFAULT '',
  create_time INTEGER NOT NULL
);

CREATE TABLE group_members (
  group_id     INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  proxy_number TEXT NOT NULL,
  join_time    INTEGER NOT NULL,
  PRIMARY KEY (group_id, user_id),
  -- A number identifies one group per user.
  UNIQUE (user_id, proxy_number)
);

-- One row per (owner, conversation label).
CREATE TABLE conversations (
  owner_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  conversation_id TEXT NOT NULL,
  peer_number     TEXT NOT NULL,
  our_number      TEXT NOT NULL DEFAULT '',
  last_message_seq INTEGER,
  message_count   INTEGER NOT NULL DEFAULT 0,
  update_time     INTEGER NOT NULL,
  PRIMARY KEY (owner_id, conversation_id)
);
CREATE INDEX conversations_peer ON conversations(peer_number, our_number, update_time);
CREATE INDEX conversations_owner_time ON conversations(owner_id, update_time);

CREATE TABLE messages (
  seq                   INTEGER PRIMARY KEY,
  id                    TEXT NOT NULL UNIQUE,
  owner_id              INTEGER REFERENCES users(id) ON DELETE CASCADE,
  conversation_id       TEXT NOT NULL DEFAULT '',
  group_id              INTEGER REFERENCES groups(id) ON DELETE SET NULL,
  group_name            TEXT NOT NULL DEFAULT '',
  parent_id             TEXT,
  direction             INTEGER NOT NULL,
  from_number           TEXT NOT NULL,
  to_number             TEXT NOT NULL,
  peer_number           TEXT NOT NULL,
  our_number            TEXT NOT NULL DEFAULT '',
  messaging_service_sid TEXT NOT NULL DEFAULT '',
  body                  TEXT NOT NULL,
  media_urls            TEXT NOT NULL DEFAULT '',
  media_content_types   TEXT NOT NULL DEFAULT '',
  status                INTEGER NOT NULL,
  provider_sid          TEXT UNIQUE,
  error_code            INTEGER,
  error_message         TEXT NOT NULL DEFAULT '',
  num_segments          INTEGER NOT NULL DEFAULT 0,
  encoding              INTEGER NOT NULL DEFAULT 0,
  price                 TEXT NOT NULL DEFAULT '',
  price_unit            TEXT NOT NULL DEFAULT '',
  idempotency_key       TEXT NOT NULL DEFAULT '',
  attempts              INTEGER NOT NULL DEFAULT 0,
  next_attempt_time     INTEGER,
  extra                 TEXT NOT NULL DEFAULT '',
  create_time           INTEGER NOT NULL,
  scheduled_time        INTEGER,
  send_time             INTEGER,
  deliver_time          INTEGER,
  update_time           INTEGER NOT NULL
);
CREATE INDEX messages_owner_seq ON messages(owner_id, seq);
CREATE INDEX messages_owner_conversation_seq ON messages(owner_id, conversation_id, seq);
CREATE INDEX messages_owner_peer_seq ON messages(owner_id, peer_number, seq);
CREATE INDEX messages_group_seq ON messages(group_id, seq);
-- The dispatcher's work list: only messages still waiting for the provider.
CREATE INDEX messages_dispatch ON messages(status, next_attempt_time)
  WHERE status IN (1, 2);

-- Full-text index over bodies (external content: the text lives once).
CREATE VIRTUAL TABLE messages_fts USING fts5(
  body, content='messages', content_rowid='seq', tokenize='unicode61');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(rowid, body) VALUES (new.seq, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.seq, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.seq, old.body);
  INSERT INTO messages_fts(rowid, body) VALUES (new.seq, new.body);
END;

-- Status history: every provider answer, status callback and dispatch attempt.
-- message_seq is NULL for a callback whose MessageSid is not known (yet).
CREATE TABLE message_events (
  id                INTEGER PRIMARY KEY,
  message_seq       INTEGER REFERENCES messages(seq) ON DELETE CASCADE,
  provider_sid      TEXT NOT NULL DEFAULT '',
  status            INTEGER NOT NULL,
  provider_status   TEXT NOT NULL DEFAULT '',
  error_code        INTEGER,
  error_message     TEXT NOT NULL DEFAULT '',
  raw_dlr_done_date TEXT NOT NULL DEFAULT '',
  source            INTEGER NOT NULL,
  applied           INTEGER NOT NULL DEFAULT 0,
  http_status       INTEGER NOT NULL DEFAULT 0,
  detail            TEXT NOT NULL DEFAULT '',
  event_time        INTEGER NOT NULL
);
CREATE INDEX message_events_message ON message_events(message_seq, id);
CREATE INDEX message_events_unmatched ON message_events(provider_sid)
  WHERE message_seq IS NULL;

-- What watchers see, in commit order; `cursor` is the WatchMessages cursor.
CREATE TABLE message_feed (
  cursor      INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_id    INTEGER NOT NULL,
  message_id  TEXT NOT NULL,
  type        INTEGER NOT NULL,
  event_time  INTEGER NOT NULL
);
CREATE INDEX message_feed_owner ON message_feed(owner_id, cursor);

CREATE TABLE idempotency_keys (
  owner_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  message_id   TEXT NOT NULL,
  create_time  INTEGER NOT NULL,
  PRIMARY KEY (owner_id, key)
);

-- (peer, our number) pairs that texted an opt-out keyword (Twilio 21610).
CREATE TABLE opt_outs (
  peer_number TEXT NOT NULL,
  our_number  TEXT NOT NULL,
  keyword     TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  PRIMARY KEY (peer_number, our_number)
);

CREATE TABLE phone_verifications (
  id           INTEGER PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  phone_number TEXT NOT NULL,
  code_hash    TEXT NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  used         INTEGER NOT NULL DEFAULT 0,
  create_time  INTEGER NOT NULL,
  expire_time  INTEGER NOT NULL
);
CREATE INDEX phone_verifications_user ON phone_verifications(user_id, create_time);
)sql";

// A DELETED event must still tell watchers which conversation the message was
// in (for their filter) and what it had become; rows from before this
// migration read as '' and UNSPECIFIED.
constexpr char kWatchFeedColumns[] = R"sql(
ALTER TABLE message_feed ADD COLUMN conversation_id TEXT NOT NULL DEFAULT '';
ALTER TABLE message_feed ADD COLUMN status INTEGER NOT NULL DEFAULT 0;
)sql";

// Durable dispatch: set in its own committed transaction just before each
// provider create call and cleared when the provider's answer is stored, so
// that after a crash a set value means "a create may have reached the
// provider": the dispatcher reconciles with the provider before sending again.
constexpr char kDispatchStarted[] = R"sql(
ALTER TABLE messages ADD COLUMN dispatch_started_time INTEGER;
)sql";

// The backlog bound counts a sender's PENDING outbound segments on every
// send; without this index that count scanned the whole messages table.
// Partial, so it holds only messages waiting for the provider. The literals
// must match storage::MessageStatus::kPending (1) and Direction::kOutbound (1)
// and the query in SqliteMessageStore::PendingSegments, or SQLite cannot use
// the index.
constexpr char kPendingBySender[] = R"sql(
CREATE INDEX messages_pending_sender ON messages(our_number, num_segments)
  WHERE status = 1 AND direction = 1;
)sql";

// Sending policy: the priority lane of an outbound message (smsgw.v1
// MessagePriority numbers; 2 = NORMAL for every older row) and the end of
// its validity period (NULL = none).
constexpr char kPriorityAndValidity[] = R"sql(
ALTER TABLE messages ADD COLUMN priority INTEGER NOT NULL DEFAULT 2;
ALTER TABLE messages ADD COLUMN expire_time INTEGER;
)sql";

// Lost status callbacks (issue 17): Twilio does not retry a callback that
// failed, so a non-final outbound message is fetched from Twilio on a
// schedule (server/dispatch/status_reconciler.h). NULL next_status_check_time
// with status_checks 0 means "never checked": the first check is due a
// configured time after send_time, which is a setting, not a column, so it is
// not written per message. NULL with status_checks > 0 means "stopped" (final
// at Twilio, 20404, or given up after 72 h), and the partial index leaves
// such rows out: it holds only the messages still to be asked about. The
// literals must match storage::MessageStatus (QUEUED 3, SENDING 4, SENT 5),
// Direction::kOutbound (1) and the queries in
// SqliteMessageStore::ListDueStatusChecks, or SQLite cannot use the index.
constexpr char kStatusChecks[] = R"sql(
ALTER TABLE messages ADD COLUMN next_status_check_time INTEGER;
ALTER TABLE messages ADD COLUMN status_checks INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_status_check
  ON messages(next_status_check_time, send_time)
  WHERE direction = 1 AND status IN (3, 4, 5) AND provider_sid IS NOT NULL
    AND (next_status_check_time IS NOT NULL OR status_checks = 0);
)sql";

// Abuse controls (issue 18): one row per counted event (a sign-up attempt,
// a verification code) under its key, for sliding-window limits that every
// replica on the database shares (storage/rate_limit_store.h). expire_time
// is event_time plus the window of the limit that recorded it: rows past it
// count for nothing and are deleted in small batches.
constexpr char kRateEvents[] = R"sql(
CREATE TABLE rate_events (
  key TEXT NOT NULL,
  event_time INTEGER NOT NULL,
  expire_time INTEGER NOT NULL
);
CREATE INDEX rate_events_key_time ON rate_events(key, event_time);
CREATE INDEX rate_events_expire ON rate_events(expire_time);
)sql";

// Per-user daily quotas (issue 18): a user's own quota (NULL = the server's
// SMSGW_DAILY_SEGMENTS_PER_USER), and the segments charged to each user per
// UTC day (day_start: 00:00 UTC in microseconds), updated in the same
// transaction as the messages they pay for, so concurrent sends cannot
// overdraw a quota and deleting messages gives nothing back.
constexpr char kSegmentQuotas[] = R"sql(
ALTER TABLE users ADD COLUMN daily_segment_quota INTEGER;
CREATE TABLE segment_usage (
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  day_start INTEGER NOT NULL,
  segments INTEGER NOT NULL,
  PRIMARY KEY (user_id, day_start)
);
)sql";

// API keys (issue 16): long-lived, scoped credentials of a user. The secret
// is kept only as its SHA-256 (secret_hash, unique, so a call finds its key
// by one index probe); scopes are space-separated.
constexpr char kApiKeys[] = R"sql(
CREATE TABLE api_keys (
  id            TEXT PRIMARY KEY,
  user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  scopes        TEXT NOT NULL,
  secret_hash   TEXT NOT NULL UNIQUE,
  create_time   INTEGER NOT NULL,
  last_use_time INTEGER,
  UNIQUE (user_id, name)
);
)sql";

// Outbound event webhooks (issue 16 §2): each endpoint's position in the
// message feed (the feed is the durable queue: delivered_cursor moves only
// after a 2xx), the retry state of its head event, and a log of its recent
// attempts (the store keeps the last 100 per endpoint). event_types is a
// comma-separated list, empty for all.
constexpr char kEventWebhooks[] = R"sql(
CREATE TABLE webhook_endpoints (
  id                 INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  url                TEXT NOT NULL,
  event_types        TEXT NOT NULL DEFAULT '',
  description        TEXT NOT NULL DEFAULT '',
  secret             TEXT NOT NULL,
  previous_secret    TEXT NOT NULL DEFAULT '',
  previous_secret_expire_time INTEGER,
  enabled            INTEGER NOT NULL DEFAULT 1,
  disabled_reason    TEXT NOT NULL DEFAULT '',
  delivered_cursor   INTEGER NOT NULL,
  attempts           INTEGER NOT NULL DEFAULT 0,
  next_attempt_time  INTEGER,
  first_failure_time INTEGER,
  create_time        INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_owner ON webhook_endpoints(owner_id, id);
CREATE TABLE webhook_deliveries (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  endpoint_id  INTEGER NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  webhook_id   TEXT NOT NULL,
  event_type   TEXT NOT NULL,
  cursor       INTEGER NOT NULL,
  attempt      INTEGER NOT NULL,
  http_status  INTEGER NOT NULL,
  error        TEXT NOT NULL DEFAULT '',
  success      INTEGER NOT NULL,
  duration_us  INTEGER NOT NULL,
  attempt_time INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);
)sql";

// Issue 13 §3: the replica whose dispatcher owns a PENDING message. One
// server uses a SQLite file, so it stays NULL unless a claimant is set
// (DispatchQueueStore::SetClaimant); kept so that both engines share one
// message column list and one claim contract.
constexpr char kDispatchClaims[] = R"sql(
ALTER TABLE messages ADD COLUMN claimed_by INTEGER;
)sql";

// The owner inside the full-text index (issue 14, target 4). The index of
// version 1 knew only bodies, so a user's search matched every user's
// messages first (28 k rows for a word in 3 % of 1 M bodies) and then kept
// the user's own: ~23 ms a call whatever the user's share. With the owner as
// a column of its own, FTS5 intersects the owner's doclist with the words'
// and returns only the user's matches. Contentless (content=''): the body
// lives once, in messages; the triggers hand FTS5 the old values for its
// 'delete' command, which is how a contentless table forgets a row.
// columnsize=0: no per-row size record, bm25 is not used (results are
// ordered by seq). Rebuilding the index costs one pass over messages, once,
// at the first start of this version (about a minute for 1 M messages).
constexpr char kOwnerInSearchIndex[] = R"sql(
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(
  owner, body, content='', columnsize=0, tokenize='unicode61');
INSERT INTO messages_fts(rowid, owner, body)
  SELECT seq, owner_id, body FROM messages;
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(rowid, owner, body)
    VALUES (new.seq, new.owner_id, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, owner, body)
    VALUES ('delete', old.seq, old.owner_id, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF owner_id, body ON messages
BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, owner, body)
    VALUES ('delete', old.seq, old.owner_id, old.body);
  INSERT INTO messages_fts(rowid, owner, body)
    VALUES (new.seq, new.owner_id, new.body);
END;
)sql";

}  // namespace

const std::vector<Migration>& AllMigrations() {
  static const auto* migrations = new std::vector<Migration>{
      {1, "initial schema", kInitialSchema},
      {2, "watch feed conversation and status", kWatchFeedColumns},
      {3, "dispatch in-flight marker", kDispatchStarted},
      {4, "pending segments by sender", kPendingBySender},
      {5, "priority and validity period", kPriorityAndValidity},
      {6, "status checks of non-final messages", kStatusChecks},
      {7, "rate limit events", kRateEvents},
      {8, "daily segment quotas", kSegmentQuotas},
      {9, "api keys", kApiKeys},
      {10, "event webhooks", kEventWebhooks},
      {11, "dispatch claims", kDispatchClaims},
      {12, "owner in the search index", kOwnerInSearchIndex},
  };
  return *migrations;
}

absl::StatusOr<int> ApplyMigrations(Connection& conn,
                                    const std::vector<Migration>& migrations) {
  SMSGW_RETURN_IF_ERROR(conn.Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
      " applied_time INTEGER NOT NULL)"));
  int current = 0;
  {
    SMSGW_ASSIGN_OR_RETURN(
        Statement stmt,
        conn.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) current = static_cast<int>(stmt.Int(0));
  }
  return ApplyNewerMigrations(
      current, migrations, [&conn](const Migration& m) -> absl::Status {
        absl::Status status = conn.Exec("BEGIN IMMEDIATE");
        if (status.ok()) status = conn.Exec(m.sql);
        if (status.ok()) {
          absl::StatusOr<Statement> record = conn.Prepare(
              "INSERT INTO schema_migrations(version, name, applied_time) "
              "VALUES (?, ?, ?)");
          status = record.ok() ? record->Bind(1, m.version)
                                     .Bind(2, m.name)
                                     .Bind(3, absl::Now())
                                     .Run()
                               : record.status();
        }
        if (status.ok()) status = conn.Exec("COMMIT");
        if (!status.ok()) (void)conn.Exec("ROLLBACK");
        return status;
      });
}

}  // namespace smsgw::storage::sqlite
#include "storage/postgres/pg_migrations.h"

namespace smsgw::storage::postgres {
namespace {

// Accounts and their API keys (UserStore): the columns and constraints of
// SQLite's users and api_keys tables.
constexpr char kUsers[] = R"sql(
CREATE TABLE users (
  id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username            TEXT NOT NULL UNIQUE,
  password_hash       TEXT NOT NULL,
  phone_number        TEXT,
  phone_verified      BOOLEAN NOT NULL DEFAULT false,
  is_admin            BOOLEAN NOT NULL DEFAULT false,
  daily_segment_quota BIGINT,
  create_time         BIGINT NOT NULL,
  update_time         BIGINT NOT NULL
);
-- A phone number is verified by one user at a time.
CREATE UNIQUE INDEX users_verified_phone ON users(phone_number)
  WHERE phone_verified;

CREATE TABLE api_keys (
  id            TEXT PRIMARY KEY,
  user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  scopes        TEXT NOT NULL,
  secret_hash   TEXT NOT NULL UNIQUE,
  create_time   BIGINT NOT NULL,
  last_use_time BIGINT,
  UNIQUE (user_id, name)
);
)sql";

// Sliding-window abuse counters (RateLimitStore), as SQLite's rate_events;
// Admit() serialises on an advisory lock per key instead of SQLite's one
// writer.
constexpr char kRateEvents[] = R"sql(
CREATE TABLE rate_events (
  key         TEXT NOT NULL,
  event_time  BIGINT NOT NULL,
  expire_time BIGINT NOT NULL
);
CREATE INDEX rate_events_key_time ON rate_events(key, event_time);
CREATE INDEX rate_events_expire ON rate_events(expire_time);
)sql";

// Groups, memberships with proxy numbers, and phone verification codes
// (GroupStore, PhoneVerificationStore), as SQLite's tables. SQLite's
// `name COLLATE NOCASE` (ASCII-only case folding) is lower() under the "C"
// collation, which also folds ASCII only: both engines call the same names
// equal and sort them alike.
constexpr char kGroups[] = R"sql(
CREATE TABLE groups (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  create_time BIGINT NOT NULL
);
CREATE UNIQUE INDEX groups_name_nocase ON groups (lower(name COLLATE "C"));

CREATE TABLE group_members (
  group_id     BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  proxy_number TEXT NOT NULL,
  join_time    BIGINT NOT NULL,
  -- Order of joining among equal join times (SQLite's rowid).
  seq          BIGINT GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (group_id, user_id),
  -- A number identifies one group per user.
  UNIQUE (user_id, proxy_number)
);

CREATE TABLE phone_verifications (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  phone_number TEXT NOT NULL,
  code_hash    TEXT NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  used         BOOLEAN NOT NULL DEFAULT false,
  create_time  BIGINT NOT NULL,
  expire_time  BIGINT NOT NULL
);
CREATE INDEX phone_verifications_user ON phone_verifications(user_id, create_time);
)sql";

// Messages and everything MessageStore keeps with them, as SQLite's tables
// of migrations 1-8 (same columns, same names, same enum numbers). Text that
// is compared or ordered is COLLATE "C" (SQLite's BINARY), whatever the
// cluster's locale.
//
// Search: body_tsv is the body folded as smsgw_fold() does it (unaccent,
// then ICU lower() for every script, like FTS5's unicode61) and split by
// the 'simple' configuration; PgMessageStore::List() folds the query's
// words the same way (storage/search_query.h). unaccent is a trusted
// extension: the database owner may create it.
//
// The watch feed is a sequenced outbox (issue 13): writers insert into
// feed_outbox inside their transaction; a sequencer step, one at a time
// under an advisory lock, moves committed outbox rows into message_feed
// with the next cursors from feed_head, so cursors are gap-free and a
// reader past cursor c never sees a later row at or below c
// (PgMessageStore::SequenceFeed()).
constexpr char kMessages[] = R"sql(
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE FUNCTION smsgw_fold(text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$ SELECT lower(unaccent('unaccent'::regdictionary, $1) COLLATE "und-x-icu") $$;

CREATE TABLE conversations (
  owner_id         BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  conversation_id  TEXT COLLATE "C" NOT NULL,
  peer_number      TEXT COLLATE "C" NOT NULL,
  our_number       TEXT COLLATE "C" NOT NULL DEFAULT '',
  last_message_seq BIGINT,
  message_count    BIGINT NOT NULL DEFAULT 0,
  update_time      BIGINT NOT NULL,
  PRIMARY KEY (owner_id, conversation_id)
);
CREATE INDEX conversations_peer ON conversations(peer_number, our_number, update_time);
CREATE INDEX conversations_owner_time ON conversations(owner_id, update_time);

CREATE TABLE messages (
  seq                    BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  id                     TEXT COLLATE "C" NOT NULL UNIQUE,
  owner_id               BIGINT REFERENCES users(id) ON DELETE CASCADE,
  conversation_id        TEXT COLLATE "C" NOT NULL DEFAULT '',
  group_id               BIGINT REFERENCES groups(id) ON DELETE SET NULL,
  group_name             TEXT NOT NULL DEFAULT '',
  direction              SMALLINT NOT NULL,
  from_number            TEXT COLLATE "C" NOT NULL,
  to_number              TEXT COLLATE "C" NOT NULL,
  peer_number            TEXT COLLATE "C" NOT NULL,
  our_number             TEXT COLLATE "C" NOT NULL DEFAULT '',
  messaging_service_sid  TEXT NOT NULL DEFAULT '',
  body                   TEXT NOT NULL,
  body_tsv               tsvector GENERATED ALWAYS AS
                           (to_tsvector('simple', smsgw_fold(body))) STORED,
  media_urls             TEXT NOT NULL DEFAULT '',
  media_content_types    TEXT NOT NULL DEFAULT '',
  status                 SMALLINT NOT NULL,
  provider_sid           TEXT COLLATE "C" UNIQUE,
  error_code             INTEGER,
  error_message          TEXT NOT NULL DEFAULT '',
  num_segments           INTEGER NOT NULL DEFAULT 0,
  encoding               SMALLINT NOT NULL DEFAULT 0,
  price                  TEXT NOT NULL DEFAULT '',
  price_unit             TEXT COLLATE "C" NOT NULL DEFAULT '',
  idempotency_key        TEXT NOT NULL DEFAULT '',
  attempts               INTEGER NOT NULL DEFAULT 0,
  next_attempt_time      BIGINT,
  create_time            BIGINT NOT NULL,
  scheduled_time         BIGINT,
  send_time              BIGINT,
  deliver_time           BIGINT,
  update_time            BIGINT NOT NULL,
  dispatch_started_time  BIGINT,
  priority               SMALLINT NOT NULL DEFAULT 2,
  expire_time            BIGINT,
  next_status_check_time BIGINT,
  status_checks          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX messages_owner_seq ON messages(owner_id, seq);
CREATE INDEX messages_owner_conversation_seq ON messages(owner_id, conversation_id, seq);
CREATE INDEX messages_owner_peer_seq ON messages(owner_id, peer_number, seq);
CREATE INDEX messages_group_seq ON messages(group_id, seq);
CREATE INDEX messages_dispatch ON messages(status, next_attempt_time)
  WHERE status IN (1, 2);
CREATE INDEX messages_pending_sender ON messages(our_number, num_segments)
  WHERE status = 1 AND direction = 1;
CREATE INDEX messages_status_check ON messages(next_status_check_time, send_time)
  WHERE direction = 1 AND status IN (3, 4, 5) AND provider_sid IS NOT NULL
    AND (next_status_check_time IS NOT NULL OR status_checks = 0);
CREATE INDEX messages_body_tsv ON messages USING gin(body_tsv);

CREATE TABLE message_events (
  id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  message_seq       BIGINT REFERENCES messages(seq) ON DELETE CASCADE,
  provider_sid      TEXT COLLATE "C" NOT NULL DEFAULT '',
  status            SMALLINT NOT NULL,
  provider_status   TEXT NOT NULL DEFAULT '',
  error_code        INTEGER,
  error_message     TEXT NOT NULL DEFAULT '',
  raw_dlr_done_date TEXT NOT NULL DEFAULT '',
  source            SMALLINT NOT NULL,
  applied           BOOLEAN NOT NULL DEFAULT false,
  http_status       INTEGER NOT NULL DEFAULT 0,
  event_time        BIGINT NOT NULL
);
CREATE INDEX message_events_message ON message_events(message_seq, id);
CREATE INDEX message_events_unmatched ON message_events(provider_sid)
  WHERE message_seq IS NULL;

CREATE TABLE feed_outbox (
  id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner_id        BIGINT NOT NULL,
  message_id      TEXT COLLATE "C" NOT NULL,
  type            SMALLINT NOT NULL,
  event_time      BIGINT NOT NULL,
  conversation_id TEXT COLLATE "C" NOT NULL DEFAULT '',
  status          SMALLINT NOT NULL DEFAULT 0
);
ALTER TABLE feed_outbox SET (autovacuum_vacuum_scale_factor = 0.0,
                             autovacuum_vacuum_threshold = 1000);
CREATE TABLE message_feed (
  cursor          BIGINT PRIMARY KEY,
  owner_id        BIGINT NOT NULL,
  message_id      TEXT COLLATE "C" NOT NULL,
  type            SMALLINT NOT NULL,
  event_time      BIGINT NOT NULL,
  conversation_id TEXT COLLATE "C" NOT NULL DEFAULT '',
  status          SMALLINT NOT NULL DEFAULT 0
);
CREATE INDEX message_feed_owner ON message_feed(owner_id, cursor);
CREATE TABLE feed_head (
  one         BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
  last_cursor BIGINT NOT NULL
);
INSERT INTO feed_head(last_cursor) VALUES (0);

CREATE TABLE idempotency_keys (
  owner_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  key          TEXT COLLATE "C" NOT NULL,
  request_hash TEXT NOT NULL,
  message_id   TEXT COLLATE "C" NOT NULL,
  create_time  BIGINT NOT NULL,
  PRIMARY KEY (owner_id, key)
);

CREATE TABLE opt_outs (
  peer_number TEXT COLLATE "C" NOT NULL,
  our_number  TEXT COLLATE "C" NOT NULL,
  keyword     TEXT NOT NULL,
  create_time BIGINT NOT NULL,
  PRIMARY KEY (peer_number, our_number)
);

CREATE TABLE segment_usage (
  user_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  day_start BIGINT NOT NULL,
  segments  BIGINT NOT NULL,
  PRIMARY KEY (user_id, day_start)
);
)sql";

// Outbound event webhooks (WebhookStore), as SQLite's migration 10.
constexpr char kEventWebhooks[] = R"sql(
CREATE TABLE webhook_endpoints (
  id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner_id           BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  url                TEXT NOT NULL,
  event_types        TEXT NOT NULL DEFAULT '',
  description        TEXT NOT NULL DEFAULT '',
  secret             TEXT NOT NULL,
  previous_secret    TEXT NOT NULL DEFAULT '',
  previous_secret_expire_time BIGINT,
  enabled            BOOLEAN NOT NULL DEFAULT true,
  disabled_reason    TEXT NOT NULL DEFAULT '',
  delivered_cursor   BIGINT NOT NULL,
  attempts           INTEGER NOT NULL DEFAULT 0,
  next_attempt_time  BIGINT,
  first_failure_time BIGINT,
  create_time        BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_owner ON webhook_endpoints(owner_id, id);
CREATE TABLE webhook_deliveries (
  id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  endpoint_id  BIGINT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  webhook_id   TEXT NOT NULL,
  event_type   TEXT NOT NULL,
  cursor       BIGINT NOT NULL,
  attempt      INTEGER NOT NULL,
  http_status  INTEGER NOT NULL,
  error        TEXT NOT NULL DEFAULT '',
  success      BOOLEAN NOT NULL,
  duration_us  BIGINT NOT NULL,
  attempt_time BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);
)sql";

// Issue 13 §3: several replicas on one database.
// - messages.claimed_by: the replica whose dispatcher owns a PENDING
//   message (DispatchQueueStore::SetClaimant); the sweep's partial index
//   holds only the PENDING outbound rows, so it stays small.
// - smsgw_replica_ids: each server start takes the next one, so a replica
//   that restarts is a new claimant and its old claims are taken over.
// - server_secrets: what every replica must share, such as the JWT key
//   when JWT_SECRET_KEY is not set.
constexpr char kDispatchClaims[] = R"sql(
ALTER TABLE messages ADD COLUMN claimed_by BIGINT;
CREATE INDEX messages_pending_claims ON messages(seq, claimed_by)
  WHERE status = 1 AND direction = 1;
CREATE SEQUENCE smsgw_replica_ids;
CREATE TABLE server_secrets (
  name         TEXT PRIMARY KEY,
  value        TEXT NOT NULL,
  create_time  BIGINT NOT NULL
);
)sql";

}  // namespace

const std::vector<Migration>& AllPgMigrations() {
  static const auto* migrations = new std::vector<Migration>{
      {1, "users and api keys", kUsers},
      {2, "rate limit events", kRateEvents},
      {3, "groups and phone verification", kGroups},
      {4, "messages, reports, the watch feed", kMessages},
      {5, "event webhooks", kEventWebhooks},
      {6, "dispatch claims and shared secrets", kDispatchClaims},
  };
  return *migrations;
}

}  // namespace smsgw::storage::postgres

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

}  // namespace

const std::vector<Migration>& AllPgMigrations() {
  static const auto* migrations = new std::vector<Migration>{
      {1, "users and api keys", kUsers},
      {2, "rate limit events", kRateEvents},
      {3, "groups and phone verification", kGroups},
  };
  return *migrations;
}

}  // namespace smsgw::storage::postgres

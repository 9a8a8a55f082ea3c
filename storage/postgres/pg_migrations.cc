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

}  // namespace

const std::vector<Migration>& AllPgMigrations() {
  static const auto* migrations = new std::vector<Migration>{
      {1, "users and api keys", kUsers},
      {2, "rate limit events", kRateEvents},
  };
  return *migrations;
}

}  // namespace smsgw::storage::postgres

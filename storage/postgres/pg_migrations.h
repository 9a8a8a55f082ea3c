// File: pg_migrations.h
//
// The PostgreSQL schema, as versioned migrations in PostgreSQL's dialect
// (applied by ApplyPgMigrations() under its advisory lock). It grows store
// by store as the PostgreSQL engine does; its numbering is its own, apart
// from SQLite's. Times are BIGINT microseconds since the Unix epoch (UTC),
// as in SQLite, so both engines hold the same exact instants.
#ifndef SMSGW_STORAGE_POSTGRES_PG_MIGRATIONS_H_
#define SMSGW_STORAGE_POSTGRES_PG_MIGRATIONS_H_

#include <vector>

#include "storage/schema_migrations.h"

namespace smsgw::storage::postgres {

// The migrations this binary knows, in order.
const std::vector<Migration>& AllPgMigrations();

}  // namespace smsgw::storage::postgres

#endif  // SMSGW_STORAGE_POSTGRES_PG_MIGRATIONS_H_

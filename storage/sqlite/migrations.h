// File: migrations.h
//
// Versioned schema migrations, applied at start-up. Each migration runs in its
// own transaction together with its row in schema_migrations, so a failure
// leaves the file exactly as it was before that migration.
#ifndef SMSGW_STORAGE_SQLITE_MIGRATIONS_H_
#define SMSGW_STORAGE_SQLITE_MIGRATIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "storage/schema_migrations.h"
#include "storage/sqlite/database.h"

namespace smsgw::storage::sqlite {

using ::smsgw::storage::Migration;

// The migrations this binary knows, in order.
const std::vector<Migration>& AllMigrations();

// Applies the migrations of `migrations` newer than the file's version, on
// `conn` (the writer). Returns the resulting version. FailedPrecondition when
// a migration fails (names the version and SQLite's message; that migration
// is rolled back) or when the file's version is newer than the newest known.
absl::StatusOr<int> ApplyMigrations(
    Connection& conn,
    const std::vector<Migration>& migrations = AllMigrations());

}  // namespace smsgw::storage::sqlite

#endif  // SMSGW_STORAGE_SQLITE_MIGRATIONS_H_

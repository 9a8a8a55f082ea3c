// File: schema_migrations.h
//
// Versioned schema migrations, engine-independent: the list's shape and the
// rule for applying it, so that every engine refuses a newer schema and
// reports a failed migration in the same words. Each engine runs one
// migration (its SQL and its schema_migrations row) in one transaction of
// its own.
#ifndef SMSGW_STORAGE_SCHEMA_MIGRATIONS_H_
#define SMSGW_STORAGE_SCHEMA_MIGRATIONS_H_

#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace smsgw::storage {

struct Migration {
  int version;       // 1, 2, 3… in order, never reused
  const char* name;  // short description, kept in schema_migrations
  const char* sql;   // one or more statements in the engine's dialect
};

// Runs, in order, each of `migrations` newer than `current` (the database's
// version) through `apply`, which must run it and record it in one
// transaction and roll back on error. Returns the version afterwards.
// FailedPrecondition when `current` is newer than the newest migration (a
// newer server ran on this database), or when `apply` fails: "migration N
// (name) failed and was rolled back: <reason>"; the versions before it stay
// applied.
absl::StatusOr<int> ApplyNewerMigrations(
    int current, const std::vector<Migration>& migrations,
    const std::function<absl::Status(const Migration&)>& apply);

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_SCHEMA_MIGRATIONS_H_

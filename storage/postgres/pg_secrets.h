// File: pg_secrets.h
//
// Secrets every replica on one PostgreSQL database must share (issue 13
// §3), kept in the server_secrets table (migration 6): the JWT signing key
// when JWT_SECRET_KEY is not set, so that a token one replica issued is
// valid on every other.
#ifndef SMSGW_STORAGE_POSTGRES_PG_SECRETS_H_
#define SMSGW_STORAGE_POSTGRES_PG_SECRETS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/postgres/pg_database.h"

namespace smsgw::storage::postgres {

// The secret stored under `name`; when there is none yet, stores
// `candidate` first (created at `now`). Replicas starting together agree:
// the first insert wins and every caller gets the winner's value.
// InvalidArgument for an empty name or candidate; Unavailable / Internal
// from the database.
absl::StatusOr<std::string> LoadOrStoreSecret(PgPool& pool,
                                              absl::string_view name,
                                              absl::string_view candidate,
                                              absl::Time now);

}  // namespace smsgw::storage::postgres

#endif  // SMSGW_STORAGE_POSTGRES_PG_SECRETS_H_

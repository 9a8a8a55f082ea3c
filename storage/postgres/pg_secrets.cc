#include "storage/postgres/pg_secrets.h"

#include "common/status_macros.h"

namespace smsgw::storage::postgres {

absl::StatusOr<std::string> LoadOrStoreSecret(PgPool& pool,
                                              absl::string_view name,
                                              absl::string_view candidate,
                                              absl::Time now) {
  if (name.empty() || candidate.empty()) {
    return absl::InvalidArgumentError(
        "a shared secret needs a name and a value");
  }
  std::string value;
  SMSGW_RETURN_IF_ERROR(
      pool.WithConnection([&](PgConnection& c) -> absl::Status {
        // ON CONFLICT DO NOTHING returns no row to the loser, so the read
        // is a second statement; the winner's row is committed by then.
        SMSGW_RETURN_IF_ERROR(
            c.Execute("INSERT INTO server_secrets(name, value, create_time)"
                      " VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                      PgParams{std::string(name), std::string(candidate),
                               PgTime(now)})
                .status());
        SMSGW_ASSIGN_OR_RETURN(
            PgResult r,
            c.Execute("SELECT value FROM server_secrets WHERE name = $1",
                      PgParams{std::string(name)}));
        if (r.rows() == 0) {
          return absl::InternalError("server_secrets lost a stored secret");
        }
        value = r.Text(0, 0);
        return absl::OkStatus();
      }));
  return value;
}

}  // namespace smsgw::storage::postgres

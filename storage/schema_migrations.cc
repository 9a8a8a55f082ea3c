#include "storage/schema_migrations.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace smsgw::storage {

absl::StatusOr<int> ApplyNewerMigrations(
    int current, const std::vector<Migration>& migrations,
    const std::function<absl::Status(const Migration&)>& apply) {
  const int newest = migrations.empty() ? 0 : migrations.back().version;
  if (current > newest) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database schema version ", current,
        " is newer than this smsgw-server knows (", newest,
        "); run a newer server or restore a matching backup"));
  }
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    if (absl::Status status = apply(m); !status.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("migration ", m.version, " (", m.name,
                       ") failed and was rolled back: ", status.message()));
    }
    SMSGW_LOG(kInfo) << "applied migration version=" << m.version << " name=\""
                     << m.name << "\"";
    current = m.version;
  }
  return current;
}

}  // namespace smsgw::storage

#include "storage/group_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace smsgw::storage {

absl::StatusOr<std::string> FirstFreeProxyNumber(
    const std::vector<std::string>& pool, const std::vector<std::string>& used) {
  auto free = std::find_if(pool.begin(), pool.end(), [&](const std::string& n) {
    return std::find(used.begin(), used.end(), n) == used.end();
  });
  if (free == pool.end()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "you are already in ", used.size(),
        " groups, as many as this server has numbers (", pool.size(),
        "): each of your groups needs its own number; leave a group first"));
  }
  return *free;
}

absl::Status NoSuchGroupError(absl::string_view name) {
  return absl::NotFoundError(absl::StrCat("no group named \"", name, "\""));
}

absl::Status TooManyVerificationCodesError(int max_per_window,
                                           absl::Time retry, absl::Time now) {
  const int64_t seconds =
      std::max<int64_t>(1, absl::ToInt64Seconds(retry - now) + 1);
  return absl::ResourceExhaustedError(absl::StrCat(
      "too many verification codes: at most ", max_per_window,
      " per hour; retry in ", seconds, " s (after ",
      absl::FormatTime(absl::RFC3339_sec, retry, absl::UTCTimeZone()), ")"));
}

}  // namespace smsgw::storage

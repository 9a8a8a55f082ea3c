#include "storage/rate_limit_store.h"

#include "absl/strings/str_cat.h"

namespace smsgw::storage {
namespace {

constexpr size_t kMaxKeyBytes = 200;
constexpr absl::Duration kMaxWindow = absl::Hours(24 * 31);

}  // namespace

absl::Status ValidateRateLimits(const std::vector<RateLimit>& limits) {
  if (limits.empty()) {
    return absl::InvalidArgumentError("rate limit: no limits given");
  }
  for (const RateLimit& limit : limits) {
    if (absl::Status key = ValidateRateLimitKey(limit.key); !key.ok()) {
      return key;
    }
    if (limit.max_events < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rate limit ", limit.key, ": max_events must be at least 1"));
    }
    if (limit.window <= absl::ZeroDuration() || limit.window > kMaxWindow) {
      return absl::InvalidArgumentError(absl::StrCat(
          "rate limit ", limit.key, ": window must be within (0, 31 days]"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRateLimitKey(absl::string_view key) {
  if (key.empty() || key.size() > kMaxKeyBytes) {
    return absl::InvalidArgumentError("rate limit: key must be 1 to 200 bytes");
  }
  return absl::OkStatus();
}

void NoteFullLimit(size_t index, absl::Time retry_time, Admission* admission) {
  if (admission->admitted || retry_time > admission->retry_time) {
    admission->limit_index = index;
    admission->retry_time = retry_time;
  }
  admission->admitted = false;
}

}  // namespace smsgw::storage

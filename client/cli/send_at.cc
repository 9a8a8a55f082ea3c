#include "client/cli/send_at.h"

#include <string>

#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"

namespace smsgw::cli {

absl::StatusOr<absl::Time> ParseSendAt(absl::string_view text, absl::Time now) {
  absl::string_view rest = text;
  if (absl::ConsumePrefix(&rest, "+")) {
    absl::Duration ahead;
    // ParseDuration accepts a sign of its own: "+-5m" must not pass.
    if (rest.empty() || rest[0] == '-' || rest[0] == '+' ||
        !absl::ParseDuration(std::string(rest), &ahead) ||
        ahead <= absl::ZeroDuration() || ahead == absl::InfiniteDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--at \"", text, "\": after '+' give a positive duration like 10m "
          "or 2h30m"));
    }
    return now + ahead;
  }
  absl::Time t;
  std::string error;
  if (!text.empty() && absl::ParseTime(absl::RFC3339_full, std::string(text),
                                       absl::UTCTimeZone(), &t, &error)) {
    return t;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--at \"", text, "\" is not a time like 2026-01-02T15:04:05Z or +10m"));
}

}  // namespace smsgw::cli

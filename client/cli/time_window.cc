#include "client/cli/time_window.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace smsgw::cli {
namespace {

constexpr int64_t kMaxDays = 100000;  // ~274 years: beyond any real history

absl::Status BadSince(absl::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat(
      "--since \"", text, "\" is not a period like 7d, 36h or 90m"));
}

}  // namespace

absl::StatusOr<absl::Duration> ParseSince(absl::string_view text) {
  if (text.empty()) return BadSince(text);
  absl::Duration period;
  if (text.back() == 'd') {
    const absl::string_view digits = text.substr(0, text.size() - 1);
    int64_t days = 0;
    // SimpleAtoi alone would accept "+7" and " 7": digits only.
    if (digits.empty() || digits.size() > 6) return BadSince(text);
    for (char c : digits) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
        return BadSince(text);
      }
    }
    if (!absl::SimpleAtoi(digits, &days) || days > kMaxDays) {
      return BadSince(text);
    }
    period = absl::Hours(24 * days);
  } else if (!absl::ParseDuration(std::string(text), &period) ||
             period == absl::InfiniteDuration() ||
             period > absl::Hours(24 * kMaxDays)) {
    return BadSince(text);
  }
  if (period <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--since \"", text, "\" must be a positive period"));
  }
  return period;
}

absl::StatusOr<absl::Time> ParseInstant(absl::string_view text) {
  absl::Time t;
  std::string error;
  const std::string s(text);
  if (s.size() == 10 &&
      absl::ParseTime("%Y-%m-%d", s, absl::UTCTimeZone(), &t, &error)) {
    return t;
  }
  if (absl::ParseTime(absl::RFC3339_full, s, absl::UTCTimeZone(), &t, &error)) {
    return t;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "\"", text, "\" is not a time like 2026-01-02 or 2026-01-02T15:04:05Z"));
}

}  // namespace smsgw::cli

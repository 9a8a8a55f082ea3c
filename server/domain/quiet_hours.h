// File: quiet_hours.h
//
// Quiet hours (SMSGW_QUIET_HOURS, issue 17 item 3): the local hours in which
// a recipient is not sent to. These are pure functions of a window, the
// recipient's zones and an instant; MessagingService applies them when it
// builds an outbound message.
#ifndef SMSGW_SERVER_DOMAIN_QUIET_HOURS_H_
#define SMSGW_SERVER_DOMAIN_QUIET_HOURS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace smsgw::domain {

// A daily window of local wall-clock time, [start, end), in minutes after
// local midnight (0 to 1439). start > end wraps across midnight
// (21:00-08:00); start == end is refused by the parser.
struct QuietHours {
  int start_minute = 0;
  int end_minute = 0;
};

// Parses "HH:MM-HH:MM" (24-hour clock, two digits each, 00:00 to 23:59, no
// spaces). InvalidArgument, saying what is wrong, for anything else and for
// an empty window (start equal to end).
absl::StatusOr<QuietHours> ParseQuietHours(absl::string_view text);

// True when the wall-clock time of `t` in `zone` lies in `hours`.
bool InQuietHours(const QuietHours& hours, absl::TimeZone zone, absl::Time t);

// The earliest instant at or after `now` that lies outside `hours` in every
// zone of `zones` (the strictest reading for a number that spans zones): `now`
// itself when no zone is in quiet hours, otherwise the latest window end among
// the zones that are, repeated until none is. Window ends are local wall-clock
// times, so a DST change moves them in UTC; an end that a spring-forward skips
// is the transition itself, one that a fall-back repeats is its next
// occurrence. Empty `zones` (an unknown number) means `fallback`, the server's
// zone; so do zones whose allowed hours never overlap within two days
// (possible only for a window over 12 hours, since clocks differ by at most
// 12 hours around the day: 20:00-10:00 with Kolkata and Los Angeles). Never
// earlier than `now`.
absl::Time NextAllowedTime(const QuietHours& hours,
                           const std::vector<absl::TimeZone>& zones,
                           absl::Time now, absl::TimeZone fallback);

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_QUIET_HOURS_H_

// File: time_window.h
//
// Parsers for the time flags of `smsgw stats` (--since, --start, --end).
// Outside input: every malformed value is an InvalidArgument naming it.
#ifndef SMSGW_CLIENT_CLI_TIME_WINDOW_H_
#define SMSGW_CLIENT_CLI_TIME_WINDOW_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace smsgw::cli {

// A positive look-back period: an integer count of days ("7d"), or an Abseil
// duration ("36h", "90m", "1h30m"). InvalidArgument for anything else, for
// zero or negative periods, and for more than 100000 days.
absl::StatusOr<absl::Duration> ParseSince(absl::string_view text);

// An instant: RFC 3339 ("2026-01-02T15:04:05Z", offsets allowed) or a UTC
// day "YYYY-MM-DD" (its midnight, UTC). InvalidArgument otherwise.
absl::StatusOr<absl::Time> ParseInstant(absl::string_view text);

}  // namespace smsgw::cli

#endif  // SMSGW_CLIENT_CLI_TIME_WINDOW_H_

// File: send_at.h
//
// The parser of `smsgw send --at`. Outside input: every malformed value is
// an InvalidArgument naming it.
#ifndef SMSGW_CLIENT_CLI_SEND_AT_H_
#define SMSGW_CLIENT_CLI_SEND_AT_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace smsgw::cli {

// An RFC 3339 instant ("2026-01-02T15:04:05Z", offsets allowed), or "+" and
// a positive Abseil duration ("+10m", "+2h30m", "+36h") counted from `now`.
// The server checks the 5 minutes to 35 days window. InvalidArgument for
// anything else, and for zero or negative durations.
absl::StatusOr<absl::Time> ParseSendAt(absl::string_view text, absl::Time now);

}  // namespace smsgw::cli

#endif  // SMSGW_CLIENT_CLI_SEND_AT_H_

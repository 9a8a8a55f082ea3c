// File: login_throttle.h
//
// Slows down and then refuses password guessing (issue 9, "Login
// throttling"): failed logins are counted per username and per client
// address over a sliding window. The first failures are answered at once,
// the next ones after a growing delay, and past a limit every attempt for
// that username or from that address is refused with RESOURCE_EXHAUSTED and
// the time to retry, without checking the password (so a correct guess
// during the lock-out is no better than a wrong one).
#ifndef SMSGW_SERVER_DOMAIN_LOGIN_THROTTLE_H_
#define SMSGW_SERVER_DOMAIN_LOGIN_THROTTLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "storage/rate_limit_store.h"

namespace smsgw::domain {

// The address part of a gRPC peer string: "ipv4:1.2.3.4:5678" -> "1.2.3.4",
// "ipv6:[::1]:5678" -> "::1", "unix:/path" -> "unix:/path" (no port to
// drop). Anything else is returned unchanged.
std::string PeerAddress(absl::string_view grpc_peer);

// Counts failed logins in the database (storage::RateLimitStore), so that
// every replica sharing it counts the same failures (issue 13 §3) and a
// restart forgets none. Thread-safe. The store and the clock are not owned.
class LoginThrottle {
 public:
  struct Options {
    // Failures are remembered this long (sliding window).
    absl::Duration window = absl::Minutes(15);
    // Per username: failures in the window answered without delay, and the
    // failures in the window from which every attempt is refused.
    int username_free_failures = 3;
    int username_max_failures = 10;
    // Per client address (many users may share one, behind NAT): the same.
    int peer_free_failures = 10;
    int peer_max_failures = 50;
    // Delay of the first slowed failure; it doubles with each further
    // failure, up to max_delay.
    absl::Duration base_delay = absl::Milliseconds(500);
    absl::Duration max_delay = absl::Seconds(8);
  };

  // InvalidArgument (from Create) when a limit is below 1, a free count is
  // above its max, the window is not positive or longer than 31 days, a
  // delay is negative, or the store or the clock is null.
  static absl::StatusOr<std::unique_ptr<LoginThrottle>> Create(
      Options options, storage::RateLimitStore* store, Clock* clock);

  // Before the password is checked. Counts the attempt as a failure (so
  // that parallel guesses, on any replica, are counted before any answer)
  // until Succeeded() takes it back. Returns how long to hold a failure
  // answer for this attempt (zero while within the free failures), or
  // ResourceExhausted "too many failed logins ...; retry in N s" when the
  // username or the address is locked out; then nothing is counted.
  // `username` should be case-folded; either may be empty (then only the
  // other counts: an invalid username is counted against the address
  // alone). The store's Unavailable / Internal when it cannot count.
  absl::StatusOr<absl::Duration> Admit(absl::string_view username,
                                       absl::string_view peer);

  // After a correct password: forgets the username's failures and takes
  // back the address's count for this attempt (the address's other failures
  // stay, so that logging into one's own account does not reset a spray).
  // A store error is logged: the failure then stays counted.
  void Succeeded(absl::string_view username, absl::string_view peer);

  // When `username` or `peer` may next try, or InfinitePast() if now (or
  // when the store cannot tell).
  absl::Time LockedUntil(absl::string_view username, absl::string_view peer);

 private:
  LoginThrottle(Options options, storage::RateLimitStore* store, Clock* clock);

  // The store's limits for the non-empty ones of `username` and `peer`;
  // `user_index` / `peer_index` are their positions (-1 when absent).
  std::vector<storage::RateLimit> Limits(absl::string_view username,
                                         absl::string_view peer,
                                         int* user_index,
                                         int* peer_index) const;
  absl::Duration DelayFor(int64_t failures, int free_failures) const;

  const Options options_;
  storage::RateLimitStore* store_;
  Clock* clock_;
};

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_LOGIN_THROTTLE_H_

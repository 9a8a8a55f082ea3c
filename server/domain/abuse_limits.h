// File: abuse_limits.h
//
// Limits against SMS pumping (issue 18): bots that sign up accounts and ask
// for verification codes to numbers whose operators share the termination
// fee. Two gates, both counted in the store (storage/rate_limit_store.h) so
// that every replica on one database shares the counts:
//   * SignupThrottle — sign-ups per client address and in total over a
//     sliding window (items 3);
//   * VerificationGuard — verification codes per destination prefix, per
//     country and in total per hour, and never to premium-rate,
//     shared-cost or unknown ranges (item 2).
// Over a limit the answer is RESOURCE_EXHAUSTED with the time to retry, as
// the login throttle answers.
#ifndef SMSGW_SERVER_DOMAIN_ABUSE_LIMITS_H_
#define SMSGW_SERVER_DOMAIN_ABUSE_LIMITS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "server/domain/phone_number.h"
#include "storage/rate_limit_store.h"

namespace smsgw::domain {

// ResourceExhausted "<what>: at most <max> per <window>; retry in N s (after
// <RFC 3339 UTC>)" for a limit that is full until `retry`.
absl::Status RateLimitedError(absl::string_view what, int64_t max,
                              absl::Duration window, absl::Time retry,
                              absl::Time now);

// Counts sign-ups. Thread-safe; store and clock are not owned.
class SignupThrottle {
 public:
  struct Options {
    absl::Duration window = absl::Hours(1);  // SMSGW_SIGNUP_WINDOW
    int64_t per_peer = 10;                   // SMSGW_SIGNUP_PEER_MAX
    int64_t total = 200;                     // SMSGW_SIGNUP_MAX
  };

  // InvalidArgument naming the setting when a limit is below 1 or the
  // window outside (0, 31 days].
  static absl::Status Validate(const Options& options);

  SignupThrottle(storage::RateLimitStore* store, Clock* clock,
                 Options options);

  // Counts one sign-up attempt from `peer` (PeerAddress() of the call; ""
  // counts against the total only). ResourceExhausted with the retry time
  // when the address or the total is at its limit; then nothing is counted.
  // Errors of the store otherwise.
  absl::Status Admit(absl::string_view peer);

 private:
  storage::RateLimitStore* store_;
  Clock* clock_;
  const Options options_;
};

// Decides whether a verification code may go to a number. Thread-safe;
// collaborators are not owned.
class VerificationGuard {
 public:
  struct Options {
    // Codes per hour to numbers sharing their first `prefix_digits` digits
    // (the country code and the start of the range a pumping operator
    // rents): SMSGW_VERIFY_MAX_PER_PREFIX_PER_HOUR.
    int64_t per_prefix = 5;
    int prefix_digits = 6;
    // Codes per hour to one country (SMSGW_VERIFY_MAX_PER_COUNTRY_PER_HOUR)
    // and in total (SMSGW_VERIFY_MAX_PER_HOUR).
    int64_t per_country = 50;
    int64_t total = 200;
  };

  // InvalidArgument naming the setting when a limit is below 1.
  static absl::Status Validate(const Options& options);

  VerificationGuard(storage::RateLimitStore* store,
                    const PhoneNumberParser* phones, Clock* clock,
                    Options options);

  // Before a code is sent to `e164`: FailedPrecondition when libphonenumber
  // types the number premium-rate, shared-cost or unknown (no code is ever
  // sent there); ResourceExhausted with the retry time when its prefix, its
  // country or the total is at its hourly limit (logged as a warning with
  // the prefix; nothing counted). Otherwise counts the code and returns OK.
  absl::Status Admit(absl::string_view e164);

 private:
  storage::RateLimitStore* store_;
  const PhoneNumberParser* phones_;
  Clock* clock_;
  const Options options_;
};

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_ABUSE_LIMITS_H_

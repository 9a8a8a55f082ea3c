// File: phone_verification.h
//
// Phone verification by SMS code (AuthService.StartPhoneVerification /
// ConfirmPhoneVerification): a 6-digit code from the first pool number,
// valid 10 minutes, 5 wrong tries per code, 5 codes per hour per user.
// Codes are stored as "<salt hex>$<SHA-256(salt || code) hex>" with a
// random 16-byte salt per code and compared in constant time.
#ifndef SMSGW_SERVER_DOMAIN_PHONE_VERIFICATION_H_
#define SMSGW_SERVER_DOMAIN_PHONE_VERIFICATION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "server/domain/abuse_limits.h"
#include "server/domain/messaging_service.h"
#include "server/domain/phone_number.h"
#include "storage/group_store.h"
#include "storage/user_store.h"

namespace smsgw::domain {

// Salted SHA-256 of a code, as stored.
std::string HashVerificationCode(absl::string_view code);
// Whether `code` matches `stored` (from HashVerificationCode), in constant
// time. False for a malformed `stored`.
bool VerificationCodeMatches(absl::string_view code, absl::string_view stored);

struct VerificationStarted {
  std::string phone_number;  // E.164 the code went to
  absl::Time expire_time;
};

// Thread-safe; collaborators are not owned and must outlive it.
class PhoneVerificationService {
 public:
  struct Options {
    std::string from_number;  // first of TWILIO_PHONE_NUMBERS
    absl::Duration code_ttl = absl::Minutes(10);
    int max_attempts = 5;
    int max_codes_per_hour = 5;
    // The SMS-pumping guard (issue 18); null = none. Not owned.
    VerificationGuard* guard = nullptr;
  };

  PhoneVerificationService(storage::UserStore* users,
                           storage::PhoneVerificationStore* store,
                           MessagingService* messaging,
                           const PhoneNumberParser* phones, Clock* clock,
                           Options options);

  // Sets the caller's phone when `phone_number` is given (clearing
  // verification when it changes) and texts a new code. InvalidArgument
  // (bad number); FailedPrecondition (no phone, opted out with STOP, a
  // country SMSGW_ALLOWED_COUNTRIES does not allow, or a premium-rate,
  // shared-cost or unknown number: the guard's); AlreadyExists (verified by
  // another user); ResourceExhausted (more than 5 codes in an hour for the
  // user, or the guard's per prefix, country or server limit; the message
  // says when to retry); Unavailable (the provider refused the SMS). The
  // geo and guard refusals change nothing: the phone stays as it was.
  absl::StatusOr<VerificationStarted> Start(const storage::User& caller,
                                            absl::string_view phone_number,
                                            absl::Time deadline);

  // Checks `code` and marks the phone verified; returns the updated user.
  // InvalidArgument (not 6 digits, or wrong); FailedPrecondition (nothing
  // pending, expired, or phone changed); ResourceExhausted (5 wrong tries
  // already); AlreadyExists (another user verified the number meanwhile).
  absl::StatusOr<storage::User> Confirm(const storage::User& caller,
                                        absl::string_view code);

 private:
  storage::UserStore* users_;
  storage::PhoneVerificationStore* store_;
  MessagingService* messaging_;
  const PhoneNumberParser* phones_;
  Clock* clock_;
  const Options options_;
};

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_PHONE_VERIFICATION_H_

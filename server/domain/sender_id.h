// File: sender_id.h
//
// Checks alphanumeric sender IDs (a brand name such as "Acme" shown instead
// of a phone number) before they are configured or sent as Twilio's `From`.
#ifndef SMSGW_SERVER_DOMAIN_SENDER_ID_H_
#define SMSGW_SERVER_DOMAIN_SENDER_ID_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace smsgw::domain {

// The longest alphanumeric sender ID Twilio accepts, in characters.
inline constexpr size_t kMaxAlphanumericSenderIdLength = 11;

// Returns OK if `id` is a valid alphanumeric sender ID by Twilio's rules
// (twilio.com/docs/glossary/what-alphanumeric-sender-id; Twilio error 21212
// otherwise): 1 to 11 characters, each an ASCII letter A-Z or a-z, a digit
// 0-9 or a space, and at least one letter (an all-digit ID would look like a
// phone number). Returns InvalidArgument saying which rule `id` breaks.
//
// Twilio's Messaging Service AlphaSender API also lists - + _ and &; those
// are rejected here because the glossary rule is the one every country's
// carriers are documented to accept.
absl::Status ValidateAlphanumericSenderId(absl::string_view id);

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_SENDER_ID_H_

// File: geo_permissions.h
//
// Geo permissions (issue 18, item 1; Twilio sells the same as "Messaging Geo
// Permissions"): the countries outbound SMS may go to. Every outbound path
// asks before anything is stored — SendMessage, group fan-out, verification
// codes — so a message to a country the operator never meant to pay for is
// refused, not queued.
#ifndef SMSGW_SERVER_DOMAIN_GEO_PERMISSIONS_H_
#define SMSGW_SERVER_DOMAIN_GEO_PERMISSIONS_H_

#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/phone_number.h"

namespace smsgw::domain {

// Parses SMSGW_ALLOWED_COUNTRIES: ISO 3166-1 alpha-2 codes separated by
// commas, any case, spaces around them ignored ("US, ca,GB"). Returns the
// upper-cased set; empty input = empty set (every country allowed).
// InvalidArgument naming the first entry that is not two ASCII letters, or
// that libphonenumber knows no country calling code for ("XX", "UK" — the
// code for the United Kingdom is GB), or an empty entry ("US,,CA").
absl::StatusOr<std::set<std::string>> ParseAllowedCountries(
    absl::string_view csv);

// The allowed destination countries. Immutable, so thread-safe.
class GeoPermissions {
 public:
  // `allowed`: upper-case ISO codes as ParseAllowedCountries returns; empty
  // allows every country. `phones` is not owned.
  GeoPermissions(std::set<std::string> allowed,
                 const PhoneNumberParser* phones);

  // True when every country is allowed (SMSGW_ALLOWED_COUNTRIES unset).
  bool allows_all() const { return allowed_.empty(); }

  // OK when `e164` may be sent to. Otherwise FailedPrecondition naming the
  // number's country and the setting: "destination +44... is in GB, which
  // SMSGW_ALLOWED_COUNTRIES (US,CA) does not allow"; `*country` (may be
  // null) gets the country ("GB"), or "" for a number in no country (+800
  // numbers, refused whenever a list is set). The number is masked.
  absl::Status CheckDestination(absl::string_view e164,
                                std::string* country) const;

 private:
  std::set<std::string> allowed_;
  std::string allowed_text_;  // "US,CA", for messages
  const PhoneNumberParser* phones_;
};

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_GEO_PERMISSIONS_H_

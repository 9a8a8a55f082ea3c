// File: number_time_zones.h
//
// Which time zones a phone number's recipient may be in, from
// libphonenumber's prefix data (generated at build time from Debian's
// python3-phonenumbers by scripts/gen_number_time_zones.py; the C++
// libphonenumber of Debian 12 has no time-zone mapper).
#ifndef SMSGW_SERVER_DOMAIN_NUMBER_TIME_ZONES_H_
#define SMSGW_SERVER_DOMAIN_NUMBER_TIME_ZONES_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace smsgw::domain {

// The IANA zone names of the longest table prefix of `e164` ("+14155550100"
// or its digits), as libphonenumber's time_zones_for_geographical_number
// does: one name for most numbers, several where a prefix spans zones, empty
// when no prefix matches. The number's type is not checked (a non-geographic
// number gets its country's zones). Thread-safe (the table is constant).
std::vector<std::string> TimeZoneNamesForNumber(absl::string_view e164);

// TimeZoneNamesForNumber() loaded with absl::LoadTimeZone from the system's
// zoneinfo (Debian package tzdata). Names the system does not know are
// skipped; the result may be empty (an unknown number), in which case the
// caller decides the zone. Thread-safe.
std::vector<absl::TimeZone> TimeZonesForNumber(absl::string_view e164);

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_NUMBER_TIME_ZONES_H_

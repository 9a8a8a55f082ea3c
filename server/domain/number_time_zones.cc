#include "server/domain/number_time_zones.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace smsgw::domain {
namespace {

struct PrefixZones {
  const char* prefix;  // digits, country code first
  const char* zones;   // IANA names joined by '\n'
};

// Sorted by prefix (the generator sorts), for the binary search below.
constexpr PrefixZones kPrefixZones[] = {
#include "number_time_zones_data.inc"
};

// libphonenumber's TIMEZONE_LONGEST_PREFIX for this data.
constexpr size_t kLongestPrefix = 8;

}  // namespace

std::vector<std::string> TimeZoneNamesForNumber(absl::string_view e164) {
  if (!e164.empty() && e164.front() == '+') e164.remove_prefix(1);
  for (size_t len = std::min(kLongestPrefix, e164.size()); len > 0; --len) {
    const absl::string_view prefix = e164.substr(0, len);
    if (!std::all_of(prefix.begin(), prefix.end(), absl::ascii_isdigit)) {
      continue;
    }
    const auto it = std::lower_bound(
        std::begin(kPrefixZones), std::end(kPrefixZones), prefix,
        [](const PrefixZones& row, absl::string_view p) {
          return absl::string_view(row.prefix) < p;
        });
    if (it != std::end(kPrefixZones) && absl::string_view(it->prefix) == prefix) {
      return absl::StrSplit(it->zones, '\n');
    }
  }
  return {};
}

std::vector<absl::TimeZone> TimeZonesForNumber(absl::string_view e164) {
  std::vector<absl::TimeZone> zones;
  for (const std::string& name : TimeZoneNamesForNumber(e164)) {
    absl::TimeZone zone;
    if (absl::LoadTimeZone(name, &zone)) zones.push_back(zone);
  }
  return zones;
}

}  // namespace smsgw::domain

#include "server/domain/geo_permissions.h"

#include <set>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "phonenumbers/phonenumberutil.h"

namespace smsgw::domain {

absl::StatusOr<std::set<std::string>> ParseAllowedCountries(
    absl::string_view csv) {
  std::set<std::string> out;
  if (absl::StripAsciiWhitespace(csv).empty()) return out;
  const auto& util = *i18n::phonenumbers::PhoneNumberUtil::GetInstance();
  for (absl::string_view raw : absl::StrSplit(csv, ',')) {
    const std::string code =
        absl::AsciiStrToUpper(absl::StripAsciiWhitespace(raw));
    if (code.empty()) {
      return absl::InvalidArgumentError(
          "SMSGW_ALLOWED_COUNTRIES has an empty entry; list ISO 3166-1 "
          "alpha-2 codes separated by commas, e.g. US,CA,GB");
    }
    const bool letters = code.size() == 2 && absl::ascii_isalpha(code[0]) &&
                         absl::ascii_isalpha(code[1]);
    if (!letters || util.GetCountryCodeForRegion(code) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "SMSGW_ALLOWED_COUNTRIES: \"", code.substr(0, 16),
          "\" is not an ISO 3166-1 alpha-2 country code with a telephone "
          "country code (e.g. US, CA, GB; the United Kingdom is GB)"));
    }
    out.insert(code);
  }
  return out;
}

GeoPermissions::GeoPermissions(std::set<std::string> allowed,
                               const PhoneNumberParser* phones)
    : allowed_(std::move(allowed)),
      allowed_text_(absl::StrJoin(allowed_, ",")),
      phones_(phones) {}

absl::Status GeoPermissions::CheckDestination(absl::string_view e164,
                                              std::string* country) const {
  if (country != nullptr) country->clear();
  if (allowed_.empty()) return absl::OkStatus();
  absl::StatusOr<std::string> region = phones_->RegionOf(e164);
  if (region.ok() && allowed_.count(*region) > 0) return absl::OkStatus();
  if (region.ok() && country != nullptr) *country = *region;
  return absl::FailedPreconditionError(absl::StrCat(
      "destination ", MaskPhoneNumber(e164), " is ",
      region.ok() ? absl::StrCat("in ", *region) : "in no country",
      ", which SMSGW_ALLOWED_COUNTRIES (", allowed_text_,
      ") does not allow"));
}

}  // namespace smsgw::domain

#include "server/domain/phone_number.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "phonenumbers/phonenumber.pb.h"
#include "phonenumbers/phonenumberutil.h"

namespace smsgw::domain {
namespace {

using ::i18n::phonenumbers::PhoneNumber;
using ::i18n::phonenumbers::PhoneNumberUtil;

constexpr absl::string_view kUnknownRegion = "ZZ";  // libphonenumber's "none"
constexpr absl::string_view kMaskDot = "\u2022";    // •
constexpr int kMinE164Digits = 8;
constexpr int kMaxE164Digits = 15;
constexpr int kNanpCountryCode = 1;

bool IsAllowedPunctuation(char c) {
  switch (c) {
    case ' ':
    case '+':
    case '-':
    case '.':
    case '(':
    case ')':
    case '/':
      return true;
    default:
      return false;
  }
}

// Screens bytes before libphonenumber sees them: Parse() would turn vanity
// letters into digits ("FLOWERS"), strip "ext. 12" and skip leading
// garbage, all of which hide a typo from the user.
absl::Status CheckCharacters(absl::string_view input) {
  for (size_t i = 0; i < input.size(); ++i) {
    const char c = input[i];
    if (absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
        IsAllowedPunctuation(c)) {
      continue;
    }
    if (c == '\0') {
      return absl::InvalidArgumentError(
          absl::StrCat("phone number contains a NUL byte at offset ", i, "."));
    }
    if (absl::ascii_isalpha(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "phone number contains the letter '", absl::string_view(&c, 1),
          "' at offset ", i,
          "; write it with digits only (no vanity letters or extensions)."));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("phone number contains byte 0x",
                     absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2),
                     " at offset ", i,
                     "; only digits, spaces and + - . ( ) / are allowed."));
  }
  return absl::OkStatus();
}

absl::Status ParseError(PhoneNumberUtil::ErrorType error,
                        absl::string_view region) {
  switch (error) {
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      return absl::InvalidArgumentError(absl::StrCat(
          "phone number has no valid country code; write it as +<country "
          "code><number>, or as a national number of region ",
          region, "."));
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
      return absl::InvalidArgumentError(
          "phone number is too short after the international prefix.");
    case PhoneNumberUtil::TOO_SHORT_NSN:
      return absl::InvalidArgumentError("phone number is too short.");
    case PhoneNumberUtil::TOO_LONG_NSN:
      return absl::InvalidArgumentError("phone number is too long.");
    case PhoneNumberUtil::NOT_A_NUMBER:
    default:
      return absl::InvalidArgumentError(
          "phone number could not be parsed as a phone number.");
  }
}

absl::Status LengthError(PhoneNumberUtil::ValidationResult result,
                         int country_code) {
  switch (result) {
    case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY:
      return absl::InvalidArgumentError(absl::StrCat(
          "phone number is only dialable locally; include the area code "
          "(country code +",
          country_code, ")."));
    case PhoneNumberUtil::INVALID_COUNTRY_CODE:
      return absl::InvalidArgumentError(
          absl::StrCat("phone number has country code +", country_code,
                       ", which is not assigned."));
    case PhoneNumberUtil::TOO_SHORT:
      return absl::InvalidArgumentError(absl::StrCat(
          "phone number is too short for country code +", country_code, "."));
    case PhoneNumberUtil::TOO_LONG:
      return absl::InvalidArgumentError(absl::StrCat(
          "phone number is too long for country code +", country_code, "."));
    case PhoneNumberUtil::INVALID_LENGTH:
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "phone number does not have a valid length for country code +",
          country_code, "."));
  }
}

// The North American Numbering Plan reserves area codes and exchanges that
// start with 0 or 1; libphonenumber's length check alone lets them through.
// This rule is part of the plan itself, so unlike range tables it does not
// go stale.
absl::Status CheckNanp(const PhoneNumber& number) {
  const std::string national = absl::StrCat(number.national_number());
  if (national.size() == 10 && national[0] >= '2' && national[3] >= '2') {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      "phone number is not a valid North American number: the area code "
      "and the exchange cannot start with 0 or 1.");
}

// Length of the country calling code at the start of `digits` (E.164 without
// '+'). Assigned codes are prefix-free, so the first known prefix is it.
size_t CountryCodeLength(absl::string_view digits) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  for (size_t len = 1; len <= 3 && len < digits.size(); ++len) {
    int code = 0;
    for (char c : digits.substr(0, len)) code = code * 10 + (c - '0');
    std::string region;
    util.GetRegionCodeForCountryCode(code, &region);
    if (region != kUnknownRegion) return len;
  }
  return 1;
}

}  // namespace

PhoneNumberParser::PhoneNumberParser(absl::string_view default_region)
    : default_region_(absl::AsciiStrToUpper(default_region)) {}

absl::StatusOr<std::string> PhoneNumberParser::ToE164(
    absl::string_view input) const {
  if (input.size() <= kMaxPhoneInputBytes) {
    if (std::optional<std::string> known = e164_.Find(input)) return *known;
  }
  absl::StatusOr<std::string> e164 = ParseToE164(input);
  if (e164.ok()) e164_.Insert(input, *e164);
  return e164;
}

absl::StatusOr<std::string> PhoneNumberParser::ParseToE164(
    absl::string_view input) const {
  if (input.empty()) {
    return absl::InvalidArgumentError("phone number is empty.");
  }
  if (input.size() > kMaxPhoneInputBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "phone number is longer than ", kMaxPhoneInputBytes, " bytes."));
  }
  if (absl::Status s = CheckCharacters(input); !s.ok()) return s;

  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  const PhoneNumberUtil::ErrorType error =
      util.Parse(std::string(input), default_region_, &number);
  if (error != PhoneNumberUtil::NO_PARSING_ERROR) {
    return ParseError(error, default_region_);
  }
  if (number.has_extension()) {
    return absl::InvalidArgumentError(
        "phone number has an extension, which cannot receive SMS.");
  }
  const PhoneNumberUtil::ValidationResult possible =
      util.IsPossibleNumberWithReason(number);
  if (possible != PhoneNumberUtil::IS_POSSIBLE) {
    return LengthError(possible, number.country_code());
  }
  if (number.country_code() == kNanpCountryCode) {
    if (absl::Status s = CheckNanp(number); !s.ok()) return s;
  }

  std::string e164;
  util.Format(number, PhoneNumberUtil::E164, &e164);
  if (!IsE164(e164)) {
    // libphonenumber allows a few 7-digit numbers (e.g. +290 Saint Helena);
    // smsgw's stored form is 8-15 digits.
    return absl::InvalidArgumentError(
        absl::StrCat("phone number ", e164, " is shorter than the ",
                     kMinE164Digits, " digits smsgw supports."));
  }
  // One number, one stored form: for odd input such as "+0049 0049 301555"
  // (an international dialling prefix after the '+') libphonenumber keeps a
  // leading zero that it drops when it parses its own output, so the result
  // would not match the same number written plainly. Such input is refused
  // rather than stored under an unstable form (found by
  // tests/fuzz/phone_number_fuzzer.cc).
  PhoneNumber reparsed;
  std::string canonical;
  if (util.Parse(e164, default_region_, &reparsed) !=
          PhoneNumberUtil::NO_PARSING_ERROR ||
      (util.Format(reparsed, PhoneNumberUtil::E164, &canonical),
       canonical != e164)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "phone number has no single E.164 form (it reads as both ", e164,
        " and ", canonical.empty() ? "nothing" : canonical,
        "); write it as +<country code><number>."));
  }
  return e164;
}

absl::StatusOr<std::string> PhoneNumberParser::AreaOf(
    absl::string_view e164) const {
  if (!IsE164(e164)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", e164.substr(0, 20), "\" is not an E.164 number"));
  }
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util.Parse(std::string(e164), std::string(kUnknownRegion), &number) !=
      PhoneNumberUtil::NO_PARSING_ERROR) {
    return absl::InvalidArgumentError(
        absl::StrCat(e164, " cannot be parsed as a phone number"));
  }
  std::string national;
  util.GetNationalSignificantNumber(number, &national);
  // libphonenumber derives the destination code from formatting rules that
  // skip numbers it deems invalid (Twilio's +1500 test numbers, fictional
  // 555 numbers), while every NANP area code is simply the first 3 digits.
  const size_t length =
      number.country_code() == kNanpCountryCode
          ? 3
          : static_cast<size_t>(util.GetLengthOfNationalDestinationCode(number));
  if (length == 0 || length > national.size()) {
    return absl::StrCat(number.country_code());
  }
  return absl::StrCat(number.country_code(), "-", national.substr(0, length));
}

namespace {

// Parses strict E.164 for the lookups below; InvalidArgument otherwise.
absl::StatusOr<PhoneNumber> ParseE164(absl::string_view e164) {
  if (!IsE164(e164)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", e164.substr(0, 20), "\" is not an E.164 number"));
  }
  PhoneNumber number;
  if (PhoneNumberUtil::GetInstance()->Parse(
          std::string(e164), std::string(kUnknownRegion), &number) !=
      PhoneNumberUtil::NO_PARSING_ERROR) {
    return absl::InvalidArgumentError(
        absl::StrCat(e164, " cannot be parsed as a phone number"));
  }
  return number;
}

}  // namespace

absl::StatusOr<std::string> PhoneNumberParser::RegionOf(
    absl::string_view e164) const {
  SMSGW_ASSIGN_OR_RETURN(PhoneNumber number, ParseE164(e164));
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  std::string region;
  util.GetRegionCodeForNumber(number, &region);
  if (region.empty() || region == kUnknownRegion) {
    util.GetRegionCodeForCountryCode(number.country_code(), &region);
  }
  if (region.empty() || region == kUnknownRegion ||
      region == PhoneNumberUtil::kRegionCodeForNonGeoEntity) {
    return absl::InvalidArgumentError(absl::StrCat(
        e164, " belongs to no country (+", number.country_code(),
        " is not a geographic country code)"));
  }
  return region;
}

absl::StatusOr<NumberType> PhoneNumberParser::TypeOf(
    absl::string_view e164) const {
  SMSGW_ASSIGN_OR_RETURN(PhoneNumber number, ParseE164(e164));
  switch (PhoneNumberUtil::GetInstance()->GetNumberType(number)) {
    case PhoneNumberUtil::MOBILE:
    case PhoneNumberUtil::FIXED_LINE_OR_MOBILE:
      return NumberType::kMobile;
    case PhoneNumberUtil::FIXED_LINE:
      return NumberType::kFixedLine;
    case PhoneNumberUtil::TOLL_FREE:
      return NumberType::kTollFree;
    case PhoneNumberUtil::PREMIUM_RATE:
      return NumberType::kPremiumRate;
    case PhoneNumberUtil::SHARED_COST:
      return NumberType::kSharedCost;
    case PhoneNumberUtil::VOIP:
      return NumberType::kVoip;
    case PhoneNumberUtil::UNKNOWN:
      return NumberType::kUnknown;
    default:
      return NumberType::kOther;
  }
}

absl::string_view NumberTypeName(NumberType type) {
  switch (type) {
    case NumberType::kMobile: return "mobile";
    case NumberType::kFixedLine: return "fixed line";
    case NumberType::kTollFree: return "toll-free";
    case NumberType::kPremiumRate: return "premium-rate";
    case NumberType::kSharedCost: return "shared-cost";
    case NumberType::kVoip: return "VoIP";
    case NumberType::kOther: return "other";
    case NumberType::kUnknown: return "unknown";
  }
  return "unknown";
}

bool IsE164(absl::string_view s) {
  if (s.size() < 1 + kMinE164Digits || s.size() > 1 + kMaxE164Digits) {
    return false;
  }
  if (s[0] != '+' || s[1] == '0') return false;
  for (char c : s.substr(1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string MaskPhoneNumber(absl::string_view e164) {
  constexpr size_t kKeptAfterCountryCode = 3;
  constexpr size_t kKeptAtEnd = 4;
  constexpr size_t kMinHidden = 3;
  if (!IsE164(e164)) return absl::StrCat(kMaskDot, kMaskDot, kMaskDot);
  const absl::string_view digits = e164.substr(1);
  const size_t country = CountryCodeLength(digits);
  // IsE164 guarantees >= 8 digits and country <= 3, so hidden >= 1.
  size_t head = country + kKeptAfterCountryCode;
  if (digits.size() < head + kKeptAtEnd + kMinHidden) {
    head = digits.size() >= country + kKeptAtEnd + kMinHidden
               ? digits.size() - kKeptAtEnd - kMinHidden
               : country;
  }
  const size_t hidden = digits.size() - head - kKeptAtEnd;
  std::string out = absl::StrCat("+", digits.substr(0, head));
  out.reserve(out.size() + hidden * kMaskDot.size() + kKeptAtEnd);
  for (size_t i = 0; i < hidden; ++i) absl::StrAppend(&out, kMaskDot);
  absl::StrAppend(&out, digits.substr(head + hidden));
  return out;
}

}  // namespace smsgw::domain

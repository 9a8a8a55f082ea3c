// File: phone_number.h
//
// Normalises phone numbers typed by people ("(415) 555-0100",
// "+44 20 7946 0000") to E.164 ("+14155550100"), the only form smsgw stores,
// compares and sends to Twilio. Parsing is done by libphonenumber; this header
// does not expose it.
//
//   const PhoneNumberParser parser("US");
//   SMSGW_ASSIGN_OR_RETURN(std::string e164, parser.ToE164(request.phone()));
#ifndef SMSGW_SERVER_DOMAIN_PHONE_NUMBER_H_
#define SMSGW_SERVER_DOMAIN_PHONE_NUMBER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/bounded_cache.h"

namespace smsgw::domain {

// The longest input ToE164() looks at, in bytes. E.164 has at most 15 digits;
// this leaves room for a '+', spaces and punctuation, and keeps pathological
// input away from libphonenumber's regular expressions.
inline constexpr size_t kMaxPhoneInputBytes = 32;

// The kind of line a number is (libphonenumber's PhoneNumberType, folded):
// SMS pumping targets the premium-rate and shared-cost ranges, whose
// operators share the termination fee, and ranges no table knows.
enum class NumberType {
  kMobile,          // MOBILE, and FIXED_LINE_OR_MOBILE (NANP)
  kFixedLine,
  kTollFree,
  kPremiumRate,
  kSharedCost,
  kVoip,
  kOther,           // personal, pager, UAN, voicemail
  kUnknown,         // in no range of the number's region
};

// "mobile", "fixed line", "premium-rate", ... for messages.
absl::string_view NumberTypeName(NumberType type);

// Parses phone numbers written in international form ("+..") or in the
// national form of a default region, and formats them as E.164.
//
// Which numbers are accepted: the number must parse, have an assigned
// country calling code and a length that is possible for that country
// (libphonenumber IsPossibleNumberWithReason == IS_POSSIBLE); NANP (+1)
// numbers must also have an area code and exchange starting with 2-9.
// libphonenumber's stricter IsValidNumber() is deliberately not required:
// its range tables are frozen at the packaged version (Debian 12 ships
// 8.12.57 from 2022) while regulators keep opening new ranges, and it
// rejects fictional test ranges such as Ofcom's +44 7700 900xxx. Twilio is
// the authority on routability and answers error 21211 for a number it cannot
// reach. Twilio's magic test numbers (+15005550001 to +15005550009) and the
// fictional 555-01xx numbers (+14155550100) are accepted.
//
// Thread-safe: the object is immutable after construction but for its
// BoundedCache of parsed numbers, and libphonenumber's PhoneNumberUtil is a
// process-wide singleton whose only mutable state (its regular-expression
// cache) is guarded by a lock.
class PhoneNumberParser {
 public:
  // `default_region` is an ISO 3166-1 alpha-2 code ("US", "GB") used for
  // numbers written without a '+' country code. An unknown region is kept;
  // ToE164() then accepts only international numbers.
  explicit PhoneNumberParser(absl::string_view default_region = "US");

  // Returns `input` as E.164: '+', the country code and the national number,
  // digits only ("+14155550100").
  //
  // `input` may contain digits, spaces, and the punctuation + - . ( ) /.
  // Returns InvalidArgument, with a sentence saying why, if `input` is
  // empty, longer than kMaxPhoneInputBytes, contains any other byte (letters,
  // so no vanity numbers or "ext."; NUL; non-ASCII), cannot be parsed, has an
  // unknown country code, is too short or too long for its country, is only
  // dialable locally (no area code), or is not a possible NANP number.
  //
  // Accepted inputs are remembered (kE164CacheEntries at most): a send and
  // each of its status callbacks parse the same few numbers, and a parse is
  // two trips through libphonenumber's regular expressions (issue 14: about
  // 6 % of a send's server CPU).
  absl::StatusOr<std::string> ToE164(absl::string_view input) const;

  // How many accepted inputs ToE164() remembers.
  static constexpr size_t kE164CacheEntries = 4096;

  // Where `e164` (strict E.164, as ToE164() returns) is, for the sender
  // pool's "same area" rule: "<country calling code>-<national destination
  // code>", e.g. "1-415" for +14155550100 and "44-20" for +442079460000.
  // NANP (+1) numbers use their 3-digit area code; elsewhere the destination
  // code is libphonenumber's GetLengthOfNationalDestinationCode(), and where
  // it reports none the area is the country code alone ("65"). Two numbers
  // are in the same area when these strings are equal. InvalidArgument when
  // `e164` is not E.164.
  absl::StatusOr<std::string> AreaOf(absl::string_view e164) const;

  // The ISO 3166-1 alpha-2 region `e164` belongs to ("US", "GB", "JE"),
  // for geo permissions (geo_permissions.h). libphonenumber's region for
  // the number; where the number fits no region's ranges (fictional and
  // test ranges: +1 500 555 0006, +44 7700 900123), the main region of its
  // country calling code ("US" for +1, "GB" for +44), as a carrier routes
  // by the code. InvalidArgument when `e164` is not E.164 or its country
  // code has no region (+800 and other non-geographic codes).
  absl::StatusOr<std::string> RegionOf(absl::string_view e164) const;

  // What kind of line `e164` is, by libphonenumber's number type. Strict
  // E.164 in; InvalidArgument otherwise.
  absl::StatusOr<NumberType> TypeOf(absl::string_view e164) const;

  const std::string& default_region() const { return default_region_; }

 private:
  // ToE164() without the cache.
  absl::StatusOr<std::string> ParseToE164(absl::string_view input) const;

  std::string default_region_;
  mutable BoundedCache<std::string> e164_{kE164CacheEntries};
};

// Returns true if `s` is strict E.164: '+' followed by 8 to 15 ASCII digits,
// the first of which is not 0. No spaces or punctuation. This checks shape
// only; use PhoneNumberParser::ToE164() for input from people.
bool IsE164(absl::string_view s);

// Masks an E.164 number for logs and user interfaces: keeps the '+', the
// country code and the next 3 digits (roughly where the number is) and the
// last 4 digits, and replaces each digit in between with "•" (U+2022):
// "+14155550100" -> "+1415•••0100", "+447700900123" -> "+44770•••0123".
// For short numbers fewer leading digits are kept, so that at least 3 digits
// are hidden where the number has that many beyond its country code and last
// 4. Input that is not E.164 (IsE164() false) yields "•••" rather than leak.
std::string MaskPhoneNumber(absl::string_view e164);

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_PHONE_NUMBER_H_

// File: form_encoding.h
//
// `application/x-www-form-urlencoded` parsing and encoding for the Twilio
// edge: webhook bodies Twilio posts to us (inbound SMS, status callbacks) and
// the request bodies we post to the Twilio REST API.
//
//   absl::StatusOr<FormParams> params = ParseForm(request.body, FormLimits{});
//   std::optional<std::string> sid = FormValue(*params, "MessageSid");
//
// Order and repeated names are kept (`MediaUrl` may appear several times and
// the signature algorithm needs every value; twilio-reference.md §5).
#ifndef SMSGW_SERVER_TWILIO_FORM_ENCODING_H_
#define SMSGW_SERVER_TWILIO_FORM_ENCODING_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smsgw::twilio {

// Decoded (name, value) pairs in wire order; a name may repeat.
using FormParams = std::vector<std::pair<std::string, std::string>>;

// Bounds applied by ParseForm to outside input. The defaults fit every Twilio
// webhook with room to spare (an inbound SMS carries ~20 params, a body of at
// most 1600 characters, and up to 10 MediaUrl/MediaContentType pairs).
struct FormLimits {
  // Most `name=value` pairs accepted (empty segments such as "a=1&&b=2" are
  // skipped and not counted).
  size_t max_params = 256;
  // Most bytes of the raw, still-encoded body.
  size_t max_total_bytes = 64 * 1024;
  // Most bytes of one name after decoding.
  size_t max_name_bytes = 256;
};

// Parses an `application/x-www-form-urlencoded` body (also usable for a URL
// query string without its leading '?').
//
// Rules: pairs are split on '&'; empty segments are skipped (as WHATWG URL's
// urlencoded parser does); the first '=' splits name from value, and a pair
// without '=' has an empty value; '+' decodes to a space; "%XX" (two hex
// digits, either case) decodes to that byte. Decoding is strict where
// browsers are lenient, because the input is a signed machine-generated body
// and a lenient decode could make us read a different value than the one the
// sender signed.
//
// Returns an empty vector for an empty body. Returns InvalidArgument when:
// a '%' is not followed by two hex digits (the message names the byte
// offset in `body`); a decoded name or value is not valid UTF-8 (overlong
// forms, surrogates and code points above U+10FFFF are invalid); a decoded
// name or value holds a NUL byte; or any `limits` bound is exceeded. Limit
// violations are InvalidArgument, not ResourceExhausted: they are a property
// of this request, not of a server resource that may free up, and the house
// HTTP mapping turns ResourceExhausted into 429, which would invite the
// sender to retry the same oversized request.
absl::StatusOr<FormParams> ParseForm(absl::string_view body,
                                     const FormLimits& limits);

// Percent-encodes every byte of `text` except the RFC 3986 unreserved set
// A-Z a-z 0-9 '-' '.' '_' '~', as "%XX" with upper-case hex. A space becomes
// "%20".
std::string PercentEncode(absl::string_view text);

// Encodes `params` in order as "name=value" pairs joined by '&', each side
// through PercentEncode. Space is sent as "%20", not '+': that is what
// twilio-node sends (qs / picoquery RFC 3986 mode); twilio-python sends '+';
// Twilio and ParseForm decode both the same. Round trip:
// ParseForm(EncodeForm(p)) == p for any UTF-8, NUL-free `p` within limits.
std::string EncodeForm(const FormParams& params);

// Returns the value of the first pair named `name` (exact, case-sensitive
// match), or nullopt if there is none.
std::optional<std::string> FormValue(const FormParams& params,
                                     absl::string_view name);

// Returns the values of every pair named `name`, in wire order; empty if
// there is none.
std::vector<std::string> FormValues(const FormParams& params,
                                    absl::string_view name);

}  // namespace smsgw::twilio

#endif  // SMSGW_SERVER_TWILIO_FORM_ENCODING_H_

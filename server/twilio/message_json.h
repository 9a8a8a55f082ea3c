// File: message_json.h
//
// Twilio's JSON wire shapes (twilio-reference.md §1): the Message resource,
// the error body of the 2010 API and the RFC 2822 dates they carry. Shared by
// `TwilioRestClient` (parsing Twilio's answers) and the simulator (producing
// them), so both speak exactly the same dialect.
//
//   absl::StatusOr<ProviderMessage> m = ParseMessageJson(body);
//   std::string json = MessageToJson(*m, "AC…");
//
// All functions are pure and thread-safe.
#ifndef SMSGW_SERVER_TWILIO_MESSAGE_JSON_H_
#define SMSGW_SERVER_TWILIO_MESSAGE_JSON_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/twilio/sms_provider.h"

namespace smsgw::twilio {

// The API version segment of every 2010 API path and of `api_version`.
inline constexpr absl::string_view kTwilioApiVersion = "2010-04-01";

// Formats `t` the way Twilio does: RFC 2822 in GMT with a numeric zone,
// e.g. "Thu, 24 Aug 2023 05:01:45 +0000" (sub-second digits are dropped).
std::string FormatRfc2822(absl::Time t);

// Parses an RFC 2822 date-time such as "Thu, 24 Aug 2023 05:01:45 +0000".
// The day-of-week prefix is optional (RFC 2822 §3.3); the zone is a numeric
// offset (+hhmm/-hhmm) or one of the obsolete "GMT" / "UT" / "UTC". Returns
// InvalidArgument for anything else, including out-of-range fields
// ("32 Aug") and a day of week that does not match the date.
absl::StatusOr<absl::Time> ParseRfc2822(absl::string_view text);

// Parses one Twilio Message resource (the body of a create/fetch answer, or an
// element of a list page's `messages`). Every field may be null or absent
// except `sid` (non-empty string) and `status` (string). `num_segments`,
// `num_media` and `price` are decimal strings on the wire (numbers are also
// accepted); `error_code` is an integer or null; dates are RFC 2822.
// Unknown fields are ignored. Returns InvalidArgument when `json` is not JSON,
// not an object, lacks `sid`/`status`, or a field has the wrong type or an
// unparsable value (the message names the field).
absl::StatusOr<ProviderMessage> ParseMessageJson(absl::string_view json);

// One page of `GET …/Messages.json`: {"messages":[…],"next_page_uri":…, …}.
struct MessagePage {
  std::vector<ProviderMessage> messages;
  // Path + query of the next page ("/2010-04-01/Accounts/…?…&PageToken=…"),
  // empty on the last page (Twilio sends null).
  std::string next_page_uri;
};

// Parses a list page. Returns InvalidArgument when `json` is not an object
// with a `messages` array of Message resources (see ParseMessageJson) and a
// `next_page_uri` that is a string, null or absent.
absl::StatusOr<MessagePage> ParseMessagePageJson(absl::string_view json);

// Serialises `message` as Twilio's Message resource, with all twenty
// top-level fields in Twilio's (alphabetical) order: empty optional strings
// and unset values become null, counts become strings, `uri` and
// `subresource_uris.media` are derived from `account_sid` and `message.sid`.
// ParseMessageJson(MessageToJson(m, a)) == m up to sub-second time digits.
std::string MessageToJson(const ProviderMessage& message,
                          absl::string_view account_sid);

// Parses a 2010-API error body such as
// {"code":21211,"message":"…","more_info":"https://…/21211","status":400}
// received with HTTP status `http_status`. A 401's `detail` is appended to
// `message` ("Authenticate: Your AccountSid or AuthToken was incorrect.").
// `retryable` is set from `http_status`: true for 429 and 5xx (Twilio 20429
// "safe to retry"), false otherwise. Returns InvalidArgument when `body` is
// not a JSON object with an integer `code` and a string `message`.
absl::StatusOr<ProviderError> ParseErrorJson(int http_status,
                                             absl::string_view body);

// True for the HTTP statuses whose requests may succeed when repeated
// unchanged: 429 (Twilio 20429) and 5xx.
bool IsRetryableHttpStatus(int http_status);

}  // namespace smsgw::twilio

#endif  // SMSGW_SERVER_TWILIO_MESSAGE_JSON_H_

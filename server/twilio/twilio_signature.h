// File: twilio_signature.h
//
// Computes and checks the `X-Twilio-Signature` header Twilio sends with every
// webhook (twilio-reference.md §5; twilio.com/docs/usage/webhooks/
// webhooks-security). The validator mirrors the official helper libraries
// (twilio-python `RequestValidator.validate`, twilio-node 6.2
// `validateRequest` / `validateRequestWithBody`), so a request they accept we
// accept too, with one deliberate difference noted at
// ValidateTwilioSignatureWithBody.
//
//   if (!ValidateTwilioSignature(auth_token, public_url, params,
//                                request.get_header_value("X-Twilio-Signature"))) {
//     return 403;
//   }
//
// `url` is always the full URL Twilio requested, as the public would see it
// (scheme, host, optional port, path and the raw query string byte for byte).
// Rebuilding it from the configured public base URL (not from the Host
// header behind a proxy) is the caller's job.
//
// All functions are pure and thread-safe.
#ifndef SMSGW_SERVER_TWILIO_TWILIO_SIGNATURE_H_
#define SMSGW_SERVER_TWILIO_TWILIO_SIGNATURE_H_

#include <string>

#include "absl/strings/string_view.h"
#include "server/twilio/form_encoding.h"

namespace smsgw::twilio {

// Returns the signature Twilio would send for a request to exactly `url`
// with the decoded form `params`: base64 (28 characters, with '=' padding) of
// HMAC-SHA1 keyed with `auth_token` (the account Auth Token, not an API key
// secret) over `url` followed by, for each distinct name in ascending byte
// order (case-sensitive, so "To" < "body"), each of its distinct values in
// ascending byte order as name+value with no separators. Duplicate
// (name, value) pairs count once, as in both official libraries. Pass empty
// `params` for GET requests and JSON bodies (their data is in the URL).
//
// `url` is signed as given: no fragment stripping and no port variants (the
// fake Twilio server uses this to sign exactly what it will request).
// Byte order equals code-point order, which is what twilio-python sorts by;
// twilio-node sorts by UTF-16 code unit, which differs only for names or
// values mixing U+E000..U+FFFF with characters above U+FFFF.
// Returns an empty string only if OpenSSL fails.
std::string ComputeTwilioSignature(absl::string_view auth_token,
                                   absl::string_view url,
                                   const FormParams& params);

// Returns true if `signature` (the X-Twilio-Signature header value) matches
// the signature of `params` on one of these spellings of `url`, after any
// "#fragment" is removed (Twilio never sends the fragment, which carries
// connection overrides such as "#rc=3", so it cannot be in what it signed):
//   1. the URL as given;
//   2. the URL with its port removed (any port, e.g. ":443" or ":8443");
//   3. the URL with the scheme's default port added (":443" for https, ":80"
//      for anything else) when it has no port.
// Why: Twilio's signer is inconsistent about ports (it has signed https URLs
// with the port dropped and kept), so twilio-python checks exactly variants
// 2 and 3 (1 is always one of them) and twilio-node 6.2 checks 2 and 3 first.
// Consequences, verified against twilio-node 6.2: a signature made on
// "https://h:443/p" validates for "https://h/p" and vice versa; one made on
// "https://h/p" validates for "https://h:8443/p"; one made on
// "https://h:8443/p" does not validate for "https://h/p".
// Not accepted (unlike twilio-node): URLs re-normalized by WHATWG `new URL()`
// or Node's legacy `querystring` re-encoding of the query; Twilio signs the
// configured URL byte for byte, so those only paper over caller-side URL
// rewriting. The scheme, host, path and query are compared byte for byte:
// "http" vs "https" or a re-ordered query string fail.
//
// `params` are the decoded form body (see ParseForm); empty for GET. The
// comparison is constant-time over equal lengths (CRYPTO_memcmp); a
// `signature` of the wrong length, or empty, is rejected at once.
bool ValidateTwilioSignature(absl::string_view auth_token,
                             absl::string_view url, const FormParams& params,
                             absl::string_view signature);

// Validates a webhook with a non-form (JSON) body, twilio-reference.md §5
// item 4: Twilio appends "bodySHA256=<lower-case hex SHA-256 of the raw
// body>" to the URL's query and signs that URL with no params. Returns true
// if ValidateTwilioSignature(auth_token, `url`, {}, `signature`) holds (same
// fragment and port rules) and the first "bodySHA256" query parameter of
// `url` (percent-decoded) equals the lower-case hex SHA-256 of `raw_body`.
// The hash comparison is exact, as in both libraries (upper-case hex fails).
// Returns false if the query of `url` is not valid form encoding (ParseForm
// rules) or has no bodySHA256 parameter. twilio-node also fails a missing
// bodySHA256, while twilio-python then skips the body check; we refuse,
// because an unauthenticated body must never pass.
bool ValidateTwilioSignatureWithBody(absl::string_view auth_token,
                                     absl::string_view url,
                                     absl::string_view raw_body,
                                     absl::string_view signature);

}  // namespace smsgw::twilio

#endif  // SMSGW_SERVER_TWILIO_TWILIO_SIGNATURE_H_

// File: segments.h
//
// Computes how an SMS body is encoded and split into segments, the way
// Twilio's segment calculator does (TwilioDevEd/message-segment-calculator,
// npm `sms-segments-calculator` 1.3.0; twilio-reference.md §7). The result
// drives billing estimates, per-segment throughput and the 1600-character
// limit (Twilio error 21617) before a message is handed to the provider.
//
//   SMSGW_ASSIGN_OR_RETURN(SegmentInfo info, CountSegments(body));
//   if (info.length > kMaxBodyLength) return absl::InvalidArgumentError(...);
//
// Smart Encoding (Twilio replacing look-alikes such as `’` by `'`) is not
// emulated: the body is counted exactly as it will be sent.
#ifndef SMSGW_SERVER_DOMAIN_SEGMENTS_H_
#define SMSGW_SERVER_DOMAIN_SEGMENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smsgw::domain {

// The longest `Body` Twilio accepts, in UTF-16 code units (Twilio error
// 21617, "The concatenated message body exceeds the 1600 character limit").
inline constexpr int64_t kMaxBodyLength = 1600;

// The alphabet a message is sent in. One character outside the GSM 03.38
// basic and extension tables switches the whole message to UCS-2.
enum class SmsEncoding { kGsm7, kUcs2 };

// "GSM-7" or "UCS-2", the names Twilio's calculator and docs use.
absl::string_view SmsEncodingName(SmsEncoding encoding);

// What CountSegments() found out about one body.
struct SegmentInfo {
  SmsEncoding encoding = SmsEncoding::kGsm7;
  // Number of SMS segments the body is sent as; 0 for an empty body.
  int64_t segments = 0;
  // Payload size without User Data Headers: septets for GSM-7 (2 for each
  // extension-table character such as `€` or `[`), UTF-16 code units for
  // UCS-2 (2 for each character outside the Basic Multilingual Plane).
  int64_t total_units = 0;
  // Length in UTF-16 code units, the measure to compare with
  // kMaxBodyLength (Twilio counts an emoji as more than one character).
  int64_t length = 0;
  // The distinct code points that forced UCS-2, each as a UTF-8 string, in
  // order of first appearance; empty for GSM-7.
  std::vector<std::string> non_gsm_characters;
};

// Encodes `utf8_body` as Twilio would and counts its segments.
//
// A single-segment message holds 140 octets: 160 GSM-7 septets or 70 UCS-2
// code units. A longer message is split into parts that each lose 6 octets to
// the concatenation header: 153 septets or 67 code units each. Like Twilio's
// calculator, characters are never split across parts: an escape pair
// (`€` = ESC + 0x65), a surrogate pair (an emoji) or a grapheme cluster (a
// letter and its combining accents, an emoji with its skin tone, ZWJ
// sequence or flag pair) moves whole to the next part. Clusters are found
// with a compact approximation of Unicode's rules (UAX #29) that covers
// combining marks of the common scripts, emoji sequences and flags; see
// segments.cc.
//
// An empty body counts as 0 segments, GSM-7: it carries no text to bill (an
// MMS may have no body; Twilio's calculator would report 1).
//
// Returns InvalidArgument, naming the byte offset, if `utf8_body` is not
// well-formed UTF-8 (truncated or overlong sequences, encoded surrogates,
// code points above U+10FFFF, bytes 0xC0, 0xC1, 0xF5-0xFF).
//
// Runs in one pass over the body and allocates only to report
// `non_gsm_characters`.
absl::StatusOr<SegmentInfo> CountSegments(absl::string_view utf8_body);

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_SEGMENTS_H_

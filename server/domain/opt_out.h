// File: opt_out.h
//
// Twilio's default messaging keywords (twilio-reference.md §6; Twilio help
// center "opt-out keywords"): a body that is exactly one keyword, trimmed and
// in any case, opts the sender out of, back into, or asks for help about
// messages from the number it texted.
#ifndef SMSGW_SERVER_DOMAIN_OPT_OUT_H_
#define SMSGW_SERVER_DOMAIN_OPT_OUT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace smsgw::domain {

enum class KeywordAction {
  kNone,    // not a keyword (e.g. "stop please")
  kOptOut,  // STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT
  kOptIn,   // START, YES, UNSTOP
  kHelp,    // HELP, INFO
};

// Classifies an inbound SMS body. Only the whole body counts; surrounding
// ASCII whitespace is ignored.
KeywordAction ClassifyKeyword(absl::string_view body);

// The keyword in upper case when ClassifyKeyword() is not kNone, else "".
std::string NormalizedKeyword(absl::string_view body);

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_OPT_OUT_H_

#include "server/domain/opt_out.h"

#include "absl/strings/ascii.h"

namespace smsgw::domain {
namespace {

constexpr absl::string_view kOptOut[] = {"STOP",   "STOPALL", "UNSUBSCRIBE",
                                         "CANCEL", "END",     "QUIT",
                                         "REVOKE", "OPTOUT"};
constexpr absl::string_view kOptIn[] = {"START", "YES", "UNSTOP"};
constexpr absl::string_view kHelp[] = {"HELP", "INFO"};

}  // namespace

std::string NormalizedKeyword(absl::string_view body) {
  const std::string upper =
      absl::AsciiStrToUpper(absl::StripAsciiWhitespace(body));
  return ClassifyKeyword(body) == KeywordAction::kNone ? "" : upper;
}

KeywordAction ClassifyKeyword(absl::string_view body) {
  const std::string upper =
      absl::AsciiStrToUpper(absl::StripAsciiWhitespace(body));
  for (absl::string_view k : kOptOut) {
    if (upper == k) return KeywordAction::kOptOut;
  }
  for (absl::string_view k : kOptIn) {
    if (upper == k) return KeywordAction::kOptIn;
  }
  for (absl::string_view k : kHelp) {
    if (upper == k) return KeywordAction::kHelp;
  }
  return KeywordAction::kNone;
}

}  // namespace smsgw::domain

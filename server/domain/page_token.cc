#include "server/domain/page_token.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace smsgw::domain {

absl::StatusOr<int> PageSize(int requested) {
  if (requested < 0) {
    return absl::InvalidArgumentError("page_size must not be negative");
  }
  if (requested == 0) return kDefaultPageSize;
  return std::min(requested, kMaxPageSize);
}

std::string EncodePageToken(absl::string_view kind, absl::string_view payload) {
  std::string token;
  absl::WebSafeBase64Escape(absl::StrCat(kind, "|", payload), &token);
  return token;
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view token,
                                            absl::string_view kind) {
  std::string text;
  const std::string prefix = absl::StrCat(kind, "|");
  if (!absl::WebSafeBase64Unescape(token, &text) ||
      !absl::StartsWith(text, prefix) || text.size() == prefix.size()) {
    return absl::InvalidArgumentError("page_token is malformed");
  }
  return text.substr(prefix.size());
}

}  // namespace smsgw::domain

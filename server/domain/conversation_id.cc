#include "server/domain/conversation_id.h"

#include "absl/strings/ascii.h"

namespace smsgw::domain {

absl::Status ValidateConversationId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxConversationIdLength) {
    return absl::InvalidArgumentError(
        "conversation_id must be 1 to 128 characters long");
  }
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '.' && c != ':' && c != '-' && c != '+') {
      return absl::InvalidArgumentError(
          "conversation_id may contain only letters, digits and _ . : - +");
    }
  }
  return absl::OkStatus();
}

}  // namespace smsgw::domain

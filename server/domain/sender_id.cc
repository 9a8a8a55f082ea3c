#include "server/domain/sender_id.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace smsgw::domain {

absl::Status ValidateAlphanumericSenderId(absl::string_view id) {
  if (id.empty()) {
    return absl::InvalidArgumentError("sender ID is empty.");
  }
  if (id.size() > kMaxAlphanumericSenderIdLength) {
    // Every allowed character is one byte, so bytes are characters here.
    return absl::InvalidArgumentError(absl::StrCat(
        "sender ID has ", id.size(), " bytes; at most ",
        kMaxAlphanumericSenderIdLength, " characters are allowed."));
  }
  bool has_letter = false;
  for (size_t i = 0; i < id.size(); ++i) {
    const auto c = static_cast<unsigned char>(id[i]);
    if (absl::ascii_isalpha(c)) {
      has_letter = true;
    } else if (!absl::ascii_isdigit(c) && c != ' ') {
      return absl::InvalidArgumentError(absl::StrCat(
          "sender ID has byte 0x", absl::Hex(c, absl::kZeroPad2), " at offset ",
          i, "; only letters A-Z and a-z, digits 0-9 and spaces are allowed."));
    }
  }
  if (!has_letter) {
    return absl::InvalidArgumentError(
        "sender ID must contain at least one letter.");
  }
  return absl::OkStatus();
}

}  // namespace smsgw::domain

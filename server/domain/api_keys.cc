#include "server/domain/api_keys.h"

#include <sodium.h>

#include <algorithm>
#include <array>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace smsgw::domain {
namespace {

constexpr size_t kMaxNameBytes = 64;
constexpr size_t kSecretBytes = 32;

absl::Status InitSodium() {
  if (sodium_init() < 0) {
    return absl::InternalError("libsodium failed to initialise");
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kMessagesSend:
      return "messages:send";
    case Scope::kMessagesRead:
      return "messages:read";
    case Scope::kMessagesDelete:
      return "messages:delete";
    case Scope::kGroups:
      return "groups";
    case Scope::kWebhooks:
      return "webhooks";
    case Scope::kAnyCredential:
    case Scope::kLoginOnly:
      break;
  }
  return "";
}

const std::vector<std::string>& GrantableScopeNames() {
  static const auto* names =
      new std::vector<std::string>{"messages:send", "messages:read",
                                   "messages:delete", "groups", "webhooks"};
  return *names;
}

absl::StatusOr<std::vector<std::string>> NormalizeScopes(
    const std::vector<std::string>& scopes) {
  if (scopes.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("scopes: give at least one of ",
                     absl::StrJoin(GrantableScopeNames(), ", ")));
  }
  std::vector<std::string> sorted;
  for (const std::string& scope : scopes) {
    const auto& known = GrantableScopeNames();
    if (std::find(known.begin(), known.end(), scope) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "scopes: unknown scope \"", absl::CHexEscape(scope.substr(0, 64)),
          "\"; known: ", absl::StrJoin(known, ", ")));
    }
    if (std::find(sorted.begin(), sorted.end(), scope) != sorted.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("scopes: \"", scope, "\" is given twice"));
    }
    sorted.push_back(scope);
  }
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

absl::Status ValidateApiKeyName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "name must be 1 to ", kMaxNameBytes, " bytes long, got ", name.size()));
  }
  bool only_spaces = true;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          "name must not contain control characters");
    }
    if (c != ' ') only_spaces = false;
  }
  if (only_spaces) {
    return absl::InvalidArgumentError("name must not be only spaces");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NewApiKeySecret() {
  if (absl::Status init = InitSodium(); !init.ok()) return init;
  std::array<unsigned char, kSecretBytes> random;
  randombytes_buf(random.data(), random.size());
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string encoded(sodium_base64_ENCODED_LEN(kSecretBytes, kVariant), '\0');
  sodium_bin2base64(encoded.data(), encoded.size(), random.data(),
                    random.size(), kVariant);
  encoded.resize(encoded.find('\0'));
  sodium_memzero(random.data(), random.size());
  return absl::StrCat(kApiKeyPrefix, encoded);
}

absl::StatusOr<std::string> NewApiKeyId() {
  if (absl::Status init = InitSodium(); !init.ok()) return init;
  std::array<unsigned char, 8> random;
  randombytes_buf(random.data(), random.size());
  return absl::StrCat("key_", absl::BytesToHexString(absl::string_view(
                                  reinterpret_cast<const char*>(random.data()),
                                  random.size())));
}

bool IsApiKeySecret(absl::string_view credential) {
  return absl::StartsWith(credential, kApiKeyPrefix);
}

}  // namespace smsgw::domain

// File: api_keys.h
//
// The rules of API keys (issue 16 section 3): the scopes a key can carry,
// which scope each kind of call needs, and the shape of a key's secret.
// AuthService stores and checks keys with them.
#ifndef SMSGW_SERVER_DOMAIN_API_KEYS_H_
#define SMSGW_SERVER_DOMAIN_API_KEYS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smsgw::domain {

// What a call needs from its credentials. A login token (JWT) satisfies
// every scope; an API key satisfies kAnyCredential and the scopes it was
// created with, never kLoginOnly.
enum class Scope {
  // Any valid credential: GetCurrentUser.
  kAnyCredential,
  // "messages:send": SendMessage, CancelMessage.
  kMessagesSend,
  // "messages:read": GetMessage, ListMessages, ListConversations,
  // WatchMessages, GetMessageStats.
  kMessagesRead,
  // "messages:delete": DeleteMessage, DeleteMessages.
  kMessagesDelete,
  // "groups": every GroupService call.
  kGroups,
  // "webhooks": every WebhookService call.
  kWebhooks,
  // A login token only: managing API keys, phone verification, quotas. A
  // leaked key can thus never mint another key or change the account.
  kLoginOnly,
};

// The scope's name as keys carry it ("messages:send"); "" for
// kAnyCredential and kLoginOnly, which no key can be given.
absl::string_view ScopeName(Scope scope);

// Every name CreateApiKey accepts, in the order of the enum.
const std::vector<std::string>& GrantableScopeNames();

// Checks the scopes asked for a new key: at least one, each one of
// GrantableScopeNames(), no repeats. Returns them sorted; InvalidArgument
// naming the first bad entry otherwise.
absl::StatusOr<std::vector<std::string>> NormalizeScopes(
    const std::vector<std::string>& scopes);

// Checks an API key's name: 1-64 bytes of printable ASCII or UTF-8, no
// control characters, not only spaces. InvalidArgument naming the rule.
absl::Status ValidateApiKeyName(absl::string_view name);

// Every secret begins with this, which tells a bearer credential that is a
// key from a login token (JWTs begin with "eyJ").
inline constexpr absl::string_view kApiKeyPrefix = "sk_";

// A new secret: kApiKeyPrefix and 256 random bits in unpadded base64url
// (46 characters). Internal if libsodium cannot initialise.
absl::StatusOr<std::string> NewApiKeySecret();

// A new public key id: "key_" and 64 random bits in hex.
absl::StatusOr<std::string> NewApiKeyId();

// Whether `credential` (a bearer value) has the shape of an API key.
bool IsApiKeySecret(absl::string_view credential);

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_API_KEYS_H_

// File: auth_service.h
//
// Accounts and sessions: sign-up, login and bearer-token authentication. Both
// edges (gRPC, and later the CLI through it) call this; no account rule lives
// elsewhere.
#ifndef SMSGW_SERVER_DOMAIN_AUTH_SERVICE_H_
#define SMSGW_SERVER_DOMAIN_AUTH_SERVICE_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "server/domain/abuse_limits.h"
#include "server/domain/api_keys.h"
#include "server/domain/login_throttle.h"
#include "server/domain/password_hasher.h"
#include "server/domain/phone_number.h"
#include "server/domain/token_service.h"
#include "storage/user_store.h"

namespace smsgw::domain {

// A signed-in user and the access token that proves it.
struct Session {
  storage::User user;
  std::string access_token;  // JWT HS256
  absl::Time expire_time;
};

// An API key just created: its stored form and the secret, which is shown
// this once and never again.
struct CreatedApiKey {
  storage::ApiKey key;
  std::string secret;  // "sk_..."
};

// Validates a username: 3–32 characters of [a-z0-9_.-] after ASCII case
// folding. Returns the folded name, or InvalidArgument naming the rule.
absl::StatusOr<std::string> NormalizeUsername(absl::string_view username);

// Validates a password: 8–128 bytes. InvalidArgument naming the rule.
absl::Status ValidatePassword(absl::string_view password);

// Sign-up, login and token checks. Thread-safe. The stores, hasher, token
// service, phone parser and clock are not owned and must outlive it.
class AuthService {
 public:
  struct Options {
    // Usernames (case-folded) that have the admin role (SMSGW_ADMIN_USERS).
    absl::flat_hash_set<std::string> admin_usernames;
    // Counts failed logins per username and address; null = no limit. Not
    // owned.
    LoginThrottle* login_throttle = nullptr;
    // Counts sign-ups per address and in total (issue 18); null = no
    // limit. Not owned.
    SignupThrottle* signup_throttle = nullptr;
    // Most API keys one user may hold (SMSGW_MAX_API_KEYS_PER_USER).
    int max_api_keys_per_user = 20;
  };

  // How stale a key's recorded last use may be: a use writes the time only
  // when the stored one is older, so a busy key costs one write a minute,
  // not one per call.
  static constexpr absl::Duration kApiKeyUseGranularity = absl::Minutes(1);

  AuthService(storage::UserStore* users, PasswordHasher* hasher,
              TokenService* tokens, const PhoneNumberParser* phones,
              Clock* clock, Options options);

  // Creates an account and signs it in. `phone_number` is optional (empty);
  // national numbers in the default region are accepted and stored as E.164.
  // InvalidArgument names the bad field (username, password, phone_number);
  // AlreadyExists if the username is taken; nothing is stored on error.
  // With a sign-up throttle, each well-formed attempt counts against `peer`
  // (PeerAddress(); empty = unknown, counted in the total only) and the
  // server's total, taken usernames included; ResourceExhausted ("... retry
  // in N s") over either limit, before anything else is done.
  absl::StatusOr<Session> SignUp(absl::string_view username,
                                 absl::string_view password,
                                 absl::string_view phone_number,
                                 absl::string_view peer = "");

  // Signs in. Unauthenticated with one identical message for an unknown user
  // and a wrong password, after the same amount of hashing work, so that
  // usernames cannot be enumerated. With a login throttle: `peer` is the
  // client's address (PeerAddress(); empty = unknown); ResourceExhausted
  // ("... retry in N s") while the username or the address is locked out,
  // without checking the password; and on Unauthenticated,
  // `*failure_delay` (if not null) is set to how long the caller should hold
  // the answer (zero within the free failures).
  absl::StatusOr<Session> Login(absl::string_view username,
                                absl::string_view password,
                                absl::string_view peer = "",
                                absl::Duration* failure_delay = nullptr);

  // Sets `username`'s daily segment quota (issue 18): > 0 their own, 0 =
  // the server's default. Returns the updated user. PermissionDenied when
  // `caller` is not admin; InvalidArgument for a malformed username or a
  // negative quota; NotFound for an unknown user.
  absl::StatusOr<storage::User> SetUserQuota(const storage::User& caller,
                                             absl::string_view username,
                                             int64_t daily_segments);

  // The user a bearer credential belongs to, if it may make a call needing
  // `scope`. The credential is a login token (JWT), which may do
  // everything, or an API key ("sk_..."), which may do kAnyCredential and
  // its own scopes. Unauthenticated for a missing, malformed, expired,
  // tampered or wrong-key token, an unknown or deleted API key, or one whose
  // user no longer exists; PermissionDenied for a valid API key without
  // `scope` (the message names the scope; kLoginOnly: "log in").
  absl::StatusOr<storage::User> Authenticate(absl::string_view token,
                                             Scope scope);

  // Creates an API key of `caller` named `name` (ValidateApiKeyName) with
  // `scopes` (NormalizeScopes), and returns it with its secret. The caller
  // must have authenticated with Scope::kLoginOnly. InvalidArgument for a
  // bad name or scope; AlreadyExists if the caller has a key of that name;
  // ResourceExhausted past Options::max_api_keys_per_user.
  absl::StatusOr<CreatedApiKey> CreateApiKey(
      const storage::User& caller, absl::string_view name,
      const std::vector<std::string>& scopes);

  // `caller`'s API keys, oldest first, without secrets (the stored digest
  // is cleared too).
  absl::StatusOr<std::vector<storage::ApiKey>> ListApiKeys(
      const storage::User& caller);

  // Revokes `caller`'s key `id` at once: the next call with it is
  // Unauthenticated. InvalidArgument for an empty id; NotFound when the
  // caller has no such key.
  absl::Status DeleteApiKey(const storage::User& caller, absl::string_view id);

  // The user with `id`, with the effective admin flag. NotFound if none.
  absl::StatusOr<storage::User> GetUser(int64_t id);

  // The user named `username` (any case), or NotFound / InvalidArgument.
  absl::StatusOr<storage::User> FindUser(absl::string_view username);

 private:
  absl::StatusOr<Session> IssueSession(storage::User user);
  absl::StatusOr<storage::User> AuthenticateApiKey(absl::string_view secret,
                                                   Scope scope);
  storage::User WithRole(storage::User user) const;

  storage::UserStore* users_;
  PasswordHasher* hasher_;
  TokenService* tokens_;
  const PhoneNumberParser* phones_;
  Clock* clock_;
  const Options options_;
  // Verified against when the username is unknown, so that a miss costs as
  // much as a wrong password.
  std::string dummy_hash_;
};

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_AUTH_SERVICE_H_

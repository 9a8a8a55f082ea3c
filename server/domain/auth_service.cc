#include "server/domain/auth_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/sha256.h"
#include "common/status_macros.h"

namespace smsgw::domain {
namespace {

constexpr size_t kMinUsername = 3;
constexpr size_t kMaxUsername = 32;
constexpr size_t kMinPassword = 8;
constexpr size_t kMaxPassword = 128;
constexpr char kBadCredentials[] = "username or password is incorrect";

}  // namespace

absl::StatusOr<std::string> NormalizeUsername(absl::string_view username) {
  if (username.size() < kMinUsername || username.size() > kMaxUsername) {
    return absl::InvalidArgumentError(absl::StrCat(
        "username must be 3 to 32 characters long, got ", username.size()));
  }
  std::string folded = absl::AsciiStrToLower(username);
  for (char c : folded) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          "username may contain only letters a-z, digits 0-9, '_', '.' and "
          "'-'");
    }
  }
  return folded;
}

absl::Status ValidatePassword(absl::string_view password) {
  if (password.size() < kMinPassword || password.size() > kMaxPassword) {
    return absl::InvalidArgumentError(absl::StrCat(
        "password must be 8 to 128 bytes long, got ", password.size()));
  }
  return absl::OkStatus();
}

AuthService::AuthService(storage::UserStore* users, PasswordHasher* hasher,
                         TokenService* tokens, const PhoneNumberParser* phones,
                         Clock* clock, Options options)
    : users_(users),
      hasher_(hasher),
      tokens_(tokens),
      phones_(phones),
      clock_(clock),
      options_(std::move(options)) {
  absl::StatusOr<std::string> dummy = hasher_->Hash("smsgw-dummy-password");
  if (dummy.ok()) dummy_hash_ = *std::move(dummy);
}

storage::User AuthService::WithRole(storage::User user) const {
  user.admin = user.admin || options_.admin_usernames.contains(user.username);
  return user;
}

absl::StatusOr<Session> AuthService::IssueSession(storage::User user) {
  SMSGW_ASSIGN_OR_RETURN(IssuedToken token,
                         tokens_->Issue(absl::StrCat(user.id)));
  Session session;
  session.user = WithRole(std::move(user));
  session.access_token = std::move(token.token);
  session.expire_time = token.expire_time;
  return session;
}

absl::StatusOr<Session> AuthService::SignUp(absl::string_view username,
                                            absl::string_view password,
                                            absl::string_view phone_number,
                                            absl::string_view peer) {
  SMSGW_ASSIGN_OR_RETURN(std::string name, NormalizeUsername(username));
  SMSGW_RETURN_IF_ERROR(ValidatePassword(password));
  storage::User user;
  user.username = std::move(name);
  if (!phone_number.empty()) {
    absl::StatusOr<std::string> e164 = phones_->ToE164(phone_number);
    if (!e164.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("phone_number: ", e164.status().message()));
    }
    user.phone_number = *std::move(e164);
  }
  // After the input checks (a typo costs no attempt), before the password
  // hash (the expensive part a bot would make us pay for).
  if (options_.signup_throttle != nullptr) {
    SMSGW_RETURN_IF_ERROR(options_.signup_throttle->Admit(peer));
  }
  SMSGW_ASSIGN_OR_RETURN(user.password_hash, hasher_->Hash(password));
  user.create_time = user.update_time = clock_->Now();
  SMSGW_ASSIGN_OR_RETURN(storage::User stored, users_->Insert(user));
  SMSGW_LOG(kInfo) << "user signed up user_id=" << stored.id;
  return IssueSession(std::move(stored));
}

absl::StatusOr<storage::User> AuthService::SetUserQuota(
    const storage::User& caller, absl::string_view username,
    int64_t daily_segments) {
  if (!caller.admin) {
    return absl::PermissionDeniedError("only admins may set quotas");
  }
  SMSGW_ASSIGN_OR_RETURN(std::string name, NormalizeUsername(username));
  if (daily_segments < 0) {
    return absl::InvalidArgumentError(
        "daily_segments must be 0 (the server's default) or positive");
  }
  absl::StatusOr<storage::User> user = users_->FindByUsername(name);
  if (absl::IsNotFound(user.status())) {
    return absl::NotFoundError(absl::StrCat("no user \"", name, "\""));
  }
  SMSGW_RETURN_IF_ERROR(user.status());
  SMSGW_RETURN_IF_ERROR(users_->SetDailySegmentQuota(user->id, daily_segments));
  SMSGW_LOG(kInfo) << "daily segment quota set user_id=" << user->id
                   << " segments=" << daily_segments << " by=" << caller.id;
  return users_->FindById(user->id);
}

absl::StatusOr<Session> AuthService::Login(absl::string_view username,
                                           absl::string_view password,
                                           absl::string_view peer,
                                           absl::Duration* failure_delay) {
  if (failure_delay != nullptr) *failure_delay = absl::ZeroDuration();
  absl::StatusOr<std::string> name = NormalizeUsername(username);
  LoginThrottle* throttle = options_.login_throttle;
  // An invalid name counts against the address only: it names no account.
  const std::string throttle_name = name.ok() ? *name : "";
  absl::Duration delay = absl::ZeroDuration();
  if (throttle != nullptr) {
    absl::StatusOr<absl::Duration> admitted =
        throttle->Admit(throttle_name, peer);
    if (!admitted.ok()) {
      SMSGW_LOG(kWarning) << "login refused (throttled) peer=" << peer;
      return admitted.status();
    }
    delay = *admitted;
  }
  auto refuse = [&]() {
    if (failure_delay != nullptr) *failure_delay = delay;
    return absl::UnauthenticatedError(kBadCredentials);
  };
  absl::StatusOr<storage::User> user =
      name.ok() ? users_->FindByUsername(*name)
                : absl::StatusOr<storage::User>(name.status());
  if (!user.ok()) {
    if (!absl::IsNotFound(user.status()) &&
        !absl::IsInvalidArgument(user.status())) {
      // Not the caller's fault: do not count it.
      if (throttle != nullptr) throttle->Succeeded("", peer);
      return user.status();
    }
    (void)hasher_->Verify(password, dummy_hash_);
    return refuse();
  }
  if (!hasher_->Verify(password, user->password_hash)) {
    return refuse();
  }
  if (throttle != nullptr) throttle->Succeeded(throttle_name, peer);
  if (hasher_->NeedsRehash(user->password_hash)) {
    absl::StatusOr<std::string> rehashed = hasher_->Hash(password);
    if (rehashed.ok()) {
      absl::Status updated = users_->UpdatePasswordHash(user->id, *rehashed);
      if (!updated.ok()) {
        SMSGW_LOG(kWarning) << "password rehash not stored user_id=" << user->id
                            << ": " << updated;
      }
    }
  }
  return IssueSession(*std::move(user));
}

absl::StatusOr<storage::User> AuthService::Authenticate(absl::string_view token,
                                                        Scope scope) {
  if (token.empty()) {
    return absl::UnauthenticatedError(
        "missing access token: send metadata 'authorization: Bearer <token>'");
  }
  if (IsApiKeySecret(token)) return AuthenticateApiKey(token, scope);
  SMSGW_ASSIGN_OR_RETURN(TokenClaims claims, tokens_->Verify(token));
  int64_t id = 0;
  if (!absl::SimpleAtoi(claims.subject, &id)) {
    return absl::UnauthenticatedError("access token has an invalid subject");
  }
  absl::StatusOr<storage::User> user = users_->FindById(id);
  if (absl::IsNotFound(user.status())) {
    return absl::UnauthenticatedError("access token's user no longer exists");
  }
  SMSGW_RETURN_IF_ERROR(user.status());
  return WithRole(*std::move(user));
}

absl::StatusOr<storage::User> AuthService::AuthenticateApiKey(
    absl::string_view secret, Scope scope) {
  if (secret.size() > TokenService::kMaxTokenBytes) {
    return absl::UnauthenticatedError("invalid API key");
  }
  // One message for every miss: a key that never existed and one deleted
  // a moment ago look the same to a prober.
  absl::StatusOr<storage::ApiKey> key =
      users_->FindApiKeyBySecretHash(Sha256Hex(secret));
  if (absl::IsNotFound(key.status())) {
    return absl::UnauthenticatedError("invalid API key");
  }
  SMSGW_RETURN_IF_ERROR(key.status());
  if (scope == Scope::kLoginOnly) {
    return absl::PermissionDeniedError(
        "API keys cannot make this call; use a login token "
        "(AuthService.Login)");
  }
  if (scope != Scope::kAnyCredential) {
    const absl::string_view needed = ScopeName(scope);
    if (std::find(key->scopes.begin(), key->scopes.end(), needed) ==
        key->scopes.end()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "API key \"", key->name, "\" lacks the scope \"", needed, "\""));
    }
  }
  absl::StatusOr<storage::User> user = users_->FindById(key->user_id);
  if (absl::IsNotFound(user.status())) {
    return absl::UnauthenticatedError("invalid API key");
  }
  SMSGW_RETURN_IF_ERROR(user.status());
  const absl::Time now = clock_->Now();
  if (!key->last_use_time.has_value() ||
      now - *key->last_use_time >= kApiKeyUseGranularity) {
    // Best effort: a lost update only makes the shown time older.
    absl::Status touched = users_->TouchApiKey(key->id, now);
    if (!touched.ok()) {
      SMSGW_LOG(kWarning) << "recording API key use failed key_id=" << key->id
                          << " error=\"" << touched.message() << "\"";
    }
  }
  return WithRole(*std::move(user));
}

absl::StatusOr<CreatedApiKey> AuthService::CreateApiKey(
    const storage::User& caller, absl::string_view name,
    const std::vector<std::string>& scopes) {
  SMSGW_RETURN_IF_ERROR(ValidateApiKeyName(name));
  SMSGW_ASSIGN_OR_RETURN(std::vector<std::string> normalized,
                         NormalizeScopes(scopes));
  CreatedApiKey created;
  SMSGW_ASSIGN_OR_RETURN(created.secret, NewApiKeySecret());
  SMSGW_ASSIGN_OR_RETURN(created.key.id, NewApiKeyId());
  created.key.user_id = caller.id;
  created.key.name = std::string(name);
  created.key.scopes = std::move(normalized);
  created.key.secret_hash = Sha256Hex(created.secret);
  created.key.create_time = clock_->Now();
  SMSGW_ASSIGN_OR_RETURN(
      created.key,
      users_->InsertApiKey(created.key, options_.max_api_keys_per_user));
  created.key.secret_hash.clear();
  SMSGW_LOG(kInfo) << "api key created user_id=" << caller.id
                   << " key_id=" << created.key.id;
  return created;
}

absl::StatusOr<std::vector<storage::ApiKey>> AuthService::ListApiKeys(
    const storage::User& caller) {
  SMSGW_ASSIGN_OR_RETURN(std::vector<storage::ApiKey> keys,
                         users_->ListApiKeys(caller.id));
  for (storage::ApiKey& key : keys) key.secret_hash.clear();
  return keys;
}

absl::Status AuthService::DeleteApiKey(const storage::User& caller,
                                       absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("id is required");
  SMSGW_RETURN_IF_ERROR(users_->DeleteApiKey(caller.id, id));
  SMSGW_LOG(kInfo) << "api key deleted user_id=" << caller.id
                   << " key_id=" << id;
  return absl::OkStatus();
}

absl::StatusOr<storage::User> AuthService::GetUser(int64_t id) {
  SMSGW_ASSIGN_OR_RETURN(storage::User user, users_->FindById(id));
  return WithRole(std::move(user));
}

absl::StatusOr<storage::User> AuthService::FindUser(
    absl::string_view username) {
  SMSGW_ASSIGN_OR_RETURN(std::string name, NormalizeUsername(username));
  absl::StatusOr<storage::User> user = users_->FindByUsername(name);
  if (absl::IsNotFound(user.status())) {
    return absl::NotFoundError(absl::StrCat("no user named \"", name, "\""));
  }
  SMSGW_RETURN_IF_ERROR(user.status());
  return WithRole(*std::move(user));
}

}  // namespace smsgw::domain

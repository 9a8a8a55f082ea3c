// File: user_store.h
//
// Accounts: the users table behind AuthService.
#ifndef SMSGW_STORAGE_USER_STORE_H_
#define SMSGW_STORAGE_USER_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace smsgw::storage {

// One account, as stored.
struct User {
  int64_t id = 0;             // assigned by the store
  std::string username;       // case-folded, unique
  std::string password_hash;  // self-describing PHC string ($argon2id$…)
  std::string phone_number;   // E.164, or empty
  bool phone_verified = false;
  bool admin = false;
  // The user's own daily segment quota (issue 18), set by an admin; 0 =
  // the server's SMSGW_DAILY_SEGMENTS_PER_USER.
  int64_t daily_segment_quota = 0;
  absl::Time create_time;
  absl::Time update_time;
};

// An API key (issue 16 section 3): a long-lived credential of `user_id` for
// servers, limited to `scopes`. Only a digest of the secret is stored.
struct ApiKey {
  std::string id;  // public, random; names the key in the API
  int64_t user_id = 0;
  std::string name;                 // the owner's label, unique per user
  std::vector<std::string> scopes;  // e.g. "messages:send"; never empty
  // SHA-256 of the whole secret ("sk_..."), 64 hex digits. The secret has
  // 256 random bits, so a fast digest is enough (no password KDF needed)
  // and it lets a call find its key by an indexed lookup.
  std::string secret_hash;
  absl::Time create_time;
  // When a call last used the key, to the granularity the caller records
  // it at (AuthService: one minute); nullopt = never used.
  std::optional<absl::Time> last_use_time;
};

// Persists user accounts. Implementations are thread-safe.
class UserStore {
 public:
  virtual ~UserStore() = default;

  // Stores `user` (its `id` is ignored) and returns it with the id set.
  // AlreadyExists if the username is taken.
  virtual absl::StatusOr<User> Insert(const User& user) = 0;

  // The user with `username` (already case-folded), or NotFound.
  virtual absl::StatusOr<User> FindByUsername(absl::string_view username) = 0;

  // The user with `id`, or NotFound.
  virtual absl::StatusOr<User> FindById(int64_t id) = 0;

  // The user whose verified phone is `phone` (E.164), or NotFound.
  virtual absl::StatusOr<User> FindByVerifiedPhone(absl::string_view phone) = 0;

  // Replaces the password hash (e.g. after raising KDF parameters).
  // NotFound if there is no such user.
  virtual absl::Status UpdatePasswordHash(int64_t id,
                                          absl::string_view password_hash) = 0;

  // Sets the admin flag. NotFound if there is no such user.
  virtual absl::Status SetAdmin(int64_t id, bool admin) = 0;

  // Sets the user's daily segment quota: > 0 their own, 0 = the server's
  // default. InvalidArgument when negative; NotFound if no such user.
  virtual absl::Status SetDailySegmentQuota(int64_t id, int64_t segments) = 0;

  // --- API keys ---

  // Stores `key` unless its user already has `max_per_user` keys
  // (ResourceExhausted) or a key of that name (AlreadyExists); the check
  // and the insert are one transaction. NotFound if the user is gone.
  virtual absl::StatusOr<ApiKey> InsertApiKey(const ApiKey& key,
                                              int max_per_user) = 0;

  // The keys of `user_id`, oldest first.
  virtual absl::StatusOr<std::vector<ApiKey>> ListApiKeys(int64_t user_id) = 0;

  // The key whose secret digest is `secret_hash`, or NotFound.
  virtual absl::StatusOr<ApiKey> FindApiKeyBySecretHash(
      absl::string_view secret_hash) = 0;

  // Deletes `user_id`'s key `id`. NotFound when that user has no such key
  // (another user's key is not found either).
  virtual absl::Status DeleteApiKey(int64_t user_id, absl::string_view id) = 0;

  // Records a use of key `id` at `time`. A deleted key is no error.
  virtual absl::Status TouchApiKey(absl::string_view id, absl::Time time) = 0;
};

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_USER_STORE_H_

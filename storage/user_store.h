// File: user_store.h
//
// Accounts: the users table behind AuthService.
#ifndef SMSGW_STORAGE_USER_STORE_H_
#define SMSGW_STORAGE_USER_STORE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace smsgw::storage {

// One account, as stored.
struct User {
  int64_t id = 0;              // assigned by the store
  std::string username;        // case-folded, unique
  std::string password_hash;   // self-describing PHC string ($argon2id$…)
  std::string phone_number;    // E.164, or empty
  bool phone_verified = false;
  bool admin = false;
  // The user's own daily segment quota (issue 18), set by an admin; 0 =
  // the server's SMSGW_DAILY_SEGMENTS_PER_USER.
  int64_t daily_segment_quota = 0;
  absl::Time create_time;
  absl::Time update_time;
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
};

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_USER_STORE_H_

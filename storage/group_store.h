// File: group_store.h
//
// Groups, their memberships with proxy numbers (DESIGN.md §6), and phone
// verification codes: the tables behind GroupService and the phone
// verification RPCs of AuthService.
#ifndef SMSGW_STORAGE_GROUP_STORE_H_
#define SMSGW_STORAGE_GROUP_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace smsgw::storage {

// One group, as stored.
struct GroupRecord {
  int64_t id = 0;
  std::string name;  // as created; unique case-insensitively
  std::string description;
  absl::Time create_time;
  int member_count = 0;  // filled on reads
};

// One membership, with what fan-out needs of the member's account.
struct GroupMemberRecord {
  int64_t group_id = 0;
  int64_t user_id = 0;
  std::string username;
  std::string phone_number;  // the member's phone (E.164), may be empty
  bool phone_verified = false;
  std::string proxy_number;  // E.164, one of the pool
  absl::Time join_time;
};

// A group with the proxy number of one of its members.
struct Membership {
  GroupRecord group;
  std::string proxy_number;
};

// Persists groups and memberships. Implementations are thread-safe; every
// method is one transaction.
class GroupStore {
 public:
  virtual ~GroupStore() = default;

  // Creates group `name` and makes `user_id` its first member, with the
  // first number of `pool` (E.164, in order) that none of the user's other
  // groups uses. AlreadyExists if a group of that name (any case) exists;
  // ResourceExhausted if every pool number is taken by the user's groups
  // (nothing is stored then).
  virtual absl::StatusOr<Membership> CreateWithMember(
      absl::string_view name, absl::string_view description, int64_t user_id,
      const std::vector<std::string>& pool, absl::Time now) = 0;

  // Adds `user_id` to the group named `name` (any case) with a free pool
  // number, as CreateWithMember(). NotFound if no such group; AlreadyExists
  // if already a member; ResourceExhausted when no number is free. The
  // choice and the insert share one write transaction, so concurrent joins
  // never give one user a number twice (UNIQUE(user_id, proxy_number) is the
  // backstop).
  virtual absl::StatusOr<Membership> Join(
      absl::string_view name, int64_t user_id,
      const std::vector<std::string>& pool, absl::Time now) = 0;

  // Removes `user_id` from group `name`; when nobody is left, deletes the
  // group in the same transaction (its messages keep their group_name but
  // lose the group link: ON DELETE SET NULL). Returns true when the group was
  // deleted. NotFound if no such group; FailedPrecondition if not a member.
  virtual absl::StatusOr<bool> Leave(absl::string_view name,
                                     int64_t user_id) = 0;

  // The group named `name` (any case), with member_count, or NotFound.
  virtual absl::StatusOr<GroupRecord> FindByName(absl::string_view name) = 0;

  // The members of a group, in order of joining (then user id).
  virtual absl::StatusOr<std::vector<GroupMemberRecord>> ListMembers(
      int64_t group_id) = 0;

  // `user_id`'s groups ordered by name (case-insensitive), only those whose
  // name sorts after `after_name` (case-insensitive; empty: from the start),
  // at most `limit`.
  virtual absl::StatusOr<std::vector<Membership>> ListForUser(
      int64_t user_id, absl::string_view after_name, int limit) = 0;

  // The membership whose member's verified phone is `phone` and whose proxy
  // number is `proxy_number` (DESIGN.md §6 rule 1), or nullopt.
  virtual absl::StatusOr<std::optional<GroupMemberRecord>> FindByPhoneAndProxy(
      absl::string_view phone, absl::string_view proxy_number) = 0;
};

// One verification code sent to a phone.
struct PhoneVerificationRecord {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string phone_number;  // E.164 the code was sent to
  std::string code_hash;     // opaque to the store (salted digest)
  int attempts = 0;          // wrong codes tried
  bool used = false;
  absl::Time create_time;
  absl::Time expire_time;
};

// Persists verification codes and the users' phone fields they change.
// Thread-safe.
class PhoneVerificationStore {
 public:
  virtual ~PhoneVerificationStore() = default;

  // Sets the user's phone to `phone` (E.164); when it differs from the
  // stored one, clears phone_verified. NotFound if no such user.
  virtual absl::Status SetPhone(int64_t user_id, absl::string_view phone,
                                absl::Time now) = 0;

  // In one transaction: counts the user's codes created in
  // (now - window, now]; when there are `max_per_window` or more, returns
  // ResourceExhausted whose message says when the next code may be asked for;
  // otherwise marks the user's pending codes used and inserts `record`,
  // returning it with its id.
  virtual absl::StatusOr<PhoneVerificationRecord> InsertLimited(
      const PhoneVerificationRecord& record, absl::Duration window,
      int max_per_window, absl::Time now) = 0;

  // The user's newest unused code, or nullopt.
  virtual absl::StatusOr<std::optional<PhoneVerificationRecord>> FindPending(
      int64_t user_id) = 0;

  // Adds one wrong try to code `id`.
  virtual absl::Status AddAttempt(int64_t id) = 0;

  // In one transaction: marks code `id` used and the user's phone verified,
  // provided the user's phone is still `phone`. AlreadyExists if another user
  // has verified `phone` meanwhile; FailedPrecondition if the phone changed.
  virtual absl::Status MarkVerified(int64_t id, int64_t user_id,
                                    absl::string_view phone,
                                    absl::Time now) = 0;
};

// --- Rules both engines share (group_store.cc) ---

// The first number of `pool` (in order) not in `used` (the user's other
// memberships' numbers), or ResourceExhausted naming how many groups the
// user is in and how many numbers the server has.
absl::StatusOr<std::string> FirstFreeProxyNumber(
    const std::vector<std::string>& pool, const std::vector<std::string>& used);

// NotFound: no group named `name`.
absl::Status NoSuchGroupError(absl::string_view name);

// ResourceExhausted for InsertLimited: at most `max_per_window` codes per
// hour; the next may be asked for at `retry` (now: `now`), in whole seconds
// rounded up, at least 1.
absl::Status TooManyVerificationCodesError(int max_per_window,
                                           absl::Time retry, absl::Time now);

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_GROUP_STORE_H_

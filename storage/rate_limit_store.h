// File: rate_limit_store.h
//
// Sliding-window event counters kept in the database, for the abuse
// controls of issue 18 (sign-up throttling, the verification guard): the
// counts are in the store, not in one process, so every replica sharing the
// database sees the same ones (issue 18, item 5), and a restart forgets
// nothing.
#ifndef SMSGW_STORAGE_RATE_LIMIT_STORE_H_
#define SMSGW_STORAGE_RATE_LIMIT_STORE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace smsgw::storage {

// At most `max_events` events of `key` in any window of length `window`.
struct RateLimit {
  // What is counted, namespaced by the caller: "signup/peer/203.0.113.7",
  // "verify/prefix/+447400". At most 200 bytes.
  std::string key;
  int64_t max_events = 0;  // >= 1
  absl::Duration window;   // > 0, at most 31 days
};

// The answer of RateLimitStore::Admit.
struct Admission {
  bool admitted = false;
  // When refused: the index in `limits` of the full limit that frees up
  // last, and when it has room again (every full limit has room then).
  size_t limit_index = 0;
  absl::Time retry_time;
  // The events of each limit's key in its window after the call, in
  // `limits` order: admitted, the recorded one included.
  std::vector<int64_t> counts;
};

// Checks `limits` as every engine's Admit() does first: not empty; each
// key 1-200 bytes, max_events >= 1, window within (0, 31 days].
// InvalidArgument naming the first bad limit.
absl::Status ValidateRateLimits(const std::vector<RateLimit>& limits);

// Notes in `admission` that limit `index` is full until `retry_time`
// (when the max_events-th newest event in its window leaves it): the
// answer names the full limit that frees up last.
void NoteFullLimit(size_t index, absl::Time retry_time, Admission* admission);

// Expired events of other keys an Admit() deletes per call, so that keys
// never seen again (one-off client addresses) do not stay forever, while no
// call pays for a large backlog at once.
inline constexpr int kRateEventPruneBatch = 64;

// Thread-safe; implementations keep the counts in the database.
class RateLimitStore {
 public:
  virtual ~RateLimitStore() = default;

  // In one transaction: when every limit's key has fewer than its
  // max_events events in (now - window, now], records one event at `now`
  // for each key and answers admitted; otherwise records nothing and
  // answers which limit is full and when it frees up. Expired events are
  // deleted as it goes. InvalidArgument for an empty list, an empty or
  // over-long key, max_events < 1 or a window outside (0, 31 days];
  // Unavailable / Internal from the database.
  virtual absl::StatusOr<Admission> Admit(const std::vector<RateLimit>& limits,
                                          absl::Time now) = 0;

  // Admit() without recording anything: whether it would admit now, and
  // when a full limit frees up. The same errors.
  virtual absl::StatusOr<Admission> Check(const std::vector<RateLimit>& limits,
                                          absl::Time now) = 0;

  // Deletes every event of `key` (a correct password clears the
  // username's failures). InvalidArgument for a key outside 1-200 bytes.
  virtual absl::Status Forget(absl::string_view key) = 0;

  // Deletes the newest event of `key` (one, when several share its time),
  // if any: takes back one counted attempt. InvalidArgument as Forget().
  virtual absl::Status ForgetNewest(absl::string_view key) = 0;
};

// Forget()'s and ForgetNewest()'s check of `key`: 1-200 bytes, else
// InvalidArgument.
absl::Status ValidateRateLimitKey(absl::string_view key);

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_RATE_LIMIT_STORE_H_

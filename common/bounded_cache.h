// File: bounded_cache.h
//
// A thread-safe memo of at most `capacity` string-keyed values, for results
// that are pure functions of their key and dear to recompute on a hot path
// (issue 14): verified access tokens (token_service.h) and E.164 forms of
// phone numbers as people write them (phone_number.h). When full it forgets
// everything at once instead of tracking recency: a working set that fits
// stays, one that does not costs what no cache would, and a hit costs one
// shared lock and one hash lookup.
#ifndef SMSGW_COMMON_BOUNDED_CACHE_H_
#define SMSGW_COMMON_BOUNDED_CACHE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace smsgw {

template <typename Value>
class BoundedCache {
 public:
  // `capacity` entries at most (at least 1).
  explicit BoundedCache(size_t capacity)
      : capacity_(capacity > 0 ? capacity : 1) {}
  BoundedCache(const BoundedCache&) = delete;
  BoundedCache& operator=(const BoundedCache&) = delete;

  // A copy of the value remembered for exactly `key`, or nullopt.
  std::optional<Value> Find(absl::string_view key) const {
    absl::ReaderMutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }

  // Remembers `value` for `key` (replacing an older one); forgets every
  // entry first when `capacity` are held.
  void Insert(absl::string_view key, Value value) {
    absl::MutexLock lock(&mu_);
    if (entries_.size() >= capacity_ && !entries_.contains(key)) {
      entries_.clear();
    }
    entries_.insert_or_assign(std::string(key), std::move(value));
  }

  size_t size() const {
    absl::ReaderMutexLock lock(&mu_);
    return entries_.size();
  }

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Value> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace smsgw

#endif  // SMSGW_COMMON_BOUNDED_CACHE_H_

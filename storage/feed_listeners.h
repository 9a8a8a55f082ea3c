// File: feed_listeners.h
//
// The FeedStore listener registry both engines share: the one listener of
// SetFeedListener() (the watch hub's) and the ones AddFeedListener() adds
// (the webhook worker's), called after a commit that appended feed rows.
#ifndef SMSGW_STORAGE_FEED_LISTENERS_H_
#define SMSGW_STORAGE_FEED_LISTENERS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "storage/feed_store.h"

namespace smsgw::storage {

// Thread-safe. Notify() may run on many threads at once; Remove() waits for
// the calls in progress, so a removed listener is never called after
// Remove() returns.
class FeedListeners {
 public:
  using FeedListener = FeedStore::FeedListener;

  // FeedStore::SetFeedListener(): replaces the main listener (empty: none).
  void Set(FeedListener listener);
  // FeedStore::AddFeedListener(): a handle for Remove().
  int Add(FeedListener listener);
  // FeedStore::RemoveFeedListener(); unknown handles are ignored.
  void Remove(int handle);

  // Calls every listener with `latest_cursor` and `owner_ids` (ascending,
  // distinct: the caller's list is sorted and de-duplicated here).
  void Notify(int64_t latest_cursor, std::vector<int64_t> owner_ids);

 private:
  absl::Mutex mu_;
  FeedListener main_ ABSL_GUARDED_BY(mu_);
  // Shared, so a call in progress keeps its copy alive.
  std::map<int, std::shared_ptr<FeedListener>> extra_ ABSL_GUARDED_BY(mu_);
  int next_handle_ ABSL_GUARDED_BY(mu_) = 1;
  // Held shared by Notify() and exclusively by Remove().
  absl::Mutex calls_mu_;
};

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_FEED_LISTENERS_H_

#include "storage/feed_listeners.h"

#include <algorithm>
#include <utility>

namespace smsgw::storage {

void FeedListeners::Set(FeedListener listener) {
  absl::MutexLock lock(&mu_);
  main_ = std::move(listener);
}

int FeedListeners::Add(FeedListener listener) {
  absl::MutexLock lock(&mu_);
  const int handle = next_handle_++;
  extra_[handle] = std::make_shared<FeedListener>(std::move(listener));
  return handle;
}

void FeedListeners::Remove(int handle) {
  absl::MutexLock calls(&calls_mu_);
  absl::MutexLock lock(&mu_);
  extra_.erase(handle);
}

void FeedListeners::Notify(int64_t latest_cursor,
                           std::vector<int64_t> owner_ids) {
  std::sort(owner_ids.begin(), owner_ids.end());
  owner_ids.erase(std::unique(owner_ids.begin(), owner_ids.end()),
                  owner_ids.end());
  FeedListener main;
  std::vector<std::shared_ptr<FeedListener>> extra;
  absl::ReaderMutexLock calls(&calls_mu_);
  {
    absl::MutexLock lock(&mu_);
    main = main_;
    for (const auto& [handle, l] : extra_) extra.push_back(l);
  }
  if (main) main(latest_cursor, owner_ids);
  for (const auto& l : extra) (*l)(latest_cursor, owner_ids);
}

}  // namespace smsgw::storage

// File: feed_store.h
//
// The FeedStore port of the message store (issue 13). message_store.h says how
// the ports join into MessageStore and how writes that span concerns stay
// one transaction; a component takes only the ports it uses.
#ifndef SMSGW_STORAGE_FEED_STORE_H_
#define SMSGW_STORAGE_FEED_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/message_types.h"

namespace smsgw::storage {

// The watch feed: every change to a message appends feed rows in the
// change's own transaction, so the feed is the commit-ordered history
// WatchMessages replays (and the metrics count).
// Implementations are thread-safe.
class FeedStore {
 public:
  virtual ~FeedStore() = default;

  // Every change above appends feed rows in its own transaction, so the feed
  // is the commit-ordered history WatchMessages replays. A cursor increases
  // in commit order and is never reused (SQLite: the row's AUTOINCREMENT
  // number under its one writer; PostgreSQL: numbered by the feed
  // sequencer, pg_message_store.h).

  // Feed rows of `owner_id` with cursor > `after_cursor`, oldest first, at
  // most `limit`. InvalidArgument when `limit` < 1.
  virtual absl::StatusOr<std::vector<FeedEvent>> ListFeed(int64_t owner_id,
                                                          int64_t after_cursor,
                                                          int limit) = 0;

  // The highest cursor ever appended (any owner); 0 for an empty feed.
  virtual absl::StatusOr<int64_t> LatestFeedCursor() = 0;

  // Feed rows of every owner with cursor > `after_cursor`, counted by event
  // type and the status right after the event (the metrics' "messages by
  // status transition"), and the highest cursor counted (`after_cursor` when
  // none). Reads the feed's primary key range only.
  struct FeedCounts {
    int64_t latest_cursor = 0;
    std::map<std::pair<FeedEventType, MessageStatus>, int64_t> counts;
  };
  virtual absl::StatusOr<FeedCounts> CountFeedSince(int64_t after_cursor) = 0;

  // Installs `listener` (empty: none), replacing any other. The store calls
  // it after each committed write transaction that appended feed rows —
  // never inside the transaction, never for a rolled-back one — with the
  // latest cursor that transaction saw and the owners (ascending, distinct;
  // 0 for unrouted inbound) whose feed got rows, so that only their watches
  // wake. Calls may come from any writing thread, concurrently, and slightly
  // out of order (a call with a lower cursor after one with a higher):
  // listeners must keep the maximum and must not block or call back into
  // the store's writes.
  using FeedListener = std::function<void(
      int64_t latest_cursor, const std::vector<int64_t>& owner_ids)>;
  virtual void SetFeedListener(FeedListener listener) = 0;

  // Adds `listener` beside the one SetFeedListener() installs (the watch
  // hub's), with the same contract, and returns its handle for
  // RemoveFeedListener(). The outbound webhook worker listens this way.
  virtual int AddFeedListener(FeedListener listener) = 0;
  // Removes the listener `handle` names; once it returns, that listener is
  // no longer called. Unknown handles are ignored.
  virtual void RemoveFeedListener(int handle) = 0;
};

}  // namespace smsgw::storage

#endif  // SMSGW_STORAGE_FEED_STORE_H_

// File: message_watch_hub.h
//
// WatchMessages in the domain: live and replayed message events per user.
//
// The store's watch feed (MessageStore::ListFeed) is the single source of
// events: ordering, "no gaps" and "no duplicates" come from its cursors, not
// from copies kept in memory. The hub is the store's feed listener; when a
// write commits, it wakes the watches that are behind, and a small pool of
// workers (not a thread per watch) reads each watch's next rows from its own
// cursor, joins the messages, filters by conversation and fills the watch's
// bounded buffer. The stream edge (server/rpc/watch_reactor.h) pulls events
// one at a time with MessageWatch::Next() as its writes complete.
//
// Cursors on the wire are the decimal feed cursor; clients must treat them as
// opaque. A reader that stops reading while events keep coming ends with
// ResourceExhausted and resumes with after_cursor; shutdown ends every watch
// with Unavailable, naming the cursor to resume from.
#ifndef SMSGW_SERVER_DOMAIN_MESSAGE_WATCH_HUB_H_
#define SMSGW_SERVER_DOMAIN_MESSAGE_WATCH_HUB_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "storage/message_store.h"
#include "storage/user_store.h"

namespace smsgw::domain {

// Parses a WatchMessagesRequest.after_cursor: a decimal integer >= 0 without
// sign, spaces or leading zeros ("0" alone is allowed). InvalidArgument
// otherwise.
absl::StatusOr<int64_t> ParseWatchCursor(absl::string_view text);

// The wire form of a feed cursor (decimal).
std::string FormatWatchCursor(int64_t cursor);

// One event of a watch stream.
struct WatchEvent {
  int64_t cursor = 0;
  storage::FeedEventType type = storage::FeedEventType::kUnspecified;
  // The message as it is now, with `status` as it was right after the event.
  // When the message no longer exists (DELETED, or deleted since), only id,
  // owner, owner_username, conversation_id and status are set.
  storage::Message message;
  absl::Time event_time;
};

// What a client asks to watch.
struct WatchRequest {
  std::string conversation_id;  // empty: all of the caller's messages
  std::string after_cursor;     // empty: only events after the call
};

// The receiving end of a watch, implemented by the stream edge. Calls come
// from hub workers or from the thread that shuts the hub down, never while
// the hub or a watch holds a lock, so a sink may call MessageWatch::Next()
// from inside them. They must not block. They may come after the sink's
// stream has finished (a sink is shared, and a call can race Close()).
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // Events were buffered after Next() had returned nothing: call Next()
  // again.
  virtual void OnEventsAvailable() = 0;
  // The watch ended on the server's side; called at most once. `status` is
  // ResourceExhausted (reader too slow), Unavailable (shutdown) or the
  // store's error, its message naming the cursor to resume after. Next()
  // returns nothing from now on.
  virtual void OnWatchEnded(const absl::Status& status) = 0;
};

class MessageWatchHub;

// One open watch (one stream). Thread-safe. Owned by the stream edge through
// a shared_ptr; Close() it when the stream is done.
class MessageWatch {
 public:
  // The next buffered event, oldest first, or nullopt when none is buffered
  // (the sink then gets OnEventsAvailable() once one is) or the watch ended
  // or was closed. Each event is returned once.
  std::optional<WatchEvent> Next();

  // The cursor to resume after: that of the last event Next() returned, or
  // the watch's start cursor.
  int64_t resume_cursor() const;

  // Events buffered and not yet taken by Next().
  size_t buffered() const;

  // Unsubscribes: frees the user's stream slot, drops the sink, and stops
  // fetching. Idempotent; callable after the hub shut down.
  void Close();

  // Not public API: created by MessageWatchHub::Watch().
  MessageWatch(MessageWatchHub* hub, int64_t owner_id, std::string username,
               std::string conversation_id, int64_t start_cursor,
               std::shared_ptr<WatchSink> sink);

 private:
  friend class MessageWatchHub;

  // Reads the next rows from the store into the buffer (a hub worker).
  // Returns true when the watch should be fetched again at once.
  bool Fetch();
  // Ends the watch with `code` and "<reason>; resume with after_cursor=N".
  void End(absl::StatusCode code, absl::string_view reason);
  // The feed row as the event a client sees.
  WatchEvent ToEvent(storage::FeedEvent row) const;
  bool Matches(const storage::FeedEvent& row) const;

  MessageWatchHub* const hub_;
  const int64_t owner_id_;
  const std::string username_;
  const std::string conversation_id_;

  mutable absl::Mutex mu_;
  std::deque<WatchEvent> buffer_ ABSL_GUARDED_BY(mu_);
  // Rows up to here are buffered, delivered or filtered out.
  int64_t fetched_cursor_ ABSL_GUARDED_BY(mu_);
  int64_t delivered_cursor_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<WatchSink> sink_ ABSL_GUARDED_BY(mu_);
  bool sink_waiting_ ABSL_GUARDED_BY(mu_) = true;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // In the hub's work queue or being fetched; `again_` asks the running
  // fetch to go once more (a commit arrived meanwhile).
  bool scheduled_ ABSL_GUARDED_BY(mu_) = false;
  bool again_ ABSL_GUARDED_BY(mu_) = false;
  // The buffer was full with more matching rows in the store: fetching
  // resumes when Next() has drained half of it. `full_since_` is when that
  // began; Next() clears it, since the reader is making progress.
  bool waiting_for_room_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Time> full_since_ ABSL_GUARDED_BY(mu_);
};

// Fans feed commits out to watches. Thread-safe. `store` and `clock` are not
// owned and must outlive the hub; the hub installs itself as the store's
// feed listener and removes itself in Shutdown(). The destructor calls
// Shutdown().
class MessageWatchHub {
 public:
  struct Options {
    // Events buffered per watch beyond the one being written.
    int buffer_size = 1000;
    // A watch whose buffer has been full this long without the reader
    // taking an event ends with ResourceExhausted when one more matching
    // event is waiting; 0 ends it as soon as the buffer overflows. Within
    // the grace, bursts (a bulk delete, a long replay) are paced by the
    // reader: the rest waits in the store, not in memory.
    absl::Duration slow_reader_grace = absl::Seconds(1);
    // Open watches per user; more is ResourceExhausted.
    int max_streams_per_user = 16;
    // Worker threads that fetch for all watches.
    int workers = 2;
    // Feed rows read per fetch.
    int fetch_batch = 256;
  };

  MessageWatchHub(storage::MessageStore* store, Clock* clock, Options options);
  ~MessageWatchHub();
  MessageWatchHub(const MessageWatchHub&) = delete;
  MessageWatchHub& operator=(const MessageWatchHub&) = delete;

  // Opens a watch of `caller`'s events delivered to `sink`: those after
  // `request.after_cursor` first (replayed from the store), then live ones;
  // without a cursor, those committed after this call began. Returns
  // InvalidArgument when after_cursor is malformed or ahead of the newest
  // event (it did not come from this feed), or conversation_id is
  // malformed; NotFound when the caller has no such conversation;
  // ResourceExhausted when the caller already has max_streams_per_user
  // watches open; Unavailable after Shutdown(); the store's errors.
  absl::StatusOr<std::shared_ptr<MessageWatch>> Watch(
      const storage::User& caller, const WatchRequest& request,
      std::shared_ptr<WatchSink> sink);

  // The feed listener: wakes every watch behind `latest_cursor`. Does not
  // block on the store.
  void OnFeedCommitted(int64_t latest_cursor,
                       const std::vector<int64_t>& owner_ids);

  // Ends every watch with Unavailable ("server shutting down; resume with
  // after_cursor=N"), refuses new ones, stops the workers and leaves the
  // store's listener empty. Idempotent.
  void Shutdown();

  // Watches open now (not yet closed).
  int open_watches() const;

 private:
  friend class MessageWatch;

  void Schedule(const std::shared_ptr<MessageWatch>& watch);
  void Schedule(MessageWatch* watch);
  void Remove(MessageWatch* watch);
  void WorkerLoop();

  storage::MessageStore* const store_;
  Clock* const clock_;
  const Options options_;

  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Every open watch, keyed by address; a watch leaves on Close().
  absl::flat_hash_map<MessageWatch*, std::shared_ptr<MessageWatch>> watches_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int64_t, int> per_user_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<MessageWatch>> ready_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> workers_;
};

}  // namespace smsgw::domain

#endif  // SMSGW_SERVER_DOMAIN_MESSAGE_WATCH_HUB_H_

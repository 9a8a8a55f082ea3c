// File: send_queue.h
//
// The dispatcher's in-memory view of outbound messages that wait for their
// turn (issue "Sending policy", items 2 and 5): one queue per sender
// (Message::our_number), ordered HIGH before NORMAL before BULK and by store
// order (Message::seq) within a level. The store stays the record: every
// entry is a PENDING row, so a restart rebuilds the same queues from
// MessageStore::ListUndispatched() and the order survives.
//
// Entries with a deadline (the end of the validity period or of the retry
// horizon) are also indexed by it, so the dispatcher can end the ones whose
// time ran out while they waited, without scanning every queue.
//
// Not thread-safe: the dispatcher holds its mutex around every call.
#ifndef SMSGW_SERVER_DISPATCH_SEND_QUEUE_H_
#define SMSGW_SERVER_DISPATCH_SEND_QUEUE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "storage/message_store.h"

namespace smsgw::dispatch {

class SendQueue {
 public:
  struct Entry {
    std::string id;      // Message::id
    std::string sender;  // Message::our_number
    storage::MessagePriority priority = storage::MessagePriority::kNormal;
    int64_t seq = 0;     // Message::seq: FIFO order within a priority
    int segments = 1;    // what the sender's rate limiter books for it
    // When it stops being worth sending; nullopt = never (or its outcome is
    // unknown and only the provider can tell: such a message is reconciled,
    // never expired from the queue).
    std::optional<absl::Time> deadline;
  };

  // Adds `entry` at its place in its sender's queue. Returns false (and
  // changes nothing) when a message with that id is already queued.
  bool Push(Entry entry);
  // Removes the message `id` wherever it waits; false when it is not queued.
  bool Remove(absl::string_view id);
  bool Contains(absl::string_view id) const;

  // The first message of `sender`'s queue, or nullptr when it has none.
  const Entry* Head(absl::string_view sender) const;
  // Removes and returns the first message of `sender`'s queue, which must
  // not be empty.
  Entry PopHead(absl::string_view sender);
  // Senders with at least one waiting message, in no particular order.
  std::vector<std::string> Senders() const;
  // The sender whose head goes first overall (highest priority, then the
  // oldest): where a single probe is taken from. nullopt when empty.
  std::optional<std::string> FirstSender() const;

  // Removes and returns every message whose deadline is at or before `now`,
  // earliest deadline first.
  std::vector<Entry> PopExpired(absl::Time now);
  // The earliest deadline of a waiting message (InfiniteFuture() if none).
  absl::Time NextDeadline() const;

  size_t size() const { return by_id_.size(); }
  bool empty() const { return by_id_.empty(); }
  // Waiting messages of one priority level (metrics).
  int64_t CountAt(storage::MessagePriority priority) const;
  // Segments waiting in `sender`'s queue (for the wait estimate).
  int64_t SegmentsOf(absl::string_view sender) const;

 private:
  // (-priority, seq): HIGH sorts first, then store order.
  using Key = std::pair<int, int64_t>;
  static Key KeyOf(const Entry& e);

  absl::flat_hash_map<std::string, std::map<Key, Entry>> by_sender_;
  struct Where {
    std::string sender;
    Key key;
    std::optional<absl::Time> deadline;
    int segments = 1;
  };
  absl::flat_hash_map<std::string, Where> by_id_;
  std::multimap<absl::Time, std::string> by_deadline_;
  absl::flat_hash_map<int, int64_t> count_by_priority_;
  absl::flat_hash_map<std::string, int64_t> segments_by_sender_;
};

}  // namespace smsgw::dispatch

#endif  // SMSGW_SERVER_DISPATCH_SEND_QUEUE_H_

// File: schedule_poller.h
//
// Scheduled sends (SendMessage with a send time): the message is stored
// SCHEDULED and left alone until it is due. The poller looks at the store
// every `poll` for SCHEDULED messages that are due, moves each to PENDING
// (DispatchQueueStore::ReleaseScheduled, which a cancel may have beaten) and hands
// it to the dispatcher. The store is the record, so scheduled sends survive
// restarts.
#ifndef SMSGW_SERVER_DISPATCH_SCHEDULE_POLLER_H_
#define SMSGW_SERVER_DISPATCH_SCHEDULE_POLLER_H_

#include <functional>

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/timer.h"
#include "storage/dispatch_queue_store.h"

namespace smsgw::dispatch {

// Thread-safe (no state of its own besides its options). `messages` and
// `clock` are not owned and must outlive the poller.
class SchedulePoller {
 public:
  // Takes a message just released (now PENDING). Returns false when the
  // dispatcher is stopping: the rest of the pass is left for the next start.
  using Release = std::function<bool(const storage::Message& released)>;

  // Due messages released per pass; the next pass takes more.
  static constexpr int kReleaseBatch = 200;

  // `poll`: how often to look; zero = never (scheduled sends off).
  SchedulePoller(storage::DispatchQueueStore* messages, Clock* clock,
                 absl::Duration poll, Release release);

  // Polls on `timer` (whose clock must be the poller's), the first time one
  // interval from now, so that the first pass does not race the dispatch
  // of the PENDING backlog at start-up. No-op when `poll` is zero.
  void Start(Timer* timer);

  // One pass: releases up to kReleaseBatch due messages, in the store's
  // order. Store errors are logged; those messages stay due.
  void ReleaseDue();

 private:
  storage::DispatchQueueStore* messages_;
  Clock* clock_;
  const absl::Duration poll_;
  const Release release_;
};

}  // namespace smsgw::dispatch

#endif  // SMSGW_SERVER_DISPATCH_SCHEDULE_POLLER_H_

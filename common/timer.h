// File: timer.h
//
// The one timer facility of the server (issue 15, item 5): a thread that runs
// callbacks when a Clock reaches their deadlines. The dispatcher, its
// first-answer waiters and the status reconciler each used to run a timer
// loop of their own; they now schedule on a Timer.
//
// The clock may be a fake (tests/testing/fake_clock.h) that moves without
// telling anyone, so the thread never sleeps longer than `max_sleep` of real
// time before it reads the clock again: a callback runs at most about
// `max_sleep` after its clock passed its deadline. With Clock::Real() the
// thread sleeps until the deadline itself.
//
// Callbacks run one at a time on the timer thread, in deadline order, and
// in the order they were scheduled when deadlines are equal. A callback that
// blocks delays the ones after it: hand long work to an Executor.
#ifndef SMSGW_COMMON_TIMER_H_
#define SMSGW_COMMON_TIMER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace smsgw {

// Thread-safe. `clock` is not owned and must outlive the timer. The thread
// starts with the timer; the destructor calls Shutdown().
class Timer {
 public:
  // Names a scheduled callback; never 0 for a callback that was scheduled.
  using Id = uint64_t;
  static constexpr Id kNoTimer = 0;

  // A repeating callback returns when it wants to run next (a time on the
  // timer's clock); InfiniteFuture() parks it until Wake().
  using Repeating = std::function<absl::Time()>;

  Timer(std::string name, Clock* clock,
        absl::Duration max_sleep = absl::Milliseconds(200));
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Runs `fn` once, when the clock reaches `at` (at once when it has).
  // Returns kNoTimer, and never runs `fn`, after Shutdown() began.
  Id RunAt(absl::Time at, std::function<void()> fn);

  // Runs `fn` when the clock reaches `first`, then again at each time it
  // returns, until it returns InfiniteFuture() (then it waits for Wake()),
  // it is cancelled, or the timer shuts down. kNoTimer after Shutdown().
  Id RunRepeatedly(absl::Time first, Repeating fn);

  // Makes callback `id` run no later than `at`: moves its pending run
  // earlier, schedules a parked repeating callback, or, while a repeating
  // callback runs, makes it run again by `at` whatever it returns. No-op
  // for a one-shot callback that started, and for a cancelled one.
  void Wake(Id id, absl::Time at);

  // Drops callback `id`'s pending runs. Returns whether it was still
  // scheduled (a repeating callback that is running counts and does not run
  // again). Does not wait for a run under way.
  bool Cancel(Id id);

  // Drops every pending callback, waits for the one running (if any) and
  // stops the thread. Idempotent. Must not be called from a callback.
  void Shutdown();

  // The current time on the timer's clock.
  absl::Time Now() const { return clock_->Now(); }

 private:
  struct Task {
    Repeating fn;
    bool repeating = false;
    // Its place in `order_` while a run is pending.
    std::optional<std::pair<absl::Time, uint64_t>> key;
    bool running = false;
    bool cancelled = false;
    // Wake() while it ran: run again no later than this.
    absl::Time wake_while_running = absl::InfiniteFuture();
  };

  Id Add(absl::Time at, Repeating fn, bool repeating);
  // Queues task `id` (not pending) to run at `at`.
  void PlaceLocked(Id id, Task& task, absl::Time at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop();

  const std::string name_;
  Clock* const clock_;
  const absl::Duration max_sleep_;

  absl::Mutex mu_;
  absl::CondVar changed_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Id next_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<Id, Task> tasks_ ABSL_GUARDED_BY(mu_);
  // Pending runs, earliest first; the sequence keeps equal deadlines FIFO.
  std::map<std::pair<absl::Time, uint64_t>, Id> order_ ABSL_GUARDED_BY(mu_);
  absl::Mutex join_mu_;  // held while Shutdown() joins `thread_`
  std::thread thread_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace smsgw

#endif  // SMSGW_COMMON_TIMER_H_

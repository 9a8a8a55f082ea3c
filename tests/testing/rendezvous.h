// File: rendezvous.h
//
// A meeting point for concurrency tests: each Arrive() waits until `target`
// callers are in it at once, which only callers on separate threads reach.
// The wait is bounded (`timeout`) so that code that runs them one at a time
// fails the test's assertion on max_inside() instead of hanging it.
#ifndef SMSGW_TESTS_TESTING_RENDEZVOUS_H_
#define SMSGW_TESTS_TESTING_RENDEZVOUS_H_

#include <algorithm>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace smsgw::testing {

// Thread-safe.
class Rendezvous {
 public:
  // `target` <= 1 never waits.
  explicit Rendezvous(int target, absl::Duration timeout = absl::Seconds(10))
      : target_(target), timeout_(timeout) {}

  // Enters; once `target` callers have been in at the same time, every
  // caller (then and later) leaves at once; before that it waits, at most
  // `timeout`.
  void Arrive() {
    absl::MutexLock lock(&mu_);
    ++inside_;
    max_inside_ = std::max(max_inside_, inside_);
    if (inside_ >= target_) met_ = true;
    mu_.AwaitWithTimeout(absl::Condition(&met_), timeout_);
    --inside_;
    ++finished_;
  }

  // The most callers that were in Arrive() at once.
  int max_inside() {
    absl::MutexLock lock(&mu_);
    return max_inside_;
  }

  // Arrive() calls that have returned.
  int finished() {
    absl::MutexLock lock(&mu_);
    return finished_;
  }

 private:
  const int target_;
  const absl::Duration timeout_;
  absl::Mutex mu_;
  int inside_ ABSL_GUARDED_BY(mu_) = 0;
  int max_inside_ ABSL_GUARDED_BY(mu_) = 0;
  int finished_ ABSL_GUARDED_BY(mu_) = 0;
  bool met_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_RENDEZVOUS_H_

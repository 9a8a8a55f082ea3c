// File: clock.h
//
// A source of the current time, so that expiry, backoff and scheduling can be
// tested with a fake clock (tests/testing/fake_clock.h).
#ifndef SMSGW_COMMON_CLOCK_H_
#define SMSGW_COMMON_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace smsgw {

// Tells the time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // The current time (UTC instant).
  virtual absl::Time Now() const = 0;
  // The process-wide real clock; never null, never deleted.
  static Clock* Real();
};

}  // namespace smsgw

#endif  // SMSGW_COMMON_CLOCK_H_

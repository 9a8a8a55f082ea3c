// File: circuit_breaker.h
//
// The dispatcher's circuit breaker (issue "Sending policy", item 5). While
// the provider keeps failing (429, 5xx, timeouts, connection errors), every
// message retrying on its own timer would keep hammering it, and the moment
// it recovers the whole backlog would arrive at once in no particular order.
// The breaker instead backs off for the dispatcher as a whole:
//
//   kClosed    sends flow; `failure_threshold` retryable failures in a row
//              (no success between them) open it.
//   kOpen      nothing is sent until ReopenTime(); then one probe may go.
//   kHalfOpen  exactly one probe is out. Its success (or any answer that
//              shows the provider is up, even a final refusal such as 21211)
//              closes the breaker and the backlog drains in queue order; its
//              failure opens it again for twice as long (capped at
//              `max_open`).
//
// Not thread-safe: the dispatcher calls it under its own mutex. Times come
// from the caller (the dispatcher's Clock), so tests drive it with a fake.
#ifndef SMSGW_SERVER_DISPATCH_CIRCUIT_BREAKER_H_
#define SMSGW_SERVER_DISPATCH_CIRCUIT_BREAKER_H_

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace smsgw::dispatch {

class CircuitBreaker {
 public:
  enum class State : int { kClosed = 0, kOpen = 1, kHalfOpen = 2 };

  struct Options {
    // Retryable failures in a row that open a closed breaker (≥ 1).
    int failure_threshold = 5;
    // How long it stays open the first time; each failed probe doubles it,
    // up to `max_open`.
    absl::Duration min_open = absl::Seconds(1);
    absl::Duration max_open = absl::Minutes(2);
  };

  explicit CircuitBreaker(Options options);

  State state() const { return state_; }
  // When an open breaker lets its next probe go (InfiniteFuture() unless
  // kOpen).
  absl::Time ReopenTime() const;

  // Whether an ordinary send may go now: true only while kClosed.
  bool Closed() const { return state_ == State::kClosed; }
  // Whether a probe may go at `now`: kOpen and ReopenTime() has passed.
  bool ProbeDue(absl::Time now) const;
  // The caller sends one probe: kOpen -> kHalfOpen. Call only after
  // ProbeDue() returned true.
  void ProbeStarted();
  // The probe ended without reaching the provider (its message was deleted,
  // canceled or expired meanwhile): kHalfOpen -> kOpen, due again at once.
  void ProbeAbandoned(absl::Time now);

  // The provider answered (accepted, or refused for good): closes the
  // breaker from any state. Returns true when it was not closed before, so
  // that the caller can drain what waited.
  bool OnProviderAnswered();
  // A retryable failure at `now`. Returns true when this opened the breaker.
  bool OnRetryableFailure(absl::Time now);

  // "closed", "open" or "half_open" (logs, metrics labels).
  static absl::string_view StateName(State state);

 private:
  void Open(absl::Time now);

  const Options options_;
  State state_ = State::kClosed;
  int consecutive_failures_ = 0;
  absl::Duration open_for_;
  absl::Time reopen_time_ = absl::InfiniteFuture();
};

}  // namespace smsgw::dispatch

#endif  // SMSGW_SERVER_DISPATCH_CIRCUIT_BREAKER_H_

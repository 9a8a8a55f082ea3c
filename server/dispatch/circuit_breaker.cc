#include "server/dispatch/circuit_breaker.h"

#include <algorithm>

namespace smsgw::dispatch {

CircuitBreaker::CircuitBreaker(Options options)
    : options_(options), open_for_(options.min_open) {}

absl::Time CircuitBreaker::ReopenTime() const {
  return state_ == State::kOpen ? reopen_time_ : absl::InfiniteFuture();
}

bool CircuitBreaker::ProbeDue(absl::Time now) const {
  return state_ == State::kOpen && now >= reopen_time_;
}

void CircuitBreaker::ProbeStarted() {
  if (state_ == State::kOpen) state_ = State::kHalfOpen;
}

void CircuitBreaker::ProbeAbandoned(absl::Time now) {
  if (state_ != State::kHalfOpen) return;
  state_ = State::kOpen;
  reopen_time_ = now;
}

bool CircuitBreaker::OnProviderAnswered() {
  consecutive_failures_ = 0;
  open_for_ = options_.min_open;
  const bool was_closed = state_ == State::kClosed;
  state_ = State::kClosed;
  reopen_time_ = absl::InfiniteFuture();
  return !was_closed;
}

bool CircuitBreaker::OnRetryableFailure(absl::Time now) {
  switch (state_) {
    case State::kClosed:
      if (++consecutive_failures_ < std::max(options_.failure_threshold, 1)) {
        return false;
      }
      Open(now);
      return true;
    case State::kHalfOpen:
      // The probe (or a call that was already in flight) failed: the
      // provider is still down; wait twice as long before the next probe.
      open_for_ = std::min(open_for_ * 2, options_.max_open);
      Open(now);
      return false;
    case State::kOpen:
      // Answers of calls made before the breaker opened: already known.
      return false;
  }
  return false;
}

void CircuitBreaker::Open(absl::Time now) {
  state_ = State::kOpen;
  reopen_time_ = now + open_for_;
}

absl::string_view CircuitBreaker::StateName(State state) {
  switch (state) {
    case State::kClosed:
      return "closed";
    case State::kOpen:
      return "open";
    case State::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

}  // namespace smsgw::dispatch

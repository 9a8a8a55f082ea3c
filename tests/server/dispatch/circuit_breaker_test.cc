// The circuit breaker's states, driven by explicit times.
#include "server/dispatch/circuit_breaker.h"

#include "gtest/gtest.h"

namespace smsgw::dispatch {
namespace {

using State = CircuitBreaker::State;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

CircuitBreaker Breaker() {
  CircuitBreaker::Options options;
  options.failure_threshold = 3;
  options.min_open = absl::Seconds(1);
  options.max_open = absl::Seconds(5);
  return CircuitBreaker(options);
}

TEST(CircuitBreakerTest, OpensOnlyAfterTheThresholdOfFailuresInARow) {
  CircuitBreaker b = Breaker();
  EXPECT_FALSE(b.OnRetryableFailure(kT0));
  EXPECT_FALSE(b.OnRetryableFailure(kT0));
  EXPECT_FALSE(b.OnProviderAnswered());  // a success resets the count
  EXPECT_FALSE(b.OnRetryableFailure(kT0));
  EXPECT_FALSE(b.OnRetryableFailure(kT0));
  EXPECT_TRUE(b.Closed());
  EXPECT_TRUE(b.OnRetryableFailure(kT0));
  EXPECT_EQ(b.state(), State::kOpen);
  EXPECT_EQ(b.ReopenTime(), kT0 + absl::Seconds(1));
}

TEST(CircuitBreakerTest, LetsOneProbeGoWhenItsTimeIsUp) {
  CircuitBreaker b = Breaker();
  for (int i = 0; i < 3; ++i) b.OnRetryableFailure(kT0);
  EXPECT_FALSE(b.ProbeDue(kT0 + absl::Milliseconds(999)));
  EXPECT_TRUE(b.ProbeDue(kT0 + absl::Seconds(1)));
  b.ProbeStarted();
  EXPECT_EQ(b.state(), State::kHalfOpen);
  EXPECT_FALSE(b.ProbeDue(kT0 + absl::Seconds(2)));  // one at a time
  EXPECT_FALSE(b.Closed());
}

TEST(CircuitBreakerTest, FailedProbesDoubleTheWaitUpToTheCap) {
  CircuitBreaker b = Breaker();
  for (int i = 0; i < 3; ++i) b.OnRetryableFailure(kT0);
  absl::Time now = kT0;
  for (absl::Duration expected :
       {absl::Seconds(2), absl::Seconds(4), absl::Seconds(5), absl::Seconds(5)}) {
    now = b.ReopenTime();
    ASSERT_TRUE(b.ProbeDue(now));
    b.ProbeStarted();
    b.OnRetryableFailure(now);
    EXPECT_EQ(b.state(), State::kOpen);
    EXPECT_EQ(b.ReopenTime() - now, expected);
  }
}

TEST(CircuitBreakerTest, AnswerClosesItAndResetsTheWait) {
  CircuitBreaker b = Breaker();
  for (int i = 0; i < 3; ++i) b.OnRetryableFailure(kT0);
  b.ProbeStarted();
  b.OnRetryableFailure(kT0);  // wait now 2 s
  b.ProbeStarted();
  EXPECT_TRUE(b.OnProviderAnswered());
  EXPECT_TRUE(b.Closed());
  EXPECT_EQ(b.ReopenTime(), absl::InfiniteFuture());
  for (int i = 0; i < 3; ++i) b.OnRetryableFailure(kT0);
  EXPECT_EQ(b.ReopenTime(), kT0 + absl::Seconds(1));
}

TEST(CircuitBreakerTest, AbandonedProbeIsDueAgainAtOnce) {
  CircuitBreaker b = Breaker();
  for (int i = 0; i < 3; ++i) b.OnRetryableFailure(kT0);
  b.ProbeStarted();
  b.ProbeAbandoned(kT0 + absl::Seconds(3));
  EXPECT_EQ(b.state(), State::kOpen);
  EXPECT_TRUE(b.ProbeDue(kT0 + absl::Seconds(3)));
}

TEST(CircuitBreakerTest, StateNames) {
  EXPECT_EQ(CircuitBreaker::StateName(State::kClosed), "closed");
  EXPECT_EQ(CircuitBreaker::StateName(State::kOpen), "open");
  EXPECT_EQ(CircuitBreaker::StateName(State::kHalfOpen), "half_open");
}

}  // namespace
}  // namespace smsgw::dispatch

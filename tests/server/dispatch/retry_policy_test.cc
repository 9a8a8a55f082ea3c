// The retry rules, on a fake clock: backoff bounds, the retry horizon, the
// validity period, and the breaker's say in when a retry goes.
#include "server/dispatch/retry_policy.h"

#include <algorithm>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"

namespace smsgw::dispatch {
namespace {

using ::smsgw::testing::FakeClock;

RetryPolicy::Options Options() {
  RetryPolicy::Options options;
  options.backoff_base = absl::Seconds(1);
  options.backoff_cap = absl::Seconds(30);
  options.retry_horizon = absl::Hours(4);
  return options;
}

// A message accepted at `created`.
storage::Message Accepted(absl::Time created) {
  storage::Message m;
  m.id = "m1";
  m.create_time = created;
  return m;
}

TEST(RetryPolicyTest, BackoffCeilingDoublesUpToTheCap) {
  RetryPolicy policy(Options());
  EXPECT_EQ(policy.BackoffCeiling(1), absl::Seconds(1));
  EXPECT_EQ(policy.BackoffCeiling(2), absl::Seconds(2));
  EXPECT_EQ(policy.BackoffCeiling(5), absl::Seconds(16));
  EXPECT_EQ(policy.BackoffCeiling(6), absl::Seconds(30));
  EXPECT_EQ(policy.BackoffCeiling(1000), absl::Seconds(30));
}

TEST(RetryPolicyTest, BackoffIsFullJitterWithinTheCeiling) {
  RetryPolicy policy(Options());
  absl::Duration longest = absl::ZeroDuration();
  absl::Duration shortest = absl::InfiniteDuration();
  for (int i = 0; i < 2000; ++i) {
    const absl::Duration d = policy.Backoff(3);
    ASSERT_GE(d, absl::ZeroDuration());
    ASSERT_LE(d, absl::Seconds(4));
    longest = std::max(longest, d);
    shortest = std::min(shortest, d);
  }
  // Spread over the whole range, not a fixed delay.
  EXPECT_GT(longest, absl::Seconds(3));
  EXPECT_LT(shortest, absl::Seconds(1));
}

TEST(RetryPolicyTest, RetryDeadlineIsTheHorizonOrTheValidityWhicheverIsFirst) {
  FakeClock clock;
  RetryPolicy policy(Options());
  storage::Message m = Accepted(clock.Now());
  EXPECT_EQ(policy.RetryDeadline(m), clock.Now() + absl::Hours(4));
  m.expire_time = clock.Now() + absl::Hours(1);
  EXPECT_EQ(policy.RetryDeadline(m), clock.Now() + absl::Hours(1));
  m.expire_time = clock.Now() + absl::Hours(9);
  EXPECT_EQ(policy.RetryDeadline(m), clock.Now() + absl::Hours(4));
  // A scheduled message counts from its due time.
  m.expire_time.reset();
  m.scheduled_time = clock.Now() + absl::Hours(2);
  EXPECT_EQ(policy.RetryDeadline(m), clock.Now() + absl::Hours(6));
}

TEST(RetryPolicyTest, GivesUpBeforeACallOnlyPastValidityOrPastTheHorizon) {
  FakeClock clock;
  RetryPolicy policy(Options());
  storage::Message m = Accepted(clock.Now());
  clock.Advance(absl::Hours(5));
  // Never tried: the horizon is about retries, the first call still goes.
  EXPECT_FALSE(policy.GiveUpBeforeCall(m, clock.Now()));
  m.attempts = 1;
  EXPECT_TRUE(policy.GiveUpBeforeCall(m, clock.Now()));
  m.attempts = 0;
  m.expire_time = clock.Now() + absl::Minutes(1);
  EXPECT_FALSE(policy.GiveUpBeforeCall(m, clock.Now()));
  clock.Advance(absl::Minutes(1));
  EXPECT_TRUE(policy.GiveUpBeforeCall(m, clock.Now()));
}

TEST(RetryPolicyTest, RetriesWithinTheBackoffAndNeverPastTheDeadline) {
  FakeClock clock;
  RetryPolicy policy(Options());
  const absl::Time deadline = clock.Now() + absl::Seconds(10);
  for (int i = 0; i < 200; ++i) {
    const RetryPolicy::Decision d = policy.AfterRetryableFailure(
        /*attempts=*/6, /*refused=*/true, deadline, /*breaker_closed=*/true,
        clock.Now());
    ASSERT_FALSE(d.expire);
    ASSERT_GE(d.next, clock.Now());
    ASSERT_LE(d.next, deadline);  // the cap (30 s) is past the deadline
  }
  const RetryPolicy::Decision early = policy.AfterRetryableFailure(
      1, true, clock.Now() + absl::Hours(1), true, clock.Now());
  EXPECT_FALSE(early.expire);
  EXPECT_LE(early.next, clock.Now() + absl::Seconds(1));
}

TEST(RetryPolicyTest, OpenBreakerRetriesAtOnceToWaitInTheQueue) {
  FakeClock clock;
  RetryPolicy policy(Options());
  const RetryPolicy::Decision d =
      policy.AfterRetryableFailure(3, true, clock.Now() + absl::Hours(1),
                                   /*breaker_closed=*/false, clock.Now());
  EXPECT_FALSE(d.expire);
  EXPECT_EQ(d.next, clock.Now());
}

TEST(RetryPolicyTest, RefusedCreatePastTheDeadlineExpires) {
  FakeClock clock;
  RetryPolicy policy(Options());
  const absl::Time deadline = clock.Now() + absl::Minutes(1);
  clock.Advance(absl::Minutes(1));
  EXPECT_TRUE(policy
                  .AfterRetryableFailure(4, /*refused=*/true, deadline, true,
                                         clock.Now())
                  .expire);
}

TEST(RetryPolicyTest, UnknownOutcomePastTheDeadlineIsRetriedToReconcile) {
  // No answer (or a 5xx): the provider may have it, so the next attempt
  // reconciles instead of declaring it EXPIRED.
  FakeClock clock;
  RetryPolicy policy(Options());
  const absl::Time deadline = clock.Now() + absl::Minutes(1);
  clock.Advance(absl::Minutes(2));
  const RetryPolicy::Decision d = policy.AfterRetryableFailure(
      4, /*refused=*/false, deadline, true, clock.Now());
  EXPECT_FALSE(d.expire);
  EXPECT_EQ(d.next, deadline);  // at once: the deadline is behind us
}

TEST(RetryPolicyTest, RetryableErrorsIncludeAnUnreadable2xx) {
  twilio::ProviderError e;
  e.http_status = 503;
  e.retryable = true;
  EXPECT_TRUE(RetryPolicy::IsRetryable(e));
  e.retryable = false;
  e.http_status = 201;  // accepted, but the body could not be read
  EXPECT_TRUE(RetryPolicy::IsRetryable(e));
  e.http_status = 400;
  EXPECT_FALSE(RetryPolicy::IsRetryable(e));
}

TEST(RetryPolicyTest, ExpiryReasonNamesTheRuleAndTheLastError) {
  FakeClock clock;
  RetryPolicy policy(Options());
  storage::Message m = Accepted(clock.Now());
  clock.Advance(absl::Hours(4));
  RetryPolicy::LastError last{20429, 429, "Too Many Requests"};
  EXPECT_EQ(policy.ExpiryReason(m, clock.Now(), 7, last),
            "not sent: the provider still failed when the retry horizon "
            "(SMSGW_RETRY_HORIZON, 4h) ended after 7 attempt(s); last "
            "provider error: HTTP 429 Too Many Requests");
  m.expire_time = absl::FromUnixSeconds(1'800'003'600);
  clock.Set(*m.expire_time);
  EXPECT_EQ(policy.ExpiryReason(m, clock.Now(), 0, {}),
            "not sent: its validity period ended at 2027-01-15T09:00:00+00:00 "
            "after 0 attempt(s)");
}

}  // namespace
}  // namespace smsgw::dispatch

#include "server/dispatch/rate_limiter.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::dispatch {
namespace {

using ::smsgw::testing::FakeClock;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

struct RateCase {
  std::string sender;
  double rate;
};

class DefaultSenderRateTest : public ::testing::TestWithParam<RateCase> {};

TEST_P(DefaultSenderRateTest, FollowsTheSenderKind) {
  EXPECT_DOUBLE_EQ(DefaultSenderRate(GetParam().sender), GetParam().rate);
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, DefaultSenderRateTest,
    ::testing::Values(RateCase{"+15005550006", 1},   // US long code
                      RateCase{"+447700900123", 1},  // UK long code
                      RateCase{"+18005550100", 3},   // toll-free 800
                      RateCase{"+18885550100", 3},   // toll-free 888
                      RateCase{"+18015550100", 1},   // 801 is not toll-free
                      RateCase{"12345", 100},        // short code
                      RateCase{"123456", 100},       // short code
                      RateCase{"1234567", 10},       // not a short code
                      RateCase{"ACME", 10},          // alphanumeric
                      RateCase{"MG0123456789abcdef0123456789abcdef", 1}));

TEST(ParseSenderRatesTest, ParsesPairsAndIgnoresSpaces) {
  absl::StatusOr<std::map<std::string, double>> rates =
      ParseSenderRates(" +15005550006=1 , +18005550100 = 2.5,ACME=10");
  ASSERT_TRUE(rates.ok()) << rates.status();
  EXPECT_THAT(*rates, ElementsAre(Pair("+15005550006", 1.0),
                                  Pair("+18005550100", 2.5),
                                  Pair("ACME", 10.0)));
}

TEST(ParseSenderRatesTest, EmptyIsNoOverrides) {
  absl::StatusOr<std::map<std::string, double>> rates = ParseSenderRates("  ");
  ASSERT_TRUE(rates.ok());
  EXPECT_TRUE(rates->empty());
}

class ParseSenderRatesMalformedTest
    : public ::testing::TestWithParam<std::string> {};

TEST_P(ParseSenderRatesMalformedTest, IsInvalidArgument) {
  EXPECT_THAT(ParseSenderRates(GetParam()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("SMSGW_SENDER_RATES")));
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, ParseSenderRatesMalformedTest,
    ::testing::Values("+15005550006", "=1", "+15005550006=",
                      "+15005550006=abc", "+15005550006=0",
                      "+15005550006=-1", "+15005550006=nan",
                      "+15005550006=1e9", "+15005550006=1,,",
                      "+15005550006=1,+15005550006=2"));

TEST(RateLimiterTest, ConfiguredRateOverridesTheDefault) {
  FakeClock clock;
  RateLimiter limiter(&clock, {.sender_rates = {{"+15005550006", 5}}});
  EXPECT_DOUBLE_EQ(limiter.RateFor("+15005550006"), 5);
  EXPECT_DOUBLE_EQ(limiter.RateFor("+15005550007"), 1);
}

TEST(RateLimiterTest, LongCodeSendsOneSegmentPerSecond) {
  FakeClock clock;
  RateLimiter limiter(&clock, {});
  const absl::Time t0 = clock.Now();
  EXPECT_EQ(limiter.Reserve("+15005550006", 1), t0);
  EXPECT_EQ(limiter.Reserve("+15005550006", 1), t0 + absl::Seconds(1));
  EXPECT_EQ(limiter.Reserve("+15005550006", 1), t0 + absl::Seconds(2));
}

TEST(RateLimiterTest, MessageOfNSegmentsNeedsNTokens) {
  FakeClock clock;
  RateLimiter limiter(&clock, {});
  const absl::Time t0 = clock.Now();
  EXPECT_EQ(limiter.Reserve("+15005550006", 1), t0);
  // Three segments after one: the bucket must refill three tokens.
  EXPECT_EQ(limiter.Reserve("+15005550006", 3), t0 + absl::Seconds(3));
  EXPECT_EQ(limiter.Reserve("+15005550006", 1), t0 + absl::Seconds(4));
}

TEST(RateLimiterTest, SendersHaveTheirOwnBuckets) {
  FakeClock clock;
  RateLimiter limiter(&clock, {});
  const absl::Time t0 = clock.Now();
  EXPECT_EQ(limiter.Reserve("+15005550006", 1), t0);
  EXPECT_EQ(limiter.Reserve("+15005550007", 1), t0);
  EXPECT_EQ(limiter.Reserve("+15005550006", 1), t0 + absl::Seconds(1));
}

TEST(RateLimiterTest, IdleBucketRefills) {
  FakeClock clock;
  RateLimiter limiter(&clock, {});
  const absl::Time t0 = clock.Now();
  EXPECT_EQ(limiter.Reserve("+15005550006", 1), t0);
  EXPECT_EQ(limiter.Reserve("+15005550006", 1), t0 + absl::Seconds(1));
  clock.Advance(absl::Seconds(10));
  EXPECT_EQ(limiter.Reserve("+15005550006", 1), clock.Now());
}

TEST(RateLimiterTest, ShortCodeAllowsABurstOfOneSecond) {
  FakeClock clock;
  RateLimiter limiter(&clock, {});
  const absl::Time t0 = clock.Now();
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(limiter.Reserve("12345", 1), t0) << i;
  }
  EXPECT_EQ(limiter.Reserve("12345", 1), t0 + absl::Milliseconds(10));
}

TEST(RateLimiterTest, GlobalCapDelaysEverySender) {
  FakeClock clock;
  RateLimiter limiter(&clock, {.global_rate = 1});
  const absl::Time t0 = clock.Now();
  EXPECT_EQ(limiter.Reserve("12345", 1), t0);
  EXPECT_EQ(limiter.Reserve("12346", 1), t0 + absl::Seconds(1));
  EXPECT_EQ(limiter.Reserve("12347", 1), t0 + absl::Seconds(2));
  // The delayed sender's own queue moved with it: order is kept.
  EXPECT_GE(limiter.Reserve("12346", 1), t0 + absl::Seconds(3));
}

// A takeover's new lease holder empties its buckets: what it sends in any
// window is then at most rate × window (+1 for the window's edge), with no
// burst on top of what the old holder sent just before.
TEST(RateLimiterTest, EmptiedBucketsRefillAtTheRateWithoutABurst) {
  FakeClock clock;
  RateLimiter limiter(&clock, {});
  const absl::Time t0 = clock.Now();
  // A full short-code bucket would grant 100 segments at t0.
  limiter.EmptyBuckets();
  EXPECT_EQ(limiter.Reserve("12345", 1), t0 + absl::Milliseconds(10));
  EXPECT_EQ(limiter.Reserve("12345", 1), t0 + absl::Milliseconds(20));
  // A sender first seen after the takeover is empty too.
  EXPECT_EQ(limiter.Reserve("+15005550006", 1), t0 + absl::Seconds(1));
  EXPECT_FALSE(limiter.TryReserveNow("+15005550007", 1));
  EXPECT_EQ(limiter.EarliestAt("+15005550007", 1), t0 + absl::Seconds(1));
  // A second after it was emptied, an idle bucket is full again.
  clock.Advance(absl::Seconds(2));
  EXPECT_TRUE(limiter.TryReserveNow("+15005550007", 1));
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(limiter.Reserve("12346", 1), clock.Now()) << i;
  }
}

TEST(RateLimiterTest, EmptiedGlobalBucketHoldsTheAccountCap) {
  FakeClock clock;
  RateLimiter limiter(&clock, {.global_rate = 10});
  const absl::Time t0 = clock.Now();
  limiter.EmptyBuckets();
  int granted_in_first_second = 0;
  for (int i = 0; i < 30; ++i) {
    if (limiter.Reserve(absl::StrCat("1234", i % 10), 1) <
        t0 + absl::Seconds(1)) {
      ++granted_in_first_second;
    }
  }
  EXPECT_EQ(granted_in_first_second, 9);  // 100 ms, 200 ms, ... 900 ms
}

}  // namespace
}  // namespace smsgw::dispatch

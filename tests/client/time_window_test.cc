// The `smsgw stats` time flags: table-driven, malformed input included.
#include "client/cli/time_window.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::cli {
namespace {

TEST(ParseSinceTest, AcceptsDaysAndAbseilDurations) {
  const struct {
    const char* text;
    absl::Duration want;
  } cases[] = {
      {"7d", absl::Hours(24 * 7)},   {"1d", absl::Hours(24)},
      {"30d", absl::Hours(24 * 30)}, {"36h", absl::Hours(36)},
      {"90m", absl::Minutes(90)},    {"1h30m", absl::Minutes(90)},
      {"45s", absl::Seconds(45)},    {"100000d", absl::Hours(24 * 100000)},
  };
  for (const auto& c : cases) {
    absl::StatusOr<absl::Duration> got = ParseSince(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status();
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(ParseSinceTest, RefusesMalformedOrNonPositivePeriods) {
  for (const char* text : {"", "d", "7", "7 d", " 7d", "+7d", "-7d", "0d",
                           "7.5d", "7dd", "0s", "-1h", "inf", "seven days",
                           "100001d", "9999999d", "3w", "7D", "2400001h"}) {
    EXPECT_THAT(ParseSince(text), testing::StatusIs(absl::StatusCode::kInvalidArgument))
        << "\"" << text << "\"";
  }
}

TEST(ParseInstantTest, AcceptsUtcDaysAndRfc3339) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const struct {
    const char* text;
    absl::Time want;
  } cases[] = {
      {"2026-01-02", absl::FromCivil(absl::CivilDay(2026, 1, 2), utc)},
      {"2026-01-02T15:04:05Z",
       absl::FromCivil(absl::CivilSecond(2026, 1, 2, 15, 4, 5), utc)},
      {"2026-01-02T15:04:05+02:00",
       absl::FromCivil(absl::CivilSecond(2026, 1, 2, 13, 4, 5), utc)},
      {"2026-01-02T15:04:05.25Z",
       absl::FromCivil(absl::CivilSecond(2026, 1, 2, 15, 4, 5), utc) +
           absl::Milliseconds(250)},
  };
  for (const auto& c : cases) {
    absl::StatusOr<absl::Time> got = ParseInstant(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status();
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(ParseInstantTest, RefusesMalformedTimes) {
  for (const char* text :
       {"", "yesterday", "2026-1-2", "2026-13-01", "2026-02-30", "02/01/2026",
        "2026-01-02T15:04:05", "2026-01-02 15:04:05Z", "2026-01-02T25:00:00Z",
        "2026-01-02Z", "1767225600"}) {
    EXPECT_THAT(ParseInstant(text),
                testing::StatusIs(absl::StatusCode::kInvalidArgument))
        << "\"" << text << "\"";
  }
}

}  // namespace
}  // namespace smsgw::cli

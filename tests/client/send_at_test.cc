#include "client/cli/send_at.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::cli {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

TEST(ParseSendAtTest, PlusDurationCountsFromNow) {
  absl::StatusOr<absl::Time> at = ParseSendAt("+10m", kNow);
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ(*at, kNow + absl::Minutes(10));
  at = ParseSendAt("+2h30m", kNow);
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ(*at, kNow + absl::Minutes(150));
}

TEST(ParseSendAtTest, Rfc3339IsAnInstant) {
  absl::StatusOr<absl::Time> at = ParseSendAt("2027-01-15T08:30:00Z", kNow);
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ(*at, absl::FromUnixSeconds(1800001800));  // 2027-01-15T08:30:00Z
  at = ParseSendAt("2027-01-15T09:30:00+01:00", kNow);
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ(*at, absl::FromUnixSeconds(1800001800));  // 2027-01-15T08:30:00Z
}

class ParseSendAtMalformedTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ParseSendAtMalformedTest, IsInvalidArgumentNamingTheFlag) {
  EXPECT_THAT(ParseSendAt(GetParam(), kNow),
              testing::StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("--at")));
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, ParseSendAtMalformedTest,
    ::testing::Values("", "+", "+0s", "+-5m", "++5m", "+5", "+5 minutes",
                      "+inf", "10m", "tomorrow", "2027-01-15",
                      "2027-13-01T00:00:00Z", "2027-01-15T08:30:00"));

}  // namespace
}  // namespace smsgw::cli

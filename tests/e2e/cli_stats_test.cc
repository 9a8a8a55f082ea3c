// `smsgw stats` end to end: the real binary against the real server.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/run_command.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw {
namespace {

using ::testing::HasSubstr;

using CliStatsTest = testing::CliServerTest;

TEST_F(CliStatsTest, PrintsCountsRateAndDays) {
  ASSERT_NO_FATAL_FAILURE(SignUp("ann"));
  ASSERT_EQ(Smsgw({"send", "--to=+14155550100", "--body=hi"}).exit_code, 0);
  ASSERT_EQ(Smsgw({"send", "--to=+15005550001", "--body=doomed"}).exit_code, 0);

  CommandResult stats = Smsgw({"stats", "--since=7d"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_THAT(stats.out, HasSubstr("messages: 2 out, 0 in; 2 segment(s) sent"));
  EXPECT_THAT(stats.out, HasSubstr("FAILED 1"));
  EXPECT_THAT(stats.out, HasSubstr("delivery rate: "));
  EXPECT_THAT(stats.out, ::testing::ContainsRegex(
                             "\n[0-9]{4}-[0-9]{2}-[0-9]{2}  out 2  in 0"));

  CommandResult json = Smsgw({"--json", "stats"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"outbound_count\": \"2\""));

  CommandResult old =
      Smsgw({"stats", "--start=2020-01-01", "--end=2020-01-02"});
  ASSERT_EQ(old.exit_code, 0) << old.err;
  EXPECT_THAT(old.out, HasSubstr("messages: 0 out"));
}

TEST_F(CliStatsTest, BadFlagsAreUsageErrorsAndRefusalsExitOne) {
  ASSERT_NO_FATAL_FAILURE(SignUp("ann"));
  EXPECT_EQ(Smsgw({"stats", "--since=yesterday"}).exit_code, 2);
  EXPECT_EQ(Smsgw({"stats", "--start=2026-13-01"}).exit_code, 2);
  EXPECT_EQ(Smsgw({"stats", "--since=7d", "--start=2026-01-01"}).exit_code, 2);
  CommandResult reversed =
      Smsgw({"stats", "--start=2026-01-02", "--end=2026-01-01"});
  EXPECT_EQ(reversed.exit_code, 1);
  EXPECT_THAT(reversed.err, HasSubstr("INVALID_ARGUMENT"));
  CommandResult other = Smsgw({"stats", "--username=bob"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_THAT(other.err, HasSubstr("PERMISSION_DENIED"));
}

}  // namespace
}  // namespace smsgw

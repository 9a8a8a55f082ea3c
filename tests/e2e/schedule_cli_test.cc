// `smsgw send --at` and `smsgw cancel` end to end: the real binary against the
// real server.
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

class ScheduleCliTest : public testing::CliServerTest {
 protected:
  void SetUp() override {
    CliServerTest::SetUp();
    if (HasFatalFailure()) return;
    SignUp("ann");
  }
};

TEST_F(ScheduleCliTest, SendAtSchedulesAndCancelCancels) {
  CommandResult sent =
      Smsgw({"send", "--to=+14155550100", "--body=later", "--at=+10m"});
  ASSERT_EQ(sent.exit_code, 0) << sent.err;
  EXPECT_THAT(sent.out, HasSubstr("SCHEDULED"));
  EXPECT_THAT(sent.out, HasSubstr("scheduled "));
  const std::string id = sent.out.substr(0, 36);

  CommandResult canceled = Smsgw({"cancel", id});
  ASSERT_EQ(canceled.exit_code, 0) << canceled.err;
  EXPECT_THAT(canceled.out, HasSubstr("CANCELED"));

  CommandResult again = Smsgw({"cancel", id});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("not SCHEDULED"));
}

TEST_F(ScheduleCliTest, BadAtIsAUsageErrorAndTooSoonIsRefused) {
  CommandResult bad =
      Smsgw({"send", "--to=+14155550100", "--body=x", "--at=tomorrow"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--at"));

  CommandResult soon =
      Smsgw({"send", "--to=+14155550100", "--body=x", "--at=+1m"});
  EXPECT_EQ(soon.exit_code, 1);
  EXPECT_THAT(soon.err, HasSubstr("send_at must be between 5m"));

  CommandResult no_id = Smsgw({"cancel"});
  EXPECT_EQ(no_id.exit_code, 2);
}

}  // namespace
}  // namespace smsgw

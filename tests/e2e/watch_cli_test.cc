// `smsgw watch` end to end: the real binary against the real server.
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/run_command.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::SizeIs;

class WatchCliTest : public testing::CliServerTest {
 protected:
  void SetUp() override {
    CliServerTest::SetUp();
    if (HasFatalFailure()) return;
    SignUp("ann");
  }

  static std::vector<std::string> Lines(const std::string& out) {
    return absl::StrSplit(out, '\n', absl::SkipEmpty());
  }
};

TEST_F(WatchCliTest, PrintsOneLinePerEventAfterACursor) {
  ASSERT_EQ(Smsgw({"send", "--to=+14155550100", "--body=first"}).exit_code, 0);
  CommandResult replay = Smsgw({"watch", "--after=0", "--max_events=2"});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  std::vector<std::string> lines = Lines(replay.out);
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_THAT(lines[0],
              MatchesRegex("1  CREATED  [0-9a-f-]{36}  PENDING  "
                           "\\+15005550006 -> \\+14155550100  first"));
  EXPECT_THAT(lines[1], MatchesRegex("2  STATUS_CHANGED  .*  QUEUED  .*"));

  // Bob's watch after cursor 2 gets Bob's next event whenever it starts
  // (Ann's later status callbacks are not his).
  ASSERT_NO_FATAL_FAILURE(SignUp("bob", "config-bob"));
  CommandResult follow;
  std::thread watcher([&] {
    follow = Smsgw({"watch", "--after=2", "--max_events=1"}, "config-bob");
  });
  ASSERT_EQ(Smsgw({"send", "--to=+14155550100", "--body=second"}, "config-bob")
                .exit_code,
            0);
  watcher.join();
  ASSERT_EQ(follow.exit_code, 0) << follow.err;
  lines = Lines(follow.out);
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_THAT(lines[0], MatchesRegex("[0-9]+  CREATED  .*  second"));
}

TEST_F(WatchCliTest, JsonPrintsOneObjectPerLine) {
  ASSERT_EQ(Smsgw({"send", "--to=+14155550100", "--body=hi"}).exit_code, 0);
  CommandResult json = Smsgw({"--json", "watch", "--after=0", "--max_events=2"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  std::vector<std::string> lines = Lines(json.out);
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_THAT(lines[0], HasSubstr("\"cursor\":\"1\""));
  EXPECT_THAT(lines[0], HasSubstr("\"type\":\"MESSAGE_EVENT_TYPE_CREATED\""));
  EXPECT_THAT(lines[1], HasSubstr("\"status\":\"MESSAGE_STATUS_QUEUED\""));
}

TEST_F(WatchCliTest, ABadCursorIsRefusedWithExitOne) {
  CommandResult bad = Smsgw({"watch", "--after=abc"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(bad.err, HasSubstr("after_cursor"));
}

}  // namespace
}  // namespace smsgw

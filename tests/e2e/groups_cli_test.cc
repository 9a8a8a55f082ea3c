// `smsgw verify` and `smsgw groups` end to end: the real CLI against the real
// server and its embedded simulator, as in the README's group chat
// walkthrough (codes read with `smsgw sim outbox`, texts sent with
// `smsgw sim inbound`).
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/run_command.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw {
namespace {

using ::testing::HasSubstr;

class GroupsCliTest : public testing::CliServerTest {
 protected:
  void SetUp() override {
    const int port = testing::FreePort();
    ASSERT_GT(port, 0);
    sim_url_ = absl::StrCat("http://127.0.0.1:", port);
    StartServer({}, {absl::StrCat("--simulator_port=", port)});
  }

  // Runs smsgw as `user` (each user has their own token directory).
  CommandResult Smsgw(const std::string& user,
                      const std::vector<std::string>& args) {
    return CliServerTest::Smsgw(args, "config-" + user, {"--sim=" + sim_url_});
  }

  // The code in the newest verification SMS `sim outbox` shows for `phone`.
  std::string CodeFromOutbox(const std::string& phone) {
    CommandResult outbox = Smsgw("any", {"sim", "outbox", "--to=" + phone});
    EXPECT_EQ(outbox.exit_code, 0) << outbox.err;
    const size_t at = outbox.out.find("verification code is ");
    if (at == std::string::npos) return "";
    return outbox.out.substr(at + 21, 6);
  }

  void SignUpAndVerify(const std::string& user, const std::string& phone) {
    ASSERT_NO_FATAL_FAILURE(SignUp(user, "config-" + user, phone));
    CommandResult start = Smsgw(user, {"verify", "start"});
    ASSERT_EQ(start.exit_code, 0) << start.err;
    EXPECT_THAT(start.out, HasSubstr("code sent by SMS to " + phone));
    const std::string code = CodeFromOutbox(phone);
    ASSERT_EQ(code.size(), 6u);
    CommandResult confirm = Smsgw(user, {"verify", "confirm", "--code=" + code});
    ASSERT_EQ(confirm.exit_code, 0) << confirm.err;
    EXPECT_THAT(confirm.out, HasSubstr("phone " + phone + " verified"));
  }

  std::string sim_url_;
};

TEST_F(GroupsCliTest, TwoMembersChatThroughTheGroup) {
  ASSERT_NO_FATAL_FAILURE(SignUpAndVerify("ann", "+14155550101"));
  ASSERT_NO_FATAL_FAILURE(SignUpAndVerify("bob", "+14155550102"));

  CommandResult wrong = Smsgw("ann", {"verify", "confirm", "--code=000000"});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_THAT(wrong.err, HasSubstr("FAILED_PRECONDITION"));  // already used

  CommandResult create = Smsgw(
      "ann", {"groups", "create", "hikers", "--description=weekend walks"});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  EXPECT_THAT(create.out, HasSubstr("your number for it: +15005550006"));
  CommandResult join = Smsgw("bob", {"groups", "join", "hikers"});
  ASSERT_EQ(join.exit_code, 0) << join.err;
  EXPECT_THAT(join.out, HasSubstr("joined group hikers (2 member(s))"));

  CommandResult show = Smsgw("bob", {"groups", "show", "hikers"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("ann  +1415•••0101"));
  EXPECT_THAT(show.out, HasSubstr("description: weekend walks"));
  CommandResult list = Smsgw("bob", {"groups", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out,
              HasSubstr("hikers  2 member(s)  your number +15005550006"));

  // Ann texts the group from her phone.
  CommandResult text = Smsgw("ann", {"sim", "inbound", "--from=+14155550101",
                                     "--to=+15005550006", "--body=hi all"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  CommandResult bobs = Smsgw("any", {"sim", "outbox", "--to=+14155550102"});
  ASSERT_EQ(bobs.exit_code, 0) << bobs.err;
  EXPECT_THAT(bobs.out, HasSubstr("+15005550006 -> +14155550102\n    ann: hi all"));
  CommandResult anns = Smsgw("any", {"sim", "outbox", "--to=+14155550101"});
  EXPECT_THAT(anns.out, ::testing::Not(HasSubstr("ann: hi all")));

  CommandResult send =
      Smsgw("bob", {"groups", "send", "hikers", "--body=on my way"});
  ASSERT_EQ(send.exit_code, 0) << send.err;
  EXPECT_THAT(send.out, HasSubstr("posted "));
  EXPECT_THAT(send.out, HasSubstr("  ann  "));
  EXPECT_THAT(send.out, HasSubstr("+1415•••0101"));

  CommandResult messages = Smsgw("ann", {"groups", "messages", "hikers"});
  ASSERT_EQ(messages.exit_code, 0) << messages.err;
  EXPECT_THAT(messages.out, HasSubstr("bob (app): on my way"));
  EXPECT_THAT(messages.out, HasSubstr("ann (sms): hi all"));
  EXPECT_LT(messages.out.find("on my way"), messages.out.find("hi all"));

  ASSERT_EQ(Smsgw("ann", {"groups", "leave", "hikers"}).exit_code, 0);
  ASSERT_EQ(Smsgw("bob", {"groups", "leave", "hikers"}).exit_code, 0);
  CommandResult gone = Smsgw("bob", {"groups", "show", "hikers"});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_THAT(gone.err, HasSubstr("NOT_FOUND"));
  CommandResult none = Smsgw("bob", {"groups", "list"});
  EXPECT_THAT(none.out, HasSubstr("you are in no group"));
}

TEST_F(GroupsCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Smsgw("ann", {"verify"}).exit_code, 2);
  EXPECT_EQ(Smsgw("ann", {"verify", "confirm"}).exit_code, 2);
  EXPECT_EQ(Smsgw("ann", {"groups", "join"}).exit_code, 2);
  EXPECT_EQ(Smsgw("ann", {"groups", "send", "hikers"}).exit_code, 2);
  EXPECT_EQ(Smsgw("ann", {"groups", "frobnicate", "x"}).exit_code, 2);
  CommandResult anonymous = Smsgw("ann", {"groups", "list"});
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_THAT(anonymous.err, HasSubstr("not logged in"));
}

}  // namespace
}  // namespace smsgw

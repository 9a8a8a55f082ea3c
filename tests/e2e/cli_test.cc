// The `smsgw` CLI end to end: the real binary against the real server.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/run_command.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw {
namespace {

using ::testing::HasSubstr;

using CliTest = testing::CliServerTest;

TEST_F(CliTest, SignUpWhoAmILoginLogout) {
  CommandResult signup = Smsgw({"signup", "--username=ann",
                                "--password=correct horse", "--phone=+14155550100"});
  ASSERT_EQ(signup.exit_code, 0) << signup.err;
  EXPECT_THAT(signup.out, HasSubstr("signed up as ann"));

  struct stat st {};
  ASSERT_EQ(::stat(dir_.File("config/token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  CommandResult whoami = Smsgw({"whoami"});
  ASSERT_EQ(whoami.exit_code, 0) << whoami.err;
  EXPECT_THAT(whoami.out, HasSubstr("username: ann"));
  EXPECT_THAT(whoami.out, HasSubstr("+14155550100 (unverified)"));

  CommandResult json = Smsgw({"--json", "whoami"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"username\": \"ann\""));

  ASSERT_EQ(Smsgw({"logout"}).exit_code, 0);
  CommandResult anonymous = Smsgw({"whoami"});
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_THAT(anonymous.err, HasSubstr("not logged in"));

  CommandResult login =
      Smsgw({"login", "--username=ANN", "--password=correct horse"});
  ASSERT_EQ(login.exit_code, 0) << login.err;
  EXPECT_EQ(Smsgw({"whoami"}).exit_code, 0);
}

TEST_F(CliTest, ErrorsAreOneLineWithNonZeroExit) {
  CommandResult bad = Smsgw({"login", "--username=ann", "--password=wrongpass"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("UNAUTHENTICATED"));
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;

  CommandResult usage = Smsgw({"signup", "--username=ann"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.err, HasSubstr("--password"));

  CommandResult unknown = Smsgw({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);

  std::vector<std::string> argv = {testing::BuiltBinary("smsgw"),
                                   "--server=127.0.0.1:1", "--timeout=2s",
                                   "login", "--username=ann",
                                   "--password=whatever1"};
  CommandResult down = testing::RunCommand(argv);
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_THAT(down.err, HasSubstr("UNAVAILABLE"));
}

TEST_F(CliTest, KeysCreateListUseAndDelete) {
  SignUp("ann");
  CommandResult created =
      Smsgw({"keys", "create", "cron job", "--scopes=messages:send,messages:read"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_THAT(created.out, HasSubstr("messages:read,messages:send"));
  const size_t at = created.out.find("sk_");
  ASSERT_NE(at, std::string::npos) << created.out;
  const std::string secret = created.out.substr(at, 46);
  const size_t id_at = created.out.find("key_");
  ASSERT_NE(id_at, std::string::npos);
  const std::string id = created.out.substr(id_at, 20);

  CommandResult listed = Smsgw({"keys", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr(id));
  EXPECT_THAT(listed.out, HasSubstr("cron job"));
  EXPECT_THAT(listed.out, HasSubstr("last used never"));
  EXPECT_THAT(listed.out, ::testing::Not(HasSubstr(secret)));

  // With SMSGW_API_KEY the CLI uses the key, not the saved login token.
  auto with_key = [&](std::vector<std::string> words) {
    std::vector<std::string> argv = {
        testing::BuiltBinary("smsgw"), "--server=" + server_->grpc_address(),
        "--config_dir=" + dir_.File("nobody")};
    argv.insert(argv.end(), words.begin(), words.end());
    return testing::RunCommand(argv, {{"SMSGW_API_KEY", secret}});
  };
  CommandResult whoami = with_key({"whoami"});
  ASSERT_EQ(whoami.exit_code, 0) << whoami.err;
  EXPECT_THAT(whoami.out, HasSubstr("username: ann"));
  CommandResult sent =
      with_key({"send", "--to=+14155550100", "--body=from a key"});
  EXPECT_EQ(sent.exit_code, 0) << sent.err;
  CommandResult groups = with_key({"groups", "list"});
  EXPECT_EQ(groups.exit_code, 1);
  EXPECT_THAT(groups.err, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(groups.err, HasSubstr("groups"));
  CommandResult escalate = with_key({"keys", "list"});
  EXPECT_EQ(escalate.exit_code, 1);
  EXPECT_THAT(escalate.err, HasSubstr("PERMISSION_DENIED"));

  CommandResult usage = Smsgw({"keys", "create", "no scopes"});
  EXPECT_EQ(usage.exit_code, 2);
  CommandResult deleted = Smsgw({"keys", "delete", id});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  CommandResult revoked = with_key({"whoami"});
  EXPECT_EQ(revoked.exit_code, 1);
  EXPECT_THAT(revoked.err, HasSubstr("UNAUTHENTICATED"));
}

}  // namespace
}  // namespace smsgw

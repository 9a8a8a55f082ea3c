// AuthService through the real smsgw-server binary on loopback ports, with a
// temp database: every call goes over gRPC, and refused calls are checked to
// leave the database unchanged.
#include <grpcpp/create_channel.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/grpc_helpers.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_clients.h"

namespace smsgw {
namespace {

using ::smsgw::testing::ServerProcess;
using ::testing::HasSubstr;

constexpr char kPassword[] = "correct horse battery";

class AuthIntegrationTest : public testing::ServerTest {
 protected:
  // Starts the server; client_ has no token yet.
  void StartServer(std::map<std::string, std::string> env = {},
                   std::vector<std::string> args = {}) {
    ServerTest::StartServer(std::move(env), std::move(args));
    client_ = NewClient();
  }

  std::unique_ptr<SmsgwClient> NewClient() {
    return testing::ClientFor(*server_, absl::Seconds(10));
  }

  int64_t Users() { return Rows("users"); }

  std::unique_ptr<SmsgwClient> client_;
};

TEST_F(AuthIntegrationTest, SignUpLoginAndWhoAmI) {
  StartServer();
  auto signed_up = client_->SignUp("Ann_1", kPassword, "(415) 555-0100");
  ASSERT_THAT(signed_up, IsOk());
  EXPECT_EQ(signed_up->user().username(), "ann_1");
  EXPECT_EQ(signed_up->user().phone_number(), "+14155550100");
  EXPECT_FALSE(signed_up->user().phone_verified());
  EXPECT_FALSE(signed_up->user().admin());
  EXPECT_FALSE(signed_up->access_token().empty());
  EXPECT_GT(signed_up->expire_time().seconds(), absl::ToUnixSeconds(absl::Now()));

  auto login = client_->Login("ANN_1", kPassword);
  ASSERT_THAT(login, IsOk());
  client_->set_access_token(login->access_token());
  auto me = client_->GetCurrentUser();
  ASSERT_THAT(me, IsOk());
  EXPECT_EQ(me->user().username(), "ann_1");
  EXPECT_EQ(me->user().phone_number(), "+14155550100");
}

TEST_F(AuthIntegrationTest, HealthIsServingAndPasswordIsNeverStoredInClear) {
  StartServer();
  auto channel = ::grpc::CreateChannel(server_->grpc_address(),
                                       ::grpc::InsecureChannelCredentials());
  absl::StatusOr<int> health = testing::HealthCheck(channel);
  ASSERT_THAT(health, IsOk());
  EXPECT_EQ(*health, 1);  // SERVING
  ASSERT_THAT(client_->SignUp("ann", kPassword, ""), IsOk());
  std::ifstream db(db_path_, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(db)), {});
  std::ifstream wal(db_path_ + "-wal", std::ios::binary);
  bytes.append((std::istreambuf_iterator<char>(wal)), {});
  EXPECT_EQ(bytes.find(kPassword), std::string::npos);
  EXPECT_NE(bytes.find("$argon2id$"), std::string::npos);
}

struct BadSignUp {
  const char* username;
  const char* password;
  const char* phone;
  const char* field;  // named in the error message
};

TEST_F(AuthIntegrationTest, BadSignUpsAreInvalidArgumentAndStoreNothing) {
  StartServer();
  static const std::string kLongPassword(129, 'p');
  const BadSignUp cases[] = {
      {"ab", kPassword, "", "username"},
      {"this_name_is_much_longer_than_32_chars", kPassword, "", "username"},
      {"ann smith", kPassword, "", "username"},
      {"ann/..", kPassword, "", "username"},
      {"ännchen", kPassword, "", "username"},
      {"", kPassword, "", "username"},
      {"ann", "short", "", "password"},
      {"ann", "", "", "password"},
      {"ann", kLongPassword.c_str(), "", "password"},
      {"ann", kPassword, "not a phone", "phone_number"},
      {"ann", kPassword, "+1", "phone_number"},
      {"ann", kPassword, "12", "phone_number"},
  };
  for (const BadSignUp& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.username, " / ", c.phone));
    EXPECT_THAT(client_->SignUp(c.username, c.password, c.phone),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(c.field)));
  }
  EXPECT_EQ(Users(), 0);
}

TEST_F(AuthIntegrationTest, TakenUsernameIsAlreadyExistsAnyCase) {
  StartServer();
  ASSERT_THAT(client_->SignUp("ann", kPassword, ""), IsOk());
  EXPECT_THAT(client_->SignUp("ANN", "another password", ""),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("ann")));
  EXPECT_EQ(Users(), 1);
}

TEST_F(AuthIntegrationTest, UnknownUserAndWrongPasswordLookTheSame) {
  StartServer();
  ASSERT_THAT(client_->SignUp("ann", kPassword, ""), IsOk());
  auto wrong_password = client_->Login("ann", "wrong password");
  auto unknown_user = client_->Login("bob", kPassword);
  EXPECT_THAT(wrong_password, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(unknown_user, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(wrong_password.status().message(), unknown_user.status().message());
  EXPECT_THAT(client_->Login("", kPassword),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

std::string B64Url(absl::string_view text) {
  std::string out;
  absl::WebSafeBase64Escape(text, &out);
  return out;
}

TEST_F(AuthIntegrationTest, BadTokensAreUnauthenticated) {
  StartServer();
  auto session = client_->SignUp("ann", kPassword, "");
  ASSERT_THAT(session, IsOk());
  const std::string good = session->access_token();
  std::vector<std::string> parts = absl::StrSplit(good, '.');
  ASSERT_EQ(parts.size(), 3u);

  // A token for user 1 signed by a server with another key.
  smsgw::testing::TempDir other_dir;
  ServerProcess::Options other_options;
  other_options.db_path = other_dir.File("smsgw.db");
  ServerProcess other(other_options);
  ASSERT_THAT(other.Start(), IsOk());
  SmsgwClient::Options other_client_options;
  other_client_options.target = other.grpc_address();
  auto other_client = *SmsgwClient::Create(other_client_options);
  auto foreign = other_client->SignUp("ann", kPassword, "");
  ASSERT_THAT(foreign, IsOk());

  std::string tampered_payload = parts[1];
  tampered_payload[tampered_payload.size() / 2] ^= 1;
  const std::string none_token =
      B64Url(R"({"alg":"none","typ":"JWT"})") + "." + parts[1] + ".";
  const std::string hs512_header =
      B64Url(R"({"alg":"HS512","typ":"JWT"})") + "." + parts[1] + "." + parts[2];

  const std::pair<const char*, std::string> cases[] = {
      {"missing", ""},
      {"garbage", "garbage"},
      {"two parts", parts[0] + "." + parts[1]},
      {"tampered payload", parts[0] + "." + tampered_payload + "." + parts[2]},
      {"signature cut", good.substr(0, good.size() - 3)},
      {"alg none", none_token},
      {"alg swapped", hs512_header},
      {"other key", foreign->access_token()},
      // Over our 4 KiB token limit, under gRPC's 8 KiB metadata limit.
      {"huge", std::string(5000, 'a')},
  };
  for (const auto& [name, token] : cases) {
    SCOPED_TRACE(name);
    auto client = NewClient();
    client->set_access_token(token);
    EXPECT_THAT(client->GetCurrentUser(),
                StatusIs(absl::StatusCode::kUnauthenticated));
  }
  // Not a bearer scheme at all.
  auto context = client_->NewContext();
  context->AddMetadata("authorization", "Basic " + good);
  v1::GetCurrentUserResponse response;
  EXPECT_EQ(client_->auth()
                ->GetCurrentUser(context.get(), v1::GetCurrentUserRequest(),
                                 &response)
                .error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthIntegrationTest, ExpiredTokenIsUnauthenticated) {
  StartServer({}, {"--token_ttl=1s"});
  auto session = client_->SignUp("ann", kPassword, "");
  ASSERT_THAT(session, IsOk());
  client_->set_access_token(session->access_token());
  absl::SleepFor(absl::Milliseconds(2100));
  EXPECT_THAT(client_->GetCurrentUser(),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(AuthIntegrationTest, AdminRoleComesFromConfiguration) {
  StartServer({{"SMSGW_ADMIN_USERS", "Root, ops"}});
  auto root = client_->SignUp("root", kPassword, "");
  auto ann = client_->SignUp("ann", kPassword, "");
  ASSERT_THAT(root, IsOk());
  ASSERT_THAT(ann, IsOk());
  EXPECT_TRUE(root->user().admin());
  EXPECT_FALSE(ann->user().admin());
}

TEST_F(AuthIntegrationTest, CreatingAGroupNeedsAVerifiedPhone) {
  StartServer();
  auto session = client_->SignUp("ann", kPassword, "");
  ASSERT_THAT(session, IsOk());
  client_->set_access_token(session->access_token());
  auto context = client_->NewContext();
  v1::CreateGroupRequest request;
  request.set_name("friends");
  v1::CreateGroupResponse response;
  ::grpc::Status status =
      client_->groups()->CreateGroup(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("verif"));
}

TEST_F(AuthIntegrationTest, RestartKeepsAccountsAndTheTokenKey) {
  StartServer();
  auto session = client_->SignUp("ann", kPassword, "+14155550100");
  ASSERT_THAT(session, IsOk());
  const int status = server_->Stop(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << server_->ReadLog();

  StartServer();
  EXPECT_THAT(client_->Login("ann", kPassword), IsOk());
  client_->set_access_token(session->access_token());
  auto me = client_->GetCurrentUser();
  ASSERT_THAT(me, IsOk());
  EXPECT_EQ(me->user().phone_number(), "+14155550100");
  EXPECT_EQ(Users(), 1);
}

TEST_F(AuthIntegrationTest, ServerRefusesToStartOnAFileThatIsNotADatabase) {
  std::filesystem::create_directories(dir_.File("data"));
  std::ofstream(db_path_) << std::string(8192, 'x');
  ServerProcess::Options options;
  options.db_path = db_path_;
  ServerProcess server(options);
  absl::Status started = server.Start();
  EXPECT_THAT(started, StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("cannot open database")));
}

}  // namespace
}  // namespace smsgw

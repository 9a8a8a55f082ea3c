// AuthService (auth_service.h) in process: sign-up, login, token checks and
// user lookups on the real SQLite user store and a FakeClock.
#include "server/domain/auth_service.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/domain/login_throttle.h"
#include "server/domain/password_hasher.h"
#include "server/domain/token_service.h"
#include "storage/sqlite/sqlite_rate_limit_store.h"
#include "tests/testing/domain_fixture.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

using ::testing::HasSubstr;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef-test-key";
constexpr char kBadCredentials[] = "username or password is incorrect";

class AuthServiceTest : public smsgw::testing::DomainTest {
 protected:
  AuthServiceTest() {
    TokenService::Options token_options;
    token_options.secret_key = kKey;
    tokens_ = *TokenService::Create(token_options, &clock_);
  }

  // Builds the service; with `throttle`, one free failure per username and
  // a lockout from the third.
  void Build(bool throttle = false) {
    AuthService::Options options;
    options.admin_usernames = {"root"};
    if (throttle) {
      LoginThrottle::Options limits;
      limits.username_free_failures = 1;
      limits.username_max_failures = 3;
      rate_limits_ =
          std::make_unique<storage::sqlite::SqliteRateLimitStore>(db_.get());
      throttle_ = *LoginThrottle::Create(limits, rate_limits_.get(), &clock_);
      options.login_throttle = throttle_.get();
    }
    auth_ = std::make_unique<AuthService>(users_.get(), &hasher_, tokens_.get(),
                                          &phones_, &clock_, options);
  }

  // Cheap Argon2id parameters (libsodium's minimum): tests hash often.
  PasswordHasher hasher_{PasswordHasherOptions{8, 1}};
  std::unique_ptr<TokenService> tokens_;
  std::unique_ptr<storage::sqlite::SqliteRateLimitStore> rate_limits_;
  std::unique_ptr<LoginThrottle> throttle_;
  std::unique_ptr<AuthService> auth_;
};

// --- SignUp ---

TEST_F(AuthServiceTest, SignUpStoresTheFoldedNameAndE164PhoneAndSignsIn) {
  Build();
  SMSGW_ASSERT_OK_AND_ASSIGN(
      Session session, auth_->SignUp("Ann.Smith", "correct horse", "(415) 555-0100"));
  EXPECT_GT(session.user.id, 0);
  EXPECT_EQ(session.user.username, "ann.smith");
  EXPECT_EQ(session.user.phone_number, "+14155550100");
  EXPECT_FALSE(session.user.phone_verified);
  EXPECT_FALSE(session.user.admin);
  EXPECT_EQ(session.expire_time, clock_.Now() + absl::Hours(24));
  SMSGW_ASSERT_OK_AND_ASSIGN(storage::User stored,
                             users_->FindByUsername("ann.smith"));
  EXPECT_EQ(stored.id, session.user.id);
  EXPECT_EQ(stored.phone_number, "+14155550100");
  EXPECT_EQ(stored.create_time, clock_.Now());
  // The password is kept only as its Argon2id hash.
  EXPECT_NE(stored.password_hash, "correct horse");
  EXPECT_TRUE(hasher_.Verify("correct horse", stored.password_hash));
  SMSGW_ASSERT_OK_AND_ASSIGN(storage::User bearer,
                             auth_->Authenticate(session.access_token, Scope::kAnyCredential));
  EXPECT_EQ(bearer.id, session.user.id);
}

TEST_F(AuthServiceTest, SignUpWithoutAPhoneStoresNone) {
  Build();
  SMSGW_ASSERT_OK_AND_ASSIGN(Session session,
                             auth_->SignUp("bob", "password1", ""));
  EXPECT_EQ(session.user.phone_number, "");
  EXPECT_EQ(Reload(session.user).phone_number, "");
}

TEST_F(AuthServiceTest, SignUpWithABadFieldIsInvalidArgumentNamingItAndStoresNothing) {
  Build();
  const struct {
    std::string username;
    std::string password;
    std::string phone;
    std::string names;
  } kBad[] = {
      {"ab", "password1", "", "username"},
      {std::string(33, 'a'), "password1", "", "username"},
      {"ann smith", "password1", "", "username"},
      {"ann", "short", "", "password"},
      {"ann", std::string(129, 'p'), "", "password"},
      {"ann", "password1", "not a phone", "phone_number"},
  };
  for (const auto& bad : kBad) {
    EXPECT_THAT(auth_->SignUp(bad.username, bad.password, bad.phone),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(bad.names)))
        << bad.username << " / " << bad.names;
  }
  EXPECT_THAT(users_->FindByUsername("ann"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(users_->FindById(1), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AuthServiceTest, SignUpWithATakenNameInAnyCaseIsAlreadyExists) {
  Build();
  SMSGW_ASSERT_OK_AND_ASSIGN(Session first,
                             auth_->SignUp("ann", "password1", ""));
  EXPECT_THAT(auth_->SignUp("ANN", "password2", "+14155550111"),
              StatusIs(absl::StatusCode::kAlreadyExists));
  // The first account is untouched.
  const storage::User stored = Reload(first.user);
  EXPECT_TRUE(hasher_.Verify("password1", stored.password_hash));
  EXPECT_EQ(stored.phone_number, "");
}

// --- Login ---

TEST_F(AuthServiceTest, LoginInAnyCaseIssuesASessionForTheAccount) {
  Build();
  SMSGW_ASSERT_OK_AND_ASSIGN(Session signed_up,
                             auth_->SignUp("ann", "password1", ""));
  clock_.Advance(absl::Minutes(5));
  absl::Duration delay = absl::Seconds(99);
  SMSGW_ASSERT_OK_AND_ASSIGN(
      Session session, auth_->Login("Ann", "password1", "10.0.0.1", &delay));
  EXPECT_EQ(session.user.id, signed_up.user.id);
  EXPECT_EQ(session.user.username, "ann");
  EXPECT_EQ(session.expire_time, clock_.Now() + absl::Hours(24));
  EXPECT_EQ(delay, absl::ZeroDuration());
  SMSGW_ASSERT_OK_AND_ASSIGN(storage::User bearer,
                             auth_->Authenticate(session.access_token, Scope::kAnyCredential));
  EXPECT_EQ(bearer.id, signed_up.user.id);
}

TEST_F(AuthServiceTest, WrongPasswordUnknownUserAndInvalidNameGetOneIdenticalAnswer) {
  Build();
  ASSERT_THAT(auth_->SignUp("ann", "password1", ""), IsOk());
  for (const char* name : {"ann", "nobody", "x"}) {
    absl::StatusOr<Session> refused = auth_->Login(name, "wrong-password");
    ASSERT_THAT(refused, StatusIs(absl::StatusCode::kUnauthenticated)) << name;
    EXPECT_EQ(refused.status().message(), kBadCredentials) << name;
  }
}

TEST_F(AuthServiceTest, ThrottledLoginsAreHeldThenLockedOutEvenWithTheRightPassword) {
  Build(/*throttle=*/true);
  ASSERT_THAT(auth_->SignUp("ann", "password1", ""), IsOk());
  absl::Duration delay = absl::Seconds(99);
  EXPECT_THAT(auth_->Login("ann", "wrong-one", "10.0.0.1", &delay),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(delay, absl::ZeroDuration());  // the free failure
  EXPECT_THAT(auth_->Login("ann", "wrong-two", "10.0.0.1", &delay),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(delay, absl::Milliseconds(500));  // LoginThrottle's base delay
  EXPECT_THAT(auth_->Login("ann", "wrong-three", "10.0.0.1", &delay),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(delay, absl::Seconds(1));
  // Three failures: locked for the window (15 minutes), password unchecked.
  EXPECT_THAT(auth_->Login("ann", "password1", "10.0.0.1", &delay),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("retry in 900 s")));
  clock_.Advance(absl::Minutes(15));
  EXPECT_THAT(auth_->Login("ann", "password1", "10.0.0.1", &delay), IsOk());
}

TEST_F(AuthServiceTest, ASuccessfulLoginForgetsTheUsernamesFailures) {
  Build(/*throttle=*/true);
  ASSERT_THAT(auth_->SignUp("ann", "password1", ""), IsOk());
  EXPECT_THAT(auth_->Login("ann", "wrong", "10.0.0.1"),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(auth_->Login("ann", "wrong", "10.0.0.1"),
              StatusIs(absl::StatusCode::kUnauthenticated));
  ASSERT_THAT(auth_->Login("ann", "password1", "10.0.0.1"), IsOk());
  absl::Duration delay = absl::Seconds(99);
  EXPECT_THAT(auth_->Login("ann", "wrong", "10.0.0.2", &delay),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(delay, absl::ZeroDuration());
}

// --- Roles and tokens ---

TEST_F(AuthServiceTest, AdminUsernamesHaveTheAdminRoleEverywhere) {
  Build();
  SMSGW_ASSERT_OK_AND_ASSIGN(Session root, auth_->SignUp("Root", "password1", ""));
  EXPECT_TRUE(root.user.admin);
  SMSGW_ASSERT_OK_AND_ASSIGN(storage::User bearer,
                             auth_->Authenticate(root.access_token, Scope::kAnyCredential));
  EXPECT_TRUE(bearer.admin);
  SMSGW_ASSERT_OK_AND_ASSIGN(storage::User by_id, auth_->GetUser(root.user.id));
  EXPECT_TRUE(by_id.admin);
  SMSGW_ASSERT_OK_AND_ASSIGN(storage::User by_name, auth_->FindUser("ROOT"));
  EXPECT_TRUE(by_name.admin);
  // The role is the server's configuration, not a stored flag.
  EXPECT_FALSE(Reload(root.user).admin);
  SMSGW_ASSERT_OK_AND_ASSIGN(Session ann, auth_->SignUp("ann", "password1", ""));
  EXPECT_FALSE(ann.user.admin);
}

TEST_F(AuthServiceTest, TheStoredAdminFlagAlsoGivesTheRole) {
  Build();
  const storage::User carl = AddUser("carl", "", false, /*admin=*/true);
  SMSGW_ASSERT_OK_AND_ASSIGN(storage::User found, auth_->GetUser(carl.id));
  EXPECT_TRUE(found.admin);
}

TEST_F(AuthServiceTest, AuthenticateRefusesEveryBadTokenAsUnauthenticated) {
  Build();
  SMSGW_ASSERT_OK_AND_ASSIGN(Session ann, auth_->SignUp("ann", "password1", ""));
  TokenService::Options other_key;
  other_key.secret_key = "another-key-of-at-least-32-bytes-long!!";
  std::unique_ptr<TokenService> other = *TokenService::Create(other_key, &clock_);
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken forged,
                             other->Issue(absl::StrCat(ann.user.id)));
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken ghost, tokens_->Issue("424242"));
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken not_an_id, tokens_->Issue("ann"));
  std::string tampered = ann.access_token;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  for (const std::string& token :
       {std::string(), std::string("not.a.jwt"), tampered, forged.token,
        ghost.token, not_an_id.token}) {
    EXPECT_THAT(auth_->Authenticate(token, Scope::kAnyCredential),
                StatusIs(absl::StatusCode::kUnauthenticated))
        << token;
  }
  EXPECT_THAT(auth_->Authenticate("", Scope::kAnyCredential),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("missing")));
  EXPECT_THAT(auth_->Authenticate(ghost.token, Scope::kAnyCredential),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       HasSubstr("no longer exists")));
}

TEST_F(AuthServiceTest, AnExpiredTokenIsUnauthenticated) {
  Build();
  SMSGW_ASSERT_OK_AND_ASSIGN(Session ann, auth_->SignUp("ann", "password1", ""));
  clock_.Set(ann.expire_time - absl::Seconds(1));
  EXPECT_THAT(auth_->Authenticate(ann.access_token, Scope::kAnyCredential), IsOk());
  clock_.Set(ann.expire_time + absl::Minutes(2));
  EXPECT_THAT(auth_->Authenticate(ann.access_token, Scope::kAnyCredential),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

// --- Lookups ---

TEST_F(AuthServiceTest, GetUserOfAnUnknownIdIsNotFound) {
  Build();
  EXPECT_THAT(auth_->GetUser(424242), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(AuthServiceTest, FindUserFoldsCaseAndRefusesBadOrUnknownNames) {
  Build();
  const storage::User ann = AddUser("ann");
  SMSGW_ASSERT_OK_AND_ASSIGN(storage::User found, auth_->FindUser("ANN"));
  EXPECT_EQ(found.id, ann.id);
  EXPECT_THAT(auth_->FindUser("nobody"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("nobody")));
  EXPECT_THAT(auth_->FindUser("a!"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace smsgw::domain

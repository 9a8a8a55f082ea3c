// API keys (api_keys.h, AuthService's key calls) in process: the scope and
// name rules, the secret's shape, and create / authenticate / list / revoke
// on the real SQLite user store with a FakeClock.
#include "server/domain/api_keys.h"

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/domain/auth_service.h"
#include "server/domain/password_hasher.h"
#include "server/domain/token_service.h"
#include "tests/testing/domain_fixture.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;

// --- the rules ---

TEST(NormalizeScopesTest, SortsKnownScopes) {
  SMSGW_ASSERT_OK_AND_ASSIGN(
      std::vector<std::string> scopes,
      NormalizeScopes({"webhooks", "messages:send", "groups"}));
  EXPECT_THAT(scopes, ElementsAre("groups", "messages:send", "webhooks"));
}

TEST(NormalizeScopesTest, RefusesEmptyUnknownAndRepeatedScopes) {
  EXPECT_THAT(NormalizeScopes({}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("at least one")));
  EXPECT_THAT(NormalizeScopes({"messages:send", "admin"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown scope \"admin\"")));
  EXPECT_THAT(NormalizeScopes({""}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeScopes({"Messages:Send"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(NormalizeScopes({"groups", "groups"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("twice")));
  // Control bytes are escaped, not echoed.
  absl::StatusOr<std::vector<std::string>> bad =
      NormalizeScopes({std::string("x\n\0y", 4)});
  ASSERT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(bad.status().message()),
              ::testing::Not(HasSubstr("\n")));
}

TEST(ValidateApiKeyNameTest, AcceptsLabelsAndRefusesTheRest) {
  EXPECT_THAT(ValidateApiKeyName("billing server"), IsOk());
  EXPECT_THAT(ValidateApiKeyName("Zürich €"), IsOk());
  EXPECT_THAT(ValidateApiKeyName(std::string(64, 'k')), IsOk());
  EXPECT_THAT(ValidateApiKeyName(""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateApiKeyName(std::string(65, 'k')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateApiKeyName("   "),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateApiKeyName("a\tb"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateApiKeyName(std::string("a\0b", 3)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(NewApiKeySecretTest, Has256RandomBitsInBase64Url) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    SMSGW_ASSERT_OK_AND_ASSIGN(std::string secret, NewApiKeySecret());
    EXPECT_THAT(secret, MatchesRegex("sk_[A-Za-z0-9_-]{43}"));
    EXPECT_TRUE(IsApiKeySecret(secret));
    seen.insert(secret);
  }
  EXPECT_EQ(seen.size(), 50u);
  SMSGW_ASSERT_OK_AND_ASSIGN(std::string id, NewApiKeyId());
  EXPECT_THAT(id, MatchesRegex("key_[0-9a-f]{16}"));
  EXPECT_FALSE(IsApiKeySecret("eyJhbGciOiJIUzI1NiJ9.e30.x"));
}

// --- AuthService ---

class ApiKeyServiceTest : public smsgw::testing::DomainTest {
 protected:
  ApiKeyServiceTest() {
    TokenService::Options token_options;
    token_options.secret_key = "0123456789abcdef0123456789abcdef-test-key";
    tokens_ = *TokenService::Create(token_options, &clock_);
    AuthService::Options options;
    options.max_api_keys_per_user = 3;
    auth_ = std::make_unique<AuthService>(users_.get(), &hasher_, tokens_.get(),
                                          &phones_, &clock_, options);
    ann_ = AddUser("ann");
    bob_ = AddUser("bob");
  }

  CreatedApiKey Create(const storage::User& owner, const std::string& name,
                       std::vector<std::string> scopes) {
    absl::StatusOr<CreatedApiKey> created =
        auth_->CreateApiKey(owner, name, scopes);
    EXPECT_THAT(created, IsOk());
    return created.ok() ? *std::move(created) : CreatedApiKey();
  }

  PasswordHasher hasher_{PasswordHasherOptions{8, 1}};
  std::unique_ptr<TokenService> tokens_;
  std::unique_ptr<AuthService> auth_;
  storage::User ann_;
  storage::User bob_;
};

TEST_F(ApiKeyServiceTest, KeyWorksWithinItsScopesOnly) {
  CreatedApiKey key = Create(ann_, "sender", {"messages:send"});
  EXPECT_THAT(key.key.scopes, ElementsAre("messages:send"));

  SMSGW_ASSERT_OK_AND_ASSIGN(
      storage::User user, auth_->Authenticate(key.secret, Scope::kMessagesSend));
  EXPECT_EQ(user.id, ann_.id);
  EXPECT_THAT(auth_->Authenticate(key.secret, Scope::kAnyCredential), IsOk());
  for (Scope other : {Scope::kMessagesRead, Scope::kMessagesDelete,
                      Scope::kGroups, Scope::kWebhooks}) {
    EXPECT_THAT(auth_->Authenticate(key.secret, other),
                StatusIs(absl::StatusCode::kPermissionDenied,
                         HasSubstr(std::string(ScopeName(other)))));
  }
  // No key may manage keys or the account, whatever its scopes.
  CreatedApiKey all = Create(
      ann_, "everything",
      {"messages:send", "messages:read", "messages:delete", "groups",
       "webhooks"});
  EXPECT_THAT(auth_->Authenticate(all.secret, Scope::kLoginOnly),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("login token")));
  // A login token may do everything, kLoginOnly included.
  SMSGW_ASSERT_OK_AND_ASSIGN(IssuedToken token,
                             tokens_->Issue(absl::StrCat(ann_.id)));
  EXPECT_THAT(auth_->Authenticate(token.token, Scope::kLoginOnly), IsOk());
  EXPECT_THAT(auth_->Authenticate(token.token, Scope::kWebhooks), IsOk());
}

TEST_F(ApiKeyServiceTest, StoresOnlyTheSecretsDigestAndListsNoSecret) {
  CreatedApiKey key = Create(ann_, "reader", {"messages:read"});
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<storage::ApiKey> stored,
                             users_->ListApiKeys(ann_.id));
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].secret_hash, Sha256Hex(key.secret));
  EXPECT_THAT(stored[0].secret_hash, ::testing::Not(HasSubstr("sk_")));

  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<storage::ApiKey> listed,
                             auth_->ListApiKeys(ann_));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, key.key.id);
  EXPECT_EQ(listed[0].name, "reader");
  EXPECT_EQ(listed[0].create_time, clock_.Now());
  EXPECT_THAT(listed[0].secret_hash, IsEmpty());
  EXPECT_FALSE(listed[0].last_use_time.has_value());
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<storage::ApiKey> bobs,
                             auth_->ListApiKeys(bob_));
  EXPECT_THAT(bobs, IsEmpty());
}

TEST_F(ApiKeyServiceTest, DeleteRevokesAtOnceAndOnlyTheOwnersKey) {
  CreatedApiKey key = Create(ann_, "sender", {"messages:send"});
  ASSERT_THAT(auth_->Authenticate(key.secret, Scope::kMessagesSend), IsOk());
  EXPECT_THAT(auth_->DeleteApiKey(bob_, key.key.id),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(auth_->Authenticate(key.secret, Scope::kMessagesSend), IsOk());
  EXPECT_THAT(auth_->DeleteApiKey(ann_, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(auth_->DeleteApiKey(ann_, key.key.id), IsOk());
  EXPECT_THAT(auth_->Authenticate(key.secret, Scope::kMessagesSend),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       HasSubstr("invalid API key")));
  EXPECT_THAT(auth_->DeleteApiKey(ann_, key.key.id),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ApiKeyServiceTest, UnknownOrMalformedKeysAreUnauthenticated) {
  for (const std::string& bad :
       {std::string("sk_"), std::string("sk_nope"),
        std::string("sk_") + std::string(43, 'A'),
        std::string("sk_") + std::string(5000, 'A'),
        std::string("sk_\0x", 5)}) {
    EXPECT_THAT(auth_->Authenticate(bad, Scope::kAnyCredential),
                StatusIs(absl::StatusCode::kUnauthenticated));
  }
}

TEST_F(ApiKeyServiceTest, NamesAreUniquePerUserAndKeysAreCapped) {
  Create(ann_, "one", {"groups"});
  EXPECT_THAT(auth_->CreateApiKey(ann_, "one", {"groups"}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  Create(bob_, "one", {"groups"});  // another user's name is free
  Create(ann_, "two", {"groups"});
  Create(ann_, "three", {"groups"});
  EXPECT_THAT(auth_->CreateApiKey(ann_, "four", {"groups"}),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("at most 3")));
  EXPECT_THAT(auth_->CreateApiKey(ann_, "", {"groups"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(auth_->CreateApiKey(ann_, "x", {"root"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<storage::ApiKey> listed,
                             auth_->ListApiKeys(ann_));
  EXPECT_EQ(listed.size(), 3u);
}

TEST_F(ApiKeyServiceTest, LastUseIsRecordedToTheMinute) {
  CreatedApiKey key = Create(ann_, "reader", {"messages:read"});
  const absl::Time first = clock_.Now() + absl::Seconds(5);
  clock_.Set(first);
  ASSERT_THAT(auth_->Authenticate(key.secret, Scope::kMessagesRead), IsOk());
  auto last_use = [&]() -> std::optional<absl::Time> {
    absl::StatusOr<std::vector<storage::ApiKey>> keys =
        auth_->ListApiKeys(ann_);
    EXPECT_THAT(keys, IsOk());
    return keys.ok() && !keys->empty() ? (*keys)[0].last_use_time
                                       : std::nullopt;
  };
  EXPECT_EQ(last_use(), first);
  clock_.Advance(absl::Seconds(30));
  ASSERT_THAT(auth_->Authenticate(key.secret, Scope::kMessagesRead), IsOk());
  EXPECT_EQ(last_use(), first);  // within the minute: no write
  clock_.Advance(absl::Seconds(31));
  ASSERT_THAT(auth_->Authenticate(key.secret, Scope::kMessagesRead), IsOk());
  EXPECT_EQ(last_use(), clock_.Now());
  // A refused call (scope) is no use.
  clock_.Advance(absl::Minutes(5));
  ASSERT_THAT(auth_->Authenticate(key.secret, Scope::kGroups),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(last_use(), clock_.Now() - absl::Minutes(5));
}

}  // namespace
}  // namespace smsgw::domain

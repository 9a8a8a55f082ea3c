// The UserStore contract, run against every implementation: SQLite on a
// temp file and PostgreSQL on a fresh database of a throwaway server.
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite/database.h"
#include "storage/postgres/pg_user_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/testing/pg_test_db.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/sqlite_test_db.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::storage {
namespace {


class SqliteFileStoreFactory {
 public:
  SqliteFileStoreFactory() {
    db_ = testing::OpenTestDatabase(dir_);
    store_ = std::make_unique<sqlite::SqliteUserStore>(db_.get());
  }
  UserStore* store() { return store_.get(); }
  absl::Status available() const { return absl::OkStatus(); }
  // Text with a NUL byte is stored literally.
  static constexpr bool kStoresNul = true;

 private:
  smsgw::testing::TempDir dir_;
  std::unique_ptr<sqlite::Database> db_;
  std::unique_ptr<UserStore> store_;
};

class PostgresStoreFactory {
 public:
  PostgresStoreFactory() {
    if (db_.status().ok()) {
      store_ = std::make_unique<postgres::PgUserStore>(db_.pool());
    }
  }
  UserStore* store() { return store_.get(); }
  absl::Status available() const { return db_.status(); }
  // PostgreSQL text cannot hold NUL: refused, never truncated.
  static constexpr bool kStoresNul = false;

 private:
  testing::PgTestDatabase db_;
  std::unique_ptr<UserStore> store_;
};

template <typename Factory>
class UserStoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override { SMSGW_REQUIRE_DATABASE(factory_.available()); }
  UserStore* store() { return factory_.store(); }
  Factory factory_;
};

using StoreFactories =
    ::testing::Types<SqliteFileStoreFactory, PostgresStoreFactory>;
TYPED_TEST_SUITE(UserStoreContractTest, StoreFactories);

User MakeUser(const std::string& name, const std::string& phone = "") {
  User user;
  user.username = name;
  user.password_hash = "$argon2id$fake";
  user.phone_number = phone;
  user.create_time = user.update_time = absl::FromUnixSeconds(1'800'000'000);
  return user;
}

TYPED_TEST(UserStoreContractTest, InsertAssignsIdAndFindsByNameAndId) {
  SMSGW_ASSERT_OK_AND_ASSIGN(User ann,
                             this->store()->Insert(MakeUser("ann", "+14155550100")));
  EXPECT_GT(ann.id, 0);
  SMSGW_ASSERT_OK_AND_ASSIGN(User by_name, this->store()->FindByUsername("ann"));
  EXPECT_EQ(by_name.id, ann.id);
  EXPECT_EQ(by_name.phone_number, "+14155550100");
  EXPECT_EQ(by_name.create_time, absl::FromUnixSeconds(1'800'000'000));
  SMSGW_ASSERT_OK_AND_ASSIGN(User by_id, this->store()->FindById(ann.id));
  EXPECT_EQ(by_id.username, "ann");
}

TYPED_TEST(UserStoreContractTest, InsertRejectsDuplicateUsername) {
  ASSERT_THAT(this->store()->Insert(MakeUser("ann")), IsOk());
  EXPECT_THAT(this->store()->Insert(MakeUser("ann")),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TYPED_TEST(UserStoreContractTest, MissingUserIsNotFound) {
  EXPECT_THAT(this->store()->FindByUsername("nobody"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(this->store()->FindById(42),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(this->store()->SetAdmin(42, true),
              StatusIs(absl::StatusCode::kNotFound));
}

TYPED_TEST(UserStoreContractTest, UnverifiedPhoneIsNotFoundByVerifiedPhone) {
  ASSERT_THAT(this->store()->Insert(MakeUser("ann", "+14155550100")), IsOk());
  EXPECT_THAT(this->store()->FindByVerifiedPhone("+14155550100"),
              StatusIs(absl::StatusCode::kNotFound));
}

TYPED_TEST(UserStoreContractTest, SetAdminAndPasswordHashPersist) {
  SMSGW_ASSERT_OK_AND_ASSIGN(User ann, this->store()->Insert(MakeUser("ann")));
  ASSERT_THAT(this->store()->SetAdmin(ann.id, true), IsOk());
  ASSERT_THAT(this->store()->UpdatePasswordHash(ann.id, "$argon2id$new"),
              IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(User again, this->store()->FindById(ann.id));
  EXPECT_TRUE(again.admin);
  EXPECT_EQ(again.password_hash, "$argon2id$new");
}

TYPED_TEST(UserStoreContractTest, QuotesAndNulsInUsernameAreStoredLiterally) {
  const std::string quotes = "a'b\"c; DROP TABLE users;--";
  SMSGW_ASSERT_OK_AND_ASSIGN(User quoted, this->store()->Insert(MakeUser(quotes)));
  SMSGW_ASSERT_OK_AND_ASSIGN(User found_quoted,
                             this->store()->FindByUsername(quotes));
  EXPECT_EQ(found_quoted.id, quoted.id);
  const std::string odd = quotes + '\0' + "x";
  if (!TypeParam::kStoresNul) {
    // Refused whole, never cut at the NUL into another user's name.
    EXPECT_THAT(this->store()->Insert(MakeUser(odd)),
                StatusIs(absl::StatusCode::kInvalidArgument));
    return;
  }
  SMSGW_ASSERT_OK_AND_ASSIGN(User user, this->store()->Insert(MakeUser(odd)));
  SMSGW_ASSERT_OK_AND_ASSIGN(User found, this->store()->FindByUsername(odd));
  EXPECT_EQ(found.id, user.id);
  EXPECT_EQ(found.username, odd);
}

ApiKey MakeKey(int64_t user_id, const std::string& id, const std::string& name) {
  ApiKey key;
  key.id = id;
  key.user_id = user_id;
  key.name = name;
  key.scopes = {"groups", "messages:send"};
  key.secret_hash = std::string(64, id.back());
  key.create_time = absl::FromUnixSeconds(1'800'000'000);
  return key;
}

TYPED_TEST(UserStoreContractTest, ApiKeysRoundTripAndAreFoundByDigest) {
  SMSGW_ASSERT_OK_AND_ASSIGN(User ann, this->store()->Insert(MakeUser("ann")));
  SMSGW_ASSERT_OK_AND_ASSIGN(
      ApiKey stored, this->store()->InsertApiKey(MakeKey(ann.id, "key_1", "a"), 5));
  EXPECT_EQ(stored.id, "key_1");
  SMSGW_ASSERT_OK_AND_ASSIGN(
      ApiKey found, this->store()->FindApiKeyBySecretHash(std::string(64, '1')));
  EXPECT_EQ(found.user_id, ann.id);
  EXPECT_EQ(found.name, "a");
  EXPECT_THAT(found.scopes, ::testing::ElementsAre("groups", "messages:send"));
  EXPECT_EQ(found.create_time, absl::FromUnixSeconds(1'800'000'000));
  EXPECT_FALSE(found.last_use_time.has_value());
  EXPECT_THAT(this->store()->FindApiKeyBySecretHash(std::string(64, '2')),
              StatusIs(absl::StatusCode::kNotFound));

  const absl::Time used = absl::FromUnixSeconds(1'800'000'100);
  ASSERT_THAT(this->store()->TouchApiKey("key_1", used), IsOk());
  ASSERT_THAT(this->store()->TouchApiKey("key_gone", used), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<ApiKey> keys,
                             this->store()->ListApiKeys(ann.id));
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].last_use_time, used);
}

TYPED_TEST(UserStoreContractTest, ApiKeyNamesAreUniquePerUserAndCapped) {
  SMSGW_ASSERT_OK_AND_ASSIGN(User ann, this->store()->Insert(MakeUser("ann")));
  SMSGW_ASSERT_OK_AND_ASSIGN(User bob, this->store()->Insert(MakeUser("bob")));
  ASSERT_THAT(this->store()->InsertApiKey(MakeKey(ann.id, "key_1", "a"), 2), IsOk());
  EXPECT_THAT(this->store()->InsertApiKey(MakeKey(ann.id, "key_2", "a"), 2),
              StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_THAT(this->store()->InsertApiKey(MakeKey(bob.id, "key_3", "a"), 2), IsOk());
  ASSERT_THAT(this->store()->InsertApiKey(MakeKey(ann.id, "key_4", "b"), 2), IsOk());
  EXPECT_THAT(this->store()->InsertApiKey(MakeKey(ann.id, "key_5", "c"), 2),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(this->store()->InsertApiKey(MakeKey(9999, "key_6", "c"), 2),
              StatusIs(absl::StatusCode::kNotFound));
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<ApiKey> anns,
                             this->store()->ListApiKeys(ann.id));
  ASSERT_EQ(anns.size(), 2u);
  EXPECT_EQ(anns[0].id, "key_1");
  EXPECT_EQ(anns[1].id, "key_4");
}

TYPED_TEST(UserStoreContractTest, DeleteApiKeyTouchesOnlyTheOwnersKey) {
  SMSGW_ASSERT_OK_AND_ASSIGN(User ann, this->store()->Insert(MakeUser("ann")));
  SMSGW_ASSERT_OK_AND_ASSIGN(User bob, this->store()->Insert(MakeUser("bob")));
  ASSERT_THAT(this->store()->InsertApiKey(MakeKey(ann.id, "key_1", "a"), 5), IsOk());
  EXPECT_THAT(this->store()->DeleteApiKey(bob.id, "key_1"),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(this->store()->FindApiKeyBySecretHash(std::string(64, '1')), IsOk());
  ASSERT_THAT(this->store()->DeleteApiKey(ann.id, "key_1"), IsOk());
  EXPECT_THAT(this->store()->FindApiKeyBySecretHash(std::string(64, '1')),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(this->store()->DeleteApiKey(ann.id, "key_1"),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace smsgw::storage

// The UserStore contract, run against every implementation (today SQLite on a
// temp file).
#include <memory>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_user_store.h"
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

 private:
  smsgw::testing::TempDir dir_;
  std::unique_ptr<sqlite::Database> db_;
  std::unique_ptr<UserStore> store_;
};

template <typename Factory>
class UserStoreContractTest : public ::testing::Test {
 protected:
  UserStore* store() { return factory_.store(); }
  Factory factory_;
};

using StoreFactories = ::testing::Types<SqliteFileStoreFactory>;
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
  const std::string odd = std::string("a'b\"c; DROP TABLE users;--") + '\0' + "x";
  SMSGW_ASSERT_OK_AND_ASSIGN(User user, this->store()->Insert(MakeUser(odd)));
  SMSGW_ASSERT_OK_AND_ASSIGN(User found, this->store()->FindByUsername(odd));
  EXPECT_EQ(found.id, user.id);
  EXPECT_EQ(found.username, odd);
}

}  // namespace
}  // namespace smsgw::storage

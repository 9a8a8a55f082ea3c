// File: group_store_factory.h
//
// The engines behind the GroupStore and PhoneVerificationStore contract
// suites: SQLite on a temp file and PostgreSQL on a fresh database of the
// throwaway test server (tests/testing/pg_test_db.h). A factory's
// available() is not OK when its engine cannot run here (the suites then
// skip, or fail under SMSGW_REQUIRE_PG).
#ifndef SMSGW_TESTS_STORAGE_SQLITE_GROUP_STORE_FACTORY_H_
#define SMSGW_TESTS_STORAGE_SQLITE_GROUP_STORE_FACTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/group_store.h"
#include "storage/message_store.h"
#include "storage/postgres/pg_group_store.h"
#include "storage/postgres/pg_message_store.h"
#include "storage/postgres/pg_user_store.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_group_store.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "storage/user_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/pg_test_db.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::storage {

// Stores a user named `name` with `phone` (E.164 or empty), verified or not,
// created at `now`, and returns it with its id; a failure is a test failure.
inline User AddTestUser(UserStore& users, absl::Time now,
                        const std::string& name, const std::string& phone,
                        bool verified) {
  User user;
  user.username = name;
  user.password_hash = "$argon2id$fake";
  user.phone_number = phone;
  user.phone_verified = verified;
  user.create_time = user.update_time = now;
  absl::StatusOr<User> stored = users.Insert(user);
  EXPECT_THAT(stored, smsgw::testing::IsOk());
  return stored.ok() ? *stored : user;
}

class SqliteGroupStoreFactory {
 public:
  SqliteGroupStoreFactory() {
    sqlite::Database::Options options;
    options.path = dir_.File("smsgw.db");
    options.synchronous_full = false;  // a test's files need not survive
    db_ = *sqlite::Database::Open(options);
    users_ = std::make_unique<sqlite::SqliteUserStore>(db_.get());
    groups_ = std::make_unique<sqlite::SqliteGroupStore>(db_.get());
    verifications_ =
        std::make_unique<sqlite::SqlitePhoneVerificationStore>(db_.get());
    messages_ =
        std::make_unique<sqlite::SqliteMessageStore>(db_.get(), &clock_);
  }

  absl::Status available() const { return absl::OkStatus(); }
  GroupStore* groups() { return groups_.get(); }
  PhoneVerificationStore* verifications() { return verifications_.get(); }
  UserStore* users() { return users_.get(); }
  MessageStore* messages() { return messages_.get(); }
  smsgw::testing::FakeClock& clock() { return clock_; }

  // Stores a user named `name` with `phone` (E.164 or empty), verified or
  // not, and returns it with its id; a failure is a test failure.
  User AddUser(const std::string& name, const std::string& phone = "",
               bool verified = false) {
    return AddTestUser(*users_, clock_.Now(), name, phone, verified);
  }

 private:
  smsgw::testing::TempDir dir_;
  smsgw::testing::FakeClock clock_;
  std::unique_ptr<sqlite::Database> db_;
  std::unique_ptr<sqlite::SqliteUserStore> users_;
  std::unique_ptr<sqlite::SqliteGroupStore> groups_;
  std::unique_ptr<sqlite::SqlitePhoneVerificationStore> verifications_;
  std::unique_ptr<sqlite::SqliteMessageStore> messages_;
};

class PgGroupStoreFactory {
 public:
  PgGroupStoreFactory() {
    if (!db_.status().ok()) return;
    users_ = std::make_unique<postgres::PgUserStore>(db_.pool());
    groups_ = std::make_unique<postgres::PgGroupStore>(db_.pool());
    verifications_ =
        std::make_unique<postgres::PgPhoneVerificationStore>(db_.pool());
    messages_ = std::make_unique<postgres::PgMessageStore>(db_.pool(), &clock_);
  }

  absl::Status available() const { return db_.status(); }
  GroupStore* groups() { return groups_.get(); }
  PhoneVerificationStore* verifications() { return verifications_.get(); }
  UserStore* users() { return users_.get(); }
  MessageStore* messages() { return messages_.get(); }
  smsgw::testing::FakeClock& clock() { return clock_; }
  User AddUser(const std::string& name, const std::string& phone = "",
               bool verified = false) {
    return AddTestUser(*users_, clock_.Now(), name, phone, verified);
  }

 private:
  smsgw::testing::FakeClock clock_;
  smsgw::testing::PgTestDatabase db_;
  std::unique_ptr<postgres::PgUserStore> users_;
  std::unique_ptr<postgres::PgGroupStore> groups_;
  std::unique_ptr<postgres::PgPhoneVerificationStore> verifications_;
  std::unique_ptr<postgres::PgMessageStore> messages_;
};

}  // namespace smsgw::storage

#endif  // SMSGW_TESTS_STORAGE_SQLITE_GROUP_STORE_FACTORY_H_

// File: sqlite_test_db.h
//
// A real SQLite database for the tests of the layers above storage (domain,
// webhooks) and of the SQLite stores themselves: a migrated file in a temp
// directory, and users in it. Header-only: smsgw_testing does not link
// smsgw_storage_sqlite; the test binaries that include this do.
#ifndef SMSGW_TESTS_TESTING_SQLITE_TEST_DB_H_
#define SMSGW_TESTS_TESTING_SQLITE_TEST_DB_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "storage/message_store.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/testing/fake_clock.h"
#include "storage/user_store.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::testing {

// Opens (creating and migrating) `dir`/smsgw.db. `synchronous_full` false
// for suites of many small writes, where durability is moot. Null, with a
// test failure, when it cannot be opened.
inline std::unique_ptr<storage::sqlite::Database> OpenTestDatabase(
    const TempDir& dir, bool synchronous_full = true) {
  storage::sqlite::Database::Options options;
  options.path = dir.File("smsgw.db");
  options.synchronous_full = synchronous_full;
  absl::StatusOr<std::unique_ptr<storage::sqlite::Database>> db =
      storage::sqlite::Database::Open(options);
  EXPECT_TRUE(db.ok()) << db.status();
  return db.ok() ? *std::move(db) : nullptr;
}

// Inserts the user `name` (a fake password hash, created and updated at
// `at`) into `users`; its id, or 0 with a test failure.
inline int64_t AddTestUser(storage::UserStore& users, const std::string& name,
                           absl::Time at) {
  storage::User user;
  user.username = name;
  user.password_hash = "$argon2id$fake";
  user.create_time = user.update_time = at;
  absl::StatusOr<storage::User> stored = users.Insert(user);
  EXPECT_TRUE(stored.ok()) << name << ": " << stored.status();
  return stored.ok() ? stored->id : 0;
}

// A PENDING outbound SMS `id` of user `owner_id` from `our_number` to `peer`,
// in `conversation`, created and updated at `at`, with the body
// "body of <id>": a message to hand to MessageStore::CreateOutbound.
inline storage::Message PendingOutbound(const std::string& id, int64_t owner_id,
                                        const std::string& conversation,
                                        const std::string& our_number,
                                        const std::string& peer, absl::Time at) {
  storage::Message m;
  m.id = id;
  m.owner_id = owner_id;
  m.conversation_id = conversation;
  m.direction = storage::Direction::kOutbound;
  m.from = our_number;
  m.to = m.peer_number = peer;
  m.our_number = our_number;
  m.body = "body of " + id;
  m.status = storage::MessageStatus::kPending;
  m.create_time = m.update_time = at;
  return m;
}

// A fixture with a migrated database in dir_ and the SQLite user and message
// stores on it, the message store reading clock_ (which starts at `now`).
// Subclasses open them in their SetUp with OpenStores.
class SqliteStoresTest : public ::testing::Test {
 protected:
  explicit SqliteStoresTest(absl::Time now = absl::FromUnixSeconds(1'800'000'000))
      : clock_(now) {}

  // Opens db_, users_ and store_; a fatal failure when the database cannot be
  // opened. `synchronous_full` as for OpenTestDatabase.
  void OpenStores(bool synchronous_full = true) {
    db_ = OpenTestDatabase(dir_, synchronous_full);
    ASSERT_NE(db_, nullptr);
    users_ = std::make_unique<storage::sqlite::SqliteUserStore>(db_.get());
    store_ = std::make_unique<storage::sqlite::SqliteMessageStore>(db_.get(),
                                                                   &clock_);
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<storage::sqlite::Database> db_;
  std::unique_ptr<storage::sqlite::SqliteUserStore> users_;
  std::unique_ptr<storage::sqlite::SqliteMessageStore> store_;
};

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_SQLITE_TEST_DB_H_

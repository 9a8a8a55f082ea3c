// File: sqlite_stores.h
//
// The real SQLite stores on a temp file, as the in-process tests of the
// domain and the dispatcher use them (STYLE: real parts, not fakes), and a
// user to own messages. Header-only: only binaries that link
// smsgw_storage_sqlite include it.
#ifndef SMSGW_TESTS_TESTING_SQLITE_STORES_H_
#define SMSGW_TESTS_TESTING_SQLITE_STORES_H_

#include <memory>
#include <string>

#include "server/common/clock.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::testing {

// Not thread-safe to set up; the stores themselves are. `clock` must
// outlive it.
struct SqliteStores {
  explicit SqliteStores(Clock* clock) : clock_(clock) {
    storage::sqlite::Database::Options options;
    options.path = dir.File("smsgw.db");
    options.synchronous_full = false;  // tests do not survive power loss
    db = *storage::sqlite::Database::Open(options);
    users = std::make_unique<storage::sqlite::SqliteUserStore>(db.get());
    messages =
        std::make_unique<storage::sqlite::SqliteMessageStore>(db.get(), clock);
  }

  // Inserts a user named `username` (a placeholder password hash); aborts
  // the test binary if the store refuses.
  storage::User AddUser(const std::string& username) {
    storage::User user;
    user.username = username;
    user.password_hash = "$argon2id$fake";
    user.create_time = user.update_time = clock_->Now();
    return *users->Insert(user);
  }

  TempDir dir;
  std::unique_ptr<storage::sqlite::Database> db;
  std::unique_ptr<storage::sqlite::SqliteUserStore> users;
  std::unique_ptr<storage::sqlite::SqliteMessageStore> messages;

 private:
  Clock* clock_;
};

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_SQLITE_STORES_H_

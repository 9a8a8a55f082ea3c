// File: outbound_store.h
//
// The setting of the dispatch tests: the real SqliteMessageStore on a temp
// file, one user ("ann") who owns every message, and outbound messages
// stored PENDING the way MessagingService stores them. Header-only, so that
// only test binaries that link smsgw_storage_sqlite see it.
#ifndef SMSGW_TESTS_TESTING_OUTBOUND_STORE_H_
#define SMSGW_TESTS_TESTING_OUTBOUND_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/clock.h"
#include "storage/message_store.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::testing {

class OutboundStore {
 public:
  static constexpr char kOurNumber[] = "+15005550006";
  static constexpr char kPeer[] = "+14155550100";

  // Opens (creating) the database at `path` and adds the user; `clock`
  // stamps what the store times itself and must outlive this. Failures are
  // test failures.
  OutboundStore(std::string path, Clock* clock)
      : path_(std::move(path)), clock_(clock) {
    Reopen();
    storage::User user;
    user.username = "ann";
    user.password_hash = "$argon2id$fake";
    user.create_time = user.update_time = clock_->Now();
    absl::StatusOr<storage::User> stored = users_->Insert(user);
    EXPECT_THAT(stored, IsOk());
    if (stored.ok()) owner_ = stored->id;
  }

  // Closes the database and opens it again, as a restart does. Pointers
  // from store() before the call dangle after it.
  void Reopen() {
    store_.reset();
    users_.reset();
    db_.reset();
    storage::sqlite::Database::Options options;
    options.path = path_;
    options.synchronous_full =
        false;  // a test's files need not survive a crash
    absl::StatusOr<std::unique_ptr<storage::sqlite::Database>> db =
        storage::sqlite::Database::Open(options);
    ASSERT_THAT(db, IsOk());
    db_ = *std::move(db);
    users_ = std::make_unique<storage::sqlite::SqliteUserStore>(db_.get());
    store_ = std::make_unique<storage::sqlite::SqliteMessageStore>(db_.get(),
                                                                   clock_);
  }

  storage::sqlite::SqliteMessageStore* store() { return store_.get(); }
  storage::sqlite::SqliteUserStore* users() { return users_.get(); }
  int64_t owner() const { return owner_; }

  // A PENDING outbound message of one GSM-7 segment, `body`, from
  // kOurNumber to kPeer, created now, with a fresh UUID-shaped id; not
  // stored yet.
  storage::Message NewMessage(absl::string_view body) {
    storage::Message m;
    m.id = absl::StrCat("00000000-0000-4000-8000-", 100000000000 + ++count_);
    m.owner_id = owner_;
    m.conversation_id = kPeer;
    m.direction = storage::Direction::kOutbound;
    m.from = m.our_number = kOurNumber;
    m.to = m.peer_number = kPeer;
    m.body = std::string(body);
    m.num_segments = 1;
    m.encoding = storage::Encoding::kGsm7;
    m.status = storage::MessageStatus::kPending;
    m.create_time = m.update_time = clock_->Now();
    return m;
  }

  // Stores `m` (CreateOutbound) and returns it as stored; `m` itself, after
  // recording a test failure, when the store refuses it.
  storage::Message Create(const storage::Message& m) {
    absl::StatusOr<storage::CreateResult> created =
        store_->CreateOutbound(m, std::nullopt);
    EXPECT_THAT(created, IsOk());
    return created.ok() ? created->message : m;
  }

  // The stored status of `id`; UNSPECIFIED when it cannot be read.
  storage::MessageStatus StatusOf(absl::string_view id) {
    absl::StatusOr<storage::Message> m = store_->Get(id);
    return m.ok() ? m->status : storage::MessageStatus::kUnspecified;
  }

 private:
  const std::string path_;
  Clock* clock_;
  std::unique_ptr<storage::sqlite::Database> db_;
  std::unique_ptr<storage::sqlite::SqliteUserStore> users_;
  std::unique_ptr<storage::sqlite::SqliteMessageStore> store_;
  int64_t owner_ = 0;
  int count_ = 0;
};

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_OUTBOUND_STORE_H_

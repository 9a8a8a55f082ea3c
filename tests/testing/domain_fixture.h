// File: domain_fixture.h
//
// The setting of the in-process domain service tests: the real SQLite
// stores on a temp file, a FakeClock, the US phone parser, and a
// ScriptedQueue standing in for the dispatcher (the OutboundQueue port), so
// that MessagingService, AuthService, GroupService, PhoneVerificationService
// and DeliveryService can be built directly and each call's outcome read
// back from the store. Header-only, for test binaries that link
// smsgw_domain and smsgw_storage_sqlite.
#ifndef SMSGW_TESTS_TESTING_DOMAIN_FIXTURE_H_
#define SMSGW_TESTS_TESTING_DOMAIN_FIXTURE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/domain/messaging_service.h"
#include "server/domain/outbound_queue.h"
#include "server/domain/phone_number.h"
#include "storage/message_store.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_group_store.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::testing {

// The dispatcher port, answering on the caller's thread: each message handed
// over is recorded and, by the script in force, left PENDING, accepted
// (QUEUED with SID "SM1", "SM2", … as the provider's first answer) or
// refused (FAILED with a Twilio error code). Waiting calls return at once:
// the answer, if any, is already stored. Thread-safe.
class ScriptedQueue final : public domain::OutboundQueue {
 public:
  enum class Answer { kNone, kAccept, kReject };

  // `messages` receives the answers; not owned.
  explicit ScriptedQueue(storage::MessageStore* messages, Clock* clock)
      : messages_(messages), clock_(clock) {}

  // How every later hand-over is answered; kReject with `code` and
  // `message` as Twilio's error.
  void AnswerWith(Answer answer, int code = 0, std::string message = "") {
    absl::MutexLock lock(&mu_);
    answer_ = answer;
    reject_code_ = code;
    reject_message_ = std::move(message);
  }
  // CheckBacklog() answers `status` from now on.
  void SetBacklogCheck(absl::Status status) {
    absl::MutexLock lock(&mu_);
    backlog_check_ = std::move(status);
  }

  void Enqueue(const storage::Message& message) override {
    Answer answer;
    storage::StatusUpdate update;
    {
      absl::MutexLock lock(&mu_);
      handed_.push_back(message);
      answer = answer_;
      update.event_time = clock_->Now();
      update.source = storage::ReportSource::kProviderResponse;
      if (answer == Answer::kAccept) {
        update.status = storage::MessageStatus::kQueued;
        update.provider_status = "queued";
        update.provider_sid = absl::StrCat("SM", ++sids_);
        update.http_status = 201;
      } else if (answer == Answer::kReject) {
        update.status = storage::MessageStatus::kFailed;
        update.error_code = reject_code_;
        update.error_message = reject_message_;
        update.http_status = 400;
      }
    }
    if (answer == Answer::kNone) return;
    EXPECT_THAT(messages_->ApplyStatus(message.id, update), IsOk());
  }
  void AwaitFirstAnswer(absl::string_view, absl::Time) override {}
  void NotifyOnFirstAnswer(absl::string_view, absl::Time,
                           AnswerCallback done) override {
    done(nullptr);  // the caller reads the message from the store
  }
  void RefreshFromProvider(absl::string_view provider_sid) override {
    absl::MutexLock lock(&mu_);
    refreshed_.emplace_back(provider_sid);
  }
  absl::Status CheckBacklog(const storage::Message&) override {
    absl::MutexLock lock(&mu_);
    return backlog_check_;
  }

  // Every message handed over, in order.
  std::vector<storage::Message> handed() {
    absl::MutexLock lock(&mu_);
    return handed_;
  }
  // The SIDs RefreshFromProvider() was asked for, in order.
  std::vector<std::string> refreshed() {
    absl::MutexLock lock(&mu_);
    return refreshed_;
  }

 private:
  storage::MessageStore* messages_;
  Clock* clock_;
  absl::Mutex mu_;
  Answer answer_ ABSL_GUARDED_BY(mu_) = Answer::kNone;
  int reject_code_ ABSL_GUARDED_BY(mu_) = 0;
  std::string reject_message_ ABSL_GUARDED_BY(mu_);
  absl::Status backlog_check_ ABSL_GUARDED_BY(mu_);
  int sids_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<storage::Message> handed_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> refreshed_ ABSL_GUARDED_BY(mu_);
};

// The stores, clock, parser and queue every domain service test builds its
// service on; derive the test fixture from it.
class DomainTest : public ::testing::Test {
 public:
  static constexpr char kOurNumber[] = "+15005550006";
  static constexpr char kSecondNumber[] = "+15005550020";
  static constexpr char kPeer[] = "+14155550100";

 protected:
  DomainTest() {
    storage::sqlite::Database::Options options;
    options.path = dir_.File("smsgw.db");
    options.synchronous_full = false;  // a test's files need not survive
    absl::StatusOr<std::unique_ptr<storage::sqlite::Database>> db =
        storage::sqlite::Database::Open(options);
    EXPECT_THAT(db, IsOk());
    if (db.ok()) db_ = *std::move(db);
    users_ = std::make_unique<storage::sqlite::SqliteUserStore>(db_.get());
    messages_ =
        std::make_unique<storage::sqlite::SqliteMessageStore>(db_.get(), &clock_);
    groups_ = std::make_unique<storage::sqlite::SqliteGroupStore>(db_.get());
    verifications_ =
        std::make_unique<storage::sqlite::SqlitePhoneVerificationStore>(
            db_.get());
    queue_ = std::make_unique<ScriptedQueue>(messages_.get(), &clock_);
  }

  // A MessagingService on the stores and queue, sending from kOurNumber
  // and kSecondNumber unless `options` names other numbers; the server's
  // zone is UTC.
  std::unique_ptr<domain::MessagingService> NewMessaging(
      domain::MessagingService::Options options = {}) {
    if (options.phone_numbers.empty() &&
        options.messaging_service_sid.empty()) {
      options.phone_numbers = {kOurNumber, kSecondNumber};
    }
    options.server_time_zone = absl::UTCTimeZone();
    return std::make_unique<domain::MessagingService>(
        messages_.get(), users_.get(), queue_.get(), &phones_, &clock_,
        std::move(options));
  }

  // Stores a user; a failure is a test failure.
  storage::User AddUser(const std::string& name, const std::string& phone = "",
                        bool verified = false, bool admin = false) {
    storage::User user;
    user.username = name;
    user.password_hash = "$argon2id$fake";
    user.phone_number = phone;
    user.phone_verified = verified;
    user.admin = admin;
    user.create_time = user.update_time = clock_.Now();
    absl::StatusOr<storage::User> stored = users_->Insert(user);
    EXPECT_THAT(stored, IsOk());
    return stored.ok() ? *stored : user;
  }

  // The user as stored now.
  storage::User Reload(const storage::User& user) {
    absl::StatusOr<storage::User> found = users_->FindById(user.id);
    EXPECT_THAT(found, IsOk());
    return found.ok() ? *found : storage::User();
  }

  // Messages stored under `owner_id`, newest first.
  std::vector<storage::Message> StoredFor(int64_t owner_id) {
    storage::MessageQuery query;
    query.owner_id = owner_id;
    query.limit = 1000;
    absl::StatusOr<std::vector<storage::Message>> all = messages_->List(query);
    EXPECT_THAT(all, IsOk());
    return all.ok() ? *std::move(all) : std::vector<storage::Message>();
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<storage::sqlite::Database> db_;
  std::unique_ptr<storage::sqlite::SqliteUserStore> users_;
  std::unique_ptr<storage::sqlite::SqliteMessageStore> messages_;
  std::unique_ptr<storage::sqlite::SqliteGroupStore> groups_;
  std::unique_ptr<storage::sqlite::SqlitePhoneVerificationStore> verifications_;
  domain::PhoneNumberParser phones_{"US"};
  std::unique_ptr<ScriptedQueue> queue_;
};

}  // namespace smsgw::testing

#endif  // SMSGW_TESTS_TESTING_DOMAIN_FIXTURE_H_

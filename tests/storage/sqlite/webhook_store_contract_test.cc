// The WebhookStore contract (storage/webhook_store.h) on both engines: SQLite
// on a real migrated file and PostgreSQL on a fresh database of the
// throwaway test server.
#include <memory>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "storage/postgres/pg_user_store.h"
#include "storage/postgres/pg_webhook_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "storage/sqlite/sqlite_webhook_store.h"
#include "tests/testing/pg_test_db.h"
#include "tests/testing/sqlite_test_db.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::storage {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

class SqliteWebhookFactory {
 public:
  SqliteWebhookFactory()
      : db_(testing::OpenTestDatabase(dir_, /*synchronous_full=*/false)),
        users_(db_.get()),
        store_(db_.get()) {}
  absl::Status available() const { return absl::OkStatus(); }
  UserStore* users() { return &users_; }
  WebhookStore* store() { return &store_; }

 private:
  testing::TempDir dir_;
  std::unique_ptr<sqlite::Database> db_;
  sqlite::SqliteUserStore users_;
  sqlite::SqliteWebhookStore store_;
};

class PgWebhookFactory {
 public:
  PgWebhookFactory() : users_(db_.pool()), store_(db_.pool()) {}
  absl::Status available() const { return db_.status(); }
  UserStore* users() { return &users_; }
  WebhookStore* store() { return &store_; }

 private:
  testing::PgTestDatabase db_;
  postgres::PgUserStore users_;
  postgres::PgWebhookStore store_;
};

template <typename Factory>
class WebhookStoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SMSGW_REQUIRE_DATABASE(factory_.available());
    ann_ = testing::AddTestUser(*factory_.users(), "ann", kNow);
    bob_ = testing::AddTestUser(*factory_.users(), "bob", kNow);
  }

  WebhookStore* store() { return factory_.store(); }

  WebhookEndpoint Make(int64_t owner, int64_t cursor = 7) {
    WebhookEndpoint e;
    e.owner_id = owner;
    e.url = "https://example.com/hook";
    e.event_types = {"message.created", "opt_out.changed"};
    e.secret = "whsec_AAAA";
    e.delivered_cursor = cursor;
    e.create_time = kNow;
    return e;
  }

  WebhookDeliveryRecord Record(int64_t endpoint, int64_t cursor, bool ok) {
    WebhookDeliveryRecord r;
    r.endpoint_id = endpoint;
    r.webhook_id = absl::StrCat("msg_", endpoint, "_", cursor);
    r.event_type = "message.created";
    r.cursor = cursor;
    r.attempt = 1;
    r.http_status = ok ? 200 : 500;
    r.error = ok ? "" : "HTTP 500";
    r.success = ok;
    r.duration = absl::Milliseconds(12);
    r.attempt_time = kNow;
    return r;
  }

  Factory factory_;
  int64_t ann_ = 0;
  int64_t bob_ = 0;
};

using Factories = ::testing::Types<SqliteWebhookFactory, PgWebhookFactory>;
TYPED_TEST_SUITE(WebhookStoreContractTest, Factories);

TYPED_TEST(WebhookStoreContractTest, CreateGetListRoundTripAndOwnersAreApart) {
  absl::StatusOr<WebhookEndpoint> e =
      this->store()->Create(this->Make(this->ann_), 20);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_GT(e->id, 0);
  EXPECT_EQ(e->event_types,
            (std::vector<std::string>{"message.created", "opt_out.changed"}));
  EXPECT_EQ(e->delivered_cursor, 7);
  EXPECT_TRUE(e->enabled);
  EXPECT_EQ(e->create_time, kNow);
  EXPECT_TRUE(this->store()->Get(this->ann_, e->id).ok());
  EXPECT_EQ(this->store()->Get(this->bob_, e->id).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store()->Delete(this->bob_, e->id).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store()->ListByOwner(this->ann_)->size(), 1u);
  EXPECT_EQ(this->store()->ListByOwner(this->bob_)->size(), 0u);
  EXPECT_EQ(this->store()->Create(this->Make(999), 20).status().code(),
            absl::StatusCode::kNotFound);
}

TYPED_TEST(WebhookStoreContractTest, ThePerOwnerLimitIsResourceExhausted) {
  ASSERT_TRUE(this->store()->Create(this->Make(this->ann_), 2).ok());
  ASSERT_TRUE(this->store()->Create(this->Make(this->ann_), 2).ok());
  EXPECT_EQ(this->store()->Create(this->Make(this->ann_), 2).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(
      this->store()->Create(this->Make(this->bob_), 2).ok());  // per owner
}

TYPED_TEST(WebhookStoreContractTest,
           FailuresKeepTheCursorDisableAndEnableResumes) {
  const int64_t id = this->store()->Create(this->Make(this->ann_), 20)->id;
  WebhookStore::AttemptOutcome fail;
  fail.attempts = 1;
  fail.first_failure_time = kNow;
  fail.next_attempt_time = kNow + absl::Seconds(5);
  ASSERT_TRUE(
      this->store()->RecordAttempt(this->Record(id, 9, false), fail).ok());
  WebhookEndpoint e = *this->store()->Get(this->ann_, id);
  EXPECT_EQ(e.delivered_cursor, 7);
  EXPECT_EQ(e.attempts, 1);
  EXPECT_EQ(e.next_attempt_time, kNow + absl::Seconds(5));
  fail.attempts = 2;
  fail.disable_reason = "HTTP 500 for 24h";
  ASSERT_TRUE(
      this->store()->RecordAttempt(this->Record(id, 9, false), fail).ok());
  e = *this->store()->Get(this->ann_, id);
  EXPECT_FALSE(e.enabled);
  EXPECT_EQ(e.disabled_reason, "HTTP 500 for 24h");
  EXPECT_EQ(e.delivered_cursor, 7);
  EXPECT_TRUE(this->store()->ListEnabled()->empty());
  e = *this->store()->Enable(this->ann_, id);
  EXPECT_TRUE(e.enabled);
  EXPECT_EQ(e.disabled_reason, "");
  EXPECT_EQ(e.attempts, 0);
  EXPECT_EQ(e.next_attempt_time, std::nullopt);
  EXPECT_EQ(e.delivered_cursor, 7);  // resumes with the same event
  EXPECT_EQ(this->store()->Enable(this->bob_, id).status().code(),
            absl::StatusCode::kNotFound);
}

TYPED_TEST(WebhookStoreContractTest, SuccessAdvancesOnlyWhenItCompletesTheRow) {
  const int64_t id = this->store()->Create(this->Make(this->ann_), 20)->id;
  WebhookStore::AttemptOutcome partial;  // advance = false
  ASSERT_TRUE(
      this->store()->RecordAttempt(this->Record(id, 9, true), partial).ok());
  EXPECT_EQ(this->store()->Get(this->ann_, id)->delivered_cursor, 7);
  WebhookStore::AttemptOutcome done;
  done.advance = true;
  ASSERT_TRUE(
      this->store()->RecordAttempt(this->Record(id, 9, true), done).ok());
  EXPECT_EQ(this->store()->Get(this->ann_, id)->delivered_cursor, 9);
  ASSERT_TRUE(this->store()->AdvanceCursor(id, 5).ok());  // never backwards
  EXPECT_EQ(this->store()->Get(this->ann_, id)->delivered_cursor, 9);
  ASSERT_TRUE(this->store()->AdvanceCursor(id, 12).ok());
  EXPECT_EQ(this->store()->Get(this->ann_, id)->delivered_cursor, 12);
}

TYPED_TEST(WebhookStoreContractTest, TheLogKeepsTheLast100NewestFirst) {
  const int64_t id = this->store()->Create(this->Make(this->ann_), 20)->id;
  WebhookStore::AttemptOutcome done;
  done.advance = true;
  for (int i = 1; i <= 130; ++i) {
    ASSERT_TRUE(
        this->store()->RecordAttempt(this->Record(id, i, true), done).ok());
  }
  absl::StatusOr<std::vector<WebhookDeliveryRecord>> log =
      this->store()->ListDeliveries(id, 1000);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 100u);
  EXPECT_EQ(log->front().cursor, 130);
  EXPECT_EQ(log->back().cursor, 31);
  EXPECT_EQ(log->front().duration, absl::Milliseconds(12));
  EXPECT_EQ(this->store()->ListDeliveries(id, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TYPED_TEST(WebhookStoreContractTest,
           RotationKeepsThePreviousSecretAndDeleteCascades) {
  const int64_t id = this->store()->Create(this->Make(this->ann_), 20)->id;
  WebhookEndpoint e = *this->store()->RotateSecret(this->ann_, id, "whsec_BBBB",
                                                   kNow + absl::Hours(24));
  EXPECT_EQ(e.secret, "whsec_BBBB");
  EXPECT_EQ(e.previous_secret, "whsec_AAAA");
  EXPECT_EQ(e.previous_secret_expire_time, kNow + absl::Hours(24));
  ASSERT_TRUE(this->store()->RecordAttempt(this->Record(id, 9, true), {}).ok());
  ASSERT_TRUE(this->store()->Delete(this->ann_, id).ok());
  EXPECT_TRUE(this->store()->ListDeliveries(id, 10)->empty());
  EXPECT_EQ(this->store()->RecordAttempt(this->Record(id, 10, true), {}).code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace smsgw::storage

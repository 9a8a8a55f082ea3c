// SqliteWebhookStore (storage/webhook_store.h) on a real migrated file.
#include "storage/sqlite/sqlite_webhook_store.h"

#include <memory>

#include "gtest/gtest.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/testing/sqlite_test_db.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::storage::sqlite {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

class SqliteWebhookStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::OpenTestDatabase(dir_, /*synchronous_full=*/false);
    ASSERT_NE(db_, nullptr);
    users_ = std::make_unique<SqliteUserStore>(db_.get());
    store_ = std::make_unique<SqliteWebhookStore>(db_.get());
    ann_ = testing::AddTestUser(*users_, "ann", kNow);
    bob_ = testing::AddTestUser(*users_, "bob", kNow);
  }

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

  testing::TempDir dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<SqliteUserStore> users_;
  std::unique_ptr<SqliteWebhookStore> store_;
  int64_t ann_ = 0;
  int64_t bob_ = 0;
};

TEST_F(SqliteWebhookStoreTest, CreateGetListRoundTripAndOwnersAreApart) {
  absl::StatusOr<WebhookEndpoint> e = store_->Create(Make(ann_), 20);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_GT(e->id, 0);
  EXPECT_EQ(e->event_types,
            (std::vector<std::string>{"message.created", "opt_out.changed"}));
  EXPECT_EQ(e->delivered_cursor, 7);
  EXPECT_TRUE(e->enabled);
  EXPECT_EQ(e->create_time, kNow);
  EXPECT_TRUE(store_->Get(ann_, e->id).ok());
  EXPECT_EQ(store_->Get(bob_, e->id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete(bob_, e->id).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->ListByOwner(ann_)->size(), 1u);
  EXPECT_EQ(store_->ListByOwner(bob_)->size(), 0u);
  EXPECT_EQ(store_->Create(Make(999), 20).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(SqliteWebhookStoreTest, ThePerOwnerLimitIsResourceExhausted) {
  ASSERT_TRUE(store_->Create(Make(ann_), 2).ok());
  ASSERT_TRUE(store_->Create(Make(ann_), 2).ok());
  EXPECT_EQ(store_->Create(Make(ann_), 2).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(store_->Create(Make(bob_), 2).ok());  // per owner
}

TEST_F(SqliteWebhookStoreTest, FailuresKeepTheCursorDisableAndEnableResumes) {
  const int64_t id = store_->Create(Make(ann_), 20)->id;
  WebhookStore::AttemptOutcome fail;
  fail.attempts = 1;
  fail.first_failure_time = kNow;
  fail.next_attempt_time = kNow + absl::Seconds(5);
  ASSERT_TRUE(store_->RecordAttempt(Record(id, 9, false), fail).ok());
  WebhookEndpoint e = *store_->Get(ann_, id);
  EXPECT_EQ(e.delivered_cursor, 7);
  EXPECT_EQ(e.attempts, 1);
  EXPECT_EQ(e.next_attempt_time, kNow + absl::Seconds(5));
  fail.attempts = 2;
  fail.disable_reason = "HTTP 500 for 24h";
  ASSERT_TRUE(store_->RecordAttempt(Record(id, 9, false), fail).ok());
  e = *store_->Get(ann_, id);
  EXPECT_FALSE(e.enabled);
  EXPECT_EQ(e.disabled_reason, "HTTP 500 for 24h");
  EXPECT_EQ(e.delivered_cursor, 7);
  EXPECT_TRUE(store_->ListEnabled()->empty());
  e = *store_->Enable(ann_, id);
  EXPECT_TRUE(e.enabled);
  EXPECT_EQ(e.disabled_reason, "");
  EXPECT_EQ(e.attempts, 0);
  EXPECT_EQ(e.next_attempt_time, std::nullopt);
  EXPECT_EQ(e.delivered_cursor, 7);  // resumes with the same event
  EXPECT_EQ(store_->Enable(bob_, id).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SqliteWebhookStoreTest, SuccessAdvancesOnlyWhenItCompletesTheRow) {
  const int64_t id = store_->Create(Make(ann_), 20)->id;
  WebhookStore::AttemptOutcome partial;  // advance = false
  ASSERT_TRUE(store_->RecordAttempt(Record(id, 9, true), partial).ok());
  EXPECT_EQ(store_->Get(ann_, id)->delivered_cursor, 7);
  WebhookStore::AttemptOutcome done;
  done.advance = true;
  ASSERT_TRUE(store_->RecordAttempt(Record(id, 9, true), done).ok());
  EXPECT_EQ(store_->Get(ann_, id)->delivered_cursor, 9);
  ASSERT_TRUE(store_->AdvanceCursor(id, 5).ok());  // never backwards
  EXPECT_EQ(store_->Get(ann_, id)->delivered_cursor, 9);
  ASSERT_TRUE(store_->AdvanceCursor(id, 12).ok());
  EXPECT_EQ(store_->Get(ann_, id)->delivered_cursor, 12);
}

TEST_F(SqliteWebhookStoreTest, TheLogKeepsTheLast100NewestFirst) {
  const int64_t id = store_->Create(Make(ann_), 20)->id;
  WebhookStore::AttemptOutcome done;
  done.advance = true;
  for (int i = 1; i <= 130; ++i) {
    ASSERT_TRUE(store_->RecordAttempt(Record(id, i, true), done).ok());
  }
  absl::StatusOr<std::vector<WebhookDeliveryRecord>> log =
      store_->ListDeliveries(id, 1000);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->size(), 100u);
  EXPECT_EQ(log->front().cursor, 130);
  EXPECT_EQ(log->back().cursor, 31);
  EXPECT_EQ(log->front().duration, absl::Milliseconds(12));
  EXPECT_EQ(store_->ListDeliveries(id, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteWebhookStoreTest, RotationKeepsThePreviousSecretAndDeleteCascades) {
  const int64_t id = store_->Create(Make(ann_), 20)->id;
  WebhookEndpoint e =
      *store_->RotateSecret(ann_, id, "whsec_BBBB", kNow + absl::Hours(24));
  EXPECT_EQ(e.secret, "whsec_BBBB");
  EXPECT_EQ(e.previous_secret, "whsec_AAAA");
  EXPECT_EQ(e.previous_secret_expire_time, kNow + absl::Hours(24));
  ASSERT_TRUE(store_->RecordAttempt(Record(id, 9, true), {}).ok());
  ASSERT_TRUE(store_->Delete(ann_, id).ok());
  EXPECT_TRUE(store_->ListDeliveries(id, 10)->empty());
  EXPECT_EQ(store_->RecordAttempt(Record(id, 10, true), {}).code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace smsgw::storage::sqlite

// The watch feed of SqliteMessageStore: ListFeed(), LatestFeedCursor() and
// the commit listener that wakes watchers.
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/message_store.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/testing/sqlite_test_db.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::storage {
namespace {

using ::testing::ElementsAre;

constexpr char kOurNumber[] = "+15005550006";
constexpr char kPeer[] = "+14155550100";
const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

class SqliteMessageStoreFeedTest : public testing::SqliteStoresTest {
 protected:
  SqliteMessageStoreFeedTest() : SqliteStoresTest(kT0 + absl::Hours(1)) {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(OpenStores());
    ann_ = AddUser("ann");
    bob_ = AddUser("bob");
  }

  int64_t AddUser(const std::string& name) {
    return testing::AddTestUser(*users_, name, kT0);
  }

  Message Create(const std::string& id, int64_t owner,
                 const std::string& conversation = kPeer) {
    Message m = testing::PendingOutbound(id, owner, conversation, kOurNumber,
                                         kPeer, kT0);
    absl::StatusOr<CreateResult> created = store_->CreateOutbound(m, {});
    EXPECT_THAT(created, IsOk());
    return m;
  }

  void Apply(const std::string& id, MessageStatus status) {
    StatusUpdate update;
    update.status = status;
    update.source = ReportSource::kStatusCallback;
    update.event_time = kT0 + absl::Minutes(1);
    EXPECT_THAT(store_->ApplyStatus(id, update), IsOk());
  }

  std::vector<FeedEvent> Feed(int64_t owner, int64_t after = 0) {
    absl::StatusOr<std::vector<FeedEvent>> feed =
        store_->ListFeed(owner, after, 100);
    EXPECT_THAT(feed, IsOk());
    return feed.ok() ? *feed : std::vector<FeedEvent>{};
  }

  static std::vector<std::string> Ids(const std::vector<FeedEvent>& feed) {
    std::vector<std::string> ids;
    for (const FeedEvent& e : feed) ids.push_back(e.message_id);
    return ids;
  }

  int64_t ann_ = 0;
  int64_t bob_ = 0;
};

TEST_F(SqliteMessageStoreFeedTest, ListFeedReturnsTheOwnersRowsAfterTheCursorOldestFirst) {
  Create("a1", ann_);
  Create("b1", bob_);
  Create("a2", ann_);
  Create("a3", ann_);
  std::vector<FeedEvent> all = Feed(ann_);
  ASSERT_THAT(Ids(all), ElementsAre("a1", "a2", "a3"));
  EXPECT_LT(all[0].cursor, all[1].cursor);
  EXPECT_LT(all[1].cursor, all[2].cursor);
  EXPECT_EQ(all[0].type, FeedEventType::kCreated);
  EXPECT_EQ(all[0].owner_id, ann_);
  EXPECT_EQ(all[0].event_time, kT0);
  EXPECT_THAT(Ids(Feed(ann_, all[0].cursor)), ElementsAre("a2", "a3"));
  EXPECT_THAT(Feed(ann_, all[2].cursor), ::testing::IsEmpty());
  EXPECT_THAT(Ids(Feed(bob_)), ElementsAre("b1"));

  absl::StatusOr<std::vector<FeedEvent>> limited = store_->ListFeed(ann_, 0, 2);
  ASSERT_THAT(limited, IsOk());
  EXPECT_THAT(Ids(*limited), ElementsAre("a1", "a2"));
}

TEST_F(SqliteMessageStoreFeedTest, ListFeedRejectsALimitBelowOne) {
  EXPECT_THAT(store_->ListFeed(ann_, 0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SqliteMessageStoreFeedTest, RowsKeepTheStatusRightAfterTheirEvent) {
  Create("a1", ann_);
  Apply("a1", MessageStatus::kQueued);
  Apply("a1", MessageStatus::kDelivered);
  std::vector<FeedEvent> feed = Feed(ann_);
  ASSERT_THAT(feed, ::testing::SizeIs(3));
  EXPECT_EQ(feed[0].status, MessageStatus::kPending);
  EXPECT_EQ(feed[1].type, FeedEventType::kStatusChanged);
  EXPECT_EQ(feed[1].status, MessageStatus::kQueued);
  EXPECT_EQ(feed[2].status, MessageStatus::kDelivered);
  // The joined message is the message as it is now.
  ASSERT_TRUE(feed[0].message.has_value());
  EXPECT_EQ(feed[0].message->status, MessageStatus::kDelivered);
  EXPECT_EQ(feed[0].message->body, "body of a1");
  EXPECT_EQ(feed[0].message->owner_username, "ann");
  EXPECT_EQ(feed[0].conversation_id, kPeer);
}

TEST_F(SqliteMessageStoreFeedTest, DeletedEventsStillNameTheMessageAndItsConversation) {
  Create("a1", ann_, "thread-1");
  Create("a2", ann_, "thread-2");
  Create("a3", ann_, "thread-2");
  ASSERT_THAT(store_->Delete("a1"), IsOk());
  ASSERT_THAT(store_->DeleteAll(ann_, std::string("thread-2")), IsOk());
  std::vector<FeedEvent> feed = Feed(ann_);
  ASSERT_THAT(Ids(feed), ElementsAre("a1", "a2", "a3", "a1", "a2", "a3"));
  for (int i = 3; i < 6; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(feed[i].type, FeedEventType::kDeleted);
    EXPECT_FALSE(feed[i].message.has_value());
    EXPECT_EQ(feed[i].status, MessageStatus::kPending);
    EXPECT_EQ(feed[i].owner_id, ann_);
  }
  EXPECT_EQ(feed[3].conversation_id, "thread-1");
  EXPECT_EQ(feed[4].conversation_id, "thread-2");
  EXPECT_EQ(feed[5].conversation_id, "thread-2");
  // The CREATED rows outlive their messages too.
  EXPECT_FALSE(feed[0].message.has_value());
  EXPECT_EQ(feed[0].conversation_id, "thread-1");
}

TEST_F(SqliteMessageStoreFeedTest, LatestFeedCursorIsZeroWhenEmptyThenTheHighestOfAnyOwner) {
  absl::StatusOr<int64_t> empty = store_->LatestFeedCursor();
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(*empty, 0);
  Create("a1", ann_);
  Create("b1", bob_);
  absl::StatusOr<int64_t> latest = store_->LatestFeedCursor();
  ASSERT_THAT(latest, IsOk());
  EXPECT_EQ(*latest, Feed(bob_).back().cursor);
  // Deleting everything does not make cursors go back.
  ASSERT_THAT(store_->DeleteAll(ann_, std::nullopt), IsOk());
  ASSERT_THAT(store_->DeleteAll(bob_, std::nullopt), IsOk());
  absl::StatusOr<int64_t> after = store_->LatestFeedCursor();
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(*after, *latest + 2);
}

TEST_F(SqliteMessageStoreFeedTest, ListenerHearsOfEachCommittedFeedWriteAfterTheCommit) {
  absl::Mutex mu;
  std::vector<int64_t> heard;
  std::vector<bool> visible;
  std::vector<std::vector<int64_t>> owners;
  store_->SetFeedListener([&](int64_t cursor,
                              const std::vector<int64_t>& owner_ids) {
    // A reader connection sees the row: the transaction has committed.
    absl::StatusOr<std::vector<FeedEvent>> rows =
        store_->ListFeed(ann_, cursor - 1, 1);
    absl::MutexLock lock(&mu);
    heard.push_back(cursor);
    owners.push_back(owner_ids);
    visible.push_back(rows.ok() && !rows->empty() &&
                      rows->front().cursor == cursor);
  });
  Create("a1", ann_);
  Apply("a1", MessageStatus::kQueued);
  ASSERT_THAT(store_->Delete("a1"), IsOk());
  std::vector<FeedEvent> feed = Feed(ann_);
  ASSERT_THAT(feed, ::testing::SizeIs(3));
  absl::MutexLock lock(&mu);
  EXPECT_THAT(heard, ElementsAre(feed[0].cursor, feed[1].cursor,
                                 feed[2].cursor));
  EXPECT_THAT(visible, ElementsAre(true, true, true));
  // Each call names the owner whose feed grew, and only that owner.
  for (const std::vector<int64_t>& o : owners) EXPECT_THAT(o, ElementsAre(ann_));
}

TEST_F(SqliteMessageStoreFeedTest, ListenerIsNotCalledForRolledBackOrFeedlessWrites) {
  Create("a1", ann_);
  int calls = 0;
  store_->SetFeedListener(
      [&](int64_t, const std::vector<int64_t>&) { ++calls; });
  Message duplicate;
  duplicate.id = "a1";
  duplicate.owner_id = ann_;
  duplicate.direction = Direction::kOutbound;
  duplicate.status = MessageStatus::kPending;
  duplicate.to = duplicate.peer_number = kPeer;
  EXPECT_THAT(store_->CreateOutbound(duplicate, {}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  StatusUpdate attempt;
  attempt.source = ReportSource::kDispatchAttempt;
  attempt.event_time = kT0;
  EXPECT_THAT(store_->RecordRetry("a1", attempt, kT0 + absl::Minutes(1)),
              IsOk());
  EXPECT_THAT(store_->Delete("missing"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(calls, 0);
  // A bulk delete is one transaction: one call, with its last cursor.
  Create("a2", ann_);
  Create("a3", ann_);
  calls = 0;
  int64_t last = 0;
  std::vector<int64_t> bulk_owners;
  store_->SetFeedListener([&](int64_t cursor, const std::vector<int64_t>& o) {
    ++calls;
    last = cursor;
    bulk_owners = o;
  });
  ASSERT_THAT(store_->DeleteAll(ann_, std::nullopt), IsOk());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(last, Feed(ann_).back().cursor);
  EXPECT_THAT(bulk_owners, ElementsAre(ann_));
  store_->SetFeedListener(nullptr);
  Create("a4", ann_);  // no listener: nothing to call
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace smsgw::storage

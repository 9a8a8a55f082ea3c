// MessageWatchHub against the real SQLite store: events as they commit, replay
// from a cursor, filters, limits, slow readers and shutdown.
#include "server/domain/message_watch_hub.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/testing/sqlite_test_db.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::domain {
namespace {

using ::smsgw::storage::FeedEventType;
using ::smsgw::storage::MessageStatus;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kOurNumber[] = "+15005550006";
constexpr char kPeer[] = "+14155550100";
const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);
constexpr absl::Duration kWait = absl::Seconds(10);

// A sink that either takes every event as soon as it is told of one (like a
// fast client) or takes them only when the test says so (a stalled one).
class RecordingSink : public WatchSink {
 public:
  explicit RecordingSink(bool auto_pull) : auto_pull_(auto_pull) {}

  // Kept weakly: the watch holds its sink until Close(), so a strong
  // reference back would be a cycle that leaks both when a test does not
  // close (LeakSanitizer in the ASan build).
  void set_watch(const std::shared_ptr<MessageWatch>& watch) {
    {
      absl::MutexLock lock(&mu_);
      watch_ = watch;
    }
    if (auto_pull_) Drain();
  }

  void OnEventsAvailable() override {
    if (auto_pull_) Drain();
  }
  void OnWatchEnded(const absl::Status& status) override {
    absl::MutexLock lock(&mu_);
    ++ended_calls_;
    ended_ = status;
  }

  // Takes what is buffered now.
  void Drain() {
    std::shared_ptr<MessageWatch> watch;
    {
      absl::MutexLock lock(&mu_);
      watch = watch_.lock();
    }
    if (watch == nullptr) return;
    while (std::optional<WatchEvent> event = watch->Next()) {
      absl::MutexLock lock(&mu_);
      events_.push_back(*std::move(event));
    }
  }

  // Waits until `n` events were taken; returns them all.
  std::vector<WatchEvent> WaitForEvents(size_t n) {
    std::pair<RecordingSink*, size_t> arg(this, n);
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](std::pair<RecordingSink*, size_t>* arg) {
                               return arg->first->events_.size() >= arg->second;
                             },
                             &arg),
                         kWait);
    return events_;
  }

  std::optional<absl::Status> WaitForEnd() {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](RecordingSink* sink) {
                               return sink->ended_.has_value();
                             },
                             this),
                         kWait);
    return ended_;
  }

  std::vector<WatchEvent> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  std::optional<absl::Status> ended() {
    absl::MutexLock lock(&mu_);
    return ended_;
  }
  int ended_calls() {
    absl::MutexLock lock(&mu_);
    return ended_calls_;
  }

 private:
  const bool auto_pull_;
  absl::Mutex mu_;
  std::weak_ptr<MessageWatch> watch_;
  std::vector<WatchEvent> events_;
  std::optional<absl::Status> ended_;
  int ended_calls_ = 0;
};

std::vector<std::string> Ids(const std::vector<WatchEvent>& events) {
  std::vector<std::string> ids;
  for (const WatchEvent& e : events) ids.push_back(e.message.id);
  return ids;
}

std::vector<FeedEventType> Types(const std::vector<WatchEvent>& events) {
  std::vector<FeedEventType> types;
  for (const WatchEvent& e : events) types.push_back(e.type);
  return types;
}

class MessageWatchHubTest : public testing::SqliteStoresTest {
 protected:
  MessageWatchHubTest() : SqliteStoresTest(kT0 + absl::Hours(1)) {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(OpenStores(/*synchronous_full=*/false));
    ann_ = AddUser("ann");
    bob_ = AddUser("bob");
  }

  void TearDown() override { hub_.reset(); }

  void StartHub(MessageWatchHub::Options options = {}) {
    hub_ = std::make_unique<MessageWatchHub>(store_.get(), &clock_, options);
  }

  storage::User AddUser(const std::string& name) {
    storage::User user;
    user.username = name;
    user.password_hash = "$argon2id$fake";
    user.create_time = user.update_time = kT0;
    absl::StatusOr<storage::User> stored = users_->Insert(user);
    EXPECT_THAT(stored, IsOk());
    return stored.ok() ? *stored : user;
  }

  void Create(const std::string& id, const storage::User& owner,
              const std::string& conversation = kPeer) {
    ASSERT_THAT(store_->CreateOutbound(
                    testing::PendingOutbound(id, owner.id, conversation,
                                             kOurNumber, kPeer, kT0),
                    {}),
                IsOk());
  }

  void Apply(const std::string& id, MessageStatus status) {
    storage::StatusUpdate update;
    update.status = status;
    update.source = storage::ReportSource::kStatusCallback;
    update.event_time = kT0 + absl::Minutes(1);
    ASSERT_THAT(store_->ApplyStatus(id, update), IsOk());
  }

  // Opens a watch delivering to a new sink.
  std::pair<std::shared_ptr<MessageWatch>, std::shared_ptr<RecordingSink>>
  Open(const storage::User& user, WatchRequest request = {},
       bool auto_pull = true) {
    auto sink = std::make_shared<RecordingSink>(auto_pull);
    absl::StatusOr<std::shared_ptr<MessageWatch>> watch =
        hub_->Watch(user, request, sink);
    EXPECT_THAT(watch, IsOk());
    if (!watch.ok()) return {nullptr, sink};
    sink->set_watch(*watch);
    return {*watch, sink};
  }

  std::unique_ptr<MessageWatchHub> hub_;
  storage::User ann_;
  storage::User bob_;
};

TEST(ParseWatchCursorTest, AcceptsPlainDecimals) {
  const std::pair<const char*, int64_t> cases[] = {
      {"0", 0}, {"7", 7}, {"42", 42}, {"9223372036854775807", INT64_MAX}};
  for (const auto& [text, want] : cases) {
    SCOPED_TRACE(text);
    absl::StatusOr<int64_t> got = ParseWatchCursor(text);
    ASSERT_THAT(got, IsOk());
    EXPECT_EQ(*got, want);
    EXPECT_EQ(FormatWatchCursor(want), text);
  }
}

TEST(ParseWatchCursorTest, RejectsEverythingElse) {
  const char* cases[] = {"",   "-1",  "+1",  " 1",  "1 ",   "01",
                         "00", "1a",  "0x1", "1.0", "1e3",  "\xef\xbc\x91",
                         "9223372036854775808", "99999999999999999999"};
  for (const char* text : cases) {
    SCOPED_TRACE(text);
    EXPECT_THAT(ParseWatchCursor(text),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("after_cursor")));
  }
}

TEST_F(MessageWatchHubTest, DeliversCreatedStatusChangedAndDeletedInCommitOrder) {
  StartHub();
  auto [watch, sink] = Open(ann_);
  Create("m1", ann_);
  Apply("m1", MessageStatus::kQueued);
  Apply("m1", MessageStatus::kDelivered);
  ASSERT_THAT(store_->Delete("m1"), IsOk());
  std::vector<WatchEvent> events = sink->WaitForEvents(4);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_THAT(Types(events),
              ElementsAre(FeedEventType::kCreated, FeedEventType::kStatusChanged,
                          FeedEventType::kStatusChanged,
                          FeedEventType::kDeleted));
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_LT(events[i - 1].cursor, events[i].cursor);
  }
  EXPECT_EQ(events[1].message.status, MessageStatus::kQueued);
  EXPECT_EQ(events[2].message.status, MessageStatus::kDelivered);
  EXPECT_EQ(events[2].event_time, kT0 + absl::Minutes(1));
  const storage::Message& deleted = events[3].message;
  EXPECT_EQ(deleted.id, "m1");
  EXPECT_EQ(deleted.owner_id, ann_.id);
  EXPECT_EQ(deleted.owner_username, "ann");
  EXPECT_EQ(deleted.conversation_id, kPeer);
  EXPECT_EQ(deleted.status, MessageStatus::kDelivered);
  EXPECT_TRUE(deleted.body.empty());
  EXPECT_EQ(watch->resume_cursor(), events[3].cursor);
}

TEST_F(MessageWatchHubTest, WithoutCursorOnlyEventsAfterTheCallArrive) {
  StartHub();
  Create("before", ann_);
  auto [watch, sink] = Open(ann_);
  Create("after", ann_);
  EXPECT_THAT(Ids(sink->WaitForEvents(1)), ElementsAre("after"));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_THAT(Ids(sink->events()), ElementsAre("after"));
}

TEST_F(MessageWatchHubTest, ResumingAfterACursorReplaysWhatWasMissedThenGoesLive) {
  StartHub();
  auto [first, first_sink] = Open(ann_);
  Create("m1", ann_);
  Create("m2", ann_);
  std::vector<WatchEvent> seen = first_sink->WaitForEvents(2);
  ASSERT_EQ(seen.size(), 2u);
  first->Close();
  Create("m3", ann_);
  Create("m4", ann_);
  Create("m5", ann_);
  EXPECT_THAT(Ids(first_sink->events()), ElementsAre("m1", "m2"));

  WatchRequest resume;
  resume.after_cursor = FormatWatchCursor(seen[1].cursor);
  auto [second, second_sink] = Open(ann_, resume);
  EXPECT_THAT(Ids(second_sink->WaitForEvents(3)),
              ElementsAre("m3", "m4", "m5"));
  Create("m6", ann_);
  std::vector<WatchEvent> all = second_sink->WaitForEvents(4);
  EXPECT_THAT(Ids(all), ElementsAre("m3", "m4", "m5", "m6"));
  EXPECT_GT(all[0].cursor, seen[1].cursor);
}

TEST_F(MessageWatchHubTest, ReplayedStatusChangesCarryTheStatusOfTheirMoment) {
  StartHub();
  Create("m1", ann_);
  Apply("m1", MessageStatus::kQueued);
  Apply("m1", MessageStatus::kSent);
  WatchRequest from_start;
  from_start.after_cursor = "0";
  auto [watch, sink] = Open(ann_, from_start);
  std::vector<WatchEvent> events = sink->WaitForEvents(3);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].message.status, MessageStatus::kPending);
  EXPECT_EQ(events[1].message.status, MessageStatus::kQueued);
  EXPECT_EQ(events[2].message.status, MessageStatus::kSent);
  EXPECT_EQ(events[0].message.body, "body of m1");
}

TEST_F(MessageWatchHubTest, FiltersByConversationDeletionsIncluded) {
  StartHub();
  Create("seed", ann_, "thread-a");
  WatchRequest request;
  request.conversation_id = "thread-a";
  auto [watch, sink] = Open(ann_, request);
  Create("b1", ann_, "thread-b");
  Create("a1", ann_, "thread-a");
  Create("b2", ann_, "thread-b");
  ASSERT_THAT(store_->Delete("b1"), IsOk());
  ASSERT_THAT(store_->Delete("a1"), IsOk());
  std::vector<WatchEvent> events = sink->WaitForEvents(2);
  EXPECT_THAT(Ids(events), ElementsAre("a1", "a1"));
  EXPECT_THAT(Types(events),
              ElementsAre(FeedEventType::kCreated, FeedEventType::kDeleted));
  EXPECT_EQ(events[1].message.conversation_id, "thread-a");
}

TEST_F(MessageWatchHubTest, AnotherUsersEventsNeverArrive) {
  StartHub();
  auto [watch, sink] = Open(ann_);
  Create("bob1", bob_);
  Create("ann1", ann_);
  Create("bob2", bob_);
  ASSERT_THAT(store_->Delete("bob1"), IsOk());
  Create("ann2", ann_);
  EXPECT_THAT(Ids(sink->WaitForEvents(2)), ElementsAre("ann1", "ann2"));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_THAT(Ids(sink->events()), ElementsAre("ann1", "ann2"));
}

TEST_F(MessageWatchHubTest, RefusesBadCursorsAndConversations) {
  StartHub();
  Create("m1", ann_, "thread-a");
  const absl::StatusOr<int64_t> latest = store_->LatestFeedCursor();
  ASSERT_THAT(latest, IsOk());
  struct Case {
    WatchRequest request;
    absl::StatusCode code;
    const char* says;
  };
  const Case cases[] = {
      {{"", "abc"}, absl::StatusCode::kInvalidArgument, "malformed"},
      {{"", "-5"}, absl::StatusCode::kInvalidArgument, "malformed"},
      {{"", absl::StrCat(*latest + 1)},
       absl::StatusCode::kInvalidArgument,
       "ahead of the newest event"},
      {{"bad id!", ""}, absl::StatusCode::kInvalidArgument, "conversation_id"},
      {{std::string(129, 'x'), ""},
       absl::StatusCode::kInvalidArgument,
       "conversation_id"},
      {{"thread-b", ""}, absl::StatusCode::kNotFound, "no conversation"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.says);
    EXPECT_THAT(hub_->Watch(ann_, c.request,
                            std::make_shared<RecordingSink>(true)),
                StatusIs(c.code, HasSubstr(c.says)));
  }
  // Bob has no "thread-a", whatever Ann has.
  EXPECT_THAT(hub_->Watch(bob_, {"thread-a", ""},
                          std::make_shared<RecordingSink>(true)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(hub_->open_watches(), 0);
}

TEST_F(MessageWatchHubTest, LimitsOpenWatchesPerUser) {
  MessageWatchHub::Options options;
  options.max_streams_per_user = 2;
  StartHub(options);
  auto [w1, s1] = Open(ann_);
  auto [w2, s2] = Open(ann_);
  EXPECT_THAT(hub_->Watch(ann_, {}, std::make_shared<RecordingSink>(true)),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("too many open WatchMessages streams")));
  auto [bob_watch, bob_sink] = Open(bob_);  // others are not affected
  w1->Close();
  w1->Close();  // idempotent
  auto [w3, s3] = Open(ann_);
  EXPECT_NE(w3, nullptr);
  EXPECT_EQ(hub_->open_watches(), 3);
}

TEST_F(MessageWatchHubTest, ClosedWatchesGetNothingMore) {
  StartHub();
  auto [watch, sink] = Open(ann_);
  Create("m1", ann_);
  sink->WaitForEvents(1);
  watch->Close();
  Create("m2", ann_);
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_THAT(Ids(sink->events()), ElementsAre("m1"));
  EXPECT_FALSE(watch->Next().has_value());
  EXPECT_EQ(hub_->open_watches(), 0);
}

TEST_F(MessageWatchHubTest, BurstsLargerThanTheBufferArePacedByTheReader) {
  MessageWatchHub::Options options;
  options.buffer_size = 3;
  options.fetch_batch = 2;
  options.slow_reader_grace = absl::Hours(1);
  StartHub(options);
  auto [watch, sink] = Open(ann_, {}, /*auto_pull=*/false);
  std::vector<std::string> want;
  for (int i = 0; i < 20; ++i) {
    want.push_back(absl::StrCat("m", i));
    Create(want.back(), ann_);
  }
  ASSERT_THAT(store_->DeleteAll(ann_.id, std::nullopt), IsOk());
  for (int i = 0; i < 20; ++i) want.push_back(absl::StrCat("m", i));
  const absl::Time give_up = absl::Now() + kWait;
  while (sink->events().size() < want.size() && absl::Now() < give_up) {
    EXPECT_LE(watch->buffered(), 3u);
    sink->Drain();
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(Ids(sink->events()), want);
  EXPECT_FALSE(sink->ended().has_value());
}

TEST_F(MessageWatchHubTest, AReaderThatTakesNothingOverflowsWithItsResumeCursor) {
  MessageWatchHub::Options options;
  options.buffer_size = 2;
  options.slow_reader_grace = absl::ZeroDuration();
  StartHub(options);
  auto [watch, sink] = Open(ann_, {}, /*auto_pull=*/false);
  Create("m1", ann_);
  Create("m2", ann_);
  // Take one; its cursor is where the client resumes.
  const absl::Time give_up = absl::Now() + kWait;
  std::optional<WatchEvent> first;
  while (!first.has_value() && absl::Now() < give_up) {
    first = watch->Next();
    if (!first.has_value()) absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_TRUE(first.has_value());
  Create("m3", ann_);
  Create("m4", ann_);
  std::optional<absl::Status> ended = sink->WaitForEnd();
  ASSERT_TRUE(ended.has_value());
  EXPECT_THAT(*ended,
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr(absl::StrCat("client too slow; resume with "
                                              "after_cursor=",
                                              first->cursor))));
  EXPECT_FALSE(watch->Next().has_value());
  EXPECT_EQ(sink->ended_calls(), 1);
}

TEST_F(MessageWatchHubTest, AFullBufferIsForgivenForTheGracePeriod) {
  MessageWatchHub::Options options;
  options.buffer_size = 2;
  options.slow_reader_grace = absl::Seconds(5);
  StartHub(options);
  auto [watch, sink] = Open(ann_, {}, /*auto_pull=*/false);
  Create("m1", ann_);
  Create("m2", ann_);
  Create("m3", ann_);  // does not fit: the grace period starts
  const absl::Time give_up = absl::Now() + kWait;
  while (watch->buffered() < 2 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  absl::SleepFor(absl::Milliseconds(100));  // let every fetch run
  Create("m4", ann_);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(sink->ended().has_value());

  clock_.Advance(absl::Seconds(6));
  Create("m5", ann_);
  std::optional<absl::Status> ended = sink->WaitForEnd();
  ASSERT_TRUE(ended.has_value());
  EXPECT_THAT(*ended, StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(MessageWatchHubTest, ManyWatchersAllGetEveryEvent) {
  MessageWatchHub::Options options;
  options.max_streams_per_user = 50;
  StartHub(options);
  std::vector<std::pair<std::shared_ptr<MessageWatch>,
                        std::shared_ptr<RecordingSink>>>
      watchers;
  for (int i = 0; i < 50; ++i) watchers.push_back(Open(ann_));
  std::vector<std::string> want;
  for (int i = 0; i < 20; ++i) {
    want.push_back(absl::StrCat("m", i));
    Create(want.back(), ann_);
  }
  for (auto& [watch, sink] : watchers) {
    EXPECT_EQ(Ids(sink->WaitForEvents(want.size())), want);
  }
}

TEST_F(MessageWatchHubTest, ShutdownEndsWatchesUnavailableAndRefusesNewOnes) {
  StartHub();
  auto [watch, sink] = Open(ann_);
  Create("m1", ann_);
  std::vector<WatchEvent> events = sink->WaitForEvents(1);
  ASSERT_EQ(events.size(), 1u);
  hub_->Shutdown();
  ASSERT_TRUE(sink->ended().has_value());
  EXPECT_THAT(*sink->ended(),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr(absl::StrCat("server shutting down; resume "
                                              "with after_cursor=",
                                              events[0].cursor))));
  EXPECT_THAT(hub_->Watch(ann_, {}, std::make_shared<RecordingSink>(true)),
              StatusIs(absl::StatusCode::kUnavailable));
  Create("m2", ann_);  // the store no longer calls the hub
  hub_->Shutdown();
  watch->Close();
  EXPECT_EQ(sink->ended_calls(), 1);
}

}  // namespace
}  // namespace smsgw::domain

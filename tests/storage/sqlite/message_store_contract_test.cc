// The MessageStore contract, run against every implementation: SQLite on a
// temp file and PostgreSQL on a fresh database of the throwaway test server. Engine-specific peeks (row counts, the feed, seeding an
// inbound message or an opt-out that the interface cannot create) live in
// the factory, so the tests themselves only speak MessageStore.
#include <algorithm>
#include <functional>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/status_macros.h"
#include "storage/message_store.h"
#include "storage/postgres/pg_message_store.h"
#include "storage/postgres/pg_user_store.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/pg_test_db.h"
#include "tests/testing/sqlite_test_db.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kAnnPhone[] = "+14155550100";
constexpr char kOurNumber[] = "+15005550006";
constexpr char kBobPhone[] = "+14155550111";
constexpr char kCarlPhone[] = "+14155550122";

// One watch-feed row as the factories' Feed() peeks read it.
struct FeedRow {
  int64_t owner_id;
  std::string message_id;
  FeedEventType type;
  absl::Time event_time;
};

class SqliteFileStoreFactory {
 public:
  SqliteFileStoreFactory() {
    db_ = testing::OpenTestDatabase(dir_);
    users_ = std::make_unique<sqlite::SqliteUserStore>(db_.get());
    store_ = std::make_unique<sqlite::SqliteMessageStore>(db_.get(), &clock_);
  }
  absl::Status available() const { return absl::OkStatus(); }
  MessageStore* store() { return store_.get(); }
  UserStore* users() { return users_.get(); }
  smsgw::testing::FakeClock& clock() { return clock_; }

  // Rows in `table` (a fixed name from this file).
  int64_t CountRows(const std::string& table) {
    int64_t count = -1;
    EXPECT_THAT(db_->Read([&](sqlite::Connection& conn) -> absl::Status {
      SMSGW_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          conn.Prepare(absl::StrCat("SELECT COUNT(*) FROM ", table)));
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (row) count = stmt.Int(0);
      return absl::OkStatus();
    }),
                IsOk());
    return count;
  }

  // The watch feed in order.
  std::vector<FeedRow> Feed() {
    std::vector<FeedRow> rows;
    EXPECT_THAT(db_->Read([&](sqlite::Connection& conn) -> absl::Status {
      SMSGW_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          conn.Prepare("SELECT owner_id, message_id, type, event_time"
                       " FROM message_feed ORDER BY cursor"));
      while (true) {
        SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        rows.push_back({stmt.Int(0), stmt.Text(1),
                        static_cast<FeedEventType>(stmt.Int(2)), stmt.Time(3)});
      }
      return absl::OkStatus();
    }),
                IsOk());
    return rows;
  }

  int64_t AddGroup(const std::string& name) {
    int64_t id = 0;
    EXPECT_THAT(db_->Write([&](sqlite::Connection& conn) -> absl::Status {
      SMSGW_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          conn.Prepare("INSERT INTO groups(name, create_time) VALUES (?, 0)"));
      SMSGW_RETURN_IF_ERROR(stmt.Bind(1, name).Run());
      id = conn.LastInsertRowId();
      return absl::OkStatus();
    }),
                IsOk());
    return id;
  }

  void AddOptOut(const std::string& peer, const std::string& our_number) {
    EXPECT_THAT(db_->Write([&](sqlite::Connection& conn) -> absl::Status {
      SMSGW_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          conn.Prepare("INSERT INTO opt_outs(peer_number, our_number, keyword,"
                       " create_time) VALUES (?, ?, 'STOP', 0)"));
      return stmt.Bind(1, peer).Bind(2, our_number).Run();
    }),
                IsOk());
  }

  // An inbound message, which MessageStore has no call to create yet;
  // owner_id 0 stores an unrouted one.
  void AddInbound(const std::string& id, int64_t owner_id,
                  const std::string& from, const std::string& body,
                  absl::Time time) {
    EXPECT_THAT(db_->Write([&](sqlite::Connection& conn) -> absl::Status {
      SMSGW_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          conn.Prepare("INSERT INTO messages(id, owner_id, direction,"
                       " from_number, to_number, peer_number, our_number,"
                       " body, status, create_time, update_time)"
                       " VALUES (?, ?, 2, ?, ?, ?, ?, ?, 10, ?, ?)"));
      stmt.Bind(1, id)
          .Bind(3, from)
          .Bind(4, kOurNumber)
          .Bind(5, from)
          .Bind(6, kOurNumber)
          .Bind(7, body)
          .Bind(8, time)
          .Bind(9, time);
      if (owner_id == 0) {
        stmt.BindNull(2);
      } else {
        stmt.Bind(2, owner_id);
      }
      return stmt.Run();
    }),
                IsOk());
  }

 private:
  smsgw::testing::TempDir dir_;
  smsgw::testing::FakeClock clock_{absl::FromUnixSeconds(1'900'000'000)};
  std::unique_ptr<sqlite::Database> db_;
  std::unique_ptr<UserStore> users_;
  std::unique_ptr<MessageStore> store_;
};


// PostgreSQL: the peeks as plain SQL on the test database.
class PostgresStoreFactory {
 public:
  using Params = storage::postgres::PgParams;

  PostgresStoreFactory() {
    if (!db_.status().ok()) return;
    users_ = std::make_unique<postgres::PgUserStore>(db_.pool());
    store_ = std::make_unique<postgres::PgMessageStore>(
        db_.pool(), &clock_, postgres::PgMessageStore::Options());
  }
  absl::Status available() const { return db_.status(); }
  MessageStore* store() { return store_.get(); }
  UserStore* users() { return users_.get(); }
  smsgw::testing::FakeClock& clock() { return clock_; }

  int64_t CountRows(const std::string& table) {
    int64_t count = -1;
    Run(absl::StrCat("SELECT COUNT(*) FROM ", table), {},
        [&](const postgres::PgResult& r) { count = r.Int(0, 0); });
    return count;
  }

  std::vector<FeedRow> Feed() {
    std::vector<FeedRow> rows;
    Run("SELECT owner_id, message_id, type, event_time FROM message_feed"
        " ORDER BY cursor",
        {}, [&](const postgres::PgResult& r) {
          for (int i = 0; i < r.rows(); ++i) {
            rows.push_back({r.Int(i, 0), r.Text(i, 1),
                            static_cast<FeedEventType>(r.Int(i, 2)),
                            r.Time(i, 3)});
          }
        });
    return rows;
  }

  int64_t AddGroup(const std::string& name) {
    int64_t id = 0;
    Run("INSERT INTO groups(name, create_time) VALUES ($1, 0) RETURNING id",
        {name}, [&](const postgres::PgResult& r) { id = r.Int(0, 0); });
    return id;
  }

  void AddOptOut(const std::string& peer, const std::string& our_number) {
    Run("INSERT INTO opt_outs(peer_number, our_number, keyword, create_time)"
        " VALUES ($1, $2, 'STOP', 0)",
        {peer, our_number}, [](const postgres::PgResult&) {});
  }

  void AddInbound(const std::string& id, int64_t owner_id,
                  const std::string& from, const std::string& body,
                  absl::Time time) {
    Run("INSERT INTO messages(id, owner_id, direction, from_number, to_number,"
        " peer_number, our_number, body, status, create_time, update_time)"
        " VALUES ($1, $2, 2, $3, $4, $3, $4, $5, 10, $6, $6)",
        {id,
         owner_id == 0 ? std::nullopt
                       : std::optional<std::string>(absl::StrCat(owner_id)),
         from, kOurNumber, body, postgres::PgTime(time)},
        [](const postgres::PgResult&) {});
  }

 private:
  void Run(const std::string& sql, const Params& params,
           const std::function<void(const postgres::PgResult&)>& read) {
    EXPECT_THAT(db_.pool()->WithConnection(
                    [&](postgres::PgConnection& c) -> absl::Status {
                      SMSGW_ASSIGN_OR_RETURN(postgres::PgResult r,
                                             c.Execute(sql, params));
                      read(r);
                      return absl::OkStatus();
                    }),
                IsOk());
  }

  smsgw::testing::FakeClock clock_{absl::FromUnixSeconds(1'900'000'000)};
  smsgw::testing::PgTestDatabase db_;
  std::unique_ptr<UserStore> users_;
  std::unique_ptr<MessageStore> store_;
};

const absl::Time kT0 = absl::FromUnixMicros(1'800'000'000'123'456);

template <typename Factory>
class MessageStoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SMSGW_REQUIRE_DATABASE(factory_.available());
    ann_ = AddUser("ann");
    bob_ = AddUser("bob");
  }

  MessageStore* store() { return factory_.store(); }

  int64_t AddUser(const std::string& name) {
    User user;
    user.username = name;
    user.password_hash = "$argon2id$fake";
    user.create_time = user.update_time = kT0;
    absl::StatusOr<User> stored = factory_.users()->Insert(user);
    EXPECT_THAT(stored, IsOk());
    return stored.ok() ? stored->id : 0;
  }

  // An outbound PENDING message of `owner` to `peer`, created `minutes`
  // after kT0, in conversation `conversation` (the peer by default).
  Message MakeMessage(const std::string& id, int64_t owner,
                      const std::string& peer, const std::string& body,
                      int minutes = 0, std::string conversation = "") {
    Message m;
    m.id = id;
    m.owner_id = owner;
    m.conversation_id = conversation.empty() ? peer : conversation;
    m.direction = Direction::kOutbound;
    m.from = kOurNumber;
    m.to = peer;
    m.peer_number = peer;
    m.our_number = kOurNumber;
    m.body = body;
    m.status = MessageStatus::kPending;
    m.num_segments = 1;
    m.encoding = Encoding::kGsm7;
    m.create_time = m.update_time = kT0 + absl::Minutes(minutes);
    return m;
  }

  Message Create(const Message& m) {
    absl::StatusOr<CreateResult> result = store()->CreateOutbound(m, {});
    EXPECT_THAT(result, IsOk());
    return result.ok() ? result->message : Message();
  }

  StatusUpdate Update(MessageStatus status, int seconds,
                      const std::string& sid = "") {
    StatusUpdate u;
    u.status = status;
    u.provider_sid = sid;
    u.source = ReportSource::kStatusCallback;
    u.http_status = 200;
    u.event_time = kT0 + absl::Hours(1) + absl::Seconds(seconds);
    return u;
  }

  // Creates an outbound message `id` of ann's and applies `status`
  // (carrying `sid`) at Update()'s time `seconds`.
  void CreateWithStatus(const std::string& id, MessageStatus status,
                        int seconds, const std::string& sid = "") {
    this->Create(this->MakeMessage(id, ann_, kBobPhone, "x", 0));
    EXPECT_THAT(this->store()->ApplyStatus(id, Update(status, seconds, sid)),
                IsOk());
  }

  std::vector<std::string> Ids(const std::vector<Message>& messages) {
    std::vector<std::string> ids;
    for (const Message& m : messages) ids.push_back(m.id);
    return ids;
  }

  std::vector<std::string> ListIds(MessageQuery query) {
    absl::StatusOr<std::vector<Message>> listed = store()->List(query);
    EXPECT_THAT(listed, IsOk());
    return listed.ok() ? Ids(*listed) : std::vector<std::string>{"<error>"};
  }

  MessageQuery OwnerQuery(int64_t owner) {
    MessageQuery q;
    q.owner_id = owner;
    return q;
  }

  Factory factory_;
  int64_t ann_ = 0;
  int64_t bob_ = 0;
};

using StoreFactories =
    ::testing::Types<SqliteFileStoreFactory, PostgresStoreFactory>;
TYPED_TEST_SUITE(MessageStoreContractTest, StoreFactories);

void ExpectSameMessage(const Message& got, const Message& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.owner_id, want.owner_id);
  EXPECT_EQ(got.conversation_id, want.conversation_id);
  EXPECT_EQ(got.group_id, want.group_id);
  EXPECT_EQ(got.group_name, want.group_name);
  EXPECT_EQ(static_cast<int>(got.direction), static_cast<int>(want.direction));
  EXPECT_EQ(got.from, want.from);
  EXPECT_EQ(got.to, want.to);
  EXPECT_EQ(got.peer_number, want.peer_number);
  EXPECT_EQ(got.our_number, want.our_number);
  EXPECT_EQ(got.messaging_service_sid, want.messaging_service_sid);
  EXPECT_EQ(got.body, want.body);
  EXPECT_EQ(got.media_urls, want.media_urls);
  EXPECT_EQ(got.media_content_types, want.media_content_types);
  EXPECT_EQ(static_cast<int>(got.status), static_cast<int>(want.status));
  EXPECT_EQ(got.provider_sid, want.provider_sid);
  EXPECT_EQ(got.error_code, want.error_code);
  EXPECT_EQ(got.error_message, want.error_message);
  EXPECT_EQ(got.num_segments, want.num_segments);
  EXPECT_EQ(static_cast<int>(got.encoding), static_cast<int>(want.encoding));
  EXPECT_EQ(got.price, want.price);
  EXPECT_EQ(got.price_unit, want.price_unit);
  EXPECT_EQ(got.idempotency_key, want.idempotency_key);
  EXPECT_EQ(got.attempts, want.attempts);
  EXPECT_EQ(got.next_attempt_time, want.next_attempt_time);
  EXPECT_EQ(got.create_time, want.create_time);
  EXPECT_EQ(got.scheduled_time, want.scheduled_time);
  EXPECT_EQ(got.send_time, want.send_time);
  EXPECT_EQ(got.deliver_time, want.deliver_time);
  EXPECT_EQ(got.update_time, want.update_time);
}

// --- CreateOutbound / Get
// -----------------------------------------------------

TYPED_TEST(MessageStoreContractTest, CreateAndGetRoundTripEveryField) {
  const int64_t group = this->factory_.AddGroup("climbers");
  Message m = this->MakeMessage("0b8f6c1e-0000-4000-8000-000000000001",
                                this->ann_, kBobPhone, "", 0, "bob-thread");
  m.group_id = group;
  m.group_name = "climbers";
  m.messaging_service_sid = "MG0123456789abcdef0123456789abcdef";
  m.body = "Grüße 👋 — \"quoted\" 'single' \n second line";
  m.media_urls = {"https://example.com/a.png?x=1&y=2",
                  "https://example.com/b.jpg"};
  m.media_content_types = {"image/png", "image/jpeg"};
  m.status = MessageStatus::kScheduled;
  m.error_code = 30001;
  m.error_message = "queue overflow";
  m.num_segments = 2;
  m.encoding = Encoding::kUcs2;
  m.price = "-0.0075";
  m.price_unit = "USD";
  m.attempts = 3;
  m.next_attempt_time = kT0 + absl::Seconds(30);
  m.scheduled_time = kT0 + absl::Hours(2);
  m.send_time = kT0 + absl::Microseconds(7);
  m.deliver_time = kT0 + absl::Microseconds(9);
  m.update_time = kT0 + absl::Microseconds(11);

  Message want = m;
  want.idempotency_key = "key-1";
  SMSGW_ASSERT_OK_AND_ASSIGN(
      CreateResult created,
      this->store()->CreateOutbound(m, IdempotencyKey{"key-1", "hash-1"}));
  EXPECT_FALSE(created.replayed);
  EXPECT_GT(created.message.seq, 0);
  EXPECT_EQ(created.message.owner_username, "ann");
  ExpectSameMessage(created.message, want);

  SMSGW_ASSERT_OK_AND_ASSIGN(Message got, this->store()->Get(m.id));
  EXPECT_EQ(got.seq, created.message.seq);
  EXPECT_EQ(got.owner_username, "ann");
  ExpectSameMessage(got, want);
}

TYPED_TEST(MessageStoreContractTest,
           CreateWithoutOptionalFieldsReadsBackEmpty) {
  Message m = this->MakeMessage("m1", this->ann_, kBobPhone, "hi");
  Message got = this->Create(m);
  EXPECT_THAT(got.media_urls, IsEmpty());
  EXPECT_THAT(got.media_content_types, IsEmpty());
  EXPECT_EQ(got.group_id, 0);
  EXPECT_EQ(got.provider_sid, "");
  EXPECT_EQ(got.error_code, std::nullopt);
  EXPECT_EQ(got.send_time, std::nullopt);
  EXPECT_EQ(got.scheduled_time, std::nullopt);
  EXPECT_EQ(got.next_attempt_time, std::nullopt);
  EXPECT_EQ(this->factory_.CountRows("idempotency_keys"), 0);
}

TYPED_TEST(MessageStoreContractTest, CreateOutboundBatchStoresAllInOrder) {
  std::vector<Message> batch = {
      this->MakeMessage("0b8f6c1e-0000-4000-8000-0000000000b1", this->ann_,
                        kBobPhone, "fan-out", 0, ""),
      this->MakeMessage("0b8f6c1e-0000-4000-8000-0000000000b2", this->ann_,
                        kCarlPhone, "fan-out", 0, "")};
  absl::StatusOr<std::vector<Message>> stored =
      this->store()->CreateOutboundBatch(batch);
  ASSERT_THAT(stored, IsOk());
  ASSERT_THAT(*stored, SizeIs(2));
  EXPECT_EQ((*stored)[0].id, batch[0].id);
  EXPECT_EQ((*stored)[1].to, kCarlPhone);
  EXPECT_GT((*stored)[1].seq, (*stored)[0].seq);
  EXPECT_THAT(this->store()->Get(batch[1].id), IsOk());
}

TYPED_TEST(MessageStoreContractTest, CreateOutboundBatchIsAllOrNothing) {
  Message existing = this->Create(this->MakeMessage(
      "0b8f6c1e-0000-4000-8000-0000000000c1", this->ann_, kBobPhone, "x", 0, ""));
  const int64_t before = this->factory_.CountRows("messages");
  // The second repeats an id: nothing of the batch is stored.
  std::vector<Message> batch = {
      this->MakeMessage("0b8f6c1e-0000-4000-8000-0000000000c2", this->ann_,
                        kCarlPhone, "y", 0, ""),
      this->MakeMessage(existing.id, this->ann_, kCarlPhone, "z", 0, "")};
  EXPECT_THAT(this->store()->CreateOutboundBatch(batch),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(this->factory_.CountRows("messages"), before);
  // An invalid message (no owner) is refused before anything is written.
  batch[1].id = "0b8f6c1e-0000-4000-8000-0000000000c3";
  batch[1].owner_id = 0;
  EXPECT_THAT(this->store()->CreateOutboundBatch(batch),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(batch[1].id)));
  EXPECT_EQ(this->factory_.CountRows("messages"), before);
}

TYPED_TEST(MessageStoreContractTest, CreateAppendsCreatedFeedEvent) {
  Message m = this->MakeMessage("m1", this->ann_, kBobPhone, "hi", 5);
  this->Create(m);
  auto feed = this->factory_.Feed();
  ASSERT_THAT(feed, SizeIs(1));
  EXPECT_EQ(feed[0].owner_id, this->ann_);
  EXPECT_EQ(feed[0].message_id, "m1");
  EXPECT_EQ(feed[0].type, FeedEventType::kCreated);
  EXPECT_EQ(feed[0].event_time, m.create_time);
}

TYPED_TEST(MessageStoreContractTest,
           SameKeyAndHashReplaysOriginalAndWritesNothing) {
  Message first = this->MakeMessage("m1", this->ann_, kBobPhone, "hi");
  ASSERT_THAT(this->store()->CreateOutbound(first, IdempotencyKey{"k", "h"}),
              IsOk());
  const int64_t feed = this->factory_.CountRows("message_feed");

  Message retry = this->MakeMessage("m2", this->ann_, kBobPhone, "hi", 1);
  SMSGW_ASSERT_OK_AND_ASSIGN(
      CreateResult replay,
      this->store()->CreateOutbound(retry, IdempotencyKey{"k", "h"}));
  EXPECT_TRUE(replay.replayed);
  EXPECT_EQ(replay.message.id, "m1");
  EXPECT_EQ(replay.message.owner_username, "ann");
  EXPECT_EQ(this->factory_.CountRows("messages"), 1);
  EXPECT_EQ(this->factory_.CountRows("message_feed"), feed);
  EXPECT_EQ(this->factory_.CountRows("idempotency_keys"), 1);
  EXPECT_THAT(this->store()->Get("m2"), StatusIs(absl::StatusCode::kNotFound));
  SMSGW_ASSERT_OK_AND_ASSIGN(
      auto conversations, this->store()->ListConversations(this->ann_, {}, 10));
  ASSERT_THAT(conversations, SizeIs(1));
  EXPECT_EQ(conversations[0].message_count, 1);
}

TYPED_TEST(MessageStoreContractTest,
           SameKeyDifferentHashIsAlreadyExistsAndWritesNothing) {
  ASSERT_THAT(this->store()->CreateOutbound(
                  this->MakeMessage("m1", this->ann_, kBobPhone, "hi"),
                  IdempotencyKey{"k", "h1"}),
              IsOk());
  EXPECT_THAT(this->store()->CreateOutbound(
                  this->MakeMessage("m2", this->ann_, kCarlPhone, "other"),
                  IdempotencyKey{"k", "h2"}),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("already used for a different request")));
  EXPECT_EQ(this->factory_.CountRows("messages"), 1);
  EXPECT_EQ(this->factory_.CountRows("conversations"), 1);
  EXPECT_EQ(this->factory_.CountRows("message_feed"), 1);
  EXPECT_EQ(this->factory_.CountRows("idempotency_keys"), 1);
}

TYPED_TEST(MessageStoreContractTest, IdempotencyKeysAreForgottenAfter24Hours) {
  Message first = this->MakeMessage("m1", this->ann_, kBobPhone, "hi");
  ASSERT_THAT(this->store()->CreateOutbound(first, IdempotencyKey{"k", "h1"}),
              IsOk());
  Message within = this->MakeMessage("m2", this->ann_, kCarlPhone, "other");
  within.create_time = first.create_time + kIdempotencyKeyTtl -
                       absl::Seconds(1);
  EXPECT_THAT(this->store()->CreateOutbound(within, IdempotencyKey{"k", "h2"}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  Message later = this->MakeMessage("m3", this->ann_, kCarlPhone, "other");
  later.create_time = first.create_time + kIdempotencyKeyTtl + absl::Seconds(1);
  later.update_time = later.create_time;
  SMSGW_ASSERT_OK_AND_ASSIGN(
      CreateResult fresh,
      this->store()->CreateOutbound(later, IdempotencyKey{"k", "h2"}));
  EXPECT_FALSE(fresh.replayed);
  EXPECT_EQ(fresh.message.id, "m3");
  EXPECT_EQ(this->factory_.CountRows("idempotency_keys"), 1);
}

TYPED_TEST(MessageStoreContractTest, IdempotencyKeysAreScopedToTheOwner) {
  ASSERT_THAT(this->store()->CreateOutbound(
                  this->MakeMessage("m1", this->ann_, kBobPhone, "hi"),
                  IdempotencyKey{"k", "h1"}),
              IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(
      CreateResult other,
      this->store()->CreateOutbound(
          this->MakeMessage("m2", this->bob_, kAnnPhone, "hi"),
          IdempotencyKey{"k", "h2"}));
  EXPECT_FALSE(other.replayed);
  EXPECT_EQ(other.message.id, "m2");
}

TYPED_TEST(MessageStoreContractTest, KeyOfDeletedMessageIsNotReusable) {
  ASSERT_THAT(this->store()->CreateOutbound(
                  this->MakeMessage("m1", this->ann_, kBobPhone, "hi"),
                  IdempotencyKey{"k", "h"}),
              IsOk());
  ASSERT_THAT(this->store()->Delete("m1"), IsOk());
  EXPECT_THAT(this->store()->CreateOutbound(
                  this->MakeMessage("m2", this->ann_, kBobPhone, "hi"),
                  IdempotencyKey{"k", "h"}),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("deleted")));
  EXPECT_EQ(this->factory_.CountRows("messages"), 0);
}

TYPED_TEST(MessageStoreContractTest,
           ConversationIdWithAnotherPeerIsInvalidArgument) {
  this->Create(this->MakeMessage("m1", this->ann_, kBobPhone, "hi", 0, "pals"));
  EXPECT_THAT(
      this->store()->CreateOutbound(
          this->MakeMessage("m2", this->ann_, kCarlPhone, "hi", 1, "pals"),
          IdempotencyKey{"k", "h"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pals")));
  EXPECT_EQ(this->factory_.CountRows("messages"), 1);
  EXPECT_EQ(this->factory_.CountRows("idempotency_keys"), 0);
  // Another owner may use the same label with another peer.
  EXPECT_THAT(
      this->store()->CreateOutbound(
          this->MakeMessage("m3", this->bob_, kCarlPhone, "hi", 1, "pals"), {}),
      IsOk());
}

TYPED_TEST(MessageStoreContractTest, CreateRejectsMessagesItCannotStore) {
  Message inbound = this->MakeMessage("m1", this->ann_, kBobPhone, "hi");
  inbound.direction = Direction::kInbound;
  EXPECT_THAT(this->store()->CreateOutbound(inbound, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  Message queued = this->MakeMessage("m1", this->ann_, kBobPhone, "hi");
  queued.status = MessageStatus::kQueued;
  EXPECT_THAT(this->store()->CreateOutbound(queued, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(this->store()->CreateOutbound(
                  this->MakeMessage("m1", 0, kBobPhone, "hi"), {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  Message newline = this->MakeMessage("m1", this->ann_, kBobPhone, "hi");
  newline.media_urls = {"https://example.com/a\nhttps://evil"};
  EXPECT_THAT(
      this->store()->CreateOutbound(newline, {}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("newline")));
  Message empty_url = this->MakeMessage("m1", this->ann_, kBobPhone, "hi");
  empty_url.media_urls = {""};
  EXPECT_THAT(this->store()->CreateOutbound(empty_url, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(this->store()->CreateOutbound(
                  this->MakeMessage("m1", 9999, kBobPhone, "hi"), {}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(this->factory_.CountRows("messages"), 0);
  EXPECT_EQ(this->factory_.CountRows("conversations"), 0);
}

TYPED_TEST(MessageStoreContractTest, DuplicateMessageIdIsAlreadyExists) {
  this->Create(this->MakeMessage("m1", this->ann_, kBobPhone, "hi"));
  EXPECT_THAT(this->store()->CreateOutbound(
                  this->MakeMessage("m1", this->ann_, kBobPhone, "again", 1),
                  IdempotencyKey{"k", "h"}),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(this->factory_.CountRows("idempotency_keys"), 0);
  EXPECT_EQ(this->factory_.CountRows("message_feed"), 1);
}

TYPED_TEST(MessageStoreContractTest, GetOfUnknownIdIsNotFound) {
  EXPECT_THAT(this->store()->Get("nope"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(this->store()->ListReports("nope"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(this->store()->ApplyStatus(
                  "nope", this->Update(MessageStatus::kQueued, 0)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(this->store()->RecordRetry(
                  "nope", this->Update(MessageStatus::kPending, 0), kT0),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(this->store()->Delete("nope"),
              StatusIs(absl::StatusCode::kNotFound));
}

// --- ApplyStatus
// --------------------------------------------------------------

TYPED_TEST(MessageStoreContractTest,
           EveryOrderOfCallbacksEndsDeliveredWithAppliedFlagsRight) {
  // The lifecycle order, independent of StatusRank().
  const std::vector<MessageStatus> order = {
      MessageStatus::kPending, MessageStatus::kQueued, MessageStatus::kSending,
      MessageStatus::kSent, MessageStatus::kDelivered};
  auto position = [&](MessageStatus s) {
    return std::find(order.begin(), order.end(), s) - order.begin();
  };
  std::vector<MessageStatus> perm = {
      MessageStatus::kQueued, MessageStatus::kSending, MessageStatus::kSent,
      MessageStatus::kDelivered};
  std::sort(perm.begin(), perm.end());
  int n = 0;
  do {
    const std::string id = absl::StrCat("perm-", n++);
    SCOPED_TRACE(id);
    this->Create(this->MakeMessage(id, this->ann_, kBobPhone, "hi", n));
    // Each callback arrives twice: once in the permutation, then repeated.
    std::vector<MessageStatus> events = perm;
    events.insert(events.end(), perm.begin(), perm.end());
    std::vector<bool> want_applied;
    std::optional<absl::Time> want_send, want_deliver;
    auto highest = position(MessageStatus::kPending);
    int second = 0;
    for (MessageStatus s : events) {
      StatusUpdate u = this->Update(s, ++second, "SM" + id);
      const bool moves = position(s) > highest;
      want_applied.push_back(moves);
      if (moves) {
        highest = position(s);
        if (!want_send) want_send = u.event_time;
        if (s == MessageStatus::kDelivered) want_deliver = u.event_time;
      }
      SMSGW_ASSERT_OK_AND_ASSIGN(Message after,
                                 this->store()->ApplyStatus(id, u));
      EXPECT_EQ(static_cast<int>(after.status),
                static_cast<int>(order[highest]));
    }
    SMSGW_ASSERT_OK_AND_ASSIGN(Message final_message, this->store()->Get(id));
    EXPECT_EQ(final_message.status, MessageStatus::kDelivered);
    EXPECT_EQ(final_message.provider_sid, "SM" + id);
    EXPECT_EQ(final_message.send_time, want_send);
    EXPECT_EQ(final_message.deliver_time, want_deliver);
    SMSGW_ASSERT_OK_AND_ASSIGN(auto reports, this->store()->ListReports(id));
    ASSERT_THAT(reports, SizeIs(events.size()));
    int applied = 0;
    for (size_t i = 0; i < reports.size(); ++i) {
      EXPECT_EQ(reports[i].status, events[i]) << i;
      EXPECT_EQ(reports[i].applied, want_applied[i]) << i;
      EXPECT_EQ(reports[i].source, ReportSource::kStatusCallback);
      applied += want_applied[i] ? 1 : 0;
    }
    int status_changed = 0;
    for (const auto& row : this->factory_.Feed()) {
      if (row.message_id == id && row.type == FeedEventType::kStatusChanged) {
        ++status_changed;
      }
    }
    EXPECT_EQ(status_changed, applied);
  } while (std::next_permutation(perm.begin(), perm.end()));
  EXPECT_EQ(n, 24);
}

TYPED_TEST(MessageStoreContractTest, FailedStoresProviderErrorAndNoSendTime) {
  this->Create(this->MakeMessage("m1", this->ann_, kBobPhone, "hi"));
  StatusUpdate failed = this->Update(MessageStatus::kFailed, 1);
  failed.error_code = 21211;
  failed.error_message = "The 'To' number is not a valid phone number.";
  failed.source = ReportSource::kProviderResponse;
  failed.http_status = 400;
  SMSGW_ASSERT_OK_AND_ASSIGN(Message after,
                             this->store()->ApplyStatus("m1", failed));
  EXPECT_EQ(after.status, MessageStatus::kFailed);
  EXPECT_EQ(after.error_code, 21211);
  EXPECT_EQ(after.error_message, failed.error_message);
  EXPECT_EQ(after.send_time, std::nullopt);
  EXPECT_EQ(after.update_time, failed.event_time);
  SMSGW_ASSERT_OK_AND_ASSIGN(auto reports, this->store()->ListReports("m1"));
  ASSERT_THAT(reports, SizeIs(1));
  EXPECT_EQ(reports[0].error_code, 21211);
  EXPECT_EQ(reports[0].http_status, 400);
  EXPECT_EQ(reports[0].source, ReportSource::kProviderResponse);
  EXPECT_TRUE(reports[0].applied);
}

TYPED_TEST(MessageStoreContractTest, FirstTerminalStatusWins) {
  this->Create(this->MakeMessage("m1", this->ann_, kBobPhone, "hi"));
  ASSERT_THAT(this->store()->ApplyStatus(
                  "m1", this->Update(MessageStatus::kDelivered, 1)),
              IsOk());
  StatusUpdate undelivered = this->Update(MessageStatus::kUndelivered, 2);
  undelivered.error_code = 30003;
  SMSGW_ASSERT_OK_AND_ASSIGN(Message after,
                             this->store()->ApplyStatus("m1", undelivered));
  EXPECT_EQ(after.status, MessageStatus::kDelivered);
  EXPECT_EQ(after.error_code, std::nullopt);
  EXPECT_EQ(after.update_time,
            this->Update(MessageStatus::kDelivered, 1).event_time);

  this->Create(this->MakeMessage("m2", this->ann_, kBobPhone, "hi", 1));
  StatusUpdate failed = this->Update(MessageStatus::kFailed, 1);
  failed.error_code = 30008;
  ASSERT_THAT(this->store()->ApplyStatus("m2", failed), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(
      after, this->store()->ApplyStatus(
                 "m2", this->Update(MessageStatus::kDelivered, 2)));
  EXPECT_EQ(after.status, MessageStatus::kFailed);
  EXPECT_EQ(after.error_code, 30008);
  EXPECT_EQ(after.deliver_time, std::nullopt);
}

TYPED_TEST(MessageStoreContractTest,
           LateSentKeepsDeliveredButProviderFiguresWin) {
  this->Create(this->MakeMessage("m1", this->ann_, kBobPhone, "hi"));
  ASSERT_THAT(this->store()->ApplyStatus(
                  "m1", this->Update(MessageStatus::kDelivered, 1, "SM1")),
              IsOk());
  StatusUpdate late = this->Update(MessageStatus::kSent, 2, "SM1");
  late.num_segments = 3;
  late.price = "-0.0225";
  late.price_unit = "USD";
  SMSGW_ASSERT_OK_AND_ASSIGN(Message after,
                             this->store()->ApplyStatus("m1", late));
  EXPECT_EQ(after.status, MessageStatus::kDelivered);
  EXPECT_EQ(after.num_segments, 3);
  EXPECT_EQ(after.price, "-0.0225");
  EXPECT_EQ(after.price_unit, "USD");
  SMSGW_ASSERT_OK_AND_ASSIGN(auto reports, this->store()->ListReports("m1"));
  ASSERT_THAT(reports, SizeIs(2));
  EXPECT_TRUE(reports[0].applied);
  EXPECT_FALSE(reports[1].applied);
  EXPECT_EQ(reports[1].status, MessageStatus::kSent);
}

TYPED_TEST(MessageStoreContractTest,
           RepeatedCallbackChangesNothingButIsRecorded) {
  this->Create(this->MakeMessage("m1", this->ann_, kBobPhone, "hi"));
  SMSGW_ASSERT_OK_AND_ASSIGN(
      Message first, this->store()->ApplyStatus(
                         "m1", this->Update(MessageStatus::kSent, 1, "SM1")));
  SMSGW_ASSERT_OK_AND_ASSIGN(
      Message second, this->store()->ApplyStatus(
                          "m1", this->Update(MessageStatus::kSent, 9, "SM1")));
  ExpectSameMessage(second, first);
  EXPECT_EQ(this->factory_.CountRows("message_events"), 2);
}

TYPED_TEST(MessageStoreContractTest, ProviderSidIsSetOnceAndIsUnique) {
  this->Create(this->MakeMessage("a", this->ann_, kBobPhone, "hi"));
  this->Create(this->MakeMessage("b", this->ann_, kBobPhone, "hi", 1));
  ASSERT_THAT(this->store()->ApplyStatus(
                  "a", this->Update(MessageStatus::kQueued, 1, "SM1")),
              IsOk());
  // A later report with another SID does not replace the first.
  SMSGW_ASSERT_OK_AND_ASSIGN(
      Message a, this->store()->ApplyStatus(
                     "a", this->Update(MessageStatus::kSent, 2, "SM9")));
  EXPECT_EQ(a.provider_sid, "SM1");
  EXPECT_EQ(a.status, MessageStatus::kSent);

  const int64_t events = this->factory_.CountRows("message_events");
  EXPECT_THAT(this->store()->ApplyStatus(
                  "b", this->Update(MessageStatus::kQueued, 3, "SM1")),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("SM1")));
  SMSGW_ASSERT_OK_AND_ASSIGN(Message b, this->store()->Get("b"));
  EXPECT_EQ(b.provider_sid, "");
  EXPECT_EQ(b.status, MessageStatus::kPending);
  EXPECT_EQ(this->factory_.CountRows("message_events"), events);
}

TYPED_TEST(MessageStoreContractTest, UnspecifiedStatusIsInvalidArgument) {
  this->Create(this->MakeMessage("m1", this->ann_, kBobPhone, "hi"));
  EXPECT_THAT(this->store()->ApplyStatus(
                  "m1", this->Update(MessageStatus::kUnspecified, 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// --- RecordRetry
// --------------------------------------------------------------

TYPED_TEST(MessageStoreContractTest, RecordRetryCountsAttemptAndKeepsStatus) {
  this->Create(this->MakeMessage("m1", this->ann_, kBobPhone, "hi"));
  StatusUpdate attempt;
  attempt.http_status = 503;
  attempt.error_message = "Service Unavailable";
  attempt.event_time = kT0 + absl::Seconds(5);
  const absl::Time next = kT0 + absl::Seconds(7);
  ASSERT_THAT(this->store()->RecordRetry("m1", attempt, next), IsOk());
  attempt.event_time += absl::Seconds(5);
  ASSERT_THAT(
      this->store()->RecordRetry("m1", attempt, next + absl::Seconds(4)),
      IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(Message m, this->store()->Get("m1"));
  EXPECT_EQ(m.attempts, 2);
  EXPECT_EQ(m.next_attempt_time, next + absl::Seconds(4));
  EXPECT_EQ(m.status, MessageStatus::kPending);
  SMSGW_ASSERT_OK_AND_ASSIGN(auto reports, this->store()->ListReports("m1"));
  ASSERT_THAT(reports, SizeIs(2));
  for (const DeliveryReport& r : reports) {
    EXPECT_EQ(r.source, ReportSource::kDispatchAttempt);
    EXPECT_FALSE(r.applied);
    EXPECT_EQ(r.http_status, 503);
    EXPECT_EQ(r.status, MessageStatus::kPending);
  }
  EXPECT_THAT(this->Ids(*this->store()->ListUndispatched(10)),
              ElementsAre("m1"));
}

// --- Dispatch in-flight marker
// -------------------------------------------------

TYPED_TEST(MessageStoreContractTest, DispatchMarkerIsKeptUntilAnAnswerProvesAnOutcome) {
  this->Create(this->MakeMessage("m1", this->ann_, kBobPhone, "hi"));
  const absl::Time started = kT0 + absl::Seconds(3);
  ASSERT_THAT(this->store()->MarkDispatchStarted("m1", started), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(Message m, this->store()->Get("m1"));
  EXPECT_EQ(m.dispatch_started_time, started);
  // No HTTP answer or a 5xx: the provider may have the message.
  StatusUpdate attempt;
  attempt.event_time = kT0 + absl::Seconds(5);
  attempt.http_status = 0;
  ASSERT_THAT(this->store()->RecordRetry("m1", attempt, kT0), IsOk());
  attempt.http_status = 503;
  ASSERT_THAT(this->store()->RecordRetry("m1", attempt, kT0), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(m, this->store()->Get("m1"));
  EXPECT_EQ(m.dispatch_started_time, started);
  // A 429 proves the create was refused.
  attempt.http_status = 429;
  ASSERT_THAT(this->store()->RecordRetry("m1", attempt, kT0), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(m, this->store()->Get("m1"));
  EXPECT_EQ(m.dispatch_started_time, std::nullopt);
  // The stored acceptance clears it too, and the message can no longer be
  // marked.
  ASSERT_THAT(this->store()->MarkDispatchStarted("m1", started), IsOk());
  ASSERT_THAT(this->store()->ApplyStatus(
                  "m1", this->Update(MessageStatus::kQueued, 1)),
              IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(m, this->store()->Get("m1"));
  EXPECT_EQ(m.dispatch_started_time, std::nullopt);
  EXPECT_THAT(this->store()->MarkDispatchStarted("m1", started),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TYPED_TEST(MessageStoreContractTest, DispatchMarkerCanBeClearedAndNeedsAMessage) {
  this->Create(this->MakeMessage("m1", this->ann_, kBobPhone, "hi"));
  ASSERT_THAT(this->store()->MarkDispatchStarted("m1", kT0), IsOk());
  ASSERT_THAT(this->store()->ClearDispatchStarted("m1"), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(Message m, this->store()->Get("m1"));
  EXPECT_EQ(m.dispatch_started_time, std::nullopt);
  EXPECT_THAT(this->store()->MarkDispatchStarted("nope", kT0),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(this->store()->ClearDispatchStarted("nope"),
              StatusIs(absl::StatusCode::kNotFound));
}

// --- List
// ---------------------------------------------------------------------

TYPED_TEST(MessageStoreContractTest, ListFiltersByEachField) {
  const int64_t group = this->factory_.AddGroup("g");
  this->Create(this->MakeMessage("a1", this->ann_, kBobPhone, "one", 0));
  this->Create(this->MakeMessage("a2", this->ann_, kCarlPhone, "two", 10));
  Message grouped =
      this->MakeMessage("a3", this->ann_, kBobPhone, "three", 20, "bob-2");
  grouped.group_id = group;
  this->Create(grouped);
  this->Create(this->MakeMessage("b1", this->bob_, kAnnPhone, "bob's", 5));
  this->factory_.AddInbound("in1", this->ann_, kBobPhone, "reply",
                            kT0 + absl::Minutes(30));
  this->factory_.AddInbound("lost", 0, kCarlPhone, "who?",
                            kT0 + absl::Minutes(31));
  ASSERT_THAT(this->store()->ApplyStatus(
                  "a2", this->Update(MessageStatus::kDelivered, 1)),
              IsOk());

  MessageQuery q = this->OwnerQuery(this->ann_);
  EXPECT_THAT(this->ListIds(q), ElementsAre("in1", "a3", "a2", "a1"));

  q = this->OwnerQuery(this->ann_);
  q.conversation_id = kBobPhone;
  EXPECT_THAT(this->ListIds(q), ElementsAre("a1"));

  q = this->OwnerQuery(this->ann_);
  q.peer_number = kBobPhone;
  EXPECT_THAT(this->ListIds(q), ElementsAre("in1", "a3", "a1"));

  q = this->OwnerQuery(this->ann_);
  q.direction = Direction::kInbound;
  EXPECT_THAT(this->ListIds(q), ElementsAre("in1"));
  q.direction = Direction::kOutbound;
  EXPECT_THAT(this->ListIds(q), ElementsAre("a3", "a2", "a1"));

  q = this->OwnerQuery(this->ann_);
  q.statuses = {MessageStatus::kDelivered, MessageStatus::kReceived};
  EXPECT_THAT(this->ListIds(q), ElementsAre("in1", "a2"));
  q.statuses = {MessageStatus::kPending};
  EXPECT_THAT(this->ListIds(q), ElementsAre("a3", "a1"));

  q = this->OwnerQuery(this->ann_);
  q.start_time = kT0 + absl::Minutes(10);
  q.end_time = kT0 + absl::Minutes(20);  // exclusive
  EXPECT_THAT(this->ListIds(q), ElementsAre("a2"));

  q = this->OwnerQuery(this->ann_);
  q.group_id = group;
  EXPECT_THAT(this->ListIds(q), ElementsAre("a3"));

  q = this->OwnerQuery(this->ann_);
  q.limit = 2;
  EXPECT_THAT(this->ListIds(q), ElementsAre("in1", "a3"));

  MessageQuery unrouted;
  unrouted.unrouted = true;
  SMSGW_ASSERT_OK_AND_ASSIGN(auto lost, this->store()->List(unrouted));
  ASSERT_THAT(this->Ids(lost), ElementsAre("lost"));
  EXPECT_EQ(lost[0].owner_id, 0);
  EXPECT_EQ(lost[0].owner_username, "");

  SMSGW_ASSERT_OK_AND_ASSIGN(auto anns,
                             this->store()->List(this->OwnerQuery(this->ann_)));
  for (const Message& m : anns) EXPECT_EQ(m.owner_username, "ann");
}

TYPED_TEST(MessageStoreContractTest, ListRejectsIllFormedQueries) {
  MessageQuery neither;
  EXPECT_THAT(this->store()->List(neither),
              StatusIs(absl::StatusCode::kInvalidArgument));
  MessageQuery both = this->OwnerQuery(this->ann_);
  both.unrouted = true;
  EXPECT_THAT(this->store()->List(both),
              StatusIs(absl::StatusCode::kInvalidArgument));
  MessageQuery zero = this->OwnerQuery(this->ann_);
  zero.limit = 0;
  EXPECT_THAT(this->store()->List(zero),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TYPED_TEST(MessageStoreContractTest,
           PagingByBeforeSeqWhileInsertingMissesAndRepeatsNothing) {
  std::set<std::string> want;
  for (int i = 0; i < 10; ++i) {
    const std::string id = absl::StrCat("old-", i);
    this->Create(this->MakeMessage(id, this->ann_, kBobPhone, "x", i));
    want.insert(id);
  }
  std::vector<std::string> seen;
  std::optional<int64_t> before;
  int inserted = 0;
  while (true) {
    MessageQuery q = this->OwnerQuery(this->ann_);
    q.limit = 3;
    q.before_seq = before;
    SMSGW_ASSERT_OK_AND_ASSIGN(auto page, this->store()->List(q));
    if (page.empty()) break;
    for (const Message& m : page) seen.push_back(m.id);
    before = page.back().seq;
    // New messages arrive between pages; they are newer than the cursor.
    this->Create(this->MakeMessage(absl::StrCat("new-", inserted), this->ann_,
                                   kBobPhone, "x", 100 + inserted));
    ++inserted;
  }
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), want);
  EXPECT_THAT(seen, SizeIs(want.size()));
  // Newest first on every page, hence overall.
  EXPECT_EQ(seen.front(), "old-9");
  EXPECT_EQ(seen.back(), "old-0");
}

TYPED_TEST(MessageStoreContractTest,
           FullTextSearchMatchesWordsPhrasesAndUnicode) {
  this->Create(this->MakeMessage("m1", this->ann_, kBobPhone,
                                 "Hello world, see you at the café"));
  this->Create(
      this->MakeMessage("m2", this->ann_, kBobPhone, "world of hellos", 1));
  this->Create(
      this->MakeMessage("m3", this->ann_, kBobPhone, "Привет, МИР 👋", 2));
  this->Create(this->MakeMessage("other", this->bob_, kAnnPhone,
                                 "hello world from bob", 3));
  auto search = [&](const std::string& fts) {
    MessageQuery q = this->OwnerQuery(this->ann_);
    q.fts_query = fts;
    return this->ListIds(q);
  };
  EXPECT_THAT(search("hello"), ElementsAre("m1"));
  EXPECT_THAT(search("world"), ElementsAre("m2", "m1"));
  EXPECT_THAT(search("\"hello world\""), ElementsAre("m1"));
  EXPECT_THAT(search("\"world hello\""), IsEmpty());
  EXPECT_THAT(search("hello*"), ElementsAre("m2", "m1"));
  EXPECT_THAT(search("cafe"), ElementsAre("m1"));  // unicode61 folds accents
  EXPECT_THAT(search("мир"), ElementsAre("m3"));   // and case, beyond ASCII
  EXPECT_THAT(search("привет NOT world"), ElementsAre("m3"));
}

// A user's search sees that user's messages only, however many of everyone's
// match, and the words of a query are matched against bodies alone: a body
// word that reads like an owner id finds that body, not that owner's messages.
TYPED_TEST(MessageStoreContractTest, FullTextSearchIsConfinedToTheOwnerAndBody) {
  for (int i = 0; i < 30; ++i) {
    this->Create(this->MakeMessage(absl::StrCat("bob-", i), this->bob_,
                                   kAnnPhone, "dinner at eight", i));
  }
  this->Create(
      this->MakeMessage("ann-1", this->ann_, kBobPhone, "dinner for two", 40));
  this->Create(this->MakeMessage("ann-2", this->ann_, kBobPhone,
                                 absl::StrCat("room ", this->bob_), 41));
  auto search = [&](int64_t owner, const std::string& fts) {
    MessageQuery q = this->OwnerQuery(owner);
    q.fts_query = fts;
    return this->ListIds(q);
  };
  EXPECT_THAT(search(this->ann_, "dinner"), ElementsAre("ann-1"));
  EXPECT_THAT(search(this->ann_, "dinner OR eight"), ElementsAre("ann-1"));
  EXPECT_THAT(search(this->bob_, "dinner NOT two"), SizeIs(30));
  EXPECT_THAT(search(this->ann_, absl::StrCat(this->bob_)),
              ElementsAre("ann-2"));
  EXPECT_THAT(search(this->bob_, absl::StrCat(this->bob_)), IsEmpty());
  EXPECT_THAT(search(this->ann_, "(dinner OR room) AND two"),
              ElementsAre("ann-1"));
}

TYPED_TEST(MessageStoreContractTest, InvalidFullTextSyntaxIsInvalidArgument) {
  this->Create(this->MakeMessage("m1", this->ann_, kBobPhone, "hello"));
  for (const std::string fts :
       {"\"unbalanced", "AND", "hello AND", "(hello", "nosuchcolumn:hello",
        "'; DROP TABLE messages; --"}) {
    SCOPED_TRACE(fts);
    MessageQuery q = this->OwnerQuery(this->ann_);
    q.fts_query = fts;
    EXPECT_THAT(this->store()->List(q),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("query is not valid full-text syntax")));
  }
  EXPECT_EQ(this->factory_.CountRows("messages"), 1);
}

TYPED_TEST(MessageStoreContractTest,
           InjectionLookingStringsAreStoredAndSearchedLiterally) {
  const std::string body = "x'); DROP TABLE messages; -- \" OR 1=1";
  const std::string conversation = "' OR '1'='1";
  this->Create(
      this->MakeMessage("m1", this->ann_, kBobPhone, body, 0, conversation));
  this->Create(this->MakeMessage("m2", this->ann_, kCarlPhone, "plain", 1));
  SMSGW_ASSERT_OK_AND_ASSIGN(Message got, this->store()->Get("m1"));
  EXPECT_EQ(got.body, body);
  EXPECT_EQ(got.conversation_id, conversation);

  MessageQuery q = this->OwnerQuery(this->ann_);
  q.conversation_id = conversation;
  EXPECT_THAT(this->ListIds(q), ElementsAre("m1"));
  q = this->OwnerQuery(this->ann_);
  q.peer_number = "' OR 1=1 --";
  EXPECT_THAT(this->ListIds(q), IsEmpty());
  q = this->OwnerQuery(this->ann_);
  q.fts_query = "\"DROP TABLE messages\"";
  EXPECT_THAT(this->ListIds(q), ElementsAre("m1"));
  // Inside a phrase, punctuation only separates tokens.
  q.fts_query = "\"1=1\"";
  EXPECT_THAT(this->ListIds(q), ElementsAre("m1"));
  EXPECT_THAT(this->store()->Get("x' OR '1'='1"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(this->factory_.CountRows("messages"), 2);
}

// --- Conversations
// ------------------------------------------------------------

TYPED_TEST(MessageStoreContractTest,
           ConversationsTrackCountLastMessageAndTime) {
  this->Create(this->MakeMessage("b1", this->ann_, kBobPhone, "first", 0));
  this->Create(this->MakeMessage("c1", this->ann_, kCarlPhone, "to carl", 5));
  this->Create(this->MakeMessage("b2", this->ann_, kBobPhone, "second", 10));
  SMSGW_ASSERT_OK_AND_ASSIGN(
      auto conversations, this->store()->ListConversations(this->ann_, {}, 10));
  ASSERT_THAT(conversations, SizeIs(2));
  EXPECT_EQ(conversations[0].id, kBobPhone);
  EXPECT_EQ(conversations[0].peer_number, kBobPhone);
  EXPECT_EQ(conversations[0].our_number, kOurNumber);
  EXPECT_EQ(conversations[0].message_count, 2);
  EXPECT_EQ(conversations[0].update_time, kT0 + absl::Minutes(10));
  ASSERT_TRUE(conversations[0].last_message.has_value());
  EXPECT_EQ(conversations[0].last_message->id, "b2");
  EXPECT_EQ(conversations[0].last_message->body, "second");
  EXPECT_EQ(conversations[0].last_message->owner_username, "ann");
  EXPECT_EQ(conversations[1].id, kCarlPhone);
  EXPECT_EQ(conversations[1].message_count, 1);
  SMSGW_ASSERT_OK_AND_ASSIGN(
      auto bobs, this->store()->ListConversations(this->bob_, {}, 10));
  EXPECT_THAT(bobs, IsEmpty());
}

TYPED_TEST(MessageStoreContractTest,
           ConversationPagingIsStrictlyBeforeTimeAndId) {
  // Five conversations; c2, c3 and c4 share one update_time (ties by id).
  const std::vector<std::pair<std::string, int>> convs = {
      {"c1", 1}, {"c2", 2}, {"c3", 2}, {"c4", 2}, {"c5", 3}};
  int n = 0;
  for (const auto& [conv, minute] : convs) {
    const std::string peer = absl::StrCat("+1415555020", n);
    this->Create(this->MakeMessage(absl::StrCat("m", n), this->ann_, peer, "hi",
                                   minute, conv));
    ++n;
  }
  std::vector<std::string> seen;
  std::optional<std::pair<absl::Time, std::string>> before;
  while (true) {
    SMSGW_ASSERT_OK_AND_ASSIGN(
        auto page, this->store()->ListConversations(this->ann_, before, 2));
    if (page.empty()) break;
    ASSERT_LE(page.size(), 2u);
    for (const Conversation& c : page) seen.push_back(c.id);
    before = std::make_pair(page.back().update_time, page.back().id);
  }
  EXPECT_THAT(seen, ElementsAre("c5", "c4", "c3", "c2", "c1"));
  EXPECT_THAT(this->store()->ListConversations(this->ann_, {}, 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// --- Delete
// -------------------------------------------------------------------

TYPED_TEST(MessageStoreContractTest,
           DeleteUpdatesConversationReportsSearchAndFeed) {
  this->Create(this->MakeMessage("b1", this->ann_, kBobPhone, "alpha", 0));
  this->Create(this->MakeMessage("b2", this->ann_, kBobPhone, "beta", 10));
  ASSERT_THAT(
      this->store()->ApplyStatus("b2", this->Update(MessageStatus::kQueued, 1)),
      IsOk());
  this->factory_.clock().Set(kT0 + absl::Hours(5));

  ASSERT_THAT(this->store()->Delete("b2"), IsOk());
  EXPECT_THAT(this->store()->Get("b2"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(this->store()->ListReports("b2"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(this->factory_.CountRows("message_events"), 0);
  MessageQuery q = this->OwnerQuery(this->ann_);
  q.fts_query = "beta";
  EXPECT_THAT(this->ListIds(q), IsEmpty());

  SMSGW_ASSERT_OK_AND_ASSIGN(
      auto conversations, this->store()->ListConversations(this->ann_, {}, 10));
  ASSERT_THAT(conversations, SizeIs(1));
  EXPECT_EQ(conversations[0].message_count, 1);
  ASSERT_TRUE(conversations[0].last_message.has_value());
  EXPECT_EQ(conversations[0].last_message->id, "b1");
  EXPECT_EQ(conversations[0].update_time, kT0);

  auto feed = this->factory_.Feed();
  ASSERT_FALSE(feed.empty());
  EXPECT_EQ(feed.back().message_id, "b2");
  EXPECT_EQ(feed.back().type, FeedEventType::kDeleted);
  EXPECT_EQ(feed.back().owner_id, this->ann_);
  EXPECT_EQ(feed.back().event_time, kT0 + absl::Hours(5));

  ASSERT_THAT(this->store()->Delete("b1"), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(
      conversations, this->store()->ListConversations(this->ann_, {}, 10));
  EXPECT_THAT(conversations, IsEmpty());
  EXPECT_THAT(this->store()->Delete("b1"),
              StatusIs(absl::StatusCode::kNotFound));
}

TYPED_TEST(MessageStoreContractTest, DeleteAllOfOneConversation) {
  this->Create(this->MakeMessage("b1", this->ann_, kBobPhone, "x", 0));
  this->Create(this->MakeMessage("b2", this->ann_, kBobPhone, "x", 1));
  this->Create(this->MakeMessage("c1", this->ann_, kCarlPhone, "x", 2));
  this->Create(this->MakeMessage("o1", this->bob_, kBobPhone, "x", 3));
  const int64_t feed_before = this->factory_.CountRows("message_feed");
  SMSGW_ASSERT_OK_AND_ASSIGN(
      int64_t deleted,
      this->store()->DeleteAll(this->ann_, std::string(kBobPhone)));
  EXPECT_EQ(deleted, 2);
  EXPECT_THAT(this->ListIds(this->OwnerQuery(this->ann_)), ElementsAre("c1"));
  EXPECT_THAT(this->ListIds(this->OwnerQuery(this->bob_)), ElementsAre("o1"));
  SMSGW_ASSERT_OK_AND_ASSIGN(
      auto conversations, this->store()->ListConversations(this->ann_, {}, 10));
  ASSERT_THAT(conversations, SizeIs(1));
  EXPECT_EQ(conversations[0].id, kCarlPhone);
  auto feed = this->factory_.Feed();
  ASSERT_EQ(static_cast<int64_t>(feed.size()), feed_before + 2);
  EXPECT_EQ(feed[feed.size() - 2].message_id, "b1");
  EXPECT_EQ(feed[feed.size() - 1].message_id, "b2");
  EXPECT_EQ(feed.back().type, FeedEventType::kDeleted);
}

TYPED_TEST(MessageStoreContractTest, DeleteAllOfOwnerLeavesOthersAlone) {
  this->Create(this->MakeMessage("b1", this->ann_, kBobPhone, "x", 0));
  this->Create(this->MakeMessage("c1", this->ann_, kCarlPhone, "x", 1));
  this->Create(this->MakeMessage("o1", this->bob_, kAnnPhone, "x", 2));
  ASSERT_THAT(
      this->store()->ApplyStatus("c1", this->Update(MessageStatus::kSent, 1)),
      IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(
      int64_t deleted, this->store()->DeleteAll(this->ann_, std::nullopt));
  EXPECT_EQ(deleted, 2);
  EXPECT_THAT(this->ListIds(this->OwnerQuery(this->ann_)), IsEmpty());
  EXPECT_THAT(this->ListIds(this->OwnerQuery(this->bob_)), ElementsAre("o1"));
  EXPECT_THAT(*this->store()->ListConversations(this->ann_, {}, 10), IsEmpty());
  EXPECT_THAT(*this->store()->ListConversations(this->bob_, {}, 10), SizeIs(1));
  EXPECT_EQ(this->factory_.CountRows("message_events"), 0);
  SMSGW_ASSERT_OK_AND_ASSIGN(
      int64_t again, this->store()->DeleteAll(this->ann_, std::nullopt));
  EXPECT_EQ(again, 0);
}

// --- Dispatch and opt-outs
// ----------------------------------------------------

TYPED_TEST(MessageStoreContractTest,
           ListUndispatchedReturnsPendingOutboundOldestFirst) {
  this->Create(this->MakeMessage("p1", this->ann_, kBobPhone, "x", 0));
  this->Create(this->MakeMessage("q1", this->ann_, kBobPhone, "x", 1));
  Message scheduled = this->MakeMessage("s1", this->ann_, kBobPhone, "x", 2);
  scheduled.status = MessageStatus::kScheduled;
  scheduled.scheduled_time = kT0 + absl::Hours(3);
  this->Create(scheduled);
  this->Create(this->MakeMessage("p2", this->bob_, kAnnPhone, "x", 3));
  this->Create(this->MakeMessage("p3", this->ann_, kCarlPhone, "x", 4));
  this->factory_.AddInbound("in1", this->ann_, kBobPhone, "x",
                            kT0 + absl::Minutes(5));
  ASSERT_THAT(
      this->store()->ApplyStatus("q1", this->Update(MessageStatus::kQueued, 1)),
      IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(auto work, this->store()->ListUndispatched(10));
  EXPECT_THAT(this->Ids(work), ElementsAre("p1", "p2", "p3"));
  SMSGW_ASSERT_OK_AND_ASSIGN(work, this->store()->ListUndispatched(2));
  EXPECT_THAT(this->Ids(work), ElementsAre("p1", "p2"));
  EXPECT_EQ(work[1].owner_username, "bob");
}

// --- Claims (issue 13 §3): which replica dispatches a PENDING message ---

TYPED_TEST(MessageStoreContractTest,
           NewPendingMessagesCarryTheClaimantAndTheRestAreClaimedOnce) {
  // Created before any claimant: unclaimed, for a dispatcher to claim.
  EXPECT_EQ(this->Create(this->MakeMessage("u1", this->ann_, kBobPhone, "x"))
                .claimed_by,
            0);
  this->store()->SetClaimant(7);
  EXPECT_EQ(
      this->Create(this->MakeMessage("m1", this->ann_, kBobPhone, "x", 1))
          .claimed_by,
      7);
  Message scheduled = this->MakeMessage("s1", this->ann_, kBobPhone, "x", 2);
  scheduled.status = MessageStatus::kScheduled;
  scheduled.scheduled_time = scheduled.next_attempt_time = kT0;
  EXPECT_EQ(this->Create(scheduled).claimed_by, 0);  // released later
  // The claimant's own messages are not claimed again.
  SMSGW_ASSERT_OK_AND_ASSIGN(auto claimed,
                             this->store()->ClaimUndispatched(10));
  ASSERT_THAT(this->Ids(claimed), ElementsAre("u1"));
  EXPECT_EQ(claimed[0].claimed_by, 7);
  EXPECT_EQ(claimed[0].owner_username, "ann");
  EXPECT_EQ(this->store()->Get("u1")->claimed_by, 7);
  SMSGW_ASSERT_OK_AND_ASSIGN(claimed, this->store()->ClaimUndispatched(10));
  EXPECT_THAT(claimed, IsEmpty());
  // Released from SCHEDULED: claimed by the replica that released it.
  SMSGW_ASSERT_OK_AND_ASSIGN(std::optional<Message> released,
                             this->store()->ReleaseScheduled("s1", kT0));
  ASSERT_TRUE(released.has_value());
  EXPECT_EQ(released->claimed_by, 7);
  // A restarted replica is a new claimant: it takes over everything, in
  // store order, a page at a time.
  this->store()->SetClaimant(8);
  SMSGW_ASSERT_OK_AND_ASSIGN(claimed, this->store()->ClaimUndispatched(2));
  EXPECT_THAT(this->Ids(claimed), ElementsAre("u1", "m1"));
  SMSGW_ASSERT_OK_AND_ASSIGN(claimed, this->store()->ClaimUndispatched(2));
  EXPECT_THAT(this->Ids(claimed), ElementsAre("s1"));
}

TYPED_TEST(MessageStoreContractTest,
           OnlyTheClaimantMayMarkAMessageDispatched) {
  this->store()->SetClaimant(7);
  this->Create(this->MakeMessage("m1", this->ann_, kBobPhone, "x"));
  // Another replica takes it over (a sweep after this one was presumed
  // dead); this one must not call the provider for it any more.
  this->store()->SetClaimant(8);
  SMSGW_ASSERT_OK_AND_ASSIGN(auto claimed,
                             this->store()->ClaimUndispatched(10));
  ASSERT_THAT(this->Ids(claimed), ElementsAre("m1"));
  this->store()->SetClaimant(7);
  EXPECT_THAT(this->store()->MarkDispatchStarted("m1", kT0),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("claimed by replica 8")));
  SMSGW_ASSERT_OK_AND_ASSIGN(Message m, this->store()->Get("m1"));
  EXPECT_FALSE(m.dispatch_started_time.has_value());
  this->store()->SetClaimant(8);
  EXPECT_THAT(this->store()->MarkDispatchStarted("m1", kT0), IsOk());
  // No claimant (one server): no fence.
  this->store()->SetClaimant(0);
  EXPECT_THAT(this->store()->MarkDispatchStarted("m1", kT0), IsOk());
}

TYPED_TEST(MessageStoreContractTest, ClaimUndispatchedRefusesBadCalls) {
  EXPECT_THAT(this->store()->ClaimUndispatched(10),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("claimant")));
  this->store()->SetClaimant(7);
  EXPECT_THAT(this->store()->ClaimUndispatched(0),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TYPED_TEST(MessageStoreContractTest, IsOptedOutMatchesPeerAndOurNumber) {
  this->factory_.AddOptOut(kBobPhone, kOurNumber);
  EXPECT_EQ(*this->store()->IsOptedOut(kBobPhone, kOurNumber), true);
  EXPECT_EQ(*this->store()->IsOptedOut(kBobPhone, "+15005550007"), false);
  EXPECT_EQ(*this->store()->IsOptedOut(kCarlPhone, kOurNumber), false);
  EXPECT_EQ(*this->store()->IsOptedOut("' OR 1=1 --", kOurNumber), false);
}

// --- Status checks (lost status callbacks)
// ---------------------------------------------------

TYPED_TEST(MessageStoreContractTest,
           DueStatusChecksAreAcceptedNonFinalOutboundMessagesPastTheDelay) {
  this->Create(this->MakeMessage("p1", this->ann_, kBobPhone, "x", 0));
  // Accepted 1, 2 and 3 s past kT0 + 1 h (Update()'s event times).
  this->CreateWithStatus("q1", MessageStatus::kQueued, 1, "SMq1");
  this->CreateWithStatus("s1", MessageStatus::kSent, 2, "SMs1");
  this->CreateWithStatus("x1", MessageStatus::kSending, 3, "SMx1");
  this->CreateWithStatus("d1", MessageStatus::kDelivered, 1, "SMd1");
  // Refused at once: no SID, final.
  this->CreateWithStatus("f1", MessageStatus::kFailed, 1);
  const absl::Time accepted = kT0 + absl::Hours(1);
  const absl::Duration delay = absl::Minutes(10);

  SMSGW_ASSERT_OK_AND_ASSIGN(
      auto due, this->store()->ListDueStatusChecks(
                    accepted + delay + absl::Seconds(1) - absl::Microseconds(1),
                    delay, 10));
  EXPECT_THAT(due, IsEmpty());
  SMSGW_ASSERT_OK_AND_ASSIGN(
      due, this->store()->ListDueStatusChecks(
               accepted + delay + absl::Seconds(2), delay, 10));
  ASSERT_THAT(due, SizeIs(2));
  EXPECT_EQ(due[0].message_id, "q1");
  EXPECT_EQ(due[0].provider_sid, "SMq1");
  EXPECT_EQ(due[0].status, MessageStatus::kQueued);
  EXPECT_EQ(due[0].accepted_time, accepted + absl::Seconds(1));
  EXPECT_EQ(due[0].due_time, accepted + absl::Seconds(1) + delay);
  EXPECT_EQ(due[0].checks, 0);
  EXPECT_EQ(due[1].message_id, "s1");
  EXPECT_EQ(due[1].status, MessageStatus::kSent);

  SMSGW_ASSERT_OK_AND_ASSIGN(
      due, this->store()->ListDueStatusChecks(kT0 + absl::Hours(100), delay, 2));
  ASSERT_THAT(due, SizeIs(2));
  EXPECT_EQ(due[0].message_id, "q1");
  EXPECT_EQ(due[1].message_id, "s1");
  SMSGW_ASSERT_OK_AND_ASSIGN(
      due, this->store()->ListDueStatusChecks(kT0 + absl::Hours(100), delay, 10));
  ASSERT_THAT(due, SizeIs(3));
  EXPECT_EQ(due[2].message_id, "x1");
  EXPECT_EQ(due[2].status, MessageStatus::kSending);
}

TYPED_TEST(MessageStoreContractTest,
           RecordedStatusCheckSetsTheNextOneOrStopsThem) {
  this->CreateWithStatus("q1", MessageStatus::kQueued, 1, "SMq1");
  this->CreateWithStatus("q2", MessageStatus::kQueued, 2, "SMq2");
  SMSGW_ASSERT_OK_AND_ASSIGN(Message before, this->store()->Get("q1"));
  SMSGW_ASSERT_OK_AND_ASSIGN(auto reports_before,
                             this->store()->ListReports("q1"));
  const absl::Duration delay = absl::Minutes(10);
  const absl::Time next = kT0 + absl::Hours(3);
  ASSERT_THAT(this->store()->RecordStatusCheck("q1", next), IsOk());

  // q1 waits for its next check even though the first delay has passed;
  // q2, never checked, is due.
  SMSGW_ASSERT_OK_AND_ASSIGN(
      auto due, this->store()->ListDueStatusChecks(
                    next - absl::Microseconds(1), delay, 10));
  ASSERT_THAT(due, SizeIs(1));
  EXPECT_EQ(due[0].message_id, "q2");
  SMSGW_ASSERT_OK_AND_ASSIGN(
      due, this->store()->ListDueStatusChecks(next, delay, 10));
  ASSERT_THAT(due, SizeIs(2));
  EXPECT_EQ(due[0].message_id, "q2");  // due at 1 h 10 min: earliest first
  EXPECT_EQ(due[1].message_id, "q1");
  EXPECT_EQ(due[1].due_time, next);
  EXPECT_EQ(due[1].checks, 1);

  // Recording changes nothing else about the message.
  SMSGW_ASSERT_OK_AND_ASSIGN(Message after, this->store()->Get("q1"));
  ExpectSameMessage(after, before);
  SMSGW_ASSERT_OK_AND_ASSIGN(auto reports_after,
                             this->store()->ListReports("q1"));
  EXPECT_EQ(reports_after.size(), reports_before.size());

  ASSERT_THAT(this->store()->RecordStatusCheck("q1", std::nullopt), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(
      due, this->store()->ListDueStatusChecks(kT0 + absl::Hours(1000), delay,
                                              10));
  ASSERT_THAT(due, SizeIs(1));
  EXPECT_EQ(due[0].message_id, "q2");

  EXPECT_THAT(this->store()->RecordStatusCheck("nope", next),
              StatusIs(absl::StatusCode::kNotFound));
}

TYPED_TEST(MessageStoreContractTest, FinalMessageLeavesTheStatusCheckList) {
  this->CreateWithStatus("q1", MessageStatus::kQueued, 1, "SMq1");
  ASSERT_THAT(this->store()->RecordStatusCheck("q1", kT0 + absl::Hours(2)),
              IsOk());
  ASSERT_THAT(this->store()->ApplyStatus(
                  "q1", this->Update(MessageStatus::kDelivered, 5)),
              IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(
      auto due, this->store()->ListDueStatusChecks(kT0 + absl::Hours(1000),
                                                   absl::Minutes(10), 10));
  EXPECT_THAT(due, IsEmpty());
}

TYPED_TEST(MessageStoreContractTest, DueStatusChecksRejectBadArguments) {
  EXPECT_THAT(this->store()->ListDueStatusChecks(kT0, absl::Minutes(10), 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(this->store()->ListDueStatusChecks(kT0, -absl::Seconds(1), 10),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// --- Concurrency
// --------------------------------------------------------------

TYPED_TEST(MessageStoreContractTest, ConcurrentCreatesAndReadsAllLand) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Message m = this->MakeMessage(absl::StrCat("t", t, "-", i), this->ann_,
                                      kBobPhone, "x", i);
        EXPECT_THAT(this->store()->CreateOutbound(m, IdempotencyKey{m.id, "h"}),
                    IsOk());
        EXPECT_THAT(this->store()->List(this->OwnerQuery(this->ann_)), IsOk());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  SMSGW_ASSERT_OK_AND_ASSIGN(
      auto conversations, this->store()->ListConversations(this->ann_, {}, 10));
  ASSERT_THAT(conversations, SizeIs(1));
  EXPECT_EQ(conversations[0].message_count, kThreads * kPerThread);
  EXPECT_EQ(this->factory_.CountRows("messages"), kThreads * kPerThread);
}

// --- Sender pool facts (FindPeerNumbers, CreateOutboundOnFreeNumber) ---

constexpr char kPoolSecond[] = "+15005550020";
constexpr char kPoolThird[] = "+15005550021";

TYPED_TEST(MessageStoreContractTest,
           FindPeerNumbersNamesTheOwnersLastNumberAndOtherOwnersNumbers) {
  Message first = this->MakeMessage("pool-1", this->ann_, kCarlPhone, "a", 0);
  Message later =
      this->MakeMessage("pool-2", this->ann_, kCarlPhone, "b", 5, "work");
  later.from = later.our_number = kPoolSecond;
  Message bobs = this->MakeMessage("pool-3", this->bob_, kCarlPhone, "c", 1);
  bobs.from = bobs.our_number = kPoolThird;
  Message elsewhere = this->MakeMessage("pool-4", this->bob_, kBobPhone, "d");
  for (const Message& m : {first, later, bobs, elsewhere}) this->Create(m);

  absl::StatusOr<PeerNumbers> ann = this->store()->FindPeerNumbers(
      this->ann_, kCarlPhone);
  ASSERT_THAT(ann, IsOk());
  EXPECT_EQ(ann->owner_last, kPoolSecond);  // the most recently updated
  EXPECT_THAT(ann->other_owners, ElementsAre(kPoolThird));

  absl::StatusOr<PeerNumbers> bob = this->store()->FindPeerNumbers(
      this->bob_, kCarlPhone);
  ASSERT_THAT(bob, IsOk());
  EXPECT_EQ(bob->owner_last, kPoolThird);
  EXPECT_THAT(bob->other_owners, ElementsAre(kOurNumber, kPoolSecond));

  absl::StatusOr<PeerNumbers> nobody = this->store()->FindPeerNumbers(
      this->ann_, "+14155550199");
  ASSERT_THAT(nobody, IsOk());
  EXPECT_EQ(nobody->owner_last, "");
  EXPECT_THAT(nobody->other_owners, IsEmpty());
}

TYPED_TEST(MessageStoreContractTest, FindPeerNumbersRejectsMissingOwnerOrPeer) {
  EXPECT_THAT(this->store()->FindPeerNumbers(0, kCarlPhone),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(this->store()->FindPeerNumbers(this->ann_, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TYPED_TEST(MessageStoreContractTest,
           CreateOnFreeNumberIsAbortedWhenAnotherOwnerHoldsTheNumber) {
  this->Create(this->MakeMessage("held", this->bob_, kCarlPhone, "bob's"));
  const int64_t before = this->factory_.CountRows("messages");
  EXPECT_THAT(this->store()->CreateOutboundOnFreeNumber(
                  this->MakeMessage("lost", this->ann_, kCarlPhone, "ann's"),
                  IdempotencyKey{"k-lost", "hash"}),
              StatusIs(absl::StatusCode::kAborted, HasSubstr(kOurNumber)));
  EXPECT_EQ(this->factory_.CountRows("messages"), before);
  EXPECT_EQ(this->factory_.CountRows("idempotency_keys"), 0);
  EXPECT_THAT(this->store()->Get("lost"),
              StatusIs(absl::StatusCode::kNotFound));
}

TYPED_TEST(MessageStoreContractTest,
           CreateOnFreeNumberStoresWhenOnlyTheOwnerHoldsTheNumber) {
  this->Create(this->MakeMessage("mine-1", this->ann_, kCarlPhone, "one"));
  Message other_number =
      this->MakeMessage("bobs", this->bob_, kCarlPhone, "bob's", 0, "b");
  other_number.from = other_number.our_number = kPoolSecond;
  this->Create(other_number);
  absl::StatusOr<CreateResult> again = this->store()->CreateOutboundOnFreeNumber(
      this->MakeMessage("mine-2", this->ann_, kCarlPhone, "two", 1), {});
  ASSERT_THAT(again, IsOk());
  EXPECT_FALSE(again->replayed);
  EXPECT_EQ(again->message.our_number, kOurNumber);
}

TYPED_TEST(MessageStoreContractTest,
           CreateOnFreeNumberReplaysAKeyEvenWhenTheNumberWasTakenSince) {
  const IdempotencyKey key{"k-replay", "hash"};
  ASSERT_THAT(this->store()->CreateOutboundOnFreeNumber(
                  this->MakeMessage("orig", this->ann_, kCarlPhone, "hi"), key),
              IsOk());
  this->Create(this->MakeMessage("bobs", this->bob_, kCarlPhone, "bob's", 1));
  absl::StatusOr<CreateResult> replay = this->store()->CreateOutboundOnFreeNumber(
      this->MakeMessage("retry", this->ann_, kCarlPhone, "hi", 2), key);
  ASSERT_THAT(replay, IsOk());
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->message.id, "orig");
}

TYPED_TEST(MessageStoreContractTest,
           ConcurrentCreatesOnAFreeNumberLetExactlyOneOwnerHaveIt) {
  constexpr int kOwners = 6;
  std::vector<int64_t> owners;
  for (int i = 0; i < kOwners; ++i) {
    owners.push_back(this->AddUser(absl::StrCat("racer", i)));
  }
  std::vector<absl::StatusCode> codes(kOwners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOwners; ++i) {
    threads.emplace_back([this, i, &owners, &codes] {
      codes[i] = this->store()
                     ->CreateOutboundOnFreeNumber(
                         this->MakeMessage(absl::StrCat("race-", i), owners[i],
                                           kCarlPhone, "hi"),
                         {})
                     .status()
                     .code();
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(std::count(codes.begin(), codes.end(), absl::StatusCode::kOk), 1);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), absl::StatusCode::kAborted),
            kOwners - 1);
}

}  // namespace
}  // namespace smsgw::storage

// MessageStore::Stats() on SQLite: counts by status, UTC day and direction,
// segments and exact price sums, windows, owners, and snapshot consistency
// while statuses change concurrently. Statuses are set with ApplyStatus()
// directly, as the dispatcher and status callbacks would.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/status_macros.h"
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
using ::testing::IsEmpty;
using ::testing::Pair;

constexpr char kOurNumber[] = "+15005550006";
constexpr char kPeer[] = "+14155550100";

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

// (status number, count) pairs, for readable matchers.
std::vector<std::pair<int, int64_t>> Counts(
    const std::vector<StatusCount>& counts) {
  std::vector<std::pair<int, int64_t>> out;
  for (const StatusCount& c : counts) {
    out.emplace_back(static_cast<int>(c.status), c.count);
  }
  return out;
}

int64_t Sum(const std::vector<StatusCount>& counts) {
  int64_t total = 0;
  for (const StatusCount& c : counts) total += c.count;
  return total;
}

constexpr int kQueued = static_cast<int>(MessageStatus::kQueued);
constexpr int kDelivered = static_cast<int>(MessageStatus::kDelivered);
constexpr int kUndelivered = static_cast<int>(MessageStatus::kUndelivered);
constexpr int kFailed = static_cast<int>(MessageStatus::kFailed);
constexpr int kReceived = static_cast<int>(MessageStatus::kReceived);

class SqliteMessageStoreStatsTest : public testing::SqliteStoresTest {
 protected:
  SqliteMessageStoreStatsTest() : SqliteStoresTest(Utc(2027, 2, 1)) {}

  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(OpenStores(/*synchronous_full=*/false));
    ann_ = AddUser("ann");
    bob_ = AddUser("bob");
  }

  int64_t AddUser(const std::string& name) {
    return testing::AddTestUser(*users_, name, Utc(2027, 1, 1));
  }

  // Stores an outbound message of `owner` created at `at` with `segments`,
  // then moves it to `status` (with `price` in `unit` when given).
  std::string AddOutbound(int64_t owner, absl::Time at, int segments,
                          MessageStatus status, const std::string& price = "",
                          const std::string& unit = "") {
    Message m = testing::PendingOutbound(absl::StrCat("msg-", ++next_id_),
                                         owner, kPeer, kOurNumber, kPeer, at);
    m.body = "hello";
    m.num_segments = segments;
    m.encoding = Encoding::kGsm7;
    EXPECT_THAT(store_->CreateOutbound(m, {}), IsOk());
    if (status != MessageStatus::kPending || !price.empty()) {
      StatusUpdate u;
      u.status = status;
      u.price = price;
      u.price_unit = unit;
      u.source = ReportSource::kStatusCallback;
      u.event_time = at + absl::Seconds(1);
      EXPECT_THAT(store_->ApplyStatus(m.id, u), IsOk());
    }
    return m.id;
  }

  // An inbound message (MessageStore has no call that creates one yet);
  // owner 0 stores an unrouted one.
  void AddInbound(int64_t owner, absl::Time at, int segments) {
    const std::string id = absl::StrCat("in-", ++next_id_);
    ASSERT_THAT(db_->Write([&](sqlite::Connection& conn) -> absl::Status {
      SMSGW_ASSIGN_OR_RETURN(
          sqlite::Statement stmt,
          conn.Prepare("INSERT INTO messages(id, owner_id, direction,"
                       " from_number, to_number, peer_number, our_number,"
                       " body, status, num_segments, create_time,"
                       " update_time) VALUES (?, ?, 2, ?, ?, ?, ?, 'hi', 10,"
                       " ?, ?, ?)"));
      stmt.Bind(1, id)
          .Bind(3, kPeer)
          .Bind(4, kOurNumber)
          .Bind(5, kPeer)
          .Bind(6, kOurNumber)
          .Bind(7, segments)
          .Bind(8, at)
          .Bind(9, at);
      if (owner == 0) {
        stmt.BindNull(2);
      } else {
        stmt.Bind(2, owner);
      }
      return stmt.Run();
    }),
                IsOk());
  }

  int64_t ann_ = 0;
  int64_t bob_ = 0;
  int next_id_ = 0;
};

TEST_F(SqliteMessageStoreStatsTest, CountsByStatusUtcDayAndDirection) {
  // Outside the window on both sides.
  AddOutbound(ann_, Utc(2027, 1, 14, 22, 59, 59), 1, MessageStatus::kDelivered);
  AddOutbound(ann_, Utc(2027, 1, 16), 1, MessageStatus::kDelivered);
  // Day 1: the window's first instant and the day's last microsecond.
  AddOutbound(ann_, Utc(2027, 1, 14, 23), 2, MessageStatus::kDelivered,
              "-0.01580", "USD");
  AddOutbound(ann_, Utc(2027, 1, 15) - absl::Microseconds(1), 1,
              MessageStatus::kFailed);
  // Day 2, from its first microsecond.
  AddOutbound(ann_, Utc(2027, 1, 15), 3, MessageStatus::kUndelivered,
              "-0.02370", "USD");
  AddOutbound(ann_, Utc(2027, 1, 15, 12), 1, MessageStatus::kQueued);
  AddInbound(ann_, Utc(2027, 1, 15, 13), 5);  // inbound segments not summed
  // Other owners' messages never count.
  AddOutbound(bob_, Utc(2027, 1, 15, 9), 4, MessageStatus::kDelivered,
              "-0.03160", "USD");
  AddInbound(0, Utc(2027, 1, 15, 9), 1);

  SMSGW_ASSERT_OK_AND_ASSIGN(
      MessageStats stats,
      store_->Stats(ann_, Utc(2027, 1, 14, 23), Utc(2027, 1, 16)));
  EXPECT_THAT(
      Counts(stats.status_counts),
      ElementsAre(Pair(kQueued, 1), Pair(kDelivered, 1), Pair(kUndelivered, 1),
                  Pair(kFailed, 1), Pair(kReceived, 1)));
  EXPECT_THAT(Counts(stats.outbound_status_counts),
              ElementsAre(Pair(kQueued, 1), Pair(kDelivered, 1),
                          Pair(kUndelivered, 1), Pair(kFailed, 1)));
  EXPECT_EQ(stats.outbound_count, 4);
  EXPECT_EQ(stats.inbound_count, 1);
  EXPECT_EQ(stats.total_segments, 7);
  ASSERT_EQ(stats.days.size(), 2u);
  EXPECT_EQ(stats.days[0].date, "2027-01-14");
  EXPECT_THAT(Counts(stats.days[0].status_counts),
              ElementsAre(Pair(kDelivered, 1), Pair(kFailed, 1)));
  EXPECT_EQ(stats.days[0].total_segments, 3);
  EXPECT_EQ(stats.days[0].outbound_count, 2);
  EXPECT_EQ(stats.days[0].inbound_count, 0);
  EXPECT_EQ(stats.days[1].date, "2027-01-15");
  EXPECT_THAT(
      Counts(stats.days[1].status_counts),
      ElementsAre(Pair(kQueued, 1), Pair(kUndelivered, 1), Pair(kReceived, 1)));
  EXPECT_EQ(stats.days[1].total_segments, 4);
  EXPECT_EQ(stats.days[1].outbound_count, 2);
  EXPECT_EQ(stats.days[1].inbound_count, 1);
  ASSERT_EQ(stats.prices.size(), 1u);
  EXPECT_EQ(stats.prices[0].unit, "USD");
  EXPECT_EQ(stats.prices[0].micros, -39500);
  EXPECT_EQ(stats.prices[0].priced_count, 2);
}

TEST_F(SqliteMessageStoreStatsTest, CountsTheCurrentStatusAfterCallbacks) {
  const std::string id =
      AddOutbound(ann_, Utc(2027, 1, 15), 1, MessageStatus::kQueued);
  StatusUpdate delivered;
  delivered.status = MessageStatus::kDelivered;
  delivered.source = ReportSource::kStatusCallback;
  delivered.event_time = Utc(2027, 1, 15, 0, 1);
  ASSERT_THAT(store_->ApplyStatus(id, delivered), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(
      MessageStats stats,
      store_->Stats(ann_, absl::InfinitePast(), absl::InfiniteFuture()));
  EXPECT_THAT(Counts(stats.status_counts), ElementsAre(Pair(kDelivered, 1)));
}

TEST_F(SqliteMessageStoreStatsTest, PriceSumIsExactInMicroUnits) {
  // 250 x -0.00790 is exactly -1.975; summing doubles drifts off it.
  for (int i = 0; i < 250; ++i) {
    AddOutbound(ann_, Utc(2027, 1, 15) + absl::Seconds(i), 1,
                MessageStatus::kSent, "-0.00790", "USD");
  }
  AddOutbound(ann_, Utc(2027, 1, 15, 1), 1, MessageStatus::kSent, "0.000001",
              "USD");
  AddOutbound(ann_, Utc(2027, 1, 15, 2), 1, MessageStatus::kSent, "1234.56789",
              "USD");
  // As doubles 0.7 + 0.1 is 0.7999999999999999: truncated, a micro short.
  AddOutbound(ann_, Utc(2027, 1, 15, 4), 1, MessageStatus::kSent, "0.70000",
              "USD");
  AddOutbound(ann_, Utc(2027, 1, 15, 5), 1, MessageStatus::kSent, "0.10000",
              "USD");
  AddOutbound(ann_, Utc(2027, 1, 15, 3), 1, MessageStatus::kSent);  // no price
  SMSGW_ASSERT_OK_AND_ASSIGN(
      MessageStats stats,
      store_->Stats(ann_, absl::InfinitePast(), absl::InfiniteFuture()));
  ASSERT_EQ(stats.prices.size(), 1u);
  EXPECT_EQ(stats.prices[0].micros, -1'975'000 + 1 + 1'234'567'890 + 800'000);
  EXPECT_EQ(stats.prices[0].priced_count, 254);
}

TEST_F(SqliteMessageStoreStatsTest, PricesAreSummedPerUnitMostUsedFirst) {
  AddOutbound(ann_, Utc(2027, 1, 15, 1), 1, MessageStatus::kSent, "-0.07000",
              "USD");
  for (int i = 0; i < 2; ++i) {
    AddOutbound(ann_, Utc(2027, 1, 15, 2, i), 1, MessageStatus::kSent,
                "-0.05000", "EUR");
  }
  AddOutbound(ann_, Utc(2027, 1, 15, 3), 1, MessageStatus::kSent, "-0.01000",
              "GBP");
  SMSGW_ASSERT_OK_AND_ASSIGN(
      MessageStats stats,
      store_->Stats(ann_, absl::InfinitePast(), absl::InfiniteFuture()));
  ASSERT_EQ(stats.prices.size(), 3u);
  EXPECT_EQ(stats.prices[0].unit, "EUR");
  EXPECT_EQ(stats.prices[0].micros, -100'000);
  EXPECT_EQ(stats.prices[0].priced_count, 2);
  // Ties in count: unit order.
  EXPECT_EQ(stats.prices[1].unit, "GBP");
  EXPECT_EQ(stats.prices[2].unit, "USD");
  EXPECT_EQ(stats.prices[2].micros, -70'000);
}

TEST_F(SqliteMessageStoreStatsTest, EmptyWindowsCountNothing) {
  AddOutbound(ann_, Utc(2027, 1, 15), 1, MessageStatus::kQueued);
  for (const auto& [start, end] :
       {std::make_pair(Utc(2027, 1, 15), Utc(2027, 1, 15)),  // [t, t)
        std::make_pair(Utc(2027, 1, 16), Utc(2027, 1, 17))}) {
    SMSGW_ASSERT_OK_AND_ASSIGN(MessageStats stats,
                               store_->Stats(ann_, start, end));
    EXPECT_THAT(stats.status_counts, IsEmpty());
    EXPECT_THAT(stats.days, IsEmpty());
    EXPECT_THAT(stats.prices, IsEmpty());
    EXPECT_EQ(stats.outbound_count, 0);
    EXPECT_EQ(stats.total_segments, 0);
  }
  SMSGW_ASSERT_OK_AND_ASSIGN(
      MessageStats none,
      store_->Stats(bob_, absl::InfinitePast(), absl::InfiniteFuture()));
  EXPECT_THAT(none.status_counts, IsEmpty());
}

TEST_F(SqliteMessageStoreStatsTest, StartAfterEndIsInvalidArgument) {
  EXPECT_THAT(store_->Stats(ann_, Utc(2027, 1, 16), Utc(2027, 1, 15)),
              testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

// While another thread moves messages QUEUED -> SENT -> DELIVERED, every
// Stats() result must be one snapshot: the per-status, per-day and
// per-direction figures agree, and delivered counts never go backwards.
TEST_F(SqliteMessageStoreStatsTest, FiguresAgreeWhileCallbacksLand) {
  constexpr int kMessages = 60;
  std::vector<std::string> ids;
  for (int i = 0; i < kMessages; ++i) {
    // Spread over three UTC days.
    ids.push_back(AddOutbound(ann_, Utc(2027, 1, 14) + absl::Hours(i), 1,
                              MessageStatus::kQueued));
  }
  std::atomic<bool> done{false};
  std::thread callbacks([&] {
    for (MessageStatus status :
         {MessageStatus::kSent, MessageStatus::kDelivered}) {
      for (const std::string& id : ids) {
        StatusUpdate u;
        u.status = status;
        u.price = status == MessageStatus::kDelivered ? "-0.00790" : "";
        u.price_unit = u.price.empty() ? "" : "USD";
        u.source = ReportSource::kStatusCallback;
        u.event_time = Utc(2027, 1, 20);
        EXPECT_THAT(store_->ApplyStatus(id, u), IsOk());
      }
    }
    done = true;
  });
  int64_t last_delivered = 0;
  int rounds = 0;
  while (!done || rounds == 0) {
    ++rounds;
    absl::StatusOr<MessageStats> stats =
        store_->Stats(ann_, absl::InfinitePast(), absl::InfiniteFuture());
    ASSERT_THAT(stats, IsOk());
    EXPECT_EQ(Sum(stats->status_counts), kMessages);
    EXPECT_EQ(stats->outbound_count, kMessages);
    int64_t by_day = 0;
    int64_t delivered_by_day = 0;
    for (const DailyMessageStats& day : stats->days) {
      by_day += Sum(day.status_counts);
      for (const StatusCount& c : day.status_counts) {
        if (c.status == MessageStatus::kDelivered) delivered_by_day += c.count;
      }
    }
    EXPECT_EQ(by_day, kMessages);
    int64_t delivered = 0;
    for (const StatusCount& c : stats->status_counts) {
      if (c.status == MessageStatus::kDelivered) delivered = c.count;
    }
    EXPECT_EQ(delivered_by_day, delivered);
    const int64_t priced =
        stats->prices.empty() ? 0 : stats->prices[0].priced_count;
    EXPECT_EQ(priced, delivered);  // the price came with DELIVERED
    EXPECT_GE(delivered, last_delivered);
    last_delivered = delivered;
  }
  callbacks.join();
  SMSGW_ASSERT_OK_AND_ASSIGN(
      MessageStats final_stats,
      store_->Stats(ann_, absl::InfinitePast(), absl::InfiniteFuture()));
  EXPECT_THAT(Counts(final_stats.status_counts),
              ElementsAre(Pair(kDelivered, kMessages)));
  EXPECT_EQ(final_stats.days.size(), 3u);
  ASSERT_EQ(final_stats.prices.size(), 1u);
  EXPECT_EQ(final_stats.prices[0].micros, -7'900 * kMessages);
}

}  // namespace
}  // namespace smsgw::storage

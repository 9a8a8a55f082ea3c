// GetMessageStats' rules: price formatting, the delivery rate, and
// MessagingService::Stats() (window defaults, bad ranges, who may see whose
// figures) over the real SQLite stores.
#include "server/domain/message_stats.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/domain/messaging_service.h"
#include "server/domain/phone_number.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/testing/sqlite_test_db.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::domain {
namespace {

using storage::MessageStatus;
using storage::StatusCount;

TEST(FormatPriceMicrosTest, PrintsTwilioStyleDecimals) {
  const struct {
    int64_t micros;
    const char* want;
  } cases[] = {
      {0, "0.00000"},
      {-7'900, "-0.00790"},
      {-23'700, "-0.02370"},
      {-1'975'000, "-1.97500"},
      {1, "0.000001"},
      {-1'234'567'891, "-1234.567891"},
      {10, "0.00001"},
      {5'000'000, "5.00000"},
      {std::numeric_limits<int64_t>::max(), "9223372036854.775807"},
      {std::numeric_limits<int64_t>::min(), "-9223372036854.775808"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(FormatPriceMicros(c.micros), c.want) << c.micros;
  }
}

TEST(DeliveryRateTest, IsDeliveredOverTerminalOutcomes) {
  EXPECT_EQ(DeliveryRate({}), 0.0);
  EXPECT_EQ(DeliveryRate(
                {{MessageStatus::kQueued, 5}, {MessageStatus::kCanceled, 2}}),
            0.0);
  EXPECT_EQ(DeliveryRate({{MessageStatus::kDelivered, 3}}), 1.0);
  EXPECT_DOUBLE_EQ(DeliveryRate({{MessageStatus::kSent, 9},
                                 {MessageStatus::kDelivered, 3},
                                 {MessageStatus::kUndelivered, 1},
                                 {MessageStatus::kFailed, 2},
                                 {MessageStatus::kCanceled, 4}}),
                   0.5);
}

TEST(SummarizeStatsTest, TakesTheMostUsedCurrencyAndKeepsTheWindow) {
  storage::MessageStats counts;
  counts.outbound_status_counts = {{MessageStatus::kDelivered, 1},
                                   {MessageStatus::kFailed, 3}};
  counts.prices = {{"EUR", -100'000, 2}, {"USD", -7'900, 1}};
  const absl::Time start = absl::FromUnixSeconds(100);
  const absl::Time end = absl::FromUnixSeconds(200);
  MessageStatsReport report = SummarizeStats(counts, start, end);
  EXPECT_DOUBLE_EQ(report.delivery_rate, 0.25);
  EXPECT_EQ(report.total_price, "-0.10000");
  EXPECT_EQ(report.price_unit, "EUR");
  EXPECT_EQ(report.start_time, start);
  EXPECT_EQ(report.end_time, end);

  MessageStatsReport unpriced =
      SummarizeStats(storage::MessageStats(), start, end);
  EXPECT_EQ(unpriced.total_price, "0");
  EXPECT_EQ(unpriced.price_unit, "");
  EXPECT_EQ(unpriced.delivery_rate, 0.0);
}

const absl::Time kNow = absl::FromCivil(
    absl::CivilSecond(2027, 3, 10, 12, 0, 0), absl::UTCTimeZone());

class MessagingServiceStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::OpenTestDatabase(dir_, /*synchronous_full=*/false);
    ASSERT_NE(db_, nullptr);
    users_ = std::make_unique<storage::sqlite::SqliteUserStore>(db_.get());
    messages_ = std::make_unique<storage::sqlite::SqliteMessageStore>(db_.get(),
                                                                      &clock_);
    service_ = std::make_unique<MessagingService>(
        messages_.get(), users_.get(), /*queue=*/nullptr, &phones_, &clock_,
        MessagingService::Options());
    ann_ = AddUser("ann", false);
    bob_ = AddUser("bob", false);
    root_ = AddUser("root", true);
  }

  storage::User AddUser(const std::string& name, bool admin) {
    storage::User user;
    user.username = name;
    user.password_hash = "$argon2id$fake";
    user.admin = admin;
    user.create_time = user.update_time = kNow - absl::Hours(24 * 400);
    absl::StatusOr<storage::User> stored = users_->Insert(user);
    EXPECT_THAT(stored, IsOk());
    return stored.ok() ? *stored : user;
  }

  // An outbound message of `owner` created at `at`, moved to `status`.
  void AddOutbound(const storage::User& owner, absl::Time at,
                   MessageStatus status, const std::string& price = "") {
    storage::Message m;
    m.id = absl::StrCat("m-", ++next_id_);
    m.owner_id = owner.id;
    m.conversation_id = "+14155550100";
    m.direction = storage::Direction::kOutbound;
    m.from = m.our_number = "+15005550006";
    m.to = m.peer_number = "+14155550100";
    m.body = "hi";
    m.num_segments = 2;
    m.create_time = m.update_time = at;
    ASSERT_THAT(messages_->CreateOutbound(m, {}), IsOk());
    storage::StatusUpdate u;
    u.status = status;
    u.price = price;
    u.price_unit = price.empty() ? "" : "USD";
    u.source = storage::ReportSource::kStatusCallback;
    u.event_time = at;
    ASSERT_THAT(messages_->ApplyStatus(m.id, u), IsOk());
  }

  smsgw::testing::TempDir dir_;
  smsgw::testing::FakeClock clock_{kNow};
  PhoneNumberParser phones_;
  std::unique_ptr<storage::sqlite::Database> db_;
  std::unique_ptr<storage::UserStore> users_;
  std::unique_ptr<storage::MessageStore> messages_;
  std::unique_ptr<MessagingService> service_;
  storage::User ann_;
  storage::User bob_;
  storage::User root_;
  int next_id_ = 0;
};

TEST_F(MessagingServiceStatsTest, ReportsTheCallersFiguresWithRateAndPrice) {
  AddOutbound(ann_, kNow - absl::Hours(30), MessageStatus::kDelivered,
              "-0.01580");
  AddOutbound(ann_, kNow - absl::Hours(2), MessageStatus::kDelivered,
              "-0.01580");
  AddOutbound(ann_, kNow - absl::Hours(1), MessageStatus::kFailed);
  AddOutbound(ann_, kNow - absl::Hours(1), MessageStatus::kQueued);
  AddOutbound(bob_, kNow - absl::Hours(1), MessageStatus::kUndelivered);

  SMSGW_ASSERT_OK_AND_ASSIGN(
      MessageStatsReport report,
      service_->Stats(ann_, std::nullopt, std::nullopt, ""));
  EXPECT_EQ(report.counts.outbound_count, 4);
  EXPECT_EQ(report.counts.total_segments, 8);
  EXPECT_DOUBLE_EQ(report.delivery_rate, 2.0 / 3.0);
  EXPECT_EQ(report.total_price, "-0.03160");
  EXPECT_EQ(report.price_unit, "USD");
  ASSERT_EQ(report.counts.days.size(), 2u);
  EXPECT_EQ(report.counts.days[0].date, "2027-03-09");
  EXPECT_EQ(report.counts.days[1].date, "2027-03-10");
  // Unset bounds: everything up to now.
  EXPECT_EQ(report.start_time, absl::InfinitePast());
  EXPECT_EQ(report.end_time, kNow);

  SMSGW_ASSERT_OK_AND_ASSIGN(
      MessageStatsReport recent,
      service_->Stats(ann_, kNow - absl::Hours(3), std::nullopt, ""));
  EXPECT_EQ(recent.counts.outbound_count, 3);
  EXPECT_DOUBLE_EQ(recent.delivery_rate, 0.5);
}

TEST_F(MessagingServiceStatsTest, UnsetEndIsNowSoLaterMessagesWait) {
  AddOutbound(ann_, kNow + absl::Minutes(5), MessageStatus::kQueued);
  SMSGW_ASSERT_OK_AND_ASSIGN(
      MessageStatsReport before,
      service_->Stats(ann_, std::nullopt, std::nullopt, ""));
  EXPECT_EQ(before.counts.outbound_count, 0);
  clock_.Advance(absl::Minutes(6));
  SMSGW_ASSERT_OK_AND_ASSIGN(
      MessageStatsReport after,
      service_->Stats(ann_, std::nullopt, std::nullopt, ""));
  EXPECT_EQ(after.counts.outbound_count, 1);
}

TEST_F(MessagingServiceStatsTest, StartAfterEndIsInvalidArgument) {
  EXPECT_THAT(
      service_->Stats(ann_, kNow, kNow - absl::Seconds(1), ""),
      StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("start_time")));
  // Without end_time, "end" is now.
  EXPECT_THAT(service_->Stats(ann_, kNow + absl::Hours(1), std::nullopt, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("now")));
  EXPECT_THAT(service_->Stats(ann_, kNow, kNow, ""), IsOk());
}

TEST_F(MessagingServiceStatsTest, OnlyAdminsMayNameAnotherUser) {
  AddOutbound(ann_, kNow - absl::Hours(1), MessageStatus::kDelivered);
  EXPECT_THAT(service_->Stats(bob_, std::nullopt, std::nullopt, "ann"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  SMSGW_ASSERT_OK_AND_ASSIGN(
      MessageStatsReport bobs,
      service_->Stats(bob_, std::nullopt, std::nullopt, ""));
  EXPECT_EQ(bobs.counts.outbound_count, 0);
  SMSGW_ASSERT_OK_AND_ASSIGN(
      MessageStatsReport anns,
      service_->Stats(root_, std::nullopt, std::nullopt, "ANN"));
  EXPECT_EQ(anns.counts.outbound_count, 1);
  EXPECT_DOUBLE_EQ(anns.delivery_rate, 1.0);
  EXPECT_THAT(service_->Stats(root_, std::nullopt, std::nullopt, "nobody"),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace smsgw::domain

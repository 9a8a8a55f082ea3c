// Daily segment quotas in SqliteMessageStore (issue 18, item 4): the charge
// is made in the transaction that stores the message, after the idempotency
// check; a refused charge stores nothing; a user's own quota overrides the
// default; days are counted apart.
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/message_store.h"
#include "tests/testing/sqlite_test_db.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::storage {
namespace {

using ::testing::HasSubstr;

const absl::Time kNoon = absl::FromCivil(absl::CivilSecond(2027, 3, 4, 12, 0, 0),
                                         absl::UTCTimeZone());

class QuotaChargeTest : public testing::SqliteStoresTest {
 protected:
  QuotaChargeTest() : SqliteStoresTest(kNoon) {}
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(OpenStores(/*synchronous_full=*/false));
    ann_ = testing::AddTestUser(*users_, "ann", kNoon);
  }

  Message Outbound(const std::string& id, int segments = 1) {
    Message m = testing::PendingOutbound(id, ann_, "+14155550100",
                                         "+15005550006", "+14155550100", kNoon);
    m.num_segments = segments;
    return m;
  }

  QuotaCharge Charge(int64_t segments, int64_t quota,
                     absl::Time day = UtcDayStart(kNoon)) {
    return QuotaCharge{ann_, segments, quota, day};
  }

  int64_t Used(int64_t quota = 0, absl::Time day = UtcDayStart(kNoon)) {
    absl::StatusOr<QuotaUsage> usage = store_->GetQuotaUsage(ann_, quota, day);
    EXPECT_THAT(usage, IsOk());
    return usage.ok() ? usage->used : -1;
  }

  int64_t ann_ = 0;
};

TEST_F(QuotaChargeTest, ChargesUntilTheQuotaAndThenStoresNothing) {
  EXPECT_THAT(store_->CreateOutbound(Outbound("m1", 2), std::nullopt,
                                     Charge(2, 3)),
              IsOk());
  EXPECT_EQ(Used(), 2);
  absl::StatusOr<CreateResult> refused = store_->CreateOutbound(
      Outbound("m2", 2), IdempotencyKey{"k2", "hash"}, Charge(2, 3));
  EXPECT_THAT(refused,
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("daily quota of 3 segments reached: 2 used "
                                 "today, this send needs 2; the quota resets "
                                 "at 2027-03-05T00:00:00+00:00")));
  EXPECT_THAT(store_->Get("m2"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(Used(), 2);
  // The key was not stored: the same key with a new request is a new send.
  EXPECT_THAT(store_->CreateOutbound(Outbound("m3"),
                                     IdempotencyKey{"k2", "other"},
                                     Charge(1, 3)),
              IsOk());
  EXPECT_EQ(Used(), 3);
}

TEST_F(QuotaChargeTest, AReplayIsNotCharged) {
  const IdempotencyKey key{"k", "hash"};
  ASSERT_THAT(store_->CreateOutbound(Outbound("m1"), key, Charge(1, 1)),
              IsOk());
  // The quota is used up, yet the replay returns the original.
  absl::StatusOr<CreateResult> replay =
      store_->CreateOutbound(Outbound("m2"), key, Charge(1, 1));
  ASSERT_THAT(replay, IsOk());
  EXPECT_TRUE(replay->replayed);
  EXPECT_EQ(replay->message.id, "m1");
  EXPECT_EQ(Used(), 1);
}

TEST_F(QuotaChargeTest, NoQuotaStillCountsAndOwnQuotaOverridesTheDefault) {
  ASSERT_THAT(store_->CreateOutbound(Outbound("m1", 5), std::nullopt,
                                     Charge(5, 0)),
              IsOk());
  EXPECT_EQ(Used(), 5);
  ASSERT_THAT(users_->SetDailySegmentQuota(ann_, 6), IsOk());
  absl::StatusOr<QuotaUsage> usage =
      store_->GetQuotaUsage(ann_, 100, UtcDayStart(kNoon));
  ASSERT_THAT(usage, IsOk());
  EXPECT_EQ(usage->quota, 6);
  EXPECT_THAT(store_->CreateOutbound(Outbound("m2", 2), std::nullopt,
                                     Charge(2, 100)),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("daily quota of 6 segments")));
  EXPECT_THAT(users_->SetDailySegmentQuota(ann_, -1),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(users_->SetDailySegmentQuota(ann_, 0), IsOk());
  EXPECT_EQ(store_->GetQuotaUsage(ann_, 100, UtcDayStart(kNoon))->quota, 100);
}

TEST_F(QuotaChargeTest, EachUtcDayCountsApart) {
  ASSERT_THAT(store_->CreateOutbound(Outbound("m1"), std::nullopt,
                                     Charge(1, 1)),
              IsOk());
  const absl::Time tomorrow = UtcDayStart(kNoon) + absl::Hours(24);
  EXPECT_EQ(UtcDayStart(kNoon + absl::Hours(12)), tomorrow);
  EXPECT_THAT(store_->CreateOutbound(Outbound("m2"), std::nullopt,
                                     Charge(1, 1, tomorrow)),
              IsOk());
  EXPECT_EQ(Used(0, tomorrow), 1);
  EXPECT_EQ(Used(), 1);
}

TEST_F(QuotaChargeTest, ABatchIsChargedAsAWhole) {
  std::vector<Message> batch = {Outbound("b1"), Outbound("b2"),
                                Outbound("b3")};
  batch[1].conversation_id = batch[2].conversation_id = "";
  EXPECT_THAT(store_->CreateOutboundBatch(batch, Charge(3, 2)),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(store_->Get("b1"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(Used(), 0);
  EXPECT_THAT(store_->CreateOutboundBatch(batch, Charge(3, 3)), IsOk());
  EXPECT_EQ(Used(), 3);
}

TEST_F(QuotaChargeTest, UnknownUserIsNotFound) {
  EXPECT_THAT(store_->GetQuotaUsage(999, 0, UtcDayStart(kNoon)),
              StatusIs(absl::StatusCode::kNotFound));
  QuotaCharge charge = Charge(1, 1);
  charge.user_id = 999;
  EXPECT_THAT(store_->CreateOutbound(Outbound("m1"), std::nullopt, charge),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace smsgw::storage

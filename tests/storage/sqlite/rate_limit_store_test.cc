// SqliteRateLimitStore on a real SQLite file: sliding windows, several keys
// admitted all or none, the retry time, pruning, and bad limits refused.
#include "storage/sqlite/sqlite_rate_limit_store.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite/database.h"
#include "tests/testing/sqlite_test_db.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::storage::sqlite {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

class RateLimitStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::OpenTestDatabase(dir_);
    ASSERT_NE(db_, nullptr);
    store_ = std::make_unique<SqliteRateLimitStore>(db_.get());
  }

  bool Admitted(const std::vector<RateLimit>& limits, absl::Time at) {
    absl::StatusOr<Admission> a = store_->Admit(limits, at);
    EXPECT_THAT(a, IsOk());
    return a.ok() && a->admitted;
  }

  int64_t Events() {
    int64_t n = -1;
    EXPECT_THAT(db_->Read([&](Connection& conn) -> absl::Status {
      absl::StatusOr<Statement> stmt =
          conn.Prepare("SELECT COUNT(*) FROM rate_events");
      if (!stmt.ok()) return stmt.status();
      absl::StatusOr<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      n = stmt->Int(0);
      return absl::OkStatus();
    }),
                IsOk());
    return n;
  }

  testing::TempDir dir_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<SqliteRateLimitStore> store_;
};

TEST_F(RateLimitStoreTest, SlidingWindowAdmitsUpToTheLimit) {
  const RateLimit limit{"k", 3, absl::Minutes(10)};
  EXPECT_TRUE(Admitted({limit}, kT0));
  EXPECT_TRUE(Admitted({limit}, kT0 + absl::Minutes(1)));
  EXPECT_TRUE(Admitted({limit}, kT0 + absl::Minutes(2)));
  absl::StatusOr<Admission> full = store_->Admit({limit}, kT0 + absl::Minutes(3));
  ASSERT_THAT(full, IsOk());
  EXPECT_FALSE(full->admitted);
  // Room comes back when the oldest of the three leaves the window.
  EXPECT_EQ(full->retry_time, kT0 + absl::Minutes(10));
  EXPECT_FALSE(Admitted({limit}, kT0 + absl::Minutes(10) - absl::Seconds(1)));
  // At the retry time the window (now - 10 min, now] no longer holds it.
  EXPECT_TRUE(Admitted({limit}, kT0 + absl::Minutes(10)));
}

TEST_F(RateLimitStoreTest, AllKeysOrNone) {
  const RateLimit shared{"all", 10, absl::Hours(1)};
  const RateLimit a{"peer/a", 1, absl::Hours(1)};
  const RateLimit b{"peer/b", 1, absl::Hours(1)};
  EXPECT_TRUE(Admitted({shared, a}, kT0));
  // a is full: nothing is recorded, not even for the shared key.
  absl::StatusOr<Admission> refused =
      store_->Admit({shared, a}, kT0 + absl::Seconds(1));
  ASSERT_THAT(refused, IsOk());
  EXPECT_FALSE(refused->admitted);
  EXPECT_EQ(refused->limit_index, 1u);
  EXPECT_EQ(refused->retry_time, kT0 + absl::Hours(1));
  EXPECT_EQ(Events(), 2);
  EXPECT_TRUE(Admitted({shared, b}, kT0 + absl::Seconds(2)));
}

TEST_F(RateLimitStoreTest, ReportsTheLimitThatFreesUpLast) {
  const RateLimit short_one{"s", 1, absl::Minutes(1)};
  const RateLimit long_one{"l", 1, absl::Hours(1)};
  EXPECT_TRUE(Admitted({short_one, long_one}, kT0));
  absl::StatusOr<Admission> refused =
      store_->Admit({short_one, long_one}, kT0 + absl::Seconds(5));
  ASSERT_THAT(refused, IsOk());
  EXPECT_EQ(refused->limit_index, 1u);
  EXPECT_EQ(refused->retry_time, kT0 + absl::Hours(1));
}

TEST_F(RateLimitStoreTest, ExpiredEventsAreDeleted) {
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(Admitted({{"once/" + std::to_string(i), 1, absl::Minutes(1)}},
                         kT0));
  }
  EXPECT_TRUE(Admitted({{"later", 1, absl::Minutes(1)}},
                       kT0 + absl::Minutes(2)));
  EXPECT_EQ(Events(), 1);
}

TEST_F(RateLimitStoreTest, BadLimitsAreRefusedAndRecordNothing) {
  const std::vector<std::vector<RateLimit>> bad = {
      {},
      {{"", 1, absl::Hours(1)}},
      {{std::string(201, 'k'), 1, absl::Hours(1)}},
      {{"k", 0, absl::Hours(1)}},
      {{"k", 1, absl::ZeroDuration()}},
      {{"k", 1, absl::Hours(24 * 32)}},
      {{"ok", 1, absl::Hours(1)}, {"k", -5, absl::Hours(1)}},
  };
  for (const auto& limits : bad) {
    EXPECT_THAT(store_->Admit(limits, kT0),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_EQ(Events(), 0);
}

}  // namespace
}  // namespace smsgw::storage::sqlite

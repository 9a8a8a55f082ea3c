// The RateLimitStore contract on both engines (SQLite on a real file,
// PostgreSQL on a fresh database of a throwaway server): sliding windows,
// several keys admitted all or none, the retry time, pruning, bad limits
// refused, and concurrent callers on two replicas never both taking the
// last slot.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/postgres/pg_rate_limit_store.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_rate_limit_store.h"
#include "tests/testing/pg_test_db.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/sqlite_test_db.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::storage {
namespace {

using ::testing::ElementsAre;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

class SqliteFactory {
 public:
  SqliteFactory() {
    db_ = testing::OpenTestDatabase(dir_);
    store_ = std::make_unique<sqlite::SqliteRateLimitStore>(db_.get());
    second_ = std::make_unique<sqlite::SqliteRateLimitStore>(db_.get());
  }
  absl::Status available() const { return absl::OkStatus(); }
  RateLimitStore* store() { return store_.get(); }
  // SQLite has one writer per file: a second store on the same database.
  RateLimitStore* replica() { return second_.get(); }
  int64_t Events() {
    int64_t n = -1;
    EXPECT_THAT(db_->Read([&](sqlite::Connection& conn) -> absl::Status {
      absl::StatusOr<sqlite::Statement> stmt =
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

 private:
  testing::TempDir dir_;
  std::unique_ptr<sqlite::Database> db_;
  std::unique_ptr<RateLimitStore> store_;
  std::unique_ptr<RateLimitStore> second_;
};

class PostgresFactory {
 public:
  PostgresFactory() {
    if (!db_.status().ok()) return;
    absl::StatusOr<std::unique_ptr<postgres::PgPool>> other = db_.NewPool();
    if (!other.ok()) {
      status_ = other.status();
      return;
    }
    other_pool_ = *std::move(other);
    store_ = std::make_unique<postgres::PgRateLimitStore>(db_.pool());
    second_ = std::make_unique<postgres::PgRateLimitStore>(other_pool_.get());
  }
  absl::Status available() const {
    return db_.status().ok() ? status_ : db_.status();
  }
  RateLimitStore* store() { return store_.get(); }
  // Another replica: its own pool on the same database.
  RateLimitStore* replica() { return second_.get(); }
  int64_t Events() {
    int64_t n = -1;
    EXPECT_THAT(db_.pool()->WithConnection([&](postgres::PgConnection& c)
                                               -> absl::Status {
      absl::StatusOr<postgres::PgResult> r =
          c.Execute("SELECT COUNT(*) FROM rate_events");
      if (!r.ok()) return r.status();
      n = r->Int(0, 0);
      return absl::OkStatus();
    }),
                IsOk());
    return n;
  }

 private:
  testing::PgTestDatabase db_;
  absl::Status status_;
  std::unique_ptr<postgres::PgPool> other_pool_;
  std::unique_ptr<RateLimitStore> store_;
  std::unique_ptr<RateLimitStore> second_;
};

template <typename Factory>
class RateLimitStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { SMSGW_REQUIRE_DATABASE(factory_.available()); }
  RateLimitStore* store() { return factory_.store(); }
  bool Admitted(const std::vector<RateLimit>& limits, absl::Time at) {
    absl::StatusOr<Admission> a = store()->Admit(limits, at);
    EXPECT_THAT(a, IsOk());
    return a.ok() && a->admitted;
  }
  Factory factory_;
};

using Engines = ::testing::Types<SqliteFactory, PostgresFactory>;
TYPED_TEST_SUITE(RateLimitStoreTest, Engines);

TYPED_TEST(RateLimitStoreTest, SlidingWindowAdmitsUpToTheLimit) {
  const RateLimit limit{"k", 3, absl::Minutes(10)};
  EXPECT_TRUE(this->Admitted({limit}, kT0));
  EXPECT_TRUE(this->Admitted({limit}, kT0 + absl::Minutes(1)));
  EXPECT_TRUE(this->Admitted({limit}, kT0 + absl::Minutes(2)));
  absl::StatusOr<Admission> full =
      this->store()->Admit({limit}, kT0 + absl::Minutes(3));
  ASSERT_THAT(full, IsOk());
  EXPECT_FALSE(full->admitted);
  // Room comes back when the oldest of the three leaves the window.
  EXPECT_EQ(full->retry_time, kT0 + absl::Minutes(10));
  EXPECT_FALSE(
      this->Admitted({limit}, kT0 + absl::Minutes(10) - absl::Seconds(1)));
  // At the retry time the window (now - 10 min, now] no longer holds it.
  EXPECT_TRUE(this->Admitted({limit}, kT0 + absl::Minutes(10)));
}

TYPED_TEST(RateLimitStoreTest, AdmissionsCountTheWindowAndCheckRecordsNothing) {
  const RateLimit a{"a", 3, absl::Minutes(10)};
  const RateLimit b{"b", 5, absl::Minutes(10)};
  SMSGW_ASSERT_OK_AND_ASSIGN(Admission first, this->store()->Admit({a, b}, kT0));
  EXPECT_THAT(first.counts, ElementsAre(1, 1));
  ASSERT_TRUE(this->Admitted({b}, kT0 + absl::Minutes(1)));
  SMSGW_ASSERT_OK_AND_ASSIGN(Admission checked,
                             this->store()->Check({a, b}, kT0 + absl::Minutes(2)));
  EXPECT_TRUE(checked.admitted);
  EXPECT_THAT(checked.counts, ElementsAre(1, 2));  // nothing recorded
  SMSGW_ASSERT_OK_AND_ASSIGN(checked,
                             this->store()->Check({a, b}, kT0 + absl::Minutes(2)));
  EXPECT_THAT(checked.counts, ElementsAre(1, 2));
  // Full: Check says when it frees up, as Admit does.
  ASSERT_TRUE(this->Admitted({a}, kT0 + absl::Minutes(3)));
  ASSERT_TRUE(this->Admitted({a}, kT0 + absl::Minutes(4)));
  SMSGW_ASSERT_OK_AND_ASSIGN(checked,
                             this->store()->Check({a}, kT0 + absl::Minutes(5)));
  EXPECT_FALSE(checked.admitted);
  EXPECT_EQ(checked.retry_time, kT0 + absl::Minutes(10));
}

TYPED_TEST(RateLimitStoreTest, ForgetDeletesAKeyAndForgetNewestOneEvent) {
  const RateLimit a{"a", 3, absl::Minutes(10)};
  const RateLimit b{"b", 3, absl::Minutes(10)};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(this->Admitted({a, b}, kT0 + absl::Minutes(i)));
  }
  ASSERT_THAT(this->store()->Forget("a"), IsOk());
  ASSERT_THAT(this->store()->ForgetNewest("b"), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(Admission checked,
                             this->store()->Check({a, b}, kT0 + absl::Minutes(3)));
  EXPECT_THAT(checked.counts, ElementsAre(0, 2));
  // The newest went: b is full again 10 min after its second event.
  ASSERT_TRUE(this->Admitted({b}, kT0 + absl::Minutes(3)));
  SMSGW_ASSERT_OK_AND_ASSIGN(checked,
                             this->store()->Check({b}, kT0 + absl::Minutes(4)));
  EXPECT_EQ(checked.retry_time, kT0 + absl::Minutes(10));
  // Nothing to forget is fine; a bad key is refused.
  EXPECT_THAT(this->store()->ForgetNewest("never"), IsOk());
  EXPECT_THAT(this->store()->Forget(""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(this->store()->ForgetNewest(std::string(201, 'k')),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TYPED_TEST(RateLimitStoreTest, AllKeysOrNone) {
  const RateLimit shared{"all", 10, absl::Hours(1)};
  const RateLimit a{"peer/a", 1, absl::Hours(1)};
  const RateLimit b{"peer/b", 1, absl::Hours(1)};
  EXPECT_TRUE(this->Admitted({shared, a}, kT0));
  // a is full: nothing is recorded, not even for the shared key.
  absl::StatusOr<Admission> refused =
      this->store()->Admit({shared, a}, kT0 + absl::Seconds(1));
  ASSERT_THAT(refused, IsOk());
  EXPECT_FALSE(refused->admitted);
  EXPECT_EQ(refused->limit_index, 1u);
  EXPECT_EQ(refused->retry_time, kT0 + absl::Hours(1));
  EXPECT_EQ(this->factory_.Events(), 2);
  EXPECT_TRUE(this->Admitted({shared, b}, kT0 + absl::Seconds(2)));
}

TYPED_TEST(RateLimitStoreTest, ReportsTheLimitThatFreesUpLast) {
  const RateLimit short_one{"s", 1, absl::Minutes(1)};
  const RateLimit long_one{"l", 1, absl::Hours(1)};
  EXPECT_TRUE(this->Admitted({short_one, long_one}, kT0));
  absl::StatusOr<Admission> refused =
      this->store()->Admit({short_one, long_one}, kT0 + absl::Seconds(5));
  ASSERT_THAT(refused, IsOk());
  EXPECT_EQ(refused->limit_index, 1u);
  EXPECT_EQ(refused->retry_time, kT0 + absl::Hours(1));
}

TYPED_TEST(RateLimitStoreTest, ExpiredEventsAreDeleted) {
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(this->Admitted(
        {{"once/" + std::to_string(i), 1, absl::Minutes(1)}}, kT0));
  }
  EXPECT_TRUE(
      this->Admitted({{"later", 1, absl::Minutes(1)}}, kT0 + absl::Minutes(2)));
  EXPECT_EQ(this->factory_.Events(), 1);
}

TYPED_TEST(RateLimitStoreTest, BadLimitsAreRefusedAndRecordNothing) {
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
    EXPECT_THAT(this->store()->Admit(limits, kT0),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_EQ(this->factory_.Events(), 0);
}

TYPED_TEST(RateLimitStoreTest, TwoReplicasRacingNeverOverAdmit) {
  // Keys in both orders, so that a lock-order bug would deadlock here.
  const RateLimit x{"race/x", 5, absl::Hours(1)};
  const RateLimit y{"race/y", 50, absl::Hours(1)};
  std::atomic<int> admitted{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 16; ++t) {
    RateLimitStore* store =
        t % 2 == 0 ? this->factory_.store() : this->factory_.replica();
    callers.emplace_back([&, store, t] {
      for (int i = 0; i < 5; ++i) {
        std::vector<RateLimit> limits = t % 4 < 2 ? std::vector<RateLimit>{x, y}
                                                  : std::vector<RateLimit>{y, x};
        absl::StatusOr<Admission> a = store->Admit(limits, kT0);
        EXPECT_THAT(a, IsOk());
        if (a.ok() && a->admitted) admitted.fetch_add(1);
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(admitted.load(), 5);
  EXPECT_EQ(this->factory_.Events(), 10);  // 5 events of each key
}

}  // namespace
}  // namespace smsgw::storage

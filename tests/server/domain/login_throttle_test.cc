#include "server/domain/login_throttle.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_rate_limit_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/sqlite_test_db.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::domain {
namespace {


LoginThrottle::Options SmallLimits() {
  LoginThrottle::Options options;
  options.window = absl::Minutes(10);
  options.username_free_failures = 2;
  options.username_max_failures = 5;
  options.peer_free_failures = 3;
  options.peer_max_failures = 8;
  options.base_delay = absl::Milliseconds(100);
  options.max_delay = absl::Milliseconds(300);
  return options;
}

// The failures are counted in a real SQLite store (the same contract as
// PostgreSQL's: rate_limit_store_contract_test.cc).
class LoginThrottleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::OpenTestDatabase(dir_, /*synchronous_full=*/false);
    ASSERT_NE(db_, nullptr);
    store_ = std::make_unique<storage::sqlite::SqliteRateLimitStore>(db_.get());
    auto created = LoginThrottle::Create(SmallLimits(), store_.get(), &clock_);
    ASSERT_THAT(created, IsOk());
    throttle_ = *std::move(created);
  }

  absl::StatusOr<absl::Duration> Fail(const std::string& user,
                                      const std::string& peer = "10.0.0.1") {
    return throttle_->Admit(user, peer);
  }

  testing::FakeClock clock_;
  testing::TempDir dir_;
  std::unique_ptr<storage::sqlite::Database> db_;
  std::unique_ptr<storage::sqlite::SqliteRateLimitStore> store_;
  std::unique_ptr<LoginThrottle> throttle_;
};

TEST_F(LoginThrottleTest, FreeFailuresAreAnsweredAtOnceThenDelaysDouble) {
  EXPECT_EQ(*Fail("ann"), absl::ZeroDuration());
  EXPECT_EQ(*Fail("ann"), absl::ZeroDuration());
  EXPECT_EQ(*Fail("ann"), absl::Milliseconds(100));
  EXPECT_EQ(*Fail("ann"), absl::Milliseconds(200));
  EXPECT_EQ(*Fail("ann"), absl::Milliseconds(300));  // capped at max_delay
}

TEST_F(LoginThrottleTest, UsernameIsLockedAfterMaxFailuresWithRetryTime) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(Fail("ann", absl::StrCat("10.0.0.", i)), IsOk());
    clock_.Advance(absl::Minutes(1));
  }
  // The first failure leaves the window 10 min after it: 5 min from now.
  EXPECT_THAT(Fail("ann", "10.9.9.9"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       ::testing::HasSubstr("retry in 300 s")));
  EXPECT_EQ(throttle_->LockedUntil("ann", ""),
            clock_.Now() + absl::Minutes(5));
  // Other usernames are not affected.
  EXPECT_THAT(Fail("bob", "10.9.9.9"), IsOk());
}

TEST_F(LoginThrottleTest, LockOutEndsWhenFailuresLeaveTheWindow) {
  for (int i = 0; i < 5; ++i) ASSERT_THAT(Fail("ann"), IsOk());
  ASSERT_THAT(Fail("ann"), StatusIs(absl::StatusCode::kResourceExhausted));
  clock_.Advance(absl::Minutes(10) - absl::Seconds(1));
  EXPECT_THAT(Fail("ann"), StatusIs(absl::StatusCode::kResourceExhausted,
                                    ::testing::HasSubstr("retry in 1 s")));
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(throttle_->Admit("ann", "10.0.0.1"), IsOk());
  throttle_->Succeeded("ann", "10.0.0.1");
  EXPECT_EQ(throttle_->LockedUntil("ann", "10.0.0.1"), absl::InfinitePast());
}

TEST_F(LoginThrottleTest, RefusedAttemptsAreNotCounted) {
  for (int i = 0; i < 5; ++i) ASSERT_THAT(Fail("ann"), IsOk());
  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(Fail("ann"), StatusIs(absl::StatusCode::kResourceExhausted));
  }
  // Refusals did not extend the lock-out: it ends with the window.
  clock_.Advance(absl::Minutes(10));
  EXPECT_THAT(Fail("ann"), IsOk());
}

TEST_F(LoginThrottleTest, SuccessForgetsTheUsernamesFailures) {
  for (int i = 0; i < 4; ++i) ASSERT_THAT(Fail("ann", "10.0.0.1"), IsOk());
  ASSERT_THAT(throttle_->Admit("ann", "10.0.0.1"), IsOk());
  throttle_->Succeeded("ann", "10.0.0.1");
  // Counting starts over: the next failure is free again.
  EXPECT_EQ(*Fail("ann", "10.0.0.2"), absl::ZeroDuration());
}

TEST_F(LoginThrottleTest, AddressIsLockedAcrossUsernames) {
  for (int i = 0; i < 8; ++i) {
    ASSERT_THAT(Fail(absl::StrCat("user", i), "10.0.0.7"), IsOk());
  }
  EXPECT_THAT(Fail("fresh", "10.0.0.7"),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(Fail("fresh", "10.0.0.8"), IsOk());
}

TEST_F(LoginThrottleTest, AddressDelaysApplyAcrossUsernames) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(*Fail(absl::StrCat("user", i), "10.0.0.7"),
              absl::ZeroDuration());
  }
  EXPECT_EQ(*Fail("user9", "10.0.0.7"), absl::Milliseconds(100));
}

TEST_F(LoginThrottleTest, OwnSuccessfulLoginDoesNotResetTheAddress) {
  for (int i = 0; i < 7; ++i) {
    ASSERT_THAT(Fail(absl::StrCat("victim", i), "10.0.0.7"), IsOk());
  }
  ASSERT_THAT(throttle_->Admit("mallory", "10.0.0.7"), IsOk());
  throttle_->Succeeded("mallory", "10.0.0.7");
  ASSERT_THAT(Fail("victim8", "10.0.0.7"), IsOk());
  EXPECT_THAT(Fail("victim9", "10.0.0.7"),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(LoginThrottleTest, EmptyUsernameCountsAgainstTheAddressOnly) {
  for (int i = 0; i < 8; ++i) ASSERT_THAT(Fail("", "10.0.0.7"), IsOk());
  EXPECT_THAT(Fail("", "10.0.0.7"),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(Fail("", "10.0.0.8"), IsOk());
}

TEST_F(LoginThrottleTest, ReplicasSharingTheStoreCountTheSameFailures) {
  // A second replica's throttle over the same database (issue 13 §3):
  // guesses spread over replicas are counted together.
  auto other = *LoginThrottle::Create(SmallLimits(), store_.get(), &clock_);
  for (int i = 0; i < 5; ++i) {
    LoginThrottle* replica = i % 2 == 0 ? throttle_.get() : other.get();
    ASSERT_THAT(replica->Admit("ann", absl::StrCat("10.0.0.", i)), IsOk());
  }
  EXPECT_THAT(other->Admit("ann", "10.9.9.9"),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(throttle_->Admit("ann", "10.9.9.9"),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // A success on one replica clears the username on both.
  clock_.Advance(absl::Minutes(11));
  ASSERT_THAT(other->Admit("ann", "10.0.0.1"), IsOk());
  other->Succeeded("ann", "10.0.0.1");
  EXPECT_EQ(*throttle_->Admit("ann", "10.0.0.2"), absl::ZeroDuration());
}

TEST_F(LoginThrottleTest, AnOverlongAddressIsCountedUnderItsHash) {
  const std::string socket = "unix:/" + std::string(300, 'a');
  for (int i = 0; i < 8; ++i) ASSERT_THAT(Fail("", socket), IsOk());
  EXPECT_THAT(Fail("", socket), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(Fail("", "unix:/" + std::string(300, 'b')), IsOk());
}

TEST_F(LoginThrottleTest, CreateRefusesBadOptions) {
  LoginThrottle::Options options = SmallLimits();
  options.username_max_failures = 0;
  EXPECT_THAT(LoginThrottle::Create(options, store_.get(), &clock_),
              StatusIs(absl::StatusCode::kInvalidArgument));
  options = SmallLimits();
  options.peer_free_failures = 9;
  EXPECT_THAT(LoginThrottle::Create(options, store_.get(), &clock_),
              StatusIs(absl::StatusCode::kInvalidArgument));
  options = SmallLimits();
  options.window = absl::ZeroDuration();
  EXPECT_THAT(LoginThrottle::Create(options, store_.get(), &clock_),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(LoginThrottle::Create(SmallLimits(), store_.get(), nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(LoginThrottle::Create(SmallLimits(), nullptr, &clock_),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

struct PeerCase {
  std::string grpc_peer;
  std::string address;
};

class PeerAddressTest : public ::testing::TestWithParam<PeerCase> {};

TEST_P(PeerAddressTest, DropsSchemeAndPort) {
  EXPECT_EQ(PeerAddress(GetParam().grpc_peer), GetParam().address);
}

INSTANTIATE_TEST_SUITE_P(
    Peers, PeerAddressTest,
    ::testing::Values(PeerCase{"ipv4:127.0.0.1:54321", "127.0.0.1"},
                      PeerCase{"ipv4:10.1.2.3", "10.1.2.3"},
                      PeerCase{"ipv6:[::1]:443", "::1"},
                      PeerCase{"ipv6:[2001:db8::7]:50051", "2001:db8::7"},
                      PeerCase{"ipv6:[broken", "broken"},
                      PeerCase{"unix:/tmp/sock", "unix:/tmp/sock"},
                      PeerCase{"", ""}));

}  // namespace
}  // namespace smsgw::domain

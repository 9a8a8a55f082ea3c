// The sign-up throttle and the verification guard (issue 18) in process, on
// a real SQLite rate-limit store and a fake clock: windows slide, limits are
// per address, prefix and country, refusals say when to retry.
#include "server/domain/abuse_limits.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/domain/phone_number.h"
#include "storage/sqlite/sqlite_rate_limit_store.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/sqlite_test_db.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace smsgw::domain {
namespace {

using ::testing::HasSubstr;

class AbuseLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = testing::OpenTestDatabase(dir_, /*synchronous_full=*/false);
    ASSERT_NE(db_, nullptr);
    store_ = std::make_unique<storage::sqlite::SqliteRateLimitStore>(db_.get());
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::sqlite::Database> db_;
  std::unique_ptr<storage::sqlite::SqliteRateLimitStore> store_;
  testing::FakeClock clock_;
  const PhoneNumberParser phones_{"US"};
};

TEST_F(AbuseLimitsTest, SignupsPerAddressSlideWithTheWindow) {
  SignupThrottle::Options options;
  options.window = absl::Minutes(10);
  options.per_peer = 2;
  options.total = 100;
  SignupThrottle throttle(store_.get(), &clock_, options);
  EXPECT_THAT(throttle.Admit("203.0.113.7"), IsOk());
  clock_.Advance(absl::Minutes(4));
  EXPECT_THAT(throttle.Admit("203.0.113.7"), IsOk());
  EXPECT_THAT(throttle.Admit("203.0.113.7"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("too many sign-ups from your address: at "
                                 "most 2 per 10m; retry in 360 s")));
  // Another address is counted apart.
  EXPECT_THAT(throttle.Admit("198.51.100.1"), IsOk());
  clock_.Advance(absl::Minutes(6) + absl::Seconds(1));
  EXPECT_THAT(throttle.Admit("203.0.113.7"), IsOk());
}

TEST_F(AbuseLimitsTest, SignupTotalCountsEveryAddress) {
  SignupThrottle::Options options;
  options.per_peer = 100;
  options.total = 3;
  SignupThrottle throttle(store_.get(), &clock_, options);
  EXPECT_THAT(throttle.Admit("a"), IsOk());
  EXPECT_THAT(throttle.Admit("b"), IsOk());
  EXPECT_THAT(throttle.Admit(""), IsOk());
  EXPECT_THAT(throttle.Admit("d"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("too many sign-ups on this server: at most 3 "
                                 "per hour")));
}

TEST_F(AbuseLimitsTest, SignupOptionsAreValidated) {
  SignupThrottle::Options options;
  EXPECT_THAT(SignupThrottle::Validate(options), IsOk());
  options.per_peer = 0;
  EXPECT_THAT(SignupThrottle::Validate(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("SMSGW_SIGNUP_PEER_MAX")));
  options = {};
  options.window = absl::Hours(24 * 40);
  EXPECT_THAT(SignupThrottle::Validate(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("SMSGW_SIGNUP_WINDOW")));
}

TEST_F(AbuseLimitsTest, GuardLimitsOnePrefixAndLetsOthersThrough) {
  VerificationGuard::Options options;
  options.per_prefix = 2;
  VerificationGuard guard(store_.get(), &phones_, &clock_, options);
  EXPECT_THAT(guard.Admit("+447400900001"), IsOk());
  EXPECT_THAT(guard.Admit("+447400900002"), IsOk());
  EXPECT_THAT(guard.Admit("+447400555555"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("numbers starting with this prefix +447400: "
                                 "at most 2 per hour; retry in 3600 s")));
  EXPECT_THAT(guard.Admit("+447500123456"), IsOk());
  clock_.Advance(absl::Hours(1) + absl::Seconds(1));
  EXPECT_THAT(guard.Admit("+447400900003"), IsOk());
}

TEST_F(AbuseLimitsTest, GuardLimitsOneCountryAndTheServer) {
  VerificationGuard::Options options;
  options.per_country = 2;
  options.total = 3;
  VerificationGuard guard(store_.get(), &phones_, &clock_, options);
  EXPECT_THAT(guard.Admit("+33612345678"), IsOk());
  EXPECT_THAT(guard.Admit("+33612345679"), IsOk());
  EXPECT_THAT(guard.Admit("+33698765432"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("to this country (FR): at most 2 per hour")));
  EXPECT_THAT(guard.Admit("+14155550101"), IsOk());
  EXPECT_THAT(guard.Admit("+16175550101"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("on this server: at most 3 per hour")));
}

TEST_F(AbuseLimitsTest, GuardRefusesPremiumSharedCostAndUnknownRanges) {
  VerificationGuard guard(store_.get(), &phones_, &clock_, {});
  for (const char* number : {"+449012345678", "+19002345678", "+33884012345",
                             "+447700900123"}) {
    EXPECT_THAT(guard.Admit(number),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("mobile and fixed-line numbers only")))
        << number;
  }
  EXPECT_THAT(guard.Admit("not a number"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(AbuseLimitsTest, GuardOptionsAreValidated) {
  VerificationGuard::Options options;
  EXPECT_THAT(VerificationGuard::Validate(options), IsOk());
  options.total = 0;
  EXPECT_THAT(VerificationGuard::Validate(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("SMSGW_VERIFY_MAX_PER_HOUR")));
}

}  // namespace
}  // namespace smsgw::domain

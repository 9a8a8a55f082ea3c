// The PhoneVerificationStore contract (storage/group_store.h), run against
// every implementation: SQLite and PostgreSQL (group_store_factory.h).
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/group_store.h"
#include "tests/storage/sqlite/group_store_factory.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::storage {
namespace {

using ::testing::HasSubstr;

constexpr char kAnnPhone[] = "+14155550100";
constexpr char kOtherPhone[] = "+14155550111";

template <typename Factory>
class PhoneVerificationStoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override { SMSGW_REQUIRE_DATABASE(factory_.available()); }
  PhoneVerificationStore* store() { return factory_.verifications(); }
  absl::Time Now() { return factory_.clock().Now(); }

  User Reload(const User& user) {
    absl::StatusOr<User> found = factory_.users()->FindById(user.id);
    EXPECT_THAT(found, IsOk());
    return found.ok() ? *found : User();
  }

  PhoneVerificationRecord Record(const User& user, const std::string& hash,
                                 const std::string& phone = kAnnPhone) {
    PhoneVerificationRecord r;
    r.user_id = user.id;
    r.phone_number = phone;
    r.code_hash = hash;
    r.create_time = Now();
    r.expire_time = Now() + absl::Minutes(10);
    return r;
  }

  // InsertLimited with the service's limits (5 an hour); a refusal is a
  // test failure.
  PhoneVerificationRecord Insert(const User& user, const std::string& hash) {
    absl::StatusOr<PhoneVerificationRecord> stored =
        store()->InsertLimited(Record(user, hash), absl::Hours(1), 5, Now());
    EXPECT_THAT(stored, IsOk());
    return stored.ok() ? *stored : PhoneVerificationRecord();
  }

  std::optional<PhoneVerificationRecord> Pending(const User& user) {
    absl::StatusOr<std::optional<PhoneVerificationRecord>> found =
        store()->FindPending(user.id);
    EXPECT_THAT(found, IsOk());
    return found.ok() ? *found : std::nullopt;
  }

  Factory factory_;
};

using StoreFactories =
    ::testing::Types<SqliteGroupStoreFactory, PgGroupStoreFactory>;
TYPED_TEST_SUITE(PhoneVerificationStoreContractTest, StoreFactories);

// --- SetPhone ---

TYPED_TEST(PhoneVerificationStoreContractTest, SetPhoneStoresTheNumber) {
  const User ann = this->factory_.AddUser("ann");
  ASSERT_THAT(this->store()->SetPhone(ann.id, kAnnPhone, this->Now()), IsOk());
  const User after = this->Reload(ann);
  EXPECT_EQ(after.phone_number, kAnnPhone);
  EXPECT_FALSE(after.phone_verified);
}

TYPED_TEST(PhoneVerificationStoreContractTest, SetPhoneToTheSameNumberKeepsItVerified) {
  const User ann = this->factory_.AddUser("ann", kAnnPhone, /*verified=*/true);
  ASSERT_THAT(this->store()->SetPhone(ann.id, kAnnPhone, this->Now()), IsOk());
  EXPECT_TRUE(this->Reload(ann).phone_verified);
}

TYPED_TEST(PhoneVerificationStoreContractTest, SetPhoneToAnotherNumberClearsVerified) {
  const User ann = this->factory_.AddUser("ann", kAnnPhone, /*verified=*/true);
  ASSERT_THAT(this->store()->SetPhone(ann.id, kOtherPhone, this->Now()), IsOk());
  const User after = this->Reload(ann);
  EXPECT_EQ(after.phone_number, kOtherPhone);
  EXPECT_FALSE(after.phone_verified);
}

TYPED_TEST(PhoneVerificationStoreContractTest, SetPhoneOfAnUnknownUserIsNotFound) {
  EXPECT_THAT(this->store()->SetPhone(424242, kAnnPhone, this->Now()),
              StatusIs(absl::StatusCode::kNotFound));
}

// --- InsertLimited and FindPending ---

TYPED_TEST(PhoneVerificationStoreContractTest, NoCodeIsPendingAtFirst) {
  const User ann = this->factory_.AddUser("ann", kAnnPhone);
  EXPECT_FALSE(this->Pending(ann).has_value());
}

TYPED_TEST(PhoneVerificationStoreContractTest, InsertReturnsTheRecordWithItsIdAndFindPendingReadsItBack) {
  const User ann = this->factory_.AddUser("ann", kAnnPhone);
  const PhoneVerificationRecord stored = this->Insert(ann, "salt$digest");
  EXPECT_GT(stored.id, 0);
  EXPECT_EQ(stored.user_id, ann.id);
  EXPECT_EQ(stored.code_hash, "salt$digest");
  const std::optional<PhoneVerificationRecord> pending = this->Pending(ann);
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->id, stored.id);
  EXPECT_EQ(pending->user_id, ann.id);
  EXPECT_EQ(pending->phone_number, kAnnPhone);
  EXPECT_EQ(pending->code_hash, "salt$digest");
  EXPECT_EQ(pending->attempts, 0);
  EXPECT_FALSE(pending->used);
  EXPECT_EQ(pending->create_time, this->Now());
  EXPECT_EQ(pending->expire_time, this->Now() + absl::Minutes(10));
}

TYPED_TEST(PhoneVerificationStoreContractTest, ANewCodeRetiresTheUsersPendingOnesOnly) {
  const User ann = this->factory_.AddUser("ann", kAnnPhone);
  const User bob = this->factory_.AddUser("bob", kOtherPhone);
  this->Insert(ann, "first");
  const PhoneVerificationRecord bobs = this->Insert(bob, "bobs");
  this->factory_.clock().Advance(absl::Minutes(1));
  const PhoneVerificationRecord second = this->Insert(ann, "second");
  const std::optional<PhoneVerificationRecord> pending = this->Pending(ann);
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->id, second.id);
  EXPECT_EQ(pending->code_hash, "second");
  const std::optional<PhoneVerificationRecord> bob_pending = this->Pending(bob);
  ASSERT_TRUE(bob_pending.has_value());
  EXPECT_EQ(bob_pending->id, bobs.id);
}

TYPED_TEST(PhoneVerificationStoreContractTest, TheLimitRefusesWithWhenTheNextCodeMayBeAskedFor) {
  const User ann = this->factory_.AddUser("ann", kAnnPhone);
  const absl::Time t0 = this->Now();
  const PhoneVerificationRecord first = this->Insert(ann, "one");
  this->factory_.clock().Advance(absl::Minutes(10));
  const PhoneVerificationRecord second = this->Insert(ann, "two");
  this->factory_.clock().Advance(absl::Minutes(10));
  // Two a window: the third waits until the first leaves it, at t0 + 1 h.
  EXPECT_THAT(
      this->store()->InsertLimited(this->Record(ann, "three"), absl::Hours(1),
                                   2, this->Now()),
      StatusIs(absl::StatusCode::kResourceExhausted,
               HasSubstr(absl::FormatTime(absl::RFC3339_sec,
                                          t0 + absl::Hours(1),
                                          absl::UTCTimeZone()))));
  // Nothing changed: the second code is still the pending one.
  const std::optional<PhoneVerificationRecord> pending = this->Pending(ann);
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->id, second.id);
  EXPECT_NE(pending->id, first.id);
}

TYPED_TEST(PhoneVerificationStoreContractTest, ACodeExactlyOneWindowOldNoLongerCounts) {
  const User ann = this->factory_.AddUser("ann", kAnnPhone);
  this->Insert(ann, "one");
  this->factory_.clock().Advance(absl::Hours(1) - absl::Seconds(1));
  EXPECT_THAT(this->store()->InsertLimited(this->Record(ann, "early"),
                                           absl::Hours(1), 1, this->Now()),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // The window is (now - window, now].
  this->factory_.clock().Advance(absl::Seconds(1));
  SMSGW_ASSERT_OK_AND_ASSIGN(
      PhoneVerificationRecord stored,
      this->store()->InsertLimited(this->Record(ann, "on time"),
                                   absl::Hours(1), 1, this->Now()));
  EXPECT_EQ(this->Pending(ann)->id, stored.id);
}

TYPED_TEST(PhoneVerificationStoreContractTest, UsersHaveLimitsOfTheirOwn) {
  const User ann = this->factory_.AddUser("ann", kAnnPhone);
  const User bob = this->factory_.AddUser("bob", kOtherPhone);
  ASSERT_THAT(this->store()->InsertLimited(this->Record(ann, "a"),
                                           absl::Hours(1), 1, this->Now()),
              IsOk());
  EXPECT_THAT(this->store()->InsertLimited(this->Record(bob, "b", kOtherPhone),
                                           absl::Hours(1), 1, this->Now()),
              IsOk());
}

// On PostgreSQL the threads stand for replicas: each call is its own
// connection and transaction, and only the lock on the user's row keeps two
// of them from both counting 4 and inserting.
TYPED_TEST(PhoneVerificationStoreContractTest, ConcurrentRequestsNeverPassTheLimit) {
  const User ann = this->factory_.AddUser("ann", kAnnPhone);
  constexpr int kThreads = 8;
  std::vector<absl::Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      results[i] = this->store()
                       ->InsertLimited(this->Record(ann, absl::StrCat("c", i)),
                                       absl::Hours(1), 5, this->Now())
                       .status();
    });
  }
  for (std::thread& t : threads) t.join();
  int ok = 0;
  for (const absl::Status& s : results) {
    if (s.ok()) {
      ++ok;
    } else {
      EXPECT_THAT(s, StatusIs(absl::StatusCode::kResourceExhausted));
    }
  }
  EXPECT_EQ(ok, 5);
}

// --- AddAttempt ---

TYPED_TEST(PhoneVerificationStoreContractTest, AddAttemptCountsWrongTries) {
  const User ann = this->factory_.AddUser("ann", kAnnPhone);
  const PhoneVerificationRecord stored = this->Insert(ann, "h");
  ASSERT_THAT(this->store()->AddAttempt(stored.id), IsOk());
  ASSERT_THAT(this->store()->AddAttempt(stored.id), IsOk());
  const std::optional<PhoneVerificationRecord> pending = this->Pending(ann);
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->attempts, 2);
  EXPECT_FALSE(pending->used);
}

// --- MarkVerified ---

TYPED_TEST(PhoneVerificationStoreContractTest, MarkVerifiedUsesTheCodeAndVerifiesThePhone) {
  const User ann = this->factory_.AddUser("ann", kAnnPhone);
  const PhoneVerificationRecord stored = this->Insert(ann, "h");
  this->factory_.clock().Advance(absl::Minutes(2));
  ASSERT_THAT(this->store()->MarkVerified(stored.id, ann.id, kAnnPhone,
                                          this->Now()),
              IsOk());
  EXPECT_FALSE(this->Pending(ann).has_value());
  const User after = this->Reload(ann);
  EXPECT_TRUE(after.phone_verified);
  EXPECT_EQ(after.update_time, this->Now());
  SMSGW_ASSERT_OK_AND_ASSIGN(User by_phone,
                             this->factory_.users()->FindByVerifiedPhone(kAnnPhone));
  EXPECT_EQ(by_phone.id, ann.id);
}

TYPED_TEST(PhoneVerificationStoreContractTest, MarkVerifiedAfterThePhoneChangedIsFailedPrecondition) {
  const User ann = this->factory_.AddUser("ann", kAnnPhone);
  const PhoneVerificationRecord stored = this->Insert(ann, "h");
  ASSERT_THAT(this->store()->SetPhone(ann.id, kOtherPhone, this->Now()), IsOk());
  EXPECT_THAT(this->store()->MarkVerified(stored.id, ann.id, kAnnPhone,
                                          this->Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // One transaction: the code was not used up either.
  EXPECT_FALSE(this->Reload(ann).phone_verified);
  const std::optional<PhoneVerificationRecord> pending = this->Pending(ann);
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->id, stored.id);
}

TYPED_TEST(PhoneVerificationStoreContractTest, MarkVerifiedOfANumberAnotherUserVerifiedIsAlreadyExists) {
  this->factory_.AddUser("bob", kAnnPhone, /*verified=*/true);
  const User ann = this->factory_.AddUser("ann", kAnnPhone);
  const PhoneVerificationRecord stored = this->Insert(ann, "h");
  EXPECT_THAT(this->store()->MarkVerified(stored.id, ann.id, kAnnPhone,
                                          this->Now()),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_FALSE(this->Reload(ann).phone_verified);
  EXPECT_TRUE(this->Pending(ann).has_value());
}

}  // namespace
}  // namespace smsgw::storage

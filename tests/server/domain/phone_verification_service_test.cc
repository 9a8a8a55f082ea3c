// PhoneVerificationService (phone_verification.h) in process: codes texted
// through a real MessagingService on the SQLite stores, the dispatcher
// replaced by the ScriptedQueue, time by a FakeClock.
#include "server/domain/phone_verification.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/domain_fixture.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

using ::smsgw::testing::ScriptedQueue;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class PhoneVerificationServiceTest : public smsgw::testing::DomainTest {
 protected:
  PhoneVerificationServiceTest() {
    messaging_ = NewMessaging();
    PhoneVerificationService::Options options;
    options.from_number = kOurNumber;
    service_ = std::make_unique<PhoneVerificationService>(
        users_.get(), verifications_.get(), messaging_.get(), &phones_,
        &clock_, options);
    ann_ = AddUser("ann");
  }

  absl::StatusOr<VerificationStarted> Start(const storage::User& caller,
                                            const std::string& phone) {
    return service_->Start(caller, phone, clock_.Now() + absl::Seconds(5));
  }

  // The code in the last text sent.
  std::string LastCode() {
    const std::vector<storage::Message> handed = queue_->handed();
    if (handed.empty()) return "<none sent>";
    const std::string& body = handed.back().body;
    const size_t at = body.find("code is ");
    return at == std::string::npos ? "<no code>" : body.substr(at + 8, 6);
  }

  // A six-digit code other than the one sent.
  std::string WrongCode() {
    return LastCode() == "000000" ? "111111" : "000000";
  }

  std::unique_ptr<MessagingService> messaging_;
  std::unique_ptr<PhoneVerificationService> service_;
  storage::User ann_;
};

// --- Start ---

TEST_F(PhoneVerificationServiceTest, StartSetsThePhoneAndTextsASixDigitCode) {
  SMSGW_ASSERT_OK_AND_ASSIGN(VerificationStarted started,
                             Start(ann_, "(415) 555-0100"));
  EXPECT_EQ(started.phone_number, kPeer);
  EXPECT_EQ(started.expire_time, clock_.Now() + absl::Minutes(10));
  const storage::User after = Reload(ann_);
  EXPECT_EQ(after.phone_number, kPeer);
  EXPECT_FALSE(after.phone_verified);

  const std::vector<storage::Message> handed = queue_->handed();
  ASSERT_EQ(handed.size(), 1u);
  const storage::Message& text = handed[0];
  EXPECT_EQ(text.owner_id, ann_.id);
  EXPECT_EQ(text.from, kOurNumber);
  EXPECT_EQ(text.to, kPeer);
  EXPECT_THAT(text.body, MatchesRegex("Your smsgw verification code is "
                                      "[0-9]{6}\\. It expires in 10 minutes\\."));
  // Ahead of any campaign, and worth sending only while the code is valid.
  EXPECT_EQ(text.priority, storage::MessagePriority::kHigh);
  EXPECT_EQ(text.expire_time, clock_.Now() + absl::Minutes(10));

  SMSGW_ASSERT_OK_AND_ASSIGN(std::optional<storage::PhoneVerificationRecord> pending,
                             verifications_->FindPending(ann_.id));
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->phone_number, kPeer);
  // Stored salted and hashed, never as the code.
  EXPECT_EQ(pending->code_hash.find(LastCode()), std::string::npos);
  EXPECT_TRUE(VerificationCodeMatches(LastCode(), pending->code_hash));
}

TEST_F(PhoneVerificationServiceTest, StartWithoutANumberUsesTheStoredOne) {
  const storage::User bob = AddUser("bob", "+14155550111");
  SMSGW_ASSERT_OK_AND_ASSIGN(VerificationStarted started, Start(bob, ""));
  EXPECT_EQ(started.phone_number, "+14155550111");
  ASSERT_EQ(queue_->handed().size(), 1u);
  EXPECT_EQ(queue_->handed()[0].to, "+14155550111");
}

TEST_F(PhoneVerificationServiceTest, StartWithANewNumberClearsTheOldVerification) {
  const storage::User carl = AddUser("carl", "+14155550122", /*verified=*/true);
  SMSGW_ASSERT_OK_AND_ASSIGN(VerificationStarted started, Start(carl, kPeer));
  EXPECT_EQ(started.phone_number, kPeer);
  const storage::User after = Reload(carl);
  EXPECT_EQ(after.phone_number, kPeer);
  EXPECT_FALSE(after.phone_verified);
  // Asking again for the number one has keeps it verified.
  const storage::User dave = AddUser("dave", "+14155550133", /*verified=*/true);
  ASSERT_THAT(Start(dave, "+14155550133"), IsOk());
  EXPECT_TRUE(Reload(dave).phone_verified);
}

TEST_F(PhoneVerificationServiceTest, StartWithNoPhoneAtAllIsFailedPrecondition) {
  EXPECT_THAT(Start(ann_, ""), StatusIs(absl::StatusCode::kFailedPrecondition,
                                        HasSubstr("phone_number")));
  EXPECT_TRUE(queue_->handed().empty());
}

TEST_F(PhoneVerificationServiceTest, StartWithABadNumberIsInvalidArgumentAndChangesNothing) {
  EXPECT_THAT(Start(ann_, "not a number"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("phone_number")));
  EXPECT_EQ(Reload(ann_).phone_number, "");
  EXPECT_TRUE(queue_->handed().empty());
  SMSGW_ASSERT_OK_AND_ASSIGN(std::optional<storage::PhoneVerificationRecord> pending,
                             verifications_->FindPending(ann_.id));
  EXPECT_FALSE(pending.has_value());
}

TEST_F(PhoneVerificationServiceTest, StartForANumberAnotherUserVerifiedIsAlreadyExists) {
  AddUser("bob", kPeer, /*verified=*/true);
  EXPECT_THAT(Start(ann_, kPeer), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(Reload(ann_).phone_number, "");
  EXPECT_TRUE(queue_->handed().empty());
}

TEST_F(PhoneVerificationServiceTest, StartForAnOptedOutNumberIsFailedPrecondition) {
  ASSERT_THAT(messages_->SetOptOut(kPeer, kOurNumber, "STOP", clock_.Now()),
              IsOk());
  EXPECT_THAT(Start(ann_, kPeer), StatusIs(absl::StatusCode::kFailedPrecondition,
                                           HasSubstr("21610")));
  EXPECT_TRUE(queue_->handed().empty());
}

TEST_F(PhoneVerificationServiceTest, TheSixthCodeInAnHourIsResourceExhausted) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(Start(Reload(ann_), kPeer), IsOk()) << i;
    clock_.Advance(absl::Minutes(1));
  }
  EXPECT_THAT(Start(Reload(ann_), kPeer),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("retry in")));
  EXPECT_EQ(queue_->handed().size(), 5u);
  // The first code leaves the window an hour after it was asked for.
  clock_.Advance(absl::Minutes(55));
  EXPECT_THAT(Start(Reload(ann_), kPeer), IsOk());
}

TEST_F(PhoneVerificationServiceTest, ACodeTheProviderRefusedIsUnavailable) {
  queue_->AnswerWith(ScriptedQueue::Answer::kReject, 21211,
                     "The 'To' number is not a valid phone number.");
  EXPECT_THAT(Start(ann_, kPeer),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("is not a valid phone number")));
}

// --- Confirm ---

TEST_F(PhoneVerificationServiceTest, TheRightCodeVerifiesThePhone) {
  ASSERT_THAT(Start(ann_, kPeer), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(storage::User user,
                             service_->Confirm(Reload(ann_), LastCode()));
  EXPECT_EQ(user.id, ann_.id);
  EXPECT_EQ(user.phone_number, kPeer);
  EXPECT_TRUE(user.phone_verified);
  EXPECT_TRUE(Reload(ann_).phone_verified);
  // The code is used up.
  EXPECT_THAT(service_->Confirm(Reload(ann_), LastCode()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no verification pending")));
}

TEST_F(PhoneVerificationServiceTest, OnlyTheNewestCodeCounts) {
  ASSERT_THAT(Start(ann_, kPeer), IsOk());
  const std::string first = LastCode();
  ASSERT_THAT(Start(Reload(ann_), kPeer), IsOk());
  if (first != LastCode()) {
    EXPECT_THAT(service_->Confirm(Reload(ann_), first),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(service_->Confirm(Reload(ann_), LastCode()), IsOk());
}

TEST_F(PhoneVerificationServiceTest, ACodeThatIsNotSixDigitsIsInvalidArgumentAndCostsNoTry) {
  ASSERT_THAT(Start(ann_, kPeer), IsOk());
  for (const char* bad : {"", "12345", "1234567", "12a456"}) {
    EXPECT_THAT(service_->Confirm(Reload(ann_), bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("6 digits")))
        << bad;
  }
  SMSGW_ASSERT_OK_AND_ASSIGN(std::optional<storage::PhoneVerificationRecord> pending,
                             verifications_->FindPending(ann_.id));
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->attempts, 0);
}

TEST_F(PhoneVerificationServiceTest, FiveWrongCodesLockTheVerification) {
  ASSERT_THAT(Start(ann_, kPeer), IsOk());
  EXPECT_THAT(service_->Confirm(Reload(ann_), WrongCode()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("4 tries left")));
  for (int i = 1; i < 5; ++i) {
    EXPECT_THAT(service_->Confirm(Reload(ann_), WrongCode()),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(service_->Confirm(Reload(ann_), LastCode()),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_FALSE(Reload(ann_).phone_verified);
}

TEST_F(PhoneVerificationServiceTest, ConfirmWithNothingPendingIsFailedPrecondition) {
  EXPECT_THAT(service_->Confirm(ann_, "123456"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(PhoneVerificationServiceTest, AnExpiredCodeIsFailedPrecondition) {
  ASSERT_THAT(Start(ann_, kPeer), IsOk());
  clock_.Advance(absl::Minutes(10));
  EXPECT_THAT(service_->Confirm(Reload(ann_), LastCode()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expired")));
  EXPECT_FALSE(Reload(ann_).phone_verified);
}

TEST_F(PhoneVerificationServiceTest, ACodeForAnotherNumberIsFailedPrecondition) {
  ASSERT_THAT(Start(ann_, kPeer), IsOk());
  ASSERT_THAT(verifications_->SetPhone(ann_.id, "+14155550111", clock_.Now()),
              IsOk());
  EXPECT_THAT(service_->Confirm(Reload(ann_), LastCode()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("changed")));
  EXPECT_FALSE(Reload(ann_).phone_verified);
}

TEST_F(PhoneVerificationServiceTest, ANumberVerifiedByAnotherUserMeanwhileIsAlreadyExists) {
  const storage::User bob = AddUser("bob");
  ASSERT_THAT(Start(ann_, kPeer), IsOk());
  const std::string anns = LastCode();
  ASSERT_THAT(Start(bob, kPeer), IsOk());
  ASSERT_THAT(service_->Confirm(Reload(bob), LastCode()), IsOk());
  EXPECT_THAT(service_->Confirm(Reload(ann_), anns),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_FALSE(Reload(ann_).phone_verified);
}

}  // namespace
}  // namespace smsgw::domain

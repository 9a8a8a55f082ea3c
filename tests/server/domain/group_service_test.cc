// GroupService (group_service.h) in process: groups on the real SQLite
// stores, posts fanned out through a real MessagingService whose dispatcher
// is the ScriptedQueue, time from a FakeClock.
#include "server/domain/group_service.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/domain/phone_number.h"
#include "tests/testing/domain_fixture.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kAnnPhone[] = "+14155550100";
constexpr char kBobPhone[] = "+14155550111";
constexpr char kCarlPhone[] = "+14155550122";

class GroupServiceTest : public smsgw::testing::DomainTest {
 protected:
  GroupServiceTest() {
    messaging_ = NewMessaging();
    Build({kOurNumber, kSecondNumber});
    ann_ = AddUser("ann", kAnnPhone, /*verified=*/true);
    bob_ = AddUser("bob", kBobPhone, /*verified=*/true);
    carl_ = AddUser("carl", kCarlPhone, /*verified=*/true);
  }

  void Build(std::vector<std::string> pool) {
    GroupService::Options options;
    options.pool = std::move(pool);
    service_ = std::make_unique<GroupService>(groups_.get(), messages_.get(),
                                              messaging_.get(), &clock_,
                                              options);
  }

  // ann's "Hikers" with bob and carl in it.
  void ThreeMembers() {
    ASSERT_THAT(service_->Create(ann_, "Hikers", "weekend walks"), IsOk());
    ASSERT_THAT(service_->Join(bob_, "hikers"), IsOk());
    ASSERT_THAT(service_->Join(carl_, "HIKERS"), IsOk());
  }

  absl::StatusOr<GroupSendResult> Post(const storage::User& caller,
                                       const std::string& body,
                                       const std::string& key = "",
                                       const SendPolicy& policy = {}) {
    return service_->Send(caller, "Hikers", body, key,
                          clock_.Now() + absl::Seconds(5), policy);
  }

  std::unique_ptr<MessagingService> messaging_;
  std::unique_ptr<GroupService> service_;
  storage::User ann_;
  storage::User bob_;
  storage::User carl_;
};

// --- Create ---

TEST_F(GroupServiceTest, CreateJoinsTheCreatorAndMasksPhones) {
  SMSGW_ASSERT_OK_AND_ASSIGN(GroupView view,
                             service_->Create(ann_, "Hikers", "weekend walks"));
  EXPECT_GT(view.group.id, 0);
  EXPECT_EQ(view.group.name, "Hikers");
  EXPECT_EQ(view.group.description, "weekend walks");
  EXPECT_EQ(view.group.member_count, 1);
  EXPECT_EQ(view.proxy_number, kOurNumber);
  ASSERT_EQ(view.members.size(), 1u);
  EXPECT_EQ(view.members[0].username, "ann");
  EXPECT_EQ(view.members[0].phone_number, "+1415•••0100");
  EXPECT_EQ(view.members[0].phone_number, MaskPhoneNumber(kAnnPhone));
}

TEST_F(GroupServiceTest, CreateWithABadNameOrDescriptionIsInvalidArgumentAndStoresNothing) {
  for (const std::string& name :
       {std::string(), std::string(" Hikers"), std::string("Hikers "),
        std::string(65, 'h'), std::string("Hik\ners")}) {
    EXPECT_THAT(service_->Create(ann_, name, ""),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")))
        << name;
    EXPECT_THAT(groups_->FindByName(name),
                StatusIs(absl::StatusCode::kNotFound));
  }
  EXPECT_THAT(service_->Create(ann_, "Hikers", std::string(513, 'd')),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("description")));
  EXPECT_THAT(groups_->FindByName("Hikers"),
              StatusIs(absl::StatusCode::kNotFound));
  // The limits themselves are allowed: 64 characters (code points) of name,
  // 512 of description.
  EXPECT_THAT(service_->Create(ann_, std::string(64, 'h'), std::string(512, 'd')),
              IsOk());
  EXPECT_THAT(service_->Create(bob_, std::string(32, 'h') + "é", ""), IsOk());
}

TEST_F(GroupServiceTest, CreateOrJoinWithoutAVerifiedPhoneIsFailedPrecondition) {
  const storage::User no_phone = AddUser("dave");
  const storage::User unverified = AddUser("erin", "+14155550133");
  for (const storage::User& user : {no_phone, unverified}) {
    EXPECT_THAT(service_->Create(user, "Mine", ""),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("not verified")))
        << user.username;
  }
  EXPECT_THAT(groups_->FindByName("Mine"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(service_->Create(ann_, "Hikers", ""), IsOk());
  EXPECT_THAT(service_->Join(unverified, "Hikers"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(GroupServiceTest, CreateWithATakenNameIsAlreadyExists) {
  ASSERT_THAT(service_->Create(ann_, "Hikers", ""), IsOk());
  EXPECT_THAT(service_->Create(bob_, "HIKERS", ""),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(GroupServiceTest, CreateOrJoinWithEveryPoolNumberTakenIsResourceExhausted) {
  Build({kOurNumber});
  ASSERT_THAT(service_->Create(ann_, "Hikers", ""), IsOk());
  EXPECT_THAT(service_->Create(ann_, "Bikers", ""),
              StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_THAT(service_->Create(bob_, "Chess", ""), IsOk());
  EXPECT_THAT(service_->Join(bob_, "Hikers"),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

// --- Join and Leave ---

TEST_F(GroupServiceTest, JoinAddsTheMemberOnTheirOwnFreeNumber) {
  ASSERT_THAT(service_->Create(bob_, "Chess", ""), IsOk());  // bob: number 0
  ASSERT_THAT(service_->Create(ann_, "Hikers", ""), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(GroupView view, service_->Join(bob_, "hikers"));
  EXPECT_EQ(view.group.name, "Hikers");
  EXPECT_EQ(view.group.member_count, 2);
  EXPECT_EQ(view.proxy_number, kSecondNumber);
  ASSERT_EQ(view.members.size(), 2u);
  EXPECT_EQ(view.members[1].username, "bob");
  EXPECT_EQ(view.members[1].phone_number, MaskPhoneNumber(kBobPhone));
  EXPECT_EQ(view.members[1].proxy_number, kSecondNumber);
}

TEST_F(GroupServiceTest, JoiningTwiceAnswersWithTheMembershipAlreadyHeld) {
  // A retried join answers with the membership (groups.proto, JoinGroup).
  ASSERT_THAT(service_->Create(ann_, "Hikers", ""), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(GroupView first, service_->Join(bob_, "Hikers"));
  SMSGW_ASSERT_OK_AND_ASSIGN(GroupView again, service_->Join(bob_, "HIKERS"));
  EXPECT_EQ(again.proxy_number, first.proxy_number);
  EXPECT_EQ(again.group.member_count, 2);
}

TEST_F(GroupServiceTest, JoinOrLeaveWithNoNameIsInvalidArgument) {
  EXPECT_THAT(service_->Join(ann_, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
  EXPECT_THAT(service_->Leave(ann_, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
}

TEST_F(GroupServiceTest, JoinOrLeaveAnUnknownGroupIsNotFound) {
  EXPECT_THAT(service_->Join(ann_, "nobody"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(service_->Leave(ann_, "nobody"),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(GroupServiceTest, LeavingAGroupOneIsNotInIsFailedPrecondition) {
  ASSERT_THAT(service_->Create(ann_, "Hikers", ""), IsOk());
  EXPECT_THAT(service_->Leave(bob_, "Hikers"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(GroupServiceTest, TheLastToLeaveDeletesTheGroup) {
  ASSERT_THAT(service_->Create(ann_, "Hikers", ""), IsOk());
  ASSERT_THAT(service_->Join(bob_, "Hikers"), IsOk());
  ASSERT_THAT(service_->Leave(ann_, "Hikers"), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(GroupView left, service_->Get(bob_, "Hikers"));
  EXPECT_EQ(left.group.member_count, 1);
  ASSERT_THAT(service_->Leave(bob_, "Hikers"), IsOk());
  EXPECT_THAT(service_->Get(bob_, "Hikers"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(groups_->FindByName("Hikers"),
              StatusIs(absl::StatusCode::kNotFound));
}

// --- Get and List ---

TEST_F(GroupServiceTest, GetIsForMembersAndAdminsOnly) {
  ASSERT_THAT(service_->Create(ann_, "Hikers", ""), IsOk());
  EXPECT_THAT(service_->Get(bob_, "Hikers"),
              StatusIs(absl::StatusCode::kNotFound));
  const storage::User admin = AddUser("root", "", false, /*admin=*/true);
  SMSGW_ASSERT_OK_AND_ASSIGN(GroupView seen, service_->Get(admin, "hikers"));
  EXPECT_EQ(seen.group.name, "Hikers");
  EXPECT_EQ(seen.proxy_number, "");  // not a member: no number of theirs
  ASSERT_EQ(seen.members.size(), 1u);
  EXPECT_EQ(seen.members[0].phone_number, MaskPhoneNumber(kAnnPhone));
}

TEST_F(GroupServiceTest, ListPagesThroughTheCallersGroupsByName) {
  ASSERT_THAT(service_->Create(ann_, "Hikers", ""), IsOk());
  ASSERT_THAT(service_->Create(ann_, "bikers", ""), IsOk());
  ASSERT_THAT(service_->Create(bob_, "Chess", ""), IsOk());  // not ann's
  SMSGW_ASSERT_OK_AND_ASSIGN(GroupPage first, service_->List(ann_, 1, ""));
  ASSERT_EQ(first.groups.size(), 1u);
  EXPECT_EQ(first.groups[0].group.name, "bikers");
  EXPECT_EQ(first.groups[0].proxy_number, kSecondNumber);
  EXPECT_THAT(first.groups[0].members, IsEmpty());
  ASSERT_FALSE(first.next_page_token.empty());
  SMSGW_ASSERT_OK_AND_ASSIGN(GroupPage second,
                             service_->List(ann_, 1, first.next_page_token));
  ASSERT_EQ(second.groups.size(), 1u);
  EXPECT_EQ(second.groups[0].group.name, "Hikers");
  EXPECT_EQ(second.next_page_token, "");
}

TEST_F(GroupServiceTest, ListWithANegativePageSizeOrAMalformedTokenIsInvalidArgument) {
  EXPECT_THAT(service_->List(ann_, -1, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
  EXPECT_THAT(service_->List(ann_, 10, "not-a-token"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
}

// --- Send ---

TEST_F(GroupServiceTest, APostIsStoredOnceAndDeliveredToEveryOtherMember) {
  ASSERT_NO_FATAL_FAILURE(ThreeMembers());
  SMSGW_ASSERT_OK_AND_ASSIGN(GroupSendResult sent, Post(ann_, "summit at noon?"));
  EXPECT_FALSE(sent.replayed);
  EXPECT_EQ(sent.post.owner_id, ann_.id);
  EXPECT_EQ(sent.post.body, "summit at noon?");
  EXPECT_EQ(sent.post.group_name, "Hikers");
  EXPECT_GT(sent.post.group_id, 0);
  // Complete once stored: the post itself is never an SMS.
  EXPECT_EQ(sent.post.status, storage::MessageStatus::kDelivered);

  ASSERT_EQ(sent.deliveries.size(), 2u);
  EXPECT_EQ(sent.deliveries[0].username, "bob");
  EXPECT_EQ(sent.deliveries[1].username, "carl");
  for (const GroupDeliveryResult& d : sent.deliveries) {
    EXPECT_FALSE(d.skipped) << d.username;
    ASSERT_TRUE(d.message.has_value()) << d.username;
    EXPECT_EQ(d.message->body, "ann: summit at noon?");
    EXPECT_EQ(d.message->group_name, "Hikers");
    EXPECT_EQ(d.message->group_id, 0);  // a delivery, not a post
    // The poster never sees another member's number.
    EXPECT_EQ(d.message->to.find("5550"), std::string::npos) << d.message->to;
  }
  EXPECT_EQ(sent.deliveries[0].message->to, MaskPhoneNumber(kBobPhone));

  // Each delivery is the recipient's own outbound message from their proxy.
  const std::vector<storage::Message> handed = queue_->handed();
  ASSERT_EQ(handed.size(), 2u);
  EXPECT_EQ(handed[0].owner_id, bob_.id);
  EXPECT_EQ(handed[0].to, kBobPhone);
  EXPECT_EQ(handed[0].from, kOurNumber);
  EXPECT_EQ(handed[1].owner_id, carl_.id);
  EXPECT_EQ(handed[1].to, kCarlPhone);
  const std::vector<storage::Message> bobs = StoredFor(bob_.id);
  ASSERT_EQ(bobs.size(), 1u);
  EXPECT_EQ(bobs[0].body, "ann: summit at noon?");
}

TEST_F(GroupServiceTest, MembersWithoutAVerifiedPhoneOrOptedOutAreSkipped) {
  ASSERT_NO_FATAL_FAILURE(ThreeMembers());
  // bob changed his phone (verification cleared); carl texted STOP.
  ASSERT_THAT(verifications_->SetPhone(bob_.id, "+14155550199", clock_.Now()),
              IsOk());
  ASSERT_THAT(messages_->SetOptOut(kCarlPhone, kOurNumber, "STOP", clock_.Now()),
              IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(GroupSendResult sent, Post(ann_, "anyone?"));
  ASSERT_EQ(sent.deliveries.size(), 2u);
  EXPECT_TRUE(sent.deliveries[0].skipped);
  EXPECT_EQ(sent.deliveries[0].skip_reason,
            "recipient's phone number is not verified");
  EXPECT_FALSE(sent.deliveries[0].message.has_value());
  EXPECT_TRUE(sent.deliveries[1].skipped);
  EXPECT_EQ(sent.deliveries[1].skip_reason, "recipient opted out with STOP");
  EXPECT_TRUE(queue_->handed().empty());
}

TEST_F(GroupServiceTest, ARetryWithTheSameKeyReplaysThePostAndSendsNothingMore) {
  ASSERT_NO_FATAL_FAILURE(ThreeMembers());
  SMSGW_ASSERT_OK_AND_ASSIGN(GroupSendResult first, Post(ann_, "hi", "key-1"));
  SMSGW_ASSERT_OK_AND_ASSIGN(GroupSendResult again, Post(ann_, "hi", "key-1"));
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.post.id, first.post.id);
  EXPECT_THAT(again.deliveries, IsEmpty());
  EXPECT_EQ(queue_->handed().size(), 2u);
  EXPECT_THAT(Post(ann_, "another text", "key-1"),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("key-1")));
  EXPECT_EQ(queue_->handed().size(), 2u);
}

TEST_F(GroupServiceTest, ABadPostIsInvalidArgumentAndStoresNothing) {
  ASSERT_NO_FATAL_FAILURE(ThreeMembers());
  SendPolicy too_brief;
  too_brief.validity_period = absl::Milliseconds(500);
  // "ann: " takes 5 of the 1600 characters.
  const std::string too_long(1596, 'x');
  EXPECT_THAT(Post(ann_, ""), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("body")));
  EXPECT_THAT(Post(ann_, too_long),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1600")));
  EXPECT_THAT(Post(ann_, "hi", "has space"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("idempotency_key")));
  EXPECT_THAT(Post(ann_, "hi", std::string(256, 'k')),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("idempotency_key")));
  EXPECT_THAT(Post(ann_, "hi", "", too_brief),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("validity_period")));
  EXPECT_THAT(StoredFor(ann_.id), IsEmpty());
  EXPECT_TRUE(queue_->handed().empty());
  // One character less fits.
  EXPECT_THAT(Post(ann_, std::string(1595, 'x')), IsOk());
}

TEST_F(GroupServiceTest, PostingToAGroupOneIsNotInIsNotFound) {
  ASSERT_THAT(service_->Create(ann_, "Hikers", ""), IsOk());
  EXPECT_THAT(Post(bob_, "let me in"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(service_->Send(ann_, "nobody", "hi", "", clock_.Now()),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(StoredFor(bob_.id), IsEmpty());
}

TEST_F(GroupServiceTest, ThePolicyAppliesToEveryDelivery) {
  ASSERT_NO_FATAL_FAILURE(ThreeMembers());
  SendPolicy urgent;
  urgent.priority = storage::MessagePriority::kHigh;
  urgent.validity_period = absl::Minutes(5);
  ASSERT_THAT(Post(ann_, "storm coming", "", urgent), IsOk());
  const std::vector<storage::Message> handed = queue_->handed();
  ASSERT_EQ(handed.size(), 2u);
  for (const storage::Message& m : handed) {
    EXPECT_EQ(m.priority, storage::MessagePriority::kHigh);
    EXPECT_EQ(m.expire_time, clock_.Now() + absl::Minutes(5));
  }
}

// --- ListMessages ---

TEST_F(GroupServiceTest, ListMessagesPagesThroughThePostsNewestFirst) {
  ASSERT_NO_FATAL_FAILURE(ThreeMembers());
  ASSERT_THAT(Post(ann_, "one"), IsOk());
  clock_.Advance(absl::Seconds(1));
  ASSERT_THAT(Post(bob_, "two"), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(MessagePage page,
                             service_->ListMessages(carl_, "Hikers", 1, ""));
  ASSERT_EQ(page.messages.size(), 1u);
  EXPECT_EQ(page.messages[0].body, "two");  // posts only, not deliveries
  EXPECT_EQ(page.messages[0].owner_id, bob_.id);
  // Another member's post shows their number masked.
  EXPECT_EQ(page.messages[0].peer_number, MaskPhoneNumber(kBobPhone));
  ASSERT_FALSE(page.next_page_token.empty());
  SMSGW_ASSERT_OK_AND_ASSIGN(
      MessagePage rest,
      service_->ListMessages(carl_, "Hikers", 10, page.next_page_token));
  ASSERT_EQ(rest.messages.size(), 1u);
  EXPECT_EQ(rest.messages[0].body, "one");
  EXPECT_EQ(rest.next_page_token, "");
}

TEST_F(GroupServiceTest, ListMessagesIsForMembersAndAdminsWithWellFormedPaging) {
  ASSERT_THAT(service_->Create(ann_, "Hikers", ""), IsOk());
  ASSERT_THAT(Post(ann_, "one"), IsOk());
  EXPECT_THAT(service_->ListMessages(bob_, "Hikers", 10, ""),
              StatusIs(absl::StatusCode::kNotFound));
  const storage::User admin = AddUser("root", "", false, /*admin=*/true);
  SMSGW_ASSERT_OK_AND_ASSIGN(MessagePage seen,
                             service_->ListMessages(admin, "Hikers", 10, ""));
  EXPECT_EQ(seen.messages.size(), 1u);
  EXPECT_THAT(service_->ListMessages(ann_, "Hikers", -1, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(service_->ListMessages(ann_, "Hikers", 10, "bogus"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
}

// --- GroupRouter ---

TEST_F(GroupServiceTest, RouteInboundFindsTheMemberByVerifiedPhoneAndProxy) {
  ASSERT_NO_FATAL_FAILURE(ThreeMembers());
  SMSGW_ASSERT_OK_AND_ASSIGN(std::optional<GroupRoute> route,
                             service_->RouteInbound(kBobPhone, kOurNumber));
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(route->group_name, "Hikers");
  EXPECT_EQ(route->user_id, bob_.id);
  EXPECT_EQ(route->username, "bob");
  SMSGW_ASSERT_OK_AND_ASSIGN(std::optional<GroupRoute> other_number,
                             service_->RouteInbound(kBobPhone, kSecondNumber));
  EXPECT_FALSE(other_number.has_value());
  SMSGW_ASSERT_OK_AND_ASSIGN(std::optional<GroupRoute> stranger,
                             service_->RouteInbound("+14155550177", kOurNumber));
  EXPECT_FALSE(stranger.has_value());
}

}  // namespace
}  // namespace smsgw::domain

// The GroupStore contract (storage/group_store.h), run against every
// implementation: SQLite and PostgreSQL (group_store_factory.h).
#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/group_store.h"
#include "tests/storage/sqlite/group_store_factory.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::vector<std::string> kPool = {"+15005550006", "+15005550020",
                                        "+15005550021"};

template <typename Factory>
class GroupStoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override { SMSGW_REQUIRE_DATABASE(factory_.available()); }
  GroupStore* groups() { return factory_.groups(); }
  absl::Time Now() { return factory_.clock().Now(); }

  // Creates `name` with `user` as its first member; a failure is a test
  // failure.
  Membership Create(const std::string& name, const User& user,
                    const std::vector<std::string>& pool = kPool) {
    absl::StatusOr<Membership> made =
        groups()->CreateWithMember(name, "about " + name, user.id, pool, Now());
    EXPECT_THAT(made, IsOk());
    return made.ok() ? *made : Membership();
  }

  std::vector<std::string> MemberNames(int64_t group_id) {
    std::vector<std::string> names;
    absl::StatusOr<std::vector<GroupMemberRecord>> members =
        groups()->ListMembers(group_id);
    EXPECT_THAT(members, IsOk());
    if (members.ok()) {
      for (const GroupMemberRecord& m : *members) names.push_back(m.username);
    }
    return names;
  }

  Factory factory_;
};

using StoreFactories =
    ::testing::Types<SqliteGroupStoreFactory, PgGroupStoreFactory>;
TYPED_TEST_SUITE(GroupStoreContractTest, StoreFactories);

// --- CreateWithMember ---

TYPED_TEST(GroupStoreContractTest, CreateStoresTheGroupWithItsCreatorOnTheFirstNumber) {
  const User ann = this->factory_.AddUser("ann");
  SMSGW_ASSERT_OK_AND_ASSIGN(
      Membership made, this->groups()->CreateWithMember(
                           "Hikers", "weekend walks", ann.id, kPool, this->Now()));
  EXPECT_GT(made.group.id, 0);
  EXPECT_EQ(made.group.name, "Hikers");
  EXPECT_EQ(made.group.description, "weekend walks");
  EXPECT_EQ(made.group.create_time, this->Now());
  EXPECT_EQ(made.group.member_count, 1);
  EXPECT_EQ(made.proxy_number, kPool[0]);

  SMSGW_ASSERT_OK_AND_ASSIGN(GroupRecord found,
                             this->groups()->FindByName("Hikers"));
  EXPECT_EQ(found.id, made.group.id);
  EXPECT_EQ(found.name, "Hikers");
  EXPECT_EQ(found.description, "weekend walks");
  EXPECT_EQ(found.create_time, this->Now());
  EXPECT_EQ(found.member_count, 1);
  EXPECT_THAT(this->MemberNames(made.group.id), ElementsAre("ann"));
}

TYPED_TEST(GroupStoreContractTest, CreateTakesTheFirstNumberTheUsersOtherGroupsLeaveFree) {
  const User ann = this->factory_.AddUser("ann");
  EXPECT_EQ(this->Create("one", ann).proxy_number, kPool[0]);
  EXPECT_EQ(this->Create("two", ann).proxy_number, kPool[1]);
  // Another user's groups do not take numbers from ann.
  const User bob = this->factory_.AddUser("bob");
  EXPECT_EQ(this->Create("three", bob).proxy_number, kPool[0]);
  // A number freed by leaving is reused first.
  ASSERT_THAT(this->groups()->Leave("one", ann.id), IsOk());
  EXPECT_EQ(this->Create("four", ann).proxy_number, kPool[0]);
}

TYPED_TEST(GroupStoreContractTest, CreateWithATakenNameInAnyCaseIsAlreadyExists) {
  const User ann = this->factory_.AddUser("ann");
  const User bob = this->factory_.AddUser("bob");
  this->Create("Hikers", ann);
  EXPECT_THAT(this->groups()->CreateWithMember("hIKERS", "", bob.id, kPool,
                                               this->Now()),
              StatusIs(absl::StatusCode::kAlreadyExists));
  // Nothing of the refused call was stored.
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<Membership> bobs,
                             this->groups()->ListForUser(bob.id, "", 10));
  EXPECT_THAT(bobs, IsEmpty());
  SMSGW_ASSERT_OK_AND_ASSIGN(GroupRecord found,
                             this->groups()->FindByName("hikers"));
  EXPECT_EQ(found.name, "Hikers");
  EXPECT_EQ(found.member_count, 1);
}

TYPED_TEST(GroupStoreContractTest, CreateWithEveryNumberTakenIsResourceExhaustedAndStoresNothing) {
  const User ann = this->factory_.AddUser("ann");
  const std::vector<std::string> one = {kPool[0]};
  this->Create("first", ann, one);
  EXPECT_THAT(this->groups()->CreateWithMember("second", "", ann.id, one,
                                               this->Now()),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(this->groups()->FindByName("second"),
              StatusIs(absl::StatusCode::kNotFound));
  // The name stays free for someone with a number to spare.
  const User bob = this->factory_.AddUser("bob");
  EXPECT_EQ(this->Create("second", bob, one).proxy_number, kPool[0]);
}

// --- Join ---

TYPED_TEST(GroupStoreContractTest, JoinAddsTheMemberWithAFreeNumberAnyCase) {
  const User ann = this->factory_.AddUser("ann");
  const User bob = this->factory_.AddUser("bob");
  const Membership hikers = this->Create("Hikers", ann);
  this->Create("Bikers", bob);  // bob's first number is taken by this
  this->factory_.clock().Advance(absl::Minutes(1));
  SMSGW_ASSERT_OK_AND_ASSIGN(
      Membership joined,
      this->groups()->Join("HIKERS", bob.id, kPool, this->Now()));
  EXPECT_EQ(joined.group.id, hikers.group.id);
  EXPECT_EQ(joined.group.name, "Hikers");
  EXPECT_EQ(joined.group.member_count, 2);
  EXPECT_EQ(joined.proxy_number, kPool[1]);
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<GroupMemberRecord> members,
                             this->groups()->ListMembers(hikers.group.id));
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[1].user_id, bob.id);
  EXPECT_EQ(members[1].proxy_number, kPool[1]);
  EXPECT_EQ(members[1].join_time, this->Now());
  SMSGW_ASSERT_OK_AND_ASSIGN(GroupRecord found,
                             this->groups()->FindByName("Hikers"));
  EXPECT_EQ(found.member_count, 2);
}

TYPED_TEST(GroupStoreContractTest, JoinAnUnknownGroupIsNotFound) {
  const User ann = this->factory_.AddUser("ann");
  EXPECT_THAT(this->groups()->Join("nobody", ann.id, kPool, this->Now()),
              StatusIs(absl::StatusCode::kNotFound));
}

TYPED_TEST(GroupStoreContractTest, JoinTwiceIsAlreadyExists) {
  const User ann = this->factory_.AddUser("ann");
  const Membership made = this->Create("Hikers", ann);
  EXPECT_THAT(this->groups()->Join("hikers", ann.id, kPool, this->Now()),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(this->MemberNames(made.group.id), ElementsAre("ann"));
}

TYPED_TEST(GroupStoreContractTest, JoinWithNoNumberFreeIsResourceExhaustedAndStoresNothing) {
  const User ann = this->factory_.AddUser("ann");
  const User bob = this->factory_.AddUser("bob");
  const std::vector<std::string> one = {kPool[0]};
  const Membership hikers = this->Create("Hikers", ann, one);
  this->Create("Bikers", bob, one);
  EXPECT_THAT(this->groups()->Join("Hikers", bob.id, one, this->Now()),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("leave a group first")));
  EXPECT_THAT(this->MemberNames(hikers.group.id), ElementsAre("ann"));
}

TYPED_TEST(GroupStoreContractTest, ConcurrentJoinsNeverGiveOneUserANumberTwice) {
  const User owner = this->factory_.AddUser("owner");
  const User ann = this->factory_.AddUser("ann");
  const std::vector<std::string> names = {"g0", "g1", "g2", "g3"};
  // The owner's own numbers do not matter to ann's: a pool of 4 for them.
  const std::vector<std::string> owner_pool = {kPool[0], kPool[1], kPool[2],
                                               "+15005550022"};
  for (const std::string& name : names) this->Create(name, owner, owner_pool);
  std::vector<absl::StatusOr<Membership>> results(names.size(),
                                                  absl::UnknownError("unset"));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < names.size(); ++i) {
    threads.emplace_back([&, i] {
      results[i] = this->groups()->Join(names[i], ann.id, kPool, this->Now());
    });
  }
  for (std::thread& t : threads) t.join();
  std::multiset<std::string> numbers;
  int exhausted = 0;
  for (const absl::StatusOr<Membership>& r : results) {
    if (r.ok()) {
      numbers.insert(r->proxy_number);
    } else {
      EXPECT_THAT(r, StatusIs(absl::StatusCode::kResourceExhausted));
      ++exhausted;
    }
  }
  EXPECT_EQ(numbers, (std::multiset<std::string>(kPool.begin(), kPool.end())));
  EXPECT_EQ(exhausted, 1);
}

// --- Leave ---

TYPED_TEST(GroupStoreContractTest, LeaveKeepsTheGroupWhileMembersRemain) {
  const User ann = this->factory_.AddUser("ann");
  const User bob = this->factory_.AddUser("bob");
  const Membership made = this->Create("Hikers", ann);
  ASSERT_THAT(this->groups()->Join("Hikers", bob.id, kPool, this->Now()), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(bool deleted, this->groups()->Leave("hikers", ann.id));
  EXPECT_FALSE(deleted);
  SMSGW_ASSERT_OK_AND_ASSIGN(GroupRecord found,
                             this->groups()->FindByName("Hikers"));
  EXPECT_EQ(found.member_count, 1);
  EXPECT_THAT(this->MemberNames(made.group.id), ElementsAre("bob"));
}

TYPED_TEST(GroupStoreContractTest, TheLastToLeaveDeletesTheGroupAndFreesItsName) {
  const User ann = this->factory_.AddUser("ann");
  const Membership made = this->Create("Hikers", ann);
  SMSGW_ASSERT_OK_AND_ASSIGN(bool deleted, this->groups()->Leave("Hikers", ann.id));
  EXPECT_TRUE(deleted);
  EXPECT_THAT(this->groups()->FindByName("Hikers"),
              StatusIs(absl::StatusCode::kNotFound));
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<GroupMemberRecord> members,
                             this->groups()->ListMembers(made.group.id));
  EXPECT_THAT(members, IsEmpty());
  const Membership again = this->Create("hikers", ann);
  EXPECT_EQ(again.group.name, "hikers");
  EXPECT_EQ(again.group.member_count, 1);
}

TYPED_TEST(GroupStoreContractTest, LeaveAnUnknownGroupIsNotFound) {
  const User ann = this->factory_.AddUser("ann");
  EXPECT_THAT(this->groups()->Leave("nobody", ann.id),
              StatusIs(absl::StatusCode::kNotFound));
}

TYPED_TEST(GroupStoreContractTest, LeaveByANonMemberIsFailedPreconditionAndChangesNothing) {
  const User ann = this->factory_.AddUser("ann");
  const User bob = this->factory_.AddUser("bob");
  const Membership made = this->Create("Hikers", ann);
  EXPECT_THAT(this->groups()->Leave("Hikers", bob.id),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(this->MemberNames(made.group.id), ElementsAre("ann"));
}

// --- Reads ---

TYPED_TEST(GroupStoreContractTest, FindByNameOfAnUnknownGroupIsNotFound) {
  EXPECT_THAT(this->groups()->FindByName("nobody"),
              StatusIs(absl::StatusCode::kNotFound));
}

TYPED_TEST(GroupStoreContractTest, ListMembersIsInOrderOfJoiningWithTheirAccounts) {
  const User ann = this->factory_.AddUser("ann", "+14155550100", true);
  const User bob = this->factory_.AddUser("bob", "+14155550111", false);
  const User carl = this->factory_.AddUser("carl");
  const Membership made = this->Create("Hikers", carl);
  this->factory_.clock().Advance(absl::Seconds(1));
  ASSERT_THAT(this->groups()->Join("Hikers", ann.id, kPool, this->Now()), IsOk());
  // bob joins at the same instant as ann: the user id breaks the tie.
  ASSERT_THAT(this->groups()->Join("Hikers", bob.id, kPool, this->Now()), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<GroupMemberRecord> members,
                             this->groups()->ListMembers(made.group.id));
  ASSERT_EQ(members.size(), 3u);
  EXPECT_EQ(members[0].username, "carl");
  EXPECT_EQ(members[0].phone_number, "");
  EXPECT_EQ(members[1].username, "ann");
  EXPECT_EQ(members[1].group_id, made.group.id);
  EXPECT_EQ(members[1].user_id, ann.id);
  EXPECT_EQ(members[1].phone_number, "+14155550100");
  EXPECT_TRUE(members[1].phone_verified);
  EXPECT_EQ(members[1].proxy_number, kPool[0]);
  EXPECT_EQ(members[1].join_time, made.group.create_time + absl::Seconds(1));
  EXPECT_EQ(members[2].username, "bob");
  EXPECT_EQ(members[2].phone_number, "+14155550111");
  EXPECT_FALSE(members[2].phone_verified);
}

TYPED_TEST(GroupStoreContractTest, ListForUserIsByNameAnyCaseAfterTheCursorUpToTheLimit) {
  const User ann = this->factory_.AddUser("ann");
  const User bob = this->factory_.AddUser("bob");
  const std::vector<std::string> pool = {kPool[0], kPool[1], kPool[2],
                                         "+15005550022"};
  for (const char* name : {"delta", "Alpha", "charlie", "Bravo"}) {
    this->Create(name, ann, pool);
  }
  this->Create("aardvark", bob);  // not ann's
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<Membership> all,
                             this->groups()->ListForUser(ann.id, "", 10));
  std::vector<std::string> names;
  for (const Membership& m : all) names.push_back(m.group.name);
  EXPECT_THAT(names, ElementsAre("Alpha", "Bravo", "charlie", "delta"));
  // Each with ann's own number in it and the member count.
  EXPECT_EQ(all[0].proxy_number, kPool[1]);  // "Alpha" was her second
  EXPECT_EQ(all[0].group.member_count, 1);

  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<Membership> page,
                             this->groups()->ListForUser(ann.id, "BRAVO", 1));
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].group.name, "charlie");
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<Membership> rest,
                             this->groups()->ListForUser(ann.id, "delta", 10));
  EXPECT_THAT(rest, IsEmpty());
}

TYPED_TEST(GroupStoreContractTest, FindByPhoneAndProxyNeedsAVerifiedPhoneAndTheMembersNumber) {
  const User ann = this->factory_.AddUser("ann", "+14155550100", true);
  const User bob = this->factory_.AddUser("bob", "+14155550111", false);
  const Membership made = this->Create("Hikers", ann);
  ASSERT_THAT(this->groups()->Join("Hikers", bob.id, kPool, this->Now()), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(
      std::optional<GroupMemberRecord> found,
      this->groups()->FindByPhoneAndProxy("+14155550100", kPool[0]));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->group_id, made.group.id);
  EXPECT_EQ(found->user_id, ann.id);
  EXPECT_EQ(found->username, "ann");
  EXPECT_EQ(found->proxy_number, kPool[0]);
  // Another of the pool's numbers is not ann's in this group.
  SMSGW_ASSERT_OK_AND_ASSIGN(
      std::optional<GroupMemberRecord> other_number,
      this->groups()->FindByPhoneAndProxy("+14155550100", kPool[1]));
  EXPECT_FALSE(other_number.has_value());
  // bob's phone is not verified: rule 1 does not route his texts.
  SMSGW_ASSERT_OK_AND_ASSIGN(
      std::optional<GroupMemberRecord> unverified,
      this->groups()->FindByPhoneAndProxy("+14155550111", kPool[0]));
  EXPECT_FALSE(unverified.has_value());
}

TYPED_TEST(GroupStoreContractTest, DeletingAGroupKeepsItsMessagesWithTheirGroupName) {
  const User ann = this->factory_.AddUser("ann");
  const Membership made = this->Create("Hikers", ann);
  Message post;
  post.id = "00000000-0000-4000-8000-000000000001";
  post.owner_id = ann.id;
  post.conversation_id = "group:Hikers";
  post.direction = Direction::kOutbound;
  post.from = post.our_number = kPool[0];
  post.to = post.peer_number = "+14155550100";
  post.body = "see you at nine";
  post.num_segments = 1;
  post.encoding = Encoding::kGsm7;
  post.status = MessageStatus::kPending;
  post.group_id = made.group.id;
  post.group_name = "Hikers";
  post.create_time = post.update_time = this->Now();
  ASSERT_THAT(this->factory_.messages()->CreateOutbound(post, std::nullopt),
              IsOk());
  ASSERT_THAT(this->groups()->Leave("Hikers", ann.id), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(Message kept,
                             this->factory_.messages()->Get(post.id));
  EXPECT_EQ(kept.group_id, 0);
  EXPECT_EQ(kept.group_name, "Hikers");
  EXPECT_EQ(kept.body, "see you at nine");
}

}  // namespace
}  // namespace smsgw::storage

// Group chat end to end (DESIGN.md §6): the real server with its embedded
// Twilio simulator on a known port, phone verification codes read from the
// simulator's outbox as they would be read on a phone, and members texting
// the group through signed inbound webhooks.
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/twilio/twilio_rest_client.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/twilio_side.h"

namespace smsgw {
namespace {

using ::testing::HasSubstr;

constexpr char kAnnPhone[] = "+14155550101";
constexpr char kBobPhone[] = "+14155550102";
constexpr char kCatPhone[] = "+14155550103";
constexpr char kDavePhone[] = "+14155550104";
// The simulator's numbers: the proxy number pool, in order.
constexpr const char* kPool[] = {"+15005550006", "+15005550020",
                                  "+15005550021"};

class GroupIntegrationTest : public testing::ServerTest {
 protected:
  void SetUp() override {
    sim_port_ = testing::FreePort();
    ASSERT_GT(sim_port_, 0);
    StartServer({}, {absl::StrCat("--simulator_port=", sim_port_)});
    auto created = testing::SimulatorRestClient(sim_port_);
    ASSERT_THAT(created, IsOk());
    twilio_ = *std::move(created);
  }

  // What the simulator sent to `to` (newest first), optionally only from
  // `from`.
  std::vector<twilio::ProviderMessage> Outbox(const std::string& to,
                                              const std::string& from = "") {
    twilio::ListFilter filter;
    filter.to = to;
    filter.from = from;
    auto listed = twilio_->List(filter, 200);
    EXPECT_THAT(listed, IsOk());
    return listed.ok() ? *listed : std::vector<twilio::ProviderMessage>();
  }

  // Waits until the simulator has sent `body` from `from` to `to`.
  bool AwaitOutbox(const std::string& to, const std::string& from,
                   const std::string& body) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      for (const auto& m : Outbox(to, from)) {
        if (m.body == body) return true;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  int CountOutbox(const std::string& to, const std::string& body) {
    int n = 0;
    for (const auto& m : Outbox(to)) n += m.body == body ? 1 : 0;
    return n;
  }

  // The newest verification code the simulator delivered to `phone` (from
  // the first pool number, which verification codes come from).
  std::string ReadCode(const std::string& phone) {
    return testing::ReadVerificationCode(*twilio_, phone, kPool[0]);
  }

  void Verify(SmsgwClient& client, const std::string& phone) {
    auto started = client.StartPhoneVerification("");
    ASSERT_THAT(started, IsOk());
    ASSERT_EQ(started->phone_number(), phone);
    const std::string code = ReadCode(phone);
    ASSERT_EQ(code.size(), 6u);
    auto confirmed = client.ConfirmPhoneVerification(code);
    ASSERT_THAT(confirmed, IsOk());
    ASSERT_TRUE(confirmed->user().phone_verified());
  }

  // Signs up three verified users: ann, bob, cat.
  void ThreeVerifiedUsers() {
    ann_ = SignedIn("ann", kAnnPhone);
    bob_ = SignedIn("bob", kBobPhone);
    cat_ = SignedIn("cat", kCatPhone);
    ASSERT_NO_FATAL_FAILURE(Verify(*ann_, kAnnPhone));
    ASSERT_NO_FATAL_FAILURE(Verify(*bob_, kBobPhone));
    ASSERT_NO_FATAL_FAILURE(Verify(*cat_, kCatPhone));
  }

  // An SMS from `from` to our number `to`, as Twilio posts it: a signed
  // inbound webhook. Returns the HTTP status.
  int TextFromPhone(const std::string& from, const std::string& to,
                    const std::string& body) {
    return testing::PostSigned(
        *server_, testing::kInboundPath,
        testing::InboundParams(testing::NewSid(++next_sid_), from, to, body));
  }

  std::string ProxyOf(SmsgwClient& client, const std::string& group) {
    auto got = client.GetGroup(group);
    EXPECT_THAT(got, IsOk());
    return got.ok() ? got->group().proxy_number() : "";
  }

  int sim_port_ = 0;
  std::unique_ptr<twilio::TwilioRestClient> twilio_;
  std::unique_ptr<SmsgwClient> bob_, cat_;
  int next_sid_ = 0;
};

TEST_F(GroupIntegrationTest, CodeFromTheOutboxVerifiesThePhone) {
  auto ann = SignedIn("ann", kAnnPhone);
  auto started = ann->StartPhoneVerification("");
  ASSERT_THAT(started, IsOk());
  EXPECT_EQ(started->phone_number(), kAnnPhone);
  const std::string code = ReadCode(kAnnPhone);
  ASSERT_EQ(code.size(), 6u);
  for (char c : code) ASSERT_TRUE(c >= '0' && c <= '9') << code;
  // The code comes from the first pool number.
  ASSERT_FALSE(Outbox(kAnnPhone, kPool[0]).empty());

  std::string wrong = code;
  wrong[0] = wrong[0] == '9' ? '0' : wrong[0] + 1;
  EXPECT_THAT(ann->ConfirmPhoneVerification(wrong),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not match")));
  EXPECT_THAT(ann->ConfirmPhoneVerification("12ab56"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto before = ann->GetCurrentUser();
  ASSERT_THAT(before, IsOk());
  EXPECT_FALSE(before->user().phone_verified());

  auto confirmed = ann->ConfirmPhoneVerification(code);
  ASSERT_THAT(confirmed, IsOk());
  EXPECT_TRUE(confirmed->user().phone_verified());
  // A code is used once.
  EXPECT_THAT(ann->ConfirmPhoneVerification(code),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  // Another user cannot verify the same number.
  auto mallory = SignedIn("mallory", "");
  EXPECT_THAT(mallory->StartPhoneVerification(kAnnPhone),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(GroupIntegrationTest, UnverifiedUsersCannotCreateOrJoin) {
  auto ann = SignedIn("ann", kAnnPhone);
  EXPECT_THAT(ann->CreateGroup("hikers", ""),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("verif")));
  auto bob = SignedIn("bob", kBobPhone);
  ASSERT_NO_FATAL_FAILURE(Verify(*bob, kBobPhone));
  ASSERT_THAT(bob->CreateGroup("hikers", "weekend walks"), IsOk());
  EXPECT_THAT(ann->JoinGroup("hikers"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(GroupIntegrationTest, MembersTextTheGroupFromTheirPhones) {
  ASSERT_NO_FATAL_FAILURE(ThreeVerifiedUsers());
  // Bob is in another group first, so his proxy number for "hikers" is the
  // second pool number: deliveries must come from each member's own.
  ASSERT_THAT(bob_->CreateGroup("chess", ""), IsOk());
  auto created = ann_->CreateGroup("Hikers", "weekend walks");
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->group().member_count(), 1);
  auto bob_join = bob_->JoinGroup("HIKERS");
  ASSERT_THAT(bob_join, IsOk());
  EXPECT_EQ(bob_join->membership().proxy_number(), kPool[1]);
  // Joining twice is harmless: the same membership, the same number.
  auto again = bob_->JoinGroup("hikers");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->membership().proxy_number(), kPool[1]);
  ASSERT_THAT(cat_->JoinGroup("hikers"), IsOk());

  const std::string ann_proxy = ProxyOf(*ann_, "hikers");
  const std::string bob_proxy = ProxyOf(*bob_, "hikers");
  const std::string cat_proxy = ProxyOf(*cat_, "hikers");
  EXPECT_EQ(ann_proxy, kPool[0]);
  EXPECT_EQ(bob_proxy, kPool[1]);
  EXPECT_EQ(cat_proxy, kPool[0]);

  // Members see each other with masked phones.
  auto group = cat_->GetGroup("hikers");
  ASSERT_THAT(group, IsOk());
  EXPECT_EQ(group->group().name(), "Hikers");
  EXPECT_EQ(group->group().member_count(), 3);
  ASSERT_EQ(group->group().members_size(), 3);
  EXPECT_EQ(group->group().members(0).username(), "ann");
  EXPECT_EQ(group->group().members(0).masked_phone(), "+1415•••0101");
  EXPECT_EQ(group->group().members(1).masked_phone(), "+1415•••0102");
  EXPECT_THAT(group->DebugString(), ::testing::Not(HasSubstr("5550101")));

  // Ann texts the group from her phone.
  ASSERT_EQ(TextFromPhone(kAnnPhone, ann_proxy, "summit at noon?"), 200);
  EXPECT_TRUE(AwaitOutbox(kBobPhone, bob_proxy, "ann: summit at noon?"));
  EXPECT_TRUE(AwaitOutbox(kCatPhone, cat_proxy, "ann: summit at noon?"));
  EXPECT_EQ(CountOutbox(kAnnPhone, "ann: summit at noon?"), 0);
  EXPECT_EQ(CountOutbox(kBobPhone, "ann: summit at noon?"), 1);

  // Bob posts from the app.
  v1::SendGroupMessageRequest send;
  send.set_name("hikers");
  send.set_body("count me in");
  auto sent = bob_->SendGroupMessage(send);
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(sent->message().body(), "count me in");
  EXPECT_EQ(sent->message().group_name(), "Hikers");
  ASSERT_EQ(sent->deliveries_size(), 2);
  EXPECT_EQ(sent->deliveries(0).username(), "ann");
  EXPECT_EQ(sent->deliveries(1).username(), "cat");
  for (const auto& d : sent->deliveries()) {
    EXPECT_FALSE(d.skipped()) << d.skip_reason();
    EXPECT_EQ(d.message().body(), "bob: count me in");
    // Bob does not learn the others' numbers.
    EXPECT_THAT(d.message().to(), HasSubstr("•••"));
  }
  EXPECT_TRUE(AwaitOutbox(kAnnPhone, ann_proxy, "bob: count me in"));
  EXPECT_TRUE(AwaitOutbox(kCatPhone, cat_proxy, "bob: count me in"));
  EXPECT_EQ(CountOutbox(kBobPhone, "bob: count me in"), 0);

  // The group's history: the two posts, newest first.
  v1::ListGroupMessagesRequest history;
  history.set_name("hikers");
  auto posts = cat_->ListGroupMessages(history);
  ASSERT_THAT(posts, IsOk());
  ASSERT_EQ(posts->messages_size(), 2);
  EXPECT_EQ(posts->messages(0).body(), "count me in");
  EXPECT_EQ(posts->messages(1).body(), "summit at noon?");
  EXPECT_THAT(posts->DebugString(), ::testing::Not(HasSubstr("5550101")));

  v1::ListGroupsRequest mine;
  auto bobs = bob_->ListGroups(mine);
  ASSERT_THAT(bobs, IsOk());
  ASSERT_EQ(bobs->groups_size(), 2);
  EXPECT_EQ(bobs->groups(0).name(), "chess");
  EXPECT_EQ(bobs->groups(1).name(), "Hikers");
  EXPECT_EQ(bobs->groups(1).proxy_number(), kPool[1]);

  // Non-members learn nothing.
  auto dave = SignedIn("dave", kDavePhone);
  EXPECT_THAT(dave->GetGroup("hikers"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(dave->ListGroupMessages(history),
              StatusIs(absl::StatusCode::kNotFound));
  send.set_body("let me in");
  EXPECT_THAT(dave->SendGroupMessage(send),
              StatusIs(absl::StatusCode::kNotFound));

  // A non-member texting a proxy number reaches nobody.
  ASSERT_EQ(TextFromPhone(kDavePhone, kPool[0], "who is here?"), 200);
  // A member texting a number that is not her proxy for any group posts
  // nothing either (cat's proxy is kPool[0]; kPool[2] is nobody's).
  ASSERT_EQ(TextFromPhone(kCatPhone, kPool[2], "wrong number"), 200);

  // Cat opts out of her proxy number: she is skipped from then on.
  ASSERT_EQ(TextFromPhone(kCatPhone, cat_proxy, "STOP"), 200);
  send.set_body("rain tomorrow");
  auto after_stop = ann_->SendGroupMessage(send);
  ASSERT_THAT(after_stop, IsOk());
  ASSERT_EQ(after_stop->deliveries_size(), 2);
  EXPECT_EQ(after_stop->deliveries(0).username(), "bob");
  EXPECT_FALSE(after_stop->deliveries(0).skipped());
  EXPECT_EQ(after_stop->deliveries(1).username(), "cat");
  EXPECT_TRUE(after_stop->deliveries(1).skipped());
  EXPECT_THAT(after_stop->deliveries(1).skip_reason(), HasSubstr("STOP"));
  EXPECT_FALSE(after_stop->deliveries(1).has_message());
  EXPECT_TRUE(AwaitOutbox(kBobPhone, bob_proxy, "ann: rain tomorrow"));
  EXPECT_EQ(CountOutbox(kCatPhone, "ann: rain tomorrow"), 0);

  // Only after all this: nothing was ever fanned out for dave's or cat's
  // stray texts, and "STOP" was not posted to the group.
  for (const char* phone : {kAnnPhone, kBobPhone, kCatPhone}) {
    for (const auto& m : Outbox(phone)) {
      EXPECT_THAT(m.body, ::testing::Not(HasSubstr("who is here")));
      EXPECT_THAT(m.body, ::testing::Not(HasSubstr("wrong number")));
      EXPECT_THAT(m.body, ::testing::Not(HasSubstr("STOP")));
    }
  }
  auto all_posts = ann_->ListGroupMessages(history);
  ASSERT_THAT(all_posts, IsOk());
  EXPECT_EQ(all_posts->messages_size(), 3);
}

TEST_F(GroupIntegrationTest, UserCanBeInAsManyGroupsAsThereAreNumbers) {
  ASSERT_NO_FATAL_FAILURE(ThreeVerifiedUsers());
  std::set<std::string> proxies;
  for (const char* name : {"one", "two", "three"}) {
    auto created = ann_->CreateGroup(name, "");
    ASSERT_THAT(created, IsOk());
    proxies.insert(created->group().proxy_number());
  }
  EXPECT_EQ(proxies, (std::set<std::string>{kPool[0], kPool[1], kPool[2]}));
  ASSERT_THAT(bob_->CreateGroup("four", ""), IsOk());
  EXPECT_THAT(ann_->JoinGroup("four"),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("leave a group")));
  EXPECT_THAT(ann_->CreateGroup("five", ""),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // The failed create stored nothing: the name is still free.
  ASSERT_THAT(bob_->CreateGroup("five", ""), IsOk());

  // Leaving frees the number for the next group.
  const std::string freed = ProxyOf(*ann_, "two");
  ASSERT_THAT(ann_->LeaveGroup("two"), IsOk());
  auto joined = ann_->JoinGroup("four");
  ASSERT_THAT(joined, IsOk());
  EXPECT_EQ(joined->membership().proxy_number(), freed);
}

TEST_F(GroupIntegrationTest, LastMemberLeavingDeletesTheGroupAndFreesItsName) {
  ASSERT_NO_FATAL_FAILURE(ThreeVerifiedUsers());
  ASSERT_THAT(ann_->CreateGroup("book club", ""), IsOk());
  ASSERT_THAT(bob_->JoinGroup("book club"), IsOk());
  EXPECT_THAT(cat_->CreateGroup("BOOK CLUB", ""),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(cat_->LeaveGroup("book club"),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  v1::SendGroupMessageRequest send;
  send.set_name("book club");
  send.set_body("chapter 3 by friday");
  ASSERT_THAT(ann_->SendGroupMessage(send), IsOk());

  ASSERT_THAT(ann_->LeaveGroup("book club"), IsOk());
  auto left = bob_->GetGroup("book club");
  ASSERT_THAT(left, IsOk());
  EXPECT_EQ(left->group().member_count(), 1);
  EXPECT_THAT(ann_->GetGroup("book club"),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(bob_->LeaveGroup("book club"), IsOk());
  EXPECT_THAT(bob_->GetGroup("book club"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(bob_->JoinGroup("book club"),
              StatusIs(absl::StatusCode::kNotFound));
  auto bobs = bob_->ListGroups(v1::ListGroupsRequest());
  ASSERT_THAT(bobs, IsOk());
  EXPECT_EQ(bobs->groups_size(), 0);

  auto again = cat_->CreateGroup("Book Club", "");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->group().member_count(), 1);
  v1::ListGroupMessagesRequest history;
  history.set_name("book club");
  // The old group's history does not leak into the new one of that name.
  auto posts = cat_->ListGroupMessages(history);
  ASSERT_THAT(posts, IsOk());
  EXPECT_EQ(posts->messages_size(), 0);
  // Ann's post stays in her own history.
  v1::ListMessagesRequest anns;
  auto kept = ann_->ListMessages(anns);
  ASSERT_THAT(kept, IsOk());
  bool found = false;
  for (const auto& m : kept->messages()) {
    found = found || m.body() == "chapter 3 by friday";
  }
  EXPECT_TRUE(found);
}

TEST_F(GroupIntegrationTest, ConcurrentJoinsNeverGiveOneUserANumberTwice) {
  ASSERT_NO_FATAL_FAILURE(ThreeVerifiedUsers());
  // Four groups, three numbers: ann joins all four at once.
  for (const char* name : {"g1", "g2"}) ASSERT_THAT(bob_->CreateGroup(name, ""), IsOk());
  for (const char* name : {"g3", "g4"}) ASSERT_THAT(cat_->CreateGroup(name, ""), IsOk());
  std::vector<absl::StatusOr<v1::JoinGroupResponse>> results(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      results[i] = ann_->JoinGroup(absl::StrCat("g", i + 1));
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<std::string> proxies;
  int exhausted = 0;
  for (const auto& r : results) {
    if (r.ok()) {
      EXPECT_TRUE(proxies.insert(r->membership().proxy_number()).second)
          << "number given twice: " << r->membership().proxy_number();
    } else {
      EXPECT_THAT(r, StatusIs(absl::StatusCode::kResourceExhausted));
      ++exhausted;
    }
  }
  EXPECT_EQ(proxies.size(), 3u);
  EXPECT_EQ(exhausted, 1);
  auto mine = ann_->ListGroups(v1::ListGroupsRequest());
  ASSERT_THAT(mine, IsOk());
  EXPECT_EQ(mine->groups_size(), 3);
}

}  // namespace
}  // namespace smsgw

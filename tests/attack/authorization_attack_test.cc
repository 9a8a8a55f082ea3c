// Attack suite, authorization matrix (issue 9): for every RPC that reads or
// changes data, bob calling with ann's message ids, conversation ids, group
// names, idempotency keys, cursors and page tokens gets nothing of ann's, and
// ann's data is unchanged afterwards. Admin-only fields refuse non-admins;
// the admin itself is the control that the same requests do reach ann's
// data when allowed.
#include <grpcpp/client_context.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "server/twilio/twilio_rest_client.h"
#include "smsgw/v1/messaging.grpc.pb.h"
#include "tests/attack/attack_helpers.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_clients.h"

namespace smsgw::attack {
namespace {

using ::smsgw::client::SmsgwClient;
using ::smsgw::testing::SignedUpClient;

constexpr char kAnnPhone[] = "+14155550101";
constexpr char kBobPhone[] = "+14155550102";
constexpr char kPeer1[] = "+14155550181";
constexpr char kPeer2[] = "+14155550182";
constexpr char kAnnThread[] = "ann-private-thread";
constexpr char kAnnKey[] = "ann-idempotency-key-1";

// What of a message must not change: everything but its delivery progress.
std::string Fingerprint(const v1::Message& m) {
  return absl::StrCat(m.id(), "|", m.owner_username(), "|",
                      m.conversation_id(), "|", m.group_name(), "|", m.to(),
                      "|", m.body(), "|", m.idempotency_key(), "|",
                      m.status() == v1::MESSAGE_STATUS_SCHEDULED ||
                              m.status() == v1::MESSAGE_STATUS_CANCELED
                          ? static_cast<int>(m.status())
                          : 0);
}

class AuthorizationAttackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_ = new Suite();
    suite_->Build();
  }
  static void TearDownTestSuite() {
    delete suite_;
    suite_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(suite_->ready) << "fixture could not be built";
  }

  // ann's data as ann sees it, for before/after comparison.
  static std::set<std::string> AnnSnapshot() {
    std::set<std::string> out;
    v1::ListMessagesRequest request;
    request.set_page_size(500);
    auto listed = suite_->ann->ListMessages(request);
    EXPECT_THAT(listed, IsOk());
    if (listed.ok()) {
      for (const v1::Message& m : listed->messages()) {
        out.insert(Fingerprint(m));
      }
    }
    v1::ListConversationsRequest conversations;
    conversations.set_page_size(500);
    auto threads = suite_->ann->ListConversations(conversations);
    EXPECT_THAT(threads, IsOk());
    if (threads.ok()) {
      for (const v1::Conversation& c : threads->conversations()) {
        out.insert(absl::StrCat("conversation|", c.id(), "|", c.peer_number(),
                                "|", c.message_count()));
      }
    }
    for (const char* group : {"anngroup", "annother"}) {
      auto got = suite_->ann->GetGroup(group);
      EXPECT_THAT(got, IsOk());
      if (got.ok()) {
        out.insert(absl::StrCat("group|", got->group().name(), "|",
                                got->group().member_count(), "|",
                                got->group().proxy_number()));
      }
    }
    return out;
  }

  // Everything ann owns that bob must never see.
  struct Suite {
    testing::TempDir dir;
    std::unique_ptr<testing::ServerProcess> server;
    std::unique_ptr<twilio::TwilioRestClient> twilio;
    std::unique_ptr<SmsgwClient> ann, bob, root;
    std::vector<std::string> ann_ids;
    std::string scheduled_id;
    std::string thread_id;  // ann's conversation with kPeer1
    std::string messages_token, conversations_token, groups_token,
        group_messages_token, cursor;
    bool ready = false;

    bool Verify(SmsgwClient& client, const std::string& phone) {
      if (!client.StartPhoneVerification("").ok()) return false;
      const std::string code = testing::ReadVerificationCode(*twilio, phone);
      return code.size() == 6 && client.ConfirmPhoneVerification(code).ok();
    }

    void Build() {
      const int sim_port = testing::FreePort();
      server = StartServer(dir, {absl::StrCat("--simulator_port=", sim_port)},
                           {{"SMSGW_ADMIN_USERS", "root"}});
      if (server == nullptr) return;
      auto created = testing::SimulatorRestClient(sim_port);
      if (!created.ok()) return;
      twilio = *std::move(created);
      ann = SignedUpClient(*server, "ann", testing::kTestPassword, kAnnPhone);
      bob = SignedUpClient(*server, "bob", testing::kTestPassword, kBobPhone);
      root = SignedUpClient(*server, "root");
      if (!Verify(*ann, kAnnPhone) || !Verify(*bob, kBobPhone)) return;

      // ann starts watching, to get a cursor of her own events.
      ::grpc::ClientContext watch_context;
      testing::Authorize(watch_context, ann->access_token(), absl::Seconds(20));
      v1::WatchMessagesRequest watch_request;
      auto stream = ann->messaging()->WatchMessages(&watch_context,
                                                    watch_request);

      v1::SendMessageRequest send;
      send.set_to(kPeer1);
      send.set_body("ann secret alpha");
      send.set_conversation_id(kAnnThread);
      send.set_idempotency_key(kAnnKey);
      auto first = ann->SendMessage(send);
      if (!first.ok()) return;
      ann_ids.push_back(first->message().id());
      thread_id = first->message().conversation_id();
      send.set_body("ann secret beta");
      send.clear_idempotency_key();
      auto second = ann->SendMessage(send);
      if (!second.ok()) return;
      ann_ids.push_back(second->message().id());
      send.set_to(kPeer2);
      send.clear_conversation_id();
      send.set_body("ann secret gamma");
      auto third = ann->SendMessage(send);
      if (!third.ok()) return;
      ann_ids.push_back(third->message().id());
      send.set_body("ann secret scheduled");
      *send.mutable_send_at() = google::protobuf::util::TimeUtil::SecondsToTimestamp(
          absl::ToUnixSeconds(absl::Now() + absl::Hours(2)));
      auto scheduled = ann->SendMessage(send);
      if (!scheduled.ok() ||
          scheduled->message().status() != v1::MESSAGE_STATUS_SCHEDULED) {
        return;
      }
      scheduled_id = scheduled->message().id();
      ann_ids.push_back(scheduled_id);

      v1::WatchMessagesResponse event;
      if (!stream->Read(&event)) return;
      cursor = event.event().cursor();
      watch_context.TryCancel();
      while (stream->Read(&event)) {
      }
      (void)stream->Finish();

      if (!ann->CreateGroup("anngroup", "ann's private group").ok() ||
          !ann->CreateGroup("annother", "ann's other group").ok()) {
        return;
      }
      for (const char* body : {"ann group one", "ann group two"}) {
        v1::SendGroupMessageRequest post;
        post.set_name("anngroup");
        post.set_body(body);
        auto sent = ann->SendGroupMessage(post);
        if (!sent.ok()) return;
        ann_ids.push_back(sent->message().id());
      }

      v1::ListMessagesRequest page;
      page.set_page_size(1);
      auto listed = ann->ListMessages(page);
      if (!listed.ok()) return;
      messages_token = listed->next_page_token();
      v1::ListConversationsRequest threads;
      threads.set_page_size(1);
      auto conversations = ann->ListConversations(threads);
      if (!conversations.ok()) return;
      conversations_token = conversations->next_page_token();
      v1::ListGroupsRequest groups;
      groups.set_page_size(1);
      auto listed_groups = ann->ListGroups(groups);
      if (!listed_groups.ok()) return;
      groups_token = listed_groups->next_page_token();
      v1::ListGroupMessagesRequest group_page;
      group_page.set_name("anngroup");
      group_page.set_page_size(1);
      auto group_messages = ann->ListGroupMessages(group_page);
      if (!group_messages.ok()) return;
      group_messages_token = group_messages->next_page_token();
      ready = !messages_token.empty() && !conversations_token.empty() &&
              !groups_token.empty() && !group_messages_token.empty() &&
              !cursor.empty();
    }
  };

  static Suite* suite_;
};

AuthorizationAttackTest::Suite* AuthorizationAttackTest::suite_ = nullptr;

// Every id-taking RPC: bob with ann's ids learns and changes nothing.
TEST_F(AuthorizationAttackTest, MessageIdsOfAnotherUserAreNotFound) {
  const std::set<std::string> before = AnnSnapshot();
  SmsgwClient& bob = *suite_->bob;
  for (const std::string& id : suite_->ann_ids) {
    EXPECT_THAT(bob.GetMessage(id, false),
                StatusIs(absl::StatusCode::kNotFound))
        << id;
    EXPECT_THAT(bob.GetMessage(id, true),
                StatusIs(absl::StatusCode::kNotFound))
        << id;
    EXPECT_THAT(bob.DeleteMessage(id), StatusIs(absl::StatusCode::kNotFound))
        << id;
    EXPECT_THAT(bob.CancelMessage(id),
                StatusIs(absl::StatusCode::kNotFound))
        << id;
  }
  EXPECT_EQ(AnnSnapshot(), before);
  // Control: ann (and the admin) do find them.
  EXPECT_THAT(suite_->ann->GetMessage(suite_->ann_ids[0], true), IsOk());
  EXPECT_THAT(suite_->root->GetMessage(suite_->ann_ids[0], false), IsOk());
}

TEST_F(AuthorizationAttackTest, ConversationIdsOfAnotherUserShowNothing) {
  const std::set<std::string> before = AnnSnapshot();
  SmsgwClient& bob = *suite_->bob;
  for (const std::string& id : {suite_->thread_id, std::string(kAnnThread)}) {
    v1::ListMessagesRequest list;
    list.set_conversation_id(id);
    // A filter of ListMessages: bob's own messages in it, which are none.
    auto listed = bob.ListMessages(list);
    ASSERT_THAT(listed, IsOk()) << id;
    EXPECT_THAT(listed->messages(), ::testing::IsEmpty()) << id;
    // DeleteMessages: bob has no messages in it, so nothing is deleted and
    // nothing of ann's goes (messaging.proto).
    v1::DeleteMessagesRequest wipe;
    wipe.set_conversation_id(id);
    auto wiped = bob.DeleteMessages(wipe);
    ASSERT_THAT(wiped, IsOk()) << id;
    EXPECT_EQ(wiped->deleted_count(), 0) << id;
    // Watching ann's conversation: NOT_FOUND, no such conversation of bob's.
    ::grpc::ClientContext context;
    testing::Authorize(context, bob.access_token(), absl::Seconds(1));
    v1::WatchMessagesRequest watch;
    watch.set_conversation_id(id);
    watch.set_after_cursor(suite_->cursor);
    auto stream = bob.messaging()->WatchMessages(&context, watch);
    v1::WatchMessagesResponse event;
    while (stream->Read(&event)) {
      EXPECT_NE(event.event().message().owner_username(), "ann");
      ADD_FAILURE() << "bob saw an event in ann's conversation " << id;
    }
    const ::grpc::Status finished = stream->Finish();
    EXPECT_EQ(finished.error_code(), ::grpc::StatusCode::NOT_FOUND)
        << id << ": " << finished.error_message();
  }
  EXPECT_EQ(AnnSnapshot(), before);
}

TEST_F(AuthorizationAttackTest, SendingIntoAnotherUsersConversationIdStaysOwn) {
  const std::set<std::string> before = AnnSnapshot();
  v1::SendMessageRequest send;
  send.set_to(kPeer1);
  send.set_body("bob into ann's thread");
  send.set_conversation_id(kAnnThread);
  auto sent = suite_->bob->SendMessage(send);
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(sent->message().owner_username(), "bob");
  // The same label names bob's own conversation, not ann's.
  v1::ListMessagesRequest list;
  list.set_conversation_id(sent->message().conversation_id());
  auto listed = suite_->bob->ListMessages(list);
  ASSERT_THAT(listed, IsOk());
  for (const v1::Message& m : listed->messages()) {
    EXPECT_EQ(m.owner_username(), "bob");
  }
  EXPECT_EQ(AnnSnapshot(), before);
}

TEST_F(AuthorizationAttackTest, ReusedIdempotencyKeyCreatesTheCallersOwnMessage) {
  const std::set<std::string> before = AnnSnapshot();
  // The very request ann made, key included, from another user: a new
  // message of that user, not a replay of ann's.
  auto cat = SignedUpClient(*suite_->server, "cat");
  v1::SendMessageRequest same;
  same.set_to(kPeer1);
  same.set_body("ann secret alpha");
  same.set_conversation_id(kAnnThread);
  same.set_idempotency_key(kAnnKey);
  auto copied = cat->SendMessage(same);
  ASSERT_THAT(copied, IsOk());
  EXPECT_FALSE(copied->idempotent_replay());
  EXPECT_EQ(copied->message().owner_username(), "cat");
  EXPECT_NE(copied->message().id(), suite_->ann_ids[0]);
  // Replayed by cat: cat's own message comes back.
  auto again = cat->SendMessage(same);
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->idempotent_replay());
  EXPECT_EQ(again->message().id(), copied->message().id());
  // Another request under ann's key: no conflict with ann's use (that would
  // tell the caller the key exists), just the caller's own message.
  v1::SendMessageRequest other;
  other.set_to(kPeer2);
  other.set_body("something else");
  other.set_idempotency_key(kAnnKey);
  auto dan = SignedUpClient(*suite_->server, "dan");
  auto sent = dan->SendMessage(other);
  ASSERT_THAT(sent, IsOk());
  EXPECT_FALSE(sent->idempotent_replay());
  EXPECT_EQ(sent->message().owner_username(), "dan");
  EXPECT_EQ(sent->message().body(), "something else");
  // Group posts under ann's key: in bob's own group only.
  ASSERT_THAT(suite_->bob->CreateGroup("bobgroup", "bob's"), IsOk());
  v1::SendGroupMessageRequest post;
  post.set_name("bobgroup");
  post.set_body("ann group one");
  post.set_idempotency_key(kAnnKey);
  auto posted = suite_->bob->SendGroupMessage(post);
  ASSERT_THAT(posted, IsOk());
  EXPECT_EQ(posted->message().owner_username(), "bob");
  EXPECT_EQ(std::count(suite_->ann_ids.begin(), suite_->ann_ids.end(),
                       posted->message().id()),
            0);
  EXPECT_EQ(AnnSnapshot(), before);
}

TEST_F(AuthorizationAttackTest, PageTokensOfAnotherUserYieldNothingOfTheirs) {
  const std::set<std::string> before = AnnSnapshot();
  const std::set<std::string> ann_ids(suite_->ann_ids.begin(),
                                      suite_->ann_ids.end());
  SmsgwClient& bob = *suite_->bob;
  v1::ListMessagesRequest list;
  list.set_page_token(suite_->messages_token);
  auto listed = bob.ListMessages(list);
  if (listed.ok()) {
    for (const v1::Message& m : listed->messages()) {
      EXPECT_EQ(ann_ids.count(m.id()), 0u);
      EXPECT_NE(m.owner_username(), "ann");
    }
  } else {
    EXPECT_THAT(listed, StatusIs(absl::StatusCode::kInvalidArgument));
  }
  v1::ListConversationsRequest threads;
  threads.set_page_token(suite_->conversations_token);
  auto conversations = bob.ListConversations(threads);
  if (conversations.ok()) {
    for (const v1::Conversation& c : conversations->conversations()) {
      EXPECT_NE(c.last_message().owner_username(), "ann");
      EXPECT_NE(c.id(), suite_->thread_id);
    }
  } else {
    EXPECT_THAT(conversations, StatusIs(absl::StatusCode::kInvalidArgument));
  }
  v1::ListGroupsRequest groups;
  groups.set_page_token(suite_->groups_token);
  auto listed_groups = bob.ListGroups(groups);
  if (listed_groups.ok()) {
    for (const v1::Group& g : listed_groups->groups()) {
      EXPECT_NE(g.name(), "anngroup");
      EXPECT_NE(g.name(), "annother");
    }
  } else {
    EXPECT_THAT(listed_groups, StatusIs(absl::StatusCode::kInvalidArgument));
  }
  v1::ListGroupMessagesRequest group_page;
  group_page.set_name("anngroup");
  group_page.set_page_token(suite_->group_messages_token);
  // NOT_FOUND: bob is not a member, and non-members learn nothing.
  EXPECT_THAT(bob.ListGroupMessages(group_page),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(AnnSnapshot(), before);
}

TEST_F(AuthorizationAttackTest, CursorOfAnotherUserReplaysNothingOfTheirs) {
  ::grpc::ClientContext context;
  testing::Authorize(context, suite_->bob->access_token(), absl::Seconds(2));
  v1::WatchMessagesRequest watch;
  watch.set_after_cursor(suite_->cursor);
  auto stream = suite_->bob->messaging()->WatchMessages(&context, watch);
  v1::WatchMessagesResponse event;
  const std::set<std::string> ann_ids(suite_->ann_ids.begin(),
                                      suite_->ann_ids.end());
  int events = 0;
  while (stream->Read(&event)) {
    ++events;
    EXPECT_EQ(ann_ids.count(event.event().message().id()), 0u);
    EXPECT_NE(event.event().message().owner_username(), "ann");
  }
  const ::grpc::Status finished = stream->Finish();
  // A well-formed cursor, still kept: the stream replays bob's events after it
  // (none of ann's) and stays open until the deadline.
  EXPECT_EQ(finished.error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED)
      << finished.error_message();
}

TEST_F(AuthorizationAttackTest, GroupNamesOfAnotherUserRevealAndChangeNothing) {
  const std::set<std::string> before = AnnSnapshot();
  SmsgwClient& bob = *suite_->bob;
  for (const char* name : {"anngroup", "ANNGROUP", "annother"}) {
    EXPECT_THAT(bob.GetGroup(name), StatusIs(absl::StatusCode::kNotFound))
        << name;
    v1::ListGroupMessagesRequest page;
    page.set_name(name);
    EXPECT_THAT(bob.ListGroupMessages(page),
                StatusIs(absl::StatusCode::kNotFound))
        << name;
    v1::SendGroupMessageRequest post;
    post.set_name(name);
    post.set_body("bob posting into ann's group");
    post.set_idempotency_key(kAnnKey);
    // NOT_FOUND: the caller is not a member.
    EXPECT_THAT(bob.SendGroupMessage(post),
                StatusIs(absl::StatusCode::kNotFound))
        << name;
    // FAILED_PRECONDITION: the group exists and the caller is not a member.
    EXPECT_THAT(bob.LeaveGroup(name),
                StatusIs(absl::StatusCode::kFailedPrecondition))
        << name;
    v1::ListMessagesRequest list;
    list.set_group_name(name);
    // The group_name filter is not built yet (messaging.proto): it must
    // refuse, not answer with anyone's messages.
    EXPECT_THAT(bob.ListMessages(list),
                StatusIs(absl::StatusCode::kUnimplemented))
        << name;
    EXPECT_THAT(bob.CreateGroup(name, "hijack"),
                StatusIs(absl::StatusCode::kAlreadyExists))
        << name;
  }
  EXPECT_EQ(AnnSnapshot(), before);
}

TEST_F(AuthorizationAttackTest, FullTextSearchFindsOnlyTheCallersMessages) {
  v1::ListMessagesRequest list;
  list.set_query("secret");
  auto listed = suite_->bob->ListMessages(list);
  ASSERT_THAT(listed, IsOk());
  const std::set<std::string> ann_ids(suite_->ann_ids.begin(),
                                      suite_->ann_ids.end());
  for (const v1::Message& m : listed->messages()) {
    EXPECT_EQ(m.owner_username(), "bob");  // bob's own copies of the words
    EXPECT_EQ(ann_ids.count(m.id()), 0u);
  }
  auto own = suite_->ann->ListMessages(list);
  ASSERT_THAT(own, IsOk());
  EXPECT_GE(own->messages_size(), 3);  // control
}

TEST_F(AuthorizationAttackTest, AdminOnlyFieldsRefuseNonAdmins) {
  const std::set<std::string> before = AnnSnapshot();
  SmsgwClient& bob = *suite_->bob;
  v1::ListMessagesRequest by_user;
  by_user.set_username("ann");
  EXPECT_THAT(bob.ListMessages(by_user),
              StatusIs(absl::StatusCode::kPermissionDenied));
  v1::ListMessagesRequest unrouted;
  unrouted.set_unrouted(true);
  EXPECT_THAT(bob.ListMessages(unrouted),
              StatusIs(absl::StatusCode::kPermissionDenied));
  v1::DeleteMessagesRequest wipe;
  wipe.set_username("ann");
  EXPECT_THAT(bob.DeleteMessages(wipe),
              StatusIs(absl::StatusCode::kPermissionDenied));
  v1::GetMessageStatsRequest stats;
  stats.set_username("ann");
  EXPECT_THAT(bob.GetMessageStats(stats),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // Naming a user who does not exist reveals nothing either: the same
  // PERMISSION_DENIED (NOT_FOUND is for admins).
  by_user.set_username("nobody-here");
  EXPECT_THAT(bob.ListMessages(by_user),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // Quotas are set by admins only, a user's own included.
  EXPECT_THAT(bob.SetUserQuota("bob", 1'000'000),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(bob.SetUserQuota("nobody-here", 1),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(AnnSnapshot(), before);

  // Control: the admin may.
  by_user.set_username("ann");
  auto as_admin = suite_->root->ListMessages(by_user);
  ASSERT_THAT(as_admin, IsOk());
  EXPECT_GE(as_admin->messages_size(), 3);
  EXPECT_THAT(suite_->root->GetMessageStats(stats), IsOk());
  EXPECT_THAT(suite_->root->ListMessages(unrouted), IsOk());
  EXPECT_THAT(suite_->root->SetUserQuota("bob", 0), IsOk());
}

TEST_F(AuthorizationAttackTest, PhoneNumbersAndCodesOfAnotherUserCannotBeClaimed) {
  SmsgwClient& bob = *suite_->bob;
  // bob asks for a code to ann's number: ALREADY_EXISTS, it is verified by
  // another user; so no code is pending for bob and guesses fail.
  EXPECT_THAT(bob.StartPhoneVerification(kAnnPhone),
              StatusIs(absl::StatusCode::kAlreadyExists));
  for (const char* guess : {"000000", "123456", "999999"}) {
    EXPECT_FALSE(bob.ConfirmPhoneVerification(guess).ok());
  }
  auto me = suite_->bob->GetCurrentUser();
  ASSERT_THAT(me, IsOk());
  EXPECT_EQ(me->user().phone_number(), kBobPhone);
  auto ann = suite_->ann->GetCurrentUser();
  ASSERT_THAT(ann, IsOk());
  EXPECT_EQ(ann->user().phone_number(), kAnnPhone);
  EXPECT_TRUE(ann->user().phone_verified());
}

}  // namespace
}  // namespace smsgw::attack

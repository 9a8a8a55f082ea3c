// MessagingService (messaging_service.h) in process: its contract beyond
// the sending policy (messaging_service_policy_test.cc): validation with
// nothing stored, opt-outs, idempotency, the backlog bound, the provider's
// first answer, system sends, and the history calls with their ownership
// rules. Real SQLite store, FakeClock, the ScriptedQueue as dispatcher.
#include "server/domain/messaging_service.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/domain_fixture.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

using ::smsgw::testing::ScriptedQueue;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using storage::MessageStatus;

constexpr char kOtherPeer[] = "+14155550111";
constexpr char kUuidNobodyHas[] = "00000000-0000-4000-8000-000000000000";

class MessagingServiceTest : public smsgw::testing::DomainTest {
 protected:
  MessagingServiceTest() {
    MessagingService::Options options;
    options.blocked_keywords = {"casino"};
    options.sender_ids = {"SMSGW"};
    service_ = NewMessaging(options);
    ann_ = AddUser("ann");
    bob_ = AddUser("bob");
    admin_ = AddUser("root", "", false, /*admin=*/true);
  }

  // A plain request from kOurNumber to kPeer.
  static SendRequest Request(const std::string& body = "hello") {
    SendRequest request;
    request.to = kPeer;
    request.from = kOurNumber;
    request.body = body;
    return request;
  }

  absl::StatusOr<SendResult> Send(const SendRequest& request,
                                  const storage::User* caller = nullptr) {
    return service_->Send(caller != nullptr ? *caller : ann_, request,
                          clock_.Now() + absl::Seconds(5));
  }

  // Sends `body` as ann and returns the message; a failure is a test
  // failure.
  storage::Message Sent(const std::string& body = "hello",
                        const std::string& to = kPeer) {
    SendRequest request = Request(body);
    request.to = to;
    absl::StatusOr<SendResult> sent = Send(request);
    EXPECT_THAT(sent, IsOk());
    return sent.ok() ? sent->message : storage::Message();
  }

  std::unique_ptr<MessagingService> service_;
  storage::User ann_;
  storage::User bob_;
  storage::User admin_;
};

// --- Send ---

TEST_F(MessagingServiceTest, SendStoresHandsOverAndReturnsTheProvidersFirstAnswer) {
  queue_->AnswerWith(ScriptedQueue::Answer::kAccept);
  SMSGW_ASSERT_OK_AND_ASSIGN(SendResult sent, Send(Request("hello there")));
  EXPECT_FALSE(sent.replayed);
  EXPECT_EQ(sent.message.status, MessageStatus::kQueued);
  EXPECT_EQ(sent.message.provider_sid, "SM1");
  EXPECT_EQ(sent.message.owner_id, ann_.id);
  EXPECT_EQ(sent.message.from, kOurNumber);
  EXPECT_EQ(sent.message.to, kPeer);
  EXPECT_EQ(sent.message.conversation_id, kPeer);  // one per peer by default
  EXPECT_EQ(sent.message.num_segments, 1);
  EXPECT_EQ(sent.message.encoding, storage::Encoding::kGsm7);
  EXPECT_EQ(sent.message.priority, storage::MessagePriority::kNormal);
  const std::vector<storage::Message> handed = queue_->handed();
  ASSERT_EQ(handed.size(), 1u);
  EXPECT_EQ(handed[0].id, sent.message.id);
  EXPECT_EQ(handed[0].status, MessageStatus::kPending);  // stored before
}

TEST_F(MessagingServiceTest, ARefusalComesBackFailedWithTwiliosCode) {
  queue_->AnswerWith(ScriptedQueue::Answer::kReject, 21211,
                     "The 'To' number is not a valid phone number.");
  SMSGW_ASSERT_OK_AND_ASSIGN(SendResult sent, Send(Request()));
  EXPECT_EQ(sent.message.status, MessageStatus::kFailed);
  EXPECT_EQ(sent.message.error_code, 21211);
}

TEST_F(MessagingServiceTest, WithoutAnAnswerTheMessageComesBackPending) {
  SMSGW_ASSERT_OK_AND_ASSIGN(SendResult sent, Send(Request()));
  EXPECT_EQ(sent.message.status, MessageStatus::kPending);
  EXPECT_EQ(queue_->handed().size(), 1u);
}

TEST_F(MessagingServiceTest, UnicodeBodiesNameTheCharactersThatForceUcs2) {
  SMSGW_ASSERT_OK_AND_ASSIGN(SendResult sent, Send(Request("hi ✓")));
  EXPECT_EQ(sent.message.encoding, storage::Encoding::kUcs2);
  EXPECT_THAT(sent.non_gsm_characters, ElementsAre("✓"));
}

TEST_F(MessagingServiceTest, AnAllowedSenderIdOrNumberMayBeNamed) {
  SendRequest by_id = Request();
  by_id.from = "SMSGW";
  SMSGW_ASSERT_OK_AND_ASSIGN(SendResult sent, Send(by_id));
  EXPECT_EQ(sent.message.from, "SMSGW");
  SendRequest national = Request();
  national.from = "(500) 555-0020";
  SMSGW_ASSERT_OK_AND_ASSIGN(SendResult second, Send(national));
  EXPECT_EQ(second.message.from, kSecondNumber);
}

TEST_F(MessagingServiceTest, EachBadFieldIsInvalidArgumentNamingItAndStoresNothing) {
  struct Case {
    std::string names;
    SendRequest request;
  };
  std::vector<Case> cases;
  auto add = [&](std::string names, auto change) {
    SendRequest r = Request();
    change(r);
    cases.push_back({std::move(names), std::move(r)});
  };
  add("to:", [](SendRequest& r) { r.to = "not a number"; });
  add("from:", [](SendRequest& r) { r.from = "+15005550099"; });
  add("sender itself", [](SendRequest& r) { r.to = kOurNumber; });
  add("body is required", [](SendRequest& r) { r.body = ""; });
  add("21617", [](SendRequest& r) { r.body = std::string(1601, 'a'); });
  add("casino", [](SendRequest& r) { r.body = "win at the Casino tonight"; });
  add("21623", [](SendRequest& r) {
    r.media_urls.assign(11, "https://example.com/a.png");
  });
  add("media_urls", [](SendRequest& r) {
    r.media_urls = {"ftp://example.com/a.png"};
  });
  add("idempotency_key", [](SendRequest& r) { r.idempotency_key = "a b"; });
  add("send_at", [this](SendRequest& r) {
    r.send_at = clock_.Now() + absl::Minutes(4);
  });
  add("send_at", [this](SendRequest& r) {
    r.send_at = clock_.Now() + absl::Hours(24 * 35) + absl::Seconds(1);
  });
  for (const Case& c : cases) {
    EXPECT_THAT(Send(c.request),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.names)))
        << c.names;
  }
  EXPECT_THAT(StoredFor(ann_.id), IsEmpty());
  EXPECT_TRUE(queue_->handed().empty());
}

TEST_F(MessagingServiceTest, TheLimitsThemselvesAreAccepted) {
  SendRequest longest = Request(std::string(1600, 'a'));
  longest.media_urls.assign(10, "https://example.com/a.png");
  SMSGW_ASSERT_OK_AND_ASSIGN(SendResult sent, Send(longest));
  EXPECT_EQ(sent.message.num_segments, 11);  // 153 GSM-7 characters each
  SendRequest media_only = Request("");
  media_only.media_urls = {"https://example.com/a.png"};
  EXPECT_THAT(Send(media_only), IsOk());
  SendRequest at_earliest = Request();
  at_earliest.send_at = clock_.Now() + absl::Minutes(5);
  EXPECT_THAT(Send(at_earliest), IsOk());
}

TEST_F(MessagingServiceTest, AnOptedOutRecipientIsFailedPreconditionPerSenderNumber) {
  ASSERT_THAT(messages_->SetOptOut(kPeer, kOurNumber, "STOP", clock_.Now()),
              IsOk());
  EXPECT_THAT(Send(Request()), StatusIs(absl::StatusCode::kFailedPrecondition,
                                        HasSubstr("21610")));
  EXPECT_THAT(StoredFor(ann_.id), IsEmpty());
  // Twilio keeps opt-outs per (recipient, our number).
  SendRequest other_number = Request();
  other_number.from = kSecondNumber;
  EXPECT_THAT(Send(other_number), IsOk());
}

TEST_F(MessagingServiceTest, NoSenderConfiguredIsFailedPrecondition) {
  MessagingService bare(messages_.get(), users_.get(), queue_.get(), &phones_,
                        &clock_, MessagingService::Options{});
  SendRequest request = Request();
  request.from = "";
  EXPECT_THAT(bare.Send(ann_, request, clock_.Now() + absl::Seconds(5)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("TWILIO_PHONE_NUMBERS")));
}

TEST_F(MessagingServiceTest, AFullBacklogIsResourceExhaustedAndStoresNothing) {
  queue_->SetBacklogCheck(absl::ResourceExhaustedError("backlog of 10h"));
  EXPECT_THAT(Send(Request()), StatusIs(absl::StatusCode::kResourceExhausted,
                                        HasSubstr("backlog")));
  EXPECT_THAT(StoredFor(ann_.id), IsEmpty());
  // A scheduled send is not held to the backlog of now.
  SendRequest later = Request();
  later.send_at = clock_.Now() + absl::Hours(1);
  EXPECT_THAT(Send(later), IsOk());
}

TEST_F(MessagingServiceTest, TheSameKeyReplaysAndAnotherRequestUnderItIsAlreadyExists) {
  SendRequest request = Request();
  request.idempotency_key = "order-42";
  SMSGW_ASSERT_OK_AND_ASSIGN(SendResult first, Send(request));
  SMSGW_ASSERT_OK_AND_ASSIGN(SendResult again, Send(request));
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.message.id, first.message.id);
  EXPECT_EQ(queue_->handed().size(), 1u);
  SendRequest changed = request;
  changed.body = "another body";
  EXPECT_THAT(Send(changed), StatusIs(absl::StatusCode::kAlreadyExists,
                                      HasSubstr("order-42")));
  // Keys are per caller.
  SMSGW_ASSERT_OK_AND_ASSIGN(SendResult bobs, Send(changed, &bob_));
  EXPECT_FALSE(bobs.replayed);
  EXPECT_EQ(StoredFor(ann_.id).size(), 1u);
}

TEST_F(MessagingServiceTest, AScheduledSendIsStoredScheduledAndNotHandedOver) {
  SendRequest request = Request();
  request.send_at = clock_.Now() + absl::Minutes(10);
  SMSGW_ASSERT_OK_AND_ASSIGN(SendResult sent, Send(request));
  EXPECT_EQ(sent.message.status, MessageStatus::kScheduled);
  EXPECT_EQ(sent.message.scheduled_time, clock_.Now() + absl::Minutes(10));
  EXPECT_TRUE(queue_->handed().empty());
}

TEST_F(MessagingServiceTest, ValidateOnlyChecksAndStoresNothing) {
  SendRequest request = Request();
  request.validate_only = true;
  SMSGW_ASSERT_OK_AND_ASSIGN(SendResult checked, Send(request));
  EXPECT_EQ(checked.message.status, MessageStatus::kUnspecified);
  EXPECT_TRUE(checked.message.id.empty());
  EXPECT_EQ(checked.message.to, kPeer);
  EXPECT_THAT(StoredFor(ann_.id), IsEmpty());
  EXPECT_TRUE(queue_->handed().empty());
  request.body = "";
  EXPECT_THAT(Send(request), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(MessagingServiceTest, SendAsyncAnswersExactlyOnceWithWhatSendWouldReturn) {
  queue_->AnswerWith(ScriptedQueue::Answer::kAccept);
  int calls = 0;
  absl::StatusOr<SendResult> got = absl::UnknownError("not called");
  service_->SendAsync(ann_, Request(), clock_.Now() + absl::Seconds(5),
                      [&](absl::StatusOr<SendResult> result) {
                        ++calls;
                        got = std::move(result);
                      });
  EXPECT_EQ(calls, 1);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->message.status, MessageStatus::kQueued);
  int error_calls = 0;
  service_->SendAsync(ann_, Request(""), clock_.Now() + absl::Seconds(5),
                      [&](absl::StatusOr<SendResult> result) {
                        ++error_calls;
                        EXPECT_THAT(result,
                                    StatusIs(absl::StatusCode::kInvalidArgument));
                      });
  EXPECT_EQ(error_calls, 1);
}

// --- System sends ---

SystemSendRequest SystemRequest(const storage::User& owner, const char* to) {
  SystemSendRequest r;
  r.owner_id = owner.id;
  r.owner_username = owner.username;
  r.to = to;
  r.from = smsgw::testing::DomainTest::kOurNumber;
  r.body = "group: hello";
  r.conversation_id = "group-7";
  r.group_id = 0;
  r.group_name = "Hikers";
  return r;
}

TEST_F(MessagingServiceTest, SendSystemStoresAndHandsOverWithoutWaiting) {
  SMSGW_ASSERT_OK_AND_ASSIGN(storage::Message m,
                             service_->SendSystem(SystemRequest(bob_, kPeer)));
  EXPECT_EQ(m.status, MessageStatus::kPending);
  EXPECT_EQ(m.owner_id, bob_.id);
  EXPECT_EQ(m.conversation_id, "group-7");
  EXPECT_EQ(m.group_name, "Hikers");
  ASSERT_EQ(queue_->handed().size(), 1u);
  EXPECT_EQ(queue_->handed()[0].id, m.id);
}

TEST_F(MessagingServiceTest, SendSystemRefusesBadAndOptedOutRecipients) {
  EXPECT_THAT(service_->SendSystem(SystemRequest(bob_, "nope")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("to:")));
  ASSERT_THAT(messages_->SetOptOut(kPeer, kOurNumber, "STOP", clock_.Now()),
              IsOk());
  EXPECT_THAT(service_->SendSystem(SystemRequest(bob_, kPeer)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("21610")));
  EXPECT_THAT(StoredFor(bob_.id), IsEmpty());
}

TEST_F(MessagingServiceTest, ABatchAnswersPerRequestInOrder) {
  ASSERT_THAT(messages_->SetOptOut(kOtherPeer, kOurNumber, "STOP", clock_.Now()),
              IsOk());
  std::vector<SystemSendRequest> batch = {SystemRequest(ann_, kPeer),
                                          SystemRequest(bob_, kOtherPeer),
                                          SystemRequest(bob_, "bad"),
                                          SystemRequest(bob_, kPeer)};
  batch[3].conversation_id = "group-8";
  std::vector<absl::StatusOr<storage::Message>> out =
      service_->SendSystemBatch(batch);
  ASSERT_EQ(out.size(), 4u);
  ASSERT_THAT(out[0], IsOk());
  EXPECT_EQ(out[0]->owner_id, ann_.id);
  EXPECT_THAT(out[1], StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(out[2], StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_THAT(out[3], IsOk());
  EXPECT_EQ(out[3]->conversation_id, "group-8");
  EXPECT_EQ(queue_->handed().size(), 2u);
  EXPECT_EQ(StoredFor(bob_.id).size(), 1u);
}

TEST_F(MessagingServiceTest, AwaitAllReturnsTheMessagesAsTheyStand) {
  queue_->AnswerWith(ScriptedQueue::Answer::kAccept);
  SMSGW_ASSERT_OK_AND_ASSIGN(storage::Message m,
                             service_->SendSystem(SystemRequest(bob_, kPeer)));
  std::vector<storage::Message> now =
      service_->AwaitAll({m.id, kUuidNobodyHas}, clock_.Now() + absl::Seconds(1));
  ASSERT_EQ(now.size(), 1u);  // the unknown id has nothing to return
  EXPECT_EQ(now[0].status, MessageStatus::kQueued);
}

// --- Get, Reports, Cancel, Delete ---

TEST_F(MessagingServiceTest, GetAndReportsAreForTheOwnerAndAdmins) {
  queue_->AnswerWith(ScriptedQueue::Answer::kAccept);
  const storage::Message m = Sent();
  SMSGW_ASSERT_OK_AND_ASSIGN(storage::Message own, service_->Get(ann_, m.id));
  EXPECT_EQ(own.id, m.id);
  SMSGW_ASSERT_OK_AND_ASSIGN(storage::Message seen, service_->Get(admin_, m.id));
  EXPECT_EQ(seen.id, m.id);
  // Another user's id is as unknown as a missing one.
  EXPECT_THAT(service_->Get(bob_, m.id), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(service_->Get(ann_, kUuidNobodyHas),
              StatusIs(absl::StatusCode::kNotFound));
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<storage::DeliveryReport> reports,
                             service_->Reports(ann_, m.id));
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].status, MessageStatus::kQueued);
  EXPECT_EQ(reports[0].source, storage::ReportSource::kProviderResponse);
  EXPECT_THAT(service_->Reports(bob_, m.id),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(MessagingServiceTest, CancelEndsAScheduledMessageOnce) {
  SendRequest request = Request();
  request.send_at = clock_.Now() + absl::Hours(1);
  SMSGW_ASSERT_OK_AND_ASSIGN(SendResult sent, Send(request));
  EXPECT_THAT(service_->Cancel(bob_, sent.message.id),
              StatusIs(absl::StatusCode::kNotFound));
  SMSGW_ASSERT_OK_AND_ASSIGN(storage::Message canceled,
                             service_->Cancel(ann_, sent.message.id));
  EXPECT_EQ(canceled.status, MessageStatus::kCanceled);
  EXPECT_THAT(service_->Cancel(ann_, sent.message.id),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(MessagingServiceTest, CancelRefusesBadIdsAndMessagesAlreadyHandedOver) {
  EXPECT_THAT(service_->Cancel(ann_, "not-a-uuid"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("UUID")));
  EXPECT_THAT(service_->Cancel(ann_, kUuidNobodyHas),
              StatusIs(absl::StatusCode::kNotFound));
  const storage::Message pending = Sent();
  EXPECT_THAT(service_->Cancel(ann_, pending.id),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // An admin may cancel anyone's.
  SendRequest request = Request();
  request.send_at = clock_.Now() + absl::Hours(1);
  SMSGW_ASSERT_OK_AND_ASSIGN(SendResult later, Send(request));
  EXPECT_THAT(service_->Cancel(admin_, later.message.id), IsOk());
}

TEST_F(MessagingServiceTest, DeleteIsForTheOwnerAndAdmins) {
  const storage::Message first = Sent("one");
  const storage::Message second = Sent("two");
  EXPECT_THAT(service_->Delete(bob_, first.id),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(service_->Get(ann_, first.id), IsOk());
  ASSERT_THAT(service_->Delete(ann_, first.id), IsOk());
  EXPECT_THAT(service_->Get(ann_, first.id),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(service_->Delete(admin_, second.id), IsOk());
  EXPECT_THAT(StoredFor(ann_.id), IsEmpty());
}

TEST_F(MessagingServiceTest, DeleteAllCountsAndKeepsOtherConversations) {
  Sent("a");
  Sent("b");
  Sent("c", kOtherPeer);
  SMSGW_ASSERT_OK_AND_ASSIGN(int64_t one_conversation,
                             service_->DeleteAll(ann_, kPeer, ""));
  EXPECT_EQ(one_conversation, 2);
  ASSERT_EQ(StoredFor(ann_.id).size(), 1u);
  EXPECT_THAT(service_->DeleteAll(bob_, "", "ann"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(service_->DeleteAll(admin_, "", "nobody"),
              StatusIs(absl::StatusCode::kNotFound));
  SMSGW_ASSERT_OK_AND_ASSIGN(int64_t rest, service_->DeleteAll(admin_, "", "ANN"));
  EXPECT_EQ(rest, 1);
  EXPECT_THAT(StoredFor(ann_.id), IsEmpty());
}

// --- List and ListConversations ---

TEST_F(MessagingServiceTest, ListPagesNewestFirstWithATokenTiedToTheFilters) {
  for (const char* body : {"one", "two", "three"}) {
    Sent(body);
    clock_.Advance(absl::Seconds(1));
  }
  Sent("elsewhere", kOtherPeer);
  ListRequest request;
  request.peer_number = "(415) 555-0100";
  request.page_size = 2;
  SMSGW_ASSERT_OK_AND_ASSIGN(MessagePage first, service_->List(ann_, request));
  ASSERT_EQ(first.messages.size(), 2u);
  EXPECT_EQ(first.messages[0].body, "three");
  EXPECT_EQ(first.messages[1].body, "two");
  ASSERT_FALSE(first.next_page_token.empty());
  request.page_token = first.next_page_token;
  SMSGW_ASSERT_OK_AND_ASSIGN(MessagePage second, service_->List(ann_, request));
  ASSERT_EQ(second.messages.size(), 1u);
  EXPECT_EQ(second.messages[0].body, "one");
  EXPECT_EQ(second.next_page_token, "");
  // The token does not fit another query.
  request.peer_number = kOtherPeer;
  EXPECT_THAT(service_->List(ann_, request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("other filters")));
}

TEST_F(MessagingServiceTest, ListRefusesBadFiltersAsInvalidArgument) {
  ListRequest negative;
  negative.page_size = -1;
  ListRequest bad_token;
  bad_token.page_token = "garbage";
  ListRequest bad_peer;
  bad_peer.peer_number = "nope";
  ListRequest backwards;
  backwards.start_time = clock_.Now();
  backwards.end_time = clock_.Now() - absl::Seconds(1);
  ListRequest long_query;
  long_query.query = std::string(1025, 'q');
  for (const ListRequest& request :
       {negative, bad_token, bad_peer, backwards, long_query}) {
    EXPECT_THAT(service_->List(ann_, request),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  ListRequest both;
  both.username = "ann";
  both.unrouted = true;
  EXPECT_THAT(service_->List(admin_, both),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unrouted")));
}

TEST_F(MessagingServiceTest, OnlyAdminsNameAnotherUserOrTheUnrouted) {
  Sent("anns");
  ListRequest others;
  others.username = "ann";
  EXPECT_THAT(service_->List(bob_, others),
              StatusIs(absl::StatusCode::kPermissionDenied));
  ListRequest unrouted;
  unrouted.unrouted = true;
  EXPECT_THAT(service_->List(bob_, unrouted),
              StatusIs(absl::StatusCode::kPermissionDenied));
  SMSGW_ASSERT_OK_AND_ASSIGN(MessagePage anns, service_->List(admin_, others));
  ASSERT_EQ(anns.messages.size(), 1u);
  EXPECT_EQ(anns.messages[0].body, "anns");
  SMSGW_ASSERT_OK_AND_ASSIGN(MessagePage none, service_->List(admin_, unrouted));
  EXPECT_THAT(none.messages, IsEmpty());
  ListRequest nobody;
  nobody.username = "nobody";
  EXPECT_THAT(service_->List(admin_, nobody),
              StatusIs(absl::StatusCode::kNotFound));
  // Without a username, a user sees only their own.
  SMSGW_ASSERT_OK_AND_ASSIGN(MessagePage bobs, service_->List(bob_, ListRequest{}));
  EXPECT_THAT(bobs.messages, IsEmpty());
}

TEST_F(MessagingServiceTest, ListConversationsPagesMostRecentFirst) {
  Sent("to peer");
  clock_.Advance(absl::Seconds(1));
  Sent("to other", kOtherPeer);
  SMSGW_ASSERT_OK_AND_ASSIGN(ConversationPage first,
                             service_->ListConversations(ann_, 1, ""));
  ASSERT_EQ(first.conversations.size(), 1u);
  EXPECT_EQ(first.conversations[0].peer_number, kOtherPeer);
  ASSERT_FALSE(first.next_page_token.empty());
  SMSGW_ASSERT_OK_AND_ASSIGN(
      ConversationPage second,
      service_->ListConversations(ann_, 1, first.next_page_token));
  ASSERT_EQ(second.conversations.size(), 1u);
  EXPECT_EQ(second.conversations[0].peer_number, kPeer);
  EXPECT_EQ(second.next_page_token, "");
  SMSGW_ASSERT_OK_AND_ASSIGN(ConversationPage bobs,
                             service_->ListConversations(bob_, 10, ""));
  EXPECT_THAT(bobs.conversations, IsEmpty());
  EXPECT_THAT(service_->ListConversations(ann_, 10, "garbage"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(service_->ListConversations(ann_, -1, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// --- Stats ---

TEST_F(MessagingServiceTest, StatsCountTheWindowAndRefuseABackwardOne) {
  const absl::Time start = clock_.Now();
  queue_->AnswerWith(ScriptedQueue::Answer::kReject, 21211, "bad number");
  Sent("refused");
  clock_.Advance(absl::Hours(1));
  SMSGW_ASSERT_OK_AND_ASSIGN(MessageStatsReport report,
                             service_->Stats(ann_, start, std::nullopt, ""));
  EXPECT_EQ(report.start_time, start);
  EXPECT_EQ(report.end_time, clock_.Now());  // unset end: now
  EXPECT_DOUBLE_EQ(report.delivery_rate, 0.0);  // one FAILED, none delivered
  SMSGW_ASSERT_OK_AND_ASSIGN(MessageStatsReport unbounded,
                             service_->Stats(ann_, std::nullopt, std::nullopt, ""));
  EXPECT_EQ(unbounded.start_time, absl::InfinitePast());
  EXPECT_THAT(service_->Stats(ann_, clock_.Now(), clock_.Now() - absl::Seconds(1), ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(service_->Stats(ann_, clock_.Now() + absl::Hours(1), std::nullopt, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unset: now")));
  EXPECT_THAT(service_->Stats(bob_, std::nullopt, std::nullopt, "ann"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(service_->Stats(admin_, std::nullopt, std::nullopt, "nobody"),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace smsgw::domain

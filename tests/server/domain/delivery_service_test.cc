// DeliveryService (delivery_service.h) in process: status callbacks and
// inbound SMS applied to the real SQLite store, outbound messages sent
// through a real MessagingService whose dispatcher is the ScriptedQueue.
#include "server/domain/delivery_service.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/domain/group_service.h"
#include "tests/testing/domain_fixture.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::domain {
namespace {

using ::smsgw::testing::ScriptedQueue;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using storage::MessageStatus;

constexpr char kAccount[] = "AC00000000000000000000000000000001";

class DeliveryServiceTest : public smsgw::testing::DomainTest {
 protected:
  DeliveryServiceTest() {
    messaging_ = NewMessaging();
    DeliveryService::Options options;
    options.account_sid = kAccount;
    service_ = std::make_unique<DeliveryService>(messages_.get(), queue_.get(),
                                                 &phones_, &clock_, options);
    ann_ = AddUser("ann");
  }

  // ann's text to kPeer from kOurNumber, accepted by the provider as "SM1"
  // (the first SID the queue hands out).
  storage::Message SendAccepted(const std::string& body = "hello") {
    queue_->AnswerWith(ScriptedQueue::Answer::kAccept);
    SendRequest request;
    request.to = kPeer;
    request.from = kOurNumber;
    request.body = body;
    absl::StatusOr<SendResult> sent =
        messaging_->Send(ann_, request, clock_.Now() + absl::Seconds(5));
    EXPECT_THAT(sent, IsOk());
    return sent.ok() ? sent->message : storage::Message();
  }

  StatusCallback Callback(const std::string& sid, const std::string& status) {
    StatusCallback c;
    c.account_sid = kAccount;
    c.message_sid = sid;
    c.message_status = status;
    c.from = kOurNumber;
    c.to = kPeer;
    return c;
  }

  InboundSms Inbound(const std::string& sid, const std::string& body,
                     const std::string& from = kPeer) {
    InboundSms sms;
    sms.account_sid = kAccount;
    sms.message_sid = sid;
    sms.from = from;
    sms.to = kOurNumber;
    sms.body = body;
    return sms;
  }

  storage::Message Stored(const std::string& id) {
    absl::StatusOr<storage::Message> m = messages_->Get(id);
    EXPECT_THAT(m, IsOk());
    return m.ok() ? *m : storage::Message();
  }

  bool OptedOut(const std::string& peer = kPeer) {
    absl::StatusOr<bool> opted = messages_->IsOptedOut(peer, kOurNumber);
    EXPECT_THAT(opted, IsOk());
    return opted.ok() && *opted;
  }

  std::unique_ptr<MessagingService> messaging_;
  std::unique_ptr<DeliveryService> service_;
  storage::User ann_;
};

// --- ApplyStatusCallback ---

TEST_F(DeliveryServiceTest, CallbacksMoveTheMessageForwardAndAreRecorded) {
  const storage::Message m = SendAccepted();
  ASSERT_EQ(m.provider_sid, "SM1");
  ASSERT_THAT(service_->ApplyStatusCallback(Callback("SM1", "sent")), IsOk());
  EXPECT_EQ(Stored(m.id).status, MessageStatus::kSent);
  StatusCallback delivered = Callback("SM1", "delivered");
  delivered.raw_dlr_done_date = "2601151230";
  ASSERT_THAT(service_->ApplyStatusCallback(delivered), IsOk());
  EXPECT_EQ(Stored(m.id).status, MessageStatus::kDelivered);
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<storage::DeliveryReport> reports,
                             messages_->ListReports(m.id));
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back().status, MessageStatus::kDelivered);
  EXPECT_EQ(reports.back().provider_status, "delivered");
  EXPECT_EQ(reports.back().source, storage::ReportSource::kStatusCallback);
  // Terminal without a price: the dispatcher is asked for the final figures.
  EXPECT_THAT(queue_->refreshed(), ElementsAre("SM1"));
}

TEST_F(DeliveryServiceTest, ALateCallbackIsRecordedButMovesNothingBack) {
  const storage::Message m = SendAccepted();
  ASSERT_THAT(service_->ApplyStatusCallback(Callback("SM1", "delivered")), IsOk());
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<storage::DeliveryReport> before,
                             messages_->ListReports(m.id));
  ASSERT_THAT(service_->ApplyStatusCallback(Callback("SM1", "sent")), IsOk());
  EXPECT_EQ(Stored(m.id).status, MessageStatus::kDelivered);
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<storage::DeliveryReport> after,
                             messages_->ListReports(m.id));
  EXPECT_EQ(after.size(), before.size() + 1);
  EXPECT_EQ(after.back().provider_status, "sent");
  // Only the terminal callback asked for the figures.
  EXPECT_THAT(queue_->refreshed(), ElementsAre("SM1"));
}

TEST_F(DeliveryServiceTest, ACallbackThatOvertakesTheCreateAnswerIsAppliedWithIt) {
  ASSERT_THAT(service_->ApplyStatusCallback(Callback("SM1", "delivered")), IsOk());
  const storage::Message m = SendAccepted();
  EXPECT_EQ(Stored(m.id).status, MessageStatus::kDelivered);
}

TEST_F(DeliveryServiceTest, Error21610RecordsAnOptOutThatRefusesTheNextSend) {
  SendAccepted();
  StatusCallback failed = Callback("SM1", "failed");
  failed.error_code = 21610;
  failed.error_message = "Attempt to send to unsubscribed recipient";
  ASSERT_THAT(service_->ApplyStatusCallback(failed), IsOk());
  EXPECT_TRUE(OptedOut());
  SendRequest again;
  again.to = kPeer;
  again.from = kOurNumber;
  again.body = "still there?";
  EXPECT_THAT(messaging_->Send(ann_, again, clock_.Now() + absl::Seconds(5)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("21610")));
}

TEST_F(DeliveryServiceTest, Error21610ForAnUnknownSidOptsOutTheCallbacksNumbers) {
  StatusCallback failed = Callback("SM999", "undelivered");
  failed.error_code = 21610;
  failed.to = "(415) 555-0100";  // normalised like any number
  ASSERT_THAT(service_->ApplyStatusCallback(failed), IsOk());
  EXPECT_TRUE(OptedOut(kPeer));
}

TEST_F(DeliveryServiceTest, AnotherErrorCodeRecordsNoOptOut) {
  SendAccepted();
  StatusCallback failed = Callback("SM1", "undelivered");
  failed.error_code = 30003;
  ASSERT_THAT(service_->ApplyStatusCallback(failed), IsOk());
  EXPECT_FALSE(OptedOut());
}

TEST_F(DeliveryServiceTest, AMalformedCallbackIsInvalidArgumentAndChangesNothing) {
  const storage::Message m = SendAccepted();
  EXPECT_THAT(service_->ApplyStatusCallback(Callback("", "delivered")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("MessageSid")));
  EXPECT_THAT(service_->ApplyStatusCallback(Callback("SM1", "")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("MessageStatus")));
  EXPECT_THAT(service_->ApplyStatusCallback(Callback("SM1", "teleported")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("teleported")));
  EXPECT_EQ(Stored(m.id).status, MessageStatus::kQueued);
}

TEST_F(DeliveryServiceTest, ACallbackForAnotherAccountIsPermissionDenied) {
  const storage::Message m = SendAccepted();
  StatusCallback foreign = Callback("SM1", "delivered");
  foreign.account_sid = "AC99999999999999999999999999999999";
  EXPECT_THAT(service_->ApplyStatusCallback(foreign),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(Stored(m.id).status, MessageStatus::kQueued);
}

// --- ReceiveInbound ---

TEST_F(DeliveryServiceTest, AReplyGoesToTheUserInConversationWithTheSender) {
  const storage::Message out = SendAccepted();
  SMSGW_ASSERT_OK_AND_ASSIGN(InboundOutcome in,
                             service_->ReceiveInbound(Inbound("SM500", "hi back")));
  EXPECT_FALSE(in.replayed);
  EXPECT_EQ(in.keyword, KeywordAction::kNone);
  EXPECT_EQ(in.message.owner_id, ann_.id);
  EXPECT_EQ(in.message.conversation_id, out.conversation_id);
  EXPECT_EQ(in.message.direction, storage::Direction::kInbound);
  EXPECT_EQ(in.message.status, MessageStatus::kReceived);
  EXPECT_EQ(in.message.from, kPeer);
  EXPECT_EQ(in.message.to, kOurNumber);
  EXPECT_EQ(in.message.provider_sid, "SM500");
  EXPECT_EQ(in.message.body, "hi back");
  EXPECT_EQ(Stored(in.message.id).owner_id, ann_.id);
}

TEST_F(DeliveryServiceTest, ATextFromAStrangerIsKeptUnrouted) {
  SMSGW_ASSERT_OK_AND_ASSIGN(
      InboundOutcome in, service_->ReceiveInbound(Inbound("SM500", "who is this?")));
  EXPECT_EQ(in.message.owner_id, 0);
  EXPECT_EQ(in.message.conversation_id, kPeer);
  storage::MessageQuery unrouted;
  unrouted.unrouted = true;
  unrouted.limit = 10;
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<storage::Message> rows,
                             messages_->List(unrouted));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].id, in.message.id);
}

TEST_F(DeliveryServiceTest, ARepeatedMessageSidIsStoredOnce) {
  SMSGW_ASSERT_OK_AND_ASSIGN(InboundOutcome first,
                             service_->ReceiveInbound(Inbound("SM500", "hi")));
  SMSGW_ASSERT_OK_AND_ASSIGN(InboundOutcome again,
                             service_->ReceiveInbound(Inbound("SM500", "hi")));
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(again.message.id, first.message.id);
  storage::MessageQuery unrouted;
  unrouted.unrouted = true;
  unrouted.limit = 10;
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<storage::Message> rows,
                             messages_->List(unrouted));
  EXPECT_EQ(rows.size(), 1u);
}

TEST_F(DeliveryServiceTest, StopOptsOutAndStartOptsBackIn) {
  SMSGW_ASSERT_OK_AND_ASSIGN(InboundOutcome stop,
                             service_->ReceiveInbound(Inbound("SM501", " stop ")));
  EXPECT_EQ(stop.keyword, KeywordAction::kOptOut);
  EXPECT_TRUE(OptedOut());
  SMSGW_ASSERT_OK_AND_ASSIGN(InboundOutcome start,
                             service_->ReceiveInbound(Inbound("SM502", "START")));
  EXPECT_EQ(start.keyword, KeywordAction::kOptIn);
  EXPECT_FALSE(OptedOut());
  // Twilio retrying the old STOP webhook does not undo the later START.
  SMSGW_ASSERT_OK_AND_ASSIGN(InboundOutcome retried,
                             service_->ReceiveInbound(Inbound("SM501", " stop ")));
  EXPECT_TRUE(retried.replayed);
  EXPECT_FALSE(OptedOut());
}

TEST_F(DeliveryServiceTest, AKeywordInsideASentenceIsNoOptOut) {
  SMSGW_ASSERT_OK_AND_ASSIGN(InboundOutcome in,
                             service_->ReceiveInbound(Inbound("SM503", "stop please")));
  EXPECT_EQ(in.keyword, KeywordAction::kNone);
  EXPECT_FALSE(OptedOut());
}

TEST_F(DeliveryServiceTest, AMalformedInboundIsInvalidArgumentAndStoresNothing) {
  EXPECT_THAT(service_->ReceiveInbound(Inbound("", "hi")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("MessageSid")));
  EXPECT_THAT(service_->ReceiveInbound(Inbound("SM1", "hi", "")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("From")));
  InboundSms bad_to = Inbound("SM2", "hi");
  bad_to.to = "our number";
  EXPECT_THAT(service_->ReceiveInbound(bad_to),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("To")));
  InboundSms foreign = Inbound("SM3", "hi");
  foreign.account_sid = "AC99999999999999999999999999999999";
  EXPECT_THAT(service_->ReceiveInbound(foreign),
              StatusIs(absl::StatusCode::kPermissionDenied));
  storage::MessageQuery unrouted;
  unrouted.unrouted = true;
  unrouted.limit = 10;
  SMSGW_ASSERT_OK_AND_ASSIGN(std::vector<storage::Message> rows,
                             messages_->List(unrouted));
  EXPECT_THAT(rows, IsEmpty());
}

TEST_F(DeliveryServiceTest, AShortCodeSenderIsKeptAsItCame) {
  SMSGW_ASSERT_OK_AND_ASSIGN(InboundOutcome in,
                             service_->ReceiveInbound(Inbound("SM504", "promo", "12345")));
  EXPECT_EQ(in.message.from, "12345");
  EXPECT_EQ(in.message.peer_number, "12345");
}

// --- Groups (rule 1) ---

TEST_F(DeliveryServiceTest, AMembersTextToTheirProxyNumberIsPostedAndFannedOut) {
  GroupService::Options pool;
  pool.pool = {kOurNumber, kSecondNumber};
  GroupService groups(groups_.get(), messages_.get(), messaging_.get(), &clock_,
                      pool);
  service_->SetGroupRouter(&groups);
  const storage::User bob = AddUser("bob", kPeer, /*verified=*/true);
  const storage::User carl = AddUser("carl", "+14155550122", /*verified=*/true);
  ASSERT_THAT(groups.Create(bob, "Hikers", ""), IsOk());
  ASSERT_THAT(groups.Join(carl, "Hikers"), IsOk());

  SMSGW_ASSERT_OK_AND_ASSIGN(
      InboundOutcome in, service_->ReceiveInbound(Inbound("SM600", "summit?")));
  EXPECT_EQ(in.message.owner_id, bob.id);
  EXPECT_EQ(in.message.group_name, "Hikers");
  EXPECT_GT(in.message.group_id, 0);
  const std::vector<storage::Message> handed = queue_->handed();
  ASSERT_EQ(handed.size(), 1u);
  EXPECT_EQ(handed[0].owner_id, carl.id);
  EXPECT_EQ(handed[0].to, "+14155550122");
  EXPECT_EQ(handed[0].body, "bob: summit?");

  // A keyword is never posted to the group.
  SMSGW_ASSERT_OK_AND_ASSIGN(InboundOutcome stop,
                             service_->ReceiveInbound(Inbound("SM601", "STOP")));
  EXPECT_EQ(stop.message.group_id, 0);
  EXPECT_EQ(queue_->handed().size(), 1u);
  // A retried webhook is not fanned out again.
  ASSERT_THAT(service_->ReceiveInbound(Inbound("SM600", "summit?")), IsOk());
  EXPECT_EQ(queue_->handed().size(), 1u);
}

}  // namespace
}  // namespace smsgw::domain

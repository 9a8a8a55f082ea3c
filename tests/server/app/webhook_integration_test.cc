// Twilio's webhooks end to end: the real server, its embedded simulator
// posting signed status callbacks, and signed inbound webhooks posted over
// real HTTP (signed with the simulator's auth token, as Twilio would sign
// with the account's).
#include <httplib.h>

#include <memory>
#include <string>

#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/twilio/form_encoding.h"
#include "tests/testing/grpc_helpers.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_clients.h"
#include "tests/testing/twilio_side.h"

namespace smsgw {
namespace {

using ::smsgw::client::SmsgwClient;
using ::testing::HasSubstr;

constexpr char kPeer[] = "+14155550100";
constexpr char kOurNumber[] = "+15005550006";  // the simulator's first number

class WebhookIntegrationTest : public testing::ServerTest {
 protected:
  // Posts a signed inbound webhook; returns the HTTP status.
  int PostInbound(const std::string& from, const std::string& body,
                  const std::string& sid, bool sign_correctly = true,
                  const std::string& to = kOurNumber) {
    const twilio::FormParams params =
        testing::InboundParams(sid, from, to, body);
    std::string signature =
        testing::SignFor(*server_, testing::kInboundPath, params);
    if (!sign_correctly) signature[3] = signature[3] == 'A' ? 'B' : 'A';
    auto result = testing::PostForm(*server_, testing::kInboundPath,
                                    twilio::EncodeForm(params), signature);
    if (!result) return -1;
    if (result->status == 200) {
      EXPECT_EQ(result->get_header_value("Content-Type"), "text/xml");
      EXPECT_THAT(result->body, HasSubstr("<Response/>"));
    }
    return result->status;
  }

  v1::Message SendAndAwait(const std::string& to, v1::MessageStatus until) {
    v1::SendMessageRequest request;
    request.set_to(to);
    request.set_body("hello");
    auto sent = ann_->SendMessage(request);
    EXPECT_THAT(sent, IsOk());
    if (!sent.ok()) return v1::Message();
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    v1::Message m = sent->message();
    while (m.status() != until && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(100));
      auto got = ann_->GetMessage(m.id(), false);
      if (got.ok()) m = got->message();
    }
    return m;
  }
};

TEST_F(WebhookIntegrationTest, SignedStatusCallbacksDeliverTheMessage) {
  StartWithAnn();
  v1::Message m = SendAndAwait(kPeer, v1::MESSAGE_STATUS_DELIVERED);
  EXPECT_EQ(m.status(), v1::MESSAGE_STATUS_DELIVERED);
  EXPECT_TRUE(m.has_deliver_time());
  // Twilio reports the price on the Message resource only: smsgw fetches it
  // once the message is final.
  absl::StatusOr<v1::GetMessageResponse> got;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    got = ann_->GetMessage(m.id(), /*include_events=*/true);
    ASSERT_THAT(got, IsOk());
    if (!got->message().price().empty()) break;
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  EXPECT_EQ(got->message().price(), "-0.00790");
  EXPECT_EQ(got->message().price_unit(), "USD");
  std::vector<std::string> callbacks;
  for (const auto& e : got->events()) {
    if (e.source() == v1::DELIVERY_REPORT_SOURCE_STATUS_CALLBACK) {
      callbacks.push_back(e.provider_status());
    }
  }
  EXPECT_THAT(callbacks, ::testing::ElementsAre("sending", "sent", "delivered"));
  EXPECT_EQ(got->events(0).provider_status(), "queued");  // the create answer

  v1::Message lost = SendAndAwait("+15005550010", v1::MESSAGE_STATUS_UNDELIVERED);
  EXPECT_EQ(lost.status(), v1::MESSAGE_STATUS_UNDELIVERED);
  EXPECT_EQ(lost.error_code(), 30003);
}

TEST_F(WebhookIntegrationTest, InboundReplyJoinsTheSendersConversation) {
  StartWithAnn({{"SMSGW_ADMIN_USERS", "root"}});
  ASSERT_EQ(SendAndAwait(kPeer, v1::MESSAGE_STATUS_QUEUED).status(),
            v1::MESSAGE_STATUS_QUEUED);
  auto bob = SignedIn("bob");
  ASSERT_EQ(PostInbound(kPeer, "hi ann!", "SM00000000000000000000000000000001"),
            200);
  // Twilio retries: the same MessageSid again is stored once.
  ASSERT_EQ(PostInbound(kPeer, "hi ann!", "SM00000000000000000000000000000001"),
            200);
  v1::ListMessagesRequest inbound;
  inbound.set_direction(v1::MESSAGE_DIRECTION_INBOUND);
  auto anns = ann_->ListMessages(inbound);
  ASSERT_THAT(anns, IsOk());
  ASSERT_EQ(anns->messages_size(), 1);
  EXPECT_EQ(anns->messages(0).body(), "hi ann!");
  EXPECT_EQ(anns->messages(0).status(), v1::MESSAGE_STATUS_RECEIVED);
  EXPECT_EQ(anns->messages(0).conversation_id(), kPeer);
  EXPECT_EQ(anns->messages(0).from(), kPeer);
  auto conversations = ann_->ListConversations(v1::ListConversationsRequest());
  ASSERT_THAT(conversations, IsOk());
  ASSERT_EQ(conversations->conversations_size(), 1);
  EXPECT_EQ(conversations->conversations(0).message_count(), 2);
  auto bobs = bob->ListMessages(inbound);
  ASSERT_THAT(bobs, IsOk());
  EXPECT_EQ(bobs->messages_size(), 0);

  // A stranger's text has no conversation: kept unrouted, for admins only.
  ASSERT_EQ(PostInbound("+14155550177", "who is this?",
                        "SM00000000000000000000000000000002"),
            200);
  auto root = SignedIn("root");
  v1::ListMessagesRequest unrouted;
  unrouted.set_unrouted(true);
  auto orphans = root->ListMessages(unrouted);
  ASSERT_THAT(orphans, IsOk());
  ASSERT_EQ(orphans->messages_size(), 1);
  EXPECT_EQ(orphans->messages(0).body(), "who is this?");
  EXPECT_THAT(ann_->ListMessages(unrouted),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

// Issue 17 item 4: before the sender pool, alice and bobby both texted
// +14155550177 from +15005550006 and the reply meant for alice went to bobby.
TEST_F(WebhookIntegrationTest, SenderPoolRoutesEachUsersReplyToThatUser) {
  StartWithAnn();
  constexpr char kPerson[] = "+14155550177";
  auto alice = SignedIn("alice");
  auto bobby = SignedIn("bobby");
  auto send = [&](SmsgwClient& client, const std::string& from) {
    v1::SendMessageRequest request;
    request.set_to(kPerson);
    request.set_body("hi, it's me");
    request.set_from(from);
    auto sent = client.SendMessage(request);
    EXPECT_THAT(sent, IsOk());
    return sent.ok() ? *sent : v1::SendMessageResponse();
  };
  const v1::SendMessageResponse to_alice = send(*alice, "");
  const v1::SendMessageResponse to_bobby = send(*bobby, "");
  const std::string alices = to_alice.message().from();
  const std::string bobbys = to_bobby.message().from();
  EXPECT_EQ(alices, "+15005550006");
  EXPECT_EQ(bobbys, "+15005550020");
  EXPECT_EQ(to_bobby.sender_choice(), v1::SENDER_CHOICE_LEAST_BACKLOG);
  EXPECT_FALSE(to_bobby.sender_shared());

  // The same user writing again stays on its number.
  const v1::SendMessageResponse again = send(*alice, "");
  EXPECT_EQ(again.message().from(), alices);
  EXPECT_EQ(again.sender_choice(), v1::SENDER_CHOICE_STICKY);

  ASSERT_EQ(PostInbound(kPerson, "for alice",
                        "SM00000000000000000000000000000071", true, alices),
            200);
  ASSERT_EQ(PostInbound(kPerson, "for bobby",
                        "SM00000000000000000000000000000072", true, bobbys),
            200);
  v1::ListMessagesRequest inbound;
  inbound.set_direction(v1::MESSAGE_DIRECTION_INBOUND);
  auto alices_inbox = alice->ListMessages(inbound);
  auto bobbys_inbox = bobby->ListMessages(inbound);
  ASSERT_THAT(alices_inbox, IsOk());
  ASSERT_THAT(bobbys_inbox, IsOk());
  ASSERT_EQ(alices_inbox->messages_size(), 1);
  EXPECT_EQ(alices_inbox->messages(0).body(), "for alice");
  ASSERT_EQ(bobbys_inbox->messages_size(), 1);
  EXPECT_EQ(bobbys_inbox->messages(0).body(), "for bobby");

  // An explicit `from` wins, even a number alice uses with this person.
  const v1::SendMessageResponse explicit_from = send(*bobby, alices);
  EXPECT_EQ(explicit_from.message().from(), alices);
  EXPECT_EQ(explicit_from.sender_choice(), v1::SENDER_CHOICE_UNSPECIFIED);
}

TEST_F(WebhookIntegrationTest, StopBlocksSendsAndStartLiftsIt) {
  StartWithAnn();
  ASSERT_EQ(PostInbound(kPeer, "  Stop ", "SM00000000000000000000000000000003"),
            200);
  v1::SendMessageRequest request;
  request.set_to(kPeer);
  request.set_body("are you there?");
  EXPECT_THAT(ann_->SendMessage(request),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::AllOf(HasSubstr(kPeer), HasSubstr("START"))));
  ASSERT_EQ(PostInbound(kPeer, "START", "SM00000000000000000000000000000004"),
            200);
  auto sent = ann_->SendMessage(request);
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(sent->message().status(), v1::MESSAGE_STATUS_QUEUED);
  // "stop please" is a message, not a keyword.
  ASSERT_EQ(PostInbound(kPeer, "stop please", "SM00000000000000000000000000000005"),
            200);
  EXPECT_THAT(ann_->SendMessage(request), IsOk());
}

TEST_F(WebhookIntegrationTest, TwilioUnsubscribedErrorBlocksTheNextSend) {
  StartWithAnn();
  v1::SendMessageRequest request;
  request.set_to("+15005550004");  // Twilio's magic "opted out" number
  request.set_body("first");
  auto first = ann_->SendMessage(request);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->message().error_code(), 21610);
  EXPECT_THAT(ann_->SendMessage(request),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("21610")));
}

TEST_F(WebhookIntegrationTest, BadSignatureIsForbiddenAndStoresNothing) {
  StartWithAnn();
  EXPECT_EQ(PostInbound(kPeer, "forged", "SM00000000000000000000000000000006",
                        /*sign_correctly=*/false),
            403);
  EXPECT_EQ(Rows("messages"), 0);
  EXPECT_EQ(Rows("opt_outs"), 0);
  EXPECT_EQ(PostInbound(kPeer, "STOP", "SM00000000000000000000000000000007",
                        /*sign_correctly=*/false),
            403);
  EXPECT_EQ(Rows("opt_outs"), 0);
}

TEST_F(WebhookIntegrationTest, BlockedKeywordsAreRefusedAsWholeWords) {
  StartWithAnn({{"SMSGW_BLOCKED_KEYWORDS", "casino,free money"}});
  v1::SendMessageRequest request;
  request.set_to(kPeer);
  request.set_body("Win at the CASINO tonight");
  EXPECT_THAT(ann_->SendMessage(request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("casino")));
  request.set_body("get free money now");
  EXPECT_THAT(ann_->SendMessage(request),
              StatusIs(absl::StatusCode::kInvalidArgument));
  request.set_body("casinos are not whole-word casino matches... casinoX");
  EXPECT_THAT(ann_->SendMessage(request),
              StatusIs(absl::StatusCode::kInvalidArgument));
  request.set_body("casinos and freemoney are fine");
  EXPECT_THAT(ann_->SendMessage(request), IsOk());
  EXPECT_EQ(Rows("messages"), 1);
}

}  // namespace
}  // namespace smsgw

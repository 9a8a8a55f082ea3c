// MessagingService end to end: the real smsgw-server on loopback ports, its
// real REST client talking HTTP to the embedded Twilio simulator (or to a
// scripted fake Twilio where a test needs failures), a real SQLite file.
#include <grpcpp/client_context.h>

#include <functional>
#include <memory>
#include <regex>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/smsgw_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_twilio_server.h"
#include "tests/testing/grpc_helpers.h"
#include "tests/testing/server_fixture.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_clients.h"

namespace smsgw {
namespace {

using ::testing::HasSubstr;

constexpr char kPeer[] = "+14155550100";

class MessagingIntegrationTest : public testing::ServerTest {
 protected:
  static v1::SendMessageRequest Sms(const std::string& to,
                                    const std::string& body) {
    v1::SendMessageRequest request;
    request.set_to(to);
    request.set_body(body);
    return request;
  }

  int64_t Messages() { return Rows("messages"); }
};

TEST_F(MessagingIntegrationTest, SendIsQueuedWithASidAndShowsInHistory) {
  StartWithAnn();
  auto sent = ann_->SendMessage(Sms("(415) 555-0100", "hello from smsgw"));
  ASSERT_THAT(sent, IsOk());
  const v1::Message& m = sent->message();
  EXPECT_EQ(m.status(), v1::MESSAGE_STATUS_QUEUED);
  EXPECT_TRUE(std::regex_match(m.provider_sid(), std::regex("SM[0-9a-f]{32}")))
      << m.provider_sid();
  EXPECT_EQ(m.to(), kPeer);
  EXPECT_EQ(m.from(), "+15005550006");  // the simulator's first number
  EXPECT_EQ(m.encoding(), v1::MESSAGE_ENCODING_GSM7);
  EXPECT_EQ(m.num_segments(), 1);
  EXPECT_EQ(m.owner_username(), "ann");
  EXPECT_EQ(m.conversation_id(), kPeer);
  EXPECT_TRUE(m.has_send_time());

  auto got = ann_->GetMessage(m.id(), /*include_events=*/true);
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->message().provider_sid(), m.provider_sid());
  ASSERT_GE(got->events_size(), 1);
  EXPECT_EQ(got->events(0).source(), v1::DELIVERY_REPORT_SOURCE_PROVIDER_RESPONSE);
  EXPECT_EQ(got->events(0).provider_status(), "queued");
  EXPECT_TRUE(got->events(0).applied());

  auto listed = ann_->ListMessages(v1::ListMessagesRequest());
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->messages_size(), 1);
  EXPECT_EQ(listed->messages(0).id(), m.id());

  auto conversations = ann_->ListConversations(v1::ListConversationsRequest());
  ASSERT_THAT(conversations, IsOk());
  ASSERT_EQ(conversations->conversations_size(), 1);
  EXPECT_EQ(conversations->conversations(0).peer_number(), kPeer);
  EXPECT_EQ(conversations->conversations(0).message_count(), 1);
  EXPECT_EQ(conversations->conversations(0).last_message().id(), m.id());
}

TEST_F(MessagingIntegrationTest, TwilioMagicNumbersEndFailedWithTwilioCodes) {
  StartWithAnn({{"TWILIO_PHONE_NUMBERS", "+15005550006,+15005550001"}});
  const std::pair<const char*, int> to_cases[] = {
      {"+15005550001", 21211}, {"+15005550002", 21612}, {"+15005550003", 21408},
      {"+15005550004", 21610}, {"+15005550009", 21614},
  };
  for (const auto& [to, code] : to_cases) {
    SCOPED_TRACE(to);
    auto sent = ann_->SendMessage(Sms(to, "magic"));
    ASSERT_THAT(sent, IsOk());
    EXPECT_EQ(sent->message().status(), v1::MESSAGE_STATUS_FAILED);
    EXPECT_EQ(sent->message().error_code(), code);
    EXPECT_FALSE(sent->message().error_message().empty());
    EXPECT_TRUE(sent->message().provider_sid().empty());
  }
  v1::SendMessageRequest from_magic = Sms(kPeer, "bad from");
  from_magic.set_from("+15005550001");
  auto sent = ann_->SendMessage(from_magic);
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(sent->message().status(), v1::MESSAGE_STATUS_FAILED);
  EXPECT_EQ(sent->message().error_code(), 21212);
}

TEST_F(MessagingIntegrationTest, BadSendsAreRefusedAndStoreNothing) {
  StartWithAnn({{"SMSGW_SENDER_IDS", "ACME"}});
  // Each case: a valid SMS to kPeer that `spoil` makes invalid; refused as
  // INVALID_ARGUMENT with a message that names `says`.
  struct Case {
    const char* name;
    std::function<void(v1::SendMessageRequest&)> spoil;
    const char* says;
  };
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  const Case cases[] = {
      {"bad to", [](auto& r) { r.set_to("not a number"); }, "to"},
      {"empty body", [](auto& r) { r.set_body(""); }, "body"},
      {"too long", [](auto& r) { r.set_body(std::string(1601, 'a')); },
       "1600"},
      {"11 media",
       [](auto& r) {
         for (int i = 0; i < 11; ++i) {
           r.add_media_urls("https://example.com/a.png");
         }
       },
       "media_urls"},
      {"ftp media", [](auto& r) { r.add_media_urls("ftp://example.com/a.png"); },
       "media_urls"},
      {"foreign from", [](auto& r) { r.set_from("+14155550199"); }, "ACME"},
      {"bad conversation",
       [](auto& r) { r.set_conversation_id("no spaces please"); },
       "conversation_id"},
      {"bad key", [](auto& r) { r.set_idempotency_key("has space"); },
       "idempotency_key"},
      {"send_at too soon",
       [now](auto& r) { r.mutable_send_at()->set_seconds(now + 60); },
       "send_at must be between 5m"},
      {"send_at too late",
       [now](auto& r) { r.mutable_send_at()->set_seconds(now + 36 * 86400); },
       "send_at"},
      {"bad timestamp", [](auto& r) { r.mutable_send_at()->set_nanos(-5); },
       "send_at"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    v1::SendMessageRequest request = Sms(kPeer, "x");
    c.spoil(request);
    EXPECT_THAT(ann_->SendMessage(request),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.says)));
  }
  // Invalid UTF-8 in a proto3 string never reaches smsgw: gRPC's parser
  // refuses the request (the domain's own UTF-8 check is unit-tested).
  EXPECT_FALSE(ann_->SendMessage(Sms(kPeer, std::string("\xc3\x28", 2))).ok());
  EXPECT_EQ(Messages(), 0);

  // An allowed sender ID is accepted.
  v1::SendMessageRequest branded = Sms(kPeer, "from the brand");
  branded.set_from("ACME");
  auto sent = ann_->SendMessage(branded);
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(sent->message().from(), "ACME");
}

TEST_F(MessagingIntegrationTest, ValidateOnlyCountsSegmentsAndStoresNothing) {
  StartWithAnn();
  v1::SendMessageRequest request = Sms(kPeer, "Garçon, un café! 👍");
  request.set_validate_only(true);
  auto preview = ann_->SendMessage(request);
  ASSERT_THAT(preview, IsOk());
  EXPECT_EQ(preview->message().encoding(), v1::MESSAGE_ENCODING_UCS2);
  EXPECT_EQ(preview->message().num_segments(), 1);
  EXPECT_TRUE(preview->message().id().empty());
  EXPECT_THAT(preview->non_gsm_characters(), ::testing::Contains("ç"));
  EXPECT_EQ(Messages(), 0);
}

TEST_F(MessagingIntegrationTest, IdempotencyKeyReplaysAndRefusesOtherRequests) {
  StartWithAnn();
  v1::SendMessageRequest request = Sms(kPeer, "only once");
  request.set_idempotency_key("order-42");
  auto first = ann_->SendMessage(request);
  auto second = ann_->SendMessage(request);
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_FALSE(first->idempotent_replay());
  EXPECT_TRUE(second->idempotent_replay());
  EXPECT_EQ(first->message().id(), second->message().id());
  EXPECT_EQ(first->message().provider_sid(), second->message().provider_sid());
  EXPECT_EQ(Messages(), 1);

  v1::SendMessageRequest changed = request;
  changed.set_body("something else");
  EXPECT_THAT(ann_->SendMessage(changed),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("order-42")));

  // The key as metadata works the same; keys are per user.
  auto context = ann_->NewContext();
  context->AddMetadata("idempotency-key", "order-42");
  v1::SendMessageResponse via_metadata;
  ASSERT_TRUE(ann_->messaging()
                  ->SendMessage(context.get(), Sms(kPeer, "only once"),
                                &via_metadata)
                  .ok());
  EXPECT_EQ(via_metadata.message().id(), first->message().id());
  auto bob = SignedIn("bob");
  auto bobs = bob->SendMessage(request);
  ASSERT_THAT(bobs, IsOk());
  EXPECT_NE(bobs->message().id(), first->message().id());
  EXPECT_EQ(Messages(), 2);
}

TEST_F(MessagingIntegrationTest, PagesStayCorrectWhileMessagesArrive) {
  StartWithAnn();
  std::set<std::string> sent;
  for (int i = 0; i < 7; ++i) {
    auto r = ann_->SendMessage(Sms(kPeer, absl::StrCat("message ", i)));
    ASSERT_THAT(r, IsOk());
    sent.insert(r->message().id());
  }
  v1::ListMessagesRequest request;
  request.set_page_size(3);
  std::set<std::string> seen;
  auto page = ann_->ListMessages(request);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->messages_size(), 3);
  for (const auto& m : page->messages()) seen.insert(m.id());
  // Newer messages arrive between pages; they must not shift the pages.
  for (int i = 0; i < 2; ++i) {
    ASSERT_THAT(ann_->SendMessage(Sms(kPeer, "late")), IsOk());
  }
  while (!page->next_page_token().empty()) {
    request.set_page_token(page->next_page_token());
    page = ann_->ListMessages(request);
    ASSERT_THAT(page, IsOk());
    for (const auto& m : page->messages()) {
      EXPECT_TRUE(seen.insert(m.id()).second) << "duplicate " << m.id();
    }
  }
  EXPECT_EQ(seen, sent);

  v1::ListMessagesRequest other = request;
  other.set_peer_number("+14155550199");
  EXPECT_THAT(ann_->ListMessages(other),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("filters")));
  other = request;
  other.set_page_token("!!not-a-token!!");
  EXPECT_THAT(ann_->ListMessages(other),
              StatusIs(absl::StatusCode::kInvalidArgument));
  other.set_page_token("");
  other.set_page_size(-1);
  EXPECT_THAT(ann_->ListMessages(other),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(MessagingIntegrationTest, FiltersAndFullTextSearch) {
  StartWithAnn();
  ASSERT_THAT(ann_->SendMessage(Sms(kPeer, "hello world")), IsOk());
  ASSERT_THAT(ann_->SendMessage(Sms("+14155550101", "goodbye moon")), IsOk());
  ASSERT_THAT(ann_->SendMessage(Sms("+15005550001", "doomed")), IsOk());

  v1::ListMessagesRequest search;
  search.set_query("hello");
  auto found = ann_->ListMessages(search);
  ASSERT_THAT(found, IsOk());
  ASSERT_EQ(found->messages_size(), 1);
  EXPECT_EQ(found->messages(0).body(), "hello world");

  search.set_query("\"unterminated");
  EXPECT_THAT(ann_->ListMessages(search),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("query")));
  search.set_query("'; DROP TABLE messages; --");
  // Not FTS5 syntax (a bare quote): refused, never run.
  EXPECT_THAT(ann_->ListMessages(search),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Messages(), 3);

  v1::ListMessagesRequest by_peer;
  by_peer.set_peer_number("(415) 555-0101");
  auto peer = ann_->ListMessages(by_peer);
  ASSERT_THAT(peer, IsOk());
  ASSERT_EQ(peer->messages_size(), 1);
  EXPECT_EQ(peer->messages(0).body(), "goodbye moon");

  v1::ListMessagesRequest failed;
  failed.add_statuses(v1::MESSAGE_STATUS_FAILED);
  auto failures = ann_->ListMessages(failed);
  ASSERT_THAT(failures, IsOk());
  ASSERT_EQ(failures->messages_size(), 1);
  EXPECT_EQ(failures->messages(0).body(), "doomed");

  v1::ListMessagesRequest conversation;
  conversation.set_conversation_id(kPeer);
  auto thread = ann_->ListMessages(conversation);
  ASSERT_THAT(thread, IsOk());
  EXPECT_EQ(thread->messages_size(), 1);

  v1::ListMessagesRequest inbound;
  inbound.set_direction(v1::MESSAGE_DIRECTION_INBOUND);
  auto none = ann_->ListMessages(inbound);
  ASSERT_THAT(none, IsOk());
  EXPECT_EQ(none->messages_size(), 0);
}

TEST_F(MessagingIntegrationTest, OthersMessagesAreNotFoundAndAdminsMayLook) {
  StartWithAnn({{"SMSGW_ADMIN_USERS", "root"}});
  auto sent = ann_->SendMessage(Sms(kPeer, "private"));
  ASSERT_THAT(sent, IsOk());
  const std::string id = sent->message().id();
  auto bob = SignedIn("bob");
  EXPECT_THAT(bob->GetMessage(id, false), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(bob->GetMessage("00000000-0000-4000-8000-000000000000", false),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(bob->DeleteMessage(id), StatusIs(absl::StatusCode::kNotFound));
  v1::ListMessagesRequest as_ann;
  as_ann.set_username("ann");
  EXPECT_THAT(bob->ListMessages(as_ann),
              StatusIs(absl::StatusCode::kPermissionDenied));
  v1::DeleteMessagesRequest delete_anns;
  delete_anns.set_username("ann");
  EXPECT_THAT(bob->DeleteMessages(delete_anns),
              StatusIs(absl::StatusCode::kPermissionDenied));
  auto bobs_list = bob->ListMessages(v1::ListMessagesRequest());
  ASSERT_THAT(bobs_list, IsOk());
  EXPECT_EQ(bobs_list->messages_size(), 0);

  auto root = SignedIn("root");
  EXPECT_THAT(root->GetMessage(id, false), IsOk());
  auto anns = root->ListMessages(as_ann);
  ASSERT_THAT(anns, IsOk());
  EXPECT_EQ(anns->messages_size(), 1);
  v1::ListMessagesRequest nobody;
  nobody.set_username("nobody");
  EXPECT_THAT(root->ListMessages(nobody), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(Messages(), 1);
}

TEST_F(MessagingIntegrationTest, DeleteOneAndAConversation) {
  StartWithAnn();
  auto first = ann_->SendMessage(Sms(kPeer, "one"));
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(ann_->SendMessage(Sms(kPeer, "two")), IsOk());
  ASSERT_THAT(ann_->SendMessage(Sms("+14155550101", "three")), IsOk());
  ASSERT_THAT(ann_->DeleteMessage(first->message().id()), IsOk());
  EXPECT_THAT(ann_->GetMessage(first->message().id(), false),
              StatusIs(absl::StatusCode::kNotFound));
  v1::DeleteMessagesRequest thread;
  thread.set_conversation_id(kPeer);
  auto deleted = ann_->DeleteMessages(thread);
  ASSERT_THAT(deleted, IsOk());
  EXPECT_EQ(deleted->deleted_count(), 1);
  EXPECT_EQ(Messages(), 1);
  auto conversations = ann_->ListConversations(v1::ListConversationsRequest());
  ASSERT_THAT(conversations, IsOk());
  ASSERT_EQ(conversations->conversations_size(), 1);
  EXPECT_EQ(conversations->conversations(0).peer_number(), "+14155550101");
}

TEST_F(MessagingIntegrationTest, RetryableTwilioErrorsAreRetriedThenQueued) {
  testing::FakeTwilioServer twilio;
  twilio.Enqueue(testing::ScriptedResponse::TwilioError(429, 20429,
                                                         "Too Many Requests"));
  twilio.Enqueue(testing::ScriptedResponse::TwilioError(503, 0, "overloaded"));
  StartWithAnn({{"TWILIO_ACCOUNT_SID", twilio.account_sid()},
                {"TWILIO_AUTH_TOKEN", "secret-token"},
                {"TWILIO_API_BASE", twilio.base_url()},
                {"TWILIO_PHONE_NUMBERS", "+15005550006"}});
  auto sent = ann_->SendMessage(Sms(kPeer, "persistent"));
  ASSERT_THAT(sent, IsOk());
  // The first answer was a retryable failure: the call says so honestly.
  EXPECT_EQ(sent->message().status(), v1::MESSAGE_STATUS_PENDING);
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  absl::StatusOr<v1::GetMessageResponse> got;
  do {
    absl::SleepFor(absl::Milliseconds(100));
    got = ann_->GetMessage(sent->message().id(), /*include_events=*/true);
    ASSERT_THAT(got, IsOk());
  } while (got->message().status() == v1::MESSAGE_STATUS_PENDING &&
           absl::Now() < deadline);
  EXPECT_EQ(got->message().status(), v1::MESSAGE_STATUS_QUEUED);
  // 429 proves nothing was created: plain retry. A 503 may hide a created
  // message: the dispatcher lists (reconciles) before the third create.
  const std::vector<testing::RecordedRequest> requests = twilio.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[2].method, "GET");
  EXPECT_EQ(requests[2].QueryValue("To"), kPeer);
  EXPECT_EQ(requests[3].method, "POST");
  // Two recorded dispatch attempts, then the provider's acceptance.
  ASSERT_EQ(got->events_size(), 3);
  EXPECT_EQ(got->events(0).source(), v1::DELIVERY_REPORT_SOURCE_DISPATCH_ATTEMPT);
  EXPECT_EQ(got->events(0).error_code(), 20429);
  EXPECT_EQ(got->events(1).http_status(), 503);
  EXPECT_EQ(got->events(2).source(), v1::DELIVERY_REPORT_SOURCE_PROVIDER_RESPONSE);
  // Every create carried Basic auth, the sender and our status callback URL.
  for (const auto& request : requests) {
    if (request.method != "POST") continue;
    EXPECT_EQ(request.FormValue("From"), "+15005550006");
    EXPECT_EQ(request.FormValue("To"), kPeer);
    EXPECT_THAT(request.FormValue("StatusCallback"),
                ::testing::EndsWith("/twilio/sms/status"));
  }
}

TEST_F(MessagingIntegrationTest, FinalTwilioErrorsFailAtOnce) {
  testing::FakeTwilioServer twilio;
  twilio.Enqueue(testing::ScriptedResponse::TwilioError(
      400, 21614, "'To' number is not a valid mobile number"));
  StartWithAnn({{"TWILIO_ACCOUNT_SID", twilio.account_sid()},
                {"TWILIO_AUTH_TOKEN", "secret-token"},
                {"TWILIO_API_BASE", twilio.base_url()},
                {"TWILIO_PHONE_NUMBERS", "+15005550006"}});
  auto sent = ann_->SendMessage(Sms(kPeer, "landline"));
  ASSERT_THAT(sent, IsOk());
  EXPECT_EQ(sent->message().status(), v1::MESSAGE_STATUS_FAILED);
  EXPECT_EQ(sent->message().error_code(), 21614);
  EXPECT_THAT(sent->message().error_message(), HasSubstr("mobile"));
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(twilio.request_count(), 1u);
}

}  // namespace
}  // namespace smsgw

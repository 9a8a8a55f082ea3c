// TwilioWebhookHandler at the handler level (no socket, except the last few
// tests that go through Register() once): a real DeliveryService over a real
// SqliteMessageStore on a temp file, requests signed as Twilio signs them
// (ComputeTwilioSignature over public URL + target; twilio-reference.md §5).
#include "server/webhooks/twilio_webhook_handler.h"

#include <httplib.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "common/status_macros.h"
#include "server/domain/delivery_service.h"
#include "server/domain/phone_number.h"
#include "server/twilio/form_encoding.h"
#include "server/twilio/twilio_signature.h"
#include "server/webhooks/webhook_server.h"
#include "storage/message_store.h"
#include "storage/sqlite/database.h"
#include "storage/sqlite/sqlite_message_store.h"
#include "storage/sqlite/sqlite_user_store.h"
#include "tests/testing/sqlite_test_db.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/twilio_side.h"

namespace smsgw::webhooks {
namespace {

using ::smsgw::storage::DeliveryReport;
using ::smsgw::storage::Direction;
using ::smsgw::storage::Message;
using ::smsgw::storage::MessageQuery;
using ::smsgw::storage::MessageStatus;
using ::smsgw::storage::ReportSource;
using ::smsgw::testing::kInboundPath;
using ::smsgw::testing::kStatusPath;
using ::smsgw::twilio::FormParams;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kPublicUrl[] = "https://sms.example.com";
constexpr char kAuthToken[] = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
constexpr char kAccountSid[] = "AC0123456789abcdef0123456789abcdef";
constexpr char kOurNumber[] = "+15005550006";
constexpr char kOtherNumber[] = "+15005550007";
constexpr char kPeer[] = "+14155550100";
constexpr char kOtherPeer[] = "+14155550111";
constexpr char kFormType[] = "application/x-www-form-urlencoded";

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

class TwilioWebhookHandlerTest : public ::testing::Test {
 protected:
  TwilioWebhookHandlerTest() {
    db_ = testing::OpenTestDatabase(dir_);
    users_ = std::make_unique<storage::sqlite::SqliteUserStore>(db_.get());
    store_ =
        std::make_unique<storage::sqlite::SqliteMessageStore>(db_.get(), &clock_);
    delivery_ = std::make_unique<domain::DeliveryService>(
        store_.get(), /*outbound=*/nullptr, &phones_, &clock_,
        domain::DeliveryService::Options{kAccountSid});
    handler_ = MakeHandler(kPublicUrl);
    ann_ = AddUser("ann");
    bob_ = AddUser("bob");
  }

  std::unique_ptr<TwilioWebhookHandler> MakeHandler(
      const std::string& public_url, size_t max_body_bytes = 64 * 1024) {
    TwilioWebhookHandler::Options options;
    options.public_url = public_url;
    options.auth_token = kAuthToken;
    options.max_body_bytes = max_body_bytes;
    return std::make_unique<TwilioWebhookHandler>(delivery_.get(), options);
  }

  int64_t AddUser(const std::string& name) {
    return testing::AddTestUser(*users_, name, kT0);
  }

  // An outbound message of `owner` to `peer` from `our_number`, created at
  // kT0 + `minutes`, that Twilio accepted as `sid` (the create response:
  // QUEUED with the SID). Returns its id.
  std::string CreateAccepted(int64_t owner, const std::string& peer,
                             const std::string& sid, int minutes = 0,
                             const std::string& our_number = kOurNumber) {
    const std::string id = CreatePending(owner, peer, minutes, our_number);
    storage::StatusUpdate accepted;
    accepted.status = MessageStatus::kQueued;
    accepted.provider_status = "queued";
    accepted.provider_sid = sid;
    accepted.source = ReportSource::kProviderResponse;
    accepted.http_status = 201;
    accepted.event_time = kT0 + absl::Minutes(minutes) + absl::Seconds(1);
    EXPECT_THAT(store_->ApplyStatus(id, accepted), IsOk());
    return id;
  }

  std::string CreatePending(int64_t owner, const std::string& peer,
                            int minutes = 0,
                            const std::string& our_number = kOurNumber) {
    Message m = testing::PendingOutbound(
        absl::StrCat("msg-", ++next_id_), owner,
        absl::StrCat("conv-", owner, "-", peer), our_number, peer,
        kT0 + absl::Minutes(minutes));
    m.body = "hello";
    m.num_segments = 1;
    EXPECT_THAT(store_->CreateOutbound(m, std::nullopt), IsOk());
    return m.id;
  }

  // A request to `target` with `params` form-encoded in the body, signed on
  // `signed_url` (public URL + target by default).
  WebhookRequest Post(const std::string& target, const FormParams& params,
                      std::optional<std::string> signed_url = std::nullopt) {
    WebhookRequest request;
    request.method = "POST";
    request.target = target;
    request.content_type = kFormType;
    request.body = twilio::EncodeForm(params);
    request.signature = twilio::ComputeTwilioSignature(
        kAuthToken, signed_url.value_or(absl::StrCat(kPublicUrl, target)),
        params);
    return request;
  }

  // A status callback as Twilio sends it (§3).
  FormParams StatusParams(const std::string& sid, const std::string& status) {
    return {{"AccountSid", kAccountSid}, {"ApiVersion", "2010-04-01"},
            {"From", kOurNumber},        {"MessageSid", sid},
            {"MessageStatus", status},   {"SmsSid", sid},
            {"SmsStatus", status},       {"To", kPeer}};
  }

  // An inbound SMS as Twilio sends it (§4).
  FormParams InboundParams(const std::string& sid, const std::string& body,
                           const std::string& from = kPeer,
                           const std::string& to = kOurNumber) {
    FormParams params = testing::InboundParams(sid, from, to, body);
    for (auto& [name, value] : params) {
      if (name == "AccountSid") value = kAccountSid;
    }
    params.insert(params.begin() + 4, {"FromCountry", "US"});  // after From
    return params;
  }

  WebhookResponse SendStatus(const std::string& sid, const std::string& status) {
    return handler_->HandleStatus(Post(kStatusPath, StatusParams(sid, status)));
  }

  WebhookResponse SendInbound(const std::string& sid, const std::string& body,
                              const std::string& from = kPeer,
                              const std::string& to = kOurNumber) {
    return handler_->HandleInbound(
        Post(kInboundPath, InboundParams(sid, body, from, to)));
  }

  Message Get(const std::string& id) {
    absl::StatusOr<Message> m = store_->Get(id);
    EXPECT_THAT(m, IsOk());
    return m.ok() ? *m : Message();
  }

  std::vector<DeliveryReport> Reports(const std::string& id) {
    absl::StatusOr<std::vector<DeliveryReport>> r = store_->ListReports(id);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? *r : std::vector<DeliveryReport>{};
  }

  // Inbound messages of `owner` (0: the unrouted ones), newest first.
  std::vector<Message> Inbound(int64_t owner) {
    MessageQuery q;
    if (owner == 0) {
      q.unrouted = true;
    } else {
      q.owner_id = owner;
    }
    q.direction = Direction::kInbound;
    absl::StatusOr<std::vector<Message>> listed = store_->List(q);
    EXPECT_THAT(listed, IsOk());
    return listed.ok() ? *listed : std::vector<Message>{};
  }

  bool OptedOut(const std::string& peer,
                const std::string& our_number = kOurNumber) {
    absl::StatusOr<bool> out = store_->IsOptedOut(peer, our_number);
    EXPECT_THAT(out, IsOk());
    return out.ok() && *out;
  }

  int64_t CountRows(const std::string& table) {
    int64_t count = -1;
    EXPECT_THAT(db_->Read([&](storage::sqlite::Connection& conn) {
      SMSGW_ASSIGN_OR_RETURN(
          storage::sqlite::Statement stmt,
          conn.Prepare(absl::StrCat("SELECT COUNT(*) FROM ", table)));
      SMSGW_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (row) count = stmt.Int(0);
      return absl::OkStatus();
    }),
                IsOk());
    return count;
  }

  // Every table a webhook may write, as "table=count" lines.
  std::string Snapshot() {
    std::vector<std::string> parts;
    for (const char* table : {"messages", "message_events", "conversations",
                              "opt_outs", "message_feed"}) {
      parts.push_back(absl::StrCat(table, "=", CountRows(table)));
    }
    return absl::StrJoin(parts, " ");
  }

  smsgw::testing::TempDir dir_;
  smsgw::testing::FakeClock clock_{kT0 + absl::Hours(1)};
  domain::PhoneNumberParser phones_{"US"};
  std::unique_ptr<storage::sqlite::Database> db_;
  std::unique_ptr<storage::UserStore> users_;
  std::unique_ptr<storage::MessageStore> store_;
  std::unique_ptr<domain::DeliveryService> delivery_;
  std::unique_ptr<TwilioWebhookHandler> handler_;
  int64_t ann_ = 0;
  int64_t bob_ = 0;
  int next_id_ = 0;
};

// --- Status callbacks -------------------------------------------------------

TEST_F(TwilioWebhookHandlerTest,
       StatusCallbacksInEveryOrderAndRepeatedEndDeliveredWithEveryReport) {
  // Ranks as twilio-reference.md §2 orders them; queued is where the create
  // response left the message.
  const std::map<std::string, int> rank = {
      {"queued", 0}, {"sending", 1}, {"sent", 2}, {"delivered", 3}};
  std::vector<std::string> order = {"delivered", "sending", "sent"};
  std::sort(order.begin(), order.end());
  int permutation = 0;
  do {
    ++permutation;
    const std::string sid = absl::StrCat("SMperm", permutation);
    SCOPED_TRACE(absl::StrCat(sid, ": ", absl::StrJoin(order, ", "),
                              " then again"));
    const std::string id = CreateAccepted(ann_, kPeer, sid, permutation);
    std::vector<std::string> sent = order;
    sent.insert(sent.end(), order.begin(), order.end());
    std::vector<std::pair<std::string, bool>> want = {{"queued", true}};
    int highest = rank.at("queued");
    for (const std::string& status : sent) {
      clock_.Advance(absl::Seconds(1));
      WebhookResponse response = SendStatus(sid, status);
      EXPECT_EQ(response.status, 204) << response.body;
      EXPECT_THAT(response.body, IsEmpty());
      const bool applied = rank.at(status) > highest;
      highest = std::max(highest, rank.at(status));
      want.emplace_back(status, applied);
    }
    const Message m = Get(id);
    EXPECT_EQ(m.status, MessageStatus::kDelivered);
    EXPECT_EQ(m.provider_sid, sid);
    EXPECT_TRUE(m.deliver_time.has_value());
    std::vector<std::pair<std::string, bool>> got;
    for (const DeliveryReport& r : Reports(id)) {
      got.emplace_back(r.provider_status, r.applied);
    }
    EXPECT_EQ(got, want);
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(permutation, 6);
}

TEST_F(TwilioWebhookHandlerTest, StatusCallbackReportsCarryTheSource) {
  const std::string id = CreateAccepted(ann_, kPeer, "SMsrc");
  ASSERT_EQ(SendStatus("SMsrc", "sent").status, 204);
  const std::vector<DeliveryReport> reports = Reports(id);
  ASSERT_THAT(reports, SizeIs(2));
  EXPECT_EQ(reports[1].source, ReportSource::kStatusCallback);
  EXPECT_EQ(reports[1].status, MessageStatus::kSent);
  EXPECT_EQ(reports[1].event_time, clock_.Now());
}

TEST_F(TwilioWebhookHandlerTest, UndeliveredKeepsTheErrorCodeAndLaterCallbacksDoNotUndoIt) {
  const std::string id = CreateAccepted(ann_, kPeer, "SMundel");
  ASSERT_EQ(SendStatus("SMundel", "sent").status, 204);
  FormParams params = StatusParams("SMundel", "undelivered");
  params.push_back({"ErrorCode", "30003"});
  params.push_back({"ErrorMessage", "Unreachable destination handset"});
  params.push_back({"RawDlrDoneDate", "2607171206"});
  WebhookResponse response =
      handler_->HandleStatus(Post(kStatusPath, params));
  EXPECT_EQ(response.status, 204) << response.body;
  ASSERT_EQ(SendStatus("SMundel", "delivered").status, 204);

  const Message m = Get(id);
  EXPECT_EQ(m.status, MessageStatus::kUndelivered);
  EXPECT_EQ(m.error_code, 30003);
  EXPECT_EQ(m.error_message, "Unreachable destination handset");
  const std::vector<DeliveryReport> reports = Reports(id);
  ASSERT_THAT(reports, SizeIs(4));
  EXPECT_EQ(reports[2].status, MessageStatus::kUndelivered);
  EXPECT_EQ(reports[2].error_code, 30003);
  EXPECT_EQ(reports[2].raw_dlr_done_date, "2607171206");
  EXPECT_TRUE(reports[2].applied);
  EXPECT_EQ(reports[3].status, MessageStatus::kDelivered);
  EXPECT_FALSE(reports[3].applied);
  EXPECT_FALSE(OptedOut(kPeer)) << "30003 is not an opt-out";
}

TEST_F(TwilioWebhookHandlerTest,
       CallbackThatOvertakesTheCreateResponseIsKeptAndAppliedWhenTheSidIsStored) {
  const std::string id = CreatePending(ann_, kPeer);
  const int64_t events_before = CountRows("message_events");
  clock_.Advance(absl::Seconds(5));
  WebhookResponse response = SendStatus("SMearly", "delivered");
  EXPECT_EQ(response.status, 204) << response.body;
  EXPECT_EQ(CountRows("message_events"), events_before + 1);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(SendStatus("SMearly", "sent").status, 204);
  EXPECT_EQ(Get(id).status, MessageStatus::kPending);

  // The create response arrives last and stores the SID.
  storage::StatusUpdate accepted;
  accepted.status = MessageStatus::kQueued;
  accepted.provider_status = "queued";
  accepted.provider_sid = "SMearly";
  accepted.source = ReportSource::kProviderResponse;
  accepted.http_status = 201;
  accepted.event_time = clock_.Now();
  absl::StatusOr<Message> after = store_->ApplyStatus(id, accepted);
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->status, MessageStatus::kDelivered);
  EXPECT_EQ(Get(id).status, MessageStatus::kDelivered);

  std::vector<std::pair<std::string, bool>> got;
  for (const DeliveryReport& r : Reports(id)) {
    got.emplace_back(r.provider_status, r.applied);
  }
  EXPECT_THAT(got, ::testing::UnorderedElementsAre(
                       std::pair<std::string, bool>("queued", true),
                       std::pair<std::string, bool>("delivered", true),
                       std::pair<std::string, bool>("sent", false)));
  EXPECT_EQ(CountRows("message_events"), events_before + 3);
}

TEST_F(TwilioWebhookHandlerTest, Error21610RecordsAnOptOutOfTheRecipient) {
  CreateAccepted(ann_, kPeer, "SM21610");
  FormParams params = StatusParams("SM21610", "failed");
  params.push_back({"ErrorCode", "21610"});
  ASSERT_FALSE(OptedOut(kPeer));
  EXPECT_EQ(handler_->HandleStatus(Post(kStatusPath, params)).status, 204);
  EXPECT_TRUE(OptedOut(kPeer));
  EXPECT_FALSE(OptedOut(kPeer, kOtherNumber));
  EXPECT_FALSE(OptedOut(kOtherPeer));
}

TEST_F(TwilioWebhookHandlerTest,
       Error21610ForASidNotStoredYetStillRecordsTheOptOut) {
  CreatePending(ann_, kPeer);
  FormParams params = StatusParams("SM21610early", "undelivered");
  params.push_back({"ErrorCode", "21610"});
  EXPECT_EQ(handler_->HandleStatus(Post(kStatusPath, params)).status, 204);
  EXPECT_TRUE(OptedOut(kPeer));
}

TEST_F(TwilioWebhookHandlerTest, LegacySmsSidAndSmsStatusAreAccepted) {
  const std::string id = CreateAccepted(ann_, kPeer, "SMlegacy");
  FormParams params = {{"AccountSid", kAccountSid},
                       {"SmsSid", "SMlegacy"},
                       {"SmsStatus", "sent"}};
  EXPECT_EQ(handler_->HandleStatus(Post(kStatusPath, params)).status, 204);
  EXPECT_EQ(Get(id).status, MessageStatus::kSent);
}

TEST_F(TwilioWebhookHandlerTest, CallbackOfAnotherAccountIsForbidden) {
  const std::string id = CreateAccepted(ann_, kPeer, "SMacct");
  FormParams params = StatusParams("SMacct", "delivered");
  params[0].second = "AC00000000000000000000000000000000";
  const std::string before = Snapshot();
  EXPECT_EQ(handler_->HandleStatus(Post(kStatusPath, params)).status, 403);
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(Get(id).status, MessageStatus::kQueued);
}

// --- Inbound ----------------------------------------------------------------

TEST_F(TwilioWebhookHandlerTest, InboundIsStoredAsReceivedWithMediaAndSegments) {
  FormParams params = InboundParams("SMin1", "Look at these 👍");
  for (auto& [name, value] : params) {
    if (name == "NumMedia") value = "2";
    if (name == "NumSegments") value = "3";
  }
  params.push_back({"MediaUrl0", "https://api.twilio.com/media/ME0"});
  params.push_back({"MediaContentType0", "image/jpeg"});
  params.push_back({"MediaUrl1", "https://api.twilio.com/media/ME1"});
  params.push_back({"MediaContentType1", "video/mp4"});
  params.push_back({"MessagingServiceSid", "MG0123456789abcdef0123456789abcdef"});

  WebhookResponse response = handler_->HandleInbound(Post(kInboundPath, params));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "text/xml");
  EXPECT_EQ(response.body, kEmptyTwiml);

  const std::vector<Message> unrouted = Inbound(0);
  ASSERT_THAT(unrouted, SizeIs(1));
  const Message& m = unrouted[0];
  EXPECT_EQ(m.direction, Direction::kInbound);
  EXPECT_EQ(m.status, MessageStatus::kReceived);
  EXPECT_EQ(m.owner_id, 0);
  EXPECT_EQ(m.provider_sid, "SMin1");
  EXPECT_EQ(m.from, kPeer);
  EXPECT_EQ(m.to, kOurNumber);
  EXPECT_EQ(m.peer_number, kPeer);
  EXPECT_EQ(m.our_number, kOurNumber);
  EXPECT_EQ(m.body, "Look at these 👍");
  EXPECT_EQ(m.messaging_service_sid, "MG0123456789abcdef0123456789abcdef");
  EXPECT_THAT(m.media_urls, ::testing::ElementsAre("https://api.twilio.com/media/ME0",
                                        "https://api.twilio.com/media/ME1"));
  EXPECT_THAT(m.media_content_types, ::testing::ElementsAre("image/jpeg", "video/mp4"));
  EXPECT_EQ(m.num_segments, 3);
  const std::vector<DeliveryReport> reports = Reports(m.id);
  ASSERT_THAT(reports, SizeIs(1));
  EXPECT_EQ(reports[0].status, MessageStatus::kReceived);
}

TEST_F(TwilioWebhookHandlerTest, InboundWithoutNumSegmentsCountsThemFromTheBody) {
  ASSERT_EQ(SendInbound("SMcount", std::string(161, 'a')).status, 200);
  ASSERT_THAT(Inbound(0), SizeIs(1));
  EXPECT_EQ(Inbound(0)[0].num_segments, 1) << "NumSegments=1 was sent";

  FormParams params = InboundParams("SMcount2", std::string(161, 'a'));
  params.erase(std::remove_if(params.begin(), params.end(),
                              [](const auto& p) { return p.first == "NumSegments"; }),
               params.end());
  ASSERT_EQ(handler_->HandleInbound(Post(kInboundPath, params)).status, 200);
  ASSERT_THAT(Inbound(0), SizeIs(2));
  EXPECT_EQ(Inbound(0)[0].num_segments, 2) << "161 GSM-7 characters";
}

TEST_F(TwilioWebhookHandlerTest, TheSameMessageSidTwiceIsStoredOnce) {
  ASSERT_EQ(SendInbound("SMtwice", "hello").status, 200);
  const std::string after_first = Snapshot();
  WebhookResponse again = SendInbound("SMtwice", "hello");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, kEmptyTwiml);
  EXPECT_EQ(Snapshot(), after_first);
  EXPECT_THAT(Inbound(0), SizeIs(1));
}

TEST_F(TwilioWebhookHandlerTest,
       InboundGoesToTheOwnerOfTheMostRecentConversationWithThePeerOnThatNumber) {
  CreateAccepted(ann_, kPeer, "SMann1", /*minutes=*/1);
  CreateAccepted(bob_, kPeer, "SMbob1", /*minutes=*/2);
  ASSERT_EQ(SendInbound("SMr1", "to bob").status, 200);
  ASSERT_THAT(Inbound(bob_), SizeIs(1));
  EXPECT_EQ(Inbound(bob_)[0].body, "to bob");
  EXPECT_EQ(Inbound(bob_)[0].conversation_id,
            absl::StrCat("conv-", bob_, "-", kPeer));
  EXPECT_THAT(Inbound(ann_), IsEmpty());

  clock_.Advance(absl::Minutes(10));
  CreateAccepted(ann_, kPeer, "SMann2", /*minutes=*/70);
  ASSERT_EQ(SendInbound("SMr2", "to ann").status, 200);
  ASSERT_THAT(Inbound(ann_), SizeIs(1));
  EXPECT_EQ(Inbound(ann_)[0].body, "to ann");
  EXPECT_EQ(Inbound(ann_)[0].owner_id, ann_);
  EXPECT_THAT(Inbound(bob_), SizeIs(1));
  EXPECT_THAT(Inbound(0), IsEmpty());
}

TEST_F(TwilioWebhookHandlerTest, InboundWithNoConversationOnThatNumberIsUnrouted) {
  CreateAccepted(ann_, kPeer, "SMann", /*minutes=*/1, kOtherNumber);
  CreateAccepted(bob_, kOtherPeer, "SMbob", /*minutes=*/2);
  ASSERT_EQ(SendInbound("SMu1", "other number", kPeer, kOurNumber).status, 200);
  ASSERT_EQ(SendInbound("SMu2", "stranger", "+14155550199", kOurNumber).status,
            200);
  EXPECT_THAT(Inbound(ann_), IsEmpty());
  EXPECT_THAT(Inbound(bob_), IsEmpty());
  const std::vector<Message> unrouted = Inbound(0);
  ASSERT_THAT(unrouted, SizeIs(2));
  EXPECT_EQ(unrouted[0].owner_id, 0);
  EXPECT_EQ(unrouted[1].owner_id, 0);
  // The same peer on the number ann used does reach ann.
  ASSERT_EQ(SendInbound("SMu3", "ann's number", kPeer, kOtherNumber).status, 200);
  EXPECT_THAT(Inbound(ann_), SizeIs(1));
}

struct KeywordCase {
  const char* body;
  bool opts_out;
};

class TwilioWebhookHandlerKeywordTest
    : public TwilioWebhookHandlerTest,
      public ::testing::WithParamInterface<KeywordCase> {};

TEST_P(TwilioWebhookHandlerKeywordTest, RecordsAnOptOutOnlyForAWholeKeyword) {
  const KeywordCase& c = GetParam();
  ASSERT_EQ(SendInbound("SMkw", c.body).status, 200);
  EXPECT_EQ(OptedOut(kPeer), c.opts_out) << "body \"" << c.body << "\"";
  EXPECT_FALSE(OptedOut(kPeer, kOtherNumber));
  // The message itself is stored either way (Twilio forwards keywords too).
  ASSERT_THAT(Inbound(0), SizeIs(1));
  EXPECT_EQ(Inbound(0)[0].body, c.body);
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, TwilioWebhookHandlerKeywordTest,
    ::testing::Values(KeywordCase{"STOP", true}, KeywordCase{"stop", true},
                      KeywordCase{" Stop", true}, KeywordCase{"sToP \n", true},
                      KeywordCase{"\tUNSUBSCRIBE", true},
                      KeywordCase{"quit", true}, KeywordCase{"StopAll", true},
                      KeywordCase{"stop please", false},
                      KeywordCase{"STOP!", false}, KeywordCase{"S TOP", false},
                      KeywordCase{"HELP", false}, KeywordCase{"START", false},
                      KeywordCase{"", false}));

TEST_F(TwilioWebhookHandlerTest, StartLiftsAnOptOut) {
  ASSERT_EQ(SendInbound("SMstop", "Stop").status, 200);
  ASSERT_TRUE(OptedOut(kPeer));
  ASSERT_EQ(SendInbound("SMstart", " start ").status, 200);
  EXPECT_FALSE(OptedOut(kPeer));
  ASSERT_EQ(SendInbound("SMstop2", "stop").status, 200);
  EXPECT_TRUE(OptedOut(kPeer));
  ASSERT_EQ(SendInbound("SMunstop", "UNSTOP").status, 200);
  EXPECT_FALSE(OptedOut(kPeer));
}

TEST_F(TwilioWebhookHandlerTest, ARetriedStopAfterStartDoesNotOptOutAgain) {
  // Twilio retries a webhook it timed out on; the retry of an old STOP must
  // not undo the START that came after it.
  ASSERT_EQ(SendInbound("SMstopA", "STOP").status, 200);
  ASSERT_EQ(SendInbound("SMstartB", "START").status, 200);
  ASSERT_FALSE(OptedOut(kPeer));
  const std::string before = Snapshot();
  ASSERT_EQ(SendInbound("SMstopA", "STOP").status, 200);
  EXPECT_FALSE(OptedOut(kPeer));
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(TwilioWebhookHandlerTest, GetInboundWithParamsInTheQueryIsStored) {
  const FormParams params = InboundParams("SMget", "Hi there");
  const std::string target =
      absl::StrCat(kInboundPath, "?", twilio::EncodeForm(params));
  WebhookRequest request;
  request.method = "GET";
  request.target = target;
  // Twilio signs a GET's URL only.
  request.signature = twilio::ComputeTwilioSignature(
      kAuthToken, absl::StrCat(kPublicUrl, target), {});
  WebhookResponse response = handler_->HandleInbound(request);
  EXPECT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.body, kEmptyTwiml);
  ASSERT_THAT(Inbound(0), SizeIs(1));
  EXPECT_EQ(Inbound(0)[0].body, "Hi there");
  EXPECT_EQ(Inbound(0)[0].provider_sid, "SMget");

  // Signed as if the params were a body: refused.
  WebhookRequest as_post = request;
  as_post.target = absl::StrCat(kInboundPath, "?",
                                twilio::EncodeForm(InboundParams("SMget2", "x")));
  as_post.signature = twilio::ComputeTwilioSignature(
      kAuthToken, absl::StrCat(kPublicUrl, as_post.target),
      InboundParams("SMget2", "x"));
  const std::string before = Snapshot();
  EXPECT_EQ(handler_->HandleInbound(as_post).status, 403);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(TwilioWebhookHandlerTest, InboundWithoutFromOrWithABadToIsRefused) {
  FormParams no_from = InboundParams("SMnofrom", "x");
  no_from.erase(std::remove_if(no_from.begin(), no_from.end(),
                               [](const auto& p) { return p.first == "From"; }),
                no_from.end());
  const std::string before = Snapshot();
  EXPECT_EQ(handler_->HandleInbound(Post(kInboundPath, no_from)).status, 400);
  EXPECT_EQ(handler_
                ->HandleInbound(Post(kInboundPath,
                                     InboundParams("SMbadto", "x", kPeer,
                                                   "not-a-number")))
                .status,
            400);
  EXPECT_EQ(Snapshot(), before);
}

// --- Signatures -------------------------------------------------------------

TEST_F(TwilioWebhookHandlerTest, MissingOrWrongSignaturesAreForbiddenAndChangeNothing) {
  const std::string id = CreateAccepted(ann_, kPeer, "SMsig");
  const std::string before = Snapshot();
  const FormParams status = StatusParams("SMsig", "delivered");
  const FormParams inbound = InboundParams("SMsigin", "STOP");

  struct Case {
    std::string what;
    bool status_route;
    WebhookRequest request;
  };
  std::vector<Case> cases;
  for (bool status_route : {true, false}) {
    const std::string path = status_route ? kStatusPath : kInboundPath;
    const FormParams& params = status_route ? status : inbound;
    WebhookRequest missing = Post(path, params);
    missing.signature = "";
    cases.push_back({"no signature", status_route, missing});
    WebhookRequest garbage = Post(path, params);
    garbage.signature = "not a signature";
    cases.push_back({"garbage signature", status_route, garbage});
    WebhookRequest other_token = Post(path, params);
    other_token.signature = twilio::ComputeTwilioSignature(
        "00000000000000000000000000000000", absl::StrCat(kPublicUrl, path),
        params);
    cases.push_back({"signed with another token", status_route, other_token});
    cases.push_back({"signed for http", status_route,
                     Post(path, params,
                          absl::StrCat("http://sms.example.com", path))});
    cases.push_back({"signed for another host", status_route,
                     Post(path, params,
                          absl::StrCat("https://evil.example.com", path))});
    cases.push_back({"signed for port 8443", status_route,
                     Post(path, params,
                          absl::StrCat("https://sms.example.com:8443", path))});
    cases.push_back({"signed for another path", status_route,
                     Post(path, params,
                          absl::StrCat(kPublicUrl, "/twilio/sms/other"))});
    WebhookRequest query = Post(absl::StrCat(path, "?tenant=acme"), params,
                                absl::StrCat(kPublicUrl, path));
    cases.push_back({"query string not signed", status_route, query});
    WebhookRequest tampered = Post(path, params);
    FormParams changed = params;
    changed.push_back({"Extra", "1"});
    tampered.body = twilio::EncodeForm(changed);
    cases.push_back({"param added after signing", status_route, tampered});
    WebhookRequest lower = Post(path, params);
    lower.signature[0] = lower.signature[0] == 'a' ? 'b' : 'a';
    cases.push_back({"one character changed", status_route, lower});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.status_route ? "status: " : "inbound: ", c.what));
    WebhookResponse response = c.status_route
                                   ? handler_->HandleStatus(c.request)
                                   : handler_->HandleInbound(c.request);
    EXPECT_EQ(response.status, 403) << response.body;
    EXPECT_THAT(response.body, HasSubstr("X-Twilio-Signature"));
    EXPECT_EQ(Snapshot(), before);
  }
  EXPECT_EQ(Get(id).status, MessageStatus::kQueued);
  EXPECT_FALSE(OptedOut(kPeer));
}

TEST_F(TwilioWebhookHandlerTest, HttpsPortVariantsAreAcceptedBothWays) {
  // Twilio signs https URLs with and without :443 (twilio-reference.md §5.5).
  struct Case {
    std::string public_url;
    std::string signed_base;
  };
  const std::vector<Case> cases = {
      {"https://sms.example.com", "https://sms.example.com"},
      {"https://sms.example.com", "https://sms.example.com:443"},
      {"https://sms.example.com:443", "https://sms.example.com"},
      {"https://sms.example.com:443", "https://sms.example.com:443"},
      {"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
      {"http://127.0.0.1:8080", "http://127.0.0.1"},
  };
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat("public ", c.public_url, ", signed on ",
                              c.signed_base));
    std::unique_ptr<TwilioWebhookHandler> handler = MakeHandler(c.public_url);
    const std::string sid = absl::StrCat("SMport", ++n);
    const std::string target = absl::StrCat(kInboundPath, "?tenant=acme");
    WebhookResponse response = handler->HandleInbound(
        Post(target, InboundParams(sid, "port"),
             absl::StrCat(c.signed_base, target)));
    EXPECT_EQ(response.status, 200) << response.body;
  }
  EXPECT_THAT(Inbound(0), SizeIs(cases.size()));

  // And the refused spellings.
  const std::vector<Case> refused = {
      {"https://sms.example.com", "http://sms.example.com"},
      {"https://sms.example.com:443", "http://sms.example.com:443"},
      {"http://sms.example.com", "https://sms.example.com"},
      {"https://sms.example.com", "https://sms.example.com:8443"},
      {"https://sms.example.com", "https://SMS.example.com"},
  };
  const std::string before = Snapshot();
  for (const Case& c : refused) {
    SCOPED_TRACE(absl::StrCat("public ", c.public_url, ", signed on ",
                              c.signed_base));
    std::unique_ptr<TwilioWebhookHandler> handler = MakeHandler(c.public_url);
    WebhookResponse response = handler->HandleInbound(
        Post(kInboundPath, InboundParams("SMrefused", "port"),
             absl::StrCat(c.signed_base, kInboundPath)));
    EXPECT_EQ(response.status, 403) << response.body;
  }
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(TwilioWebhookHandlerTest, RepeatedCustomParamsAreSignedAndAccepted) {
  FormParams params = InboundParams("SMrep", "repeated");
  params.push_back({"Tag", "b"});
  params.push_back({"Tag", "a"});
  params.push_back({"Tag", "b"});
  EXPECT_EQ(handler_->HandleInbound(Post(kInboundPath, params)).status, 200);
  EXPECT_THAT(Inbound(0), SizeIs(1));
}

// --- Malformed requests -----------------------------------------------------

struct MalformedCase {
  std::string name;
  bool status_route;
  // Either a raw body (sent with a signature over no params, which must not
  // matter: the parse fails first) or params signed properly.
  std::optional<std::string> raw_body;
  FormParams params;
  int want_status;
  std::string want_message;
};

FormParams With(FormParams params, const std::string& name,
                const std::string& value) {
  params.push_back({name, value});
  return params;
}

FormParams Without(FormParams params, const std::string& name) {
  params.erase(std::remove_if(params.begin(), params.end(),
                              [&](const auto& p) { return p.first == name; }),
               params.end());
  return params;
}

FormParams Replace(FormParams params, const std::string& name,
                   const std::string& value) {
  for (auto& p : params) {
    if (p.first == name) p.second = value;
  }
  return params;
}

TEST_F(TwilioWebhookHandlerTest, MalformedRequestsAreRefusedAndChangeNothing) {
  const std::string id = CreateAccepted(ann_, kPeer, "SMbad");
  const FormParams status = StatusParams("SMbad", "delivered");
  const FormParams inbound = InboundParams("SMbadin", "STOP");
  FormParams many = inbound;
  for (int i = 0; i < 300; ++i) many.push_back({absl::StrCat("X", i), "1"});
  std::string many_raw = "MessageSid=SMmany&MessageStatus=sent";
  for (int i = 0; i < 5000; ++i) absl::StrAppend(&many_raw, "&a", i, "=");

  const std::vector<MalformedCase> cases = {
      {"broken percent-encoding", true,
       "AccountSid=AC0123456789abcdef0123456789abcdef&MessageSid=SMbad"
       "&MessageStatus=deliv%2",
       {}, 400, "%"},
      {"non-hex percent-encoding", false,
       "MessageSid=SMbadin&Body=%zzSTOP&From=%2B14155550100&To=%2B15005550006",
       {}, 400, "%"},
      {"invalid UTF-8 (lone continuation byte)", false,
       "MessageSid=SMbadin&Body=%80&From=%2B14155550100&To=%2B15005550006",
       {}, 400, "UTF-8"},
      {"invalid UTF-8 (overlong slash)", false,
       "MessageSid=SMbadin&Body=%C0%AF&From=%2B14155550100&To=%2B15005550006",
       {}, 400, "UTF-8"},
      {"invalid UTF-8 (raw byte)", true,
       "MessageSid=SMbad&MessageStatus=delivered&ErrorMessage=\xff", {}, 400,
       "UTF-8"},
      {"NUL byte", true, "MessageSid=SMbad%00&MessageStatus=delivered", {}, 400,
       ""},
      {"missing MessageSid", true, std::nullopt,
       Without(Without(status, "MessageSid"), "SmsSid"), 400, "MessageSid"},
      {"missing MessageStatus", true, std::nullopt,
       Without(Without(status, "MessageStatus"), "SmsStatus"), 400,
       "MessageStatus"},
      {"empty MessageStatus", true, std::nullopt,
       Replace(Replace(status, "MessageStatus", ""), "SmsStatus", ""), 400,
       "MessageStatus"},
      {"unknown status word", true, std::nullopt,
       Replace(Replace(status, "MessageStatus", "deliverd"), "SmsStatus",
               "deliverd"),
       400, "deliverd"},
      {"non-numeric ErrorCode", true, std::nullopt,
       With(status, "ErrorCode", "30003x"), 400, "ErrorCode"},
      {"word ErrorCode", true, std::nullopt, With(status, "ErrorCode", "none"),
       400, "ErrorCode"},
      {"ErrorCode too large for an int", true, std::nullopt,
       With(status, "ErrorCode", "99999999999"), 400, "ErrorCode"},
      {"missing MessageSid on inbound", false, std::nullopt,
       Without(Without(Without(inbound, "MessageSid"), "SmsSid"),
               "SmsMessageSid"),
       400, "MessageSid"},
      {"NumMedia negative", false, std::nullopt,
       Replace(inbound, "NumMedia", "-1"), 400, "NumMedia"},
      {"NumMedia over 10", false, std::nullopt,
       Replace(inbound, "NumMedia", "11"), 400, "NumMedia"},
      {"NumMedia not a number", false, std::nullopt,
       Replace(inbound, "NumMedia", "two"), 400, "NumMedia"},
      {"MediaUrl missing", false, std::nullopt,
       With(With(With(Replace(inbound, "NumMedia", "2"), "MediaUrl0",
                      "https://api.twilio.com/m/0"),
                 "MediaContentType0", "image/png"),
            "MediaContentType1", "image/png"),
       400, "MediaUrl1"},
      {"MediaUrl empty", false, std::nullopt,
       With(Replace(inbound, "NumMedia", "1"), "MediaUrl0", ""), 400,
       "MediaUrl0"},
      {"NumSegments not a number", false, std::nullopt,
       Replace(inbound, "NumSegments", "1.5"), 400, "NumSegments"},
      {"NumSegments negative", false, std::nullopt,
       Replace(inbound, "NumSegments", "-2"), 400, "NumSegments"},
      {"duplicate MessageSid with other values", true, std::nullopt,
       With(status, "MessageSid", "SMother"), 400, "MessageSid"},
      {"duplicate MessageStatus", true, std::nullopt,
       With(status, "MessageStatus", "sent"), 400, "MessageStatus"},
      {"duplicate ErrorCode", true, std::nullopt,
       With(With(status, "ErrorCode", "30003"), "ErrorCode", "21610"), 400,
       "ErrorCode"},
      {"duplicate From on inbound", false, std::nullopt,
       With(inbound, "From", "+14155550111"), 400, "From"},
      {"duplicate Body on inbound", false, std::nullopt,
       With(inbound, "Body", "START"), 400, "Body"},
      {"duplicate NumMedia on inbound", false, std::nullopt,
       With(inbound, "NumMedia", "1"), 400, "NumMedia"},
      {"huge parameter count (signed)", false, std::nullopt, many, 400, ""},
      {"huge parameter count (raw)", true, many_raw, {}, 400, ""},
      {"name over 256 bytes", true, std::nullopt,
       With(status, std::string(300, 'N'), "1"), 400, ""},
      {"another account", false, std::nullopt,
       Replace(inbound, "AccountSid", "AC00000000000000000000000000000000"),
       403, "AccountSid"},
  };
  const std::string before = Snapshot();
  for (const MalformedCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = c.status_route ? kStatusPath : kInboundPath;
    WebhookRequest request = Post(path, c.params);
    if (c.raw_body.has_value()) request.body = *c.raw_body;
    WebhookResponse response = c.status_route ? handler_->HandleStatus(request)
                                              : handler_->HandleInbound(request);
    EXPECT_EQ(response.status, c.want_status) << response.body;
    EXPECT_THAT(response.body, HasSubstr(c.want_message));
    EXPECT_EQ(Snapshot(), before);
  }
  EXPECT_EQ(Get(id).status, MessageStatus::kQueued);
  EXPECT_FALSE(OptedOut(kPeer));
}

TEST_F(TwilioWebhookHandlerTest, GetWithABrokenQueryIsRefused) {
  for (const std::string query :
       {"MessageSid=SM1&Body=%G0", "MessageSid=SM1&Body=%FF&From=%2B14155550100",
        "MessageSid=SM1&MessageSid=SM2&From=%2B14155550100&To=%2B15005550006"}) {
    SCOPED_TRACE(query);
    WebhookRequest request;
    request.method = "GET";
    request.target = absl::StrCat(kInboundPath, "?", query);
    request.signature = twilio::ComputeTwilioSignature(
        kAuthToken, absl::StrCat(kPublicUrl, request.target), {});
    EXPECT_EQ(handler_->HandleInbound(request).status, 400);
  }
  EXPECT_THAT(Inbound(0), IsEmpty());
}

TEST_F(TwilioWebhookHandlerTest, OnlyFormEncodedBodiesAreAccepted) {
  const std::string id = CreateAccepted(ann_, kPeer, "SMtype");
  const std::string before = Snapshot();
  for (const std::string type :
       {"application/json", "text/plain", "", "multipart/form-data; boundary=x",
        "application/x-www-form-urlencodedx", "text/xml"}) {
    SCOPED_TRACE(type);
    WebhookRequest request = Post(kStatusPath, StatusParams("SMtype", "sent"));
    request.content_type = type;
    EXPECT_EQ(handler_->HandleStatus(request).status, 415);
    WebhookRequest inbound =
        Post(kInboundPath, InboundParams("SMtypein", "hello"));
    inbound.content_type = type;
    EXPECT_EQ(handler_->HandleInbound(inbound).status, 415);
  }
  EXPECT_EQ(Snapshot(), before);

  for (const std::string type :
       {"application/x-www-form-urlencoded; charset=utf-8",
        "Application/X-WWW-Form-Urlencoded", " application/x-www-form-urlencoded "}) {
    SCOPED_TRACE(type);
    WebhookRequest request = Post(kStatusPath, StatusParams("SMtype", "sent"));
    request.content_type = type;
    EXPECT_EQ(handler_->HandleStatus(request).status, 204);
  }
  EXPECT_EQ(Get(id).status, MessageStatus::kSent);
}

TEST_F(TwilioWebhookHandlerTest, BodiesOverTheLimitAreRefusedWith413) {
  constexpr size_t kLimit = 2048;
  std::unique_ptr<TwilioWebhookHandler> handler =
      MakeHandler(kPublicUrl, kLimit);
  // Pad a valid, signed inbound to exactly the limit, then one byte over.
  auto padded = [&](const std::string& sid, size_t size) {
    FormParams params = InboundParams(sid, "padded");
    params.push_back({"Pad", ""});
    const size_t base = twilio::EncodeForm(params).size();
    params.back().second = std::string(size - base, 'p');
    return Post(kInboundPath, params);
  };
  WebhookRequest at_limit = padded("SMat", kLimit);
  ASSERT_EQ(at_limit.body.size(), kLimit);
  EXPECT_EQ(handler->HandleInbound(at_limit).status, 200);

  const std::string before = Snapshot();
  WebhookRequest over = padded("SMover", kLimit + 1);
  ASSERT_EQ(over.body.size(), kLimit + 1);
  WebhookResponse response = handler->HandleInbound(over);
  EXPECT_EQ(response.status, 413) << response.body;
  WebhookRequest huge = Post(kStatusPath, StatusParams("SMx", "sent"));
  huge.body.append(1 << 20, 'x');
  EXPECT_EQ(handler->HandleStatus(huge).status, 413);
  EXPECT_EQ(Snapshot(), before);
}

// --- Through Register() and a real socket -----------------------------------

class TwilioWebhookHandlerHttpTest : public TwilioWebhookHandlerTest {
 protected:
  void SetUp() override {
    WebhookServer::Options options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.max_body_bytes = 4096;
    server_ = std::make_unique<WebhookServer>(options);
    handler_ = MakeHandler("http://hooks.test", options.max_body_bytes);
    handler_->Register(server_->http());
    ASSERT_THAT(server_->Start(), IsOk());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }
  void TearDown() override { server_->Stop(); }

  httplib::Headers Signed(const std::string& target, const FormParams& params) {
    return {{"X-Twilio-Signature",
             twilio::ComputeTwilioSignature(
                 kAuthToken, absl::StrCat("http://hooks.test", target), params)}};
  }

  std::unique_ptr<WebhookServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(TwilioWebhookHandlerHttpTest, RoutesAnswerAsTheHandlerDoes) {
  const std::string id = CreateAccepted(ann_, kPeer, "SMhttp");
  const FormParams status = StatusParams("SMhttp", "delivered");
  httplib::Result r =
      client_->Post(kStatusPath, Signed(kStatusPath, status),
                    twilio::EncodeForm(status), kFormType);
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(Get(id).status, MessageStatus::kDelivered);

  const FormParams inbound = InboundParams("SMhttpin", "hi");
  const std::string target = absl::StrCat(kInboundPath, "?tenant=acme");
  r = client_->Post(target.c_str(), Signed(target, inbound),
                    twilio::EncodeForm(inbound), kFormType);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, kEmptyTwiml);
  EXPECT_THAT(r->get_header_value("Content-Type"), HasSubstr("text/xml"));

  const std::string get_target = absl::StrCat(
      kInboundPath, "?", twilio::EncodeForm(InboundParams("SMhttpget", "via GET")));
  r = client_->Get(get_target.c_str(), Signed(get_target, {}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_THAT(Inbound(ann_), SizeIs(2)) << "routed to ann's conversation";

  r = client_->Post(kStatusPath, twilio::EncodeForm(status), kFormType);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
}

TEST_F(TwilioWebhookHandlerHttpTest, AStreamedBodyOverTheLimitIs413) {
  const std::string before = Snapshot();
  FormParams inbound = InboundParams("SMbig", "big");
  inbound.push_back({"Pad", std::string(8000, 'p')});
  httplib::Result r =
      client_->Post(kInboundPath, Signed(kInboundPath, inbound),
                    twilio::EncodeForm(inbound), kFormType);
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Snapshot(), before);
}

TEST_F(TwilioWebhookHandlerHttpTest, AChunkedBodyOverTheLimitIs413) {
  // No Content-Length, so httplib cannot refuse it up front: the handler's
  // own reader stops at the limit.
  const std::string before = Snapshot();
  FormParams inbound = InboundParams("SMchunked", "big");
  inbound.push_back({"Pad", std::string(8000, 'p')});
  const std::string body = twilio::EncodeForm(inbound);
  httplib::Result r = client_->Post(
      kInboundPath, Signed(kInboundPath, inbound),
      [&body](size_t offset, httplib::DataSink& sink) {
        sink.write(body.data(), body.size());
        sink.done();
        return true;
      },
      kFormType);
  // The server answers and closes as soon as the limit is passed, which may
  // be before the client wrote the last chunk: then the client sees a write
  // error instead of the 413. Either way nothing is stored.
  if (r) {
    EXPECT_EQ(r->status, 413);
  } else {
    EXPECT_EQ(r.error(), httplib::Error::Write) << httplib::to_string(r.error());
  }
  EXPECT_EQ(Snapshot(), before);

  // The same way, under the limit, is accepted.
  FormParams small = InboundParams("SMchunked2", "small");
  const std::string small_body = twilio::EncodeForm(small);
  r = client_->Post(
      kInboundPath, Signed(kInboundPath, small),
      [&small_body](size_t offset, httplib::DataSink& sink) {
        const size_t n = std::min<size_t>(100, small_body.size() - offset);
        sink.write(small_body.data() + offset, n);
        if (offset + n == small_body.size()) sink.done();
        return true;
      },
      kFormType);
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;
}

}  // namespace
}  // namespace smsgw::webhooks

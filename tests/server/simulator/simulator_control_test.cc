// The simulator's control API (/sim/v1/...), spoken to over real HTTP the way
// `smsgw sim inbound` and other processes use it.
#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "server/simulator/simulator.h"
#include "server/twilio/form_encoding.h"
#include "server/twilio/twilio_signature.h"
#include "tests/server/simulator/webhook_receiver.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::twilio {
namespace {

using ::smsgw::twilio::simulator_testing::kReceiverTwiml;
using ::smsgw::twilio::simulator_testing::Received;
using ::smsgw::twilio::simulator_testing::WebhookReceiver;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using Json = nlohmann::json;

constexpr char kOwned[] = "+15005550006";   // a default simulator number
constexpr char kSender[] = "+14155550100";  // someone texting it
constexpr char kJson[] = "application/json";
constexpr char kForm[] = "application/x-www-form-urlencoded";

class TwilioSimulatorControlApiTest : public ::testing::Test {
 protected:
  // Starts a simulator posting inbound messages to `webhook_url` (empty: no
  // webhook), signing with the real Twilio algorithm.
  void StartSim(const std::string& webhook_url) {
    TwilioSimulator::Options options;
    options.inbound_webhook_url = webhook_url;
    options.callback_delay = absl::Milliseconds(20);
    const std::string token = options.auth_token;
    options.signer = [token](const std::string& url,
                             const TwilioSimulator::Params& params) {
      return ComputeTwilioSignature(token, url, params);
    };
    sim_ = std::make_unique<TwilioSimulator>(options);
    ASSERT_THAT(sim_->Start(), IsOk());
    client_ = std::make_unique<httplib::Client>(sim_->base_url());
    client_->set_basic_auth(sim_->account_sid().c_str(),
                            sim_->auth_token().c_str());
  }

  // POSTs `body` to /sim/v1/inbound; returns {HTTP status, parsed JSON}.
  std::pair<int, Json> PostInbound(const std::string& body,
                                   const std::string& content_type,
                                   httplib::Client* client = nullptr) {
    if (client == nullptr) client = client_.get();
    httplib::Result r = client->Post("/sim/v1/inbound", body, content_type);
    if (!r) return {0, Json()};
    return {r->status, Json::parse(r->body, nullptr, false)};
  }

  std::pair<int, Json> Get(const std::string& path) {
    httplib::Result r = client_->Get(path.c_str());
    if (!r) return {0, Json()};
    return {r->status, Json::parse(r->body, nullptr, false)};
  }

  std::unique_ptr<TwilioSimulator> sim_;
  std::unique_ptr<httplib::Client> client_;
};

Json Inbound(const std::string& body) {
  return Json{{"from", kSender}, {"to", kOwned}, {"body", body}};
}

TEST_F(TwilioSimulatorControlApiTest, InboundNeedsTheAccountCredentials) {
  WebhookReceiver receiver;
  StartSim(receiver.url("/twilio/sms/inbound"));
  httplib::Client anonymous(sim_->base_url());
  httplib::Client wrong(sim_->base_url());
  wrong.set_basic_auth(sim_->account_sid().c_str(), "not-the-token");
  for (httplib::Client* client : {&anonymous, &wrong}) {
    auto [status, body] = PostInbound(Inbound("hi").dump(), kJson, client);
    EXPECT_EQ(status, 401);
    EXPECT_THAT(body.value("error", ""), HasSubstr("credentials"));
  }
  httplib::Result outbox = anonymous.Get("/sim/v1/outbox");
  ASSERT_TRUE(outbox);
  EXPECT_EQ(outbox->status, 401);
  EXPECT_THAT(receiver.received(), IsEmpty());
  EXPECT_THAT(sim_->Inbox(), IsEmpty());
}

TEST_F(TwilioSimulatorControlApiTest,
       JsonInboundReachesTheWebhookWithAValidTwilioSignature) {
  WebhookReceiver receiver;
  const std::string url = receiver.url("/twilio/sms/inbound?tenant=a");
  StartSim(url);
  const std::string text = "Hi ñ 👍 a+b&c=d";
  auto [status, answer] = PostInbound(Inbound(text).dump(), kJson);
  ASSERT_EQ(status, 200) << answer;
  const std::string sid = answer.value("message_sid", "");
  EXPECT_THAT(sid, MatchesRegex("^SM[0-9a-f]{32}$"));
  EXPECT_EQ(answer.value("webhook_status", 0), 200);
  EXPECT_EQ(answer.value("webhook_content_type", ""), "text/xml");
  EXPECT_EQ(answer.value("webhook_url", ""), url);
  EXPECT_EQ(answer.value("webhook_body", ""), kReceiverTwiml);

  std::vector<Received> got = receiver.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "/twilio/sms/inbound?tenant=a");
  EXPECT_EQ(got[0].content_type, kForm);
  absl::StatusOr<FormParams> params = ParseForm(got[0].raw_body, FormLimits{});
  ASSERT_THAT(params, IsOk());
  EXPECT_TRUE(ValidateTwilioSignature(sim_->auth_token(), url, *params,
                                      got[0].signature));
  // The signature covers the parameters: a changed body would not pass.
  FormParams tampered = *params;
  for (auto& [name, value] : tampered) {
    if (name == "Body") value = "Hi";
  }
  EXPECT_FALSE(ValidateTwilioSignature(sim_->auth_token(), url, tampered,
                                       got[0].signature));
  EXPECT_EQ(FormValue(*params, "MessageSid"), sid);
  EXPECT_EQ(FormValue(*params, "From"), kSender);
  EXPECT_EQ(FormValue(*params, "To"), kOwned);
  EXPECT_EQ(FormValue(*params, "Body"), text);
  EXPECT_EQ(FormValue(*params, "AccountSid"), sim_->account_sid());
  EXPECT_EQ(FormValue(*params, "NumMedia"), "0");

  std::vector<ProviderMessage> inbox = sim_->Inbox();
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].sid, sid);
}

TEST_F(TwilioSimulatorControlApiTest, FormInboundWithMediaPostsMediaParams) {
  WebhookReceiver receiver;
  StartSim(receiver.url("/in"));
  const std::string form =
      EncodeForm({{"from", kSender},
                  {"to", kOwned},
                  {"media_urls", "https://media.example.com/a.png"},
                  {"media_urls", "https://media.example.com/b.gif"}});
  auto [status, answer] = PostInbound(form, kForm);
  ASSERT_EQ(status, 200) << answer;
  EXPECT_THAT(answer.value("message_sid", ""),
              MatchesRegex("^MM[0-9a-f]{32}$"));
  std::vector<Received> got = receiver.received();
  ASSERT_EQ(got.size(), 1u);
  absl::StatusOr<FormParams> params = ParseForm(got[0].raw_body, FormLimits{});
  ASSERT_THAT(params, IsOk());
  EXPECT_EQ(FormValue(*params, "From"), kSender);
  EXPECT_EQ(FormValue(*params, "Body"), "");
  EXPECT_EQ(FormValue(*params, "NumMedia"), "2");
  EXPECT_EQ(FormValue(*params, "MediaUrl0"), "https://media.example.com/a.png");
  EXPECT_EQ(FormValue(*params, "MediaContentType1"), "image/gif");
  EXPECT_TRUE(ValidateTwilioSignature(sim_->auth_token(), receiver.url("/in"),
                                      *params, got[0].signature));
}

struct BadInboundCase {
  std::string name;
  std::string content_type;
  std::string body;
  std::string reason;  // a substring of the one-line error
};

TEST_F(TwilioSimulatorControlApiTest, BadInboundAnswers400WithAOneLineReason) {
  WebhookReceiver receiver;
  StartSim(receiver.url("/in"));
  const std::string long_body(1601, 'x');
  Json eleven_media = Inbound("x");
  eleven_media["media_urls"] =
      std::vector<std::string>(11, "https://media.example.com/a.png");
  const std::vector<BadInboundCase> cases = {
      {"truncated JSON", kJson, R"({"from":)", "not valid JSON"},
      {"JSON invalid UTF-8", kJson, "{\"from\":\"\xff\"}", "not valid JSON"},
      {"JSON array", kJson, R"(["+14155550100"])", "must be a JSON object"},
      {"unknown field", kJson,
       R"({"from":"+14155550100","to":"+15005550006","body":"x","From":"y"})",
       "unknown field \"From\""},
      {"from missing", kJson, R"({"to":"+15005550006","body":"x"})",
       "\"from\" is required"},
      {"from a number", kJson,
       R"({"from":14155550100,"to":"+15005550006","body":"x"})",
       "\"from\" must be a string"},
      {"from with a newline", kJson,
       R"({"from":"a\nb","to":"+15005550006","body":"x"})", "got \"a\\nb\""},
      {"from punctuation", kJson,
       R"({"from":"call me!","to":"+15005550006","body":"x"})",
       "\"from\" must be an E.164 number"},
      {"to missing", kJson, R"({"from":"+14155550100","body":"x"})",
       "\"to\" is required"},
      {"to national", kJson,
       R"({"from":"+14155550100","to":"5005550006","body":"x"})",
       "\"to\" must be an E.164 number"},
      {"to not owned", kJson,
       R"({"from":"+14155550100","to":"+14155550199","body":"x"})",
       "not one of the simulator's numbers (+15005550006, "},
      {"no body or media", kJson,
       R"({"from":"+14155550100","to":"+15005550006"})",
       "\"body\" or \"media_urls\" is required"},
      {"body too long", kJson, Inbound(long_body).dump(), "over 1600"},
      {"media_urls a string", kJson,
       R"({"from":"+14155550100","to":"+15005550006","media_urls":"https://a/b"})",
       "array of strings"},
      {"media_urls of numbers", kJson,
       R"({"from":"+14155550100","to":"+15005550006","media_urls":[1]})",
       "array of strings"},
      {"eleven media", kJson, eleven_media.dump(), "at most 10"},
      {"ftp media", kJson,
       R"({"from":"+14155550100","to":"+15005550006","media_urls":["ftp://a/b.png"]})",
       "is not an http(s) URL"},
      {"form bad percent", kForm, "from=%ZZ&to=%2B15005550006&body=x",
       "bad form body"},
      {"form invalid UTF-8", kForm,
       "from=%2B14155550100&to=%2B15005550006&body=%FF", "bad form body"},
      {"form from twice", kForm,
       "from=%2B14155550100&from=%2B14155550101&to=%2B15005550006&body=x",
       "\"from\" given twice"},
      {"form Twilio names", kForm,
       "From=%2B14155550100&To=%2B15005550006&Body=x",
       "unknown field \"From\""},
      {"form plus is a space", kForm,
       "from=+14155550100&to=%2B15005550006&body=x",
       "\"from\" must be an E.164 number"},
  };
  for (const BadInboundCase& c : cases) {
    auto [status, answer] = PostInbound(c.body, c.content_type);
    EXPECT_EQ(status, 400) << c.name << ": " << answer;
    const std::string error = answer.value("error", "");
    EXPECT_THAT(error, HasSubstr(c.reason)) << c.name;
    EXPECT_THAT(error, Not(HasSubstr("\n"))) << c.name;
  }
  EXPECT_THAT(receiver.received(), IsEmpty());
  EXPECT_THAT(sim_->Inbox(), IsEmpty());
}

TEST_F(TwilioSimulatorControlApiTest, OtherContentTypesAnswer415) {
  WebhookReceiver receiver;
  StartSim(receiver.url("/in"));
  auto [status, answer] = PostInbound(Inbound("hi").dump(), "text/plain");
  EXPECT_EQ(status, 415);
  EXPECT_THAT(answer.value("error", ""), HasSubstr("Content-Type"));
  // Parameters after the media type are fine.
  EXPECT_EQ(PostInbound(Inbound("hi").dump(), "application/json; charset=utf-8")
                .first,
            200);
}

TEST_F(TwilioSimulatorControlApiTest,
       WebhookRefusalIsReportedWithItsStatusAndTheMessageKept) {
  WebhookReceiver refusing(/*status=*/403);
  StartSim(refusing.url("/in"));
  auto [status, answer] = PostInbound(Inbound("hi").dump(), kJson);
  ASSERT_EQ(status, 200) << answer;
  EXPECT_EQ(answer.value("webhook_status", 0), 403);
  EXPECT_EQ(answer.value("webhook_body", ""), kReceiverTwiml);
  EXPECT_EQ(refusing.received().size(), 1u);
  EXPECT_EQ(sim_->Inbox().size(), 1u);
}

TEST_F(TwilioSimulatorControlApiTest,
       UnreachableWebhookAnswers502WithTheStoredSid) {
  int dead_port;
  {
    WebhookReceiver gone;
    dead_port = gone.port();
  }
  StartSim(absl::StrCat("http://127.0.0.1:", dead_port, "/in"));
  auto [status, answer] = PostInbound(Inbound("hi").dump(), kJson);
  EXPECT_EQ(status, 502) << answer;
  EXPECT_THAT(answer.value("error", ""), HasSubstr("no answer from"));
  std::vector<ProviderMessage> inbox = sim_->Inbox();
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(answer.value("message_sid", ""), inbox[0].sid);
}

TEST_F(TwilioSimulatorControlApiTest, MissingWebhookUrlAnswers409) {
  StartSim("");
  auto [status, answer] = PostInbound(Inbound("hi").dump(), kJson);
  EXPECT_EQ(status, 409) << answer;
  EXPECT_THAT(answer.value("error", ""), HasSubstr("inbound_webhook_url"));
  EXPECT_THAT(sim_->Inbox(), IsEmpty());
}

TEST_F(TwilioSimulatorControlApiTest, OutboxAndInboxListMessagesNewestFirst) {
  WebhookReceiver receiver;
  StartSim(receiver.url("/in"));
  const std::string messages_path = absl::StrCat(
      "/2010-04-01/Accounts/", sim_->account_sid(), "/Messages.json");
  std::vector<std::string> created;
  for (const char* text : {"first", "second"}) {
    httplib::Result r = client_->Post(
        messages_path.c_str(),
        EncodeForm({{"To", kSender}, {"From", kOwned}, {"Body", text}}), kForm);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
    created.push_back(Json::parse(r->body).value("sid", ""));
  }
  auto [in_status, in_answer] = PostInbound(Inbound("reply").dump(), kJson);
  ASSERT_EQ(in_status, 200);

  auto [out_status, outbox] = Get("/sim/v1/outbox");
  ASSERT_EQ(out_status, 200) << outbox;
  std::vector<std::string> sids;
  for (const Json& m : outbox["messages"]) sids.push_back(m.value("sid", ""));
  EXPECT_THAT(sids, ElementsAre(created[1], created[0]));
  EXPECT_EQ(outbox["messages"][0].value("body", ""), "second");

  auto [inbox_status, inbox] = Get("/sim/v1/inbox");
  ASSERT_EQ(inbox_status, 200) << inbox;
  ASSERT_EQ(inbox["messages"].size(), 1u);
  EXPECT_EQ(inbox["messages"][0].value("sid", ""),
            in_answer.value("message_sid", ""));
  EXPECT_EQ(inbox["messages"][0].value("direction", ""), "inbound");
}

TEST_F(TwilioSimulatorControlApiTest, UnknownControlPathsAnswer404) {
  StartSim("");
  EXPECT_EQ(Get("/sim/v1/nothing").first, 404);
  EXPECT_EQ(Get("/sim/v1/inbound").first, 404);
}

}  // namespace
}  // namespace smsgw::twilio

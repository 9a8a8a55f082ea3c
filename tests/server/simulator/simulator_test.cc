#include "server/simulator/simulator.h"

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/server/simulator/webhook_receiver.h"
#include "tests/testing/status_matchers.h"

namespace smsgw::twilio {
namespace {

using ::smsgw::twilio::simulator_testing::kReceiverTwiml;
using ::smsgw::twilio::simulator_testing::Received;
using ::smsgw::twilio::simulator_testing::WebhookReceiver;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Pair;
using ::testing::UnorderedElementsAreArray;
using Json = nlohmann::json;
using Params = TwilioSimulator::Params;

constexpr char kFrom[] = "+15005550006";
constexpr char kTo[] = "+14155550100";

// A deterministic stand-in for HMAC-SHA1: any change to the URL or to a
// parameter changes the value, which is all these tests need.
std::string TestSign(const std::string& url, const Params& params) {
  Params sorted = params;
  std::sort(sorted.begin(), sorted.end());
  std::string data = url;
  for (const auto& [name, value] : sorted) absl::StrAppend(&data, name, value);
  return absl::StrCat("test-", std::hash<std::string>{}(data));
}

std::string Encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

std::string EncodeForm(const Params& params) {
  std::vector<std::string> parts;
  for (const auto& [n, v] : params) {
    parts.push_back(absl::StrCat(Encode(n), "=", Encode(v)));
  }
  return absl::StrJoin(parts, "&");
}

std::string Value(const Params& params, const std::string& name) {
  for (const auto& [n, v] : params) {
    if (n == name) return v;
  }
  return "<absent>";
}

std::vector<std::string> Names(const Params& params) {
  std::vector<std::string> names;
  for (const auto& p : params) names.push_back(p.first);
  return names;
}

class TwilioSimulatorTest : public ::testing::Test {
 protected:
  // Starts a simulator with fast callbacks and the test signer; `tweak` may
  // change options first.
  void StartSim(std::function<void(TwilioSimulator::Options&)> tweak = {}) {
    TwilioSimulator::Options options;
    options.callback_delay = absl::Milliseconds(20);
    options.signer = TestSign;
    if (tweak) tweak(options);
    sim_ = std::make_unique<TwilioSimulator>(options);
    ASSERT_THAT(sim_->Start(), IsOk());
    client_ = std::make_unique<httplib::Client>(sim_->base_url());
    client_->set_basic_auth(sim_->account_sid(), sim_->auth_token());
    client_->set_url_encode(false);
  }

  std::string MessagesPath() const {
    return absl::StrCat("/2010-04-01/Accounts/", sim_->account_sid(),
                        "/Messages.json");
  }
  std::string MessagePath(const std::string& sid) const {
    return absl::StrCat("/2010-04-01/Accounts/", sim_->account_sid(),
                        "/Messages/", sid, ".json");
  }

  // POSTs a create request; returns {HTTP status, parsed body}.
  std::pair<int, Json> Create(const Params& params) {
    httplib::Result r = client_->Post(MessagesPath(), EncodeForm(params),
                                      "application/x-www-form-urlencoded");
    if (!r) return {0, Json()};
    return {r->status, Json::parse(r->body, nullptr, false)};
  }

  std::pair<int, Json> Get(const std::string& target) {
    httplib::Result r = client_->Get(target);
    if (!r) return {0, Json()};
    return {r->status, Json::parse(r->body, nullptr, false)};
  }

  // Polls the API until the message has `status` (or 10 s pass).
  Json WaitForStatus(const std::string& sid, const std::string& status) {
    Json m;
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      m = Get(MessagePath(sid)).second;
      if (m.value("status", "") == status) break;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return m;
  }

  std::unique_ptr<TwilioSimulator> sim_;
  std::unique_ptr<httplib::Client> client_;
};

Json ErrorBody(int code, const std::string& message, int status = 400) {
  return Json{
      {"code", code},
      {"message", message},
      {"more_info", absl::StrCat("https://www.twilio.com/docs/errors/", code)},
      {"status", status}};
}

absl::Time ParseRfc2822(const std::string& s) {
  absl::Time t = absl::InfinitePast();
  std::string err;
  EXPECT_TRUE(absl::ParseTime("%a, %d %b %Y %H:%M:%S %z", s,
                              absl::UTCTimeZone(), &t, &err))
      << s << ": " << err;
  return t;
}

// ---------------------------------------------------------------------------
// Create.

TEST_F(TwilioSimulatorTest, CreateAnswers201WithTheMessageResource) {
  StartSim();
  absl::Time before = absl::Now() - absl::Seconds(1);
  auto [status, m] =
      Create({{"To", kTo}, {"From", kFrom}, {"Body", "Hello! ñ"}});
  ASSERT_EQ(status, 201) << m.dump();

  std::vector<std::string> keys;
  for (const auto& item : m.items()) keys.push_back(item.key());
  EXPECT_THAT(
      keys, ElementsAre("account_sid", "api_version", "body", "date_created",
                        "date_sent", "date_updated", "direction", "error_code",
                        "error_message", "from", "messaging_service_sid",
                        "num_media", "num_segments", "price", "price_unit",
                        "sid", "status", "subresource_uris", "to", "uri"));
  std::string sid = m["sid"];
  EXPECT_THAT(sid, MatchesRegex("^SM[0-9a-f]{32}$"));
  EXPECT_EQ(m["account_sid"], sim_->account_sid());
  EXPECT_EQ(m["api_version"], "2010-04-01");
  EXPECT_EQ(m["body"], "Hello! ñ");
  EXPECT_EQ(m["direction"], "outbound-api");
  EXPECT_EQ(m["status"], "queued");
  EXPECT_EQ(m["from"], kFrom);
  EXPECT_EQ(m["to"], kTo);
  EXPECT_TRUE(m["messaging_service_sid"].is_null());
  EXPECT_TRUE(m["error_code"].is_null());
  EXPECT_TRUE(m["error_message"].is_null());
  EXPECT_TRUE(m["price"].is_null());
  EXPECT_TRUE(m["price_unit"].is_null());
  EXPECT_TRUE(m["date_sent"].is_null());
  EXPECT_EQ(m["num_segments"], "1");
  EXPECT_EQ(m["num_media"], "0");
  EXPECT_THAT(std::string(m["date_created"]),
              MatchesRegex("^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} "
                           "[0-9]{2}:[0-9]{2}:[0-9]{2} \\+0000$"));
  absl::Time created = ParseRfc2822(m["date_created"]);
  EXPECT_GE(created, before);
  EXPECT_LE(created, absl::Now());
  EXPECT_EQ(m["date_updated"], m["date_created"]);
  EXPECT_EQ(m["uri"], MessagePath(sid));
  EXPECT_EQ(m["subresource_uris"]["media"],
            absl::StrCat("/2010-04-01/Accounts/", sim_->account_sid(),
                         "/Messages/", sid, "/Media.json"));
}

TEST_F(TwilioSimulatorTest, SidsAreUnique) {
  StartSim();
  std::string a =
      Create({{"To", kTo}, {"From", kFrom}, {"Body", "a"}}).second["sid"];
  std::string b =
      Create({{"To", kTo}, {"From", kFrom}, {"Body", "b"}}).second["sid"];
  EXPECT_NE(a, b);
}

TEST_F(TwilioSimulatorTest, CreateWithMediaGetsMmSidAndNumMedia) {
  StartSim();
  auto [status, m] = Create({{"To", kTo},
                             {"From", kFrom},
                             {"MediaUrl", "https://media.example.com/a.png"},
                             {"MediaUrl", "https://media.example.com/b.png"}});
  ASSERT_EQ(status, 201) << m.dump();
  EXPECT_THAT(std::string(m["sid"]), MatchesRegex("^MM[0-9a-f]{32}$"));
  EXPECT_EQ(m["num_media"], "2");
  EXPECT_EQ(m["body"], "");
}

TEST_F(TwilioSimulatorTest, CreateWithMessagingServiceIsAcceptedWithoutFrom) {
  StartSim();
  const std::string ms = "MG0123456789abcdef0123456789abcdef";
  auto [status, m] =
      Create({{"To", kTo}, {"MessagingServiceSid", ms}, {"Body", "hi"}});
  ASSERT_EQ(status, 201) << m.dump();
  EXPECT_EQ(m["status"], "accepted");
  EXPECT_TRUE(m["from"].is_null());
  EXPECT_EQ(m["num_segments"], "0");
  EXPECT_EQ(m["messaging_service_sid"], ms);
}

TEST_F(TwilioSimulatorTest, NumSegmentsCountsGsmAndUcs2Bodies) {
  StartSim();
  auto repeat = [](const std::string& s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
  };
  struct Case {
    std::string body;
    std::string segments;
  };
  for (const Case& c : std::vector<Case>{{repeat("a", 160), "1"},
                                         {repeat("a", 161), "2"},
                                         {repeat("a", 306), "2"},
                                         {repeat("a", 307), "3"},
                                         {repeat("€", 80), "1"},
                                         {repeat("€", 81), "2"},
                                         {repeat("Ж", 70), "1"},
                                         {repeat("Ж", 71), "2"},
                                         {repeat("👍", 35), "1"},
                                         {repeat("👍", 36), "2"}}) {
    auto [status, m] = Create({{"To", kTo}, {"From", kFrom}, {"Body", c.body}});
    ASSERT_EQ(status, 201) << m.dump();
    EXPECT_EQ(m["num_segments"], c.segments) << c.body;
  }
}

TEST_F(TwilioSimulatorTest, NumSegmentsNeverSplitsAnEscapePair) {
  StartSim();
  // 306 septets, two parts by length, but the € (ESC + 0x65) would straddle
  // the first part's end: it moves whole, and the rest needs a third part.
  std::string body = std::string(152, 'a') + "€" + std::string(152, 'a');
  auto [status, m] = Create({{"To", kTo}, {"From", kFrom}, {"Body", body}});
  ASSERT_EQ(status, 201) << m.dump();
  EXPECT_EQ(m["num_segments"], "3");
}

TEST_F(TwilioSimulatorTest, MediaWithoutTextCountsNoSegmentsAndPricesOne) {
  StartSim();
  auto [status, m] = Create({{"To", kTo},
                             {"From", kFrom},
                             {"MediaUrl", "https://media.example.com/a.png"}});
  ASSERT_EQ(status, 201) << m.dump();
  EXPECT_EQ(m["num_segments"], "0");
  Json sent = WaitForStatus(m["sid"], "delivered");
  EXPECT_EQ(sent["num_segments"], "0");
  EXPECT_EQ(sent["price"], "-0.00790");
}

TEST_F(TwilioSimulatorTest, MalformedFormsAnswer400) {
  StartSim();
  // A '%' without two hex digits, and a byte that is not UTF-8.
  for (const std::string form :
       {"To=%2B14155550100&From=%2B15005550006&Body=100%",
        "To=%2B14155550100&From=%2B15005550006&Body=%FF"}) {
    httplib::Result r = client_->Post(MessagesPath(), form,
                                      "application/x-www-form-urlencoded");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << form;
    EXPECT_EQ(Json::parse(r->body)["code"], 20001) << r->body;
  }
  EXPECT_THAT(sim_->Outbox(), IsEmpty());
  auto [status, body] = Get(MessagesPath() + "?To=%ZZ");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body["code"], 20001);
}

TEST_F(TwilioSimulatorTest, BadCredentialsAnswer401Authenticate) {
  StartSim();
  Json expected = ErrorBody(20003, "Authenticate", 401);
  expected["detail"] = "Your AccountSid or AuthToken was incorrect.";
  struct Case {
    std::string name;
    std::function<void(httplib::Client&)> auth;
  };
  for (const Case& c : std::vector<Case>{
           {"none", [](httplib::Client&) {}},
           {"wrong token",
            [&](httplib::Client& cl) {
              cl.set_basic_auth(sim_->account_sid(), "wrong");
            }},
           {"wrong user",
            [&](httplib::Client& cl) {
              cl.set_basic_auth("AC00000000000000000000000000000000",
                                sim_->auth_token());
            }},
           {"bearer",
            [](httplib::Client& cl) { cl.set_bearer_token_auth("token"); }}}) {
    httplib::Client cl(sim_->base_url());
    c.auth(cl);
    httplib::Result r =
        cl.Post(MessagesPath(),
                EncodeForm({{"To", kTo}, {"From", kFrom}, {"Body", "x"}}),
                "application/x-www-form-urlencoded");
    ASSERT_TRUE(r) << c.name;
    EXPECT_EQ(r->status, 401) << c.name;
    EXPECT_EQ(Json::parse(r->body, nullptr, false), expected) << c.name;
    httplib::Result g = cl.Get(MessagesPath());
    ASSERT_TRUE(g);
    EXPECT_EQ(g->status, 401) << c.name;
  }
  EXPECT_THAT(sim_->Outbox(), IsEmpty());
}

TEST_F(TwilioSimulatorTest, AnotherAccountInThePathAnswers404) {
  StartSim();
  std::string path =
      "/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json";
  httplib::Result r = client_->Post(
      path, EncodeForm({{"To", kTo}, {"From", kFrom}, {"Body", "x"}}),
      "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(
      Json::parse(r->body, nullptr, false),
      ErrorBody(20404,
                absl::StrCat("The requested resource ", path, " was not found"),
                404));
}

TEST_F(TwilioSimulatorTest, JsonBodyAnswers415) {
  StartSim();
  httplib::Result r =
      client_->Post(MessagesPath(),
                    R"({"To":"+14155550100","From":"+15005550006","Body":"x"})",
                    "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415);
  Json body = Json::parse(r->body, nullptr, false);
  EXPECT_EQ(body["status"], 415);
  EXPECT_THAT(sim_->Outbox(), IsEmpty());
}

struct ValidationCase {
  std::string name;
  Params params;
  int code;
  std::string message;
};

TEST_F(TwilioSimulatorTest, CreateValidationAnswersTwilioErrors) {
  StartSim();
  std::string long_body(1601, 'a');
  std::string emoji_body;
  for (int i = 0; i < 801; ++i) emoji_body += "👍";  // 1602 UTF-16 units
  Params eleven_media = {{"To", kTo}, {"From", kFrom}};
  for (int i = 0; i < 11; ++i) {
    eleven_media.emplace_back(
        "MediaUrl", absl::StrCat("https://m.example.com/", i, ".png"));
  }
  const std::string not_capable =
      "The 'From' phone number provided is not a valid message-capable "
      "Twilio phone number for this destination";
  auto invalid_to = [](const std::string& to) {
    return absl::StrCat("The 'To' number ", to,
                        " is not a valid phone number.");
  };
  std::vector<ValidationCase> cases = {
      {"no To",
       {{"From", kFrom}, {"Body", "x"}},
       21604,
       "The destination 'To' phone number is required to send an SMS"},
      {"nothing at all",
       {},
       21604,
       "The destination 'To' phone number is required to send an SMS"},
      {"empty To",
       {{"To", ""}, {"From", kFrom}, {"Body", "x"}},
       21604,
       "The destination 'To' phone number is required to send an SMS"},
      {"no From",
       {{"To", kTo}, {"Body", "x"}},
       21603,
       "A 'From' or 'MessagingServiceSid' parameter is required to send a "
       "message"},
      {"no Body",
       {{"To", kTo}, {"From", kFrom}},
       21602,
       "Message body is required"},
      {"empty Body",
       {{"To", kTo}, {"From", kFrom}, {"Body", ""}},
       21602,
       "Message body is required"},
      {"1601 chars",
       {{"To", kTo}, {"From", kFrom}, {"Body", long_body}},
       21617,
       "The concatenated message body exceeds the 1600 character limit"},
      {"801 emoji",
       {{"To", kTo}, {"From", kFrom}, {"Body", emoji_body}},
       21617,
       "The concatenated message body exceeds the 1600 character limit"},
      {"11 media", eleven_media, 21623,
       "Number of media files exceeds allowed limit (10)"},
      {"ftp media",
       {{"To", kTo},
        {"From", kFrom},
        {"MediaUrl", "ftp://m.example.com/a.png"}},
       21620,
       "Invalid media URL(s)"},
      {"bad StatusCallback",
       {{"To", kTo},
        {"From", kFrom},
        {"Body", "x"},
        {"StatusCallback", "nope"}},
       21609,
       "Invalid StatusCallback url"},
      {"magic To 0001",
       {{"To", "+15005550001"}, {"From", kFrom}, {"Body", "x"}},
       21211,
       invalid_to("+15005550001")},
      {"magic To 0002",
       {{"To", "+15005550002"}, {"From", kFrom}, {"Body", "x"}},
       21612,
       "The 'To' phone number is not currently reachable via SMS"},
      {"magic To 0003",
       {{"To", "+15005550003"}, {"From", kFrom}, {"Body", "x"}},
       21408,
       "Permission to send an SMS has not been enabled for the region "
       "indicated by the 'To' number"},
      {"magic To 0004",
       {{"To", "+15005550004"}, {"From", kFrom}, {"Body", "x"}},
       21610,
       "Attempt to send to unsubscribed recipient"},
      {"magic To 0009",
       {{"To", "+15005550009"}, {"From", kFrom}, {"Body", "x"}},
       21614,
       "'To' number is not a valid mobile number"},
      {"To not E.164",
       {{"To", "5551234567"}, {"From", kFrom}, {"Body", "x"}},
       21211,
       invalid_to("5551234567")},
      // The domain's E.164 rule: 8 to 15 digits.
      {"To too short for E.164",
       {{"To", "+1415555"}, {"From", kFrom}, {"Body", "x"}},
       21211,
       invalid_to("+1415555")},
      {"To with a space for +",
       {{"To", " 14155550100"}, {"From", kFrom}, {"Body", "x"}},
       21211,
       invalid_to(" 14155550100")},
      {"magic From 0001",
       {{"To", kTo}, {"From", "+15005550001"}, {"Body", "x"}},
       21212,
       "Invalid From Number"},
      {"magic From 0007",
       {{"To", kTo}, {"From", "+15005550007"}, {"Body", "x"}},
       21606,
       not_capable},
      {"magic From 0008",
       {{"To", kTo}, {"From", "+15005550008"}, {"Body", "x"}},
       21611,
       "This 'From' number has exceeded the maximum number of queued messages"},
      {"From garbage",
       {{"To", kTo}, {"From", "not-a-number!"}, {"Body", "x"}},
       21212,
       "Invalid From Number"},
      {"To equals From",
       {{"To", kFrom}, {"From", kFrom}, {"Body", "x"}},
       21211,
       invalid_to(kFrom)},
      {"From not owned",
       {{"To", kTo}, {"From", "+14155550199"}, {"Body", "x"}},
       21606,
       not_capable},
      // Order: 21604 wins over 21603 and 21602; 21603 over 21602; the body
      // checks come before the magic numbers.
      {"no To and no From",
       {{"Body", "x"}},
       21604,
       "The destination 'To' phone number is required to send an SMS"},
      {"no From and no Body",
       {{"To", kTo}},
       21603,
       "A 'From' or 'MessagingServiceSid' parameter is required to send a "
       "message"},
      {"long body to magic",
       {{"To", "+15005550004"}, {"From", kFrom}, {"Body", long_body}},
       21617,
       "The concatenated message body exceeds the 1600 character limit"},
  };
  for (const ValidationCase& c : cases) {
    auto [status, body] = Create(c.params);
    EXPECT_EQ(status, 400) << c.name;
    EXPECT_EQ(body, ErrorBody(c.code, c.message))
        << c.name << ": " << body.dump();
  }
  EXPECT_THAT(sim_->Outbox(), IsEmpty());
}

TEST_F(TwilioSimulatorTest, AcceptsOwnedAlphanumericAndMagicSenders) {
  StartSim(
      [](TwilioSimulator::Options& o) { o.phone_numbers = {"+14155550111"}; });
  for (const std::string from : {"+14155550111", "+15005550006", "ACME Inc"}) {
    auto [status, m] = Create({{"To", kTo}, {"From", from}, {"Body", "x"}});
    EXPECT_EQ(status, 201) << from << ": " << m.dump();
  }
  // 1600 UTF-16 units exactly is allowed.
  std::string emoji_body;
  for (int i = 0; i < 800; ++i) emoji_body += "👍";
  EXPECT_EQ(Create({{"To", kTo}, {"From", kFrom}, {"Body", emoji_body}}).first,
            201);
  EXPECT_EQ(sim_->Outbox().size(), 4u);
}

TEST_F(TwilioSimulatorTest, OwnershipCheckCanBeTurnedOff) {
  StartSim([](TwilioSimulator::Options& o) { o.enforce_owned_from = false; });
  EXPECT_EQ(
      Create({{"To", kTo}, {"From", "+14155550199"}, {"Body", "x"}}).first,
      201);
}

// ---------------------------------------------------------------------------
// Fetch, delete, unknown paths.

TEST_F(TwilioSimulatorTest, FetchReturnsTheCreatedMessage) {
  StartSim([](TwilioSimulator::Options& o) { o.advance_status = false; });
  Json created = Create({{"To", kTo}, {"From", kFrom}, {"Body", "x"}}).second;
  auto [status, fetched] = Get(MessagePath(created["sid"]));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(fetched, created);
}

TEST_F(TwilioSimulatorTest, FetchOfUnknownSidAnswers404) {
  StartSim();
  std::string path = MessagePath("SM00000000000000000000000000000000");
  auto [status, body] = Get(path);
  EXPECT_EQ(status, 404);
  EXPECT_EQ(body, ErrorBody(20404,
                            absl::StrCat("The requested resource ", path,
                                         " was not found"),
                            404));
}

TEST_F(TwilioSimulatorTest, UnknownPathAnswers404Json) {
  StartSim();
  auto [status, body] = Get("/2010-04-01/Accounts/nope/Calls.json");
  EXPECT_EQ(status, 404);
  EXPECT_EQ(body["code"], 20404);
}

TEST_F(TwilioSimulatorTest, DeleteRemovesTheMessage) {
  StartSim();
  std::string sid =
      Create({{"To", kTo}, {"From", kFrom}, {"Body", "x"}}).second["sid"];
  httplib::Result r = client_->Delete(MessagePath(sid));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(Get(MessagePath(sid)).first, 404);
  r = client_->Delete(MessagePath(sid));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST_F(TwilioSimulatorTest, UpdateRedactsBodyAndRefusesCancel) {
  StartSim();
  std::string sid =
      Create({{"To", kTo}, {"From", kFrom}, {"Body", "secret"}}).second["sid"];
  httplib::Result r = client_->Post(
      MessagePath(sid), "Body=", "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Json::parse(r->body)["body"], "");
  r = client_->Post(MessagePath(sid), "Status=canceled",
                    "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

// ---------------------------------------------------------------------------
// List.

TEST_F(TwilioSimulatorTest, ListFiltersByToAndFromNewestFirst) {
  StartSim([](TwilioSimulator::Options& o) { o.advance_status = false; });
  std::vector<std::string> to_a;
  for (int i = 0; i < 3; ++i) {
    to_a.insert(to_a.begin(), std::string(Create({{"To", "+14155550001"},
                                                  {"From", kFrom},
                                                  {"Body", absl::StrCat(i)}})
                                              .second["sid"]));
    Create({{"To", "+14155550002"}, {"From", kFrom}, {"Body", "other"}});
  }
  Create({{"To", "+14155550001"}, {"From", "+15005550020"}, {"Body", "x"}});

  auto [status, page] =
      Get(MessagesPath() + "?To=%2B14155550001&From=%2B15005550006");
  ASSERT_EQ(status, 200) << page.dump();
  std::vector<std::string> sids;
  for (const Json& m : page["messages"]) sids.push_back(m["sid"]);
  EXPECT_EQ(sids, to_a);
  EXPECT_EQ(page["page"], 0);
  EXPECT_EQ(page["page_size"], 50);
  EXPECT_EQ(page["start"], 0);
  EXPECT_EQ(page["end"], 2);
  EXPECT_TRUE(page["next_page_uri"].is_null());
  EXPECT_TRUE(page["previous_page_uri"].is_null());
  EXPECT_EQ(page["first_page_uri"],
            MessagesPath() +
                "?To=%2B14155550001&From=%2B15005550006&PageSize=50&Page=0");
  EXPECT_EQ(page["uri"], page["first_page_uri"]);

  EXPECT_EQ(Get(MessagesPath()).second["messages"].size(), 7u);
  EXPECT_EQ(
      Get(MessagesPath() + "?To=%2B19999999999").second["messages"].size(), 0u);
}

TEST_F(TwilioSimulatorTest, ListPagesFollowNextPageUri) {
  StartSim([](TwilioSimulator::Options& o) { o.advance_status = false; });
  std::vector<std::string> expected;
  for (int i = 0; i < 5; ++i) {
    expected.insert(
        expected.begin(),
        std::string(
            Create({{"To", kTo}, {"From", kFrom}, {"Body", absl::StrCat(i)}})
                .second["sid"]));
  }
  std::vector<std::string> seen;
  std::vector<int> page_lengths;
  std::string target = MessagesPath() + "?PageSize=2";
  Json last;
  for (int guard = 0; guard < 10 && !target.empty(); ++guard) {
    auto [status, page] = Get(target);
    ASSERT_EQ(status, 200) << page.dump();
    EXPECT_EQ(page["page"], guard);
    EXPECT_EQ(page["page_size"], 2);
    page_lengths.push_back(page["messages"].size());
    for (const Json& m : page["messages"]) seen.push_back(m["sid"]);
    if (guard > 0) {
      EXPECT_THAT(std::string(page["previous_page_uri"]),
                  HasSubstr("PageToken=PB"));
    }
    target = page["next_page_uri"].is_null()
                 ? ""
                 : std::string(page["next_page_uri"]);
    last = page;
  }
  EXPECT_EQ(seen, expected);
  EXPECT_THAT(page_lengths, ElementsAre(2, 2, 1));
  EXPECT_EQ(last["start"], 4);
  EXPECT_EQ(last["end"], 4);

  // previous_page_uri of the last page leads back to the middle page.
  auto [status, prev] = Get(last["previous_page_uri"]);
  ASSERT_EQ(status, 200);
  ASSERT_EQ(prev["messages"].size(), 2u);
  EXPECT_EQ(prev["messages"][0]["sid"], expected[2]);
}

TEST_F(TwilioSimulatorTest, ListRejectsBadParameters) {
  StartSim();
  for (const std::string query :
       {"PageSize=0", "PageSize=1001", "PageSize=abc", "Page=-1",
        "PageToken=PAnope", "DateSent%3E=yesterday", "DateSent=2024-13-45"}) {
    auto [status, body] = Get(MessagesPath() + "?" + query);
    EXPECT_EQ(status, 400) << query;
    EXPECT_EQ(body["code"], 20001) << query;
  }
  EXPECT_EQ(Get(MessagesPath() + "?PageSize=1000").first, 200);
}

TEST_F(TwilioSimulatorTest, ListFiltersByDateSent) {
  StartSim();
  std::string sent =
      Create({{"To", kTo}, {"From", kFrom}, {"Body", "sent"}}).second["sid"];
  ASSERT_EQ(WaitForStatus(sent, "delivered")["status"], "delivered");
  absl::Time now = absl::Now();
  std::string today = absl::FormatTime("%Y-%m-%d", now, absl::UTCTimeZone());
  std::string yesterday =
      absl::FormatTime("%Y-%m-%d", now - absl::Hours(24), absl::UTCTimeZone());
  std::string tomorrow =
      absl::FormatTime("%Y-%m-%d", now + absl::Hours(24), absl::UTCTimeZone());
  auto iso = [](absl::Time t) {
    return Encode(
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()));
  };
  struct Case {
    std::string query;
    size_t count;
  };
  for (const Case& c : std::vector<Case>{
           {"DateSent=" + today, 1},
           {"DateSent=" + yesterday, 0},
           {"DateSent%3E=" + today, 1},
           {"DateSent%3E=" + tomorrow, 0},
           {"DateSent%3C=" + today, 1},
           {"DateSent%3C=" + yesterday, 0},
           {"DateSent%3E=" + iso(now - absl::Minutes(5)), 1},
           {"DateSent%3E=" + iso(now + absl::Minutes(5)), 0},
           {"DateSent%3C=" + iso(now + absl::Minutes(5)), 1},
           {"DateSent%3C=" + iso(now - absl::Minutes(5)), 0},
       }) {
    auto [status, page] = Get(MessagesPath() + "?" + c.query);
    ASSERT_EQ(status, 200) << c.query << page.dump();
    EXPECT_EQ(page["messages"].size(), c.count) << c.query;
  }
}

TEST_F(TwilioSimulatorTest, ListDateFilterSkipsUnsentMessages) {
  StartSim([](TwilioSimulator::Options& o) { o.advance_status = false; });
  Create({{"To", kTo}, {"From", kFrom}, {"Body", "queued forever"}});
  std::string today =
      absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  EXPECT_EQ(Get(MessagesPath()).second["messages"].size(), 1u);
  EXPECT_EQ(
      Get(MessagesPath() + "?DateSent%3E=" + today).second["messages"].size(),
      0u);
}

// ---------------------------------------------------------------------------
// Status progression and callbacks.

TEST_F(TwilioSimulatorTest, StatusCallbacksArriveInOrderAndSigned) {
  WebhookReceiver receiver;
  StartSim();
  std::string callback = receiver.url("/twilio/sms/status?tenant=acme&msg=42");
  Json created = Create({{"To", kTo},
                         {"From", kFrom},
                         {"Body", "hi"},
                         {"StatusCallback", callback}})
                     .second;
  std::string sid = created["sid"];
  std::vector<Received> got = receiver.WaitFor(3);
  ASSERT_EQ(got.size(), 3u);
  std::vector<std::string> statuses;
  for (const Received& r : got) {
    statuses.push_back(Value(r.params, "MessageStatus"));
    EXPECT_EQ(r.target, "/twilio/sms/status?tenant=acme&msg=42");
    EXPECT_THAT(r.content_type, HasSubstr("application/x-www-form-urlencoded"));
    EXPECT_EQ(r.signature, TestSign(callback, r.params));
    EXPECT_EQ(Value(r.params, "MessageSid"), sid);
    EXPECT_EQ(Value(r.params, "SmsSid"), sid);
    EXPECT_EQ(Value(r.params, "SmsStatus"), Value(r.params, "MessageStatus"));
    EXPECT_EQ(Value(r.params, "AccountSid"), sim_->account_sid());
    EXPECT_EQ(Value(r.params, "From"), kFrom);
    EXPECT_EQ(Value(r.params, "To"), kTo);
    EXPECT_EQ(Value(r.params, "ApiVersion"), "2010-04-01");
    EXPECT_EQ(Value(r.params, "ErrorCode"), "<absent>");
    EXPECT_EQ(Value(r.params, "MessagingServiceSid"), "<absent>");
  }
  // No callback for the initial `queued` (twilio-reference.md §2).
  EXPECT_THAT(statuses, ElementsAre("sending", "sent", "delivered"));
  EXPECT_EQ(Value(got[0].params, "RawDlrDoneDate"), "<absent>");
  EXPECT_EQ(Value(got[1].params, "RawDlrDoneDate"), "<absent>");
  EXPECT_THAT(Value(got[2].params, "RawDlrDoneDate"),
              MatchesRegex("^[0-9]{10}$"));

  Json m = WaitForStatus(sid, "delivered");
  EXPECT_EQ(m["status"], "delivered");
  EXPECT_EQ(m["price"], "-0.00790");
  EXPECT_EQ(m["price_unit"], "USD");
  ASSERT_TRUE(m["date_sent"].is_string());
  EXPECT_GE(ParseRfc2822(m["date_sent"]), ParseRfc2822(m["date_created"]));
  EXPECT_TRUE(m["error_code"].is_null());
  ASSERT_EQ(sim_->Outbox().size(), 1u);
  EXPECT_EQ(sim_->Outbox()[0].status, "delivered");
  ASSERT_TRUE(sim_->Outbox()[0].date_sent.has_value());
}

TEST_F(TwilioSimulatorTest, SignatureIsOmittedWithoutSigner) {
  WebhookReceiver receiver;
  StartSim([](TwilioSimulator::Options& o) { o.signer = nullptr; });
  Create({{"To", kTo},
          {"From", kFrom},
          {"Body", "hi"},
          {"StatusCallback", receiver.url("/s")}});
  std::vector<Received> got = receiver.WaitFor(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].signature, "");
}

TEST_F(TwilioSimulatorTest, SignedUrlExcludesTheFragment) {
  WebhookReceiver receiver;
  StartSim();
  std::string url = receiver.url("/s?x=1");
  Create({{"To", kTo},
          {"From", kFrom},
          {"Body", "hi"},
          {"StatusCallback", url + "#rc=2"}});
  std::vector<Received> got = receiver.WaitFor(1);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0].target, "/s?x=1");
  EXPECT_EQ(got[0].signature, TestSign(url, got[0].params));
}

TEST_F(TwilioSimulatorTest, NoCallbacksWhenDisabledButStatusStillAdvances) {
  WebhookReceiver receiver;
  StartSim(
      [](TwilioSimulator::Options& o) { o.send_status_callbacks = false; });
  std::string sid = Create({{"To", kTo},
                            {"From", kFrom},
                            {"Body", "hi"},
                            {"StatusCallback", receiver.url("/s")}})
                        .second["sid"];
  EXPECT_EQ(WaitForStatus(sid, "delivered")["status"], "delivered");
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_THAT(receiver.WaitFor(1, absl::ZeroDuration()), IsEmpty());
}

TEST_F(TwilioSimulatorTest, ShuffleAndRepeatDeliverTheExpectedMultiset) {
  WebhookReceiver receiver;
  StartSim([](TwilioSimulator::Options& o) {
    o.shuffle_callbacks = true;
    o.repeat_callbacks = 3;
    o.callback_delay = absl::Milliseconds(5);
  });
  std::string url = receiver.url("/s");
  std::vector<std::string> sids;
  for (int i = 0; i < 4; ++i) {
    sids.push_back(Create({{"To", kTo},
                           {"From", kFrom},
                           {"Body", "hi"},
                           {"StatusCallback", url}})
                       .second["sid"]);
  }
  std::vector<Received> got = receiver.WaitFor(36);
  ASSERT_EQ(got.size(), 36u);
  std::map<std::string, std::vector<std::string>> per_sid;
  for (const Received& r : got) {
    EXPECT_EQ(r.signature, TestSign(url, r.params));
    per_sid[Value(r.params, "MessageSid")].push_back(
        Value(r.params, "MessageStatus"));
  }
  bool any_out_of_order = false;
  std::vector<std::string> in_order = {"sending",   "sending",   "sending",
                                       "sent",      "sent",      "sent",
                                       "delivered", "delivered", "delivered"};
  for (const std::string& sid : sids) {
    EXPECT_THAT(per_sid[sid], UnorderedElementsAreArray(in_order)) << sid;
    any_out_of_order |= per_sid[sid] != in_order;
  }
  // 4 random permutations of 9 items all sorted: probability ~ 1e-11.
  EXPECT_TRUE(any_out_of_order);
  // The stored status still ends at the terminal step.
  for (const std::string& sid : sids) {
    EXPECT_EQ(WaitForStatus(sid, "delivered")["status"], "delivered");
  }
}

TEST_F(TwilioSimulatorTest, UndeliverableNumberEndsUndeliveredWith30003) {
  WebhookReceiver receiver;
  StartSim();
  std::string sid = Create({{"To", "+15005550010"},
                            {"From", kFrom},
                            {"Body", "hi"},
                            {"StatusCallback", receiver.url("/s")}})
                        .second["sid"];
  std::vector<Received> got = receiver.WaitFor(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(Value(got[2].params, "MessageStatus"), "undelivered");
  EXPECT_EQ(Value(got[2].params, "ErrorCode"), "30003");
  EXPECT_THAT(Value(got[2].params, "RawDlrDoneDate"),
              MatchesRegex("^[0-9]{10}$"));
  EXPECT_EQ(Value(got[1].params, "ErrorCode"), "<absent>");
  Json m = WaitForStatus(sid, "undelivered");
  EXPECT_EQ(m["status"], "undelivered");
  EXPECT_EQ(m["error_code"], 30003);
  EXPECT_EQ(m["error_message"], "Unreachable destination handset");
}

TEST_F(TwilioSimulatorTest,
       MessagingServiceProgressesFromAcceptedThroughQueued) {
  WebhookReceiver receiver;
  StartSim(
      [](TwilioSimulator::Options& o) { o.phone_numbers = {"+14155550111"}; });
  const std::string ms = "MG0123456789abcdef0123456789abcdef";
  std::string sid = Create({{"To", kTo},
                            {"MessagingServiceSid", ms},
                            {"Body", "hi"},
                            {"StatusCallback", receiver.url("/s")}})
                        .second["sid"];
  std::vector<Received> got = receiver.WaitFor(4);
  ASSERT_EQ(got.size(), 4u);
  std::vector<std::string> statuses;
  for (const Received& r : got) {
    statuses.push_back(Value(r.params, "MessageStatus"));
    EXPECT_EQ(Value(r.params, "MessagingServiceSid"), ms);
    EXPECT_EQ(Value(r.params, "From"), "+14155550111");
  }
  EXPECT_THAT(statuses, ElementsAre("queued", "sending", "sent", "delivered"));
  Json m = WaitForStatus(sid, "delivered");
  EXPECT_EQ(m["from"], "+14155550111");
  EXPECT_EQ(m["num_segments"], "1");
}

TEST_F(TwilioSimulatorTest, FailedCallbackIsRetriedOnce) {
  WebhookReceiver receiver(/*status=*/500);
  StartSim();
  Create({{"To", kTo},
          {"From", kFrom},
          {"Body", "hi"},
          {"StatusCallback", receiver.url("/s")}});
  std::vector<Received> got = receiver.WaitFor(6);
  absl::SleepFor(absl::Milliseconds(200));
  got = receiver.WaitFor(100, absl::ZeroDuration());
  std::vector<std::string> statuses;
  for (const Received& r : got)
    statuses.push_back(Value(r.params, "MessageStatus"));
  EXPECT_THAT(statuses,
              UnorderedElementsAreArray({"sending", "sending", "sent", "sent",
                                         "delivered", "delivered"}));
}

TEST_F(TwilioSimulatorTest, StopWithPendingCallbacksIsPromptAndSendsNothing) {
  WebhookReceiver receiver;
  StartSim(
      [](TwilioSimulator::Options& o) { o.callback_delay = absl::Seconds(5); });
  Create({{"To", kTo},
          {"From", kFrom},
          {"Body", "hi"},
          {"StatusCallback", receiver.url("/s")}});
  absl::Time start = absl::Now();
  sim_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_THAT(receiver.WaitFor(1, absl::Milliseconds(100)), IsEmpty());
  // The API is gone too.
  httplib::Client cl(sim_->base_url());
  cl.set_connection_timeout(std::chrono::milliseconds(500));
  EXPECT_FALSE(cl.Get(MessagesPath()));
  sim_->Stop();  // idempotent
}

TEST_F(TwilioSimulatorTest, StopAbortsAnInFlightCallback) {
  WebhookReceiver receiver(/*status=*/200, /*delay=*/absl::Seconds(2));
  StartSim([](TwilioSimulator::Options& o) {
    o.callback_delay = absl::Milliseconds(1);
  });
  Create({{"To", kTo},
          {"From", kFrom},
          {"Body", "hi"},
          {"StatusCallback", receiver.url("/s")}});
  ASSERT_EQ(receiver.WaitFor(1).size(), 1u);  // now blocked in the receiver
  absl::Time start = absl::Now();
  sim_->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST_F(TwilioSimulatorTest,
       CallbacksOfEachMessageStayInOrderWhileOthersAreInFlight) {
  // The receiver holds the first kInFlight callbacks until that many are in
  // it at once, so the other messages' steps pile up behind them in the
  // posters' queues meanwhile.
  constexpr int kMessages = 32;
  constexpr int kInFlight = 4;
  WebhookReceiver receiver(/*status=*/200, absl::ZeroDuration(), kInFlight);
  StartSim([](TwilioSimulator::Options& o) {
    o.callback_delay = absl::Milliseconds(2);
  });
  std::vector<std::string> sids;
  for (int i = 0; i < kMessages; ++i) {
    auto [status, m] = Create({{"To", kTo},
                               {"From", kFrom},
                               {"Body", absl::StrCat("hi ", i)},
                               {"StatusCallback", receiver.url("/s")}});
    ASSERT_EQ(status, 201) << m.dump();
    sids.push_back(m["sid"]);
  }
  std::vector<Received> got =
      receiver.WaitFor(3 * kMessages, absl::Seconds(30));
  ASSERT_EQ(got.size(), 3u * kMessages);
  std::map<std::string, std::vector<std::string>> per_sid;
  for (const Received& r : got) {
    per_sid[Value(r.params, "MessageSid")].push_back(
        Value(r.params, "MessageStatus"));
  }
  for (const std::string& sid : sids) {
    EXPECT_THAT(per_sid[sid], ElementsAre("sending", "sent", "delivered"))
        << sid;
  }
  // 32 random SIDs over the default 16 posters fall on fewer than 4 of them
  // with probability ~1e-20.
  EXPECT_GE(receiver.max_inside(), kInFlight);
}

// ---------------------------------------------------------------------------
// Connections.

TEST_F(TwilioSimulatorTest, AnswersEveryOneOfManyKeptAliveConnections) {
  // More connections than httplib's default pool serves (8) and than the
  // REST client opens by default (64), all held open at once: each sends
  // its first create, waits until every other connection got its first
  // answer, then sends the rest on the same connection.
  constexpr int kConnections = 100;
  constexpr int kCreatesEach = 3;
  StartSim();
  absl::Mutex mu;
  int first_answers = 0;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (int c = 0; c < kConnections; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client(sim_->base_url());
      client.set_basic_auth(sim_->account_sid(), sim_->auth_token());
      client.set_keep_alive(true);
      // A bound on a broken simulator, not a latency target.
      client.set_read_timeout(std::chrono::seconds(30));
      for (int k = 0; k < kCreatesEach; ++k) {
        httplib::Result r = client.Post(
            MessagesPath(),
            EncodeForm({{"To", kTo},
                        {"From", kFrom},
                        {"Body", absl::StrCat("connection ", c, " #", k)}}),
            "application/x-www-form-urlencoded");
        absl::MutexLock lock(&mu);
        if (!r) {
          failures.push_back(absl::StrCat("connection ", c, " create ", k,
                                          ": ", httplib::to_string(r.error())));
        } else if (r->status != 201) {
          failures.push_back(absl::StrCat("connection ", c, " create ", k,
                                          ": HTTP ", r->status));
        }
        if (k == 0) {
          ++first_answers;
          auto all_answered = [&first_answers]() {
            return first_answers == kConnections;
          };
          mu.Await(absl::Condition(&all_answered));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_THAT(failures, IsEmpty());
  EXPECT_EQ(sim_->Outbox().size(),
            static_cast<size_t>(kConnections * kCreatesEach));
}

// ---------------------------------------------------------------------------
// Inbound.

TEST_F(TwilioSimulatorTest, InjectInboundPostsSignedTwilioParams) {
  WebhookReceiver receiver;
  std::string url = receiver.url("/twilio/sms/inbound");
  StartSim([&](TwilioSimulator::Options& o) { o.inbound_webhook_url = url; });
  const std::string body = "Hello, World! ñ 👍 a+b&c=d";
  absl::StatusOr<TwilioSimulator::InboundResult> result =
      sim_->InjectInbound(kTo, kFrom, body);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->http_status, 200);
  EXPECT_EQ(result->content_type, "text/xml");
  EXPECT_EQ(result->body, kReceiverTwiml);
  const ProviderMessage& m = result->message;
  EXPECT_THAT(m.sid, MatchesRegex("^SM[0-9a-f]{32}$"));
  EXPECT_EQ(m.status, "received");
  EXPECT_EQ(m.direction, "inbound");

  std::vector<Received> got = receiver.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  const Params& p = got[0].params;
  EXPECT_EQ(got[0].signature, TestSign(url, p));
  std::vector<std::string> names = Names(p);
  std::sort(names.begin(), names.end());
  EXPECT_THAT(
      names, ElementsAre("AccountSid", "ApiVersion", "Body", "From", "FromCity",
                         "FromCountry", "FromState", "FromZip", "MessageSid",
                         "NumMedia", "NumSegments", "SmsMessageSid", "SmsSid",
                         "SmsStatus", "To", "ToCity", "ToCountry", "ToState",
                         "ToZip"));
  EXPECT_EQ(Value(p, "MessageSid"), m.sid);
  EXPECT_EQ(Value(p, "SmsSid"), m.sid);
  EXPECT_EQ(Value(p, "SmsMessageSid"), m.sid);
  EXPECT_EQ(Value(p, "AccountSid"), sim_->account_sid());
  EXPECT_EQ(Value(p, "From"), kTo);
  EXPECT_EQ(Value(p, "To"), kFrom);
  EXPECT_EQ(Value(p, "Body"), body);
  EXPECT_EQ(Value(p, "NumMedia"), "0");
  EXPECT_EQ(Value(p, "NumSegments"), "1");
  EXPECT_EQ(Value(p, "SmsStatus"), "received");
  EXPECT_EQ(Value(p, "ApiVersion"), "2010-04-01");
  EXPECT_EQ(Value(p, "FromCountry"), "US");

  ASSERT_EQ(sim_->Inbox().size(), 1u);
  EXPECT_EQ(sim_->Inbox()[0].sid, m.sid);
  EXPECT_THAT(sim_->Outbox(), IsEmpty());
  auto [status, fetched] = Get(MessagePath(m.sid));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(fetched["direction"], "inbound");
  EXPECT_EQ(fetched["body"], body);
}

TEST_F(TwilioSimulatorTest, InjectInboundWithMediaSendsMediaParams) {
  WebhookReceiver receiver;
  std::string url = receiver.url("/in?k=v");
  StartSim([&](TwilioSimulator::Options& o) { o.inbound_webhook_url = url; });
  absl::StatusOr<TwilioSimulator::InboundResult> result = sim_->InjectInbound(
      kTo, kFrom, "pics",
      {"https://media.example.com/a.png", "https://media.example.com/b.JPG"});
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->message.sid, MatchesRegex("^MM[0-9a-f]{32}$"));
  std::vector<Received> got = receiver.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  const Params& p = got[0].params;
  EXPECT_EQ(got[0].signature, TestSign(url, p));
  EXPECT_EQ(Value(p, "NumMedia"), "2");
  EXPECT_EQ(Value(p, "MediaUrl0"), "https://media.example.com/a.png");
  EXPECT_EQ(Value(p, "MediaContentType0"), "image/png");
  EXPECT_EQ(Value(p, "MediaUrl1"), "https://media.example.com/b.JPG");
  EXPECT_EQ(Value(p, "MediaContentType1"), "image/jpeg");
  EXPECT_EQ(Value(p, "MediaUrl2"), "<absent>");
}

TEST_F(TwilioSimulatorTest, InjectInboundRefusesABodyThatIsNotUtf8) {
  WebhookReceiver receiver;
  std::string url = receiver.url("/in");
  StartSim([&](TwilioSimulator::Options& o) { o.inbound_webhook_url = url; });
  EXPECT_THAT(sim_->InjectInbound(kTo, kFrom, "bad \xff byte"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(sim_->Inbox(), IsEmpty());
  EXPECT_THAT(receiver.WaitFor(1, absl::ZeroDuration()), IsEmpty());
}

TEST_F(TwilioSimulatorTest, InjectInboundReportsWebhookFailures) {
  WebhookReceiver refusing(/*status=*/403);
  StartSim([&](TwilioSimulator::Options& o) {
    o.inbound_webhook_url = refusing.url("/in");
  });
  EXPECT_THAT(sim_->InjectInbound(kTo, kFrom, "x"),
              StatusIs(absl::StatusCode::kUnknown, HasSubstr("403")));
  // The message is stored anyway, as Twilio does.
  EXPECT_EQ(sim_->Inbox().size(), 1u);
}

TEST_F(TwilioSimulatorTest, InjectInboundNeedsAReachableConfiguredUrl) {
  StartSim();
  EXPECT_THAT(sim_->InjectInbound(kTo, kFrom, "x"),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  int dead_port;
  {
    WebhookReceiver gone;
    dead_port = std::stoi(gone.url("").substr(strlen("http://127.0.0.1:")));
  }
  TwilioSimulator::Options options;
  options.inbound_webhook_url =
      absl::StrCat("http://127.0.0.1:", dead_port, "/in");
  TwilioSimulator unreachable(options);
  ASSERT_THAT(unreachable.Start(), IsOk());
  EXPECT_THAT(unreachable.InjectInbound(kTo, kFrom, "x"),
              StatusIs(absl::StatusCode::kUnavailable));

  options.inbound_webhook_url = "ftp://example.com/in";
  TwilioSimulator bad_url(options);
  ASSERT_THAT(bad_url.Start(), IsOk());
  EXPECT_THAT(bad_url.InjectInbound(kTo, kFrom, "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---------------------------------------------------------------------------
// Lifecycle.

TEST_F(TwilioSimulatorTest, StartReportsAnEphemeralPort) {
  StartSim();
  EXPECT_GT(sim_->port(), 0);
  EXPECT_EQ(sim_->base_url(), absl::StrCat("http://127.0.0.1:", sim_->port()));
  EXPECT_THAT(sim_->Start(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(TwilioSimulatorTest, StartFailsOnABusyPortOrBadOptions) {
  StartSim();
  TwilioSimulator::Options busy;
  busy.port = sim_->port();
  EXPECT_THAT(TwilioSimulator(busy).Start(),
              StatusIs(absl::StatusCode::kUnavailable));

  struct Case {
    std::string name;
    std::function<void(TwilioSimulator::Options&)> tweak;
  };
  for (const Case& c : std::vector<Case>{
           {"port", [](auto& o) { o.port = 70000; }},
           {"sid", [](auto& o) { o.account_sid = "AC123"; }},
           {"sid prefix",
            [](auto& o) {
              o.account_sid = "XX5ea7c0de5ea7c0de5ea7c0de5ea7c0de";
            }},
           {"token", [](auto& o) { o.auth_token = ""; }},
           {"repeat", [](auto& o) { o.repeat_callbacks = 0; }},
           {"connections", [](auto& o) { o.max_connections = 0; }},
           {"posters", [](auto& o) { o.callback_posters = 0; }}}) {
    TwilioSimulator::Options options;
    c.tweak(options);
    EXPECT_THAT(TwilioSimulator(options).Start(),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << c.name;
  }
}

TEST_F(TwilioSimulatorTest, OutboxListsNewestFirst) {
  StartSim([](TwilioSimulator::Options& o) { o.advance_status = false; });
  Create({{"To", kTo}, {"From", kFrom}, {"Body", "first"}});
  Create({{"To", kTo}, {"From", kFrom}, {"Body", "second"}});
  std::vector<ProviderMessage> outbox = sim_->Outbox();
  ASSERT_EQ(outbox.size(), 2u);
  EXPECT_EQ(outbox[0].body, "second");
  EXPECT_EQ(outbox[1].body, "first");
  EXPECT_EQ(outbox[0].status, "queued");
  EXPECT_EQ(outbox[0].num_segments, 1);
}

}  // namespace
}  // namespace smsgw::twilio

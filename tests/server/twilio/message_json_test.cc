#include "server/twilio/message_json.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"

namespace smsgw::twilio {
namespace {


constexpr char kAccountSid[] = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

// Twilio's own example (OpenAPI spec, `create`), with a price added.
constexpr char kCreatedJson[] = R"json({
  "account_sid": "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "api_version": "2010-04-01",
  "body": "Hello! \ud83d\udc4d",
  "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
  "date_sent": "Thu, 24 Aug 2023 05:01:46 +0000",
  "date_updated": "Thu, 24 Aug 2023 05:01:47 +0000",
  "direction": "outbound-api",
  "error_code": null,
  "error_message": null,
  "from": "+14155552345",
  "messaging_service_sid": "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "num_media": "0",
  "num_segments": "1",
  "price": "-0.00750",
  "price_unit": "USD",
  "sid": "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  "status": "queued",
  "subresource_uris": {"media": "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages/SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Media.json"},
  "to": "+14155552346",
  "uri": "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages/SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json"
})json";

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

TEST(Rfc2822Test, FormatsTwilioShape) {
  EXPECT_EQ(FormatRfc2822(Utc(2023, 8, 24, 5, 1, 45)),
            "Thu, 24 Aug 2023 05:01:45 +0000");
  EXPECT_EQ(FormatRfc2822(Utc(2008, 1, 2, 23, 59, 9) + absl::Milliseconds(999)),
            "Wed, 02 Jan 2008 23:59:09 +0000");
}

TEST(Rfc2822Test, ParsesValidDates) {
  struct Case {
    const char* text;
    absl::Time want;
  };
  const Case cases[] = {
      {"Thu, 24 Aug 2023 05:01:45 +0000", Utc(2023, 8, 24, 5, 1, 45)},
      {"24 Aug 2023 05:01:45 +0000", Utc(2023, 8, 24, 5, 1, 45)},
      {"Thu, 24 Aug 2023 07:01:45 +0200", Utc(2023, 8, 24, 5, 1, 45)},
      {"Wed, 23 Aug 2023 22:01:45 -0700", Utc(2023, 8, 24, 5, 1, 45)},
      {"Thu, 24 Aug 2023 05:01:45 GMT", Utc(2023, 8, 24, 5, 1, 45)},
      {"Thu, 24 Aug 2023 05:01 +0000", Utc(2023, 8, 24, 5, 1, 0)},
      {"  Thu, 24 Aug 2023 05:01:45 +0000  ", Utc(2023, 8, 24, 5, 1, 45)},
      {"Thu, 29 Feb 2024 00:00:00 +0000", Utc(2024, 2, 29, 0, 0, 0)},
  };
  for (const Case& c : cases) {
    absl::StatusOr<absl::Time> got = ParseRfc2822(c.text);
    ASSERT_THAT(got, IsOk()) << c.text;
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(Rfc2822Test, RejectsMalformedDates) {
  const char* cases[] = {
      "",
      "yesterday",
      "2023-08-24T05:01:45Z",
      "Thu, 24 Aug 2023 05:01:45",        // no zone
      "Thu, 24 Aug 2023 05:01:45 +00",    // short zone
      "Thu, 24 Aug 2023 05:01:45 PST",    // named zone
      "Thu, 32 Aug 2023 05:01:45 +0000",  // day out of range
      "Fri, 30 Feb 2024 05:01:45 +0000",  // no such date
      "Thu, 24 Foo 2023 05:01:45 +0000",  // month
      "Thu, 24 Aug 2023 25:01:45 +0000",  // hour
      "Fri, 24 Aug 2023 05:01:45 +0000",  // wrong day of week
      "Thu, 24 Aug 2023 05:01:45 +0000 trailing",
  };
  for (const char* text : cases) {
    EXPECT_THAT(ParseRfc2822(text),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << text;
  }
}

TEST(Rfc2822Test, RoundTrips) {
  const absl::Time t = Utc(1999, 12, 31, 23, 59, 59);
  absl::StatusOr<absl::Time> back = ParseRfc2822(FormatRfc2822(t));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(*back, t);
}

TEST(ParseMessageJsonTest, ParsesTwilioCreateResponse) {
  absl::StatusOr<ProviderMessage> m = ParseMessageJson(kCreatedJson);
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->sid, "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  EXPECT_EQ(m->status, "queued");
  EXPECT_EQ(m->direction, "outbound-api");
  EXPECT_EQ(m->from, "+14155552345");
  EXPECT_EQ(m->to, "+14155552346");
  EXPECT_EQ(m->body, "Hello! \xF0\x9F\x91\x8D");
  EXPECT_EQ(m->messaging_service_sid, "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  EXPECT_EQ(m->num_segments, 1);
  EXPECT_EQ(m->num_media, 0);
  EXPECT_EQ(m->price, "-0.00750");
  EXPECT_EQ(m->price_unit, "USD");
  EXPECT_EQ(m->error_code, std::nullopt);
  EXPECT_EQ(m->error_message, "");
  EXPECT_EQ(m->date_created, Utc(2023, 8, 24, 5, 1, 45));
  EXPECT_EQ(m->date_sent, Utc(2023, 8, 24, 5, 1, 46));
  EXPECT_EQ(m->date_updated, Utc(2023, 8, 24, 5, 1, 47));
}

TEST(ParseMessageJsonTest, TreatsNullAndAbsentFieldsAsUnset) {
  absl::StatusOr<ProviderMessage> m = ParseMessageJson(R"({
      "sid": "SM1", "status": "accepted", "from": null, "num_segments": "0",
      "date_sent": null, "price": null, "error_code": null, "body": null})");
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->from, "");
  EXPECT_EQ(m->body, "");
  EXPECT_EQ(m->num_segments, 0);
  EXPECT_EQ(m->num_media, 0);
  EXPECT_EQ(m->date_sent, std::nullopt);
  EXPECT_EQ(m->date_created, absl::InfinitePast());
  EXPECT_EQ(m->price, std::nullopt);
  EXPECT_EQ(m->error_code, std::nullopt);
}

TEST(ParseMessageJsonTest, ReadsFailureFields) {
  absl::StatusOr<ProviderMessage> m = ParseMessageJson(R"({
      "sid": "SM1", "status": "undelivered", "error_code": 30003,
      "error_message": "Unreachable destination handset", "num_media": 2,
      "num_segments": 3})");
  ASSERT_THAT(m, IsOk());
  EXPECT_EQ(m->error_code, 30003);
  EXPECT_EQ(m->error_message, "Unreachable destination handset");
  EXPECT_EQ(m->num_media, 2);
  EXPECT_EQ(m->num_segments, 3);
}

TEST(ParseMessageJsonTest, RejectsMalformedInput) {
  struct Case {
    const char* json;
    const char* mentions;
  };
  const Case cases[] = {
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {"{\"sid\": \"SM1\", \"status\": \"queued\",}", "not valid JSON"},
      {"<Response/>", "not valid JSON"},
      {"[]", "object"},
      {"\"SM1\"", "object"},
      {"null", "object"},
      {R"({"status": "queued"})", "sid"},
      {R"({"sid": "", "status": "queued"})", "sid"},
      {R"({"sid": 7, "status": "queued"})", "sid"},
      {R"({"sid": "SM1"})", "status"},
      {R"({"sid": "SM1", "status": null})", "status"},
      {R"({"sid": "SM1", "status": "queued", "to": 14155550100})", "to"},
      {R"({"sid": "SM1", "status": "queued", "body": ["a"]})", "body"},
      {R"({"sid": "SM1", "status": "queued", "num_segments": "two"})",
       "num_segments"},
      {R"({"sid": "SM1", "status": "queued", "num_segments": "-1"})",
       "num_segments"},
      {R"({"sid": "SM1", "status": "queued", "num_segments": 1.5})",
       "num_segments"},
      {R"({"sid": "SM1", "status": "queued", "num_media": {}})", "num_media"},
      {R"({"sid": "SM1", "status": "queued", "num_media": 99999999999})",
       "num_media"},
      {R"({"sid": "SM1", "status": "queued", "price": "cheap"})", "price"},
      {R"({"sid": "SM1", "status": "queued", "price": true})", "price"},
      {R"({"sid": "SM1", "status": "queued", "error_code": "x1"})",
       "error_code"},
      {R"({"sid": "SM1", "status": "queued", "error_code": 1.5})",
       "error_code"},
      {R"({"sid": "SM1", "status": "queued", "date_created": "today"})",
       "date_created"},
      {R"({"sid": "SM1", "status": "queued", "date_sent": 1692853305})",
       "date_sent"},
      {R"({"sid": "SM1", "status": "queued",
           "date_updated": "2023-08-24T05:01:45Z"})",
       "date_updated"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ParseMessageJson(c.json),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         ::testing::HasSubstr(c.mentions)))
        << c.json;
  }
}

TEST(MessageToJsonTest, ProducesTwilioShape) {
  absl::StatusOr<ProviderMessage> m = ParseMessageJson(kCreatedJson);
  ASSERT_THAT(m, IsOk());
  const std::string json = MessageToJson(*m, kAccountSid);
  // Same document as Twilio's, key for key and value for value.
  EXPECT_EQ(nlohmann::json::parse(json), nlohmann::json::parse(kCreatedJson));
}

TEST(MessageToJsonTest, WritesUnsetFieldsAsNullAndCountsAsStrings) {
  ProviderMessage m;
  m.sid = "SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  m.status = "failed";
  m.to = "+14155550100";
  m.error_code = 30003;
  m.num_media = 2;
  const nlohmann::json j = nlohmann::json::parse(MessageToJson(m, kAccountSid));
  EXPECT_TRUE(j["from"].is_null());
  EXPECT_TRUE(j["price"].is_null());
  EXPECT_TRUE(j["num_segments"].is_null());
  EXPECT_TRUE(j["date_sent"].is_null());
  EXPECT_TRUE(j["date_created"].is_null());
  EXPECT_TRUE(j["messaging_service_sid"].is_null());
  EXPECT_EQ(j["num_media"], "2");
  EXPECT_EQ(j["error_code"], 30003);
  EXPECT_EQ(j["api_version"], "2010-04-01");
  EXPECT_EQ(j["uri"],
            "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages/"
            "SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.json");
  EXPECT_EQ(j.size(), 20u);
}

TEST(MessageToJsonTest, RoundTripsThroughParse) {
  ProviderMessage m;
  m.sid = "MMcccccccccccccccccccccccccccccccc";
  m.status = "delivered";
  m.direction = "outbound-api";
  m.from = "+14155550101";
  m.to = "+14155550100";
  m.body = "quote \" backslash \\ newline \n unicode \xC3\xA7";
  m.messaging_service_sid = "MGcccccccccccccccccccccccccccccccc";
  m.num_segments = 2;
  m.num_media = 1;
  m.price = "-0.02000";
  m.price_unit = "USD";
  m.error_code = 30007;
  m.error_message = "filtered";
  m.date_created = Utc(2024, 1, 2, 3, 4, 5);
  m.date_sent = Utc(2024, 1, 2, 3, 4, 6);
  m.date_updated = Utc(2024, 1, 2, 3, 4, 7);
  absl::StatusOr<ProviderMessage> back =
      ParseMessageJson(MessageToJson(m, kAccountSid));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->sid, m.sid);
  EXPECT_EQ(back->status, m.status);
  EXPECT_EQ(back->direction, m.direction);
  EXPECT_EQ(back->from, m.from);
  EXPECT_EQ(back->to, m.to);
  EXPECT_EQ(back->body, m.body);
  EXPECT_EQ(back->messaging_service_sid, m.messaging_service_sid);
  EXPECT_EQ(back->num_segments, m.num_segments);
  EXPECT_EQ(back->num_media, m.num_media);
  EXPECT_EQ(back->price, m.price);
  EXPECT_EQ(back->price_unit, m.price_unit);
  EXPECT_EQ(back->error_code, m.error_code);
  EXPECT_EQ(back->error_message, m.error_message);
  EXPECT_EQ(back->date_created, m.date_created);
  EXPECT_EQ(back->date_sent, m.date_sent);
  EXPECT_EQ(back->date_updated, m.date_updated);
}

TEST(MessageToJsonTest, ReplacesInvalidUtf8InsteadOfFailing) {
  ProviderMessage m;
  m.sid = "SM1";
  m.status = "queued";
  m.body = "bad \xFF byte";
  const std::string json = MessageToJson(m, kAccountSid);
  absl::StatusOr<ProviderMessage> back = ParseMessageJson(json);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->body, "bad \xEF\xBF\xBD byte");
}

TEST(ParseMessagePageJsonTest, ParsesMessagesAndNextPage) {
  const std::string page = absl::StrCat(
      R"({"end": 1, "messages": [)", kCreatedJson,
      R"(, {"sid": "SM2", "status": "sent"}], "next_page_uri":
      "/2010-04-01/Accounts/AC/Messages.json?PageSize=2&Page=1&PageToken=PA1",
      "page": 0, "page_size": 2, "previous_page_uri": null})");
  absl::StatusOr<MessagePage> parsed = ParseMessagePageJson(page);
  ASSERT_THAT(parsed, IsOk());
  ASSERT_EQ(parsed->messages.size(), 2u);
  EXPECT_EQ(parsed->messages[1].sid, "SM2");
  EXPECT_EQ(parsed->next_page_uri,
            "/2010-04-01/Accounts/AC/Messages.json?PageSize=2&Page=1&"
            "PageToken=PA1");
}

TEST(ParseMessagePageJsonTest, LastPageHasNoNextUri) {
  absl::StatusOr<MessagePage> parsed =
      ParseMessagePageJson(R"({"messages": [], "next_page_uri": null})");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_TRUE(parsed->messages.empty());
  EXPECT_EQ(parsed->next_page_uri, "");
}

TEST(ParseMessagePageJsonTest, RejectsMalformedPages) {
  const char* cases[] = {
      "",
      "[]",
      R"({"next_page_uri": null})",
      R"({"messages": {}})",
      R"({"messages": [{"status": "sent"}]})",
      R"({"messages": [7]})",
      R"({"messages": [], "next_page_uri": 2})",
  };
  for (const char* json : cases) {
    EXPECT_THAT(ParseMessagePageJson(json),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << json;
  }
}

TEST(ParseErrorJsonTest, ParsesTwilioErrors) {
  struct Case {
    int http_status;
    const char* body;
    int code;
    const char* message;
    bool retryable;
  };
  const Case cases[] = {
      {400,
       R"({"code":21211,"message":"The 'To' number 5551234567 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400})",
       21211, "The 'To' number 5551234567 is not a valid phone number.",
       false},
      {401,
       R"({"code":20003,"detail":"Your AccountSid or AuthToken was incorrect.","message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401})",
       20003, "Authenticate: Your AccountSid or AuthToken was incorrect.",
       false},
      {404, R"({"code":20404,"message":"not found","status":404})", 20404,
       "not found", false},
      {429, R"({"code":20429,"message":"Too Many Requests","status":429})",
       20429, "Too Many Requests", true},
      {503, R"({"code":20500,"message":"Service unavailable"})", 20500,
       "Service unavailable", true},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ProviderError> e = ParseErrorJson(c.http_status, c.body);
    ASSERT_THAT(e, IsOk()) << c.body;
    EXPECT_EQ(e->http_status, c.http_status);
    EXPECT_EQ(e->code, c.code);
    EXPECT_EQ(e->message, c.message);
    EXPECT_EQ(e->retryable, c.retryable) << c.http_status;
  }
  absl::StatusOr<ProviderError> e = ParseErrorJson(400, cases[0].body);
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->more_info, "https://www.twilio.com/docs/errors/21211");
}

TEST(ParseErrorJsonTest, RejectsMalformedErrors) {
  const char* cases[] = {
      "",
      "<html>Bad Gateway</html>",
      "[]",
      R"({"message": "no code"})",
      R"({"code": "21211", "message": "code as string"})",
      R"({"code": -1, "message": "negative"})",
      R"({"code": 21211})",
      R"({"code": 21211, "message": 5})",
  };
  for (const char* body : cases) {
    EXPECT_THAT(ParseErrorJson(400, body),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << body;
  }
}

TEST(IsRetryableHttpStatusTest, OnlyTooManyRequestsAndServerErrors) {
  EXPECT_TRUE(IsRetryableHttpStatus(429));
  EXPECT_TRUE(IsRetryableHttpStatus(500));
  EXPECT_TRUE(IsRetryableHttpStatus(503));
  EXPECT_FALSE(IsRetryableHttpStatus(400));
  EXPECT_FALSE(IsRetryableHttpStatus(401));
  EXPECT_FALSE(IsRetryableHttpStatus(404));
  EXPECT_FALSE(IsRetryableHttpStatus(201));
  EXPECT_FALSE(IsRetryableHttpStatus(600));
}

}  // namespace
}  // namespace smsgw::twilio
